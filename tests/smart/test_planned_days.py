"""Charges planned on real-shaped days, a plan made each quarter hour with what was delivered.

The figures of issue 25: the car is ready by the time whenever it can be; the charge costs at most 2% more than the
cheapest possible under the same limits (an exact search knowing every price from the plug-in) and far less than a
charge at once; no quarter exceeds its ceiling; the contactor moves at most 6 times in any hour, and the charge
comes in no more blocks than allowed. `scripts/planned-days` prints these figures for the README.
"""

from __future__ import annotations

import pytest

from custom_components.enovates.smart.planner import PlanStatus

from .price_days import (
    PEAK_LIMIT_W,
    Day,
    Outcome,
    house_forecast_w,
    late_prices,
    peak_guarded_night,
    run,
    sunny_day,
    unreachable,
    week,
    winter_weekday,
)


def check(outcome: Outcome) -> None:
    """The rules every feasible day keeps."""
    day, lived = outcome.day, outcome.lived
    assert lived.energy_by_ready_kwh >= day.energy_kwh - 1e-6, "ready by the time"
    assert lived.cost <= outcome.cheapest + 0.02 * abs(outcome.cheapest) + 1e-9, "within 2% of the cheapest"
    assert lived.cost < outcome.at_once, "cheaper than at once"
    for index, amps in enumerate(lived.currents):
        assert amps == 0 or 6 <= amps <= day.max_a[index], "0 or from the minimum to the quarter's ceiling"
    negative = [price is not None and price < 0 for price in day.quarters]
    runs = sum(1 for index, on in enumerate(negative) if on and not (index and negative[index - 1]))
    assert lived.blocks <= max(day.max_blocks, runs), (
        "no more blocks than allowed (a run of negative prices may add one)"
    )
    assert lived.most_moves_in_an_hour <= 6


def test_a_winter_weekday() -> None:
    outcome = run(winter_weekday())
    check(outcome)
    # The night, not the evening peak: well under half the cost of charging at once.
    assert outcome.lived.cost < 0.45 * outcome.at_once
    assert outcome.lived.blocks == 1
    # planned from the plug-in, ready once the energy is in
    assert [plan.status for plan in outcome.lived.plans] == sorted(
        (plan.status for plan in outcome.lived.plans), key=[PlanStatus.PLANNED, PlanStatus.READY].index
    )


@pytest.mark.parametrize("phases", [1, 3])
def test_a_sunny_day_with_negative_prices(phases: int) -> None:
    outcome = run(sunny_day(phases=phases))
    check(outcome)
    day, lived = outcome.day, outcome.lived
    # Every quarter of negative price charged at the ceiling, asked for or not: paid to charge.
    for index, price in enumerate(day.quarters):
        if price is not None and price < 0:
            assert lived.currents[index] == day.max_current_a
    assert lived.cost < 0 < outcome.at_once


def test_tomorrows_prices_come_late() -> None:
    # Home at noon; tomorrow's prices come at 15:30 instead of 13:00. Until then the night waits for them at the
    # latest moment; when they come, the plan moves to the cheapest hours: as cheap as knowing them all along.
    outcome = run(late_prices(at_h=15.5))
    check(outcome)
    plans = outcome.lived.plans
    assert {plan.status for plan in plans[:14]} == {PlanStatus.WAITING_FOR_PRICES}
    assert plans[0].next_start(plans[0].made_at) == plans[0].slots[0].start
    assert plans[0].slots[-1].end == outcome.day.ready_by
    assert {plan.status for plan in plans[14:]} == {PlanStatus.PLANNED, PlanStatus.READY}
    assert outcome.over_cheapest < 0.005


def test_tomorrows_prices_never_come() -> None:
    # Never: the plan keeps waiting, and charges at the latest moment (the margin kept): ready in time.
    outcome = run(late_prices(at_h=None))
    lived = outcome.lived
    assert lived.energy_by_ready_kwh >= outcome.day.energy_kwh
    assert all(plan.status is PlanStatus.WAITING_FOR_PRICES for plan in lived.plans[: lived.currents.index(16)])
    assert lived.blocks == 1
    assert lived.cost < outcome.at_once


def test_an_unreachable_target() -> None:
    # 40 kWh in 2 hours: said so at once, and charged at the ceiling from the plug-in, on past the ready-by time.
    outcome = run(unreachable())
    day, lived = outcome.day, outcome.lived
    assert lived.plans[0].status is PlanStatus.INFEASIBLE
    assert not lived.plans[0].feasible
    assert lived.currents[:8] == [16] * 8
    assert lived.energy_by_ready_kwh == pytest.approx(8 * 16 * 690 / 4000)
    assert lived.energy_kwh >= day.energy_kwh


def test_under_a_peak_limit() -> None:
    # The peak guard's forecast of the house leaves less than the car's minimum from 17:00 to 21:00, and 6 A at
    # night: the plan charges only where the house leaves room, and never over the limit.
    outcome = run(peak_guarded_night())
    check(outcome)
    day, lived = outcome.day, outcome.lived
    for index, amps in enumerate(lived.currents):
        hour = 17 + index / 4
        assert house_forecast_w(hour) + amps * 3 * 230 <= PEAK_LIMIT_W
        if 17 <= hour < 21:
            assert amps == 0
    assert lived.energy_by_ready_kwh >= day.energy_kwh


def test_a_week() -> None:
    # Seven evenings at home, a different car and need each day, one of them a sunny Saturday.
    days: list[Day] = week()
    outcomes = [run(day) for day in days]
    for outcome in outcomes:
        check(outcome)
    planned = sum(outcome.lived.cost for outcome in outcomes)
    at_once = sum(outcome.at_once for outcome in outcomes)
    assert planned < 0.6 * at_once
