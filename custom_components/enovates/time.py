"""Planned charging's ready-by time of each port (smart charging with a price sensor)."""

from __future__ import annotations

from contextlib import suppress
from datetime import time
from typing import TYPE_CHECKING

from homeassistant.components.time import TimeEntity, TimeEntityDescription
from homeassistant.helpers.restore_state import RestoreEntity

from .entity import SmartEntity
from .smart.const import DEFAULT_READY_BY

if TYPE_CHECKING:
    from homeassistant.core import HomeAssistant
    from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

    from .coordinator import EnovatesRealtimeCoordinator
    from .runtime_data import EnovatesConfigEntry
    from .smart import SmartCharging

# A new time is a new plan, not a request to the charger.
PARALLEL_UPDATES = 0

READY_BY = TimeEntityDescription(key="ready_by", translation_key="ready_by")


class ReadyByTime(SmartEntity, TimeEntity, RestoreEntity):
    """When the car on the port should be ready (a time of day: past today means tomorrow); kept on restart."""

    port: int

    def __init__(self, coordinator: EnovatesRealtimeCoordinator, smart: SmartCharging, port: int) -> None:
        """Set the ready-by time of `port`'s plan."""
        super().__init__(coordinator, smart, READY_BY, port)

    async def async_added_to_hass(self) -> None:
        """Take back the time from before the restart."""
        await super().async_added_to_hass()
        if (last := await self.async_get_last_state()) is not None:
            # unknown or unavailable when Home Assistant stopped: the default
            with suppress(ValueError):
                self._smart.set_ready_by(self.port, time.fromisoformat(last.state))

    @property
    def native_value(self) -> time:
        """Return the ready-by time."""
        return self._smart.ready_by.get(self.port, DEFAULT_READY_BY)

    async def async_set_value(self, value: time) -> None:
        """Plan for `value` from now on."""
        self._smart.set_ready_by(self.port, value)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: EnovatesConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add each port's ready-by time when smart charging has a price sensor."""
    runtime = entry.runtime_data
    smart = runtime.smart
    if smart is None or smart.price_feed is None:
        return
    async_add_entities(ReadyByTime(runtime.realtime, smart, port) for port in runtime.charger.ports)
