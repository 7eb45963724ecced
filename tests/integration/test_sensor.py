"""Sensors, against the simulated charger."""

from __future__ import annotations

from datetime import UTC, datetime

from freezegun.api import TickingDateTimeFactory
from homeassistant.const import STATE_UNAVAILABLE, STATE_UNKNOWN, Platform
from homeassistant.core import HomeAssistant, State
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    mock_restore_cache_with_extra_data,
    snapshot_platform,
)
from syrupy.assertion import SnapshotAssertion

from enovates_simulator import Car, Charger, EmsMode, ManualClock, Simulator

from ..helpers import advance, setup_platform


@pytest.fixture
def charger(charger: Charger, clock: ManualClock) -> Charger:
    """A charger with a car that has been charging for an hour on port 1 (and is plugged in on port 2)."""
    charger.port(1).plug_in(Car(max_current_a=16))
    if 2 in charger.ports:
        charger.port(2).plug_in(Car(wants_to_charge=False))
    clock.advance(3600)
    return charger


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
@pytest.mark.parametrize("dual_port", [False, True], ids=["single_port", "dual_port"])
@pytest.mark.parametrize("ems_control", [False, True], ids=["monitoring", "ems_control"])
@pytest.mark.usefixtures("ems_control")
async def test_sensors(
    hass: HomeAssistant,
    clock_hands: TickingDateTimeFactory,
    simulator: Simulator,
    mock_config_entry: MockConfigEntry,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
    dual_port: bool,
) -> None:
    # The sessions began an hour ago, before a restart of Home Assistant: their values do not depend on when
    # the test runs (within the minute).
    clock_hands.move_to(datetime(2026, 11, 24, 10, 0, tzinfo=UTC))
    session = {
        "start": "2026-11-24T09:00:00+00:00",
        "start_wh": 0,
        "last_wh": 0,
        "last_seen": "2026-11-24T09:59:00+00:00",
        "end": None,
    }
    prefixes = ("eno_one_port_1", "eno_one_port_2") if dual_port else ("eno_one",)
    mock_restore_cache_with_extra_data(
        hass,
        [
            (State(f"sensor.{prefix}_session_start", "2026-11-24T09:00:00+00:00"), {"session": session})
            for prefix in prefixes
        ],
    )
    await setup_platform(hass, mock_config_entry, Platform.SENSOR)
    await snapshot_platform(hass, entity_registry, snapshot, mock_config_entry.entry_id)


async def test_values_follow_the_charger(
    hass: HomeAssistant, clock_hands: TickingDateTimeFactory, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    assert hass.states.get("sensor.eno_one_power").state == "11040"
    energy = float(hass.states.get("sensor.eno_one_energy_imported").state)
    assert energy == 11.04  # kWh, an hour at 11 kW
    assert hass.states.get("sensor.eno_one_mode_3_state").state == "c2"

    simulator.charger.port(1).unplug()
    await advance(hass, clock_hands, 10)
    assert hass.states.get("sensor.eno_one_power").state == "0"
    assert hass.states.get("sensor.eno_one_mode_3_state").state == "a1"
    assert hass.states.get("sensor.eno_one_cable_lock").state == "unlocked"
    assert float(hass.states.get("sensor.eno_one_energy_imported").state) == energy


async def test_mode3_details_are_read_when_a_car_moves_and_every_ten_seconds(
    hass: HomeAssistant, clock_hands: TickingDateTimeFactory, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    port = simulator.charger.port(1)
    port.unplug()
    await advance(hass, clock_hands, 1)
    # the cable lock opened: Mode 3 is read at once, not 10 s later
    assert hass.states.get("sensor.eno_one_mode_3_state").state == "a1"
    assert hass.states.get("sensor.eno_one_status").state == "available"
    port.plug_in(Car(wants_to_charge=False))
    await advance(hass, clock_hands, 1)
    assert hass.states.get("sensor.eno_one_mode_3_state").state == "b2"
    assert hass.states.get("sensor.eno_one_status").state == "plugged_in"
    # a change that moves neither the lock nor the contactor waits for the 10 s tier
    simulator.charger.set_ems_limit(1, 0)
    await advance(hass, clock_hands, 1)
    assert hass.states.get("sensor.eno_one_mode_3_state").state == "b2"
    await advance(hass, clock_hands, 10)
    assert hass.states.get("sensor.eno_one_mode_3_state").state == "b1"


async def test_unknown_enum_value_only_makes_that_sensor_unknown(
    hass: HomeAssistant, clock_hands: TickingDateTimeFactory, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    simulator.faults.override(56, 42)  # an LED colour from a newer firmware
    await advance(hass, clock_hands, 1)
    assert hass.states.get("sensor.eno_one_led_color").state == STATE_UNKNOWN
    assert hass.states.get("sensor.eno_one_cable_lock").state == "locked"
    assert hass.states.get("sensor.eno_one_power").state == "11040"


async def test_a_refused_map_only_makes_its_entities_unavailable(
    hass: HomeAssistant, clock_hands: TickingDateTimeFactory, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    rule = simulator.faults.exception(maps=["measurements"])
    await advance(hass, clock_hands, 1)
    assert hass.states.get("sensor.eno_one_power").state == STATE_UNAVAILABLE
    assert hass.states.get("sensor.eno_one_cable_lock").state == "locked"
    assert hass.states.get("sensor.eno_one_current_offered").state == "32.0"
    simulator.faults.remove(rule)
    await advance(hass, clock_hands, 1)
    assert hass.states.get("sensor.eno_one_power").state == "11040"


async def test_outage_and_recovery(
    hass: HomeAssistant,
    clock_hands: TickingDateTimeFactory,
    simulator: Simulator,
    init_integration: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await simulator.reboot(3600)
    await advance(hass, clock_hands, 6)
    assert hass.states.get("sensor.eno_one_power").state == STATE_UNAVAILABLE
    assert hass.states.get("sensor.eno_one_mode_3_state").state == STATE_UNAVAILABLE
    await simulator.stop()
    await simulator.start()
    await advance(hass, clock_hands, 6)
    assert hass.states.get("sensor.eno_one_power").state == "11040"


@pytest.mark.parametrize("ems_mode", [EmsMode.MONITORING])
@pytest.mark.parametrize("ems_control", [False])
# pytest 8 (the oldest harness) parametrizes only fixtures it finds named beyond an overridden one
@pytest.mark.usefixtures("ems_mode")
@pytest.mark.usefixtures("ems_control")
async def test_ems_limit_sensor_without_ems_control(
    hass: HomeAssistant, clock_hands: TickingDateTimeFactory, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    # No limit: the charger's own maximum is what limits the car.
    assert hass.states.get("sensor.eno_one_ems_current_limit").state == "32.0"  # as "10.0" below
    assert hass.states.get("binary_sensor.eno_one_ems_limit_active").state == "off"
    simulator.charger.set_ems_limit(1, 10000)  # set by another EMS, e.g. over OCPP
    await advance(hass, clock_hands, 1)
    assert hass.states.get("sensor.eno_one_ems_current_limit").state == "10.0"
    assert hass.states.get("binary_sensor.eno_one_ems_limit_active").state == "on"
    simulator.faults.override(400, 0x8000)  # not a limit: -32768
    await advance(hass, clock_hands, 1)
    assert hass.states.get("sensor.eno_one_ems_current_limit").state == STATE_UNKNOWN
    assert hass.states.get("binary_sensor.eno_one_ems_limit_active").state == STATE_UNKNOWN


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
@pytest.mark.parametrize("dual_port", [True])
@pytest.mark.usefixtures("dual_port")
async def test_installation_currents_are_the_chargers_and_signed(
    hass: HomeAssistant, clock_hands: TickingDateTimeFactory, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    charger = simulator.charger
    charger.load_shedding_present = True
    charger.house_load_ma = (-30000, 2100, 3300)  # solar panels export 30 A on L1
    await advance(hass, clock_hands, 2)
    # port 1 draws 16 A a phase, port 2's car is full: at the grid connection L1 exports 14 A
    assert hass.states.get("sensor.eno_one_installation_current_l1").state == "-14.0"  # type: ignore[union-attr]
    assert hass.states.get("sensor.eno_one_installation_current_l2").state == "18.1"  # type: ignore[union-attr]
    assert hass.states.get("sensor.eno_one_port_2_installation_current_l1") is None
