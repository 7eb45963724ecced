"""A day at a site of several chargers on one grid meter, second by second: the pure site, the simulator's chargers.

As simulated_day.py for one charger: the cars are the simulator's (each draws what it is offered, from the next
second on); the site sees the chargers as a poll does and the meter one second late. `independent=True` runs one
controller per charger on the same meter instead, as before the site: what the site is there to prevent.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from custom_components.enovates.smart.controller import (
    ChargingMode,
    PortDecision,
    PortInput,
    Reason,
    Settings,
    SmartController,
)
from custom_components.enovates.smart.site import GridReading, Site
from enovates_simulator import Car, Charger, ManualClock
from enovates_simulator.household import Household

MIDNIGHT = 1_780_000_000 - 1_780_000_000 % 86400
HOUR_S = 3600

type PortId = tuple[str, int]


@dataclass
class SiteDay:
    """What happened, per second, and the figures that judge it."""

    pv_w: list[float] = field(default_factory=list)
    house_w: list[float] = field(default_factory=list)
    cars_w: dict[PortId, list[float]] = field(default_factory=dict)
    grid_w: list[float] = field(default_factory=list)
    reasons: dict[PortId, list[Reason]] = field(default_factory=dict)
    moves: dict[PortId, list[int]] = field(default_factory=dict)  # when each port's contactor moved
    quarters_w: dict[float, float] = field(default_factory=dict)  # quarter start -> average import (the truth)

    @property
    def car_w(self) -> list[float]:
        """Return what all the cars drew, each second."""
        return [sum(second) for second in zip(*self.cars_w.values(), strict=True)]

    def energy_wh(self, port: PortId) -> float:
        """Return what the car on `port` took."""
        return sum(self.cars_w[port]) / 3600

    @property
    def cars_import_wh(self) -> float:
        """Return what the cars took from the grid: their power beyond what the house left over."""
        return (
            sum(
                max(car - max(pv - house, 0.0), 0.0)
                for car, pv, house in zip(self.car_w, self.pv_w, self.house_w, strict=True)
            )
            / 3600
        )

    def import_on_surplus_wh(self) -> float:
        """Return what the cars took from the grid in the seconds every charging car was on surplus alone.

        Each one's limit then rests on its share of the surplus: two controllers taking the same surplus twice
        import it; one for the site imports next to nothing (the meter's second of delay, a cloud's first second).
        """
        total = 0.0
        for second, (car, pv, house) in enumerate(zip(self.car_w, self.pv_w, self.house_w, strict=True)):
            charging = [port for port, power in self.cars_w.items() if power[second] > 0]
            if charging and all(self.reasons[port][second] is Reason.SURPLUS for port in charging):
                total += max(car - max(pv - house, 0.0), 0.0)
        return total / 3600

    @property
    def solar_share(self) -> float:
        """Return the share of the cars' energy that came from surplus."""
        cars = self.car_w
        from_surplus = sum(
            min(car, max(pv - house, 0.0)) for car, pv, house in zip(cars, self.pv_w, self.house_w, strict=True)
        )
        return from_surplus / sum(cars)

    def surplus_used(self, minimum_w: float) -> float:
        """Return the share of the surplus the cars took, of the surplus they could use.

        The surplus could be used while it covered a car's minimum (`minimum_w`), up to what the cars take at most.
        """
        usable = 0.0
        used = 0.0
        for car, pv, house in zip(self.car_w, self.pv_w, self.house_w, strict=True):
            surplus = max(pv - house, 0.0)
            if surplus >= minimum_w:
                usable += surplus
                used += min(car, surplus)
        return used / usable

    def worst_moves_per_hour(self, port: PortId) -> int:
        """Return the most moves of `port`'s contactor in any hour."""
        times = self.moves[port]
        return max((sum(1 for other in times if t <= other < t + HOUR_S) for t in times), default=0)


@dataclass(frozen=True)
class Station:
    """A charger of the site: its name, whether dual-port, and the mode and car of each port."""

    name: str
    dual_port: bool = False
    mode: ChargingMode = ChargingMode.SOLAR
    car_max_a: float = 16.0
    car_phases: int = 3


def _port_input(charger: Charger, number: int, mode: ChargingMode) -> PortInput:
    reading = charger.read_port(number)
    limit_ma = charger.port(number).ems_limit_ma
    return PortInput(
        mode=mode,
        plugged=charger.port(number).car is not None,
        power_w=float(sum(reading.powers_w)),
        currents_a=tuple(current / 1000 for current in reading.currents_ma),
        voltage_v=sum(reading.voltages_v) / 3,
        charger_phases=charger.phases,
        max_current_a=charger.max_amp_per_phase,
        limit_a=charger.max_amp_per_phase if limit_ma < 0 else limit_ma // 1000,
        contactor_closed=reading.contactor_closed,
    )


def _plug_in(stations: Sequence[Station], clock: ManualClock) -> dict[str, Charger]:
    """Return the chargers, a car plugged in on every port (paused overnight by Solar, in a Solar mode)."""
    chargers = {station.name: Charger(clock=clock, dual_port=station.dual_port) for station in stations}
    for station in stations:
        for port in chargers[station.name].ports.values():
            port.plug_in(Car(max_current_a=station.car_max_a, phases=station.car_phases, energy_wanted_wh=500_000.0))
            if station.mode in (ChargingMode.SOLAR, ChargingMode.SOLAR_MINIMUM):
                port.ems_limit_ma = 0
    return chargers


def _record(day: SiteDay, t: int, readings: dict[str, dict[int, PortInput]], closed: dict[PortId, bool]) -> float:
    """Keep what each car drew and when its contactor moved; return what the cars drew together."""
    cars = 0.0
    for (name, number), power in day.cars_w.items():
        car = readings[name][number]
        cars += car.power_w
        power.append(car.power_w)
        if car.contactor_closed != closed[name, number]:
            day.moves[name, number].append(t)
            closed[name, number] = car.contactor_closed
    return cars


def run_site_day(
    household: Household,
    stations: Sequence[Station],
    *,
    start_s: int,
    end_s: int,
    settings: Settings | None = None,
    peak_limit_w: float | None = None,
    house_w: Callable[[float], float] | None = None,
    independent: bool = False,
) -> SiteDay:
    """Run the cars of `stations` (plugged in all along, wanting plenty) from `start_s` to `end_s` (a quarter's start).

    The meter reports every second, the second after (as simulated_day.py's).
    """
    clock = ManualClock()
    chargers = _plug_in(stations, clock)
    modes = {station.name: station.mode for station in stations}
    site = Site(SmartController(settings or Settings()))
    alone = {station.name: Site(SmartController(settings or Settings())) for station in stations}
    house = house_w or household.house_w
    day = SiteDay()
    for name, charger in chargers.items():
        for number in charger.ports:
            day.cars_w[name, number], day.reasons[name, number], day.moves[name, number] = [], [], []
    closed = dict.fromkeys(day.cars_w, False)
    shown_w = 0.0
    quarter_ws = 0.0
    for t in range(start_s, end_s):
        clock.advance(1)
        for charger in chargers.values():
            charger.sync()
        readings = {
            name: {number: _port_input(charger, number, modes[name]) for number in charger.ports}
            for name, charger in chargers.items()
        }
        reading = GridReading(now=MIDNIGHT + t, grid_w=shown_w, grid_at=MIDNIGHT + t - 1, peak_limit_w=peak_limit_w)
        decisions: dict[str, dict[int, PortDecision]] = {}
        if independent:
            for name, mine in readings.items():
                decisions.update(alone[name].step(reading, {name: mine})[0])
        else:
            decisions = site.step(reading, readings)[0]
        for name, charger in chargers.items():
            for number, decision in decisions[name].items():
                if decision.write_a is not None:
                    charger.set_ems_limit(number, decision.write_a * 1000)
                day.reasons[name, number].append(decision.reason)
        pv, home = household.pv_w(t), house(t)
        shown_w = home + _record(day, t, readings, closed) - pv
        # The quarters as the meter bills them, from the truth.
        quarter_ws += max(shown_w, 0.0)
        if (t + 1) % 900 == 0:
            day.quarters_w[float(t + 1 - 900)], quarter_ws = quarter_ws / 900, 0.0
        day.pv_w.append(pv)
        day.house_w.append(home)
        day.grid_w.append(shown_w)
    return day
