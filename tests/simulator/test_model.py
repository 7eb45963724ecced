"""The charger model: IEC 61851 states, currents, energy and scenarios, without Modbus."""

from __future__ import annotations

import math

import pytest

from enovates_simulator import (
    Car,
    CarScenario,
    Charger,
    LedColor,
    LockState,
    ManualClock,
    Mode3State,
    MonotonicClock,
    PortFault,
    model,
)
from enovates_simulator.model import CYCLE_SCRIPT, Port, pwm_duty_permille
from enovates_simulator.variants import AfterReboot, LimitWrite, Profile, Token


def test_manual_clock_only_moves_forward() -> None:
    clock = ManualClock(10.0)
    clock.advance(2.5)
    assert clock.now() == 12.5
    with pytest.raises(ValueError, match="forward"):
        clock.advance(-1)


def test_monotonic_clock_moves() -> None:
    clock = MonotonicClock()
    first = clock.now()
    assert clock.now() >= first


def test_idle_port_offers_nothing_and_shows_available(charger: Charger) -> None:
    # The vendor's data: current offered 0 without a car, and a steady +12 V pilot (duty 1000 per mille) in A1.
    reading = charger.read_port(1)
    assert reading.mode3_state is Mode3State.A1
    assert reading.current_offered_ma == 0
    assert reading.currents_ma == (0, 0, 0)
    assert reading.powers_w == (0, 0, 0)
    assert (reading.cp_positive_v, reading.cp_negative_v) == (12, 12)
    assert (reading.pwm_current_ma, reading.pwm_permille, reading.pp_a) == (0, 1000, 0)
    assert reading.lock_state is LockState.UNLOCKED
    assert reading.led_color is LedColor.GREEN
    assert not reading.contactor_closed


def test_pp_reads_the_cable_whenever_one_is_in_the_socket(charger: Charger) -> None:
    port = charger.port(1)
    port.cable_max_a = 20
    port.cable_in_socket = True
    assert charger.read_port(1).pp_a == 20
    port.cable_in_socket = False
    assert charger.read_port(1).pp_a == 0
    port.plug_in()
    assert charger.read_port(1).pp_a == 20


def test_charging_car_draws_the_smallest_of_car_cable_and_limit(charger: Charger) -> None:
    port = charger.port(1)
    port.cable_max_a = 20
    port.plug_in(Car(max_current_a=16))
    reading = charger.read_port(1)
    assert reading.mode3_state is Mode3State.C2
    assert reading.current_offered_ma == 20000
    assert reading.currents_ma == (16000, 16000, 16000)
    assert reading.contactor_closed
    assert reading.lock_state is LockState.LOCKED
    assert reading.led_color is LedColor.BLUE
    assert (reading.cp_positive_v, reading.cp_negative_v) == (6, -12)
    assert reading.pp_a == 20
    assert reading.pwm_current_ma == 20000
    assert reading.pwm_permille == 333

    charger.set_ems_limit(1, 10000)
    reading = charger.read_port(1)
    assert reading.current_offered_ma == 10000
    assert reading.currents_ma == (10000, 10000, 10000)
    # power = V x I per phase, with the phase voltages the model reports
    assert reading.powers_w == tuple(round(v * 10) for v in reading.voltages_v)


def test_limit_below_six_amps_pauses_charging(charger: Charger) -> None:
    charger.port(1).plug_in()
    charger.set_ems_limit(1, 5999)
    reading = charger.read_port(1)
    assert reading.mode3_state is Mode3State.B1
    assert reading.current_offered_ma == 5999
    assert reading.currents_ma == (0, 0, 0)
    assert not reading.contactor_closed
    assert reading.led_color is LedColor.YELLOW
    assert (reading.cp_positive_v, reading.cp_negative_v) == (9, 9)
    assert (reading.pwm_current_ma, reading.pwm_permille) == (0, 1000)

    charger.set_ems_limit(1, -1)
    assert charger.read_port(1).mode3_state is Mode3State.C2


def test_ems_limit_range(charger: Charger) -> None:
    for limit in (-1, 0, 6000, 32000, 5999):
        assert charger.ems_limit_accepted(limit) == limit
    assert charger.ems_limit_accepted(32001) is None
    assert charger.ems_limit_accepted(-2) is None
    with pytest.raises(ValueError, match="out of range"):
        charger.set_ems_limit(1, 40000)
    assert charger.port(1).ems_limit_ma == -1


@pytest.mark.parametrize(
    ("low", "high", "written", "held"),
    [
        (LimitWrite.TAKEN, LimitWrite.TAKEN, (3000, 40000), (3000, 40000)),
        (LimitWrite.CLAMPED, LimitWrite.CLAMPED, (3000, 40000), (6000, 32000)),
        (LimitWrite.REJECTED, LimitWrite.REJECTED, (3000, 40000), (None, None)),
    ],
)
def test_unexpected_limits_as_the_profile_says(
    clock: ManualClock,
    low: LimitWrite,
    high: LimitWrite,
    written: tuple[int, int],
    held: tuple[int | None, int | None],
) -> None:
    charger = Charger(clock=clock, profile=Profile(low_limit=low, high_limit=high))
    assert tuple(charger.ems_limit_accepted(limit) for limit in written) == held


@pytest.mark.parametrize(("after_reboot", "limit"), [(AfterReboot.KEPT, 0), (AfterReboot.RESET, -1)])
def test_a_reboot_keeps_or_resets_the_limit(clock: ManualClock, after_reboot: AfterReboot, limit: int) -> None:
    charger = Charger(clock=clock, profile=Profile(after_reboot=after_reboot))
    charger.set_ems_limit(1, 0)
    charger.power_cycle()
    assert charger.port(1).ems_limit_ma == limit


def test_authorisation_holds_the_car_in_b_until_a_badge(clock: ManualClock) -> None:
    charger = Charger(clock=clock, profile=Profile(authorisation=True))
    port = charger.port(1)
    port.plug_in()
    reading = charger.read_port(1)
    assert (reading.mode3_state, reading.current_offered_ma, reading.currents_ma) == (Mode3State.B1, 0, (0, 0, 0))
    assert port.transaction_token == ""
    badge = "04FFEEDDCCBBAA"
    port.authorise(badge)
    assert charger.read_port(1).mode3_state is Mode3State.C2
    assert port.transaction_token == badge
    port.unplug()
    port.plug_in()
    assert port.transaction_token == badge  # the last scanned, until the next scan
    port.authorise()  # the back office starts it: no badge
    assert charger.read_port(1).current_offered_ma == 32000
    assert port.transaction_token == badge


def test_the_scenario_car_badges_in_when_authorisation_is_needed(clock: ManualClock) -> None:
    charger = Charger(clock=clock, profile=Profile(authorisation=True))
    charger.scenarios[1] = CarScenario.CHARGING
    clock.advance(1)
    charger.sync()
    assert charger.read_port(1).mode3_state is Mode3State.C2
    assert charger.port(1).transaction_token == charger.port(1).badge


def test_energy_integrates_power_over_time(charger: Charger, clock: ManualClock) -> None:
    charger.port(1).plug_in(Car(max_current_a=16, energy_wanted_wh=100_000))
    power = sum(charger.read_port(1).powers_w)
    clock.advance(3600)
    charger.sync()
    reading = charger.read_port(1)
    # the phase voltages wobble by a volt or so around their nominal values, evenly: over whole minutes the
    # energy is P x 1 h to the watt-hour
    assert reading.energy_wh == power == 11040
    assert charger.port(1).car is not None
    assert charger.port(1).car.energy_received_wh == pytest.approx(charger.port(1).energy_wh)


def test_energy_does_not_grow_without_a_car(charger: Charger, clock: ManualClock) -> None:
    clock.advance(600)
    charger.sync()
    assert charger.read_port(1).energy_wh == 0


def test_full_car_stops_asking_for_power(charger: Charger, clock: ManualClock) -> None:
    car = charger.port(1).plug_in(Car(energy_wanted_wh=100))
    clock.advance(120)
    charger.sync()
    reading = charger.read_port(1)
    assert not car.requests_power
    assert reading.mode3_state is Mode3State.B2
    assert reading.led_color is LedColor.CYAN
    assert reading.currents_ma == (0, 0, 0)
    # steps of at most a second: the car stops within a second's worth of energy of what it wanted
    assert 100 <= car.energy_received_wh < 100 + 11.1 * 1000 / 3600


def test_car_not_wanting_power_under_a_pause_is_b1(charger: Charger) -> None:
    charger.port(1).plug_in(Car(wants_to_charge=False))
    assert charger.read_port(1).mode3_state is Mode3State.B2
    charger.set_ems_limit(1, 0)
    assert charger.read_port(1).mode3_state is Mode3State.B1


def test_ventilation_car_charges_in_state_d(charger: Charger) -> None:
    charger.port(1).plug_in(Car(ventilation=True))
    reading = charger.read_port(1)
    assert reading.mode3_state is Mode3State.D2
    assert reading.cp_positive_v == 3
    assert reading.contactor_closed


def test_single_phase_car_draws_on_l1_only(charger: Charger) -> None:
    charger.port(1).plug_in(Car(phases=1, max_current_a=32))
    reading = charger.read_port(1)
    assert reading.currents_ma == (32000, 0, 0)
    assert reading.powers_w[1:] == (0, 0)


@pytest.mark.parametrize(("fault", "state", "cp"), [(PortFault.E, Mode3State.E, 0), (PortFault.F, Mode3State.F, -12)])
def test_pilot_faults(charger: Charger, fault: PortFault, state: Mode3State, cp: int) -> None:
    port = charger.port(1)
    port.plug_in()
    port.fault = fault
    reading = charger.read_port(1)
    assert reading.mode3_state is state
    assert (reading.cp_positive_v, reading.cp_negative_v) == (cp, cp)
    assert reading.led_color is LedColor.RED
    assert reading.currents_ma == (0, 0, 0)


def test_charger_without_lock(clock: ManualClock) -> None:
    charger = Charger(clock=clock, has_lock=False)
    charger.port(1).plug_in()
    assert charger.read_port(1).lock_state is LockState.NO_LOCK_PRESENT


def test_installation_currents_are_charger_wide_and_signed(clock: ManualClock) -> None:
    charger = Charger(clock=clock, dual_port=True, house_load_ma=(-7000, 2100, 3300))  # solar panels export on L1
    charger.port(1).plug_in(Car(max_current_a=10))
    charger.port(2).plug_in(Car(max_current_a=6, phases=1))
    assert charger.read_port(1).installation_currents_ma == (0, 0, 0)
    charger.load_shedding_present = True
    # what the house and both ports draw, measured at the grid connection: the same on both units
    assert charger.read_port(1).installation_currents_ma == (9000, 12100, 13300)
    assert charger.read_port(2).installation_currents_ma == (9000, 12100, 13300)


def test_voltages_wobble_around_nominal(charger: Charger, clock: ManualClock) -> None:
    seen = set()
    for _ in range(60):
        clock.advance(1)
        charger.sync()
        seen.add(charger.read_port(1).voltages_v)
    assert len(seen) > 1
    for v1, v2, v3 in seen:
        assert abs(v1 - 230) <= 2
        assert abs(v2 - 231) <= 2
        assert abs(v3 - 229) <= 2


def test_the_token_is_the_last_scanned_badge(charger: Charger) -> None:
    port = charger.port(1)
    assert port.transaction_token == ""  # nothing scanned yet
    port.plug_in()
    assert port.transaction_token == port.badge
    port.unplug()
    assert port.transaction_token == port.badge  # kept after the car left
    visitor = "04000000000099"
    port.plug_in(badge=visitor)
    assert port.transaction_token == visitor


def test_a_profile_may_clear_the_token_when_the_car_leaves(clock: ManualClock) -> None:
    charger = Charger(clock=clock, profile=Profile(token=Token.CLEARED))
    port = charger.port(1)
    port.plug_in()
    assert port.transaction_token == port.badge
    port.unplug()
    assert port.transaction_token == ""


@pytest.mark.parametrize(
    ("current_ma", "permille"),
    [(6000, 100), (16000, 267), (32000, 533), (51000, 850), (63000, 892), (80000, 960), (90000, 970)],
)
def test_pwm_duty_follows_iec_61851(current_ma: int, permille: int) -> None:
    assert pwm_duty_permille(current_ma) == permille


def test_dual_port_charger_has_two_independent_ports(clock: ManualClock) -> None:
    charger = Charger(clock=clock, dual_port=True)
    assert list(charger.ports) == [1, 2]
    charger.port(2).plug_in()
    assert charger.read_port(1).mode3_state is Mode3State.A1
    assert charger.read_port(2).mode3_state is Mode3State.C2


@pytest.mark.parametrize(
    ("scenario", "state"),
    [(CarScenario.NONE, Mode3State.A1), (CarScenario.PLUGGED, Mode3State.B2), (CarScenario.CHARGING, Mode3State.C2)],
)
def test_steady_scenarios(clock: ManualClock, scenario: CarScenario, state: Mode3State) -> None:
    charger = Charger(clock=clock, scenarios={1: scenario})
    assert charger.read_port(1).mode3_state is state
    clock.advance(24 * 3600)
    charger.sync()
    assert charger.read_port(1).mode3_state is state


def test_scenario_none_unplugs_a_car(clock: ManualClock) -> None:
    charger = Charger(clock=clock)
    charger.port(1).plug_in()
    charger.scenarios[1] = CarScenario.NONE
    clock.advance(1)
    charger.sync()
    assert charger.port(1).car is None


def test_charging_scenario_car_never_fills_up(clock: ManualClock) -> None:
    charger = Charger(clock=clock, scenarios={1: CarScenario.CHARGING})
    car = charger.port(1).car
    assert car is not None
    car.energy_received_wh = car.energy_wanted_wh
    clock.advance(1)
    charger.sync()
    assert charger.read_port(1).mode3_state is Mode3State.C2


def test_cycle_scenario_plugs_waits_charges_and_leaves(clock: ManualClock) -> None:
    charger = Charger(clock=clock, scenarios={1: CarScenario.CYCLE})
    expected = {
        CarScenario.NONE: Mode3State.A1,
        CarScenario.PLUGGED: Mode3State.B2,
        CarScenario.CHARGING: Mode3State.C2,
    }
    period = sum(seconds for seconds, _ in CYCLE_SCRIPT)
    for _ in range(2):
        for seconds, scenario in CYCLE_SCRIPT:
            assert charger.read_port(1).mode3_state is expected[scenario]
            clock.advance(seconds)
            charger.sync()
    charging_s = sum(seconds for seconds, s in CYCLE_SCRIPT if s is CarScenario.CHARGING)
    energy_per_cycle = charger.port(1).energy_wh / 2
    # each cycle charges the default car (3 x 16 A) at ~230 V for the charging part of the script
    assert energy_per_cycle == pytest.approx(3 * 16 * 230 * charging_s / 3600, rel=0.01)
    assert round(charger.port(1).energy_wh, 3) == 551.378  # the same every run: the model is deterministic
    assert charger.port(1).sessions == 2
    assert clock.now() == 2 * period


def test_a_car_that_comes_or_goes_does_so_when_it_is_told(charger: Charger, clock: ManualClock) -> None:
    port = charger.port(1)
    clock.advance(600)  # nobody there: no energy, even when the model only catches up after the car came
    car = port.plug_in(Car(max_current_a=16, energy_wanted_wh=100_000))
    power = sum(charger.read_port(1).powers_w)
    clock.advance(1800)
    port.unplug()  # half an hour of charging, counted up to the unplug, not up to the next read
    clock.advance(1800)
    charger.sync()
    assert port.energy_wh == pytest.approx(power / 2)  # to float rounding: half an hour at P
    assert car.energy_received_wh == pytest.approx(port.energy_wh)


class _StepBudget:
    """Counts the model's integration steps and stops a sync that would never end, so the test fails, not hangs."""

    def __init__(self, charger: Charger, budget: int) -> None:
        self.steps = 0
        self._budget = budget
        self._integrate = charger._integrate
        charger._integrate = self  # type: ignore[method-assign]

    def __call__(self, port: Port, seconds: float) -> None:
        self.steps += 1
        if self.steps > self._budget:
            raise AssertionError(f"sync did not end after {self._budget} steps")
        self._integrate(port, seconds)


@pytest.mark.parametrize(
    ("start", "script"),
    [
        # The development instance: the monotonic clock was at 32728.654 s when the freeze struck at model time 120 s.
        (32728.654010106726, CYCLE_SCRIPT),
        # Far from zero (months of uptime) and cycle lengths with no exact binary fraction.
        (1.1e7 + 0.3, ((0.7, CarScenario.NONE), (1.3, CarScenario.PLUGGED), (9.9, CarScenario.CHARGING))),
        (4.2e5 + 1 / 3, ((20.1, CarScenario.NONE), (10.3, CarScenario.PLUGGED), (89.7, CarScenario.CHARGING))),
    ],
)
@pytest.mark.parametrize("poll_s", [1.0, 0.37, 3600.0])
def test_cycle_runs_an_hour_far_from_the_clocks_zero(
    monkeypatch: pytest.MonkeyPatch,
    start: float,
    script: tuple[tuple[float, CarScenario], ...],
    poll_s: float,
) -> None:
    monkeypatch.setattr(model, "CYCLE_SCRIPT", script)
    clock = ManualClock(start)
    charger = Charger(clock=clock, dual_port=True, scenarios={1: CarScenario.CYCLE, 2: CarScenario.CYCLE})
    period = sum(seconds for seconds, _ in script)
    hour = 3600.0
    cycles = hour / period
    # Per port: an hour in steps of at most a second (or a poll), plus a stop at each change of the script (which
    # may split a second in two). A sync that never ends blows any finite budget.
    bound = 2 * 2 * (math.ceil(hour / min(poll_s, 1.0)) + math.ceil(cycles) * len(script) + 10)
    budget = _StepBudget(charger, budget=bound)
    states_seen: set[Mode3State] = set()
    for _ in range(math.ceil(hour / poll_s)):
        clock.advance(poll_s)
        charger.sync()
        states_seen.add(charger.read_port(1).mode3_state)
    assert budget.steps > hour / min(poll_s, 1.0)  # energy was integrated in steps of at most a second
    # The model kept time: every change of the script happened, each cycle plugged in one car.
    for number in (1, 2):
        assert charger.port(number).sessions == pytest.approx(cycles, abs=1.5)
    if poll_s <= 1:
        assert states_seen == {Mode3State.A1, Mode3State.B2, Mode3State.C2}
    charging_s = sum(seconds for seconds, state in script if state is CarScenario.CHARGING)
    assert charger.port(1).energy_wh == pytest.approx(3 * 16 * 230 * charging_s / period, rel=0.03)


def test_cycle_changes_exactly_at_its_boundaries_far_from_zero(clock: ManualClock) -> None:
    clock.advance(98765.4321)
    charger = Charger(clock=clock, scenarios={1: CarScenario.CYCLE})
    offset = 0.0
    for seconds, scenario in CYCLE_SCRIPT:
        offset += seconds
        clock.advance(seconds - 1e-6)
        charger.sync()
        assert charger._scenario_now(1) is scenario  # just before the boundary: still this part of the script
        clock.advance(1e-6)
        charger.sync()
        assert charger._scenario_now(1) is not scenario
