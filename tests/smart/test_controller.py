"""The controller's decisions, one rule at a time (the simulated days are in test_scenarios.py)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

import pytest

from custom_components.enovates.smart.controller import (
    GRID_MISSING_BOUND_S,
    WRITE_INTERVAL_S,
    ChargingMode,
    Inputs,
    PortInput,
    Reason,
    Settings,
    SmartController,
)
from custom_components.enovates.smart.quarter import QUARTER_S, QuarterMeter

T0 = 1_780_000_200.0  # a quarter's start
VOLT = 230.0


def port(
    mode: ChargingMode = ChargingMode.SOLAR, *, amps: float = 0.0, limit: int | None = 0, plugged: bool = True
) -> PortInput:
    """A three-phase car drawing `amps` per phase under `limit`."""
    return PortInput(
        mode=mode,
        plugged=plugged,
        power_w=3 * VOLT * amps,
        currents_a=(amps,) * 3,
        voltage_v=VOLT,
        charger_phases=3,
        max_current_a=32,
        limit_a=limit,
        contactor_closed=amps > 0,
    )


def inputs(now: float, grid_w: float | None, ports: Mapping[int, PortInput], **kwargs: float) -> Inputs:
    return Inputs(now=T0 + now, grid_w=grid_w, ports=ports, **kwargs)


def test_manual_ports_are_left_alone() -> None:
    controller = SmartController()
    decisions, _ = controller.step(inputs(0, -9000, {1: port(ChargingMode.MANUAL, limit=16)}))
    assert decisions[1] == (decision := decisions[1])
    assert decision.reason is Reason.MANUAL
    assert decision.target_a is None
    assert decision.write_a is None


def test_fast_off_and_a_user_maximum() -> None:
    controller = SmartController(Settings(max_current_a=20))
    decisions, _ = controller.step(
        inputs(0, 0, {1: port(ChargingMode.FAST, limit=0), 2: port(ChargingMode.OFF, limit=32)})
    )
    assert (decisions[1].reason, decisions[1].write_a) == (Reason.FAST, 20)
    assert (decisions[2].reason, decisions[2].write_a) == (Reason.OFF, 0)


def test_solar_waits_for_the_start_delay_then_follows_the_surplus() -> None:
    controller = SmartController(Settings(start_delay_s=60))
    exporting = -3 * VOLT * 10.5  # 10.5 A per phase to spare
    decisions, _ = controller.step(inputs(0, exporting, {1: port(limit=0)}))
    assert (decisions[1].reason, decisions[1].write_a) == (Reason.WAITING_TO_START, None)
    decisions, _ = controller.step(inputs(59, exporting, {1: port(limit=0)}))
    assert decisions[1].reason is Reason.WAITING_TO_START
    decisions, _ = controller.step(inputs(60, exporting, {1: port(limit=0)}))
    assert (decisions[1].reason, decisions[1].write_a) == (Reason.SURPLUS, 10)
    # the car now draws 10 A and the meter shows what is left: the surplus is the same, nothing to write
    decisions, _ = controller.step(inputs(70, -3 * VOLT * 0.5, {1: port(amps=10, limit=10)}))
    assert (decisions[1].target_a, decisions[1].write_a) == (10, None)
    # a bit more sun, but not a whole ampere plus the margin: the limit stays
    decisions, _ = controller.step(inputs(80, -3 * VOLT * 1.2, {1: port(amps=10, limit=10)}))
    assert decisions[1].write_a is None
    decisions, _ = controller.step(inputs(90, -3 * VOLT * 3.5, {1: port(amps=10, limit=10)}))
    assert decisions[1].write_a == 13
    # less sun: down at once (the write interval allowing)
    decisions, _ = controller.step(inputs(91, 3 * VOLT * 2, {1: port(amps=13, limit=13)}))
    assert decisions[1].write_a is None  # a write 1 s ago
    decisions, _ = controller.step(inputs(90 + WRITE_INTERVAL_S, 3 * VOLT * 2, {1: port(amps=13, limit=13)}))
    assert decisions[1].write_a == 11


def test_surplus_that_drops_away_during_the_start_delay_restarts_it() -> None:
    controller = SmartController(Settings(start_delay_s=60))
    controller.step(inputs(0, -5000, {1: port()}))
    decisions, _ = controller.step(inputs(30, -1000, {1: port()}))
    assert decisions[1].reason is Reason.NO_SURPLUS
    controller.step(inputs(40, -5000, {1: port()}))
    decisions, _ = controller.step(inputs(90, -5000, {1: port()}))
    assert decisions[1].reason is Reason.WAITING_TO_START
    decisions, _ = controller.step(inputs(100, -5000, {1: port()}))
    assert decisions[1].write_a == 7


def test_solar_holds_the_minimum_through_a_cloud_then_pauses_after_the_stop_delay() -> None:
    controller = SmartController(Settings(stop_delay_s=120, hysteresis_w=500))
    charging = port(amps=8, limit=8)  # picked while the car charges: it goes on
    controller.step(inputs(0, 0, {1: charging}))
    # a cloud: 1.5 kW imported while the car draws 8 A: the surplus (4 kW) is just short of the minimum (4.14 kW)
    decisions, _ = controller.step(inputs(10, 1500, {1: charging}))
    assert (decisions[1].reason, decisions[1].write_a) == (Reason.MINIMUM, 6)
    at_minimum = port(amps=6, limit=6)
    # within the hysteresis: no stop delay yet
    decisions, _ = controller.step(inputs(20, 400, {1: at_minimum}))
    assert decisions[1].reason is Reason.MINIMUM
    decisions, _ = controller.step(inputs(30, 2000, {1: at_minimum}))
    assert (decisions[1].reason, decisions[1].target_a) == (Reason.STOPPING, 6)
    decisions, _ = controller.step(inputs(149, 2000, {1: at_minimum}))
    assert decisions[1].reason is Reason.STOPPING
    decisions, _ = controller.step(inputs(150, 2000, {1: at_minimum}))
    assert (decisions[1].reason, decisions[1].write_a) == (Reason.NO_SURPLUS, 0)


def test_a_car_that_leaves_resets_solar_and_a_one_phase_car_needs_less() -> None:
    controller = SmartController(Settings(start_delay_s=0))
    one_phase = replace(port(amps=10, limit=10), currents_a=(10.0, 0.0, 0.0), power_w=VOLT * 10)
    decisions, _ = controller.step(inputs(0, -VOLT * 2.5, {1: one_phase}))
    assert decisions[1].write_a == 12  # 2 A more on its one phase
    decisions, _ = controller.step(inputs(10, 0, {1: port(plugged=False, limit=12)}))
    assert (decisions[1].reason, decisions[1].write_a) == (Reason.NO_CAR, 0)
    decisions, _ = controller.step(inputs(20, 0, {1: port(ChargingMode.SOLAR_MINIMUM, plugged=False, limit=0)}))
    assert (decisions[1].reason, decisions[1].write_a) == (Reason.NO_CAR, 6)


def test_without_a_grid_reading_the_limit_holds_then_falls_back() -> None:
    controller = SmartController()
    ports = {1: port(amps=10, limit=10), 2: port(ChargingMode.SOLAR_MINIMUM, amps=10, limit=10)}
    controller.step(inputs(0, -3 * VOLT * 5, ports))
    decisions, _ = controller.step(inputs(WRITE_INTERVAL_S, None, ports))
    assert all(decision.reason is Reason.GRID_MISSING for decision in decisions.values())
    assert all(decision.write_a is None for decision in decisions.values())
    decisions, _ = controller.step(inputs(WRITE_INTERVAL_S + GRID_MISSING_BOUND_S, None, ports))
    assert (decisions[1].write_a, decisions[2].write_a) == (0, 6)
    # the reading is back: Solar waits for its start delay again
    decisions, _ = controller.step(
        inputs(200, -9000, {1: port(limit=0), 2: port(ChargingMode.SOLAR_MINIMUM, amps=6, limit=6)})
    )
    assert decisions[1].reason is Reason.WAITING_TO_START
    assert decisions[2].reason is Reason.SURPLUS


def test_without_a_grid_reading_the_peak_guard_holds_then_falls_back_to_the_minimum() -> None:
    controller = SmartController()
    fast = {1: port(ChargingMode.FAST, amps=16, limit=16), 2: port(ChargingMode.OFF, limit=0)}
    decisions, _ = controller.step(inputs(0, None, fast, peak_limit_w=5000))
    assert (decisions[1].reason, decisions[1].write_a) == (Reason.GRID_MISSING, None)  # never raised to 32
    decisions, _ = controller.step(inputs(GRID_MISSING_BOUND_S, None, fast, peak_limit_w=5000))
    assert (decisions[1].reason, decisions[1].write_a) == (Reason.GRID_MISSING, 6)


def test_two_ports_share_the_surplus_and_the_last_one_gives_way() -> None:
    controller = SmartController(Settings(start_delay_s=0, stop_delay_s=0))
    both = {1: port(amps=8, limit=8), 2: port(amps=8, limit=8)}
    decisions, _ = controller.step(inputs(0, -3 * VOLT * 4.7, both))
    assert (decisions[1].write_a, decisions[2].write_a) == (10, 10)
    # not enough for one car's minimum: port 2 pauses, port 1 holds its minimum (its stop delay comes next)
    decisions, _ = controller.step(inputs(10, 3 * VOLT * 12, both))
    assert (decisions[1].reason, decisions[2].reason) == (Reason.MINIMUM, Reason.NO_SURPLUS)
    assert (decisions[1].write_a, decisions[2].write_a) == (6, 0)
    # port 2 starts again only when the surplus covers both minimums
    decisions, _ = controller.step(inputs(20, -3 * VOLT * 3.5, {1: port(amps=6, limit=6), 2: port(limit=0)}))
    assert (decisions[1].write_a, decisions[2].reason) == (9, Reason.NO_SURPLUS)
    decisions, _ = controller.step(inputs(30, -3 * VOLT * 7, {1: port(amps=9, limit=9), 2: port(limit=0)}))
    assert (decisions[1].write_a, decisions[2].write_a) == (8, 8)


def test_the_peak_guard_shares_the_headroom_and_pauses_the_last_port_first() -> None:
    fast = {1: port(ChargingMode.FAST, amps=16, limit=16), 2: port(ChargingMode.FAST, amps=16, limit=16)}
    house = 500.0
    cars = 2 * 3 * VOLT * 16
    # at the start of a quarter: the limit is what the rest of it may average; room enough changes nothing
    decisions, _ = SmartController().step(inputs(0, house + cars, fast, peak_limit_w=50000))
    assert (decisions[1].reason, decisions[1].write_a) == (Reason.FAST, 32)
    # (the guard aims 0.2% under the limit: 29 W here)
    decisions, _ = SmartController().step(inputs(0, house + cars, fast, peak_limit_w=house + 2 * 3 * VOLT * 10 + 50))
    assert (decisions[1].reason, decisions[1].write_a, decisions[2].write_a) == (Reason.PEAK_GUARD, 10, 10)
    # not enough for both minimums: port 2 holds its minimum until a second reading confirms, then pauses
    controller = SmartController()
    decisions, _ = controller.step(inputs(0, house + cars, fast, peak_limit_w=house + 3 * VOLT * 9 + 50))
    assert (decisions[1].write_a, decisions[2].write_a) == (9, 6)
    held = {1: port(ChargingMode.FAST, amps=9, limit=9), 2: port(ChargingMode.FAST, amps=6, limit=6)}
    decisions, _ = controller.step(
        inputs(WRITE_INTERVAL_S, house + 3 * VOLT * 15, held, peak_limit_w=house + 3 * VOLT * 9 + 50)
    )
    assert (decisions[2].write_a, decisions[2].reason) == (0, Reason.PEAK_GUARD)
    # not even one: both pause (on the second reading)
    controller = SmartController()
    controller.step(inputs(0, house + cars, fast, peak_limit_w=house + 3 * VOLT * 4))
    decisions, _ = controller.step(inputs(WRITE_INTERVAL_S, house + cars, fast, peak_limit_w=house + 3 * VOLT * 4))
    assert (decisions[1].write_a, decisions[2].write_a) == (0, 0)


def test_one_write_per_interval_and_none_while_the_limit_is_unknown() -> None:
    controller = SmartController()
    decisions, _ = controller.step(inputs(0, 0, {1: port(ChargingMode.FAST, limit=16)}))
    assert decisions[1].write_a == 32
    decisions, _ = controller.step(inputs(1, 0, {1: port(ChargingMode.OFF, limit=32)}))
    assert (decisions[1].target_a, decisions[1].write_a) == (0, None)
    decisions, _ = controller.step(inputs(WRITE_INTERVAL_S, 0, {1: port(ChargingMode.OFF, limit=32)}))
    assert decisions[1].write_a == 0
    # unknown limit: nothing is written
    decisions, _ = controller.step(inputs(60, 0, {1: port(ChargingMode.OFF, limit=None)}))
    assert decisions[1].write_a is None


def test_the_quarter_meter_integrates_import_only_and_closes_each_quarter() -> None:
    meter = QuarterMeter()
    assert meter.average_w is None
    assert meter.allowed_import_w(T0 + 450, 2000) == pytest.approx(2000)  # nothing known: the limit
    assert meter.add(T0, 3000) is None
    for second in range(1, 450):
        meter.add(T0 + second, 3000)
    for second in range(450, 900):
        meter.add(T0 + second, -1000)  # export counts as nothing
    assert meter.average_w == pytest.approx(1500, rel=0.01)
    assert meter.allowed_import_w(T0 + 899, 2000) == pytest.approx(2000 * QUARTER_S - 3000 * 450)
    closed = meter.add(T0 + 900, 1000)
    assert closed is not None
    assert closed[0] == T0
    assert closed[1] == pytest.approx(1500)
    # a gap in the readings: unknown, not counted; too little of a quarter known: no average kept
    meter.add(T0 + 1000, 1000)
    assert meter.known_s == 0
    assert meter.add(T0 + 1800, None) is None
    meter.add(T0 + 1801, 500)
    assert meter.average_w is None
    meter.add(T0 + 1802, 500)
    assert meter.average_w == pytest.approx(500)


def test_solar_moves_the_contactor_at_most_six_times_in_any_hour() -> None:
    controller = SmartController(Settings(start_delay_s=0, stop_delay_s=0, hysteresis_w=0))
    limit = 0
    moves: list[float] = []
    for step in range(2 * 3600 // 10):
        now = step * 10.0
        sunny = now % 240 < 120  # two minutes of sun, two of cloud: 30 moves an hour if it followed each
        amps = limit if limit >= 6 else 0
        grid = 3 * VOLT * (amps - 10 if sunny else amps + 5)
        decisions, _ = controller.step(inputs(now, grid, {1: port(amps=amps, limit=limit)}))
        if (write := decisions[1].write_a) is not None:
            if (write > 0) != (limit > 0):
                moves.append(now)
            limit = write
    assert len(moves) >= 10  # it does charge in the sunny spells
    for move in moves:
        assert sum(1 for other in moves if move <= other < move + 3600) <= 6


def test_a_paused_solar_port_stays_paused_without_a_grid_reading() -> None:
    controller = SmartController()
    ports = {1: port(limit=0)}
    controller.step(inputs(0, 0, ports))
    controller.step(inputs(1, None, ports))
    decisions, _ = controller.step(inputs(GRID_MISSING_BOUND_S + 1, None, ports))
    assert (decisions[1].reason, decisions[1].target_a, decisions[1].write_a) == (Reason.GRID_MISSING, 0, None)


def test_a_grid_reading_from_before_the_last_write_decides_nothing_on_the_surplus() -> None:
    controller = SmartController(Settings(start_delay_s=0))
    exporting = -3 * VOLT * 10.5
    # Solar was just picked: a reading reported before decides nothing in it
    decisions, _ = controller.step(inputs(0, exporting, {1: port(limit=0)}, grid_at=T0 - 1))
    assert (decisions[1].target_a, decisions[1].write_a) == (10, None)
    decisions, _ = controller.step(inputs(2, exporting, {1: port(limit=0)}, grid_at=T0 + 2))
    assert decisions[1].write_a == 10
    # the car draws 10 A now, but the meter still shows the export from before: no write on that
    decisions, _ = controller.step(inputs(8, exporting, {1: port(amps=10, limit=10)}, grid_at=T0 + 3))
    assert (decisions[1].target_a, decisions[1].write_a) == (20, None)
    # a mode needs no grid reading: Off pauses at once
    decisions, _ = controller.step(
        inputs(14, exporting, {1: port(ChargingMode.OFF, amps=10, limit=10)}, grid_at=T0 + 3)
    )
    assert decisions[1].write_a == 0
    # a reading taken once the car followed counts again
    decisions, _ = controller.step(inputs(20, -3 * VOLT * 0.5, {1: port(amps=10, limit=10)}, grid_at=T0 + 14))
    assert decisions[1].reason is Reason.SURPLUS


def test_a_grid_reading_from_before_the_car_followed_decides_nothing_on_the_surplus() -> None:
    controller = SmartController(Settings(start_delay_s=0))
    controller.step(inputs(0, -3 * VOLT * 10.5, {1: port(limit=0)}, grid_at=T0 - 1))
    decisions, _ = controller.step(inputs(2, -3 * VOLT * 10.5, {1: port(limit=0)}, grid_at=T0 + 2))
    assert decisions[1].write_a == 10
    # the car follows 5 s later; the meter's reading from the second before does not show it yet
    decisions, _ = controller.step(inputs(8, -3 * VOLT * 10.5, {1: port(amps=10, limit=10)}, grid_at=T0 + 7))
    assert decisions[1].write_a is None
    decisions, _ = controller.step(inputs(10, -3 * VOLT * 1.5, {1: port(amps=10, limit=10)}, grid_at=T0 + 10))
    assert (decisions[1].reason, decisions[1].write_a) == (Reason.SURPLUS, 11)


def test_under_a_peak_limit_a_raise_waits_for_a_settled_reading() -> None:
    controller = SmartController()
    fast = {1: port(ChargingMode.FAST, amps=10, limit=10)}
    # plenty of headroom, but the reading is from before the car's power moved (just now, from 0 to 10 A)
    decisions, _ = controller.step(inputs(0, 3 * VOLT * 10, fast, peak_limit_w=50000, grid_at=T0 - 1))
    assert (decisions[1].reason, decisions[1].target_a, decisions[1].write_a) == (Reason.FAST, 32, None)
    decisions, _ = controller.step(inputs(3, 3 * VOLT * 10, fast, peak_limit_w=50000, grid_at=T0 + 2))
    assert decisions[1].write_a == 32


def test_a_power_read_before_a_lower_limit_counts_only_what_the_limit_allows() -> None:
    # A write goes before the polls waiting: a poll may bring the power of 16 A with the limit of 6 A just written.
    controller = SmartController()
    house_w, car_now_w = 500.0, 3 * VOLT * 6
    stale = port(ChargingMode.SOLAR_MINIMUM, amps=16, limit=6)
    decisions, _ = controller.step(inputs(0, house_w + car_now_w, {1: stale}))
    assert decisions[1].reason is Reason.MINIMUM  # not the 16 A car's power taken for surplus
    # with the limit not known, the power is all there is to go by
    decisions, _ = controller.step(inputs(1, -9000, {1: port(ChargingMode.SOLAR, amps=10, limit=None)}))
    assert decisions[1].reason is Reason.SURPLUS
