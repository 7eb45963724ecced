"""Charging allowed: pause and resume a port through its EMS limit."""

from __future__ import annotations

from freezegun.api import TickingDateTimeFactory
from homeassistant.components.switch import DOMAIN as SWITCH_DOMAIN
from homeassistant.const import ATTR_ENTITY_ID, SERVICE_TURN_OFF, SERVICE_TURN_ON, STATE_UNAVAILABLE, Platform
from homeassistant.core import HomeAssistant, State
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    mock_restore_cache_with_extra_data,
    snapshot_platform,
)
from syrupy.assertion import SnapshotAssertion

from enovates_simulator import Car, EmsMode, Simulator

from ..helpers import advance, setup_platform

ALLOWED = "switch.eno_one_charging_allowed"


@pytest.fixture
def car() -> Car:
    """A car charging on port 1, at up to 32 A..."""
    return Car(max_current_a=32)


@pytest.fixture
def ems_limit_ma() -> int:
    """... limited to 16 A by an EMS."""
    return 16000


async def switch(hass: HomeAssistant, service: str) -> None:
    await hass.services.async_call(SWITCH_DOMAIN, service, {ATTR_ENTITY_ID: ALLOWED}, blocking=True)


@pytest.mark.parametrize("dual_port", [False, True], ids=["single_port", "dual_port"])
@pytest.mark.usefixtures("dual_port")
async def test_switches(
    hass: HomeAssistant,
    simulator: Simulator,
    mock_config_entry: MockConfigEntry,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
) -> None:
    await setup_platform(hass, mock_config_entry, Platform.SWITCH)
    await snapshot_platform(hass, entity_registry, snapshot, mock_config_entry.entry_id)


async def test_pause_and_resume_with_the_limit_it_had(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    port = simulator.charger.port(1)
    assert hass.states.get(ALLOWED).state == "on"
    await switch(hass, SERVICE_TURN_OFF)
    assert port.ems_limit_ma == 0
    assert simulator.charger.read_port(1).currents_ma == (0, 0, 0)
    assert hass.states.get(ALLOWED).state == "off"
    await switch(hass, SERVICE_TURN_OFF)  # twice: the limit to come back to is still 16 A
    await switch(hass, SERVICE_TURN_ON)
    assert port.ems_limit_ma == 16000
    assert simulator.charger.read_port(1).currents_ma == (16000, 16000, 16000)
    assert hass.states.get(ALLOWED).state == "on"
    assert simulator.stats.writes == [(1, 0), (1, 0), (1, 16000)]


async def test_a_pause_set_elsewhere_shows_and_resumes_without_limit(
    hass: HomeAssistant, clock_hands: TickingDateTimeFactory, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    simulator.charger.set_ems_limit(1, 3000)  # under 6 A: a pause too
    await advance(hass, clock_hands, 1)
    assert hass.states.get(ALLOWED).state == "off"
    await switch(hass, SERVICE_TURN_ON)
    assert simulator.charger.port(1).ems_limit_ma == -1


async def test_a_restart_during_a_pause_resumes_with_the_limit_from_before(
    hass: HomeAssistant, simulator: Simulator, mock_config_entry: MockConfigEntry
) -> None:
    simulator.charger.set_ems_limit(1, 0)
    mock_restore_cache_with_extra_data(hass, [(State(ALLOWED, "off"), {"limit_ma": 10000})])
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert hass.states.get(ALLOWED).state == "off"
    await switch(hass, SERVICE_TURN_ON)
    assert simulator.charger.port(1).ems_limit_ma == 10000


async def test_stored_data_that_is_not_ours_is_ignored(
    hass: HomeAssistant, simulator: Simulator, mock_config_entry: MockConfigEntry
) -> None:
    mock_restore_cache_with_extra_data(hass, [(State(ALLOWED, "off"), {"something": "else"})])
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    await switch(hass, SERVICE_TURN_OFF)
    await switch(hass, SERVICE_TURN_ON)
    assert simulator.charger.port(1).ems_limit_ma == 16000


async def test_a_monitoring_only_charger_makes_it_unavailable_and_ignores_writes(
    hass: HomeAssistant, clock_hands: TickingDateTimeFactory, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    await simulator.set_ems_mode(EmsMode.MONITORING)
    with pytest.raises(HomeAssistantError, match="did not apply it"):
        await switch(hass, SERVICE_TURN_OFF)
    await advance(hass, clock_hands, 60)
    assert hass.states.get(ALLOWED).state == STATE_UNAVAILABLE


@pytest.mark.parametrize("ems_control", [False])
@pytest.mark.usefixtures("ems_control")
async def test_no_switch_without_ems_control(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    assert hass.states.get(ALLOWED) is None
