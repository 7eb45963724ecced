"""A day of smart charging, second by second: the pure controller, the simulator's charger and car, a household.

The car is the simulator's model (it draws what it is offered, from the next second on); the controller sees the
charger as a poll does and the grid meter one second late, as a meter read over the network is. No Home
Assistant and no Modbus: a whole day takes a few seconds. `scripts/solar-day` prints the figures and draws the
README's picture from it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from custom_components.enovates.smart.controller import (
    ChargingMode,
    Inputs,
    PortInput,
    Reason,
    Settings,
    SmartController,
)
from enovates_simulator import Car, Charger, ManualClock
from enovates_simulator.household import Household
from enovates_simulator.model import PortReading

# The day's date does not matter; quarters are counted from midnight UTC.
MIDNIGHT = 1_780_000_000 - 1_780_000_000 % 86400


@dataclass
class DayResult:
    """What happened, per second: the powers, and the figures that judge it."""

    pv_w: list[float] = field(default_factory=list)
    house_w: list[float] = field(default_factory=list)
    car_w: list[float] = field(default_factory=list)
    grid_w: list[float] = field(default_factory=list)
    reasons: list[Reason] = field(default_factory=list)
    writes: int = 0
    switches_per_hour: dict[int, int] = field(default_factory=dict)
    quarters_w: dict[float, float] = field(default_factory=dict)  # quarter start -> average import
    start_s: float = 0.0  # the second of the day the run started at

    @property
    def car_energy_wh(self) -> float:
        """Return what the cars took."""
        return sum(self.car_w) / 3600

    @property
    def solar_share(self) -> float:
        """Return the share of the cars' energy that came from surplus (what the house did not use)."""
        from_surplus = sum(
            min(car, max(pv - house, 0.0)) for car, pv, house in zip(self.car_w, self.pv_w, self.house_w, strict=True)
        )
        return from_surplus / sum(self.car_w) if any(self.car_w) else 0.0

    def quarters_running_free_w(self) -> list[float]:
        """Return the quarters' averages but for those in which the contactor's budget held a start back."""
        return [
            average
            for start, average in self.quarters_w.items()
            if Reason.CONTACTOR_BUDGET not in self.reasons[int(start - self.start_s) : int(start - self.start_s) + 900]
        ]

    @property
    def worst_switches_per_hour(self) -> int:
        """Return the most contactor moves (opening or closing) in any clock hour."""
        return max(self.switches_per_hour.values(), default=0)


def run_day(
    household: Household,
    *,
    mode: ChargingMode = ChargingMode.SOLAR,
    settings: Settings | None = None,
    plugged: tuple[float, float] = (8 * 3600, 19 * 3600),
    energy_wanted_wh: float = 200_000.0,
    peak_limit_w: float | None = None,
    start_s: float = 0.0,
    end_s: float = 86400.0,
    house_w: Callable[[float], float] | None = None,
    meter_interval_s: int = 1,
    car_lag_s: int = 0,
) -> DayResult:
    """Run a car (16 A, three phases) in `mode` from `start_s` to `end_s`; it is plugged in during `plugged`.

    The grid meter reports every `meter_interval_s`; the car follows a new limit `car_lag_s` later.
    """
    clock = ManualClock()
    charger = Charger(clock=clock)
    port = charger.port(1)
    controller = SmartController(settings or Settings())
    house = house_w or household.house_w
    result = DayResult(start_s=start_s)
    meter_w = 0.0  # what the grid meter showed a second ago
    shown_w = 0.0  # what it reports: a new reading every `meter_interval_s` (a P1 meter: 1 s or 10 s)
    shown_at = 0.0  # when that reading was taken
    closed_before = False
    readings: list[
        PortReading
    ] = []  # the charger's last readings: a car that takes `car_lag_s` to follow its limit draws the oldest
    t = start_s
    while t < end_s:
        if plugged[0] <= t < plugged[1] and port.car is None:
            port.plug_in(Car(max_current_a=16, energy_wanted_wh=energy_wanted_wh))
        elif not plugged[0] <= t < plugged[1] and port.car is not None:
            port.unplug()
        clock.advance(1)
        charger.sync()
        readings = [*readings[-car_lag_s:], charger.read_port(1)] if car_lag_s else [charger.read_port(1)]
        reading = readings[0]
        car_w = float(sum(reading.powers_w))
        pv = household.pv_w(t)
        home = house(t)
        limit_ma = port.ems_limit_ma
        decisions, closed = controller.step(
            Inputs(
                now=MIDNIGHT + t,
                grid_w=shown_w,
                grid_at=MIDNIGHT + shown_at,
                peak_limit_w=peak_limit_w,
                ports={
                    1: PortInput(
                        mode=mode,
                        plugged=port.car is not None,
                        power_w=car_w,
                        currents_a=tuple(current / 1000 for current in reading.currents_ma),
                        voltage_v=sum(reading.voltages_v) / 3,
                        charger_phases=charger.phases,
                        max_current_a=charger.max_amp_per_phase,
                        limit_a=charger.max_amp_per_phase if limit_ma < 0 else limit_ma // 1000,
                        contactor_closed=reading.contactor_closed,
                    )
                },
            )
        )
        if closed is not None:
            result.quarters_w[closed[0] - MIDNIGHT] = closed[1]
        if (write := decisions[1].write_a) is not None:
            charger.set_ems_limit(1, write * 1000)
            result.writes += 1
        if reading.contactor_closed != closed_before:
            hour = int(t // 3600)
            result.switches_per_hour[hour] = result.switches_per_hour.get(hour, 0) + 1
            closed_before = reading.contactor_closed
        meter_w = home + car_w - pv
        if int(t) % meter_interval_s == 0:
            # taken with the car's power of this second: the limit written now shows from the next reading
            shown_w, shown_at = meter_w, t
        result.pv_w.append(pv)
        result.house_w.append(home)
        result.car_w.append(car_w)
        result.grid_w.append(meter_w)
        result.reasons.append(decisions[1].reason)
        t += 1
    return result


# The scenarios of the issue, shared by the tests and scripts/solar-day.
SUNNY_DAY = (6 * 3600, 21 * 3600)  # the car is plugged in from 8:00 to 19:00
PEAK_LIMIT_W = 5000.0
EVENING = (18 * 3600, 22 * 3600)


def sunny_day_with_clouds(mode: ChargingMode = ChargingMode.SOLAR) -> DayResult:
    """Return a day of the default household (8 kWp under passing clouds) in `mode`."""
    return run_day(Household(), mode=mode, start_s=SUNNY_DAY[0], end_s=SUNNY_DAY[1])


def jumping_house_w(t: float) -> float:
    """Return a house load of 400 W, and every 20 minutes a 3.5 kW load (an oven, a heat pump) for 7 minutes."""
    return 400.0 + (3500.0 if t % 1200 < 420 else 0.0)


def peak_guarded_evening(*, meter_interval_s: int = 1, car_lag_s: int = 0) -> DayResult:
    """Return an evening without sun: a car in Fast mode under a 5 kW peak limit while the house load jumps."""
    return run_day(
        Household(pv_peak_w=0.0),
        mode=ChargingMode.FAST,
        peak_limit_w=PEAK_LIMIT_W,
        plugged=(EVENING[0], 24 * 3600),
        start_s=EVENING[0],
        end_s=EVENING[1],
        house_w=jumping_house_w,
        meter_interval_s=meter_interval_s,
        car_lag_s=car_lag_s,
    )
