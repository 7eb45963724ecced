"""The whole home behind one grid connection: the household (panels, house load) and the chargers' cars, metered.

One model: the grid meter counts what the house draws and what the simulated chargers' cars really draw, less what
the panels make, so a limit written to a charger shows in the meter's figures as in a house. A home may have several
chargers (a two-car family, a small business): one household and one meter for all of them. Time is the charger
model's clock (a ManualClock in tests); the meter's wall-clock time and the sun's time of day both run from it:
`wall_start` is the wall-clock time at the start, and the sun can be placed at any hour (`sun_hour`), so a newcomer
starting at 22:00 still sees a sunny day.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
import math
from zoneinfo import ZoneInfo

from .household import DAY_S, Household
from .meter import GridMeter, MeterReading, tariff_at
from .model import VOLTAGE_WOBBLE_PERIOD_S, VOLTAGE_WOBBLE_V, Charger

BRUSSELS = ZoneInfo("Europe/Brussels")
# The resistance of the service cable per phase: the voltage at the meter sags a little under load, rises on export.
LINE_RESISTANCE_OHM = 0.05
GAS_M3: float = 2345.678  # the gas meter's reading at the start
# Gas the house burns, in m³/h: a pilot and hot water all day, heating and showers in the morning and evening.
GAS_BASE_M3_PER_H = 0.05
GAS_PEAKS: tuple[tuple[float, float, float], ...] = ((6.5, 8.0, 1.2), (18.0, 21.0, 0.8))


@dataclass(frozen=True)
class Flows:
    """The power flows of the home at one instant, in W per phase (the panels' over all three)."""

    house_w: tuple[float, float, float]
    cars_w: tuple[float, float, float]
    pv_w: float

    @property
    def net_w(self) -> tuple[float, float, float]:
        """Return what each phase takes from the grid (negative: gives): house + cars - panels (spread evenly)."""
        share = self.pv_w / 3
        l1, l2, l3 = (house + car - share for house, car in zip(self.house_w, self.cars_w, strict=True))
        return l1, l2, l3


def gas_m3_per_h(day_s: float) -> float:
    """Return the gas the house burns at `day_s` seconds into its day."""
    hour = (day_s % DAY_S) / 3600
    return GAS_BASE_M3_PER_H + sum(rate for start, end, rate in GAS_PEAKS if start <= hour < end)


class Home:
    """A household and the simulated chargers behind one Belgian digital meter (and a gas meter if `gas`).

    `wall_start` (aware) is the wall-clock time at the start (now by default); `sun_hour` places the sun: at the start
    it stands as at that hour (of the household's day), whatever the wall clock says (None: the wall clock's hour).
    """

    def __init__(
        self,
        charger: Charger | Sequence[Charger],
        household: Household | None = None,
        *,
        wall_start: datetime | None = None,
        sun_hour: float | None = None,
        gas: bool = False,
        tz: ZoneInfo = BRUSSELS,
    ) -> None:
        """Put `charger` (or several, on one clock) in a home with `household` (default: 8 kWp, passing clouds)."""
        self.chargers = [charger] if isinstance(charger, Charger) else list(charger)
        self.charger = self.chargers[0]  # the first: its steps count the whole home's time
        self.household = household if household is not None else Household()
        self.clock = self.charger.clock
        self.tz = tz
        for each in self.chargers:
            each.sync()  # what it drew before it was in this home is not the meter's
        self._t0 = self.clock.now()
        wall = wall_start if wall_start is not None else datetime.now(tz)
        self._wall_start_ts = wall.timestamp()
        local = wall.astimezone(tz)
        self._sun_start_s = (
            sun_hour * 3600 if sun_hour is not None else local.hour * 3600 + local.minute * 60 + local.second
        )
        self.meter = GridMeter(self._wall_start_ts, tz, gas_m3=GAS_M3 if gas else None)
        # One charger's steps count the time: the others' would count the same seconds again.
        self.charger.step_listeners.append(self._count)

    # --- time ------------------------------------------------------------------------------------------------------

    def wall_ts(self, t: float | None = None) -> float:
        """Return the wall-clock instant (Unix seconds) of clock time `t` (now if None)."""
        return self._wall_start_ts + ((self.clock.now() if t is None else t) - self._t0)

    def wall_time(self) -> datetime:
        """Return the meter's local time now."""
        return self.meter.local(self.wall_ts())

    def sun_seconds(self, t: float | None = None) -> float:
        """Return the household's time of day (seconds since its midnight) at clock time `t` (now if None)."""
        return (self._sun_start_s + (self.clock.now() if t is None else t) - self._t0) % DAY_S

    # --- the flows ---------------------------------------------------------------------------------------------------

    def _house_phases(self, day_s: float) -> tuple[float, float, float]:
        """Return the house load per phase: the base load spread evenly, each appliance on one phase."""
        phases = [self.household.base_load_w / 3] * 3
        for index, appliance in enumerate(self.household.appliances):
            phases[index % 3] += appliance.power_at(day_s)
        return phases[0], phases[1], phases[2]

    @staticmethod
    def _charger_phases(charger: Charger) -> tuple[float, float, float]:
        """Return what `charger`'s ports draw per phase now (in the model's time)."""
        totals = [0.0, 0.0, 0.0]
        for number in charger.ports:
            for phase, power in enumerate(charger.read_port(number).powers_w):
                totals[phase] += power
        return totals[0], totals[1], totals[2]

    def _cars_phases(self) -> tuple[float, float, float]:
        """Return what every charger's ports draw per phase now."""
        l1, l2, l3 = (sum(phase) for phase in zip(*map(self._charger_phases, self.chargers), strict=True))
        return l1, l2, l3

    def _flows_at(self, t: float) -> Flows:
        day_s = self.sun_seconds(t)
        return Flows(self._house_phases(day_s), self._cars_phases(), self.household.pv_w(day_s))

    def flows(self) -> Flows:
        """Return the home's power flows now (the chargers caught up with the clock first)."""
        for charger in self.chargers:
            charger.sync()
        return self._flows_at(self.clock.now())

    def _count(self, start: float, end: float) -> None:
        """Count a stretch of time the charger integrates: its cars drew what its ports report now, over all of it."""
        flows = self._flows_at(start)
        net = flows.net_w
        # Each charger's load-shedding device measures the same connection point (the model adds its own cars').
        for charger in self.chargers:
            own = self._charger_phases(charger)
            volts = charger.nominal_voltages_v
            l1, l2, l3 = (
                round((power - car) / voltage * 1000) for power, car, voltage in zip(net, own, volts, strict=True)
            )
            charger.house_load_ma = (l1, l2, l3)
        self.meter.add(self.wall_ts(start), self.wall_ts(end), net, gas_m3_per_h(self.sun_seconds(start)))

    # --- what the meter shows -------------------------------------------------------------------------------------

    def _voltages(self, t: float, net: tuple[float, float, float]) -> tuple[float, float, float]:
        wobble = VOLTAGE_WOBBLE_V * math.sin(2 * math.pi * (t - self._t0) / VOLTAGE_WOBBLE_PERIOD_S)
        v1, v2, v3 = (
            nominal + wobble - LINE_RESISTANCE_OHM * power / nominal
            for nominal, power in zip(self.charger.nominal_voltages_v, net, strict=True)
        )
        return v1, v2, v3

    def reading(self) -> MeterReading:
        """Return what the meter shows now: its registers, counted up to now, and what it measures."""
        flows = self.flows()
        now = self.clock.now()
        ts = self.wall_ts(now)
        net = flows.net_w
        voltages = self._voltages(now, net)
        i1, i2, i3 = (abs(power) / voltage for power, voltage in zip(net, voltages, strict=True))
        p1, p2, p3 = (max(power, 0.0) for power in net)
        e1, e2, e3 = (max(-power, 0.0) for power in net)
        total = sum(net)
        meter = self.meter
        local = meter.local(ts)
        return MeterReading(
            time=local,
            tariff=tariff_at(local),
            voltages_v=voltages,
            currents_a=(i1, i2, i3),
            import_w=(p1, p2, p3),
            export_w=(e1, e2, e3),
            total_import_w=max(total, 0.0),
            total_export_w=max(-total, 0.0),
            import_wh=dict(meter.import_wh),
            export_wh=dict(meter.export_wh),
            average_demand_w=meter.average_demand_w(ts),
            month_peak=meter.month_peak,
            history=tuple(meter.history),
            gas_5min=meter.gas_5min,
            gas_hourly=meter.gas_hourly,
        )
