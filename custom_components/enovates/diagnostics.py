"""Diagnostics download: what the coordinators hold, with the charger's identity and address redacted."""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.const import CONF_HOST

from .modbus.raw_registers import SERIAL_PLACEHOLDER, async_raw_registers

if TYPE_CHECKING:
    from homeassistant.core import HomeAssistant

    from .charging.sessions import ChargingSession
    from .runtime_data import EnovatesConfigEntry

TO_REDACT = {CONF_HOST, "serial_nr", "serial_number", "tokens", "unique_id", "title"}


def _session(session: ChargingSession | None) -> dict[str, Any] | None:
    """Return a port's session as it stands; whether its transaction is known, not the digest of the tag's UID."""
    if session is None:
        return None
    return {**session.as_dict(), "transaction": session.transaction is not None, "energy_wh": session.energy_wh}


async def async_get_config_entry_diagnostics(hass: HomeAssistant, entry: EnovatesConfigEntry) -> dict[str, Any]:
    """Return the register maps as last read, per tier and port."""
    runtime = entry.runtime_data
    ems_control = runtime.ems_control
    registers = await async_raw_registers(runtime.charger, {str(entry.unique_id): SERIAL_PLACEHOLDER})
    return async_redact_data(
        {
            "entry": entry.as_dict(),
            "connected": runtime.charger.connected,
            # Since the entry was loaded: round trips, late answers, timeouts, reconnects, exception answers per map.
            "link": runtime.charger.link.as_diagnostics(),
            "device": asdict(runtime.device.data),
            "realtime": {port: asdict(data) for port, data in runtime.realtime.data.items()},
            "mode3": {port: None if data is None else asdict(data) for port, data in runtime.mode3.data.items()},
            "ems_control": None
            if ems_control is None
            else {
                "allowed": ems_control.data.allowed,
                "tokens": dict.fromkeys(ems_control.data.tokens, "**REDACTED**"),
            },
            # What python -m enovates_simulator --replay serves: the charger as this download saw it.
            "registers": registers,
            "last_update_success": {
                coordinator.name: coordinator.last_update_success
                for coordinator in (runtime.device, runtime.realtime, runtime.mode3, ems_control)
                if coordinator is not None
            },
            # What went wrong last and when, kept after the charger is back (None: nothing since set-up).
            "last_error": {
                coordinator.name: None
                if coordinator.last_exception is None or coordinator.last_exception_at is None
                else {
                    "at": coordinator.last_exception_at.isoformat(),
                    "error": f"{type(coordinator.last_exception).__name__}: {coordinator.last_exception}",
                }
                for coordinator in (runtime.device, runtime.realtime, runtime.mode3, ems_control)
                if coordinator is not None
            },
            "sessions": {port: _session(tracker.session) for port, tracker in runtime.sessions.trackers.items()},
            # A limit set for a while, and the one that comes back when the time is up.
            "pending_restores": None
            if runtime.limits is None
            else {
                port: {"at": pending.at.isoformat(), "limit_ma": pending.limit_ma}
                for port, pending in runtime.limits.pending.items()
            },
            # Modes, settings, the peak limit and the month's peak, whose count of the quarter the guard goes by (the
            # meter's or our own), the last decisions and why (None: smart charging is off, or no EMS control).
            "smart_charging": None if runtime.smart is None else runtime.smart.as_diagnostics(),
        },
        TO_REDACT,
    )
