"""The quarter-hour average of the grid import, as a capacity tariff bills it, and what is left of its budget.

Pure arithmetic on the grid readings and the cars' power, second by second: no Home Assistant in here, so a
simulated week runs in seconds.
"""

from __future__ import annotations

from typing import Final

QUARTER_S: Final = 900.0
# Samples further apart than this leave the time between them unknown (Home Assistant was busy or down).
MAX_GAP_S: Final = 10.0
# Without a grid reading, the house's import is taken as it was at the last one for this long (then unknown).
ESTIMATE_S: Final = 300.0
# A quarter is only kept as the month's peak when at least half of it was measured (or estimated, as above).
MIN_KNOWN_S: Final = QUARTER_S / 2


def quarter_start(now: float) -> float:
    """Return the start of the quarter hour `now` (seconds since the epoch) falls in."""
    return now - now % QUARTER_S


class QuarterMeter:
    """Integrates the grid import over each quarter hour, as the meter's own register would count it.

    The meter reports now and then (every second, every 10 s); the charger is read every second. So the import at
    each second is the rest of the house as the last reading showed it (the reading less what the cars drew when it
    came) plus what the cars draw now: a car that moves between two readings counts from that second on, and a
    reading that does not come is estimated the same way, for ESTIMATE_S. Export counts as 0: the meter registers
    import and export apart, and only import makes the peak.
    """

    def __init__(self) -> None:
        """Start with nothing measured."""
        self.start: float | None = None
        self.energy_ws = 0.0
        self.known_s = 0.0
        self._last: tuple[float, float | None] | None = None  # the last sample: its time and the import from then
        self._rest_w: float | None = None  # the import without the cars, at the last reading
        self._reading_at: float | None = None  # when that reading was reported
        self._seen_at = 0.0  # when it came
        self._cars_w = 0.0

    def add(
        self, now: float, grid_w: float | None, *, cars_w: float | None = None, reading_at: float | None = None
    ) -> tuple[float, float] | None:
        """Take the grid power at `now` and return (start, average W) of a quarter that just ended.

        `grid_w` is None without a reading; `cars_w` what the cars draw (None: not known now, as before); and
        `reading_at` when the reading was reported (None: just now; the same as before: no new reading).
        """
        cars = self._cars_w if cars_w is None else cars_w
        self._cars_w = cars
        if grid_w is not None and (reading_at is None or reading_at != self._reading_at or self._rest_w is None):
            self._rest_w, self._reading_at, self._seen_at = grid_w - cars, reading_at, now
        import_w = None
        if self._rest_w is not None and (grid_w is not None or now - self._seen_at <= ESTIMATE_S):
            import_w = max(self._rest_w + cars, 0.0)
        closed: tuple[float, float] | None = None
        if self.start is None or self._last is None:
            self._reset(quarter_start(now))
        else:
            then, power = self._last
            if now - then > MAX_GAP_S:
                power = None  # a gap in the samples: what happened meanwhile is unknown
            end = self.start + QUARTER_S
            if now >= end:
                self._integrate(then, end, power)
                closed = self._closed()
                self._reset(quarter_start(now))
                then = max(then, self.start)
            self._integrate(then, now, power)
        self._last = (now, import_w)
        return closed

    def _integrate(self, start: float, end: float, power: float | None) -> None:
        if power is not None and end > start:
            self.energy_ws += power * (end - start)
            self.known_s += end - start

    def _measured(self) -> tuple[float, float]:
        """Return the energy (Ws) of the quarter so far and how long of it is known (s): what the figures rest on."""
        return self.energy_ws, self.known_s

    def _closed(self) -> tuple[float, float] | None:
        energy_ws, known_s = self._measured()
        if self.start is None or known_s < MIN_KNOWN_S:
            return None
        return self.start, energy_ws / known_s

    def _reset(self, start: float) -> None:
        self.start = start
        self.energy_ws = 0.0
        self.known_s = 0.0

    @property
    def average_w(self) -> float | None:
        """Return the average import of the quarter so far (None before anything was measured)."""
        energy_ws, known_s = self._measured()
        return energy_ws / known_s if known_s > 0 else None

    def remaining_s(self, now: float) -> float:
        """Return how long the quarter `now` falls in has to go."""
        return QUARTER_S - now % QUARTER_S

    def allowed_import_w(self, now: float, limit_w: float) -> float:
        """Return the import power the rest of the quarter may average so that the whole stays at `limit_w`.

        The time with readings, and without them as estimated (see the class), counts as measured. Time of this
        quarter that is unknown (Home Assistant started in its middle, say, or a reading missing for long) counts as
        spent at the limit: neither a gift of headroom nor a debt.
        """
        start = quarter_start(now) if self.start is None else self.start
        elapsed = now - start
        energy_ws, known_s = self._measured()
        spent = energy_ws + max(elapsed - known_s, 0.0) * limit_w
        remaining = max(start + QUARTER_S - now, 1.0)
        return (limit_w * QUARTER_S - spent) / remaining
