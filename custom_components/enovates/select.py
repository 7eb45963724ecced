"""The charging mode of each port (smart charging, with EMS control): Fast, Solar, Solar + minimum, Off, Manual."""

from __future__ import annotations

from typing import TYPE_CHECKING

from homeassistant.components.select import SelectEntity, SelectEntityDescription
from homeassistant.helpers.restore_state import RestoreEntity

from .coordinator import EnovatesEmsControlCoordinator, EnovatesRealtimeCoordinator
from .entity import SmartEntity
from .smart import ChargingMode, SmartCharging

if TYPE_CHECKING:
    from homeassistant.core import HomeAssistant
    from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

    from .runtime_data import EnovatesConfigEntry

# A mode change is a decision for the controller, not a request to the charger.
PARALLEL_UPDATES = 0

CHARGING_MODE = SelectEntityDescription(key="charging_mode", translation_key="charging_mode")


class ChargingModeSelect(SmartEntity, SelectEntity, RestoreEntity):
    """How a port charges: Fast, Solar, Solar + minimum, Off, or Manual (the limit is the user's); kept on restart."""

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


async def async_setup_entry(
    hass: HomeAssistant,
    entry: EnovatesConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the charging mode of each port when smart charging runs."""
    runtime = entry.runtime_data
    if runtime.smart is None or runtime.ems_control is None:
        return
    async_add_entities(
        ChargingModeSelect(runtime.realtime, runtime.ems_control, runtime.smart, port) for port in runtime.charger.ports
    )
