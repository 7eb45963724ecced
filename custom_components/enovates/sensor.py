"""Sensors of an Enovates charger: measurements, state, Mode 3 details and identity."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
import enum
from operator import attrgetter
from typing import TYPE_CHECKING

from enovates_modbus.eno_one import LEDColor, LockState, Measurements, Mode3Details, Mode3State, State
from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import (
    PERCENTAGE,
    EntityCategory,
    Platform,
    UnitOfElectricCurrent,
    UnitOfElectricPotential,
    UnitOfEnergy,
    UnitOfPower,
)

from .const import CONF_EMS_CONTROL, NO_EMS_LIMIT
from .coordinator import (
    CURRENT_OFFERED,
    EMS_LIMIT,
    MEASUREMENTS,
    STATE,
    DeviceData,
    EnovatesMode3Coordinator,
    EnovatesRealtimeCoordinator,
    RealtimeData,
    port_data,
    port_measurements,
    port_state,
    port_token,
)
from .entity import EnovatesEntity, EnovatesMapEntity
from .status import ChargerStatus, charger_status

if TYPE_CHECKING:
    from homeassistant.core import HomeAssistant
    from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
    from homeassistant.helpers.typing import StateType

    from .coordinator import EnovatesConfigEntry

# Coordinators poll; entities only read what they hold.
PARALLEL_UPDATES = 0

PHASES = (1, 2, 3)


@dataclass(frozen=True, kw_only=True)
class EnovatesSensorDescription[SourceT](SensorEntityDescription):
    """A sensor whose value comes from one register map (`SourceT`) of a port or of the charger."""

    value_fn: Callable[[SourceT], StateType]


def enum_option(value: object) -> str | None:
    """Return an enum value as a sensor option; a value the library did not know (None) is unknown."""
    return value.name.lower() if isinstance(value, enum.Enum) else None


def milli(value: int) -> float:
    """Return a value in milli-units (mA) in units (A), keeping its full precision."""
    return value / 1000


def effective_ems_limit(data: RealtimeData) -> float | None:
    """Return the EMS limit in A; with no limit set, the charger's own maximum is what limits the car."""
    limit = data.ems_limit_ma
    if limit is None or limit < NO_EMS_LIMIT:
        return None
    if limit == NO_EMS_LIMIT:
        return None if data.state is None else data.state.max_amp_per_phase
    return milli(limit)


def _milli_field(name: str) -> Callable[[Measurements], float]:
    """Return a value function reading a milli-unit field of the measurements in units."""
    getter = attrgetter(name)
    return lambda measurements: milli(getter(measurements))


def _field(name: str) -> Callable[[Measurements], int]:
    """Return a value function reading a field of the measurements as it is."""
    getter = attrgetter(name)
    return lambda measurements: int(getter(measurements))


def _per_phase(
    name: str,
    field: str,
    value: Callable[[str], Callable[[Measurements], StateType]],
    device_class: SensorDeviceClass,
    unit: str,
    *,
    precision: int | None = None,
    enabled: bool = True,
) -> tuple[EnovatesSensorDescription[Measurements], ...]:
    """Describe the L1, L2 and L3 sensors of one measurement (`field` + phase number)."""
    return tuple(
        EnovatesSensorDescription[Measurements](
            key=f"{name}_l{phase}",
            translation_key=f"{name}_phase",
            translation_placeholders={"phase": f"L{phase}"},
            device_class=device_class,
            state_class=SensorStateClass.MEASUREMENT,
            native_unit_of_measurement=unit,
            suggested_display_precision=precision,
            entity_registry_enabled_default=enabled,
            value_fn=value(f"{field}{phase}"),
        )
        for phase in PHASES
    )


STATE_SENSORS: tuple[EnovatesSensorDescription[State], ...] = (
    EnovatesSensorDescription[State](
        key="lock_state",
        translation_key="lock_state",
        device_class=SensorDeviceClass.ENUM,
        options=[option.name.lower() for option in LockState],
        value_fn=lambda state: enum_option(state.lock_state),
    ),
    EnovatesSensorDescription[State](
        key="led_color",
        translation_key="led_color",
        device_class=SensorDeviceClass.ENUM,
        options=[option.name.lower() for option in LEDColor],
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda state: enum_option(state.led_color),
    ),
    EnovatesSensorDescription[State](
        key="number_of_phases",
        translation_key="number_of_phases",
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda state: state.number_of_phases,
    ),
    EnovatesSensorDescription[State](
        key="max_current_per_phase",
        translation_key="max_current_per_phase",
        device_class=SensorDeviceClass.CURRENT,
        native_unit_of_measurement=UnitOfElectricCurrent.AMPERE,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda state: state.max_amp_per_phase,
    ),
)


MEASUREMENT_SENSORS: tuple[EnovatesSensorDescription[Measurements], ...] = (
    EnovatesSensorDescription[Measurements](
        key="power",
        device_class=SensorDeviceClass.POWER,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfPower.WATT,
        value_fn=lambda measurements: measurements.charger_active_power_total,
    ),
    EnovatesSensorDescription[Measurements](
        key="energy",
        translation_key="energy_imported",
        device_class=SensorDeviceClass.ENERGY,
        state_class=SensorStateClass.TOTAL_INCREASING,
        native_unit_of_measurement=UnitOfEnergy.WATT_HOUR,
        suggested_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        suggested_display_precision=2,
        value_fn=lambda measurements: measurements.active_energy_import_total,
    ),
    *_per_phase(
        "current", "current_l", _milli_field, SensorDeviceClass.CURRENT, UnitOfElectricCurrent.AMPERE, precision=1
    ),
    *_per_phase("voltage", "voltage_l", _field, SensorDeviceClass.VOLTAGE, UnitOfElectricPotential.VOLT, enabled=False),
    *_per_phase("power", "charger_active_power_l", _field, SensorDeviceClass.POWER, UnitOfPower.WATT, enabled=False),
    # Installation currents are only meaningful with an installation monitor (load-shedding device) fitted.
    *_per_phase(
        "installation_current",
        "installation_current_l",
        _milli_field,
        SensorDeviceClass.CURRENT,
        UnitOfElectricCurrent.AMPERE,
        precision=1,
        enabled=False,
    ),
)

CURRENT_OFFERED_SENSOR = EnovatesSensorDescription[RealtimeData](
    key="current_offered",
    translation_key="current_offered",
    device_class=SensorDeviceClass.CURRENT,
    state_class=SensorStateClass.MEASUREMENT,
    native_unit_of_measurement=UnitOfElectricCurrent.AMPERE,
    suggested_display_precision=1,
    value_fn=lambda data: None if data.current_offered_ma is None else milli(data.current_offered_ma),
)

# Without EMS control the limit is only shown; with it, the number entity shows and sets it.
EMS_LIMIT_SENSOR = EnovatesSensorDescription[RealtimeData](
    key="ems_limit",
    translation_key="ems_limit",
    device_class=SensorDeviceClass.CURRENT,
    state_class=SensorStateClass.MEASUREMENT,
    native_unit_of_measurement=UnitOfElectricCurrent.AMPERE,
    suggested_display_precision=1,
    value_fn=effective_ems_limit,
)

MODE3_SENSORS: tuple[EnovatesSensorDescription[Mode3Details], ...] = (
    EnovatesSensorDescription[Mode3Details](
        key="mode3_state",
        translation_key="mode3_state",
        device_class=SensorDeviceClass.ENUM,
        options=[option.name.lower() for option in Mode3State],
        value_fn=lambda mode3: enum_option(mode3.state_num),
    ),
    EnovatesSensorDescription[Mode3Details](
        key="pwm_duty_cycle",
        translation_key="pwm_duty_cycle",
        native_unit_of_measurement=PERCENTAGE,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=1,
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        value_fn=lambda mode3: mode3.pwm / 10,  # per mille
    ),
    EnovatesSensorDescription[Mode3Details](
        key="pwm_current",
        translation_key="pwm_current",
        device_class=SensorDeviceClass.CURRENT,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfElectricCurrent.AMPERE,
        suggested_display_precision=1,
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        value_fn=lambda mode3: milli(mode3.pwm_amp),
    ),
    EnovatesSensorDescription[Mode3Details](
        key="cable_max_current",
        translation_key="cable_max_current",
        device_class=SensorDeviceClass.CURRENT,
        native_unit_of_measurement=UnitOfElectricCurrent.AMPERE,
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        value_fn=lambda mode3: mode3.pp,
    ),
    EnovatesSensorDescription[Mode3Details](
        key="cp_positive",
        translation_key="cp_positive",
        device_class=SensorDeviceClass.VOLTAGE,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfElectricPotential.VOLT,
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        value_fn=lambda mode3: mode3.CP_pos,
    ),
    EnovatesSensorDescription[Mode3Details](
        key="cp_negative",
        translation_key="cp_negative",
        device_class=SensorDeviceClass.VOLTAGE,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfElectricPotential.VOLT,
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        value_fn=lambda mode3: mode3.CP_neg,
    ),
)

TOKEN_SENSOR = EnovatesSensorDescription[str](
    key="transaction_token",
    translation_key="transaction_token",
    entity_category=EntityCategory.DIAGNOSTIC,
    # The RFID tag of the session: personal data, so not recorded unless the user enables it.
    entity_registry_enabled_default=False,
    value_fn=lambda token: token,
)

API_VERSION_SENSOR = EnovatesSensorDescription[DeviceData](
    key="api_version",
    translation_key="api_version",
    entity_category=EntityCategory.DIAGNOSTIC,
    value_fn=lambda device: f"{device.api_version.major}.{device.api_version.minor}",
)


STATUS_SENSOR = SensorEntityDescription(
    key="status",
    translation_key="status",
    device_class=SensorDeviceClass.ENUM,
    options=[status.value for status in ChargerStatus],
)


class EnovatesStatusSensor(EnovatesEntity[EnovatesRealtimeCoordinator], SensorEntity):
    """The status of a port at a glance: from Mode 3 (10 s, or at once when a car comes or goes) and 1 s data."""

    PLATFORM = Platform.SENSOR
    port: int

    def __init__(self, realtime: EnovatesRealtimeCoordinator, mode3: EnovatesMode3Coordinator, port: int) -> None:
        """Combine the 1 s tier's data of `port` with its Mode 3 details."""
        super().__init__(
            realtime, STATUS_SENSOR, port, frozenset({STATE, MEASUREMENTS, CURRENT_OFFERED}), follows=(mode3,)
        )
        self._mode3 = mode3

    @property
    def native_value(self) -> str | None:
        """Return the status."""
        status = charger_status(self.coordinator.data[self.port], self._mode3.data[self.port])
        return None if status is None else status.value


class EnovatesSensor[DataT, SourceT](EnovatesMapEntity[DataT, SourceT], SensorEntity):
    """A sensor showing one value of one register map."""

    PLATFORM = Platform.SENSOR

    entity_description: EnovatesSensorDescription[SourceT]

    @property
    def native_value(self) -> StateType:
        """Return the value."""
        source = self.source
        return None if source is None else self.entity_description.value_fn(source)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: EnovatesConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the sensors of the charger and of each of its ports."""
    runtime = entry.runtime_data
    entities: list[SensorEntity] = [EnovatesSensor(runtime.device, API_VERSION_SENSOR, lambda device: device)]
    for port in runtime.charger.ports:
        entities.extend(_port_sensors(entry, port))
    async_add_entities(entities)


def _port_sensors(entry: EnovatesConfigEntry, port: int) -> list[SensorEntity]:
    runtime = entry.runtime_data
    realtime, mode3, ems_control = runtime.realtime, runtime.mode3, runtime.ems_control
    sensors: list[SensorEntity] = [
        EnovatesStatusSensor(realtime, mode3, port),
        *(EnovatesSensor(realtime, d, port_state(port), port, frozenset({STATE})) for d in STATE_SENSORS),
        *(
            EnovatesSensor(realtime, d, port_measurements(port), port, frozenset({MEASUREMENTS}))
            for d in MEASUREMENT_SENSORS
        ),
        EnovatesSensor(realtime, CURRENT_OFFERED_SENSOR, port_data(port), port, frozenset({CURRENT_OFFERED})),
        *(
            EnovatesSensor[dict[int, Mode3Details | None], Mode3Details](mode3, description, port_data(port), port)
            for description in MODE3_SENSORS
        ),
    ]
    if not entry.data[CONF_EMS_CONTROL]:
        # no limit shows the charger's maximum, from the state map
        sensors.append(EnovatesSensor(realtime, EMS_LIMIT_SENSOR, port_data(port), port, frozenset({EMS_LIMIT, STATE})))
    if ems_control is not None:
        sensors.append(EnovatesSensor(ems_control, TOKEN_SENSOR, port_token(port), port))
    return sensors
