"""The EMS limits of a charger's ports, set for good or for a while (the previous limit comes back in time)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, Any, Final

from homeassistant.core import CALLBACK_TYPE, HassJob, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.event import async_track_point_in_utc_time
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util

from ..const import DOMAIN, LOGGER
from .record import LimitChange
from .write import async_set_ems_limit

if TYPE_CHECKING:
    from homeassistant.config_entries import ConfigEntry

    from ..coordinator import EnovatesRealtimeCoordinator
    from .record import LimitRecord

STORAGE_VERSION: Final = 1
# A previous limit that could not be put back (the charger was unreachable) is tried again this much later.
RETRY_DELAY: Final = timedelta(minutes=1)


def storage_key(entry_id: str) -> str:
    """Return the storage key of an entry's pending restores."""
    return f"{DOMAIN}.{entry_id}.limits"


@dataclass(frozen=True, kw_only=True)
class PendingRestore:
    """A limit to put back on a port at a given time."""

    at: datetime
    limit_ma: int


class EnovatesLimits:
    """Sets the EMS limits of one charger's ports; a limit set for a while is undone in time, across restarts.

    Any limit set for good (the number, the charging-allowed switch, the action without a duration) cancels a
    pending restore of that port: the newest wish wins.
    """

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ConfigEntry,
        coordinator: EnovatesRealtimeCoordinator,
        record: LimitRecord,
    ) -> None:
        """Set the limits of `coordinator`'s charger, telling `record` what Home Assistant writes."""
        self._hass = hass
        self._entry = entry
        self._coordinator = coordinator
        self._record = record
        self._store: Store[dict[str, Any]] = Store(hass, STORAGE_VERSION, storage_key(entry.entry_id))
        self.pending: dict[int, PendingRestore] = {}
        self._timers: dict[int, CALLBACK_TYPE] = {}

    async def async_load(self) -> None:
        """Take back the restores pending before Home Assistant restarted; those overdue run now."""
        stored = await self._store.async_load() or {}
        for port_key, pending in stored.get("pending", {}).items():
            port = int(port_key)
            at = dt_util.parse_datetime(pending["at"])
            if port in self._coordinator.charger.ports and at is not None:
                self._schedule(port, PendingRestore(at=at, limit_ma=pending["limit_ma"]))
        ports = self._coordinator.charger.ports
        wanted = {int(port): int(limit) for port, limit in stored.get("wanted", {}).items() if int(port) in ports}
        self._record.restore_wanted(wanted)

    @callback
    def async_shutdown(self) -> None:
        """Stop the timers (the pending restores stay stored for the next start)."""
        for cancel in self._timers.values():
            cancel()
        self._timers.clear()

    async def _write(self, port: int, limit_ma: int, change: LimitChange = LimitChange.SET_BY_HOME_ASSISTANT) -> None:
        self._record.expect(port, limit_ma, change)
        try:
            await async_set_ems_limit(self._coordinator, port, limit_ma)
        finally:
            self._record.done(port)

    async def put_back(self, port: int, limit_ma: int) -> HomeAssistantError | None:
        """Put back the limit Home Assistant set, after the charger came back without it; return why it failed."""
        try:
            await self._write(port, limit_ma, LimitChange.RESTORED)
        except HomeAssistantError as err:
            return err
        return None

    async def async_set(self, port: int, limit_ma: int) -> None:
        """Set the limit of `port` for good."""
        self._cancel(port)
        await self._write(port, limit_ma)

    async def async_set_for(self, port: int, limit_ma: int, duration: timedelta, in_force_ma: int) -> None:
        """Set the limit of `port` for `duration`, then put back `in_force_ma`, the limit in force before.

        Set for a while again before the time is up, the limit that comes back is still the one from before.
        """
        pending = self.pending.get(port)
        previous = pending.limit_ma if pending is not None else in_force_ma
        await self._write(port, limit_ma)
        self._schedule(port, PendingRestore(at=dt_util.utcnow() + duration, limit_ma=previous))

    @callback
    def forget_pending(self, port: int) -> None:
        """Drop the restore pending for `port` (its limit was set elsewhere since)."""
        self._cancel(port)

    @callback
    def wanted_changed(self) -> None:
        """Store the limits Home Assistant wants, for the put-back after a restart."""
        self._save()

    @callback
    def _cancel(self, port: int) -> None:
        if (cancel := self._timers.pop(port, None)) is not None:
            cancel()
        if self.pending.pop(port, None) is not None:
            self._save()

    @callback
    def _schedule(self, port: int, pending: PendingRestore) -> None:
        if (cancel := self._timers.pop(port, None)) is not None:
            cancel()
        self.pending[port] = pending
        job = HassJob(partial(self._restore, port), f"{DOMAIN} restore the limit of port {port}")
        self._timers[port] = async_track_point_in_utc_time(self._hass, job, pending.at)
        self._save()

    async def _restore(self, port: int, _now: datetime) -> None:
        self._timers.pop(port, None)
        pending = self.pending[port]
        try:
            await self._write(port, pending.limit_ma)
        except HomeAssistantError as err:
            LOGGER.warning(
                "Could not put back the EMS limit of %s port %s, trying again in %s: %s",
                self._entry.title,
                port,
                RETRY_DELAY,
                err,
            )
            self._schedule(port, PendingRestore(at=dt_util.utcnow() + RETRY_DELAY, limit_ma=pending.limit_ma))
            return
        self._cancel(port)

    @callback
    def _save(self) -> None:
        self._store.async_delay_save(
            lambda: {
                "pending": {
                    str(port): {"at": pending.at.isoformat(), "limit_ma": pending.limit_ma}
                    for port, pending in self.pending.items()
                },
                # What Home Assistant set and still wants: put back if the charger lost it (see LimitRecord).
                "wanted": {str(port): limit_ma for port, limit_ma in self._record.wanted.items()},
            },
            delay=0,
        )
