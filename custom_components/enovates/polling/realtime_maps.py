"""The register maps of the 1 s tier: their names, how each is read, in which order, and how long a reading holds.

On a slow link a poll cannot read every map every second: power, energy and current offered come first, the others
give way but are never older than GIVE_WAY_MAX_AGE_S, and a map that stops answering gives way on every port and is
asked less often, so that the others stay fresh. While no car is plugged in at any port, only what tells a car
arriving is read every second. The realtime coordinator applies these rules; entities name the maps in their
listener contexts.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
import math
from typing import Any, Final

from enovates_modbus.eno_one import CurrentOffered, LockState, Measurements, Mode3Details, Mode3State, State

from ..modbus.charger import EnovatesCharger
from ..modbus.link import Priority
from ..modbus.timing import OUTAGE_AFTER_S

# The maps, as entities name them in their listener contexts.
STATE: Final = "state"
MEASUREMENTS: Final = "measurements"
EMS_LIMIT: Final = "ems_limit"
CURRENT_OFFERED: Final = "current_offered"
# Port 1's measurements for the installation currents: charger-wide values that change with the house's load, car or
# not, so read every second even while no car is plugged in.
INSTALLATION: Final = "installation"


async def _read_current_offered(charger: EnovatesCharger, port: int) -> int:
    return (await charger.read(CurrentOffered, port, priority=Priority.REALTIME)).active_current_offered


# How the 1 s tier reads each of its maps. Power, energy and current offered matter most: they come first in every
# poll. The others (state, EMS limit) give way on a slow link.
READERS: Final[dict[str, Callable[[EnovatesCharger, int], Awaitable[Any]]]] = {
    MEASUREMENTS: lambda charger, port: charger.read(Measurements, port, priority=Priority.REALTIME),
    CURRENT_OFFERED: _read_current_offered,
    STATE: lambda charger, port: charger.read(State, port, priority=Priority.REALTIME),
    EMS_LIMIT: lambda charger, port: charger.read_ems_limit(port, priority=Priority.REALTIME),
}
FIRST_MAPS: Final = (MEASUREMENTS, CURRENT_OFFERED)
GIVE_WAY_MAPS: Final = (STATE, EMS_LIMIT)
# A map that gives way is still read in a poll while the poll would end within this much of its second...
GIVE_WAY_BUDGET_S: Final = 0.8
# ... and at least once in this long, one map a poll, however slow the link.
GIVE_WAY_MAX_AGE_S: Final = 5.0
# A map that goes unanswered twice in a row while the charger answers the others is asked again only this much later,
# so that the other maps stay fresh.
SILENT_MAP_RETRY_S: Final = 5.0

# While no car is plugged in at any port (idle), the state map (the cable lock and the contactor tell a car arriving)
# is read every second; the EMS limit often enough that a limit set elsewhere shows within 5 s; measurements and
# current offered, which stay put without a car (no power, no energy, 0 A offered), as seldom as this.
IDLE_FIRST_MAPS: Final = (STATE,)
IDLE_EVERY_S: Final[dict[str, float]] = {EMS_LIMIT: 4.0, MEASUREMENTS: 30.0, CURRENT_OFFERED: 30.0}


def no_car(state: State | None, mode3: Mode3Details | None) -> bool:
    """Whether a port surely has no car: Mode 3 state A, the contactor open and the cable not locked in."""
    if state is None or mode3 is None:
        return False
    return (
        mode3.state_num in (Mode3State.A1, Mode3State.A2)
        and not state.contactor_state
        and state.lock_state is not LockState.LOCKED
    )


def car_arriving(state: State | None) -> bool:
    """Whether a port's state map shows a car: the contactor closed or the cable locked in."""
    return state is not None and (state.contactor_state or state.lock_state is LockState.LOCKED)


@dataclass
class MapReading:
    """The last reading of one register map of one port, and how its recent requests went."""

    value: Any = None  # None: never read, or the charger refused it
    read_at: float = -math.inf  # loop time of the last answer (value or refusal)
    unanswered: int = 0  # requests in a row that got no answer (or that gave way with another port's)
    retry_at: float = -math.inf
    asked_at: float = -math.inf  # loop time of the last request, answered or not

    @property
    def quiet(self) -> bool:
        """Whether the map went unanswered the last time: it gives way to the maps that answer."""
        return self.unanswered > 0

    def available(self, now: float) -> bool:
        """Whether the map's value may be shown: it was read, and has not gone unanswered for the outage bound."""
        return self.value is not None and (self.unanswered == 0 or now - self.read_at < OUTAGE_AFTER_S)

    def went_unanswered(self, now: float) -> None:
        """Count a request without an answer; after the second in a row, ask again only SILENT_MAP_RETRY_S later."""
        self.unanswered += 1
        if self.unanswered > 1:
            self.retry_at = now + SILENT_MAP_RETRY_S

    def answered(self, value: Any, now: float) -> None:
        """Keep a value (None: refused) the charger gave at `now`."""
        self.value, self.read_at, self.unanswered = value, now, 0

    def heard_again(self) -> None:
        """Ask again as usual: the map went unanswered because the whole charger did."""
        self.unanswered, self.retry_at = 0, -math.inf

    def forget(self) -> None:
        """Drop the value (the charger was unreachable), keeping what its requests taught: whether it answers."""
        self.value, self.read_at = None, -math.inf
