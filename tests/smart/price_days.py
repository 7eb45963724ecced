"""Days of day-ahead prices as the market makes them, the cheapest charge an exact search finds, and plans lived.

The curves are shaped after Belgian and German day-ahead prices since the market moved to quarter hours (October
2025): a winter weekday with its morning and evening peaks, a sunny day whose noon goes negative. Within each hour
the quarters follow the ramp to the next hour (the market's saw-tooth), with a little seeded noise.

`cheapest` is an exact search over every whole current of every quarter (a dynamic programme on energy in steps of
one ampere for a quarter hour), under the same rules as the planner: 0 or from the minimum to the quarter's ceiling,
at most so many blocks, negative prices always at the ceiling. `live` replays a charge quarter by quarter: a plan is
made at each quarter's start with what was delivered, the car takes what the plan offers for that quarter.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
import math
import random
from zoneinfo import ZoneInfo

from custom_components.enovates.smart.planner import DEFAULT_MAX_BLOCKS, Plan, PlanRequest, make_plan
from custom_components.enovates.smart.prices import PriceSlot
from custom_components.enovates.smart.quarter import QUARTER_S

BRUSSELS = ZoneInfo("Europe/Brussels")
HOUR = 3600.0

# Day-ahead prices per hour of the day, EUR/MWh.
WINTER_WEEKDAY = (
    *(95, 88, 84, 82, 84, 92, 115, 150, 175, 160, 140, 130),  # night, the morning peak
    *(125, 122, 128, 140, 160, 195, 230, 215, 180, 150, 128, 110),  # the afternoon, the evening peak
)
SUNNY_DAY = (
    *(85, 80, 78, 76, 78, 85, 95, 100, 70, 35, 5, -10),  # night, a short morning peak, the sun comes up
    *(-35, -40, -25, -5, 20, 70, 110, 150, 175, 150, 120, 100),  # negative noon, the evening peak
)


def midnight(year: int, month: int, day: int) -> float:
    """Return a local midnight in Brussels, in epoch seconds."""
    return datetime(year, month, day, tzinfo=BRUSSELS).timestamp()


def day_prices(start: float, hourly: Sequence[float], *, seed: int = 0, noise: float = 3.0) -> list[PriceSlot]:
    """Return 96 quarter-hour prices (EUR/kWh) from `start`, shaped by `hourly` (EUR/MWh) and the saw-tooth."""
    rng = random.Random(seed)  # noqa: S311 - a repeatable curve, no secret
    slots: list[PriceSlot] = []
    for hour, price in enumerate(hourly):
        following = hourly[(hour + 1) % len(hourly)]
        for quarter in range(4):
            # The quarters climb (or fall) toward the next hour's price around the hour's average.
            value = price + (following - price) * (quarter - 1.5) / 4 + rng.uniform(-noise, noise)
            moment = start + hour * HOUR + quarter * QUARTER_S
            slots.append(PriceSlot(moment, moment + QUARTER_S, value / 1000))
    return slots


# --- the exact search --------------------------------------------------------------------------------------------


def cheapest(
    prices: Sequence[float | None],
    max_a: Sequence[int],
    kwh_per_a: float,
    need_kwh: float,
    *,
    max_blocks: int = DEFAULT_MAX_BLOCKS,
    min_a: int = 6,
) -> float:
    """Return the lowest cost of adding `need_kwh` over whole quarters (price per kWh, None: not to be used).

    State: blocks started, on or off, energy in steps of one ampere over a quarter (clamped at the need). The step
    from one quarter to the next is a minimum over a window of currents: a sliding-window minimum keeps it linear.
    """
    units = max(math.ceil(need_kwh / kwh_per_a - 1e-9), 0)
    # The planner's rule: each run of negative prices may be a block of its own.
    negative = [price is not None and price < 0 and cap >= min_a for price, cap in zip(prices, max_a, strict=True)]
    runs = sum(1 for index, on in enumerate(negative) if on and not (index and negative[index - 1]))
    max_blocks = max(max_blocks, runs)
    inf = math.inf
    off = [[0.0] + [inf] * units] + [[inf] * (units + 1) for _ in range(max_blocks)]
    on = [[inf] * (units + 1) for _ in range(max_blocks + 1)]
    for price, cap in zip(prices, max_a, strict=True):
        usable = price is not None and cap >= min_a
        forced = usable and price is not None and price < 0
        new_off = [[inf] * (units + 1) for _ in range(max_blocks + 1)]
        new_on = [[inf] * (units + 1) for _ in range(max_blocks + 1)]
        for blocks in range(max_blocks + 1):
            if not forced:
                new_off[blocks] = [min(a, b) for a, b in zip(on[blocks], off[blocks], strict=True)]
            if not usable or price is None:
                continue
            start = off[blocks - 1] if blocks else [inf] * (units + 1)
            base = [min(a, b) for a, b in zip(on[blocks], start, strict=True)]
            low = cap if forced else min_a
            new_on[blocks] = _step(base, price * kwh_per_a, low, cap, units)
        on, off = new_on, new_off
    return min(min(on[blocks][units], off[blocks][units]) for blocks in range(max_blocks + 1))


def _step(base: list[float], unit_cost: float, low: int, high: int, units: int) -> list[float]:
    """Return, for each energy u, min over a in [low, high] of base[u - a] + a x unit_cost (the last u: at least)."""
    result = [math.inf] * (units + 1)
    window: deque[int] = deque()  # indices v of base, base[v] - v x unit_cost increasing
    for target in range(units):
        entering = target - low
        if entering >= 0:
            value = base[entering] - entering * unit_cost
            while window and base[window[-1]] - window[-1] * unit_cost >= value:
                window.pop()
            window.append(entering)
        while window and window[0] < target - high:
            window.popleft()
        if window:
            result[target] = base[window[0]] - window[0] * unit_cost + target * unit_cost
    # The last state holds everything at or over the need.
    result[units] = min(
        (base[v] + max(low, units - v) * unit_cost for v in range(max(units - high, 0), units + 1)),
        default=math.inf,
    )
    return result


# --- a charge lived quarter by quarter ---------------------------------------------------------------------------


@dataclass
class Lived:
    """What a charge did: the current of each quarter from the plug-in, what it cost, the plans made."""

    start: float
    currents: list[int] = field(default_factory=list)
    energy_kwh: float = 0.0
    cost: float = 0.0
    energy_by_ready_kwh: float = 0.0
    plans: list[Plan] = field(default_factory=list)

    @property
    def blocks(self) -> int:
        """Return how many times the charge started."""
        return sum(1 for index, amps in enumerate(self.currents) if amps and not (index and self.currents[index - 1]))

    @property
    def most_moves_in_an_hour(self) -> int:
        """Return the most starts and stops within any four quarters' boundaries (an hour)."""
        moves = [
            index
            for index in range(1, len(self.currents))
            if bool(self.currents[index]) != bool(self.currents[index - 1])
        ]
        return max((sum(1 for move in moves if first <= move < first + 4) for first in moves), default=0)


def live(
    *,
    plugged: float,
    ready_by: float,
    energy_kwh: float,
    prices_at: Callable[[float], Sequence[PriceSlot]],
    true_prices: Sequence[PriceSlot],
    max_current_a: int = 16,
    phases: int = 3,
    caps_w: Sequence[float | None] | None = None,
    max_blocks: int = DEFAULT_MAX_BLOCKS,
    drawn: float = 1.0,
    until: float | None = None,
) -> Lived:
    """Replay a charge from `plugged` (a quarter's start) to `until` (the ready-by time unless said).

    At each quarter's start a plan is made on the prices known then (`prices_at`) with the energy still missing;
    the car draws `drawn` times the plan's current for the quarter; the cost counts the true prices.
    """
    truth = {slot.start: slot.price for slot in true_prices}
    lived = Lived(plugged)
    end = ready_by if until is None else until
    moment = plugged
    blocks_done = 0
    while moment < end:
        index = int((moment - plugged) // QUARTER_S)
        charging = bool(lived.currents and lived.currents[-1])
        plan = make_plan(
            PlanRequest(
                now=moment,
                ready_by=ready_by,
                energy_kwh=energy_kwh - lived.energy_kwh,
                prices=prices_at(moment),
                max_current_a=max_current_a,
                phases=phases,
                caps_w=None if caps_w is None else caps_w[index:],
                max_blocks=max_blocks,
                blocks_done=blocks_done,
                charging=charging,
            )
        )
        lived.plans.append(plan)
        amps = plan.current_a(moment)
        if amps and not charging:
            blocks_done += 1
        lived.currents.append(amps)
        energy = drawn * amps * phases * 230.0 * QUARTER_S / 3600 / 1000
        lived.energy_kwh += energy
        lived.cost += energy * truth[moment]
        if moment + QUARTER_S <= ready_by:
            lived.energy_by_ready_kwh = lived.energy_kwh
        moment += QUARTER_S
    return lived


def at_once(
    plugged: float, energy_kwh: float, true_prices: Sequence[PriceSlot], *, max_current_a: int = 16, phases: int = 3
) -> float:
    """Return what charging at the maximum from the plug-in on costs (no plan: what a charger does by itself)."""
    per_quarter = max_current_a * phases * 230.0 * QUARTER_S / 3600 / 1000
    cost, left = 0.0, energy_kwh
    for slot in true_prices:
        if slot.start < plugged or left <= 0:
            continue
        energy = min(per_quarter, left)
        cost += energy * slot.price
        left -= energy
    return cost


def quarters_between(true_prices: Sequence[PriceSlot], start: float, end: float) -> list[float | None]:
    """Return the prices of the quarters from `start` to `end`."""
    return [slot.price for slot in true_prices if start <= slot.start < end]


# --- the days of the tests and of the README's figures -----------------------------------------------------------

PUBLISHED_AT_H = 13.0  # tomorrow's day-ahead prices, on an ordinary day (CET)
PEAK_LIMIT_W = 5000.0


@dataclass(frozen=True, kw_only=True)
class Day:
    """A charge to plan: the car, the target, the prices as they are and as they are known when."""

    name: str
    plugged: float
    ready_by: float
    energy_kwh: float
    prices: list[PriceSlot]  # the truth (what the quarters cost)
    published: Callable[[float], Sequence[PriceSlot]]  # the prices known at a moment
    max_current_a: int = 16
    phases: int = 3
    caps_w: list[float | None] | None = None  # per quarter from the plug-in
    max_blocks: int = DEFAULT_MAX_BLOCKS
    until: float | None = None  # how long to live it (the ready-by time unless said)

    @property
    def quarters(self) -> list[float | None]:
        """Return the true prices of the quarters from the plug-in to the ready-by time."""
        return quarters_between(self.prices, self.plugged, self.ready_by)

    @property
    def max_a(self) -> list[int]:
        """Return each quarter's ceiling in whole amperes (0: under the minimum)."""
        watts_per_a = self.phases * 230.0
        return [
            self.max_current_a
            if self.caps_w is None or self.caps_w[index] is None
            else min(self.max_current_a, math.floor((self.caps_w[index] or 0.0) / watts_per_a + 1e-9))
            for index in range(len(self.quarters))
        ]

    @property
    def kwh_per_a(self) -> float:
        """Return the energy of one ampere over a quarter."""
        return self.phases * 230.0 * QUARTER_S / 3600 / 1000


@dataclass(frozen=True)
class Outcome:
    """A day lived with plans, beside the cheapest charge possible and a charge at once."""

    day: Day
    lived: Lived
    cheapest: float  # the exact search's, under the same limits, knowing every price from the plug-in
    at_once: float

    @property
    def saving(self) -> float:
        """Return the share of the charge-at-once cost the plans saved."""
        return 1 - self.lived.cost / self.at_once

    @property
    def over_cheapest(self) -> float:
        """Return how much dearer the plans were than the cheapest charge (a share of its cost's size)."""
        return (self.lived.cost - self.cheapest) / abs(self.cheapest)


def run(day: Day) -> Outcome:
    """Live `day` with a plan made each quarter; find the cheapest charge and the charge at once beside it."""
    lived = live(
        plugged=day.plugged,
        ready_by=day.ready_by,
        energy_kwh=day.energy_kwh,
        prices_at=day.published,
        true_prices=day.prices,
        max_current_a=day.max_current_a,
        phases=day.phases,
        caps_w=day.caps_w,
        max_blocks=day.max_blocks,
        until=day.until,
    )
    best = cheapest(day.quarters, day.max_a, day.kwh_per_a, day.energy_kwh, max_blocks=day.max_blocks)
    once = at_once(day.plugged, day.energy_kwh, day.prices, max_current_a=day.max_current_a, phases=day.phases)
    return Outcome(day, lived, best, once)


def published(
    prices: Sequence[PriceSlot], *, at_h: float | None = PUBLISHED_AT_H
) -> Callable[[float], list[PriceSlot]]:
    """Return what is known when: each day's prices from `at_h` o'clock the day before (None: the first day's only)."""
    first_day_end = prices[0].start + 86400

    def known(moment: float) -> list[PriceSlot]:
        if at_h is None:
            return [slot for slot in prices if slot.start < first_day_end]
        local = datetime.fromtimestamp(moment, BRUSSELS)
        days_ahead = 2 if local.hour + local.minute / 60 >= at_h else 1
        horizon = midnight(local.year, local.month, local.day) + days_ahead * 86400  # no DST change in these days
        return [slot for slot in prices if slot.start < horizon]

    return known


def two_days(first: Sequence[float], second: Sequence[float], *, seed: int, start: float) -> list[PriceSlot]:
    """Return the prices of two days in a row from `start` (a midnight)."""
    return day_prices(start, first, seed=seed) + day_prices(start + 86400, second, seed=seed + 1)


JANUARY_13 = midnight(2026, 1, 13)  # a Tuesday
MAY_20 = midnight(2026, 5, 20)  # a Wednesday


def winter_weekday() -> Day:
    """Home at 18:00, 30 kWh by 07:00, three phases at 16 A: the evening peak, then the night."""
    prices = two_days(WINTER_WEEKDAY, WINTER_WEEKDAY, seed=1, start=JANUARY_13)
    return Day(
        name="winter weekday",
        plugged=JANUARY_13 + 18 * HOUR,
        ready_by=JANUARY_13 + 31 * HOUR,
        energy_kwh=30.0,
        prices=prices,
        published=published(prices),
    )


def sunny_day(*, phases: int = 1) -> Day:
    """Plugged in at 8:00, 30 kWh by 17:00: the noon's negative prices, then the cheapest hours around them."""
    prices = two_days(SUNNY_DAY, SUNNY_DAY, seed=3, start=MAY_20)
    return Day(
        name=f"sunny day, {phases} phase{'s' if phases > 1 else ''}",
        plugged=MAY_20 + 8 * HOUR,
        ready_by=MAY_20 + 17 * HOUR,
        energy_kwh=30.0,
        prices=prices,
        published=published(prices),
        phases=phases,
    )


def late_prices(*, at_h: float | None = 15.5) -> Day:
    """Home at noon, 30 kWh by 07:00; tomorrow's prices come at `at_h` (None: never)."""
    prices = two_days(WINTER_WEEKDAY, WINTER_WEEKDAY, seed=1, start=JANUARY_13)
    when = "never come" if at_h is None else f"at {int(at_h)}:{int(at_h % 1 * 60):02d}"
    return Day(
        name=f"tomorrow's prices {when}",
        plugged=JANUARY_13 + 12 * HOUR,
        ready_by=JANUARY_13 + 31 * HOUR,
        energy_kwh=30.0,
        prices=prices,
        published=published(prices, at_h=at_h),
    )


def unreachable() -> Day:
    """Home at 5:00, 40 kWh by 7:00: 22 kWh is all the charger gives in two hours."""
    prices = two_days(WINTER_WEEKDAY, WINTER_WEEKDAY, seed=1, start=JANUARY_13)
    return Day(
        name="unreachable target",
        plugged=JANUARY_13 + 29 * HOUR,
        ready_by=JANUARY_13 + 31 * HOUR,
        energy_kwh=40.0,
        prices=prices,
        published=published(prices),
        until=JANUARY_13 + 34 * HOUR,
    )


def house_forecast_w(hour: float) -> float:
    """Return a winter house's expected power at an hour of the day: cooking and heating in the evening."""
    hour %= 24
    if 17 <= hour < 21:
        return 3500.0
    if 6 <= hour < 8:
        return 1500.0
    return 400.0


def peak_guarded_night() -> Day:
    """The winter weekday from 17:00 under a 5 kW peak limit: the car gets what the house leaves, quarter by quarter."""
    prices = two_days(WINTER_WEEKDAY, WINTER_WEEKDAY, seed=1, start=JANUARY_13)
    plugged, ready_by = JANUARY_13 + 17 * HOUR, JANUARY_13 + 31 * HOUR
    caps: list[float | None] = [
        PEAK_LIMIT_W - house_forecast_w(17 + index / 4) for index in range(int((ready_by - plugged) // QUARTER_S))
    ]
    return Day(
        name="peak limit 5 kW",
        plugged=plugged,
        ready_by=ready_by,
        energy_kwh=30.0,
        prices=prices,
        published=published(prices),
        caps_w=caps,
    )


def week() -> list[Day]:
    """Return a week of evenings at home (Monday 12 January 2026 on): a different car, hour and need each day."""
    start = midnight(2026, 1, 12)
    shapes = [WINTER_WEEKDAY] * 5 + [SUNNY_DAY, WINTER_WEEKDAY, WINTER_WEEKDAY]  # a sunny Saturday
    prices = [slot for day in range(8) for slot in day_prices(start + day * 86400, shapes[day], seed=20 + day)]
    cars = [(3, 16, 30.0), (1, 32, 15.0), (3, 16, 12.0), (1, 16, 20.0), (3, 32, 45.0), (3, 16, 25.0), (1, 16, 10.0)]
    home = [18.0, 17.5, 19.25, 20.0, 16.75, 10.0, 21.5]
    ready = [31.0, 30.5, 32.0, 31.5, 30.0, 24.0 + 8.0, 30.25]
    days = []
    for day, ((phases, amps, need), plugged, ready_by) in enumerate(zip(cars, home, ready, strict=True)):
        midnight_ = start + day * 86400
        days.append(
            Day(
                name=f"day {day + 1}",
                plugged=midnight_ + plugged * HOUR,
                ready_by=midnight_ + ready_by * HOUR,
                energy_kwh=need,
                prices=prices,
                published=published(prices),
                max_current_a=amps,
                phases=phases,
            )
        )
    return days
