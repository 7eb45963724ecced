"""An event entity per port: who changed its EMS limit, and each charging session that ended."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from homeassistant.components.event import EventEntity, EventEntityDescription
from homeassistant.core import callback
from homeassistant.util import dt as dt_util

from .coordinator import EnovatesRealtimeCoordinator
from .ems_limit.record import LimitChange, LimitChangeReport, amps
from .entity import EnovatesEntity
from .polling.realtime_maps import EMS_LIMIT

if TYPE_CHECKING:
    from homeassistant.core import HomeAssistant
    from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

    from .charging.sessions import ChargingSession
    from .runtime_data import EnovatesConfigEntry, EnovatesRuntimeData

PARALLEL_UPDATES = 0

SESSION_ENDED = "session_ended"

EVENTS = EventEntityDescription(
    key="events",
    translation_key="events",
    event_types=[*(change.value for change in LimitChange), SESSION_ENDED],
)


class EnovatesEventEntity(EnovatesEntity[EnovatesRealtimeCoordinator], EventEntity):
    """What happened at a port: EMS limit changes (by Home Assistant, elsewhere, put back) and sessions ended."""

    port: int
    _shown_available = True

    def __init__(self, runtime: EnovatesRuntimeData, port: int) -> None:
        """Report the limit record's and the session tracker's news of `port`."""
        # Follows the limit map: the record sees who changes it while this entity is enabled.
        super().__init__(runtime.realtime, EVENTS, port, frozenset({EMS_LIMIT}))
        self._record = runtime.limit_record
        self._tracker = runtime.sessions.trackers[port]

    async def async_added_to_hass(self) -> None:
        """Listen to the limit record and the session tracker."""
        await super().async_added_to_hass()
        self.async_on_remove(self._record.async_listen(self.port, self._limit_changed))
        self.async_on_remove(self._tracker.on_end(self._session_ended))

    @callback
    def _handle_coordinator_update(self) -> None:
        """Write the state only when the availability changes: the state is the last event, not the data."""
        if self.available != self._shown_available:
            self._shown_available = self.available
            self.async_write_ha_state()

    @callback
    def _limit_changed(self, report: LimitChangeReport) -> None:
        data: dict[str, Any] = {"limit": amps(report.limit_ma), "previous": amps(report.previous_ma)}
        self._trigger_event(report.change.value, data)
        self.async_write_ha_state()

    @callback
    def _session_ended(self, session: ChargingSession) -> None:
        end = session.end or dt_util.utcnow()
        data = {
            "energy": round(session.energy_wh / 1000, 3),  # kWh
            "duration": int(session.duration(end).total_seconds() // 60),  # minutes
            "start": session.start.isoformat(),
            "end": end.isoformat(),
        }
        self._trigger_event(SESSION_ENDED, data)
        self.async_write_ha_state()


async def async_setup_entry(
    hass: HomeAssistant,
    entry: EnovatesConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the event entity of each port."""
    runtime = entry.runtime_data
    async_add_entities(EnovatesEventEntity(runtime, port) for port in runtime.charger.ports)
