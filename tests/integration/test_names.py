"""Names a user tells apart: chargers by their serial's tail, ports with their charger, and an action's picker
that offers only the devices the action accepts."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

from homeassistant.const import ATTR_DEVICE_ID
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import device_registry as dr, entity_registry as er
from homeassistant.helpers.selector import DeviceSelector
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
import yaml

from custom_components.enovates.compat import (
    PORTS_ARE_CHILD_DEVICES,
    async_get_device_by_identifier,
    async_port_devices,
)
from custom_components.enovates.const import DOMAIN
from custom_components.enovates.naming import charger_title
from custom_components.enovates.services import SERVICE_SET_CURRENT_LIMIT
from enovates_simulator import Charger, Identity, ManualClock, Simulator

from ..helpers import SERIAL, add_charger, user_input

SERVICES_YAML = Path(__file__).parents[2] / "custom_components" / "enovates" / "services.yaml"


@pytest.fixture
async def three_chargers(hass: HomeAssistant, socket_enabled: None, clock: ManualClock) -> AsyncIterator[list[str]]:
    """A single-port and a dual-port charger with EMS control, and a third one only monitored: their entry ids."""
    chargers = [
        (Charger(clock=clock, identity=Identity(serial_number="EN2021000479")), False, True),
        (Charger(clock=clock, dual_port=True, identity=Identity(serial_number="EN2023001234")), True, True),
        (Charger(clock=clock, identity=Identity(serial_number="EN2024000777")), False, False),
    ]
    async with AsyncExitStack() as stack:
        entries = []
        for charger, dual_port, ems_control in chargers:
            simulator = await stack.enter_async_context(Simulator(charger, host="127.0.0.1"))
            result = await add_charger(hass, user_input(simulator.port, dual_port=dual_port, ems_control=ems_control))
            entries.append(result["result"])
        yield [entry.entry_id for entry in entries]
        for entry in entries:
            await hass.config_entries.async_unload(entry.entry_id)


def test_a_charger_is_named_by_its_model_and_the_tail_of_its_serial() -> None:
    assert charger_title("ENO one", "EN2021000479") == "ENO one 0479"
    assert charger_title("", " EN2021000479 ") == "Enovates charger 0479"
    # two serials with the same tail: the second charger gets all of its serial
    assert charger_title("ENO one", "EN2024000479", {"ENO one 0479"}) == "ENO one EN2024000479"


async def test_chargers_have_names_and_entity_ids_a_user_tells_apart(
    hass: HomeAssistant, three_chargers: list[str]
) -> None:
    entries = [hass.config_entries.async_get_entry(entry_id) for entry_id in three_chargers]
    assert [entry.title for entry in entries if entry] == ["ENO one 479 0479", "ENO one 479 1234", "ENO one 479 0777"]
    devices = dr.async_get(hass)
    charger_names = {device.name for entry_id in three_chargers for device in charger_devices(devices, entry_id)}
    assert charger_names == {"ENO one 479 0479", "ENO one 479 1234", "ENO one 479 0777"}
    # each charger's entities carry its name, whatever order they were added in
    for entity_id in (
        "sensor.eno_one_479_0479_power",
        "number.eno_one_479_0479_ems_current_limit",
        "sensor.eno_one_479_0777_power",
        "sensor.eno_one_479_0777_ems_current_limit",
        "sensor.eno_one_479_1234_port_1_power",
        "number.eno_one_479_1234_port_2_ems_current_limit",
    ):
        assert hass.states.get(entity_id) is not None, entity_id
    assert not [state.entity_id for state in hass.states.async_all() if state.entity_id.endswith("_2")]
    # a port is named with its charger where Home Assistant names it in full (pickers, more-info, entity ids)
    entities = er.async_get(hass)
    port_power = entities.async_get("sensor.eno_one_479_1234_port_1_power")
    assert port_power is not None
    if hasattr(er, "async_get_full_entity_name"):  # 2026.9 and later
        full_name = er.async_get_full_entity_name(hass, port_power)
    else:  # a port's device is named with its charger
        full_name = hass.states.get(port_power.entity_id).attributes["friendly_name"]
    assert full_name == "ENO one 479 1234 Port 1 Power"


def offered_by_the_picker(hass: HomeAssistant) -> set[str]:
    """Return the devices the action's device picker offers, by the rule services.yaml gives the frontend."""
    config = yaml.safe_load(SERVICES_YAML.read_text())[SERVICE_SET_CURRENT_LIMIT]["fields"][ATTR_DEVICE_ID]
    selector = DeviceSelector(config["selector"]["device"]).config  # validated as Home Assistant does
    device_filters, entity_filters = selector["filter"], selector["entity"]
    devices, entities = dr.async_get(hass), er.async_get(hass)
    offered = set()
    for entry in hass.config_entries.async_entries():
        if not any(wanted["integration"] == entry.domain for wanted in device_filters):
            continue
        for device in charger_devices(devices, entry.entry_id):
            for member in [device, *async_port_devices(devices, device.id)]:
                if is_offered(member, devices, entities, entity_filters):
                    offered.add(member.id)
    return offered


def charger_devices(devices: dr.DeviceRegistry, entry_id: str) -> list[dr.DeviceEntry]:
    """Return the chargers' own devices of a config entry (before 2026.10 its ports' devices are entry devices too)."""
    return [device for device in dr.async_entries_for_config_entry(devices, entry_id) if device.via_device_id is None]


def is_offered(
    device: dr.AnyDeviceEntry, devices: dr.DeviceRegistry, entities: er.EntityRegistry, entity_filters: list[Any]
) -> bool:
    """Return whether the frontend's device picker offers `device` for the entity filters."""
    # The frontend counts a charger's child devices' entities as the charger's own (it is their composite device):
    # so the browser test saw it offer a dual-port charger, whose own device has no EMS limit. A device linked to
    # the charger (before 2026.10) is offered for its own entities only.
    members = [device, *async_port_devices(devices, device.id)] if PORTS_ARE_CHILD_DEVICES else [device]
    device_entities = [entity for member in members for entity in er.async_entries_for_device(entities, member.id)]
    return any(
        entity.platform == wanted["integration"] and entity.domain in wanted["domain"]
        for entity in device_entities
        for wanted in entity_filters
    )


async def test_the_action_picker_offers_exactly_the_devices_the_action_accepts(
    hass: HomeAssistant, three_chargers: list[str]
) -> None:
    devices = dr.async_get(hass)
    ours = {
        member.id: member
        for entry_id in three_chargers
        for device in charger_devices(devices, entry_id)
        for member in [device, *async_port_devices(devices, device.id)]
    }
    assert len(ours) == 5  # three chargers, two ports
    accepted = set()
    for device_id in ours:
        try:
            await hass.services.async_call(
                DOMAIN, SERVICE_SET_CURRENT_LIMIT, {ATTR_DEVICE_ID: device_id, "current": 16}, blocking=True
            )
        except ServiceValidationError:
            continue
        accepted.add(device_id)
    names = {ours[device_id].name for device_id in accepted}
    # the chargers with EMS control and the dual-port charger's ports; not the charger without EMS control
    ports = ["Port 1", "Port 2"] if PORTS_ARE_CHILD_DEVICES else ["ENO one 479 1234 Port 1", "ENO one 479 1234 Port 2"]
    assert names == {"ENO one 479 0479", "ENO one 479 1234", *ports}
    dual_port_charger = next(device_id for device_id in accepted if ours[device_id].name == "ENO one 479 1234")
    # Before 2026.10 the picker does not offer the dual-port charger (its own device has no EMS limit), though the
    # action accepts it: a user picks its ports there, or names the charger in YAML.
    assert offered_by_the_picker(hass) == (accepted if PORTS_ARE_CHILD_DEVICES else accepted - {dual_port_charger})


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("ENO one 479", "ENO one 479 0001"),  # the default title of before (the model): named by the serial's tail now
        ("Enovates charger", "Enovates charger 0001"),  # a charger that did not say its model
        ("Garage", "Garage"),  # the user's own title stays
    ],
)
async def test_an_entry_of_before_gets_a_distinct_name_and_keeps_its_entity_ids(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, title: str, expected: str
) -> None:
    entry = mock_config_entry
    entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(entry, title=title)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    entities = er.async_get(hass)
    before = {item.unique_id: item.entity_id for item in er.async_entries_for_config_entry(entities, entry.entry_id)}
    assert await hass.config_entries.async_unload(entry.entry_id)
    hass.config_entries.async_update_entry(entry, minor_version=1)  # as stored by the previous release

    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert (entry.title, entry.minor_version) == (expected, 2)
    device = async_get_device_by_identifier(dr.async_get(hass), (DOMAIN, SERIAL), entry.entry_id)
    assert device is not None
    assert device.name == expected
    after = {item.unique_id: item.entity_id for item in er.async_entries_for_config_entry(entities, entry.entry_id)}
    assert after == before  # dashboards and automations go on working
    power = next(entity_id for unique_id, entity_id in after.items() if unique_id == f"{SERIAL}_port1_power")
    assert hass.states.get(power).attributes["friendly_name"] == f"{expected} Power"


async def test_entity_names_follow_the_system_language(hass: HomeAssistant, mock_config_entry: MockConfigEntry) -> None:
    await hass.config.async_update(language="nl")  # Settings → System → General, not the user's profile
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    entity_id = er.async_get(hass).async_get_entity_id("sensor", DOMAIN, f"{SERIAL}_port1_current_offered")
    assert entity_id == "sensor.eno_one_aangeboden_stroom"
    assert hass.states.get(entity_id).attributes["friendly_name"] == "ENO one Aangeboden stroom"
