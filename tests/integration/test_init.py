"""Setting up and unloading the integration, against the simulated charger."""

from __future__ import annotations

from dataclasses import replace
from unittest.mock import patch

from freezegun.api import TickingDateTimeFactory
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr, entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.enovates.compat import async_get_device_by_identifier
from custom_components.enovates.const import CONF_DUAL_PORT, CONF_EMS_CONTROL, DOMAIN
from custom_components.enovates.smart.const import CONF_GRID_SENSOR, CONF_SMART_CHARGING
from enovates_simulator import Car, EmsMode, Simulator

from ..helpers import SERIAL, advance, keep_entities, maps_read


async def test_setup_and_unload(hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry) -> None:
    entry = init_integration
    assert entry.state is ConfigEntryState.LOADED
    assert simulator.connection_count == 1
    charger = entry.runtime_data.charger
    assert charger.connected
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.NOT_LOADED
    assert not charger.connected


async def test_unreachable_charger_is_retried(
    hass: HomeAssistant, simulator: Simulator, mock_config_entry: MockConfigEntry
) -> None:
    await simulator.set_ems_mode(EmsMode.OFF)
    mock_config_entry.add_to_hass(hass)
    await hass.config_entries.async_setup(mock_config_entry.entry_id)
    assert mock_config_entry.state is ConfigEntryState.SETUP_RETRY


async def test_another_charger_at_the_address_is_an_error(
    hass: HomeAssistant, simulator: Simulator, mock_config_entry: MockConfigEntry
) -> None:
    mock_config_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(mock_config_entry, unique_id="OTHER")
    await hass.config_entries.async_setup(mock_config_entry.entry_id)
    assert mock_config_entry.state is ConfigEntryState.SETUP_ERROR
    assert "is charger SIM0000000001, not OTHER" in str(mock_config_entry.reason)


@pytest.mark.parametrize("dual_port", [True])
@pytest.mark.usefixtures("dual_port")
async def test_one_connection_for_both_ports_and_every_tier(
    hass: HomeAssistant, clock_hands: TickingDateTimeFactory, simulator: Simulator, mock_config_entry: MockConfigEntry
) -> None:
    # A car on port 2: every map of both ports every second (an idle charger is asked less, see test_idle.py).
    simulator.charger.port(2).plug_in(Car(max_current_a=16))
    stats = simulator.stats
    start = clock_hands()
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    # Scheduled polls run as background tasks: on a busy machine one may have started already.
    await hass.async_block_till_done(wait_background_tasks=True)
    setup = dict(stats.requests_by_map)
    stats.reset()
    jumped = 120
    await advance(hass, clock_hands, jumped)
    # The test's clock keeps running while it jumps (pymodbus needs a clock that runs), so the real time the polls
    # take adds to the time jumped: on a busy machine, a poll may come due once more than the jumps alone make.
    elapsed = (clock_hands() - start).total_seconds()
    assert stats.connections_opened == 0
    assert simulator.connection_count == 1
    tiers = {
        1: ("state", "measurements", "ems_limit", "current_offered"),
        10: ("mode3",),
        60: ("transaction_token",),
        24 * 3600: ("api_version", "diagnostics"),
    }
    maps = {(unit, name) for names in tiers.values() for name in names for unit in (1, 2)}
    maps -= {(2, "api_version"), (2, "diagnostics")}  # charger-wide, read from the first unit only
    # Setup reads every map, the slow tiers exactly once (a per-second map may have come due again meanwhile).
    assert set(setup) == maps
    assert all(setup[(unit, name)] == 1 for (unit, name) in maps if name not in tiers[1])
    # The promised tiers, the same count for both ports and every map of a tier: every second, every 10 s for
    # Mode 3, every minute for the token (with EMS control, it tells whether the charger still allows it); the
    # daily tier does not come. Each tier polls once per period jumped (one less if its period started late), and
    # at most once per period of the time that really passed, a period being up to a second short: Home Assistant
    # schedules the next poll a period after the last one ended, rounded down to the whole second.
    counts = dict(stats.requests_by_map)
    for period, names in tiers.items():
        tier = {counts.pop((unit, name), 0) for unit in (1, 2) for name in names if (unit, name) in maps}
        assert len(tier) == 1, f"maps polled every {period} s were polled unevenly: {tier}"
        (polls,) = tier
        most = elapsed // (period - 1) if period > 1 else elapsed + 1
        assert max(jumped // period - 1, 0) <= polls <= most, (period, polls, elapsed)
    assert counts == {}


async def test_firmware_update_reaches_the_device_registry(
    hass: HomeAssistant,
    clock_hands: TickingDateTimeFactory,
    simulator: Simulator,
    init_integration: MockConfigEntry,
    device_registry: dr.DeviceRegistry,
) -> None:
    device = device_registry.async_get(init_integration.runtime_data.device_id)
    assert device is not None
    assert device.sw_version == "2.15.1.0@3.3.0.1.3"
    simulator.charger.identity = replace(simulator.charger.identity, firmware_version="2.16.0.0@3.3.0.1.4")
    await advance(hass, clock_hands, 24 * 3600 + 60, step=3600)
    device = device_registry.async_get(init_integration.runtime_data.device_id)
    assert device is not None
    assert device.sw_version == "2.16.0.0@3.3.0.1.4"


async def test_a_charger_that_refuses_its_identity_is_retried(
    hass: HomeAssistant, simulator: Simulator, mock_config_entry: MockConfigEntry
) -> None:
    simulator.faults.exception(maps=["diagnostics"])
    mock_config_entry.add_to_hass(hass)
    await hass.config_entries.async_setup(mock_config_entry.entry_id)
    assert mock_config_entry.state is ConfigEntryState.SETUP_RETRY
    assert "refused the request" in str(mock_config_entry.reason)


async def test_maps_whose_entities_are_all_disabled_are_not_read(
    hass: HomeAssistant, clock_hands: TickingDateTimeFactory, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    async def requests_in_ten_seconds() -> set[str]:
        simulator.stats.reset()
        await advance(hass, clock_hands, 10)
        return maps_read(simulator)

    # only the power sensor of the 1 s tier left: measurements, and with EMS control the limit (one register: a
    # limit the charger lost in a reboot is put back whatever entities are enabled), nothing else of that tier
    await keep_entities(
        hass,
        init_integration,
        lambda entity: entity.unique_id.endswith(("_power", "_mode3_state")) or "port" not in entity.unique_id,
    )
    assert await requests_in_ten_seconds() == {"measurements", "ems_limit", "mode3"}
    # no entity of the 1 s tier at all: the limit only
    await keep_entities(hass, init_integration, lambda entity: entity.unique_id.endswith("_mode3_state"))
    assert await requests_in_ten_seconds() == {"ems_limit", "mode3"}


@pytest.mark.parametrize("ems_control", [False])
@pytest.mark.usefixtures("ems_control")
async def test_without_ems_control_the_heartbeat_reads_the_smallest_map(
    hass: HomeAssistant, clock_hands: TickingDateTimeFactory, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    await keep_entities(hass, init_integration, lambda entity: entity.unique_id.endswith("_mode3_state"))
    simulator.stats.reset()
    await advance(hass, clock_hands, 10)
    assert maps_read(simulator) == {"current_offered", "mode3"}


@pytest.mark.parametrize("dual_port", [True])
@pytest.mark.usefixtures("dual_port")
async def test_installation_currents_move_to_the_charger_keeping_their_history(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, entity_registry: er.EntityRegistry
) -> None:
    # Before, every port had its own copy: port 1's keeps its entity (and history), port 2's goes.
    mock_config_entry.add_to_hass(hass)
    old = {
        port: entity_registry.async_get_or_create(
            "sensor",
            DOMAIN,
            f"{SERIAL}_port{port}_installation_current_l1",
            config_entry=mock_config_entry,
            suggested_object_id=f"eno_one_port_{port}_installation_current_l1",
        )
        for port in (1, 2)
    }
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    moved = entity_registry.async_get(old[1].entity_id)
    assert moved is not None
    assert moved.unique_id == f"{SERIAL}_installation_current_l1"
    charger_device = async_get_device_by_identifier(dr.async_get(hass), (DOMAIN, SERIAL), mock_config_entry.entry_id)
    assert charger_device is not None
    assert moved.device_id == charger_device.id
    assert entity_registry.async_get(old[2].entity_id) is None


async def test_a_platform_that_fails_to_set_up_keeps_its_entities(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry, entity_registry: er.EntityRegistry
) -> None:
    power = "sensor.eno_one_power"
    entity_registry.async_update_entity(power, name="Car power", area_id="garage")
    with patch("custom_components.enovates.sensor.async_setup_entry", side_effect=RuntimeError("a bug")):
        await hass.config_entries.async_reload(init_integration.entry_id)
        await hass.async_block_till_done()
    # Home Assistant logged the failure, set up the other platforms and shows the registered entity as unavailable
    assert hass.states.get(power).attributes.get("restored") is True  # type: ignore[union-attr]
    assert hass.states.get("binary_sensor.eno_one_charging") is not None
    kept = entity_registry.async_get(power)
    assert kept is not None
    assert (kept.name, kept.area_id) == ("Car power", "garage")
    # fixed (the next release, a restart): the sensor is back as the user named it
    await hass.config_entries.async_reload(init_integration.entry_id)
    await hass.async_block_till_done()
    state = hass.states.get(power)
    assert state is not None
    assert "restored" not in state.attributes
    assert state.attributes["friendly_name"] == "Car power"


@pytest.mark.parametrize("dual_port", [True])
@pytest.mark.usefixtures("dual_port")
async def test_what_a_configuration_cannot_create_is_removed(
    hass: HomeAssistant, simulator: Simulator, mock_config_entry: MockConfigEntry, entity_registry: er.EntityRegistry
) -> None:
    mock_config_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(mock_config_entry, options={CONF_GRID_SENSOR: "sensor.grid_power"})
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()

    def unique_ids() -> set[str]:
        entries = er.async_entries_for_config_entry(entity_registry, mock_config_entry.entry_id)
        return {f"{entry.domain}.{entry.unique_id.removeprefix(SERIAL + '_')}" for entry in entries}

    everything = unique_ids()
    ems_control_only = {
        "number.port1_ems_limit",
        "switch.port1_charging_allowed",
        "sensor.port1_transaction_token",
    }
    smart_only = {"select.port1_charging_mode", "sensor.port1_smart_charging"}
    metered_only = {"sensor.quarter_average_import", "sensor.month_peak", "number.peak_limit"}
    assert ems_control_only | smart_only | metered_only < everything
    assert "sensor.port2_power" in everything
    assert "sensor.port1_ems_limit" not in everything  # the limit read-only: without EMS control only

    # smart charging turned off: its entities go, the rest stays
    hass.config_entries.async_update_entry(mock_config_entry, options={CONF_SMART_CHARGING: False})
    await hass.config_entries.async_reload(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    assert unique_ids() == {
        unique_id
        for unique_id in everything
        if unique_id.replace("port2", "port1") not in smart_only and unique_id not in metered_only
    }

    # one port, no EMS control: port 2 and EMS control's entities go, the read-only limit comes
    hass.config_entries.async_update_entry(
        mock_config_entry, data={**mock_config_entry.data, CONF_DUAL_PORT: False, CONF_EMS_CONTROL: False}
    )
    await hass.config_entries.async_reload(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    without = unique_ids()
    assert not any("port2" in unique_id for unique_id in without)
    assert not without & (ems_control_only | smart_only | metered_only)
    assert "sensor.port1_ems_limit" in without

    # EMS control again: the read-only limit goes
    hass.config_entries.async_update_entry(mock_config_entry, data={**mock_config_entry.data, CONF_EMS_CONTROL: True})
    await hass.config_entries.async_reload(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    assert "sensor.port1_ems_limit" not in unique_ids()
    assert ems_control_only < unique_ids()
