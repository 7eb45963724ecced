"""The Enovates integration: Enovates EV chargers over Modbus TCP."""

from __future__ import annotations

import re

from homeassistant.const import CONF_HOST, CONF_PORT, EVENT_HOMEASSISTANT_STOP, Platform
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.exceptions import ConfigEntryError, ConfigEntryNotReady
from homeassistant.helpers import (
    config_validation as cv,
    device_registry as dr,
    entity_registry as er,
)
from homeassistant.helpers.storage import Store
from homeassistant.helpers.typing import ConfigType

from . import number, select, sensor, switch
from .charging.sessions import (
    STORAGE_VERSION as SESSIONS_STORAGE_VERSION,
    EnovatesSessions,
    storage_key as sessions_storage_key,
)
from .compat import async_get_device_by_identifier, async_port_devices
from .const import CONF_DUAL_PORT, CONF_EMS_CONTROL, DOMAIN
from .coordinator import (
    EnovatesDeviceCoordinator,
    EnovatesEmsControlCoordinator,
    EnovatesMode3Coordinator,
    EnovatesRealtimeCoordinator,
)
from .ems_limit.record import LimitRecord
from .ems_limit.timed import STORAGE_VERSION, EnovatesLimits, storage_key
from .issues import async_withdraw_all
from .modbus.charger import EnovatesCharger
from .naming import UNNAMED_MODEL, charger_title
from .polling.outage import NeverLoadedRepair, OutageRepair
from .runtime_data import EnovatesConfigEntry, EnovatesRuntimeData
from .services import async_setup_services
from .smart import SmartCharging
from .smart.const import CONF_SMART_CHARGING

PLATFORMS: list[Platform] = [
    Platform.BINARY_SENSOR,
    Platform.EVENT,
    Platform.NUMBER,
    Platform.SELECT,
    Platform.SENSOR,
    Platform.SWITCH,
    Platform.TIME,
]
CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Register the actions, so that automations using them validate even while a charger is not loaded."""
    async_setup_services(hass)
    return True


async def async_migrate_entry(hass: HomeAssistant, entry: EnovatesConfigEntry) -> bool:
    """Name chargers set up before 1.2 by their serial's tail, unless the user chose the title.

    Home Assistant calls this for entries 1.1 only (the one migration so far; it refuses entries of a newer major
    version itself). Only the title (and with it the device names) changes: entity ids stay as the registry holds
    them.
    """
    title = entry.title
    device = async_get_device_by_identifier(dr.async_get(hass), (DOMAIN, str(entry.unique_id)), entry.entry_id)
    default_titles = {UNNAMED_MODEL} | ({device.model} if device is not None and device.model else set())
    if entry.unique_id and title in default_titles:
        model = "" if title == UNNAMED_MODEL else title
        taken = {other.title for other in hass.config_entries.async_entries(DOMAIN) if other is not entry}
        title = charger_title(model, entry.unique_id, taken)
    hass.config_entries.async_update_entry(entry, title=title, minor_version=2)
    return True


async def async_setup_entry(hass: HomeAssistant, entry: EnovatesConfigEntry) -> bool:
    """Connect to the charger, read it once per tier, then set up the platforms."""
    try:
        return await _async_setup_entry(hass, entry)
    except ConfigEntryNotReady:
        # Home Assistant tries again; a charger that stays unreachable gets the repair a long outage gets.
        NeverLoadedRepair.async_setup_failed(hass, entry)
        raise


async def _async_setup_entry(hass: HomeAssistant, entry: EnovatesConfigEntry) -> bool:
    charger = EnovatesCharger(entry.data[CONF_HOST], entry.data[CONF_PORT], dual_port=entry.data[CONF_DUAL_PORT])
    entry.async_on_unload(charger.close)

    @callback
    def close_on_stop(_event: Event) -> None:
        # Home Assistant does not unload entries when it stops: say goodbye to the charger all the same.
        charger.close()

    entry.async_on_unload(hass.bus.async_listen_once(EVENT_HOMEASSISTANT_STOP, close_on_stop))

    realtime = EnovatesRealtimeCoordinator(hass, entry, charger)
    device = EnovatesDeviceCoordinator(hass, entry, realtime)
    await device.async_config_entry_first_refresh()
    serial = device.data.diagnostics.serial_nr
    if serial != entry.unique_id:
        # The address now answers as another charger (a new DHCP lease, say): never mix two chargers' data.
        raise ConfigEntryError(
            translation_domain=DOMAIN,
            translation_key="wrong_charger",
            translation_placeholders={"host": charger.host, "serial": serial, "expected": str(entry.unique_id)},
        )

    diagnostics = device.data.diagnostics
    device_entry = dr.async_get(hass).async_get_or_create(
        config_entry_id=entry.entry_id,
        identifiers={(DOMAIN, serial)},
        manufacturer=diagnostics.manufacturer or None,
        model=diagnostics.model_id or None,
        name=entry.title,
        serial_number=serial,
        sw_version=diagnostics.firmware_version or None,
    )

    _migrate_unique_ids(hass, entry)
    mode3 = EnovatesMode3Coordinator(hass, entry, realtime)
    ems_control = EnovatesEmsControlCoordinator(hass, entry, realtime) if entry.data[CONF_EMS_CONTROL] else None
    for coordinator in (realtime, mode3, ems_control):
        if coordinator is not None:
            await coordinator.async_config_entry_first_refresh()
    sessions = EnovatesSessions(hass, entry, realtime, mode3, ems_control)
    await sessions.async_load()
    # Written when the entry unloads (after the following stops, on_unload runs last-in first-out): a reload
    # reads them at once.
    entry.async_on_unload(sessions.async_save)
    limit_record = LimitRecord(entry, realtime)
    limits = None
    if ems_control is not None:
        # Whether the charger still allows EMS control is watched even with the token sensors disabled.
        entry.async_on_unload(ems_control.async_add_listener(lambda: None))
        limits = EnovatesLimits(hass, entry, realtime, limit_record)
        entry.async_on_unload(limits.async_shutdown)
    entry.async_on_unload(limit_record.async_start(keeper=limits))
    entry.async_on_unload(lambda: async_withdraw_all(hass, entry))

    entry.runtime_data = EnovatesRuntimeData(
        charger=charger,
        device_id=device_entry.id,
        device=device,
        realtime=realtime,
        mode3=mode3,
        ems_control=ems_control,
        limits=limits,
        limit_record=limit_record,
        sessions=sessions,
    )
    entry.async_on_unload(device.async_add_listener(lambda: _update_device_registry(hass, entry)))
    entry.async_on_unload(OutageRepair(hass, entry, realtime).async_start())
    if limits is not None and ems_control is not None:
        # Limits set for a while before a restart come back in time (now, if overdue).
        await limits.async_load()
        if entry.options.get(CONF_SMART_CHARGING, True):
            entry.runtime_data.smart = SmartCharging(
                hass, entry, realtime=realtime, mode3=mode3, ems_control=ems_control, limits=limits
            )
            entry.async_on_unload(entry.runtime_data.smart.async_start())
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    # Once the entities listen: a session that ended while Home Assistant was down is reported by the Events entity.
    entry.async_on_unload(sessions.async_start())
    _remove_stale_entities_and_devices(hass, entry)
    return True


@callback
def _migrate_unique_ids(hass: HomeAssistant, entry: EnovatesConfigEntry) -> None:
    """Keep the history of what moved from port 1 to the charger: the installation currents are charger-wide.

    Port 2's copies are left to the stale-entity clean-up: they showed the same values.
    """
    entities = er.async_get(hass)
    old_prefix = f"{entry.unique_id}_port1_installation_current_"
    for entity in er.async_entries_for_config_entry(entities, entry.entry_id):
        if entity.unique_id.startswith(old_prefix):
            # The stale-entity clean-up removes the charger-wide id at every start of an older release, so the
            # new id is never taken already.
            new_unique_id = entity.unique_id.replace("_port1_", "_", 1)
            entities.async_update_entity(entity.entity_id, new_unique_id=new_unique_id)


@callback
def _remove_stale_entities_and_devices(hass: HomeAssistant, entry: EnovatesConfigEntry) -> None:
    """Remove what an earlier configuration created and this one cannot: port 2, EMS control's, smart charging's.

    Told by the unique id, not by what this start created: a platform that failed to set up (logged by Home
    Assistant, which carries on) keeps its entities, with the names, areas and settings the user gave them.
    """
    runtime = entry.runtime_data
    entities = er.async_get(hass)
    for entity in er.async_entries_for_config_entry(entities, entry.entry_id):
        if _cannot_create(entry, entity.domain, entity.unique_id):
            entities.async_remove(entity.entity_id)
    devices = dr.async_get(hass)
    for port_device in async_port_devices(devices, runtime.device_id):
        if not er.async_entries_for_device(entities, port_device.id, include_disabled_entities=True):
            devices.async_remove_device(port_device.id)


_PORT_KEY = re.compile(r"port(\d+)_(.+)")


def _cannot_create(entry: EnovatesConfigEntry, domain: str, unique_id: str) -> bool:
    """Whether the entry as configured now cannot create the entity `unique_id` of `domain`.

    What it does not know (an id of a later release, say) is left alone.
    """
    runtime = entry.runtime_data
    key = unique_id.removeprefix(f"{entry.unique_id}_")
    if (port_key := _PORT_KEY.fullmatch(key)) is not None:
        port, key = int(port_key[1]), port_key[2]
        if port not in runtime.charger.ports:
            return True  # port 2 of a charger no longer set up as dual-port
        if domain == Platform.SENSOR and key in {d.key for d in sensor.INSTALLATION_CURRENT_SENSORS}:
            return True  # charger-wide now: port 1's was migrated (_migrate_unique_ids), port 2's copy goes
    ems_control = runtime.ems_control is not None
    smart = runtime.smart is not None
    metered = runtime.smart is not None and runtime.smart.grid_sensor is not None
    # Each as its platform's set-up decides; what is not in here every configuration creates.
    created: dict[tuple[str, str], bool] = {
        (Platform.SENSOR, sensor.EMS_LIMIT_SENSOR.key): not ems_control,  # the limit, read-only
        (Platform.SENSOR, sensor.TOKEN_SENSOR.key): ems_control,
        (Platform.NUMBER, number.EMS_LIMIT_NUMBER.key): ems_control,
        (Platform.SWITCH, switch.CHARGING_ALLOWED.key): ems_control,
        (Platform.SELECT, select.CHARGING_MODE.key): smart,
        (Platform.SENSOR, sensor.SMART_REASON.key): smart,
        (Platform.SENSOR, sensor.QUARTER_AVERAGE.key): metered,
        (Platform.SENSOR, sensor.MONTH_PEAK.key): metered,
        (Platform.NUMBER, number.PEAK_LIMIT.key): metered,
    }
    return not created.get((domain, key), True)


@callback
def _update_device_registry(hass: HomeAssistant, entry: EnovatesConfigEntry) -> None:
    """Keep the firmware version in the device registry current after the charger was updated."""
    runtime = entry.runtime_data
    firmware = runtime.device.data.diagnostics.firmware_version or None
    dr.async_get(hass).async_update_device(runtime.device_id, sw_version=firmware)


async def async_unload_entry(hass: HomeAssistant, entry: EnovatesConfigEntry) -> bool:
    """Unload the platforms; the connection closes with the entry (async_on_unload)."""
    return await hass.config_entries.async_unload_platforms(entry, PLATFORMS)


async def async_remove_entry(hass: HomeAssistant, entry: EnovatesConfigEntry) -> None:
    """Forget the limits to put back (the charger is no longer Home Assistant's to steer) and the sessions."""
    await Store[dict[str, object]](hass, STORAGE_VERSION, storage_key(entry.entry_id)).async_remove()
    key = sessions_storage_key(entry.entry_id)
    await Store[dict[str, object]](hass, SESSIONS_STORAGE_VERSION, key).async_remove()
