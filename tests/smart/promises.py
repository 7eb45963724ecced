"""The promises of the README's "Smart charging" section, as properties of a site's record (site.py).

Each check returns what broke it, as readable lines (empty: kept). They judge what happened, from the truth the
simulation knows (the panels, the house, the car, the meter's readings), not from what the controller believed;
where a promise can only be kept on what the meter shows (a meter that reports every 10 s cannot see between its
readings), the check says so and allows for it.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable
from itertools import accumulate

from custom_components.enovates.smart.controller import ChargingMode, Reason
from custom_components.enovates.smart.model import PLAN_REASONS

from .site import MIN_A, VOLTAGE_V, Meter, Trace, Write, _at, _schedule

QUARTER_S = 900
HOUR_S = 3600
WRITE_INTERVAL_S = 5
SETTLE_S = 2
MISSING_HOLD_S = 60
MAX_MOVES = 6
POWER_MOVE_W = 300.0
SOLAR_MODES = (ChargingMode.SOLAR, ChargingMode.SOLAR_MINIMUM)


def solar_wrote(write: Write) -> bool:
    """Return whether Solar's surplus made a write (in Solar + plan, the plan's writes are the plan's)."""
    if write.mode is ChargingMode.SOLAR_PLAN:
        return write.reason not in PLAN_REASONS
    return write.mode in SOLAR_MODES


# The peak guard gives way within seconds: this much above what is left of the quarter is no rounding.
GIVE_WAY_MARGIN_W = 200.0


def _meters(trace: Trace) -> Callable[[int], Meter]:
    """Return how the meter reported at a second."""
    times, values = _schedule(trace.plan.meters)
    return lambda t: _at(times, values, t)


def _minimum_w(trace: Trace) -> float:
    return MIN_A * trace.plan.car_phases * VOLTAGE_V


def _cause(trace: Trace, t: int, *, closing: bool) -> int | None:
    """Return the index in trace.writes of the write that made the contactor move at `t` (a start or a pause)."""
    for index in range(bisect_left(trace.write_times, t) - 1, -1, -1):
        write = trace.writes[index]
        if closing and write.before_a < MIN_A <= write.after_a:
            return index
        if not closing and write.after_a < MIN_A <= write.before_a:
            return index
    return None


def no_start_without_surplus(trace: Trace) -> list[str]:
    """Solar starts a car only once the surplus covered its minimum for the start delay.

    By the meter's readings: every reading taken from the start delay before the start write up to the write
    (less the meter's delay) shows a surplus (panels less the house) covering the car's minimum.
    """
    broken = []
    minimum = _minimum_w(trace)
    start = trace.plan.start_s
    delay = trace.plan.settings.start_delay_s
    meters = _meters(trace)
    for move in trace.moves:
        if not move.closing or move.by_car:
            continue
        cause = _cause(trace, move.t, closing=True)
        if cause is None:
            broken.append(f"{move.t}: a start without a write")
            continue
        write = trace.writes[cause]
        if write.mode not in (ChargingMode.SOLAR, ChargingMode.SOLAR_PLAN) or not solar_wrote(write):
            continue
        meter = meters(write.t)
        first = bisect_left(trace.reading_times, write.t - delay)
        last = bisect_right(trace.reading_times, write.t - meter.delay_s)
        for taken in trace.reading_times[first:last]:
            surplus = trace.plan.pv_w[taken - start] - trace.plan.house_w[taken - start]
            if surplus < minimum - 1:
                broken.append(f"{move.t}: Solar started the car (write at {write.t}) on {surplus:.0f} W at {taken}")
                break
    return broken


def contactor_budget(trace: Trace) -> list[str]:
    """At most 6 moves in any hour, every mode together: a start only with at most 4 in the hour before.

    The car's own moves (plugged in, unplugged) and a user's pick of Off count, but the controller cannot keep
    them from happening: an hour that holds one is judged by the start rule only.
    """
    broken = []
    times = [move.t for move in trace.moves]
    for move in trace.moves:
        if move.closing and not move.by_car:
            before = bisect_left(times, move.t) - bisect_left(times, move.t - HOUR_S + 1)
            if before > MAX_MOVES - 2:
                broken.append(f"{move.t}: a start after {before} moves in the hour")
    external = sorted(
        [move.t for move in trace.moves if move.by_car]
        + [t for t, mode in trace.picks if mode in (ChargingMode.OFF, ChargingMode.MANUAL)]
    )
    for index, move in enumerate(trace.moves):
        first = bisect_left(times, move.t - HOUR_S + 1)
        count = index - first + 1
        outside = bisect_right(external, move.t) - bisect_left(external, move.t - HOUR_S + 1) == 0
        if count > MAX_MOVES and outside:
            broken.append(f"{move.t}: {count} moves in the hour before")
    return broken


def _quarters(trace: Trace) -> list[int]:
    start, end = trace.plan.start_s, trace.plan.end_s
    first = start + (-start) % QUARTER_S
    return list(range(first, end - QUARTER_S + 1, QUARTER_S))


def _guarded(trace: Trace, begin: int, end: int) -> float | None:
    """Return the peak limit in force all through [begin, end) in a smart mode, or None."""
    limits = set(trace.peak_limit_w[trace.index(begin) : trace.index(end)])
    modes = set(trace.mode[trace.index(begin) : trace.index(end)])
    if len(limits) != 1 or ChargingMode.MANUAL in modes:
        return None
    return limits.pop()


def quarters_within_the_limit(trace: Trace) -> list[str]:
    """Every quarter's average import (the meter's count) stays within the peak limit + 2%.

    Unless the house alone went over the limit in that quarter (the guard steers only the charger, the house makes
    its own peak); and without what the house added while the meter was silent (no one can see that).
    """
    broken = []
    plan = trace.plan
    for begin in _quarters(trace):
        limit = _guarded(trace, begin, begin + QUARTER_S)
        if limit is None:
            continue
        i, j = trace.index(begin), trace.index(begin + QUARTER_S)
        house = [max(h - p, 0.0) for h, p in zip(plan.house_w[i:j], plan.pv_w[i:j], strict=True)]
        if max(house) > limit:
            continue
        unseen = _unseen_rise_ws(trace, begin, house)
        average = sum(max(grid, 0.0) for grid in trace.grid_w[i:j]) / QUARTER_S
        if average > limit * 1.02 + unseen / QUARTER_S:
            broken.append(f"{begin}: the quarter averaged {average:.0f} W under a {limit:.0f} W limit")
    return broken


def _unseen_rise_ws(trace: Trace, begin: int, house: list[float]) -> float:
    """Return how much more the house drew during the meter's gaps in a quarter than before each gap (W·s)."""
    unseen = 0.0
    for gap in trace.plan.gaps:
        start, end = max(gap.start_s, begin), min(gap.end_s + STALE_MARGIN_S, begin + QUARTER_S)
        if start >= end:
            continue
        before = house[max(gap.start_s - begin - 1, 0)] if gap.start_s > begin else house[0]
        unseen += sum(max(value - before, 0.0) for value in house[start - begin : end - begin])
    return unseen


STALE_MARGIN_S = 12  # after a gap, the first reading comes a meter interval and a delay later


def cars_give_way(trace: Trace) -> list[str]:
    """When the house alone needs more than what is left of the quarter, the cars give way within seconds.

    They may still take what the panels export (that adds no import), no more.
    """
    broken = []
    plan = trace.plan
    start = plan.start_s
    gap_seconds = _gap_seconds(trace)
    meters = _meters(trace)
    for begin in _quarters(trace):
        limit = _guarded(trace, begin, begin + QUARTER_S)
        if limit is None:
            continue
        meter = meters(begin)
        allowed = 2 * meter.interval_s + meter.delay_s + WRITE_INTERVAL_S + SETTLE_S + plan.car_lag_s + 3
        i = trace.index(begin)
        energy = list(accumulate((max(grid, 0.0) for grid in trace.grid_w[i : i + QUARTER_S]), initial=0.0))
        short_since = None
        for offset in range(QUARTER_S):
            t = begin + offset
            house = max(plan.house_w[t - start] - plan.pv_w[t - start], 0.0)
            left_w = (limit * QUARTER_S - energy[offset]) / (QUARTER_S - offset)
            if house - left_w > GIVE_WAY_MARGIN_W and t not in gap_seconds:
                short_since = t if short_since is None else short_since
            else:
                short_since = None
                continue
            added = trace.grid_w[t - start] - house  # the import the car adds
            if t - short_since >= allowed and added > GIVE_WAY_MARGIN_W:
                broken.append(f"{t}: the car adds {added:.0f} W of import, the house alone is over")
                break
    return broken


def _gap_seconds(trace: Trace) -> set[int]:
    seconds: set[int] = set()
    for gap in trace.plan.gaps:
        seconds.update(range(gap.start_s, gap.end_s + STALE_MARGIN_S))
    return seconds


def never_raised_on_a_stale_reading(trace: Trace) -> list[str]:
    """A raise that rests on the grid reading waits for one reported 2 s after the last change.

    The last change: a write (to any port), a move of the car's power, a change of mode. A raise rests on the reading
    in the Solar modes with a car, and in every mode under a peak limit. Without a reading, nothing is raised.
    """
    broken = []
    changes = sorted(
        [write.t for write in trace.writes]
        + [t for t, _ in trace.picks]
        + [
            trace.plan.start_s + index
            for index in range(1, len(trace.car_w))
            if abs(trace.car_w[index] - trace.car_w[index - 1]) >= POWER_MOVE_W
        ]
    )
    for write in trace.writes:
        if write.after_a <= write.before_a:
            continue
        index = trace.index(write.t)
        grid_driven = trace.peak_limit_w[index] is not None or (solar_wrote(write) and trace.plugged[index])
        if not grid_driven:
            continue
        last = changes[bisect_left(changes, write.t) - 1] if bisect_left(changes, write.t) else None
        if write.grid_w is None or write.grid_at is None:
            broken.append(f"{write.t}: raised to {write.after_a} A without a reading")
        elif last is not None and write.grid_at < last + SETTLE_S:
            broken.append(f"{write.t}: raised to {write.after_a} A on a reading of {write.grid_at}, changed at {last}")
    return broken


def writes_in_whole_amperes_and_spaced(trace: Trace) -> list[str]:
    """The limit moves in whole amperes (0, or 6 up to the maximum), at most once every 5 s."""
    broken = []
    ceiling = trace.plan.settings.max_current_a or trace.plan.charger_max_a
    last = None
    for write in trace.writes:
        if write.after_a != 0 and not MIN_A <= write.after_a <= max(ceiling, MIN_A):
            broken.append(f"{write.t}: wrote {write.after_a} A")
        if last is not None and write.t - last < WRITE_INTERVAL_S:
            broken.append(f"{write.t}: wrote {write.t - last} s after the last write")
        last = write.t
    return broken


def manual_and_off(trace: Trace) -> list[str]:
    """Manual: the limit is never written. Off: paused within a write interval, and kept paused."""
    broken = [
        f"{write.t}: wrote {write.after_a} A in Manual" for write in trace.writes if write.mode is ChargingMode.MANUAL
    ]
    lag = trace.plan.car_lag_s
    picked = None
    for index, mode in enumerate(trace.mode):
        t = trace.plan.start_s + index
        if mode is not ChargingMode.OFF:
            picked = None
            continue
        picked = t if picked is None else picked
        if t - picked > WRITE_INTERVAL_S + lag + 2 and trace.car_w[index] > 0:
            broken.append(f"{t}: charging in Off since {picked}")
            break
    return broken


def solar_minimum_pauses_only_for_the_peak(trace: Trace) -> list[str]:
    """Solar + minimum never pauses a car but for the peak guard."""
    broken = []
    for move in trace.moves:
        if move.closing or move.by_car:
            continue
        cause = _cause(trace, move.t, closing=False)
        if cause is None:
            broken.append(f"{move.t}: a pause without a write")
            continue
        write = trace.writes[cause]
        if write.mode is ChargingMode.SOLAR_MINIMUM and write.reason is not Reason.PEAK_GUARD:
            broken.append(f"{move.t}: Solar + minimum paused the car ({write.reason})")
    return broken


def solar_stops_after_the_stop_delay(trace: Trace) -> list[str]:
    """Solar pauses for want of surplus only after the stop delay (the reason said stopping all along)."""
    broken = []
    delay = int(trace.plan.settings.stop_delay_s)
    for write in trace.writes:
        if write.mode is not ChargingMode.SOLAR or write.reason is not Reason.NO_SURPLUS or write.before_a < MIN_A:
            continue
        index = trace.index(write.t)
        before = trace.reason[max(index - delay + 1, 0) : index]
        if any(reason not in (Reason.STOPPING, Reason.PEAK_GUARD) for reason in before):
            broken.append(f"{write.t}: Solar paused the car without its stop delay")
    return broken


def missing_reading_holds_then_falls_back(trace: Trace) -> list[str]:
    """A missing or stale reading never raises a limit; it holds 60 s, then Solar pauses and the rest go to 6 A."""
    broken = []
    for write in trace.writes:
        if write.reason is not Reason.GRID_MISSING:
            continue
        index = trace.index(write.t)
        missing = trace.seen_grid_w[max(index - MISSING_HOLD_S, 0) : index + 1]
        if write.after_a > write.before_a:
            broken.append(f"{write.t}: raised to {write.after_a} A without a reading")
        elif any(seen is not None for seen in missing) or len(missing) <= MISSING_HOLD_S:
            broken.append(f"{write.t}: lowered to {write.after_a} A before 60 s without a reading")
        elif write.after_a > (0 if write.mode is ChargingMode.SOLAR else MIN_A):
            broken.append(f"{write.t}: fell back to {write.after_a} A")
    return broken


def budget_reason_when_spent(trace: Trace) -> list[str]:
    """The reason says "contactor budget" only while the last hour holds 5 moves or more."""
    broken = []
    times = [move.t for move in trace.moves]
    for index, reason in enumerate(trace.reason):
        if reason != "contactor_budget":
            continue
        t = trace.plan.start_s + index
        moves = bisect_right(times, t) - bisect_left(times, t - HOUR_S + 1)
        if moves <= MAX_MOVES - 2:
            broken.append(f"{t}: waits for the contactor after {moves} moves in the hour")
            break
    return broken


def quarter_sensor_like_the_meter(trace: Trace) -> list[str]:
    """The quarter-hour average import reads what the meter counts.

    Judged on quarters without gaps (test_interplay.py judges a gap), from a meter that reports every 2 s at most:
    one that reports every 10 s cannot show what the house did between its readings.
    """
    broken = []
    gaps = _gap_seconds(trace)
    meters = _meters(trace)
    for begin, average in trace.meter_quarters.items():
        if begin < trace.plan.start_s or begin + QUARTER_S > trace.plan.end_s or meters(begin).interval_s > 2:
            continue
        if any(t in gaps for t in range(begin, begin + QUARTER_S)):
            continue
        i = trace.index(begin)
        true = sum(max(grid, 0.0) for grid in trace.grid_w[i : i + QUARTER_S]) / QUARTER_S
        if abs(average - true) > 0.02 * true + 30:
            broken.append(f"{begin}: the quarter reads {average:.0f} W, the meter counts {true:.0f} W")
    return broken


PROMISES: dict[str, Callable[[Trace], list[str]]] = {
    "no start without surplus": no_start_without_surplus,
    "at most 6 moves in any hour": contactor_budget,
    "every quarter within the peak limit + 2%": quarters_within_the_limit,
    "the cars give way to the house within seconds": cars_give_way,
    "never raised on a stale reading": never_raised_on_a_stale_reading,
    "whole amperes, one write per 5 s": writes_in_whole_amperes_and_spaced,
    "Manual untouched, Off paused": manual_and_off,
    "Solar + minimum pauses only for the peak": solar_minimum_pauses_only_for_the_peak,
    "Solar pauses after its stop delay": solar_stops_after_the_stop_delay,
    "a missing reading holds, then falls back": missing_reading_holds_then_falls_back,
    "the reason says when the contactor waits": budget_reason_when_spent,
    "the quarter sensor reads like the meter": quarter_sensor_like_the_meter,
}


def broken_promises(trace: Trace) -> dict[str, list[str]]:
    """Return every promise that broke, with how."""
    return {name: found for name, check in PROMISES.items() if (found := check(trace))}
