"""The entities of smart charging: thin views over SmartCharging (the platforms add them).

Charging mode (a select per port), Peak limit (a number of the charger), Quarter-hour average import and Monthly
peak (sensors of the charger, with a grid sensor), Smart charging (a diagnostic sensor per port: the reason).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Self

from homeassistant.components.number import NumberDeviceClass, NumberEntityDescription, NumberMode, RestoreNumber
from homeassistant.components.select import SelectEntity, SelectEntityDescription
from homeassistant.components.sensor import (
    RestoreSensor,
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import EntityCategory, Platform, UnitOfPower
from homeassistant.helpers.restore_state import ExtraStoredData, RestoreEntity

from ..coordinator import EnovatesRealtimeCoordinator
from ..entity import EnovatesEntity
from .controller import ChargingMode, Reason

if TYPE_CHECKING:
    from ..coordinator import EnovatesConfigEntry, EnovatesEmsControlCoordinator
    from .manager import SmartCharging

CHARGING_MODE = SelectEntityDescription(key="charging_mode", translation_key="charging_mode")
PEAK_LIMIT = NumberEntityDescription(
    key="peak_limit",
    translation_key="peak_limit",
    device_class=NumberDeviceClass.POWER,
    native_unit_of_measurement=UnitOfPower.KILO_WATT,
    native_min_value=0,
    native_max_value=50,
    native_step=0.1,
    mode=NumberMode.BOX,
)
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


class SmartEntity(EnovatesEntity[EnovatesRealtimeCoordinator]):
    """An entity of smart charging: it updates after each decision, and with the charger's tier."""

    def __init__(
        self, coordinator: EnovatesRealtimeCoordinator, smart: SmartCharging, description: Any, port: int | None = None
    ) -> None:
        """Show `smart`'s view of the charger (or of `port`)."""
        super().__init__(coordinator, description, port)
        self._smart = smart

    async def async_added_to_hass(self) -> None:
        """Follow the decisions too."""
        await super().async_added_to_hass()
        self.async_on_remove(self._smart.async_add_listener(self.async_write_ha_state))


class ChargingModeSelect(SmartEntity, SelectEntity, RestoreEntity):
    """How a port charges: Fast, Solar, Solar + minimum, Off, or Manual (the limit is the user's); kept on restart."""

    PLATFORM = Platform.SELECT
    port: int

    def __init__(
        self,
        coordinator: EnovatesRealtimeCoordinator,
        ems_control: EnovatesEmsControlCoordinator,
        smart: SmartCharging,
        port: int,
    ) -> None:
        """Pick the mode of `port`, as long as `ems_control` says the charger allows it."""
        super().__init__(coordinator, smart, CHARGING_MODE, port)
        self._ems_control = ems_control
        self._attr_options = [mode.value for mode in smart.modes_available]

    async def async_added_to_hass(self) -> None:
        """Go on in the mode the port had before Home Assistant restarted."""
        await super().async_added_to_hass()
        if (last := await self.async_get_last_state()) is not None and last.state in self.options:
            self._smart.set_mode(self.port, ChargingMode(last.state))

    @property
    def available(self) -> bool:
        """Return whether the charger allows EMS control now."""
        return super().available and self._ems_control.data.allowed

    @property
    def current_option(self) -> str:
        """Return the port's mode."""
        return self._smart.modes.get(self.port, ChargingMode.MANUAL).value

    async def async_select_option(self, option: str) -> None:
        """Charge the port in another mode from now on."""
        self._smart.set_mode(self.port, ChargingMode(option))


class PeakLimitNumber(SmartEntity, RestoreNumber):
    """The quarter-hour peak the charger's cars give way under, in kW; 0 turns the guard off. Kept on restart."""

    PLATFORM = Platform.NUMBER
    entity_description: NumberEntityDescription

    def __init__(self, coordinator: EnovatesRealtimeCoordinator, smart: SmartCharging) -> None:
        """Set `smart`'s peak limit."""
        super().__init__(coordinator, smart, PEAK_LIMIT)

    async def async_added_to_hass(self) -> None:
        """Take back the limit from before the restart."""
        await super().async_added_to_hass()
        if (last := await self.async_get_last_number_data()) is not None and last.native_value:
            self._smart.set_peak_limit(last.native_value * 1000)

    @property
    def native_value(self) -> float:
        """Return the peak limit in kW (0: off)."""
        return (self._smart.peak_limit_w or 0.0) / 1000

    async def async_set_native_value(self, value: float) -> None:
        """Guard the peak at `value` kW from now on (0: no more)."""
        self._smart.set_peak_limit(value * 1000)


class QuarterAverageSensor(SmartEntity, SensorEntity):
    """The average grid import of the current quarter hour, so far."""

    PLATFORM = Platform.SENSOR

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

    PLATFORM = Platform.SENSOR

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

    PLATFORM = Platform.SENSOR
    port: int

    def __init__(self, coordinator: EnovatesRealtimeCoordinator, smart: SmartCharging, port: int) -> None:
        """Show the reason for `port`'s limit."""
        super().__init__(coordinator, smart, SMART_REASON, port)

    @property
    def native_value(self) -> str:
        """Return the reason of the last decision (Manual before the first)."""
        decision = self._smart.decisions.get(self.port)
        return (Reason.MANUAL if decision is None else decision.reason).value


def smart_selects(entry: EnovatesConfigEntry) -> list[SelectEntity]:
    """Return the charging mode of each port, with smart charging on."""
    runtime = entry.runtime_data
    if runtime.smart is None or runtime.ems_control is None:
        return []
    return [
        ChargingModeSelect(runtime.realtime, runtime.ems_control, runtime.smart, port) for port in runtime.charger.ports
    ]


def smart_numbers(entry: EnovatesConfigEntry) -> list[PeakLimitNumber]:
    """Return the peak limit, with smart charging on and a grid sensor."""
    smart = entry.runtime_data.smart
    if smart is None or smart.grid_sensor is None:
        return []
    return [PeakLimitNumber(entry.runtime_data.realtime, smart)]


def smart_sensors(entry: EnovatesConfigEntry) -> list[SensorEntity]:
    """Return the reason per port, and the quarter-hour sensors with a grid sensor."""
    runtime = entry.runtime_data
    smart = runtime.smart
    if smart is None:
        return []
    sensors: list[SensorEntity] = [SmartReasonSensor(runtime.realtime, smart, port) for port in runtime.charger.ports]
    if smart.grid_sensor is not None:
        sensors += [QuarterAverageSensor(runtime.realtime, smart), MonthPeakSensor(runtime.realtime, smart)]
    return sensors
