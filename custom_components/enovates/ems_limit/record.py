"""Who set each port's EMS limit: Home Assistant, another controller, or the put-back after the charger was away.

The record follows what the charger holds (the 1 s tier) and what Home Assistant writes (through `EnovatesLimits`,
the one write path). A limit that changed without Home Assistant writing it was set elsewhere (another energy
manager, the installer, the back office, or a reboot that forgot it): Home Assistant respects it and no longer
wants its own. After the charger was unreachable (a reboot, a power cut), a limit that differs from the one Home
Assistant last set and still wants is put back, once, and logged; whether the charger keeps its limit across a
reboot is not known. The event entities show what the record reports.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
import enum
import math
from typing import TYPE_CHECKING, Any, Final, Protocol

from homeassistant.core import CALLBACK_TYPE, callback

from ..const import LOGGER, NO_EMS_LIMIT
from ..polling.realtime_maps import EMS_LIMIT

if TYPE_CHECKING:
    from homeassistant.config_entries import ConfigEntry

    from ..coordinator import EnovatesRealtimeCoordinator


class LimitChange(enum.StrEnum):
    """Who changed the EMS limit of a port (the event types of the event entity)."""

    SET_BY_HOME_ASSISTANT = "ems_limit_set_by_home_assistant"
    SET_ELSEWHERE = "ems_limit_set_elsewhere"
    RESTORED = "ems_limit_restored"


@dataclass(frozen=True, kw_only=True)
class LimitChangeReport:
    """One change of a port's EMS limit (mA, -1 no limit); `previous` as last seen (None: unknown)."""

    change: LimitChange
    limit_ma: int
    previous_ma: int | None


class LimitKeeper(Protocol):
    """What keeps the limits Home Assistant set (the timed limits, with EMS control), told what the record finds."""

    def put_back(self, port: int, limit_ma: int) -> Coroutine[Any, Any, Exception | None]:
        """Write `limit_ma` back to `port` after the charger lost it; return why it failed (None: done)."""

    def forget_pending(self, port: int) -> None:
        """Drop a restore pending for `port`: its limit was set elsewhere since."""

    def wanted_changed(self) -> None:
        """Keep the limits Home Assistant wants across restarts: they changed."""


# After the charger was away, a limit that turns to "no limit" within this long is what it came back with (the 1 s
# tier reads the limit at least every 5 s, also on a slow link), not another controller's doing.
BACK_CHECK_S: Final = 30.0
# A put-back the charger did not take (its connection not yet steady after the reboot) is tried again this often.
PUT_BACK_ATTEMPTS: Final = 3
PUT_BACK_RETRY_S: Final = 5.0


def amps(limit_ma: int | None) -> float | None:
    """Return a limit in A for people to read; no limit (or unknown) is None."""
    return None if limit_ma is None or limit_ma == NO_EMS_LIMIT else limit_ma / 1000


class LimitRecord:
    """The EMS limit of each port as last seen, the one Home Assistant wants, and who changed it."""

    def __init__(self, entry: ConfigEntry, coordinator: EnovatesRealtimeCoordinator) -> None:
        """Follow the limits of `coordinator`'s charger."""
        self._entry = entry
        self._coordinator = coordinator
        self.wanted: dict[int, int] = {}  # what Home Assistant last set and still wants, per port
        self._seen: dict[int, int] = {}
        self._expected: dict[int, tuple[int, LimitChange]] = {}
        self._away = False
        self._connect_failures = coordinator.charger.link.connect_failures
        self._back_until = -math.inf  # loop time until which the charger counts as just back
        self._listeners: dict[int, list[Callable[[LimitChangeReport], None]]] = {}
        self._keeper: LimitKeeper | None = None  # with EMS control: the one that writes, and keeps what is wanted

    @callback
    def async_start(self, keeper: LimitKeeper | None) -> CALLBACK_TYPE:
        """Start following the charger; return the stopper.

        With a `keeper` (EMS control) the limit map is read every second whatever entities are enabled, for the
        put-back; without one the record sees the limit while an entity shows it (the sensor, the event entity).
        """
        self._keeper = keeper
        ports = self._coordinator.charger.ports
        context = frozenset((port, EMS_LIMIT) for port in ports) if keeper is not None else None
        remove = self._coordinator.async_add_listener(self._update, context)
        self._update()  # the limits read at setup are the first seen
        return remove

    @callback
    def async_listen(self, port: int, listener: Callable[[LimitChangeReport], None]) -> CALLBACK_TYPE:
        """Call `listener` with each change of `port`'s limit; return the remover."""
        listeners = self._listeners.setdefault(port, [])
        listeners.append(listener)
        return lambda: listeners.remove(listener)

    def expect(self, port: int, limit_ma: int, change: LimitChange = LimitChange.SET_BY_HOME_ASSISTANT) -> None:
        """Say that Home Assistant is writing `limit_ma` to `port`: seen applied, it is reported as `change`."""
        self._expected[port] = (limit_ma, change)

    def done(self, port: int) -> None:
        """Forget what was expected of `port`: the write is over (applied or not)."""
        self._expected.pop(port, None)

    @callback
    def _update(self) -> None:
        # Away: unreachable long enough to show, or refusing connections for a moment (a quick reboot). A connection
        # that dropped and came straight back (an idle timeout, another client taking its turn) does not count.
        connect_failures = self._coordinator.charger.link.connect_failures
        if not self._coordinator.last_update_success or connect_failures != self._connect_failures:
            self._connect_failures = connect_failures
            self._away = True
        if not self._coordinator.last_update_success:
            return
        now = self._coordinator.hass.loop.time()
        if self._away:
            self._away = False
            self._back_until = now + BACK_CHECK_S
        for port, data in self._coordinator.data.items():
            if data.ems_limit_ma is not None:
                # The values shown may be from before the charger went away for a few seconds more: a limit that
                # changes in the first seconds back is what the charger came back with.
                self._observe(port, data.ems_limit_ma, back=now <= self._back_until)

    def _observe(self, port: int, limit_ma: int, *, back: bool) -> None:
        previous = self._seen.get(port)
        self._seen[port] = limit_ma
        expected = self._expected.get(port)
        if expected is not None and expected[0] == limit_ma:
            del self._expected[port]
            self.wanted[port] = limit_ma
            self._wanted_changed()
            self._report(port, LimitChangeReport(change=expected[1], limit_ma=limit_ma, previous_ma=previous))
            return
        wanted = self.wanted.get(port)
        # A reboot that forgets the limit leaves "no limit"; any other new limit was set by someone.
        lost = back and limit_ma == NO_EMS_LIMIT != previous
        if lost and wanted is not None and limit_ma != wanted and self._keeper is not None:
            self._put_back(self._keeper, port, limit_ma, wanted, "after the charger was unreachable")
            return
        if previous is not None and limit_ma != previous:
            # Not Home Assistant's doing: respected, and no longer Home Assistant's to put back or to undo.
            LOGGER.debug("The EMS limit of %s port %s was set elsewhere: %s mA", self._entry.title, port, limit_ma)
            if self.wanted.pop(port, None) is not None:
                self._wanted_changed()
            if self._keeper is not None:
                self._keeper.forget_pending(port)
            self._report(
                port, LimitChangeReport(change=LimitChange.SET_ELSEWHERE, limit_ma=limit_ma, previous_ma=previous)
            )

    def restore_wanted(self, wanted: dict[int, int]) -> None:
        """Take back what Home Assistant wanted before it restarted.

        Whether the charger was away meanwhile is not known: a port that reads "no limit" where Home Assistant
        wanted one lost it in a reboot, the likeliest (a power cut takes both down), and gets it back; another limit
        was set elsewhere, and is respected.
        """
        for port, limit_ma in wanted.items():
            seen = self._seen.get(port)
            if seen is None or seen == limit_ma:
                self.wanted[port] = limit_ma
            elif seen == NO_EMS_LIMIT and self._keeper is not None:
                self.wanted[port] = limit_ma
                self._put_back(self._keeper, port, seen, limit_ma, "when Home Assistant started")
        if wanted:
            self._wanted_changed()

    def _wanted_changed(self) -> None:
        if self._keeper is not None:
            self._keeper.wanted_changed()

    def _put_back(self, keeper: LimitKeeper, port: int, found_ma: int, wanted_ma: int, when: str) -> None:
        LOGGER.warning(
            "The EMS limit of %s port %s was %s mA %s; putting back %s mA, as Home Assistant set it",
            self._entry.title,
            port,
            found_ma,
            when,
            wanted_ma,
        )
        self._entry.async_create_background_task(
            self._coordinator.hass,
            self._put_back_until_taken(keeper, port, wanted_ma),
            f"enovates put back the limit of port {port}",
        )

    async def _put_back_until_taken(self, keeper: LimitKeeper, port: int, wanted_ma: int) -> None:
        attempt = 1
        while (error := await keeper.put_back(port, wanted_ma)) is not None:
            if attempt == PUT_BACK_ATTEMPTS:
                LOGGER.warning("Could not put back the EMS limit of %s port %s: %s", self._entry.title, port, error)
                return
            LOGGER.debug("Putting back the EMS limit of port %s failed, trying again: %s", port, error)
            await asyncio.sleep(PUT_BACK_RETRY_S)
            if self.wanted.get(port) != wanted_ma or self._seen.get(port) == wanted_ma:
                return  # no longer wanted (someone set another limit), or there already
            attempt += 1

    def _report(self, port: int, report: LimitChangeReport) -> None:
        for listener in list(self._listeners.get(port, ())):
            listener(report)
