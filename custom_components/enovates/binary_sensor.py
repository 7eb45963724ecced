"""Binary sensors of an Enovates charger: OCPP, load shedding, contactor and whether an EMS limit applies."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from enovates_modbus.eno_one import Mode3Details, State
from homeassistant.components.binary_sensor import (
    BinarySensorDeviceClass,
    BinarySensorEntity,
    BinarySensorEntityDescription,
)
from homeassistant.const import EntityCategory

from .charging.status import car_connected, charging
from .const import NO_EMS_LIMIT
from .coordinator import RealtimeData, port_data, port_state
from .entity import EnovatesMapEntity
from .polling.realtime_maps import EMS_LIMIT, MEASUREMENTS, STATE

if TYPE_CHECKING:
    from homeassistant.core import HomeAssistant
    from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

    from .runtime_data import EnovatesConfigEntry

# Coordinators poll; entities only read what they hold.
PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class EnovatesBinarySensorDescription[SourceT](BinarySensorEntityDescription):
    """A binary sensor of a port, from one register map (`SourceT`)."""

    value_fn: Callable[[SourceT], bool | None]


def ems_limit_active(data: RealtimeData) -> bool | None:
    """Return whether an EMS limit applies; None for a value that is no limit at all (below -1)."""
    if data.ems_limit_ma is None or data.ems_limit_ma < NO_EMS_LIMIT:
        return None
    return data.ems_limit_ma != NO_EMS_LIMIT


STATE_BINARY_SENSORS: tuple[EnovatesBinarySensorDescription[State], ...] = (
    EnovatesBinarySensorDescription[State](
        key="contactor",
        translation_key="contactor",
        device_class=BinarySensorDeviceClass.POWER,
        value_fn=lambda state: state.contactor_state,
    ),
    EnovatesBinarySensorDescription[State](
        # On when the OCPP connection is accepted, and also when no OCPP back office is configured.
        key="ocpp",
        translation_key="ocpp",
        device_class=BinarySensorDeviceClass.CONNECTIVITY,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda state: state.ocpp_state,
    ),
    EnovatesBinarySensorDescription[State](
        # Whether a load-shedding device (installation monitor) is fitted, not whether it sheds right now.
        key="load_shedding",
        translation_key="load_shedding",
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda state: state.load_shedding_state,
    ),
)

CHARGING = EnovatesBinarySensorDescription[RealtimeData](
    key="charging",
    device_class=BinarySensorDeviceClass.BATTERY_CHARGING,
    value_fn=charging,
)

CAR_CONNECTED = EnovatesBinarySensorDescription[Mode3Details](
    key="car_connected",
    translation_key="car_connected",
    device_class=BinarySensorDeviceClass.PLUG,
    value_fn=car_connected,
)

EMS_LIMIT_ACTIVE = EnovatesBinarySensorDescription[RealtimeData](
    key="ems_limit_active",
    translation_key="ems_limit_active",
    value_fn=ems_limit_active,
)


class EnovatesBinarySensor[DataT, SourceT](EnovatesMapEntity[DataT, SourceT], BinarySensorEntity):
    """A binary sensor of one port."""

    entity_description: EnovatesBinarySensorDescription[SourceT]

    @property
    def is_on(self) -> bool | None:
        """Return the value."""
        source = self.source
        return None if source is None else self.entity_description.value_fn(source)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: EnovatesConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the binary sensors of each port."""
    realtime, mode3 = entry.runtime_data.realtime, entry.runtime_data.mode3
    entities: list[EnovatesBinarySensor[Any, Any]] = []
    for port in entry.runtime_data.charger.ports:
        entities.extend(
            EnovatesBinarySensor(realtime, description, port_state(port), port, frozenset({STATE}))
            for description in STATE_BINARY_SENSORS
        )
        entities.append(EnovatesBinarySensor(realtime, EMS_LIMIT_ACTIVE, port_data(port), port, frozenset({EMS_LIMIT})))
        entities.append(
            EnovatesBinarySensor(realtime, CHARGING, port_data(port), port, frozenset({STATE, MEASUREMENTS}))
        )
        entities.append(
            EnovatesBinarySensor[dict[int, Mode3Details | None], Mode3Details](
                mode3, CAR_CONNECTED, port_data(port), port
            )
        )
    async_add_entities(entities)
