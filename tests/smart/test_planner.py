"""The planner, one rule at a time (the days lived with plans are in test_planned_days.py)."""

from __future__ import annotations

from collections.abc import Sequence
import itertools
import math
import random

import pytest

from custom_components.enovates.smart.planner import (
    DEFAULT_MARGIN,
    MAX_HORIZON_S,
    Plan,
    PlanRequest,
    PlanStatus,
    latest_start,
    make_plan,
)
from custom_components.enovates.smart.prices import PriceSlot

from .price_days import (
    SUNNY_DAY,
    WINTER_WEEKDAY,
    cheapest,
    day_prices,
    midnight,
    quarters_between,
)

T0 = midnight(2026, 1, 13)  # a quarter's start
Q = 900.0
QUARTER_KWH = 16 * 3 * 230 * Q / 3600 / 1000  # 2.76 kWh: a quarter at 16 A on three phases
AMP_KWH = QUARTER_KWH / 16


def slots(*prices: float | None, start: float = T0, length: float = Q) -> list[PriceSlot]:
    """Return consecutive slots with `prices` (None: a gap)."""
    return [
        PriceSlot(start + index * length, start + (index + 1) * length, price)
        for index, price in enumerate(prices)
        if price is not None
    ]


def request(prices: Sequence[PriceSlot], energy_kwh: float, hours: float, **kwargs: object) -> PlanRequest:
    return PlanRequest(
        now=kwargs.pop("now", T0),  # type: ignore[arg-type]
        ready_by=T0 + hours * 3600,
        energy_kwh=energy_kwh,
        prices=prices,
        max_current_a=16,
        **kwargs,  # type: ignore[arg-type]
    )


def starts(plan: Plan) -> list[float]:
    return [(slot.start - T0) / Q for slot in plan.slots]


def test_flat_prices_charge_at_once_in_one_block() -> None:
    plan = make_plan(request(slots(*[0.1] * 32), QUARTER_KWH * 4, 8, currency="EUR"))
    assert plan.status is PlanStatus.PLANNED
    assert plan.feasible
    assert starts(plan) == [0, 1, 2, 3]  # of equal prices the earlier: ready sooner
    assert {slot.current_a for slot in plan.slots} == {16}
    assert plan.slots[0].power_w == 11040
    assert plan.energy_kwh == pytest.approx(11.04)
    assert plan.cost == pytest.approx(1.104)
    assert plan.currency == "EUR"
    assert [(block.start, block.end) for block in plan.blocks] == [(T0, T0 + 3600)]
    assert plan.blocks[0].energy_kwh == pytest.approx(11.04)
    assert plan.blocks[0].cost == pytest.approx(1.104)
    assert plan.current_a(T0) == 16
    assert plan.current_a(T0 + 3600) == 0
    assert plan.next_start(T0 + 1800) == T0
    assert plan.next_start(T0 + 3600) is None
    assert plan.waiting_kwh == 0


def test_the_cheapest_quarters() -> None:
    prices = slots(*[0.3] * 4, *[0.1] * 4, *[0.2] * 4)
    plan = make_plan(request(prices, QUARTER_KWH * 3, 3))
    assert starts(plan) == [4, 5, 6]
    assert plan.cost == pytest.approx(0.1 * QUARTER_KWH * 3)
    assert plan.next_start(T0) == T0 + 4 * Q
    assert plan.slot_at(T0) is None


def test_whole_amperes_from_the_minimum() -> None:
    # 2 kWh: 12 A in the cheapest quarter (11.6 A would do; a whole ampere more, not less).
    plan = make_plan(request(slots(0.3, 0.1, 0.2, 0.3), 2.0, 1))
    assert [(slot.start, slot.current_a) for slot in plan.slots] == [(T0 + Q, 12)]
    # 0.5 kWh: never under the minimum of 6 A, even if it puts in a little more.
    plan = make_plan(request(slots(0.3, 0.1, 0.2, 0.3), 0.5, 1))
    assert [slot.current_a for slot in plan.slots] == [6]
    assert plan.energy_kwh == pytest.approx(6 * AMP_KWH)
    # more than the cheapest quarter holds: the rest into the next cheapest, each whole and at least 6 A.
    plan = make_plan(request(slots(0.3, 0.1, 0.2, 0.3), 4.0, 1))
    assert [slot.current_a for slot in plan.slots] == [16, 8]
    assert all(slot.current_a >= 6 for slot in plan.slots)


def test_one_phase_and_the_voltage() -> None:
    plan = make_plan(request(slots(0.1, 0.2), 1.0, 0.5, phases=1, voltage_v=240.0))
    assert plan.slots[0].power_w == plan.slots[0].current_a * 240
    assert plan.energy_kwh >= 1.0


def test_the_ceiling_of_each_quarter() -> None:
    # The peak guard's forecast: 3 kW in the cheapest quarter is under the minimum (6 A x 690 V = 4.14 kW), so not
    # there; 5 kW gives 7 A; no forecast (None) and quarters past the list: the charger's maximum.
    prices = slots(0.1, 0.15, 0.2, 0.3, 0.4)
    plan = make_plan(request(prices, 3.9, 1.25, caps_w=[3000.0, 5000.0, None]))
    assert [(starts(plan)), [slot.current_a for slot in plan.slots]] == [[1, 2], [7, 16]]
    # the same as a function of the quarter's start
    caps = {T0: 3000.0, T0 + Q: 5000.0}
    same = make_plan(request(prices, 3.9, 1.25, caps_w=caps.get))
    assert same.slots == plan.slots
    # 16.5 A of headroom is 16 A; 15.9999999 A (a rounding of 11040 W) too
    plan = make_plan(request(prices, 5.0, 1.25, caps_w=[11040 - 1e-7] * 5))
    assert plan.slots[0].current_a == 16


def test_negative_prices_are_always_taken() -> None:
    prices = slots(0.1, -0.01, -0.05, 0.2, -0.02, 0.3)
    # Nothing asked: the negative quarters still, at the ceiling.
    plan = make_plan(request(prices, 0.0, 1.5))
    assert plan.status is PlanStatus.READY
    assert [(start, slot.current_a) for start, slot in zip(starts(plan), plan.slots, strict=True)] == [
        (1, 16),
        (2, 16),
        (4, 16),
    ]
    assert plan.cost < 0
    # One kWh asked: the same (they hold it), not 6 A in one of them.
    assert make_plan(request(prices, 1.0, 1.5)).slots == plan.slots
    # More asked: the cheapest positive quarter too.
    plan = make_plan(request(prices, 3 * QUARTER_KWH + 1.0, 1.5))
    assert starts(plan) == [0, 1, 2, 4]
    # Nothing asked, nothing negative: nothing to do.
    assert make_plan(request(slots(0.1, 0.2), 0.0, 0.5)).slots == ()


def two_valleys() -> list[PriceSlot]:
    return slots(*[0.1] * 8, *[0.3] * 8, *[0.1] * 8)


def test_at_most_so_many_blocks() -> None:
    # 3 hours of charge, two cheap stretches of 2 hours with 2 dear hours between them.
    need = 12 * QUARTER_KWH
    one = make_plan(request(two_valleys(), need, 6, max_blocks=1))
    two = make_plan(request(two_valleys(), need, 6, max_blocks=2))
    assert len(one.blocks) == 1
    assert len(two.blocks) == 2
    assert two.cost < one.cost
    # in one block, the dear stretch at the minimum where it can: 6 A bridges it
    assert min(slot.current_a for slot in one.slots) == 6


def test_a_block_more_must_be_worth_it() -> None:
    # A night a hair cheaper at 3:00 than at 2:45: not worth a stop and a start...
    prices = slots(*[0.100] * 4, 0.1005, *[0.099] * 4)
    need = 8 * QUARTER_KWH
    assert len(make_plan(request(prices, need, 2.25)).blocks) == 1
    # ...unless told so
    assert len(make_plan(request(prices, need, 2.25, block_saving=0.0)).blocks) == 2


def test_more_blocks_when_the_target_needs_them() -> None:
    # The peak guard leaves nothing at 1:00: one block cannot hold it, the target goes first.
    prices = slots(*[0.1] * 12)
    caps: list[float | None] = [None] * 4 + [0.0] * 4 + [None] * 4
    plan = make_plan(request(prices, 7 * QUARTER_KWH, 3, caps_w=caps, max_blocks=1))
    assert plan.feasible
    assert len(plan.blocks) == 2
    # and two stretches of negative prices are two blocks, not bridged at a cost
    prices = slots(-0.01, -0.02, 0.4, 0.4, 0.4, -0.01)
    assert len(make_plan(request(prices, 0.0, 1.5, max_blocks=1)).blocks) == 2


def test_the_charge_that_runs_goes_on() -> None:
    prices = slots(*[0.2] * 4, *[0.1] * 8)
    need = 2 * QUARTER_KWH
    assert starts(make_plan(request(prices, need, 3))) == [4, 5]
    # The one block allowed already started and runs: it goes on rather than start again later (at the minimum
    # through the dear hour, the rest in the cheap one: cheaper than at full power in the dear hour).
    plan = make_plan(request(prices, need, 3, max_blocks=1, blocks_done=1, charging=True))
    assert starts(plan) == [0, 1, 2, 3, 4]
    assert [slot.current_a for slot in plan.slots] == [6, 6, 6, 6, 8]
    # With a block to spare it stops and starts again at the cheap hours.
    plan = make_plan(request(prices, need, 3, max_blocks=2, blocks_done=1, charging=True))
    assert starts(plan) == [4, 5]


def test_what_waits_for_tomorrows_prices() -> None:
    # Prices until 4:00, ready by 10:00: the hours after 4:00 can take far more than asked, so it all waits for
    # their prices, at the latest moment (and the margin: 10% more time than at full power).
    prices = slots(*[0.2] * 16)
    plan = make_plan(request(prices, QUARTER_KWH * 4, 10))
    assert plan.status is PlanStatus.WAITING_FOR_PRICES
    assert plan.feasible
    assert starts(plan) == [35, 36, 37, 38, 39]
    assert all(slot.price is None and slot.cost is None for slot in plan.slots)
    assert plan.waiting_kwh == pytest.approx(5 * QUARTER_KWH)
    assert plan.cost == 0
    assert plan.blocks[0].cost is None
    assert plan.latest_start == pytest.approx(T0 + 10 * 3600 - 3600 / (1 - DEFAULT_MARGIN))
    # a quarter the peak guard closes is stepped over
    caps: list[float | None] = [None] * 39 + [0.0]
    assert starts(make_plan(request(prices, QUARTER_KWH * 4, 10, caps_w=caps))) == [34, 35, 36, 37, 38]
    # Ready by 5:00: the last hour takes 4 x 2.76 x 90% = 9.94 kWh; the rest in the cheapest known quarters.
    prices = slots(*[0.3] * 12, *[0.1] * 4)
    plan = make_plan(request(prices, 20.0, 5))
    assert plan.status is PlanStatus.WAITING_FOR_PRICES
    assert starts(plan)[-4:] == [16, 17, 18, 19]
    known = [slot for slot in plan.slots if slot.price is not None]
    assert sum(slot.energy_kwh for slot in known) >= 20.0 - 4 * QUARTER_KWH * (1 - DEFAULT_MARGIN)
    assert {slot.start for slot in known} <= {T0 + index * Q for index in range(12, 16)}


def test_once_it_runs_without_prices_it_goes_on() -> None:
    # At the latest moment, charging without prices: each quarter gives more than the margin counted, and the
    # next plan would start a quarter later; it goes on instead, and is ready a little early.
    plan = make_plan(request([], QUARTER_KWH * 3, 3, now=T0 + 2 * 3600 - Q, charging=True))
    assert starts(plan) == [7, 8, 9, 10]
    plan = make_plan(request([], QUARTER_KWH * 3, 3, now=T0 + 2 * 3600 - Q))
    assert starts(plan) == [8, 9, 10, 11]


def test_a_gap_in_the_prices_is_not_planned_on() -> None:
    prices = slots(0.3, 0.3, None, None, 0.2, 0.2, 0.4, 0.4)
    plan = make_plan(request(prices, QUARTER_KWH * 3, 2))
    assert starts(plan) == [0, 4, 5]
    assert plan.status is PlanStatus.PLANNED


def test_hours_are_cut_into_quarters() -> None:
    plan = make_plan(request(slots(0.3, 0.1, 0.2, length=3600), QUARTER_KWH * 5, 3))
    assert starts(plan) == [4, 5, 6, 7, 8]


def test_too_little_time_charges_as_fast_as_allowed() -> None:
    prices = slots(*[0.1] * 16)
    plan = make_plan(request(prices, QUARTER_KWH * 6, 1))
    assert plan.status is PlanStatus.INFEASIBLE
    assert not plan.feasible
    # from now at the ceiling, on past the ready-by time until the energy is in
    assert starts(plan) == [0, 1, 2, 3, 4, 5]
    assert {slot.current_a for slot in plan.slots} == {16}
    assert plan.latest_start == T0
    # the last quarter only what is still missing
    plan = make_plan(request(prices, QUARTER_KWH * 5.5, 1))
    assert [slot.current_a for slot in plan.slots] == [16] * 5 + [8]
    # quarters the peak guard closes are stepped over
    plan = make_plan(request(prices, QUARTER_KWH * 6, 1, caps_w=[None, 0.0]))
    assert starts(plan) == [0, 2, 3, 4, 5, 6]
    # a car that may never charge: said so, with nothing to do
    plan = make_plan(request(prices, QUARTER_KWH, 1, caps_w=lambda _: 0.0))
    assert (plan.status, plan.slots) == (PlanStatus.INFEASIBLE, ())


@pytest.mark.parametrize("ready_in_h", [0.0, -2.0])
def test_a_ready_by_time_that_has_passed(ready_in_h: float) -> None:
    plan = make_plan(request(slots(*[0.1] * 8), QUARTER_KWH * 2, ready_in_h))
    assert plan.status is PlanStatus.INFEASIBLE
    assert starts(plan) == [0, 1]
    # nothing asked and no time: nothing to do
    assert make_plan(request(slots(*[0.1] * 8), 0.0, ready_in_h)).status is PlanStatus.READY


def test_no_prices_at_all() -> None:
    plan = make_plan(request([], QUARTER_KWH * 2, 4))
    assert plan.status is PlanStatus.WAITING_FOR_PRICES
    assert starts(plan) == [13, 14, 15]  # 2 quarters' energy at 90%: three quarters, the last ones
    # too much for the time with the margin: at once (the car may still make it)
    plan = make_plan(request([], QUARTER_KWH * 15.5, 4))
    assert plan.status is PlanStatus.INFEASIBLE
    assert starts(plan)[:2] == [0, 1]


def test_a_plan_made_in_the_middle_of_a_quarter() -> None:
    plan = make_plan(request(slots(0.1, 0.1, 0.3), 3.0, 0.75, now=T0 + 300))
    assert plan.slots[0].start == T0 + 300
    assert plan.slots[0].energy_kwh == pytest.approx(16 * 690 * 600 / 3.6e6)
    assert plan.energy_kwh >= 3.0


def test_the_latest_start() -> None:
    at_full = 16 * 690 / 1000 * (1 - DEFAULT_MARGIN)  # 9.936 kW, the margin kept
    ready = T0 + 4 * 3600
    assert latest_start(request([], at_full, 4)) == pytest.approx(ready - 3600)
    assert latest_start(request([], 0.0, 4)) == ready
    assert latest_start(request([], at_full, 4, margin=0.0)) == pytest.approx(ready - 3600 * (1 - DEFAULT_MARGIN))
    # a quarter the peak guard closes is stepped over
    caps: list[float | None] = [None] * 15 + [0.0]
    assert latest_start(request([], at_full, 4, caps_w=caps)) == pytest.approx(ready - 3600 - Q)
    # too late already: now
    assert latest_start(request([], 100.0, 4)) == T0


def test_the_horizon() -> None:
    plan = make_plan(request([], QUARTER_KWH, 10 * 24))
    assert plan.slots[-1].end == T0 + MAX_HORIZON_S


# --- against the exact search --------------------------------------------------------------------------------------


def brute_force(prices: list[float], caps: list[int], need: float, max_blocks: int) -> float:
    """Return the lowest cost over every current of every quarter (tiny problems only)."""
    negative = [price < 0 and cap >= 6 for price, cap in zip(prices, caps, strict=True)]
    runs = sum(1 for index, on in enumerate(negative) if on and not (index and negative[index - 1]))
    choices = [
        [cap] if price < 0 and cap >= 6 else [0, *range(6, cap + 1)] for price, cap in zip(prices, caps, strict=True)
    ]
    best = math.inf
    for amps in itertools.product(*choices):
        blocks = sum(1 for index, current in enumerate(amps) if current and not (index and amps[index - 1]))
        if blocks > max(max_blocks, runs) or sum(amps) * AMP_KWH < need - 1e-9:
            continue
        best = min(best, sum(price * current * AMP_KWH for price, current in zip(prices, amps, strict=True)))
    return best


@pytest.mark.parametrize("seed", range(30))
def test_the_exact_search_is_exact(seed: int) -> None:
    rng = random.Random(seed)  # noqa: S311 - repeatable problems
    count = rng.randint(1, 4)
    prices = [round(rng.uniform(-0.05, 0.3), 3) for _ in range(count)]
    caps = [rng.choice([0, 6, 7, 9]) for _ in range(count)]
    need = rng.uniform(0, sum(caps) * AMP_KWH * 1.1)
    blocks = rng.randint(1, 2)
    assert cheapest(prices, caps, AMP_KWH, need, max_blocks=blocks) == pytest.approx(
        brute_force(prices, caps, need, blocks)
    )


@pytest.mark.parametrize("seed", range(40))
def test_within_two_percent_of_the_cheapest(seed: int) -> None:
    # Random plug-in and ready-by times over two days of real-shaped prices, with more noise than the market
    # usually has; one or three phases, 10 to 32 A, 5 to 45 kWh, one to three blocks.
    rng = random.Random(seed)  # noqa: S311 - repeatable problems
    first, second = T0, T0 + 86400
    prices = day_prices(first, WINTER_WEEKDAY if seed % 2 else SUNNY_DAY, seed=seed, noise=8) + day_prices(
        second, WINTER_WEEKDAY if seed % 3 else SUNNY_DAY, seed=seed + 100, noise=8
    )
    plugged = first + rng.randrange(0, 80) * Q
    ready_by = plugged + rng.randrange(8, 96) * Q
    need = rng.choice([5.0, 10.0, 20.0, 30.0, 45.0])
    phases, amps, blocks = rng.choice([1, 3]), rng.choice([10, 16, 32]), rng.choice([1, 2, 3])
    plan = make_plan(
        PlanRequest(
            now=plugged,
            ready_by=ready_by,
            energy_kwh=need,
            prices=prices,
            max_current_a=amps,
            phases=phases,
            max_blocks=blocks,
        )
    )
    quarters = quarters_between(prices, plugged, ready_by)
    best = cheapest(quarters, [amps] * len(quarters), phases * 230 * Q / 3600 / 1000, need, max_blocks=blocks)
    if math.isinf(best):
        assert plan.status is PlanStatus.INFEASIBLE
        return
    assert plan.feasible
    assert plan.energy_kwh >= need - 1e-9
    assert plan.cost <= best + 0.02 * abs(best) + 1e-9
    assert len(plan.blocks) <= blocks or any(slot.price is not None and slot.price < 0 for slot in plan.slots)
    assert all(slot.current_a == 0 or 6 <= slot.current_a <= amps for slot in plan.slots)
