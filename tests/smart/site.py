"""A charger port at a site, second by second: the interplay tests and the randomised week run on it.

The pure controller; a light car (it draws what it is offered, `car_lag_s` after the offer moved, and its contactor
is closed while it draws); a household given as power per second; a grid meter that takes a reading every
`meter_interval_s` and reports it `meter_delay_s` later, with gaps (the sensor unavailable, or silent: its last value
going stale). The controller sees what the integration hands it: the charger as a poll reads it, the meter's last
report and when it came (the state's last_reported). No Home Assistant, no Modbus, no simulator objects in the loop:
a week takes seconds. Everything is recorded, and promises.py checks the README's promises on the record.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field

from custom_components.enovates.smart.controller import (
    ChargingMode,
    Inputs,
    PlanWish,
    PortInput,
    Reason,
    Settings,
    SmartController,
)
from custom_components.enovates.smart.plan_rule import PlanBook, PlanInputs
from custom_components.enovates.smart.prices import Prices

# Quarters are counted from midnight UTC; the date does not matter.
MIDNIGHT = 1_780_000_000 - 1_780_000_000 % 86400
VOLTAGE_V = 230.0
MIN_A = 6
# As the integration does (smart/const.py GRID_STALE_AFTER): a reading not reported for longer is missing.
STALE_AFTER_S = 60


@dataclass(frozen=True)
class Gap:
    """The meter reports nothing from `start_s` to `end_s`: unavailable, or silent (its last value goes stale)."""

    start_s: int
    end_s: int
    silent: bool = False


@dataclass(frozen=True)
class Meter:
    """How the grid meter reports: a reading every `interval_s`, `delay_s` after it was taken."""

    interval_s: int = 1
    delay_s: int = 1


@dataclass
class SitePlan:
    """What happens at the site, second by second from `start_s` (seconds since midnight of the first day)."""

    start_s: int
    pv_w: Sequence[float]  # per second from start_s
    house_w: Sequence[float]  # the house without the cars, per second from start_s
    modes: Sequence[tuple[int, ChargingMode]] = ((0, ChargingMode.SOLAR),)  # (from second, mode)
    peak_limits: Sequence[tuple[int, float | None]] = ((0, None),)  # (from second, W)
    plugged: Sequence[tuple[int, int]] = ((0, 10**9),)  # (from, to): the car is plugged in
    meters: Sequence[tuple[int, Meter]] = ((0, Meter()),)  # (from second, how the meter reports)
    gaps: Sequence[Gap] = ()
    car_lag_s: int = 0
    car_max_a: int = 16
    car_phases: int = 3
    charger_max_a: int = 32
    initial_limit_a: int = 32  # the charger's maximum: no limit
    settings: Settings = field(default_factory=Settings)
    # Planned charging: the day's prices and what the user asks (ready by, energy), as the manager hands them.
    prices: Prices | None = None
    ask: PlanInputs | None = None

    @property
    def end_s(self) -> int:
        """Return the second after the last one simulated."""
        return self.start_s + len(self.pv_w)


@dataclass(frozen=True)
class Write:
    """A limit the controller wrote, and the grid reading it had then."""

    t: int
    before_a: int
    after_a: int
    reason: Reason
    mode: ChargingMode
    grid_w: float | None
    grid_at: float | None  # seconds since midnight of the first day, as t


@dataclass(frozen=True)
class Move:
    """The contactor closed (charging started) or opened (stopped); `by_car` when the offer did not move."""

    t: int
    closing: bool
    by_car: bool


@dataclass
class Trace:
    """What happened at every second (index: second - plan.start_s), and the events."""

    plan: SitePlan
    limit_a: list[int] = field(default_factory=list)  # in force during the second
    car_w: list[float] = field(default_factory=list)
    contactor: list[bool] = field(default_factory=list)
    plugged: list[bool] = field(default_factory=list)
    reason: list[Reason] = field(default_factory=list)
    mode: list[ChargingMode] = field(default_factory=list)
    peak_limit_w: list[float | None] = field(default_factory=list)
    grid_w: list[float] = field(default_factory=list)  # the truth at the connection: house + car - pv
    seen_grid_w: list[float | None] = field(default_factory=list)  # what the controller was handed
    writes: list[Write] = field(default_factory=list)
    moves: list[Move] = field(default_factory=list)
    picks: list[tuple[int, ChargingMode]] = field(default_factory=list)  # mode changes
    reading_times: list[int] = field(default_factory=list)  # when the meter took each reading it reported
    meter_quarters: dict[int, float] = field(default_factory=dict)  # the controller's closed quarters, W
    controller: SmartController | None = None

    def index(self, t: int) -> int:
        """Return the index of second `t`."""
        return t - self.plan.start_s

    @property
    def write_times(self) -> list[int]:
        """Return when each write was made."""
        return [write.t for write in self.writes]

    def moves_between(self, start: float, end: float) -> list[Move]:
        """Return the moves in [start, end)."""
        return [move for move in self.moves if start <= move.t < end]


def _schedule[T](entries: Sequence[tuple[int, T]]) -> tuple[list[int], list[T]]:
    ordered = sorted(entries, key=lambda entry: entry[0])
    return [time for time, _ in ordered], [value for _, value in ordered]


def _at[T](times: list[int], values: list[T], t: int) -> T:
    return values[max(bisect_right(times, t) - 1, 0)]


def _per_second[T](plan: SitePlan, entries: Sequence[tuple[int, T]]) -> list[T]:
    """Return a schedule's value at each second of the plan."""
    times, values = _schedule(entries)
    start, seconds = plan.start_s, len(plan.pv_w)
    series = [values[0]] * seconds
    for index, time in enumerate(times):
        end = times[index + 1] if index + 1 < len(times) else plan.end_s
        first, last = max(time - start, 0), min(end - start, seconds)
        if first < last:
            series[first:last] = [values[index]] * (last - first)
    return series


# Without a car for this long before and after, and no change of mode or peak limit, there is nothing for the
# controller to steer: the simulation then runs only its quarter meter (the integration would step it every
# second; it would write a limit ready for the next car, which it still does in the minute before one comes).
IDLE_MARGIN_S = 60


def _busy(plan: SitePlan) -> bytearray:
    """Return, per second, whether the controller is asked (a car plugged in or about to be, a change)."""
    start, seconds = plan.start_s, len(plan.pv_w)
    busy = bytearray(seconds)
    moments = [(begin, end) for begin, end in plan.plugged]
    moments += [(time, time) for time, _ in (*plan.modes, *plan.peak_limits)]
    for begin, end in moments:
        first, last = max(begin - IDLE_MARGIN_S - start, 0), min(end + IDLE_MARGIN_S - start, seconds)
        if first < last:
            busy[first:last] = b"\x01" * (last - first)
    return busy


def run_site(plan: SitePlan, controller: SmartController | None = None) -> Trace:  # noqa: PLR0915 - one loop, read top to bottom
    """Run `plan` through the controller; return everything that happened."""
    controller = controller or SmartController(plan.settings)
    trace = Trace(plan, controller=controller)
    modes = _per_second(plan, plan.modes)
    peaks = _per_second(plan, plan.peak_limits)
    meters = _per_second(plan, plan.meters)
    plugged_at = _per_second(
        plan, [(0, False)] + [entry for begin, end in plan.plugged for entry in ((begin, True), (end, False))]
    )
    gap_at: list[Gap | None] = _per_second(
        plan, [(0, None)] + [entry for gap in plan.gaps for entry in ((gap.start_s, gap), (gap.end_s, None))]
    )
    busy = _busy(plan)
    per_amp_w = plan.car_phases * VOLTAGE_V
    currents_zero = (0.0, 0.0, 0.0)

    limit = plan.initial_limit_a
    limits: list[int] = []  # the limit in force at each second
    pending: list[tuple[int, int, float]] = []  # (reported at, taken at, value) on their way
    shown: float | None = None  # the sensor's state
    shown_at: int | None = None  # when it was last reported
    mode = modes[0]
    trace.picks.append((plan.start_s, mode))
    contactor = False
    lag = plan.car_lag_s
    plugged_since = -(10**9)
    was_plugged = False
    reason = Reason.MANUAL
    port: PortInput | None = None
    book = PlanBook() if plan.prices is not None else None
    pv, house = plan.pv_w, plan.house_w
    for i in range(len(pv)):
        t = plan.start_s + i
        # --- the car: it follows the limit `lag` seconds late (and starts `lag` seconds after it is plugged in)
        plugged = plugged_at[i]
        if plugged and not was_plugged:
            plugged_since = t
        was_plugged = plugged
        limits.append(limit)
        followed = limits[i - lag] if i >= lag else limits[0]
        amps = min(followed, plan.car_max_a) if plugged and t - plugged_since >= lag and followed >= MIN_A else 0
        car = amps * per_amp_w
        if (amps > 0) != contactor:
            contactor = amps > 0
            offered_before = (limits[i - lag - 1] if i > lag else limits[0]) >= MIN_A
            # the car's doing: it came (the offer was there already) or it went
            by_car = not plugged if not contactor else offered_before and t - plugged_since <= lag
            trace.moves.append(Move(t, contactor, by_car))
        # --- the meter
        grid = house[i] + car - pv[i]
        gap = gap_at[i]
        meter = meters[i]
        if gap is None and t % meter.interval_s == 0:
            pending.append((t + meter.delay_s, t, grid))
        while pending and pending[0][0] <= t:
            shown_at, taken, shown = pending.pop(0)
            trace.reading_times.append(taken)
        if gap is not None and not gap.silent:
            shown = None  # unavailable until the next report
        seen = None if shown is None or shown_at is None or t - shown_at > STALE_AFTER_S else shown
        # --- the controller
        if modes[i] is not mode:
            mode = modes[i]
            trace.picks.append((t, mode))
        peak = peaks[i]
        if not busy[i]:
            closed = controller.quarter.add(MIDNIGHT + t, seen, cars_w=car, reading_at=_when(shown_at))
            decision = None
        else:
            amps_f = float(amps)
            if (
                port is None
                or port.mode is not mode
                or port.plugged is not plugged
                or port.limit_a != limit
                or port.contactor_closed is not contactor
                or port.currents_a[0] != amps_f
            ):
                port = PortInput(
                    mode=mode,
                    plugged=plugged,
                    power_w=car,
                    currents_a=(amps_f,) * plan.car_phases + currents_zero[plan.car_phases :],
                    voltage_v=VOLTAGE_V,
                    charger_phases=3,
                    max_current_a=plan.charger_max_a,
                    limit_a=limit,
                    contactor_closed=contactor,
                )
            plans = _plan_wishes(book, plan, t, port, (seen, car, peak))
            decisions, closed = controller.step(
                Inputs(
                    now=MIDNIGHT + t,
                    grid_w=seen,
                    grid_at=_when(shown_at),
                    peak_limit_w=peak,
                    ports={1: port},
                    plans=plans,
                )
            )
            decision = decisions[1]
            reason = decision.reason
        if closed is not None:
            trace.meter_quarters[int(closed[0] - MIDNIGHT)] = closed[1]
        trace.limit_a.append(limit)
        trace.car_w.append(car)
        trace.contactor.append(contactor)
        trace.plugged.append(plugged)
        trace.reason.append(reason)
        trace.mode.append(mode)
        trace.peak_limit_w.append(peak)
        trace.grid_w.append(grid)
        trace.seen_grid_w.append(seen)
        if decision is not None and decision.write_a is not None:
            trace.writes.append(
                Write(t, limit, decision.write_a, decision.reason, mode, seen, shown_at if seen is not None else None)
            )
            limit = decision.write_a
    return trace


def _plan_wishes(
    book: PlanBook | None, plan: SitePlan, t: int, port: PortInput, site: tuple[float | None, float, float | None]
) -> dict[int, PlanWish]:
    """Return what the port's plan wants, as the manager hands it (`site`: the grid reading, the car, the peak)."""
    if book is None:
        return {}
    seen, car, peak = site
    book.follow_house(MIDNIGHT + t, seen, car)
    asked = {1: plan.ask} if plan.ask is not None else {}
    return book.wishes(MIDNIGHT + t, {1: port}, asked, plan.prices, max_current_a=None, peak_limit_w=peak)


def _when(shown_at: int | None) -> float | None:
    return None if shown_at is None else MIDNIGHT + shown_at
