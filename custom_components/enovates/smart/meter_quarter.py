"""The quarter hour by the meter's own count, where the grid meter reports it: a Belgian meter's running average.

A Belgian digital meter reports the average import of the quarter so far (OBIS 1-0:1.4.0), the very figure the
capacity tariff bills. Where Home Assistant has it (found by meter_entities.py), the quarter's energy up to the
meter's last report is the meter's (its average times the time since the quarter started), and only the seconds since
are counted our own way (QuarterMeter's): the quarter-hour sensor and the peak guard's budget agree with the meter,
whatever our own count would miss (the quarter before Home Assistant started, a gap, the house between two readings).

A figure is taken when it is seen within TAKE_WITHIN_S of its report (its moment then joins our count), and not in the
first or last EDGE_S of a quarter by Home Assistant's clock: the meter's clock and Home Assistant's may be seconds
apart, and a figure reported at a boundary may belong to the quarter next to it (a meter a little ahead reports a new
quarter's small average while Home Assistant is still in the old one: the old quarter would look almost unspent).
Without a new figure the quarter goes on from the last one taken, counted our own way; without any this quarter, our
own count throughout.

Pure (no Home Assistant in here).
"""

from __future__ import annotations

from dataclasses import dataclass
import enum
from typing import Final

from .model import MeterFigures
from .quarter import QUARTER_S, QuarterMeter, quarter_start

# The meter's clock and Home Assistant's may be this far apart: a figure reported this close to a quarter's start or
# end is not taken (the quarter goes on from the figure before, or on our own count).
EDGE_S: Final = 10.0
# A figure first seen later than this after its report (Home Assistant was busy) is not taken: the time between its
# report and now would be neither the meter's nor ours.
TAKE_WITHIN_S: Final = 5.0
# The quarter counts as the meter's while its figures are reported at least this often (the grid reading's own
# staleness bound; DSMR's default of an update every 30 s fits).
LATE_S: Final = 60.0


class QuarterSource(enum.StrEnum):
    """Whose count of the quarter the sensors and the peak guard go by."""

    METER = "meter"  # the meter's own running average (its seconds since the last report counted our way)
    OWN = "own"  # integrated here from the grid readings and the charger's power


@dataclass(frozen=True, slots=True)
class _Anchor:
    """The meter's figure taken, and our own count when it was taken."""

    at: float  # when the meter reported it
    meter_ws: float  # the quarter's energy up to then, by the meter
    meter_s: float  # and the time it covers (from the quarter's start)
    own_ws: float  # our own count's energy and known time when it was taken
    own_s: float


class MeteredQuarter(QuarterMeter):
    """The quarter-hour meter that goes by the grid meter's own running average when it reports one."""

    def __init__(self) -> None:
        """Start with nothing measured, on our own count."""
        super().__init__()
        self.source = QuarterSource.OWN
        self._anchor: _Anchor | None = None

    def add(
        self,
        now: float,
        grid_w: float | None,
        *,
        cars_w: float | None = None,
        reading_at: float | None = None,
        meter: MeterFigures | None = None,
    ) -> tuple[float, float] | None:
        """Take the grid power and the meter's figures at `now`; return (start, average W) of a quarter that ended.

        `meter` holds the meter's own figures (None, or None in it: it reports none, or not lately).
        """
        closed = super().add(now, grid_w, cars_w=cars_w, reading_at=reading_at)
        average, at = (None, None) if meter is None else (meter.average_w, meter.average_at)
        if average is None or at is None or average < 0 or now - at > LATE_S:
            self.source = QuarterSource.OWN
            return closed
        self.source = QuarterSource.METER
        start = quarter_start(now)
        newer = self._anchor is None or at > self._anchor.at
        if newer and now - at <= TAKE_WITHIN_S and start + EDGE_S <= at <= start + QUARTER_S - EDGE_S:
            self._anchor = _Anchor(at, average * (at - start), at - start, self.energy_ws, self.known_s)
        return closed

    def _measured(self) -> tuple[float, float]:
        """Return the meter's energy up to its figure taken, and ours since (our own count without one)."""
        anchor = self._anchor
        if anchor is None:
            return super()._measured()
        return anchor.meter_ws + self.energy_ws - anchor.own_ws, anchor.meter_s + self.known_s - anchor.own_s

    def _reset(self, start: float) -> None:
        """Start a quarter: the meter's figure of the one before no longer counts."""
        super()._reset(start)
        self._anchor = None
