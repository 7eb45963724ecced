"""Planned charging: the cheapest quarter hours that put the energy asked for into the car by the ready-by time.

Pure arithmetic (no Home Assistant in here): a simulated week of plans runs in seconds, and every plan can be
replayed from its request.

The problem, per quarter hour q from now to the ready-by time: a current a_q that is 0 or a whole number of amperes
from the car's minimum (6 A) to the quarter's ceiling (the charger's maximum, the options' maximum, and what the peak
guard's forecast of the house leaves), such that the energy adds up to what is asked, the cost (price x energy) is
the lowest, and the charge comes in at most a few separate blocks (each block is a start and a stop of the
contactor, and often a car that wakes up). Whole amperes because that is what the charger is given: a plan in watts
would be written a few hundred watts lower, and come short at the end.

How: for a price of energy L, a quarter is worth (L - price) x energy when on (at its ceiling when cheaper than L,
at the minimum when dearer: bridging a gap between two blocks costs at least the minimum); a dynamic programme picks
the best quarters with at most so many blocks, and a search on L finds the lowest L whose quarters hold the energy.
The currents inside the chosen quarters are then exact (the minimum everywhere, the rest into the cheapest first),
and local moves polish the result (a block end more or less, a block moved by a quarter, a block moved anywhere: the
value L overrates long blocks when a single one is allowed). Fewer blocks win when they cost at most 1% more. The
tests compare it with an exact search over every current of every quarter: within 2% on real-shaped days (0.2% at
most over a simulated week), in some 10 ms (a few tens for long windows on one phase).

What is not known is not guessed: quarters without a price are not planned on, except after the last known price
(tomorrow's, before they are published around 13:00 CET): the energy those quarters can surely take waits for them,
put at the latest moment, so that a plan made now charges in time even if the prices never come, and a plan made
once they are there moves it to the cheapest hours. Negative prices are always taken, at the ceiling: being paid to
charge beats any plan. Too little time: as fast as allowed from now, and the plan says so.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
import enum
import math
from typing import Final

from .controller import MIN_CURRENT_A, NOMINAL_VOLTAGE_V
from .prices import PriceSlot, to_quarters
from .quarter import QUARTER_S, quarter_start

# Contiguous blocks are preferred: at most this many starts of the contactor per plan (a user's option).
DEFAULT_MAX_BLOCKS: Final = 3
# A block more than the fewest is only worth it when it saves this share of the plan's cost: a night of flat prices
# split in three for a tenth of a cent would stop and start the car for nothing.
DEFAULT_BLOCK_SAVING: Final = 0.01
# The quarters without a price yet are counted as taking this much less than their ceiling: a car that draws a
# little less than it is offered (a lower voltage, a battery nearly full) is still ready in time.
DEFAULT_MARGIN: Final = 0.1
# A plan looks no further ahead than this (a ready-by time is a time of day: at most a day away, in practice).
MAX_HORIZON_S: Final = 7 * 86400.0
# Of two quarters with the same price the earlier is taken (a car charged sooner is ready sooner).
_TIE: Final = 1e-9
_EPSILON_KWH: Final = 1e-9
_SEARCH_STEPS: Final = 40
# A block moved anywhere is tried from its shortest length that holds the energy to this many quarters longer.
_LONGER: Final = 8

type Caps = Callable[[float], float | None] | Sequence[float | None] | None


class PlanStatus(enum.StrEnum):
    """What a plan does."""

    READY = "ready"  # nothing (more) to add; negative prices are still taken
    PLANNED = "planned"  # the cheapest known quarters hold it all
    WAITING_FOR_PRICES = "waiting_for_prices"  # part of it waits for prices not published yet
    INFEASIBLE = "infeasible"  # not enough time: as fast as allowed from now, on past the ready-by time


@dataclass(frozen=True, kw_only=True)
class PlanRequest:
    """What a plan rests on: the time, the target, the prices and the limits."""

    now: float  # epoch seconds
    ready_by: float  # epoch seconds
    energy_kwh: float  # still to add (what was asked less what was delivered)
    prices: Sequence[PriceSlot]  # quarter hours (Prices.slots); hours are cut into quarters
    max_current_a: int  # the charger's maximum, under the options' maximum
    phases: int = 3  # what the car charges on
    voltage_v: float = NOMINAL_VOLTAGE_V
    min_current_a: int = MIN_CURRENT_A
    # The most the car may draw in each quarter (W; None: no limit other than the current's), for the peak guard's
    # forecast of the house: a function of the quarter's start, or a list from the quarter `now` falls in.
    caps_w: Caps = None
    max_blocks: int = DEFAULT_MAX_BLOCKS
    block_saving: float = DEFAULT_BLOCK_SAVING
    blocks_done: int = 0  # blocks charged already for this target (the one running included)
    charging: bool = False  # charging now: going on in the first quarter starts no new block
    margin: float = DEFAULT_MARGIN
    currency: str | None = None  # the prices' (for the plan's cost)


@dataclass(frozen=True, slots=True)
class PlannedSlot:
    """A quarter hour (the first may be what is left of it) that the plan charges in."""

    start: float
    end: float
    current_a: int
    power_w: float
    energy_kwh: float
    price: float | None  # per kWh; None: not published yet (the part that waits for prices)

    @property
    def cost(self) -> float | None:
        """Return what the slot's energy costs (None: its price is not known yet)."""
        return None if self.price is None else self.price * self.energy_kwh


@dataclass(frozen=True, slots=True)
class Block:
    """Contiguous slots: one start and one stop of the charge."""

    start: float
    end: float
    energy_kwh: float
    cost: float | None  # None: part of it has no price yet


@dataclass(frozen=True)
class Plan:
    """When to charge, how much, and what it is expected to cost."""

    made_at: float
    ready_by: float
    energy_wanted_kwh: float
    status: PlanStatus
    slots: tuple[PlannedSlot, ...]
    latest_start: float  # the last moment a charge at the ceiling from then on is still ready in time (margin kept)
    currency: str | None = None

    @property
    def feasible(self) -> bool:
        """Return whether the car is expected ready by the time."""
        return self.status is not PlanStatus.INFEASIBLE

    @property
    def energy_kwh(self) -> float:
        """Return the energy the plan puts in the car."""
        return sum(slot.energy_kwh for slot in self.slots)

    @property
    def cost(self) -> float:
        """Return what the slots with a known price cost."""
        return sum(slot.cost for slot in self.slots if slot.cost is not None)

    @property
    def waiting_kwh(self) -> float:
        """Return the energy planned in quarters whose price is not published yet."""
        return sum(slot.energy_kwh for slot in self.slots if slot.price is None)

    @property
    def blocks(self) -> tuple[Block, ...]:
        """Return the plan's contiguous runs of slots."""
        runs: list[list[PlannedSlot]] = []
        for slot in self.slots:
            if runs and runs[-1][-1].end == slot.start:
                runs[-1].append(slot)
            else:
                runs.append([slot])
        return tuple(
            Block(
                run[0].start,
                run[-1].end,
                sum(slot.energy_kwh for slot in run),
                None if any(slot.cost is None for slot in run) else sum(slot.cost or 0.0 for slot in run),
            )
            for run in runs
        )

    def slot_at(self, moment: float) -> PlannedSlot | None:
        """Return the slot `moment` falls in (None: the plan does not charge then)."""
        return next((slot for slot in self.slots if slot.start <= moment < slot.end), None)

    def current_a(self, moment: float) -> int:
        """Return the current the plan wants at `moment` (0: paused)."""
        slot = self.slot_at(moment)
        return 0 if slot is None else slot.current_a

    def next_start(self, moment: float) -> float | None:
        """Return when the charge that runs at `moment`, or the next one, starts (None: no more charging)."""
        return next((block.start for block in self.blocks if block.end > moment), None)


@dataclass(slots=True)
class _Quarter:
    start: float
    end: float
    kwh_per_a: float  # the energy of one ampere over the quarter
    max_a: int  # 0: the car may not charge (the ceiling is under the minimum)
    price: float | None


def make_plan(request: PlanRequest) -> Plan:
    """Return the cheapest plan that adds `request.energy_kwh` by `request.ready_by` under the request's limits."""
    need = max(request.energy_kwh, 0.0)
    quarters = _window(request, request.now, request.ready_by)
    latest = latest_start(request)

    def plan(status: PlanStatus, chosen: Sequence[tuple[_Quarter, int]]) -> Plan:
        slots = tuple(
            PlannedSlot(
                start=quarter.start,
                end=quarter.end,
                current_a=amps,
                power_w=amps * request.phases * request.voltage_v,
                energy_kwh=amps * quarter.kwh_per_a,
                price=quarter.price,
            )
            for quarter, amps in sorted(chosen, key=lambda item: item[0].start)
            if amps > 0
        )
        return Plan(request.now, request.ready_by, need, status, slots, latest, request.currency)

    # After the last known price, the quarters wait for theirs (the tail); before it, a quarter without a price is
    # a gap in the list that will not be filled.
    known = [index for index, quarter in enumerate(quarters) if quarter.price is not None]
    head = quarters[: known[-1] + 1] if known else []
    tail = quarters[len(head) :]
    sure_kwh = (1 - request.margin) * sum(quarter.max_a * quarter.kwh_per_a for quarter in tail)
    head_need = max(need - sure_kwh, 0.0)

    allowance = max(request.max_blocks - request.blocks_done, 0)
    if head_need < need:
        allowance = max(allowance - 1, 0)  # the tail's block
    amps = _cheapest(
        _Problem.of(head, head_need, request.min_current_a, charging=request.charging), allowance, request.block_saving
    )
    if amps is None:
        return plan(PlanStatus.INFEASIBLE, _as_fast_as_allowed(request, need))
    chosen = list(zip(head, amps, strict=True))
    waiting = need - sum(quarter.kwh_per_a * current for quarter, current in chosen)
    # As late as possible, the prices may come meanwhile and move it somewhere cheaper; but once it runs, it goes
    # on (each quarter it delivers more than the margin counts, and would push the start back by a quarter).
    running = request.charging and not head and bool(tail)
    for quarter in tail if running else reversed(tail):
        if waiting <= _EPSILON_KWH:
            break
        if quarter.max_a:
            chosen.append((quarter, quarter.max_a))
            waiting -= (1 - request.margin) * quarter.max_a * quarter.kwh_per_a
    if need <= _EPSILON_KWH:
        return plan(PlanStatus.READY, chosen)
    if any(quarter.price is None and current for quarter, current in chosen):
        return plan(PlanStatus.WAITING_FOR_PRICES, chosen)
    return plan(PlanStatus.PLANNED, chosen)


def latest_start(request: PlanRequest) -> float:
    """Return the last moment from which charging at the ceiling still adds `request.energy_kwh` by the time.

    The ceilings are counted `request.margin` lower, as for the quarters without a price. `request.now` (or
    earlier) means: start now, it may already be too late.
    """
    need = request.energy_kwh
    if need <= 0:
        return request.ready_by
    for quarter in reversed(_window(request, request.now, request.ready_by)):
        power_kw = (1 - request.margin) * quarter.max_a * request.phases * request.voltage_v / 1000
        energy = power_kw * (quarter.end - quarter.start) / 3600
        if power_kw > 0 and energy >= need:
            return quarter.end - need / power_kw * 3600
        need -= energy
    return request.now


def _window(request: PlanRequest, start: float, end: float) -> list[_Quarter]:
    """Return the quarters from `start` to `end` (the first and last cut to them), with their ceilings and prices."""
    prices = {slot.start: slot.price for slot in to_quarters(request.prices)}
    watts_per_a = request.phases * request.voltage_v
    quarters: list[_Quarter] = []
    first = quarter_start(start)
    end = min(end, start + MAX_HORIZON_S)
    moment, index = first, 0
    while moment < end:
        begin, finish = max(moment, start), min(moment + QUARTER_S, end)
        cap_w = _cap(request.caps_w, index, moment)
        max_a = request.max_current_a if cap_w is None else min(request.max_current_a, _floor(cap_w / watts_per_a))
        quarters.append(
            _Quarter(
                start=begin,
                end=finish,
                kwh_per_a=watts_per_a * (finish - begin) / 3600 / 1000,
                max_a=max_a if max_a >= request.min_current_a else 0,
                price=prices.get(moment),
            )
        )
        moment += QUARTER_S
        index += 1
    return quarters


def _cap(caps: Caps, index: int, start: float) -> float | None:
    if caps is None:
        return None
    if callable(caps):
        return caps(start)
    return caps[index] if index < len(caps) else None


def _floor(amperes: float) -> int:
    """Return whole amperes under `amperes` (a hair under a whole one counts as it: 15.9999999 A is 16 A)."""
    return math.floor(amperes + 1e-9)


def _as_fast_as_allowed(request: PlanRequest, need: float) -> list[tuple[_Quarter, int]]:
    """Return every quarter from now at its ceiling until `need` is in, past the ready-by time if need be."""
    chosen: list[tuple[_Quarter, int]] = []
    for quarter in _window(request, request.now, request.now + MAX_HORIZON_S):
        if need <= _EPSILON_KWH:
            break
        if quarter.max_a:
            # the last quarter only what is still missing (the minimum at least)
            amps = min(quarter.max_a, max(request.min_current_a, math.ceil(need / quarter.kwh_per_a - 1e-9)))
            chosen.append((quarter, amps))
            need -= amps * quarter.kwh_per_a
    return chosen


# --- the search --------------------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Problem:
    """The known quarters and the rules a choice of them must keep."""

    quarters: Sequence[_Quarter]
    need: float
    min_a: int
    charging: bool
    price: list[float]  # with the tie-break: a hair more for later quarters
    usable: list[bool]
    forced: list[bool]  # negative prices: always on, at the ceiling
    order: list[int]  # the usable quarters, cheapest first

    @classmethod
    def of(cls, quarters: Sequence[_Quarter], need: float, min_a: int, *, charging: bool) -> _Problem:
        usable = [quarter.price is not None and quarter.max_a > 0 for quarter in quarters]
        price = [
            (quarter.price if quarter.price is not None else math.inf) + _TIE * index
            for index, quarter in enumerate(quarters)
        ]
        return cls(
            quarters=quarters,
            need=need,
            min_a=min_a,
            charging=charging,
            price=price,
            usable=usable,
            forced=[ok and price[index] < 0 for index, ok in enumerate(usable)],
            order=sorted((index for index, ok in enumerate(usable) if ok), key=price.__getitem__),
        )

    def blocks(self, chosen: Sequence[bool]) -> int:
        """Return how many blocks start in `chosen` (going on with the charge that runs now starts none)."""
        starts = 0
        previous = self.charging
        for on in chosen:
            starts += on and not previous
            previous = on
        return starts

    def allocate(self, chosen: Sequence[bool]) -> tuple[list[int], float] | None:
        """Return the cheapest currents within the quarters `chosen`, and their cost (None: they cannot hold it).

        The minimum in every quarter chosen (the ceiling where the price is negative), the rest of the energy into
        the cheapest of them first: exact for quarters of the same length.
        """
        amps = [0] * len(chosen)
        left, cost = self.need, 0.0
        for index in self.order:
            if chosen[index]:
                quarter = self.quarters[index]
                amps[index] = quarter.max_a if self.forced[index] else self.min_a
                left -= amps[index] * quarter.kwh_per_a
                cost += self.price[index] * amps[index] * quarter.kwh_per_a
        for index in self.order:
            if left <= _EPSILON_KWH:
                break
            if chosen[index] and not self.forced[index]:
                quarter = self.quarters[index]
                extra = quarter.max_a - amps[index]
                if extra * quarter.kwh_per_a > left:
                    extra = math.ceil(left / quarter.kwh_per_a - 1e-9)  # the last one: what is still missing
                amps[index] += extra
                left -= extra * quarter.kwh_per_a
                cost += self.price[index] * extra * quarter.kwh_per_a
        if left > _EPSILON_KWH:
            return None
        return amps, cost

    def select(self, value: float, allowance: int) -> list[bool]:
        """Return the quarters worth most at an energy value of `value` per kWh, in at most `allowance` blocks.

        A quarter on is worth (value - price) x its energy: at the ceiling when cheaper than `value`, at the minimum
        when dearer (bridging two blocks). Best over (blocks started, on or off) quarter by quarter.
        """
        blank = -math.inf
        span = range(allowance + 1)
        off = [0.0] + [blank] * allowance
        on = [0.0 if self.charging else blank] + [blank] * allowance
        trail: list[tuple[list[bool], list[bool]]] = []  # per quarter: on came from on?, off came from on?
        for index, quarter in enumerate(self.quarters):
            price = self.price[index]
            amps = quarter.max_a if price < value or self.forced[index] else self.min_a
            worth = (value - price) * amps * quarter.kwh_per_a
            started = [blank, *off[:-1]]
            trail.append(([on[blocks] >= started[blocks] for blocks in span], [on[b] > off[b] for b in span]))
            new_on = [max(pair) + worth for pair in zip(on, started, strict=True)] if self.usable[index] else None
            off = [blank] * (allowance + 1) if self.forced[index] else [max(pair) for pair in zip(on, off, strict=True)]
            on = new_on or [blank] * (allowance + 1)
        # Back from the best end (there is one: the allowance holds the runs of negative prices at least).
        best = max(span, key=lambda blocks: max(on[blocks], off[blocks]))
        state_on, blocks = on[best] > off[best], best
        chosen = [False] * len(self.quarters)
        for index in range(len(self.quarters) - 1, -1, -1):
            on_from_on, off_from_on = trail[index]
            if state_on:
                chosen[index] = True
                if not on_from_on[blocks]:
                    state_on, blocks = False, blocks - 1
            else:
                state_on = off_from_on[blocks]
        return chosen


type _Choice = tuple[list[bool], list[int], float]  # the quarters on, their currents, the cost


def _cheapest(problem: _Problem, allowance: int, saving: float) -> list[int] | None:
    """Return the cheapest currents that add the energy, in few blocks (None: they cannot, whatever the blocks)."""
    if problem.allocate(problem.usable) is None:
        return None
    # Negative prices are taken whatever the plan: each of their runs may be a block of its own.
    fewest = problem.blocks(problem.forced)
    allowance = max(allowance, fewest)
    best = _search(problem, allowance)
    while best is None:
        # The target before the wear of the contactor: one block more (at worst every usable run is a block).
        allowance += 1
        best = _search(problem, allowance)
    # Fewer blocks when they cost little more: the saving is judged on the cost at face value (prices may be
    # negative or near zero, the cost then too).
    scale = sum(
        abs(problem.price[index]) * current * problem.quarters[index].kwh_per_a for index, current in enumerate(best[1])
    )
    for fewer in range(fewest, allowance):
        found = _search(problem, fewer)
        if found is not None and found[2] <= best[2] + saving * scale:
            return found[1]
    return best[1]


def _search(problem: _Problem, allowance: int) -> _Choice | None:
    """Return the cheapest choice found with at most `allowance` blocks (None: none holds the energy)."""
    prices = [problem.price[index] for index in problem.order]
    low, high = (prices[0] - 1, prices[-1] + 1) if prices else (0.0, 1.0)
    best: _Choice | None = None

    def consider(chosen: list[bool]) -> bool:
        nonlocal best
        allocated = problem.allocate(chosen)
        if allocated is None:
            return False
        if best is None or allocated[1] < best[2]:
            best = (chosen, *allocated)
        return True

    if not consider(problem.select(high, allowance)):
        return None
    for _ in range(_SEARCH_STEPS):
        middle = (low + high) / 2
        if consider(problem.select(middle, allowance)):
            high = middle
        else:
            low = middle
    assert best is not None  # noqa: S101 - the first choice held it
    return _polish(problem, allowance, best)


def _polish(problem: _Problem, allowance: int, best: _Choice) -> _Choice:
    """Improve a choice while it pays: a block end more or less, a block moved by a quarter, a block moved anywhere."""
    # Each move lowers the cost: it ends.
    while found := _better(problem, best, _moves(problem, best[0], allowance)) or _relocated(problem, best, allowance):
        best = found
    return best


def _better(problem: _Problem, best: _Choice, candidates: Iterable[list[bool]]) -> _Choice | None:
    """Return the first of `candidates` cheaper than `best`."""
    for candidate in candidates:
        allocated = problem.allocate(candidate)
        if allocated is not None and allocated[1] < best[2] - 1e-12:
            return candidate, *allocated
    return None


def _runs(chosen: Sequence[bool]) -> list[tuple[int, int]]:
    """Return the first and last index of each run of quarters on."""
    runs: list[tuple[int, int]] = []
    for index, on in enumerate(chosen):
        if on and (index == 0 or not chosen[index - 1]):
            runs.append((index, index))
        elif on:
            runs[-1] = (runs[-1][0], index)
    return runs


def _moves(problem: _Problem, chosen: list[bool], allowance: int) -> Iterator[list[bool]]:
    """Yield the choices one small move away from `chosen` that keep the rules."""
    count = len(chosen)
    runs = _runs(chosen)

    def changed(*flips: int) -> list[bool] | None:
        candidate = list(chosen)
        for index in flips:
            if not 0 <= index < count or problem.forced[index] or not problem.usable[index]:
                return None
            candidate[index] = not candidate[index]
        return candidate if problem.blocks(candidate) <= allowance else None

    moves: list[list[bool] | None] = []
    for number, (first, last) in enumerate(runs):
        moves += [
            changed(first),  # shorter
            changed(last),
            changed(first - 1),  # longer
            changed(last + 1),
            changed(last, first - 1),  # moved
            changed(first, last + 1),
        ]
        if number + 1 < len(runs):
            # Filling the gap to the next block frees a block for elsewhere.
            moves.append(changed(*range(last + 1, runs[number + 1][0])))
    # A block cut in two at its dearest quarter.
    inner = [index for first, last in runs for index in range(first + 1, last)]
    if inner:
        moves.append(changed(max(inner, key=problem.price.__getitem__)))
    yield from (move for move in moves if move is not None)


def _relocated(problem: _Problem, best: _Choice, allowance: int) -> _Choice | None:
    """Return a cheaper choice with one block taken away and its energy put in the best block anywhere (or None)."""
    found: _Choice | None = None
    for first, last in _runs(best[0]):
        rest = list(best[0])
        for index in range(first, last + 1):
            rest[index] = problem.forced[index]
        candidate = _best_block(problem, rest, allowance)
        if candidate is not None and candidate[2] < (found or best)[2] - 1e-12:
            found = candidate
    return found


def _best_block(problem: _Problem, rest: list[bool], allowance: int) -> _Choice | None:
    """Return the cheapest choice of `rest` and one block more (from its shortest that holds the energy on)."""
    count = len(rest)
    held = sum(
        problem.quarters[index].max_a * problem.quarters[index].kwh_per_a for index in range(count) if rest[index]
    )
    best: _Choice | None = None
    for first in range(count):
        capacity, tried = held, 0
        last = first
        while last < count and problem.usable[last] and tried < _LONGER:
            if not rest[last]:
                capacity += problem.quarters[last].max_a * problem.quarters[last].kwh_per_a
            if capacity >= problem.need - _EPSILON_KWH:
                tried += 1
                candidate = list(rest)
                candidate[first : last + 1] = [True] * (last + 1 - first)
                allocated = problem.allocate(candidate) if problem.blocks(candidate) <= allowance else None
                if allocated is not None and (best is None or allocated[1] < best[2]):
                    best = (candidate, *allocated)
            last += 1
    return best
