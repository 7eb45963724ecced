"""What Home Assistant releases older than the newest lack, bridged in one place (the floor: 2025.10.0).

The rest of the integration is written for the newest API and takes these names from here. Each piece says the
release that brought what it bridges: once hacs.json's "homeassistant" reaches that release, the piece goes and its
users import from Home Assistant directly.

- `vol`: the schema library, `probatio` from 2026.9.0, `voluptuous` (the same API for what is used here) before.
  Drop at 2026.9.0.
- Port devices: from 2026.10.0 a port of a dual-port charger is a child device (`ChildDeviceInfo`, found with
  `async_entries_for_parent_device`), whose entities Home Assistant names with the charger's name. 2026.9 has child
  devices but names their entities without it ("sensor.port_1_power", the same for every charger), so there, as on
  older releases, the same device, with the same identifiers, is linked to the charger (`via_device_id` from 2026.9,
  `via_device` before) and named "ENO one Port 1". Upgrading Home Assistant turns it into a child device of the same
  id, so its entities keep their ids and history. `port_device_info` and `async_port_devices`: drop at 2026.10.0.
- `async_get_device_by_identifier`: the registry's lookup of an entry's (main) device by one identifier, new in
  2026.9.0 (`async_get_device` by identifiers before). Drop at 2026.9.0.
- `async_get_device_and_config_entry`: the action's device lookup. From 2026.10.0 Home Assistant's own finds child
  devices; 2026.9 has one that skips them, earlier releases have none. Drop at 2026.10.0.
- The pymodbus that Home Assistant pins before 2026.7.0 has its own bridge, beside the connection that needs it:
  modbus/late_answers.py.
"""

from __future__ import annotations

from collections.abc import Mapping
import inspect
from typing import TYPE_CHECKING, Any, cast

from homeassistant.config_entries import ConfigEntry, ConfigEntryState
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import device_registry as dr, entity_registry as er, service, translation

from .const import DOMAIN

if TYPE_CHECKING:
    import probatio as vol
else:
    try:
        import probatio as vol
    except ModuleNotFoundError:  # Home Assistant before 2026.9
        import voluptuous as vol

__all__ = [
    "PORTS_ARE_CHILD_DEVICES",
    "async_get_device_and_config_entry",
    "async_get_device_by_identifier",
    "async_port_devices",
    "port_device_info",
    "vol",
]

PORTS_ARE_CHILD_DEVICES = hasattr(getattr(er, "EntityNamePart", None), "PARENT_DEVICE")
"""Whether ports are child devices (2026.10.0 and later) or devices linked to the charger (before)."""

_LINKED_BY_DEVICE_ID = "via_device_id" in dr.DeviceInfo.__annotations__  # 2026.9, which deprecates via_device

_LOOKUP_FINDS_CHILD_DEVICES = (
    "include_child_devices"
    in inspect.signature(getattr(service, "async_get_device_and_config_entry", lambda: None)).parameters
)


def port_device_info(
    hass: HomeAssistant,
    *,
    identifiers: set[tuple[str, str]],
    parent_device_id: str,
    parent_identifiers: set[tuple[str, str]],
    parent_name: str,
    translation_key: str,
    translation_placeholders: Mapping[str, str],
) -> dr.ChildDeviceInfo:
    """Return the device of a port: a child device of the charger, or one linked to it.

    A child device's entity ids start with the charger's name ("ENO one Port 1 Power"); a linked device is named
    "ENO one Port 1" for the same entity ids.
    """
    if PORTS_ARE_CHILD_DEVICES:
        return dr.ChildDeviceInfo(
            identifiers=identifiers,
            parent_device_id=parent_device_id,
            translation_key=translation_key,
            translation_placeholders=translation_placeholders,
        )
    translations = translation.async_get_cached_translations(hass, hass.config.language, "device", DOMAIN)
    name = translations.get(f"component.{DOMAIN}.device.{translation_key}.name", translation_key)
    device_info: dict[str, Any] = {
        "identifiers": identifiers,
        "name": f"{parent_name} {name}".format_map(translation_placeholders),
    }
    if _LINKED_BY_DEVICE_ID:
        device_info["via_device_id"] = parent_device_id
    else:  # before 2026.9 a device is linked to another by that one's identifier
        (device_info["via_device"],) = parent_identifiers
    return cast("dr.ChildDeviceInfo", device_info)


@callback
def async_port_devices(registry: dr.DeviceRegistry, parent_device_id: str) -> list[dr.AnyDeviceEntry]:
    """Return the port devices of a charger's device."""
    if PORTS_ARE_CHILD_DEVICES:
        return list(dr.async_entries_for_parent_device(registry, parent_device_id))
    parent = registry.async_get(parent_device_id)  # registered by the same config entry before its ports
    # The charger's devices are its config entry's (reading the registry's devices as a mapping is deprecated from
    # 2026.9).
    return [
        device
        for entry_id in _config_entry_ids(parent)
        for device in dr.async_entries_for_config_entry(registry, entry_id)
        if device.via_device_id == parent_device_id
    ]


def _config_entry_ids(device: Any) -> set[str]:
    # A device belongs to several config entries before 2026.9, to one from then on (`config_entries` deprecated).
    entry_id: str | None = getattr(device, "config_entry_id", None)
    return {entry_id} if entry_id is not None else set(device.config_entries)


@callback
def async_get_device_by_identifier(
    registry: dr.DeviceRegistry, identifier: tuple[str, str], config_entry_id: str
) -> dr.DeviceEntry | None:
    """Return the (main) device with `identifier` that the config entry owns."""
    if hasattr(registry, "async_get_device_by_identifier"):
        return registry.async_get_device_by_identifier(identifier, config_entry_id)
    older: Any = registry  # its devices belong to a set of config entries before 2026.9
    device = older.async_get_device(identifiers={identifier})
    return device if device is not None and config_entry_id in device.config_entries else None


@callback
def async_get_device_and_config_entry(
    hass: HomeAssistant, domain: str, device_id: str
) -> tuple[dr.AnyDeviceEntry, ConfigEntry]:
    """Return a device (a port device too) and the loaded config entry of `domain` it belongs to.

    Raises ServiceValidationError when the device is unknown, is not `domain`'s or its entry is not loaded.
    """
    if _LOOKUP_FINDS_CHILD_DEVICES:
        return service.async_get_device_and_config_entry(hass, domain, device_id)
    registry: Any = dr.async_get(hass)
    device = registry.async_get(device_id)
    if device is None:
        raise ServiceValidationError(
            translation_domain=DOMAIN, translation_key="device_not_found", translation_placeholders={"id": device_id}
        )
    entries = [
        entry
        for entry_id in _config_entry_ids(device)
        if (entry := hass.config_entries.async_get_entry(entry_id)) is not None and entry.domain == domain
    ]
    if not entries:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="device_not_enovates",
            translation_placeholders={"device": device.name_by_user or device.name or device_id},
        )
    entry = entries[0]
    if entry.state is not ConfigEntryState.LOADED:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="entry_not_loaded",
            translation_placeholders={"title": entry.title},
        )
    return device, entry
