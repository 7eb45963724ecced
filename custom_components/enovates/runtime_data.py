"""What a loaded config entry holds, and the config entry typed with it.

Platforms, actions, diagnostics and set-up read it; nothing it names reads it back: each part gets what it needs
through its constructor, so imports run one way (this module imports the parts, never the reverse).
"""

from __future__ import annotations

from dataclasses import dataclass

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import callback

from .charging.sessions import EnovatesSessions
from .coordinator import (
    EnovatesDeviceCoordinator,
    EnovatesEmsControlCoordinator,
    EnovatesMode3Coordinator,
    EnovatesRealtimeCoordinator,
)
from .ems_limit.record import LimitRecord
from .ems_limit.timed import EnovatesLimits
from .modbus.charger import EnovatesCharger
from .smart import SmartCharging


@dataclass(kw_only=True)
class EnovatesRuntimeData:
    """What a loaded config entry holds: the charger connection and its coordinators."""

    charger: EnovatesCharger
    device_id: str  # the charger's device in the device registry; ports are its child devices
    device: EnovatesDeviceCoordinator
    realtime: EnovatesRealtimeCoordinator
    mode3: EnovatesMode3Coordinator
    ems_control: EnovatesEmsControlCoordinator | None  # with EMS control only
    limits: EnovatesLimits | None  # with EMS control only
    limit_record: LimitRecord  # who set each port's EMS limit
    sessions: EnovatesSessions  # each port's charging session
    smart: SmartCharging | None = None  # with EMS control, unless the user turned smart charging off


type EnovatesConfigEntry = ConfigEntry[EnovatesRuntimeData]


@callback
def async_user_took_over(entry: EnovatesConfigEntry, port: int) -> None:
    """Tell smart charging (if it runs) that a user set `port`'s limit by hand."""
    if (smart := entry.runtime_data.smart) is not None:
        smart.user_took_over(port)
