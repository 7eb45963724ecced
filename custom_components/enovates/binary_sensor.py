"""Binary sensors of an Enovates charger: OCPP, load shedding, contactor and whether an EMS limit applies."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from homeassistant.components.binary_sensor import (
    BinarySensorDeviceClass,
    BinarySensorEntity,
    BinarySensorEntityDescription,
)
from homeassistant.const import EntityCategory

from .const import NO_EMS_LIMIT
from .coordinator import EnovatesRealtimeCoordinator, RealtimeData
from .entity import EnovatesEntity

if TYPE_CHECKING:
    from homeassistant.core import HomeAssistant
    from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

    from .coordinator import EnovatesConfigEntry

# Coordinators poll; entities only read what they hold.
PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class EnovatesBinarySensorDescription(BinarySensorEntityDescription):
    """A binary sensor of a port, from its realtime data; None when its map could not be read."""

    value_fn: Callable[[RealtimeData], bool | None]


def _ems_limit_active(data: RealtimeData) -> bool | None:
    if data.ems_limit_ma is None or data.ems_limit_ma < NO_EMS_LIMIT:
        return None
    return data.ems_limit_ma != NO_EMS_LIMIT


BINARY_SENSORS: tuple[EnovatesBinarySensorDescription, ...] = (
    EnovatesBinarySensorDescription(
        key="contactor",
        translation_key="contactor",
        device_class=BinarySensorDeviceClass.POWER,
        value_fn=lambda data: None if data.state is None else data.state.contactor_state,
    ),
    EnovatesBinarySensorDescription(
        key="ems_limit_active",
        translation_key="ems_limit_active",
        value_fn=_ems_limit_active,
    ),
    EnovatesBinarySensorDescription(
        # On when the OCPP connection is accepted, and also when no OCPP back office is configured.
        key="ocpp",
        translation_key="ocpp",
        device_class=BinarySensorDeviceClass.CONNECTIVITY,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda data: None if data.state is None else data.state.ocpp_state,
    ),
    EnovatesBinarySensorDescription(
        # Whether a load-shedding device (installation monitor) is fitted, not whether it sheds right now.
        key="load_shedding",
        translation_key="load_shedding",
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda data: None if data.state is None else data.state.load_shedding_state,
    ),
)


class EnovatesBinarySensor(EnovatesEntity[EnovatesRealtimeCoordinator], BinarySensorEntity):
    """A binary sensor of one port."""

    entity_description: EnovatesBinarySensorDescription
    port: int

    def _value(self) -> bool | None:
        return self.entity_description.value_fn(self.coordinator.data[self.port])

    @property
    def available(self) -> bool:
        """Return whether the coordinator is up and the value was read."""
        return super().available and self._value() is not None

    @property
    def is_on(self) -> bool | None:
        """Return the value."""
        return self._value()


async def async_setup_entry(
    hass: HomeAssistant,
    entry: EnovatesConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the binary sensors of each port."""
    realtime = entry.runtime_data.realtime
    async_add_entities(
        EnovatesBinarySensor(realtime, description, port)
        for port in entry.runtime_data.charger.ports
        for description in BINARY_SENSORS
    )
