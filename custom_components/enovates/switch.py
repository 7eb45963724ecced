"""Charging allowed: pause a port (EMS limit 0) and resume it with the limit it had, with EMS control."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Self

from homeassistant.components.switch import SwitchEntity, SwitchEntityDescription
from homeassistant.helpers.restore_state import ExtraStoredData, RestoreEntity

from .const import NO_EMS_LIMIT
from .coordinator import EnovatesEmsControlCoordinator, EnovatesRealtimeCoordinator
from .ems_limit.write import pauses
from .entity import EnovatesEntity
from .polling.realtime_maps import EMS_LIMIT
from .runtime_data import async_user_took_over

if TYPE_CHECKING:
    from homeassistant.core import HomeAssistant
    from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

    from .ems_limit.timed import EnovatesLimits
    from .runtime_data import EnovatesConfigEntry

# One write at a time: the charger has one Modbus connection, and writes are acknowledged one by one.
PARALLEL_UPDATES = 1

CHARGING_ALLOWED = SwitchEntityDescription(key="charging_allowed", translation_key="charging_allowed")


@dataclass
class ResumeLimit(ExtraStoredData):
    """The limit to go back to on resume, kept across restarts of Home Assistant."""

    limit_ma: int

    def as_dict(self) -> dict[str, Any]:
        """Return the data to store."""
        return {"limit_ma": self.limit_ma}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self | None:
        """Return the stored data, or None when it is not ours."""
        limit = data.get("limit_ma")
        return cls(limit) if isinstance(limit, int) else None


class EnovatesChargingAllowedSwitch(EnovatesEntity[EnovatesRealtimeCoordinator], SwitchEntity, RestoreEntity):
    """Off: the port's EMS limit is 0 (or under 6 A); turning it on restores the limit it had before the pause."""

    port: int

    def __init__(
        self,
        coordinator: EnovatesRealtimeCoordinator,
        ems_control: EnovatesEmsControlCoordinator,
        limits: EnovatesLimits,
        port: int,
    ) -> None:
        """Pause and resume `port` through `limits`, as long as `ems_control` says the charger allows it."""
        super().__init__(coordinator, CHARGING_ALLOWED, port, frozenset({EMS_LIMIT}), follows=(ems_control,))
        self._ems_control = ems_control
        self._limits = limits
        self._resume_ma = NO_EMS_LIMIT

    async def async_added_to_hass(self) -> None:
        """Take back the limit to resume with, if Home Assistant restarted during a pause."""
        await super().async_added_to_hass()
        if (stored := await self.async_get_last_extra_data()) and (resume := ResumeLimit.from_dict(stored.as_dict())):
            self._resume_ma = resume.limit_ma

    @property
    def extra_restore_state_data(self) -> ResumeLimit:
        """Return the limit to resume with."""
        return ResumeLimit(self._resume_ma)

    @property
    def available(self) -> bool:
        """Return whether the charger allows EMS control and the limit is known."""
        return (
            super().available
            and self._ems_control.data.allowed
            and self.coordinator.data[self.port].ems_limit_ma is not None
        )

    @property
    def is_on(self) -> bool:
        """Return whether the car may charge: no pausing limit is set."""
        return not pauses(self.coordinator.data[self.port].ems_limit_ma)

    async def async_turn_off(self, **kwargs: Any) -> None:
        """Pause charging: remember the limit in force, then set 0."""
        current = self.coordinator.data[self.port].ems_limit_ma
        if current is not None and not pauses(current):
            self._resume_ma = current
        async_user_took_over(self.coordinator.config_entry, self.port)
        await self._limits.async_set(self.port, 0)

    async def async_turn_on(self, **kwargs: Any) -> None:
        """Resume charging with the limit in force before the pause (none, if it was not known)."""
        async_user_took_over(self.coordinator.config_entry, self.port)
        await self._limits.async_set(self.port, self._resume_ma)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: EnovatesConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the charging-allowed switch of each port when the user enabled EMS control."""
    runtime = entry.runtime_data
    if runtime.ems_control is None or runtime.limits is None:
        return
    async_add_entities(
        EnovatesChargingAllowedSwitch(runtime.realtime, runtime.ems_control, runtime.limits, port)
        for port in runtime.charger.ports
    )
