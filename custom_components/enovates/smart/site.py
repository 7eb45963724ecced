"""A site: the chargers behind one grid meter, and the one controller that decides for all their ports together.

Two chargers that each ran their own controller on the same grid reading would both see the same surplus and take
it, and both see the same headroom under the peak limit and use it. A site hands every port of every charger on
the meter to one `SmartController`, as if they were the ports of one charger: the surplus and the headroom are
shared once (equal power in a smart mode, the minimum kept for as many cars as fit), with one quarter-hour meter.

The order of precedence (who starts first on the surplus, who gives way last to the peak guard) is the order the
chargers are handed in (the integration: the higher priority first, then the charger added first), and within a
charger port 1 before port 2. A charger whose readings are missing (its connection lost, or it no longer takes
limits) is left out: its car's power is in the grid reading, as any other load of the house, and it is not steered
until it is back.

Pure (no Home Assistant in here): the integration (registry.py) feeds it each second; tests run a day in seconds.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace

from .controller import SmartController
from .model import ChargingMode, Inputs, MeterFigures, PlanWish, PortDecision, PortInput, Settings

type MemberId = str
# What each charger reports this second, in the order of precedence; None: its readings are missing.
type Readings = Mapping[MemberId, Mapping[int, PortInput] | None]
# What each charger's plans (planned charging) want of its ports this second.
type Plans = Mapping[MemberId, Mapping[int, PlanWish]]


@dataclass(frozen=True, kw_only=True, slots=True)
class GridReading:
    """What the site's meter reports: as in `Inputs`."""

    now: float
    grid_w: float | None
    grid_at: float | None = None
    battery_w: float = 0.0
    peak_limit_w: float | None = None
    meter: MeterFigures | None = None  # the meter's own quarter figures, where it reports them


@dataclass
class Site:
    """One controller for the ports of every charger behind one grid meter."""

    controller: SmartController = field(default_factory=SmartController)
    # Each port's key in the controller, for good: a charger that leaves and comes back (a reload) finds its
    # ports' history (their contactor's moves, Solar's timers, the last write) as it left them.
    _keys: dict[tuple[MemberId, int], int] = field(default_factory=dict)
    _last_key: int = 0

    @property
    def settings(self) -> Settings:
        """Return the settings the site's controller decides with (the delays and the hysteresis are the site's)."""
        return self.controller.settings

    @settings.setter
    def settings(self, settings: Settings) -> None:
        self.controller.settings = settings

    def key(self, member: MemberId, port: int) -> int:
        """Return the controller's key of `member`'s `port` (a new one for a port not seen before)."""
        if (key := self._keys.get((member, port))) is None:
            self._last_key += 1
            key = self._keys[member, port] = self._last_key
        return key

    def step(
        self, reading: GridReading, readings: Readings, plans: Callable[[], Plans] | None = None
    ) -> tuple[dict[MemberId, dict[int, PortDecision]], tuple[float, float] | None]:
        """Decide for every port of the chargers whose readings are in; also return a quarter that just ended.

        The decisions are per charger and port; a charger without readings gets none (it keeps what it had).
        Nothing is decided while every port is Manual (the limits are the users'): the chargers get no decision,
        the contactors and the quarter are still followed, and `plans` (what the chargers' plans want of their
        ports) is not asked for.
        """
        ports: dict[int, PortInput] = {}
        owners: dict[int, tuple[MemberId, int]] = {}
        for member, member_ports in readings.items():
            if member_ports is None:
                continue
            for port in sorted(member_ports):
                key = self.key(member, port)
                # The rank: the charger's place, then the port's (a port seen first ranks first).
                ports[key] = replace(member_ports[port], rank=len(ports))
                owners[key] = (member, port)
        if not ports:
            # No charger to follow: the quarter goes on with the meter alone.
            closed = self.controller.quarter.add(
                reading.now, reading.grid_w, reading_at=reading.grid_at, meter=reading.meter
            )
            return {}, closed
        inputs = Inputs(
            now=reading.now,
            grid_w=reading.grid_w,
            grid_at=reading.grid_at,
            battery_w=reading.battery_w,
            peak_limit_w=reading.peak_limit_w,
            meter=reading.meter,
            ports=ports,
        )
        decisions: dict[MemberId, dict[int, PortDecision]] = {
            member: {} for member, member_ports in readings.items() if member_ports is not None
        }
        if all(port.mode is ChargingMode.MANUAL for port in ports.values()):
            return decisions, self.controller.observe(inputs)
        if plans is not None:
            wanted = plans()
            wishes = {
                key: wish
                for key, (member, port) in owners.items()
                if (wish := wanted.get(member, {}).get(port)) is not None
            }
            inputs = replace(inputs, plans=wishes)
        by_key, closed = self.controller.step(inputs)
        for key, decision in by_key.items():
            member, port = owners[key]
            decisions[member][port] = decision
        return decisions, closed
