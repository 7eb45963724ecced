"""The quarter-hour average of the grid import, as a capacity tariff bills it, and what is left of its budget.

Pure arithmetic on (time, import power) samples: no Home Assistant in here, so a simulated day runs in seconds.
"""

from __future__ import annotations

from typing import Final

QUARTER_S: Final = 900.0
# Samples further apart than this leave the time between them unknown rather than guessed.
MAX_GAP_S: Final = 10.0
# A quarter is only kept as the month's peak when at least half of it was measured.
MIN_KNOWN_S: Final = QUARTER_S / 2


def quarter_start(now: float) -> float:
    """Return the start of the quarter hour `now` (seconds since the epoch) falls in."""
    return now - now % QUARTER_S


class QuarterMeter:
    """Integrates the grid import over each quarter hour.

    Each sample's power holds until the next sample (what a meter read every second or so does). Export counts as
    0: the meter registers import and export apart, and only import makes the peak.
    """

    def __init__(self) -> None:
        """Start with nothing measured."""
        self.start: float | None = None
        self.energy_ws = 0.0
        self.known_s = 0.0
        self._last: tuple[float, float | None] | None = None

    def add(self, now: float, import_w: float | None) -> tuple[float, float] | None:
        """Take the import power at `now` (None: unknown); return (start, average W) of a quarter that just ended."""
        closed: tuple[float, float] | None = None
        if self.start is None or self._last is None:
            self._reset(quarter_start(now))
        else:
            then, power = self._last
            if now - then > MAX_GAP_S:
                power = None  # a gap in the readings: what happened meanwhile is unknown
            end = self.start + QUARTER_S
            if now >= end:
                self._integrate(then, end, power)
                closed = self._closed()
                self._reset(quarter_start(now))
                then = max(then, self.start)
            self._integrate(then, now, power)
        self._last = (now, None if import_w is None else max(import_w, 0.0))
        return closed

    def _integrate(self, start: float, end: float, power: float | None) -> None:
        if power is not None and end > start:
            self.energy_ws += power * (end - start)
            self.known_s += end - start

    def _closed(self) -> tuple[float, float] | None:
        if self.start is None or self.known_s < MIN_KNOWN_S:
            return None
        return self.start, self.energy_ws / self.known_s

    def _reset(self, start: float) -> None:
        self.start = start
        self.energy_ws = 0.0
        self.known_s = 0.0

    @property
    def average_w(self) -> float | None:
        """Return the average import of the quarter so far (None before anything was measured)."""
        return self.energy_ws / self.known_s if self.known_s > 0 else None

    def allowed_import_w(self, now: float, limit_w: float) -> float:
        """Return the import power the rest of the quarter may average so that the whole stays at `limit_w`.

        Time of this quarter without readings (Home Assistant started in its middle, say) counts as spent at the
        limit: neither a gift of headroom nor a debt.
        """
        start = quarter_start(now) if self.start is None else self.start
        elapsed = now - start
        spent = self.energy_ws + max(elapsed - self.known_s, 0.0) * limit_w
        remaining = max(start + QUARTER_S - now, 1.0)
        return (limit_w * QUARTER_S - spent) / remaining
