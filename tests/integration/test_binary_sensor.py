"""Binary sensors, against the simulated charger."""

from __future__ import annotations

from freezegun.api import TickingDateTimeFactory
from homeassistant.const import STATE_UNAVAILABLE, Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, snapshot_platform
from syrupy.assertion import SnapshotAssertion

from enovates_simulator import Car, Simulator

from ..helpers import advance, setup_platform


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
@pytest.mark.parametrize("dual_port", [False, True], ids=["single_port", "dual_port"])
@pytest.mark.usefixtures("dual_port")
async def test_binary_sensors(
    hass: HomeAssistant,
    simulator: Simulator,
    mock_config_entry: MockConfigEntry,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
) -> None:
    simulator.charger.port(1).plug_in()
    await setup_platform(hass, mock_config_entry, Platform.BINARY_SENSOR)
    await snapshot_platform(hass, entity_registry, snapshot, mock_config_entry.entry_id)


async def test_contactor_follows_charging(
    hass: HomeAssistant, clock_hands: TickingDateTimeFactory, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    assert hass.states.get("binary_sensor.eno_one_contactor").state == "off"
    simulator.charger.port(1).plug_in(Car())
    await advance(hass, clock_hands, 1)
    assert hass.states.get("binary_sensor.eno_one_contactor").state == "on"
    simulator.charger.load_shedding_present = True
    simulator.faults.exception(maps=["state"])
    await advance(hass, clock_hands, 1)
    assert hass.states.get("binary_sensor.eno_one_contactor").state == STATE_UNAVAILABLE
    assert hass.states.get("binary_sensor.eno_one_ems_limit_active").state == "off"
    simulator.faults.clear()
    await advance(hass, clock_hands, 1)
    assert hass.states.get("binary_sensor.eno_one_load_shedding_device").state == "on"
