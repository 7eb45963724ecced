"""The charging mode of each port (smart charging, with EMS control)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .smart.entities import smart_selects

if TYPE_CHECKING:
    from homeassistant.core import HomeAssistant
    from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

    from .coordinator import EnovatesConfigEntry

# A mode change is a decision for the controller, not a request to the charger.
PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: EnovatesConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the charging mode of each port when smart charging runs."""
    async_add_entities(smart_selects(entry))
