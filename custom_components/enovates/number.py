"""The EMS current limit of each port, settable with EMS control, and smart charging's peak limit."""

from __future__ import annotations

from typing import TYPE_CHECKING

from homeassistant.components.number import (
    NumberDeviceClass,
    NumberEntity,
    NumberEntityDescription,
    NumberMode,
    RestoreNumber,
)
from homeassistant.const import UnitOfElectricCurrent, UnitOfEnergy, UnitOfPower

from .charging.status import effective_ems_limit
from .const import MIN_CHARGING_CURRENT_A
from .coordinator import EnovatesEmsControlCoordinator, EnovatesRealtimeCoordinator
from .ems_limit.write import limit_ma_for
from .entity import EnovatesEntity, SmartEntity
from .polling.realtime_maps import EMS_LIMIT, STATE
from .runtime_data import async_user_took_over
from .smart.const import DEFAULT_ENERGY_KWH

if TYPE_CHECKING:
    from homeassistant.core import HomeAssistant
    from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

    from .ems_limit.timed import EnovatesLimits
    from .runtime_data import EnovatesConfigEntry
    from .smart import SmartCharging

# One write at a time: the charger has one Modbus connection, and writes are acknowledged one by one.
PARALLEL_UPDATES = 1

EMS_LIMIT_NUMBER = NumberEntityDescription(
    key="ems_limit",
    translation_key="ems_limit",
    device_class=NumberDeviceClass.CURRENT,
    native_unit_of_measurement=UnitOfElectricCurrent.AMPERE,
    # Only limits a car can charge at: pausing (0 A) is the charging-allowed switch's and the action's job, and
    # 1-5 A would pause as well, ambiguously.
    native_min_value=MIN_CHARGING_CURRENT_A,
    native_step=1,
    mode=NumberMode.SLIDER,
)
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
ENERGY_TO_ADD = NumberEntityDescription(
    key="energy_to_add",
    translation_key="energy_to_add",
    device_class=NumberDeviceClass.ENERGY,
    native_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
    native_min_value=0,
    native_max_value=200,
    native_step=0.5,
    mode=NumberMode.BOX,
)


def whole_if_whole(amperes: float) -> float:
    """Return whole amperes as an int: the state reads "16" whether the limit came from the charger or a write."""
    return int(amperes) if amperes == int(amperes) else amperes


class EnovatesEmsLimitNumber(EnovatesEntity[EnovatesRealtimeCoordinator], NumberEntity):
    """The EMS current limit of a port, in A, from 6 A to the charger's maximum (which means no limit).

    While the port is paused (a limit under 6 A: 0 from the switch or the action, or another EMS's 1-5 A) the
    number still reads the limit in force, below the slider's range: the state tells the truth, and moving the
    slider resumes charging at the limit chosen.
    """

    port: int

    def __init__(
        self,
        coordinator: EnovatesRealtimeCoordinator,
        ems_control: EnovatesEmsControlCoordinator,
        limits: EnovatesLimits,
        description: NumberEntityDescription,
        port: int,
    ) -> None:
        """Set the limit of `port` through `limits`, as long as `ems_control` says the charger allows it."""
        # the state map brings the charger's maximum, the limit's range
        super().__init__(coordinator, description, port, frozenset({EMS_LIMIT, STATE}), follows=(ems_control,))
        self._ems_control = ems_control
        self._limits = limits

    @property
    def available(self) -> bool:
        """Return whether the charger allows EMS control now and the limit and its maximum are known."""
        data = self.coordinator.data[self.port]
        return (
            super().available
            and self._ems_control.data.allowed
            and data.state is not None
            and effective_ems_limit(data) is not None
        )

    @property
    def native_max_value(self) -> float:
        """Return the charger's maximum current per phase: no limit can usefully exceed it."""
        state = self.coordinator.data[self.port].state
        return float(state.max_amp_per_phase) if state is not None else float(MIN_CHARGING_CURRENT_A)

    @property
    def native_value(self) -> float | None:
        """Return the limit in force, in whole amperes when whole; with none set, the charger's maximum."""
        limit = effective_ems_limit(self.coordinator.data[self.port])
        return None if limit is None else whole_if_whole(limit)

    async def async_set_native_value(self, value: float) -> None:
        """Write the limit (6 A to the maximum, Home Assistant checked): the maximum removes it."""
        limit_ma = limit_ma_for(value, self.native_max_value)
        async_user_took_over(self.coordinator.config_entry, self.port)
        await self._limits.async_set(self.port, limit_ma)


class PeakLimitNumber(SmartEntity, RestoreNumber):
    """The quarter-hour peak the charger's cars give way under, in kW; 0 turns the guard off. Kept on restart."""

    entity_description: NumberEntityDescription

    def __init__(self, coordinator: EnovatesRealtimeCoordinator, smart: SmartCharging) -> None:
        """Set `smart`'s peak limit."""
        super().__init__(coordinator, smart, PEAK_LIMIT)

    async def async_added_to_hass(self) -> None:
        """Take back the limit from before the restart (the site's, if it runs already: another charger's is kept)."""
        await super().async_added_to_hass()
        if (last := await self.async_get_last_number_data()) is not None and last.native_value:
            self._smart.restore_peak_limit(last.native_value * 1000)

    @property
    def native_value(self) -> float:
        """Return the peak limit in kW (0: off)."""
        return (self._smart.peak_limit_w or 0.0) / 1000

    async def async_set_native_value(self, value: float) -> None:
        """Guard the peak at `value` kW from now on (0: no more)."""
        self._smart.set_peak_limit(value * 1000)


class EnergyToAddNumber(SmartEntity, RestoreNumber):
    """The energy a plan adds to the car on a port by its ready-by time, counted from plug-in. Kept on restart."""

    entity_description: NumberEntityDescription
    port: int

    def __init__(self, coordinator: EnovatesRealtimeCoordinator, smart: SmartCharging, port: int) -> None:
        """Set the energy `port`'s plan adds."""
        super().__init__(coordinator, smart, ENERGY_TO_ADD, port)

    async def async_added_to_hass(self) -> None:
        """Take back the energy from before the restart."""
        await super().async_added_to_hass()
        if (last := await self.async_get_last_number_data()) is not None and last.native_value is not None:
            self._smart.set_energy(self.port, last.native_value)

    @property
    def native_value(self) -> float:
        """Return the energy to add, in kWh."""
        return self._smart.energy_kwh.get(self.port, DEFAULT_ENERGY_KWH)

    async def async_set_native_value(self, value: float) -> None:
        """Plan for `value` kWh from now on."""
        self._smart.set_energy(self.port, value)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: EnovatesConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the EMS limit of each port when the user enabled EMS control."""
    runtime = entry.runtime_data
    if runtime.ems_control is None or runtime.limits is None:
        return
    async_add_entities(
        EnovatesEmsLimitNumber(runtime.realtime, runtime.ems_control, runtime.limits, EMS_LIMIT_NUMBER, port)
        for port in runtime.charger.ports
    )
    smart = runtime.smart
    if smart is not None and smart.grid_sensor is not None:
        async_add_entities([PeakLimitNumber(runtime.realtime, smart)])
    if smart is not None and smart.price_feed is not None:
        async_add_entities(EnergyToAddNumber(runtime.realtime, smart, port) for port in runtime.charger.ports)
