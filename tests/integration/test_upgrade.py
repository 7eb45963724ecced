"""Upgrading Home Assistant: an instance set up before child devices existed keeps its entities, devices and ids.

`fixtures/registries-2025.10.json` holds the device and entity registries Home Assistant 2025.10 stores for a
dual-port charger (ports linked to the charger with via_device), with stable ids and times. On a release without
child devices the test proves that file is what that release stores (and `--snapshot-update` there rewrites it), and
that every release before child devices (2026.10) stores the same devices and entities with the same links; on a
release with them, it starts from that file as an upgraded instance would.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from unittest.mock import patch

from homeassistant import bootstrap
from homeassistant.const import ATTR_DEVICE_ID, CONF_HOST, CONF_PORT, MAJOR_VERSION, MINOR_VERSION
from homeassistant.core import HomeAssistant
from homeassistant.helpers import (
    area_registry as ar,
    category_registry as cr,
    device_registry as dr,
    entity_registry as er,
    floor_registry as fr,
    issue_registry as ir,
    label_registry as lr,
    restore_state as rs,
)
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, flush_store

from custom_components.enovates.compat import PORTS_ARE_CHILD_DEVICES, async_port_devices
from custom_components.enovates.const import CONF_DUAL_PORT, CONF_EMS_CONTROL, DOMAIN
from custom_components.enovates.services import SERVICE_SET_CURRENT_LIMIT
from enovates_simulator import Simulator

from ..helpers import SERIAL

FIXTURE_RELEASE = "2025.10"
FIXTURE = Path(__file__).parent / "fixtures" / f"registries-{FIXTURE_RELEASE}.json"
ENTRY_ID = "01KENOVATESUPGRADE00000001"
TIME = "2025-10-01T00:00:00+00:00"


def layout(storage: dict[str, Any]) -> dict[str, Any]:
    """Return the devices and entities as stored, by what identifies them and links them (not the storage format)."""
    devices = {device["id"]: device for device in storage[dr.STORAGE_KEY]["data"]["devices"]}
    return {
        "devices": {
            device_id: (device["identifiers"], device["via_device_id"], device["name"])
            for device_id, device in devices.items()
        },
        "entities": {
            entity["id"]: (entity["entity_id"], entity["unique_id"], entity["device_id"])
            for entity in storage[er.STORAGE_KEY]["data"]["entities"]
        },
    }


def stable(storage: dict[str, Any]) -> dict[str, Any]:
    """Return the registries as stored, with the ids and times that differ from run to run made stable."""
    devices = json.loads(json.dumps(storage[dr.STORAGE_KEY], default=sorted))
    entities = json.loads(json.dumps(storage[er.STORAGE_KEY], default=sorted))
    device_ids: dict[str, str] = {}
    for device in sorted(devices["data"]["devices"], key=lambda device: sorted(map(tuple, device["identifiers"]))):
        device_ids[device["id"]] = f"device{len(device_ids) + 1:026d}"
    for device in devices["data"]["devices"]:
        device["id"] = device_ids[device["id"]]
        if device["via_device_id"] is not None:
            device["via_device_id"] = device_ids[device["via_device_id"]]
        device["created_at"] = device["modified_at"] = TIME
    devices["data"]["devices"].sort(key=lambda device: device["id"])
    entities["data"]["entities"].sort(key=lambda entity: entity["entity_id"])
    for number, entity in enumerate(entities["data"]["entities"], start=1):
        entity["id"] = f"entity{number:026d}"
        entity["device_id"] = device_ids[entity["device_id"]]
        entity["created_at"] = entity["modified_at"] = TIME
    return {dr.STORAGE_KEY: devices, er.STORAGE_KEY: entities}


@pytest.fixture
def hass_storage(hass_storage: dict[str, Any]) -> dict[str, Any]:
    """On a release with child devices: the registries of 2025.10, as an upgraded instance finds them."""
    if PORTS_ARE_CHILD_DEVICES:
        hass_storage.update(json.loads(FIXTURE.read_text()))
    return hass_storage


async def async_start_with_stored_registries(hass: HomeAssistant) -> None:
    """Load the registries from storage, as Home Assistant does when it starts (the harness would start empty)."""
    for registry in (ar, cr, fr, lr, ir):
        await registry.async_load(hass)
    if hasattr(dr, "async_setup"):  # from 2026.9 the device registry is set up before it loads
        dr.async_setup(hass)
    await dr.async_load(hass)
    await er.async_load(hass)
    await rs.async_load(hass)
    hass.data[bootstrap.DATA_REGISTRIES_LOADED] = None


def entry_for(simulator: Simulator) -> MockConfigEntry:
    return MockConfigEntry(
        domain=DOMAIN,
        entry_id=ENTRY_ID,
        title="ENO one",
        unique_id=SERIAL,
        data={CONF_HOST: "127.0.0.1", CONF_PORT: simulator.port, CONF_DUAL_PORT: True, CONF_EMS_CONTROL: True},
    )


@pytest.mark.parametrize("dual_port", [True])
@pytest.mark.parametrize("load_registries", [False])
@pytest.mark.usefixtures("dual_port", "load_registries")
async def test_an_instance_of_the_via_device_layout_keeps_its_ids(
    hass: HomeAssistant, simulator: Simulator, hass_storage: dict[str, Any], request: pytest.FixtureRequest
) -> None:
    old = json.loads(FIXTURE.read_text())
    await async_start_with_stored_registries(hass)
    entry = entry_for(simulator)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    devices, entities = dr.async_get(hass), er.async_get(hass)

    if not PORTS_ARE_CHILD_DEVICES:
        await flush_store(devices._store)
        await flush_store(entities._store)
        if f"{MAJOR_VERSION}.{MINOR_VERSION}" == FIXTURE_RELEASE:  # this release stores what the file says
            if request.config.getoption("--snapshot-update"):  # refreshed with the snapshots
                FIXTURE.write_text(json.dumps(stable(hass_storage), indent=2, sort_keys=True) + "\n")
                old = json.loads(FIXTURE.read_text())
            assert stable(hass_storage) == old
        # and every release before child devices the same devices and entities, linked the same way
        assert layout(stable(hass_storage)) == layout(old)
        return

    # Upgraded: the same devices (ports now child devices of the charger) and the same entities, ids and all.
    old_devices = {device["id"]: device for device in old[dr.STORAGE_KEY]["data"]["devices"]}
    charger_id = entry.runtime_data.device_id
    assert old_devices[charger_id]["identifiers"] == [[DOMAIN, SERIAL]]
    ports = {device.id: device for device in async_port_devices(devices, charger_id)}
    assert set(ports) == {id_ for id_, device in old_devices.items() if device["via_device_id"] == charger_id}
    assert len(ports) == 2
    for device_id, port in ports.items():
        assert sorted(map(list, port.identifiers)) == old_devices[device_id]["identifiers"]
    new_entities = {entity.id: entity for entity in er.async_entries_for_config_entry(entities, ENTRY_ID)}
    old_entities = old[er.STORAGE_KEY]["data"]["entities"]
    assert {
        entity["id"]: (entity["entity_id"], entity["unique_id"], entity["device_id"]) for entity in old_entities
    } == {id_: (entity.entity_id, entity.unique_id, entity.device_id) for id_, entity in new_entities.items()}
    for entity in old_entities:
        if entity["disabled_by"] is None:
            assert hass.states.get(entity["entity_id"]) is not None, entity["entity_id"]


@pytest.mark.parametrize("dual_port", [True])
@pytest.mark.usefixtures("dual_port")
async def test_ports_linked_to_the_charger_the_way_this_release_links_devices(
    hass: HomeAssistant, simulator: Simulator, mock_config_entry: MockConfigEntry, caplog: pytest.LogCaptureFixture
) -> None:
    """The layout of releases before 2026.10, linked as this release links devices (via_device_id from 2026.9, which
    deprecates via_device): on 2025.10 as it is, on the newest as on 2026.9."""
    with patch("custom_components.enovates.compat.PORTS_ARE_CHILD_DEVICES", new=False):
        mock_config_entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
        await hass.async_block_till_done(wait_background_tasks=True)
        devices = dr.async_get(hass)
        charger_id = mock_config_entry.runtime_data.device_id
        ports = sorted(async_port_devices(devices, charger_id), key=lambda device: str(device.name))
        assert [(port.name, port.via_device_id) for port in ports] == [
            ("ENO one Port 1", charger_id),
            ("ENO one Port 2", charger_id),
        ]
        for number, port in enumerate(ports, start=1):
            power = er.async_get(hass).async_get(f"sensor.eno_one_port_{number}_power")
            assert power is not None
            assert power.device_id == port.id
        # the action on a port's device reaches that port
        await hass.services.async_call(
            DOMAIN, SERVICE_SET_CURRENT_LIMIT, {ATTR_DEVICE_ID: ports[1].id, "current": 10}, blocking=True
        )
        assert simulator.charger.port(2).ems_limit_ma == 10000
        assert "deprecated" not in caplog.text
        assert await hass.config_entries.async_unload(mock_config_entry.entry_id)
