"""Planned charging in the controller (issue 25): each port's plan kept up to date, and weighed with the other rules.

The planner's own choices are in test_planner.py and test_planned_days.py; these check the bookkeeping around it
(energy delivered, blocks, a car's state of charge as a sensor reports it, when to plan again, bad input) and how
the controller takes a plan's wish.
"""

from __future__ import annotations

from datetime import datetime, time
from zoneinfo import ZoneInfo

import pytest

from custom_components.enovates.smart.controller import (
    ChargingMode,
    Inputs,
    PlanWish,
    PortDecision,
    PortInput,
    Reason,
    Settings,
    SmartController,
)
from custom_components.enovates.smart.plan_rule import (
    SOC_CONFIRM_S,
    PlanBook,
    PlanInputs,
    PortPlan,
    SocFilter,
    SocTarget,
    negative_price_wish,
    next_ready_by,
    planning_ports,
    wish_of,
)
from custom_components.enovates.smart.planner import PlanStatus
from custom_components.enovates.smart.prices import Prices, PriceSlot, PriceSource
from custom_components.enovates.smart.quarter import QUARTER_S
from custom_components.enovates.smart.rules import mode_wish, without_grid

BRUSSELS = ZoneInfo("Europe/Brussels")
MIDNIGHT = datetime(2026, 1, 14, tzinfo=BRUSSELS).timestamp()  # a winter weekday
HOUR = 3600.0
VOLT = 230.0
KW_PER_A = 3 * VOLT / 1000  # three phases


def car(
    mode: ChargingMode = ChargingMode.PLANNED,
    *,
    amps: float = 0.0,
    limit: int | None = 0,
    plugged: bool = True,
    max_a: int = 16,
) -> PortInput:
    """A three-phase car drawing `amps` per phase under `limit`, on a charger of `max_a`."""
    return PortInput(
        mode=mode,
        plugged=plugged,
        power_w=3 * VOLT * amps,
        currents_a=(amps,) * 3,
        voltage_v=VOLT,
        charger_phases=3,
        max_current_a=max_a,
        limit_a=limit,
        contactor_closed=amps > 0,
    )


def prices(hourly: list[float], *, start: float = MIDNIGHT) -> Prices:
    """Return quarter-hour prices (EUR/kWh) from `start`, each hour's four quarters alike."""
    slots = [
        PriceSlot(start + hour * HOUR + quarter * QUARTER_S, start + hour * HOUR + (quarter + 1) * QUARTER_S, price)
        for hour, price in enumerate(hourly)
        for quarter in range(4)
    ]
    return Prices(PriceSource.ENTSOE, "EUR", tuple(slots))


# Evening dear, the night cheapest from 02:00 to 05:00, then dear again: 24 hours from midnight.
NIGHT = [0.20] * 2 + [0.05] * 3 + [0.25] * 3 + [0.30] * 16
EVENING = MIDNIGHT - 4 * HOUR  # 20:00 the day before


def day_prices() -> Prices:
    """Return yesterday evening's dear prices and tonight's."""
    return Prices(PriceSource.ENTSOE, "EUR", (*prices([0.30] * 4, start=EVENING).slots, *prices(NIGHT).slots))


def asked(
    energy_kwh: float = 10.0, *, ready_by: float = MIDNIGHT + 7 * HOUR, soc: SocTarget | None = None
) -> PlanInputs:
    return PlanInputs(ready_by=ready_by, energy_kwh=energy_kwh, soc=soc)


# --- the ready-by time -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (datetime(2026, 1, 14, 22, 0, tzinfo=BRUSSELS), datetime(2026, 1, 15, 7, 30, tzinfo=BRUSSELS)),
        (datetime(2026, 1, 14, 6, 0, tzinfo=BRUSSELS), datetime(2026, 1, 14, 7, 30, tzinfo=BRUSSELS)),
        # the time itself, or a minute past it: tomorrow (a time in the past is never a plan's aim)
        (datetime(2026, 1, 14, 7, 30, tzinfo=BRUSSELS), datetime(2026, 1, 15, 7, 30, tzinfo=BRUSSELS)),
        (datetime(2026, 1, 14, 7, 31, tzinfo=BRUSSELS), datetime(2026, 1, 15, 7, 30, tzinfo=BRUSSELS)),
        # the night the clocks go forward: 07:30 local is still 07:30 local
        (datetime(2026, 3, 28, 23, 0, tzinfo=BRUSSELS), datetime(2026, 3, 29, 7, 30, tzinfo=BRUSSELS)),
    ],
)
def test_the_next_ready_by_time(now: datetime, expected: datetime) -> None:
    ready = next_ready_by(now, time(7, 30))
    assert ready == expected
    assert ready.utcoffset() == expected.utcoffset()


# --- the car's state of charge -----------------------------------------------------------------------------------


def test_soc_readings_are_taken_and_a_stuck_sensor_is_carried_on_by_the_energy() -> None:
    soc = SocFilter()
    assert soc.estimate(60, 0) is None
    soc.read(0, 40.0, 60, 0.0)
    assert soc.estimate(60, 0.0) == 40.0
    # the sensor stays on 40 % while 6 kWh go in: the estimate goes on from the energy (10 % of 60 kWh)
    soc.read(600, 40.0, 60, 6.0)
    assert soc.estimate(60, 6.0) == pytest.approx(50.0)
    # it catches up with 49 %: that is taken, from then on
    soc.read(900, 49.0, 60, 6.5)
    assert soc.estimate(60, 6.5) == pytest.approx(49.0)


@pytest.mark.parametrize("reading", [None, -1.0, 101.0])
def test_soc_unavailable_or_impossible_is_no_reading(reading: float | None) -> None:
    soc = SocFilter()
    soc.read(0, 50.0, 60, 0.0)
    soc.read(10, reading, 60, 3.0)
    assert soc.estimate(60, 3.0) == pytest.approx(55.0)


def test_a_jumping_soc_is_ignored_until_it_holds() -> None:
    soc = SocFilter()
    soc.read(0, 50.0, 60, 0.0)
    soc.read(10, 100.0, 60, 0.0)  # a glitch: 100 % for a moment
    soc.read(20, 50.5, 60, 0.0)
    assert soc.estimate(60, 0.0) == 50.5
    soc.read(30, 5.0, 60, 0.0)  # another jump, then another value: the wait starts again
    soc.read(40, 80.0, 60, 0.0)
    soc.read(40 + SOC_CONFIRM_S - 1, 80.5, 60, 0.0)
    assert soc.estimate(60, 0.0) == 50.5
    # the same value for a quarter hour: the sensor was right (the car's app had not reported for long)
    soc.read(40 + SOC_CONFIRM_S, 80.0, 60, 0.0)
    assert soc.estimate(60, 0.0) == 80.0


def test_the_need_comes_from_the_soc_else_from_the_energy_asked() -> None:
    plan = PortPlan()
    target = SocTarget(percent=60.0, target_percent=80.0, capacity_kwh=50.0)
    assert plan.need(0, asked(30.0, soc=target)) == pytest.approx(10.0)
    # above the target: nothing to add
    assert plan.need(1, asked(30.0, soc=SocTarget(percent=62.0, target_percent=50.0, capacity_kwh=50.0))) == 0.0
    # never read (unavailable since plug-in), or no capacity: the energy asked
    fresh = PortPlan()
    assert fresh.need(0, asked(30.0, soc=SocTarget(percent=None, target_percent=80, capacity_kwh=50))) == 30.0
    assert fresh.need(0, asked(30.0, soc=SocTarget(percent=60.0, target_percent=80, capacity_kwh=0))) == 30.0


# --- the bookkeeping ---------------------------------------------------------------------------------------------


def test_energy_and_blocks_are_counted_from_plug_in() -> None:
    plan = PortPlan()
    now = EVENING
    plan.follow(now, car(plugged=False))
    for second in range(1, 3601):  # an hour at 16 A, the plan wanting it
        plan._wanted = True
        plan.follow(now + second, car(amps=16, limit=16))
    assert plan.delivered_kwh == pytest.approx(16 * KW_PER_A, rel=1e-3)
    assert plan._blocks_done == 1
    # a gap of more than a minute in the readings (Home Assistant restarted) is not counted
    plan.follow(now + 3601 + 3600, car(amps=16, limit=16))
    assert plan.delivered_kwh == pytest.approx(16 * KW_PER_A, rel=1e-3)
    # a stop and a start the plan did not want (Solar's, in Solar + plan) are not the plan's blocks
    plan._wanted = False
    plan.follow(now + 7300, car(limit=0))
    plan.follow(now + 7301, car(amps=8, limit=8))
    assert plan._blocks_done == 1
    # unplugged and plugged in again: a new session
    plan.follow(now + 7302, car(plugged=False))
    plan.follow(now + 7303, car())
    assert (plan.delivered_kwh, plan._blocks_done, plan.plan) == (0.0, 0, None)


def test_a_car_taking_less_than_offered_is_planned_at_what_it_takes() -> None:
    book = PlanBook()
    now = MIDNIGHT + 2 * HOUR
    book.wishes(
        now,
        {1: car(amps=10.9, limit=32, max_a=32)},
        {1: asked(20.0)},
        day_prices(),
        max_current_a=None,
        peak_limit_w=None,
    )
    plan = book.ports[1].plan
    assert plan is not None
    assert {slot.current_a for slot in plan.slots} <= set(range(6, 12))
    # one phase only: the plan counts a third of the power per ampere
    single = PortPlan()
    single.follow(now, PortInput(**_one_phase()))  # type: ignore[arg-type]
    assert single._phases == 1


def _one_phase() -> dict[str, object]:
    return {
        "mode": ChargingMode.PLANNED,
        "plugged": True,
        "power_w": VOLT * 16,
        "currents_a": (16.0, 0.0, 0.0),
        "voltage_v": VOLT,
        "charger_phases": 3,
        "max_current_a": 16,
        "limit_a": 16,
        "contactor_closed": True,
    }


def test_a_plan_is_made_again_each_quarter_and_when_an_input_changes() -> None:
    plan = PortPlan()
    now = EVENING + 60
    waiting = car()
    plan.follow(now, waiting)
    wish = plan.wish(now, waiting, asked(10.0), day_prices(), maximum_a=16)
    first = plan.plan
    assert wish == PlanWish(0, Reason.PLAN_WAITING)
    assert first is not None
    assert first.status is PlanStatus.PLANNED
    # the cheapest hours: 02:00-05:00, 10 kWh at 16 A three-phase is under an hour
    assert all(MIDNIGHT + 2 * HOUR <= slot.start < MIDNIGHT + 5 * HOUR for slot in first.slots)
    # the same quarter, nothing changed: the same plan
    plan.wish(now + 30, waiting, asked(10.0), day_prices(), maximum_a=16)
    assert plan.plan is first
    # another energy asked, the next quarter, new prices: each a new plan
    plan.wish(now + 40, waiting, asked(12.0), day_prices(), maximum_a=16)
    assert plan.plan is not first
    second = plan.plan
    plan.wish(now + QUARTER_S, waiting, asked(12.0), day_prices(), maximum_a=16)
    assert plan.plan is not second
    assert plan.plan is not None
    assert plan.plan.energy_wanted_kwh == pytest.approx(12.0)


def test_the_wish_through_the_night() -> None:
    # Replayed quarter by quarter: the car charges when the plan says, and is ready by 07:00 at the cheapest.
    plan = PortPlan()
    amps = 0
    now = EVENING
    cost = 0.0
    reasons = set()
    night = day_prices()
    while now < MIDNIGHT + 7 * HOUR:
        port = car(amps=amps, limit=amps)
        plan.follow(now, port)
        wish = plan.wish(now, port, asked(20.0), night, maximum_a=16)
        reasons.add(wish.reason)
        amps = wish.target_a
        cost += amps * KW_PER_A * 60 / HOUR * (night.price_at(now) or 0.0)
        now += 60
    assert plan.delivered_kwh == pytest.approx(20.0, abs=0.3)
    assert cost == pytest.approx(20.0 * 0.05, rel=0.02)
    assert {Reason.PLANNED, Reason.PLAN_WAITING, Reason.PLAN_DONE} <= reasons


def test_prices_gone_the_plan_charges_late_but_in_time() -> None:
    # The price sensor went unavailable at 20:00 with only the evening's prices: the manager keeps them, and the
    # plan puts the night (no price) at the latest moment that is still in time, with a margin.
    plan = PortPlan()
    evening_only = prices([0.30] * 4, start=EVENING)
    port = car()
    plan.follow(EVENING, port)
    wish = plan.wish(EVENING, port, asked(20.0), evening_only, maximum_a=16)
    assert wish.reason is Reason.PLAN_WAITING
    assert plan.plan is not None
    assert plan.plan.status is PlanStatus.WAITING_FOR_PRICES
    first = plan.plan.slots[0].start
    assert MIDNIGHT + 4 * HOUR < first < plan.plan.latest_start + 1
    assert plan.plan.slots[-1].end == MIDNIGHT + 7 * HOUR
    assert wish_of(plan.plan, first).reason is Reason.PLANNED


def test_too_little_time_charges_at_once_and_says_so() -> None:
    plan = PortPlan()
    now = MIDNIGHT + 6 * HOUR
    port = car()
    plan.follow(now, port)
    wish = plan.wish(now, port, asked(40.0), day_prices(), maximum_a=16)
    assert wish == PlanWish(16, Reason.PLAN_INFEASIBLE)
    assert plan.plan is not None
    assert not plan.plan.feasible


def test_negative_prices_are_taken_in_a_plan_and_in_any_mode() -> None:
    paid = prices([0.10, -0.05, 0.10])
    plan = PortPlan()
    now = MIDNIGHT + HOUR
    port = car()
    plan.follow(now, port)
    # nothing more to add, and still: being paid to charge
    assert plan.wish(now, port, asked(0.0), paid, maximum_a=16) == PlanWish(16, Reason.NEGATIVE_PRICE)
    assert plan.plan is not None
    assert wish_of(plan.plan, MIDNIGHT + 2 * HOUR) == PlanWish(0, Reason.PLAN_DONE)
    solar = car(ChargingMode.SOLAR)
    assert negative_price_wish(solar, paid, now) == PlanWish(16, Reason.NEGATIVE_PRICE)
    assert negative_price_wish(solar, paid, MIDNIGHT) is None  # a positive price
    assert negative_price_wish(solar, paid, MIDNIGHT + 5 * HOUR) is None  # no price
    assert negative_price_wish(solar, None, now) is None
    assert negative_price_wish(car(ChargingMode.SOLAR, plugged=False), paid, now) is None


def test_the_book_leaves_the_house_its_recent_highest_draw() -> None:
    book = PlanBook()
    assert book.cap_w(9000) == 9000
    assert book.cap_w(None) is None
    book.follow_house(0, None, 0)  # no reading: nothing learnt
    book.follow_house(0, 3500, 0)  # the heat pump on
    book.follow_house(0, 7000, 3500)  # a car's 3.5 kW are not the house's
    assert book.cap_w(9000) == 5500
    book.follow_house(900, 500, 0)  # off for a quarter: half forgotten
    assert book.cap_w(9000) == pytest.approx(9000 - 2000)
    book.follow_house(3600, 500, 0)
    assert book.cap_w(9000) == 8500
    book.follow_house(3601, 12000, 0)
    assert book.cap_w(9000) == 0


def test_the_book_plans_the_plan_modes_and_offers_negative_prices_to_the_others() -> None:
    book = PlanBook()
    now = MIDNIGHT + HOUR
    paid = prices([0.10, -0.05, 0.10])
    ports = {
        1: car(ChargingMode.PLANNED),
        2: car(ChargingMode.SOLAR_MINIMUM),
        3: car(ChargingMode.OFF),
        4: car(ChargingMode.MANUAL),
        5: car(ChargingMode.SOLAR_PLAN, plugged=False),
    }
    wishes = book.wishes(now, ports, {1: asked(5.0)}, paid, max_current_a=10, peak_limit_w=None)
    assert wishes == {1: PlanWish(10, Reason.NEGATIVE_PRICE), 2: PlanWish(16, Reason.NEGATIVE_PRICE)}
    assert book.ports[1].plan is not None
    assert all(book.ports[number].plan is None for number in (2, 3, 4, 5))
    # a plan mode with nothing asked (no entity yet): as any mode
    wishes = book.wishes(now, {1: car(ChargingMode.PLANNED)}, {}, paid, max_current_a=None, peak_limit_w=7000)
    assert wishes == {1: PlanWish(16, Reason.NEGATIVE_PRICE)}


def test_cars_planning_together_share_the_room_under_the_peak_limit() -> None:
    # 30 kWh by 07:00 with the cheapest hours now (02:00): alone, a car plans at its 16 A (11 kW) under a 16 kW
    # limit; two cars (here, or a site's: `planning`) each plan on half of it, 8 kW (11 A), as the guard shares it.
    now = MIDNIGHT + 2 * HOUR
    night = prices(NIGHT)
    alone = PlanBook().wishes(now, {1: car()}, {1: asked(30.0)}, night, max_current_a=None, peak_limit_w=16_000)
    assert alone == {1: PlanWish(16, Reason.PLANNED)}
    both = PlanBook().wishes(
        now, {1: car(), 2: car()}, {1: asked(30.0), 2: asked(30.0)}, night, max_current_a=None, peak_limit_w=16_000
    )
    assert both == {1: PlanWish(11, Reason.PLANNED), 2: PlanWish(11, Reason.PLANNED)}
    in_a_site = PlanBook().wishes(
        now, {1: car()}, {1: asked(30.0)}, night, max_current_a=None, peak_limit_w=16_000, planning=2
    )
    assert in_a_site == {1: PlanWish(11, Reason.PLANNED)}
    assert planning_ports([car(), car(plugged=False), car(ChargingMode.FAST), car(ChargingMode.SOLAR_PLAN)]) == 2


# --- the controller weighs the plan ------------------------------------------------------------------------------


def test_the_modes_own_wishes_without_a_plan() -> None:
    assert mode_wish(car(ChargingMode.PLANNED), 16, running=False)[:2] == (0, Reason.PLAN_WAITING)
    assert mode_wish(car(ChargingMode.PLANNED, plugged=False), 16, running=False)[:2] == (0, Reason.NO_CAR)
    assert mode_wish(car(ChargingMode.SOLAR_PLAN), 16, running=False)[:2] == (0, Reason.NO_SURPLUS)
    assert without_grid(ChargingMode.SOLAR_PLAN, 10, lost=True)[:2] == (0, Reason.GRID_MISSING)


def step(
    controller: SmartController,
    now: float,
    ports: dict[int, PortInput],
    plans: dict[int, PlanWish],
    *,
    grid_w: float = 500.0,
    peak: float | None = None,
) -> dict[int, PortDecision]:
    """Return the controller's decisions at `now` on these ports and plans."""
    inputs = Inputs(now=MIDNIGHT + now, grid_w=grid_w, ports=ports, plans=plans, peak_limit_w=peak)
    return controller.step(inputs)[0]


def test_the_controller_takes_the_plan_as_a_wish() -> None:
    controller = SmartController()
    ports = {
        1: car(ChargingMode.PLANNED, limit=0),
        2: car(ChargingMode.FAST, limit=16),
        3: car(ChargingMode.OFF, limit=0),
        4: car(ChargingMode.SOLAR, limit=0),
        5: car(ChargingMode.MANUAL, limit=16),
        6: car(ChargingMode.PLANNED, limit=0, plugged=False),
    }
    plans = {
        1: PlanWish(40, Reason.PLANNED),  # over the charger's maximum: the maximum
        2: PlanWish(6, Reason.PLANNED),  # lower than Fast's wish: Fast
        3: PlanWish(16, Reason.NEGATIVE_PRICE),  # Off stays off
        4: PlanWish(16, Reason.NEGATIVE_PRICE),  # Solar without surplus: being paid to charge wins
        5: PlanWish(16, Reason.NEGATIVE_PRICE),  # Manual is the user's
        6: PlanWish(16, Reason.PLANNED),  # no car
    }
    decisions = step(controller, 0, ports, plans)
    assert (decisions[1].reason, decisions[1].write_a) == (Reason.PLANNED, 16)
    assert decisions[2].reason is Reason.FAST
    assert (decisions[3].reason, decisions[3].target_a) == (Reason.OFF, 0)
    assert (decisions[4].reason, decisions[4].target_a) == (Reason.NEGATIVE_PRICE, 16)
    assert decisions[5].reason is Reason.MANUAL
    assert decisions[6].reason is Reason.NO_CAR


def test_solar_plus_plan_paused_by_both_says_the_plan_waits() -> None:
    controller = SmartController()
    ports = {1: car(ChargingMode.SOLAR_PLAN, limit=0)}
    decisions = step(controller, 0, ports, {1: PlanWish(0, Reason.PLAN_WAITING)})
    assert decisions[1].reason is Reason.PLAN_WAITING
    # the plan's slot: it starts the car without surplus, and Solar does not take that start for its own
    decisions = step(controller, 10, ports, {1: PlanWish(10, Reason.PLANNED)})
    assert (decisions[1].reason, decisions[1].write_a) == (Reason.PLANNED, 10)
    assert not controller._ports[1].solar.running


def test_a_plan_start_waits_for_the_contactor_budget_and_the_peak_guard_caps_it() -> None:
    controller = SmartController()
    now = 0.0
    closed = False
    # six moves in the hour (three starts, three stops by hand, say): the plan's start must wait
    for _ in range(6):
        closed = not closed
        controller.observe(
            Inputs(
                now=MIDNIGHT + now,
                grid_w=500.0,
                ports={1: car(ChargingMode.PLANNED, amps=10 if closed else 0, limit=10 if closed else 0)},
            )
        )
        now += 60
    decisions = step(controller, now, {1: car(ChargingMode.PLANNED, limit=0)}, {1: PlanWish(16, Reason.PLANNED)})
    assert (decisions[1].reason, decisions[1].write_a) == (Reason.CONTACTOR_BUDGET, None)
    # an hour later: it starts, under what the peak limit leaves (7 kW less 2 kW of house: 7 A)
    later = now + 3600
    decisions = step(
        controller,
        later,
        {1: car(ChargingMode.PLANNED, limit=0)},
        {1: PlanWish(16, Reason.PLANNED)},
        grid_w=2000.0,
        peak=7000.0,
    )
    assert decisions[1].reason is Reason.PEAK_GUARD
    assert decisions[1].write_a == 7


def test_solar_takes_over_a_car_the_plan_charges() -> None:
    # Solar + plan: the plan charges at 16 A in the sun; Solar's start condition holds meanwhile. When the plan's
    # block ends the car goes on with the surplus, and when a cloud comes Solar waits its stop delay.
    controller = SmartController(Settings(start_delay_s=60, stop_delay_s=120))
    charging = {1: car(ChargingMode.SOLAR_PLAN, amps=16, limit=16)}
    sunny = -3 * VOLT * 10.5 + 3 * VOLT * 16  # 10.5 A to spare besides the car's 16
    step(controller, 0, charging, {1: PlanWish(16, Reason.PLANNED)}, grid_w=sunny)
    decisions = step(controller, 60, charging, {1: PlanWish(16, Reason.PLANNED)}, grid_w=sunny)
    assert decisions[1].reason is Reason.PLANNED
    assert controller._ports[1].solar.running
    decisions = step(controller, 70, charging, {1: PlanWish(0, Reason.PLAN_WAITING)}, grid_w=sunny)
    assert (decisions[1].reason, decisions[1].write_a) == (Reason.SURPLUS, 10)
    on_surplus = {1: car(ChargingMode.SOLAR_PLAN, amps=10, limit=10)}
    cloud = 3 * VOLT * 10  # the car's 10 A all from the grid
    decisions = step(controller, 80, on_surplus, {1: PlanWish(0, Reason.PLAN_WAITING)}, grid_w=cloud)
    assert decisions[1].reason is Reason.STOPPING
    decisions = step(controller, 80 + 120, on_surplus, {1: PlanWish(0, Reason.PLAN_WAITING)}, grid_w=cloud)
    assert (decisions[1].reason, decisions[1].write_a) == (Reason.PLAN_WAITING, 0)
