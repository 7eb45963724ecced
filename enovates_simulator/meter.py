"""The digital grid meter at the home's connection point: what it counts, as a Belgian (or Dutch) meter counts it.

Energy registers per tariff (import and export), the quarter-hour demand of a Belgian meter (the running average of
the current quarter, 1-0:1.4.0, and the month's highest quarter, 1-0:1.6.0, with the months before in 0-0:98.1.0),
and the gas meter's captured readings. Time here is wall-clock time (seconds since the Unix epoch, as floats): quarter
hours start on the clock, months and tariffs follow the meter's local time. What the meter measures at an instant
(voltages, currents, power per phase) comes from the home; the meter only adds it up.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
import enum
import math
from zoneinfo import ZoneInfo

QUARTER_S = 900
# The gas meter's reading reaches the P1 port once every 5 minutes (DSMR 5), once an hour (DSMR 4).
GAS_CAPTURE_S = 300
HOUR_S = 3600
# The meter keeps the peaks of the 13 months before the current one.
HISTORY_MONTHS = 13
# Weekdays from 7:00 to 22:00 are the normal (day) tariff, the rest is low (night and weekend).
NORMAL_TARIFF_HOURS = range(7, 22)
SATURDAY = 5


class Tariff(enum.StrEnum):
    """The meter's two tariffs: normal (day) and low (night and weekend)."""

    NORMAL = "normal"
    LOW = "low"


def tariff_at(local: datetime) -> Tariff:
    """Return the tariff in force at `local` (the meter's local time)."""
    return Tariff.NORMAL if local.weekday() < SATURDAY and local.hour in NORMAL_TARIFF_HOURS else Tariff.LOW


@dataclass(frozen=True)
class Demand:
    """A quarter-hour average import and when the meter recorded it."""

    time: datetime
    average_w: float


@dataclass(frozen=True)
class MonthPeak:
    """A past month's peak: the month is stamped with its end (the first instant of the next), as the meter does."""

    month_end: datetime
    peak: Demand


@dataclass(frozen=True)
class Capture:
    """A gas reading and the instant it was captured."""

    time: datetime
    m3: float


@dataclass(frozen=True)
class MeterReading:
    """Everything a telegram tells at one instant: the meter's registers and what it measures now."""

    time: datetime
    tariff: Tariff
    voltages_v: tuple[float, float, float]
    currents_a: tuple[float, float, float]
    import_w: tuple[float, float, float]
    export_w: tuple[float, float, float]
    total_import_w: float
    total_export_w: float
    import_wh: dict[Tariff, float]
    export_wh: dict[Tariff, float]
    average_demand_w: float
    month_peak: Demand
    history: tuple[MonthPeak, ...]
    gas_5min: Capture | None
    gas_hourly: Capture | None


def _default_import() -> dict[Tariff, float]:
    return {Tariff.NORMAL: 4_210_000.0, Tariff.LOW: 3_120_000.0}


def _default_export() -> dict[Tariff, float]:
    return {Tariff.NORMAL: 2_890_000.0, Tariff.LOW: 410_000.0}


@dataclass
class GridMeter:
    """The registers of the meter, counted from `start_ts` (a wall-clock instant) on.

    Import and export are of the three phases together, as Belgian and Dutch meters count: a phase exporting while
    another imports nets out. The quarter the meter starts in counts nothing before the start, as for a meter put in
    mid-quarter: the seconds a simulator runs before its charger is steered never make the month's peak by themselves.
    """

    start_ts: float
    tz: ZoneInfo
    import_wh: dict[Tariff, float] = field(default_factory=_default_import)
    export_wh: dict[Tariff, float] = field(default_factory=_default_export)
    gas_m3: float | None = None
    month_peak: Demand = field(init=False)
    history: list[MonthPeak] = field(init=False, default_factory=list)
    gas_5min: Capture | None = field(init=False, default=None)
    gas_hourly: Capture | None = field(init=False, default=None)
    _ts: float = field(init=False)
    _quarter_start: float = field(init=False)
    _quarter_import_wh: float = field(init=False, default=0.0)
    _month: datetime = field(init=False)

    def __post_init__(self) -> None:
        """Start counting: the quarter and the month the meter starts in, no peak yet."""
        self._ts = self.start_ts
        self._quarter_start = math.floor(self.start_ts / QUARTER_S) * QUARTER_S
        self._month = self._month_start(self.local(self.start_ts))
        self.month_peak = Demand(self._month, 0.0)
        if self.gas_m3 is not None:
            self.gas_5min = Capture(self.local(math.floor(self.start_ts / GAS_CAPTURE_S) * GAS_CAPTURE_S), self.gas_m3)
            self.gas_hourly = Capture(self.local(math.floor(self.start_ts / HOUR_S) * HOUR_S), self.gas_m3)

    def local(self, ts: float) -> datetime:
        """Return the meter's local time at wall-clock instant `ts`."""
        return datetime.fromtimestamp(ts, UTC).astimezone(self.tz)

    def _month_start(self, local: datetime) -> datetime:
        return local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)

    @property
    def counted_until(self) -> float:
        """Return the wall-clock instant the registers are counted up to."""
        return self._ts

    def add(self, start_ts: float, end_ts: float, phases_w: tuple[float, float, float], gas_m3_per_h: float) -> None:
        """Count power `phases_w` per phase (import positive) drawn from `start_ts` to `end_ts` (the next stretch)."""
        t = start_ts
        while t < end_ts:
            # Captures and quarter hours fall on multiples of 5 minutes: stop at each, exactly.
            boundary = (math.floor(t / GAS_CAPTURE_S) + 1) * GAS_CAPTURE_S
            stop = min(end_ts, boundary)
            self._count(t, stop, sum(phases_w), gas_m3_per_h)
            if stop == boundary:
                self._at_boundary(boundary)
            t = stop
        self._ts = max(self._ts, end_ts)

    def _count(self, start_ts: float, end_ts: float, total_w: float, gas_m3_per_h: float) -> None:
        hours = (end_ts - start_ts) / 3600
        tariff = tariff_at(self.local(start_ts))
        imported = max(total_w, 0.0) * hours
        self.import_wh[tariff] += imported
        self.export_wh[tariff] += max(-total_w, 0.0) * hours
        self._quarter_import_wh += imported
        if self.gas_m3 is not None:
            self.gas_m3 += gas_m3_per_h * hours

    def _at_boundary(self, ts: float) -> None:
        local = self.local(ts)
        if self.gas_m3 is not None:
            self.gas_5min = Capture(local, self.gas_m3)
            if ts % HOUR_S == 0:
                self.gas_hourly = Capture(local, self.gas_m3)
        if ts % QUARTER_S != 0:
            return
        # The quarter that ends now counts in the month it lasted in (the last one of a month ends at midnight on
        # the 1st of the next), before that next month starts.
        average = self.average_demand_w(ts)
        if average > self.month_peak.average_w:
            self.month_peak = Demand(local, average)
        self._quarter_start = ts
        self._quarter_import_wh = 0.0
        if (month := self._month_start(local)) != self._month:
            self.history.insert(0, MonthPeak(month, self.month_peak))
            del self.history[HISTORY_MONTHS:]
            self._month = month
            self.month_peak = Demand(month, 0.0)

    def average_demand_w(self, ts: float) -> float:
        """Return the running average import of the current quarter at `ts`: its energy over the time it lasted."""
        elapsed = ts - self._quarter_start
        return self._quarter_import_wh * 3600 / elapsed if elapsed > 0 else 0.0
