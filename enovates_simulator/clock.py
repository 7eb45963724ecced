"""Clocks the charger model runs on: the real one, or one that tests move by hand."""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    """A source of monotonic time in seconds."""

    def now(self) -> float:
        """Return the current time in seconds."""
        ...


class MonotonicClock:
    """Wall-clock time, for the CLI and the development instance."""

    def now(self) -> float:
        """Return the monotonic time of this process."""
        return time.monotonic()


class ManualClock:
    """Time that only moves when a test says so: charging an hour takes no time at all."""

    def __init__(self, start: float = 0.0) -> None:
        """Start the clock at `start` seconds."""
        self._now = start

    def now(self) -> float:
        """Return the time the clock was last moved to."""
        return self._now

    def advance(self, seconds: float) -> None:
        """Move time forward."""
        if seconds < 0:
            raise ValueError("time only moves forward")
        self._now += seconds
