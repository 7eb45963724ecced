"""The base of every Enovates entity: device, unique id and naming."""

from __future__ import annotations

from typing import Any

from homeassistant.helpers.device_registry import ChildDeviceInfo, DeviceInfo
from homeassistant.helpers.entity import EntityDescription
from homeassistant.helpers.update_coordinator import CoordinatorEntity

from .const import DOMAIN
from .coordinator import EnovatesCoordinator


class EnovatesEntity[CoordinatorT: EnovatesCoordinator[Any]](CoordinatorEntity[CoordinatorT]):
    """An entity of a charger, or of one of its ports (`port` set).

    On a dual-port charger each port is a child device of the charger; on a single-port one, the port's entities
    belong to the charger itself. Unique ids carry the port either way, so toggling "dual port" keeps them.
    """

    _attr_has_entity_name = True

    def __init__(self, coordinator: CoordinatorT, description: EntityDescription, port: int | None = None) -> None:
        """Describe the entity of `coordinator`'s charger, or of its port `port`."""
        super().__init__(coordinator)
        entry = coordinator.config_entry
        runtime = entry.runtime_data
        serial = entry.unique_id
        self.entity_description = description
        self.port = port
        if port is None:
            self._attr_unique_id = f"{serial}_{description.key}"
        else:
            self._attr_unique_id = f"{serial}_port{port}_{description.key}"
        if port is not None and len(runtime.charger.ports) > 1:
            self._attr_device_info = ChildDeviceInfo(
                identifiers={(DOMAIN, f"{serial}_port{port}")},
                parent_device_id=runtime.device_id,
                translation_key="port",
                translation_placeholders={"port": str(port)},
            )
        else:
            self._attr_device_info = DeviceInfo(identifiers={(DOMAIN, str(serial))})
