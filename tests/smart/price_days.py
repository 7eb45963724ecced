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
    (95, 88, 84, 82, 84, 92, 115, 150, 175, 160, 140, 130)  # night, the morning peak
    + (125, 122, 128, 140, 160, 195, 230, 215, 180, 150, 128, 110)  # the afternoon, the evening peak
)
SUNNY_DAY = (
    (85, 80, 78, 76, 78, 85, 95, 100, 70, 35, 5, -10)  # night, a short morning peak, the sun comes up
    + (-35, -40, -25, -5, 20, 70, 110, 150, 175, 150, 120, 100)  # negative noon, the evening peak
)


def midnight(year: int, month: int, day: int) -> float:
    """Return a local midnight in Brussels, in epoch seconds."""
    return datetime(year, month, day, tzinfo=BRUSSELS).timestamp()


def day_prices(start: float, hourly: Sequence[float], *, seed: int = 0, noise: float = 3.0) -> list[PriceSlot]:
    """Return 96 quarter-hour prices (EUR/kWh) from `start`, shaped by `hourly` (EUR/MWh) and the saw-tooth."""
    rng = random.Random(seed)
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
    """Return, for each energy u, min over a in [low, high] of base[u - a] + a x unit_cost (u = units: u - a or less)."""
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
