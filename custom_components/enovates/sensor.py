"""Sensors of an Enovates charger: measurements, state, Mode 3 details, identity, sessions and smart charging."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
import enum
from operator import attrgetter
from typing import TYPE_CHECKING, Any, Self

from enovates_modbus.eno_one import LEDColor, LockState, Measurements, Mode3Details, Mode3State, State
from homeassistant.components.sensor import (
    RestoreSensor,
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import (
    PERCENTAGE,
    EntityCategory,
    UnitOfElectricCurrent,
    UnitOfElectricPotential,
    UnitOfEnergy,
    UnitOfPower,
    UnitOfTime,
)
from homeassistant.helpers.restore_state import ExtraStoredData
from homeassistant.util import dt as dt_util

from .charging.sessions import ChargingSession
from .charging.status import ChargerStatus, charger_status, effective_ems_limit
from .const import CONF_EMS_CONTROL
from .coordinator import (
    DeviceData,
    EnovatesMode3Coordinator,
    EnovatesRealtimeCoordinator,
    RealtimeData,
    port_data,
    port_measurements,
    port_state,
    port_token,
)
from .entity import EnovatesEntity, EnovatesMapEntity, SmartEntity
from .modbus.charger import PORT_1
from .polling.realtime_maps import CURRENT_OFFERED, EMS_LIMIT, INSTALLATION, MEASUREMENTS, STATE
from .smart import Reason

if TYPE_CHECKING:
    from homeassistant.core import HomeAssistant
    from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
    from homeassistant.helpers.typing import StateType

    from .runtime_data import EnovatesConfigEntry, EnovatesRuntimeData
    from .smart import SmartCharging

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
        # Not a diagnostic: the most a car can draw here is what a user looks for first among the charger's sensors.
        suggested_display_precision=1,
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
)

# Charger-wide, read from port 1 as the vendor does: what the installation monitor (load-shedding device) measures
# at the grid connection, signed (negative: exported). Only meaningful with such a monitor fitted.
INSTALLATION_CURRENT_SENSORS = _per_phase(
    "installation_current",
    "installation_current_l",
    _milli_field,
    SensorDeviceClass.CURRENT,
    UnitOfElectricCurrent.AMPERE,
    precision=1,
    enabled=False,
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
        suggested_display_precision=1,
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

    port: int

    def __init__(self, realtime: EnovatesRealtimeCoordinator, mode3: EnovatesMode3Coordinator, port: int) -> None:
        """Combine the 1 s tier's data of `port` with its Mode 3 details."""
        maps = frozenset({STATE, MEASUREMENTS, EMS_LIMIT, CURRENT_OFFERED})
        super().__init__(realtime, STATUS_SENSOR, port, maps, follows=(mode3,))
        self._mode3 = mode3

    @property
    def native_value(self) -> str | None:
        """Return the status."""
        status = charger_status(self.coordinator.data[self.port], self._mode3.data[self.port])
        return None if status is None else status.value


@dataclass(frozen=True, kw_only=True)
class EnovatesSessionSensorDescription(SensorEntityDescription):
    """A sensor of a port's current (or last) charging session."""

    value_fn: Callable[[ChargingSession, datetime], StateType | datetime]


SESSION_SENSORS: tuple[EnovatesSessionSensorDescription, ...] = (
    EnovatesSessionSensorDescription(
        key="session_energy",
        translation_key="session_energy",
        device_class=SensorDeviceClass.ENERGY,
        # Back to 0 when the next car is plugged in: a reset, as for a meter.
        state_class=SensorStateClass.TOTAL_INCREASING,
        native_unit_of_measurement=UnitOfEnergy.WATT_HOUR,
        suggested_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        suggested_display_precision=2,
        value_fn=lambda session, _now: session.energy_wh,
    ),
    EnovatesSessionSensorDescription(
        key="session_duration",
        translation_key="session_duration",
        device_class=SensorDeviceClass.DURATION,
        native_unit_of_measurement=UnitOfTime.MINUTES,
        suggested_display_precision=0,
        # Whole minutes: a state a minute while a car is plugged in, not one a second.
        value_fn=lambda session, now: int(session.duration(now).total_seconds() // 60),
    ),
    EnovatesSessionSensorDescription(
        key="session_start",
        translation_key="session_start",
        device_class=SensorDeviceClass.TIMESTAMP,
        value_fn=lambda session, _now: session.start,
    ),
)


class EnovatesSessionSensor(EnovatesEntity[EnovatesRealtimeCoordinator], RestoreSensor):
    """A value of the current (or last) charging session of a port, as the port's session tracker holds it.

    The tracker follows the port whatever entities are enabled (charging/sessions.py); this sensor only shows it.
    """

    port: int
    entity_description: EnovatesSessionSensorDescription

    def __init__(self, runtime: EnovatesRuntimeData, description: EnovatesSessionSensorDescription, port: int) -> None:
        """Show one value of the sessions on `port`."""
        super().__init__(runtime.realtime, description, port)
        self._sessions = runtime.sessions

    async def async_added_to_hass(self) -> None:
        """Offer a session kept in this sensor's restore data by an older release, then follow the port's session."""
        await super().async_added_to_hass()
        if (stored := await self.async_get_last_extra_data()) and (
            session := ChargingSession.from_dict(stored.as_dict().get("session"))
        ):
            self._sessions.restore(self.port, session)
        # The session's news (its energy each second while a car charges) is written only when this value changed:
        # the start and, but once a minute, the duration stay as they are.
        self.async_on_remove(self._sessions.async_listen(self.port, self._handle_coordinator_update))

    @property
    def native_value(self) -> StateType | datetime:
        """Return the value of the current or last session; unknown before the first car."""
        session = self._sessions.trackers[self.port].session
        return None if session is None else self.entity_description.value_fn(session, dt_util.utcnow())


class EnovatesSensor[DataT, SourceT](EnovatesMapEntity[DataT, SourceT], SensorEntity):
    """A sensor showing one value of one register map."""

    entity_description: EnovatesSensorDescription[SourceT]

    @property
    def native_value(self) -> StateType:
        """Return the value."""
        source = self.source
        return None if source is None else self.entity_description.value_fn(source)


QUARTER_AVERAGE = SensorEntityDescription(
    key="quarter_average_import",
    translation_key="quarter_average_import",
    device_class=SensorDeviceClass.POWER,
    state_class=SensorStateClass.MEASUREMENT,
    native_unit_of_measurement=UnitOfPower.WATT,
    suggested_unit_of_measurement=UnitOfPower.KILO_WATT,
    suggested_display_precision=2,
)
MONTH_PEAK = SensorEntityDescription(
    key="month_peak",
    translation_key="month_peak",
    device_class=SensorDeviceClass.POWER,
    native_unit_of_measurement=UnitOfPower.WATT,
    suggested_unit_of_measurement=UnitOfPower.KILO_WATT,
    suggested_display_precision=2,
)
SMART_REASON = SensorEntityDescription(
    key="smart_charging",
    translation_key="smart_charging",
    device_class=SensorDeviceClass.ENUM,
    entity_category=EntityCategory.DIAGNOSTIC,
    options=[reason.value for reason in Reason],
)

PLAN = SensorEntityDescription(key="plan", translation_key="plan", device_class=SensorDeviceClass.TIMESTAMP)


class QuarterAverageSensor(SmartEntity, SensorEntity):
    """The average grid import of the current quarter hour, so far."""

    def __init__(self, coordinator: EnovatesRealtimeCoordinator, smart: SmartCharging) -> None:
        """Show the quarter's average import."""
        super().__init__(coordinator, smart, QUARTER_AVERAGE)

    @property
    def available(self) -> bool:
        """Return whether some of this quarter was measured: the grid sensor, not the charger, decides."""
        return self._smart.controller.quarter.average_w is not None

    @property
    def native_value(self) -> float | None:
        """Return the average import in W."""
        average = self._smart.controller.quarter.average_w
        return None if average is None else round(average)


@dataclass
class MonthPeakData(ExtraStoredData):
    """The month a peak belongs to, kept across restarts."""

    month: str
    average_w: float

    def as_dict(self) -> dict[str, Any]:
        """Return the data to store."""
        return {"month": self.month, "average_w": self.average_w}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self | None:
        """Return the stored data, or None when it is not ours."""
        month, average = data.get("month"), data.get("average_w")
        if isinstance(month, str) and isinstance(average, (int, float)):
            return cls(month, float(average))
        return None


class MonthPeakSensor(SmartEntity, RestoreSensor):
    """The highest quarter-hour average import of this month (what a capacity tariff bills)."""

    def __init__(self, coordinator: EnovatesRealtimeCoordinator, smart: SmartCharging) -> None:
        """Show the month's peak."""
        super().__init__(coordinator, smart, MONTH_PEAK)

    async def async_added_to_hass(self) -> None:
        """Take back the month's peak from before the restart."""
        await super().async_added_to_hass()
        if (stored := await self.async_get_last_extra_data()) and (peak := MonthPeakData.from_dict(stored.as_dict())):
            self._smart.restore_month_peak(peak.month, peak.average_w)

    @property
    def extra_restore_state_data(self) -> MonthPeakData | None:  # type: ignore[override]
        """Return the peak and its month to keep."""
        peak = self._smart.month_peak
        return None if peak is None else MonthPeakData(*peak)

    @property
    def available(self) -> bool:
        """Return whether a quarter of this month was measured."""
        return self._smart.month_peak is not None

    @property
    def native_value(self) -> float | None:
        """Return the month's highest quarter average, in W."""
        peak = self._smart.month_peak
        return None if peak is None else round(peak[1])


class SmartReasonSensor(SmartEntity, SensorEntity):
    """Why the port's limit is what it is: surplus, peak guard, waiting to start, grid reading missing, …."""

    port: int

    def __init__(self, coordinator: EnovatesRealtimeCoordinator, smart: SmartCharging, port: int) -> None:
        """Show the reason for `port`'s limit."""
        super().__init__(coordinator, smart, SMART_REASON, port)

    @property
    def native_value(self) -> str:
        """Return the reason of the last decision (Manual before the first)."""
        decision = self._smart.decisions.get(self.port)
        return (Reason.MANUAL if decision is None else decision.reason).value


class PlanSensor(SmartEntity, SensorEntity):
    """A port's plan: when it next charges (the state), its slots, expected energy and cost (the attributes)."""

    port: int
    # Up to a few hundred slots: shown, not kept in the history.
    _unrecorded_attributes = frozenset({"slots"})

    def __init__(self, coordinator: EnovatesRealtimeCoordinator, smart: SmartCharging, port: int) -> None:
        """Show the plan of `port`."""
        super().__init__(coordinator, smart, PLAN, port)

    @property
    def native_value(self) -> datetime | None:
        """Return when the plan charges next, or charges now since (None: no plan, or nothing more to charge)."""
        plan = self._smart.plan(self.port)
        if plan is None or (start := plan.next_start(dt_util.utcnow().timestamp())) is None:
            return None
        return dt_util.utc_from_timestamp(start)

    @property
    def extra_state_attributes(self) -> dict[str, Any] | None:
        """Return the plan: its status, ready-by time, slots, expected energy and cost."""
        plan = self._smart.plan(self.port)
        if plan is None:
            return None

        def moment(timestamp: float) -> str:
            return dt_util.as_local(dt_util.utc_from_timestamp(timestamp)).isoformat()

        return {
            "status": plan.status.value,
            "feasible": plan.feasible,
            "ready_by": moment(plan.ready_by),
            "energy_needed": round(plan.energy_wanted_kwh, 2),
            "expected_energy": round(plan.energy_kwh, 2),
            "expected_cost": round(plan.cost, 2),
            "currency": plan.currency,
            "slots": [
                {
                    "start": moment(slot.start),
                    "end": moment(slot.end),
                    "current": slot.current_a,
                    "energy": round(slot.energy_kwh, 3),
                    "price": None if slot.price is None else round(slot.price, 5),
                }
                for slot in plan.slots
            ],
        }


async def async_setup_entry(
    hass: HomeAssistant,
    entry: EnovatesConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the sensors of the charger and of each of its ports."""
    runtime = entry.runtime_data
    realtime = runtime.realtime
    entities: list[SensorEntity] = [
        EnovatesSensor(runtime.device, API_VERSION_SENSOR, lambda device: device),
        *(
            # Port 1's measurements, read every second even while no car is plugged in: the house's load changes.
            EnovatesSensor(realtime, d, port_measurements(PORT_1), maps=frozenset({INSTALLATION}), maps_port=PORT_1)
            for d in INSTALLATION_CURRENT_SENSORS
        ),
    ]
    for port in runtime.charger.ports:
        entities.extend(_port_sensors(entry, port))
    async_add_entities([*entities, *_smart_sensors(entry)])


def _port_sensors(entry: EnovatesConfigEntry, port: int) -> list[SensorEntity]:
    runtime = entry.runtime_data
    realtime, mode3, ems_control = runtime.realtime, runtime.mode3, runtime.ems_control
    sensors: list[SensorEntity] = [
        EnovatesStatusSensor(realtime, mode3, port),
        *(EnovatesSessionSensor(runtime, description, port) for description in SESSION_SENSORS),
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


def _smart_sensors(entry: EnovatesConfigEntry) -> list[SensorEntity]:
    """Return the reason per port, and the quarter-hour sensors with a grid sensor."""
    runtime = entry.runtime_data
    smart = runtime.smart
    if smart is None:
        return []
    sensors: list[SensorEntity] = [SmartReasonSensor(runtime.realtime, smart, port) for port in runtime.charger.ports]
    if smart.grid_sensor is not None:
        sensors += [QuarterAverageSensor(runtime.realtime, smart), MonthPeakSensor(runtime.realtime, smart)]
    if smart.price_feed is not None:
        sensors += [PlanSensor(runtime.realtime, smart, port) for port in runtime.charger.ports]
    return sensors
