"""The rules of smart charging, one port at a time: each proposes a limit and says why; the controller decides.

- the mode's own wish: Off, Fast, no car, the Solar modes' minimum or pause (`mode_wish`);
- Solar's start and stop delays (`SolarTimer`), on what the sharing of the surplus tells each port (sharing.py);
- a missing grid reading: hold, then the safe side of each mode (`without_grid`, `guard_without_grid`);
- the peak guard's patience (`GuardLatch`): a car is paused only when a second reading confirms the first.

Pure (no Home Assistant in here). The controller (controller.py) weighs the proposals, and alone decides whether a
start may happen and what is written.
"""

from __future__ import annotations

from typing import Final, NamedTuple

from .model import MIN_CURRENT_A, SOLAR_PAUSING, ChargingMode, PortInput, Reason

# The peak guard gives a paused car its current back only when the headroom covers this much more than the car's
# minimum: the car then starts with room to come down an ampere before it must pause again.
GUARD_RESUME_MARGIN_A: Final = 0.3
# The guard aims this much under the limit (10 W under 5 kW): the meter counts a car's power continuously, the guard
# from readings a second apart, and over a quarter the two differ by a few watts; the tariff goes by the meter's.
GUARD_AIM: Final = 0.998
# Nor does it start a paused car for less than this at the end of a quarter when the next one has no room for it
# (the house alone leaves less than the car needs): a few minutes of charging is not worth two contactor moves.
GUARD_MIN_RUN_S: Final = 300.0


class Proposal(NamedTuple):
    """A limit a rule wants for a port, and why (a tuple: the controller weighs several a second)."""

    target_a: int
    reason: Reason
    raw_a: float | None = None  # the unrounded target, for the raise margin


def mode_wish(port: PortInput, maximum_a: int, *, running: bool) -> Proposal:
    """Return what the port's mode wants before the grid is looked at (`running`: Solar charges the car now)."""
    mode = port.mode
    if mode is ChargingMode.OFF:
        return Proposal(0, Reason.OFF)
    if mode is ChargingMode.FAST:
        return Proposal(maximum_a, Reason.FAST)
    if not port.plugged:
        # Ready for the next car: Solar waits for the surplus, Solar + minimum starts at the minimum.
        return Proposal(MIN_CURRENT_A if mode is ChargingMode.SOLAR_MINIMUM else 0, Reason.NO_CAR)
    if mode is ChargingMode.PLANNED:
        # The plan decides (the controller takes its wish, plan_rule.py); without one, nothing is due.
        return Proposal(0, Reason.PLAN_WAITING)
    # Solar modes: the surplus decides (sharing.py); until then, the minimum or a pause.
    if mode is ChargingMode.SOLAR_MINIMUM or running:
        return Proposal(MIN_CURRENT_A, Reason.MINIMUM)
    return Proposal(0, Reason.NO_SURPLUS)


class SolarTimer:
    """Solar's state for one port: whether it charges the car, and since when a start or stop condition holds.

    Whether it charges follows what happened to the car, not what Solar last decided: a pause by anyone (the peak
    guard, a missing reading, the car unplugged) ends it, so every start, a resume after the guard too, goes through
    the start delay and the surplus check.
    """

    __slots__ = ("running", "since")

    def __init__(self) -> None:
        """Start paused, no condition holding."""
        self.running = False
        self.since: float | None = None

    def picked(self, *, charging: bool) -> None:
        """Solar was picked: a car charging goes on (until the surplus is found short); one paused waits."""
        self.running, self.since = charging, None

    def follow(self, *, offered: bool) -> None:
        """Take what the charger does: without a current offered (a pause, whoever made it), Solar no longer runs."""
        if self.running and not offered:
            self.running, self.since = False, None

    def started(self) -> None:
        """Take note that a start Solar wanted was written."""
        self.running, self.since = True, None

    def due(self, now: float, *, holds: bool, delay_s: float) -> bool:
        """Return whether the start (or stop) condition held for `delay_s`; `holds`: it holds now."""
        if not holds:
            self.since = None
            return False
        self.since = now if self.since is None else self.since
        return now - self.since >= delay_s


def without_grid(mode: ChargingMode, held_a: int, *, lost: bool) -> Proposal:
    """Return what a port in a Solar mode does without a grid reading: never more than `held_a`, in force now.

    It holds until the reading has been missing too long (`lost`); then Solar (and Solar + plan, whose plan comes on
    top) pauses and Solar + minimum goes to the minimum, if it was above.
    """
    if not lost:
        return Proposal(held_a, Reason.GRID_MISSING)
    return Proposal(0 if mode in SOLAR_PAUSING else min(held_a, MIN_CURRENT_A), Reason.GRID_MISSING)


def guard_without_grid(held_a: int, *, lost: bool) -> Proposal:
    """Return the peak guard's ceiling without a grid reading: no budget, so no raise; the minimum once lost."""
    return Proposal(min(held_a, MIN_CURRENT_A) if lost else held_a, Reason.GRID_MISSING)


class GuardLatch:
    """The peak guard's patience with one charging port: a pause needs a second reading that confirms the first.

    A pause moves the contactor and a resume moves it again: one reading taken just before the house's load dropped
    must not cost two moves. Until a later reading confirms the shortage, the car holds its minimum (a few seconds
    over the budget, which the rest of the quarter makes up).
    """

    __slots__ = ("short_at",)

    def __init__(self) -> None:
        """Start with no shortage seen."""
        self.short_at: float | None = None

    def confirmed(self, reading_at: float) -> bool:
        """Return whether the reading of `reading_at` confirms a shortage first seen on an earlier one."""
        if self.short_at is None:
            self.short_at = reading_at
        return reading_at > self.short_at

    def clear(self) -> None:
        """Forget the shortage: the headroom covers the port again."""
        self.short_at = None
