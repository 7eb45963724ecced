"""Setting up and unloading the integration, against the simulated charger."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from freezegun.api import TickingDateTimeFactory
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr, entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.enovates.const import DOMAIN
from enovates_simulator import EmsMode, Simulator

from ..conftest import SERIAL, advance


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
async def test_one_connection_for_both_ports_and_every_tier(
    hass: HomeAssistant, clock_hands: TickingDateTimeFactory, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    stats = simulator.stats
    setup = dict(stats.requests_by_map)
    stats.reset()
    await advance(hass, clock_hands, 120)
    assert stats.connections_opened == 0
    assert simulator.connection_count == 1
    every_map_once = {(1, "api_version"): 1, (1, "diagnostics"): 1} | {
        (unit, name): 1
        for unit in (1, 2)
        for name in ("state", "measurements", "ems_limit", "current_offered", "mode3", "transaction_token")
    }
    assert setup == every_map_once
    # The promised tiers, one request per map per tick: every second, every 10 s for Mode 3 (give or take one:
    # the test's clock keeps running while it jumps, so the real time the polls take adds up), every minute for
    # the token (with EMS control, it tells whether the charger still allows it); the daily tier does not come.
    counts = dict(stats.requests_by_map)
    mode3 = counts.pop((1, "mode3"))
    assert counts.pop((2, "mode3")) == mode3
    assert 11 <= mode3 <= 13
    assert counts == {
        (unit, name): 120 for unit in (1, 2) for name in ("state", "measurements", "ems_limit", "current_offered")
    } | {(1, "transaction_token"): 2, (2, "transaction_token"): 2}


async def test_firmware_update_reaches_the_device_registry(
    hass: HomeAssistant,
    clock_hands: TickingDateTimeFactory,
    simulator: Simulator,
    init_integration: MockConfigEntry,
    device_registry: dr.DeviceRegistry,
) -> None:
    device = device_registry.async_get_device_by_identifier((DOMAIN, SERIAL), init_integration.entry_id)
    assert device is not None
    assert device.sw_version == "2.13.4"
    simulator.charger.identity = replace(simulator.charger.identity, firmware_version="2.14.0")
    await advance(hass, clock_hands, 24 * 3600 + 60, step=3600)
    device = device_registry.async_get_device_by_identifier((DOMAIN, SERIAL), init_integration.entry_id)
    assert device is not None
    assert device.sw_version == "2.14.0"


async def test_a_charger_that_refuses_its_identity_is_retried(
    hass: HomeAssistant, simulator: Simulator, mock_config_entry: MockConfigEntry
) -> None:
    simulator.faults.exception(maps=["diagnostics"])
    mock_config_entry.add_to_hass(hass)
    await hass.config_entries.async_setup(mock_config_entry.entry_id)
    assert mock_config_entry.state is ConfigEntryState.SETUP_RETRY
    assert "refused the request" in str(mock_config_entry.reason)


async def test_maps_whose_entities_are_all_disabled_are_not_read(
    hass: HomeAssistant,
    clock_hands: TickingDateTimeFactory,
    simulator: Simulator,
    init_integration: MockConfigEntry,
    entity_registry: er.EntityRegistry,
) -> None:
    entry_id = init_integration.entry_id

    def disable(keep: Callable[[str], bool]) -> None:
        for entity in er.async_entries_for_config_entry(entity_registry, entry_id):
            if not keep(entity.unique_id):
                entity_registry.async_update_entity(entity.entity_id, disabled_by=er.RegistryEntryDisabler.USER)

    async def requests_in_ten_seconds() -> set[str]:
        await hass.config_entries.async_reload(entry_id)
        await hass.async_block_till_done()
        simulator.stats.reset()
        await advance(hass, clock_hands, 10)
        return {name for (_unit, name), count in simulator.stats.requests_by_map.items() if count}

    # only the power sensor of the 1 s tier left: measurements, nothing else of that tier
    disable(lambda unique_id: unique_id.endswith(("_power", "_mode3_state")) or "port" not in unique_id)
    assert await requests_in_ten_seconds() == {"measurements", "mode3"}
    # no entity of the 1 s tier at all: it still reads the smallest map, as the heartbeat of the others
    disable(lambda unique_id: unique_id.endswith("_mode3_state"))
    assert await requests_in_ten_seconds() == {"current_offered", "mode3"}
