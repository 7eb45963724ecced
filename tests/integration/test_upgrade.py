"""Upgrading Home Assistant: an instance set up before child devices existed keeps its entities, devices and ids."""

from __future__ import annotations

from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr, entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.enovates.compat import HAS_CHILD_DEVICES, async_port_devices
from custom_components.enovates.const import DOMAIN
from enovates_simulator import Simulator

from ..conftest import SERIAL

# What Home Assistant 2025.10 (the via_device layout) registered for a dual-port charger, as entity ids.
OLD_LAYOUT = {
    1: ("sensor", "port1_power", "sensor.eno_one_port_1_power"),
    2: ("number", "port2_ems_current_limit", "number.eno_one_port_2_ems_current_limit"),
}


@pytest.mark.parametrize("dual_port", [True])
async def test_an_instance_of_the_via_device_layout_keeps_its_ids(
    hass: HomeAssistant, simulator: Simulator, mock_config_entry: MockConfigEntry
) -> None:
    mock_config_entry.add_to_hass(hass)
    devices, entities = dr.async_get(hass), er.async_get(hass)
    # The registries as a release before 2026.9 left them: port devices linked to the charger with via_device.
    charger = devices.async_get_or_create(
        config_entry_id=mock_config_entry.entry_id, identifiers={(DOMAIN, SERIAL)}, name="ENO one"
    )
    port_device_ids, entity_ids = {}, {}
    for port, (domain, key, entity_id) in OLD_LAYOUT.items():
        legacy = {"via_device_id": charger.id} if HAS_CHILD_DEVICES else {"via_device": (DOMAIN, SERIAL)}
        port_device = devices.async_get_or_create(
            config_entry_id=mock_config_entry.entry_id,
            identifiers={(DOMAIN, f"{SERIAL}_port{port}")},
            name=f"ENO one Port {port}",
            **legacy,  # type: ignore[arg-type]
        )
        port_device_ids[port] = port_device.id
        entry = entities.async_get_or_create(
            domain,
            DOMAIN,
            f"{SERIAL}_{key}",
            config_entry=mock_config_entry,
            device_id=port_device.id,
            suggested_object_id=entity_id.split(".")[1],
        )
        assert entry.entity_id == entity_id
        entity_ids[port] = (entry.id, entity_id)

    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)

    assert mock_config_entry.runtime_data.device_id == charger.id
    ports = {device.id: device for device in async_port_devices(devices, charger.id)}
    assert set(ports) == set(port_device_ids.values())  # the same devices, now of this release's kind
    for port, (registry_id, entity_id) in entity_ids.items():
        entry = entities.async_get(entity_id)
        assert entry is not None
        assert (entry.id, entry.device_id) == (registry_id, port_device_ids[port])  # same entity: same history
        assert hass.states.get(entity_id) is not None
        assert (DOMAIN, f"{SERIAL}_port{port}") in ports[port_device_ids[port]].identifiers
    if HAS_CHILD_DEVICES:
        assert all(device.parent_device_id == charger.id for device in ports.values())  # type: ignore[union-attr]
    # Nothing was registered twice: one entity per unique id, no new port device.
    unique_ids = [entry.unique_id for entry in er.async_entries_for_config_entry(entities, mock_config_entry.entry_id)]
    assert len(unique_ids) == len(set(unique_ids))
    assert Platform.SENSOR in {Platform(entry.domain) for entry in entities.entities.values()}
