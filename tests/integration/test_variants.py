"""The integration under every way the real charger could behave where the evidence leaves it open.

The key paths (config flow, first poll, status, session, EMS control, recovery after a reboot) run under each
variant that lets them work; the variants that cannot work fail with a translated message naming the cause.
"""

from __future__ import annotations

import asyncio
import logging

from freezegun.api import TickingDateTimeFactory
from homeassistant.components.number import ATTR_VALUE, DOMAIN as NUMBER_DOMAIN, SERVICE_SET_VALUE
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import ATTR_ENTITY_ID, STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import issue_registry as ir
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.enovates.const import CONF_EMS_CONTROL, DOMAIN
from enovates_simulator import (
    AfterReboot,
    Car,
    EmsMode,
    EmsOff,
    ExtraClient,
    LimitWrite,
    ManualClock,
    MonitoringWrite,
    Profile,
    Simulator,
    Token,
    UnknownUnit,
)

from ..helpers import add_charger, advance, set_limit, state, user_input

# Every variant under which the key paths work, one unknown at a time.
WORKING = {
    "unknown_unit_exception": Profile(unknown_unit=UnknownUnit.EXCEPTION),
    "unknown_unit_silence": Profile(unknown_unit=UnknownUnit.SILENCE),
    "unknown_unit_as_port_1": Profile(unknown_unit=UnknownUnit.AS_UNIT_1),
    "one_client_more_refused": Profile(max_clients=1, extra_client=ExtraClient.REFUSED),
    "one_client_oldest_dropped": Profile(max_clients=1, extra_client=ExtraClient.DROP_OLDEST),
    "idle_timeout": Profile(idle_timeout_s=2.0),
    "ems_off_exceptions": Profile(ems_off=EmsOff.EXCEPTIONS),
    "limits_clamped": Profile(low_limit=LimitWrite.CLAMPED, high_limit=LimitWrite.CLAMPED),
    "limits_taken": Profile(low_limit=LimitWrite.TAKEN, high_limit=LimitWrite.TAKEN),
    "limits_rejected": Profile(low_limit=LimitWrite.REJECTED, high_limit=LimitWrite.REJECTED),
    "monitoring_write_exception": Profile(monitoring_write=MonitoringWrite.EXCEPTION),
    "reboot_keeps_limit": Profile(after_reboot=AfterReboot.KEPT),
    "reboot_resets_limit": Profile(after_reboot=AfterReboot.RESET),
    "authorisation": Profile(authorisation=True),
    "slow_boot": Profile(boot_s=0.5),
    "token_cleared": Profile(token=Token.CLEARED),
}

STATUS = "sensor.eno_one_479_0001_status"
POWER = "sensor.eno_one_479_0001_power"
LIMIT = "number.eno_one_479_0001_ems_current_limit"
SESSION_ENERGY = "sensor.eno_one_479_0001_session_energy"


@pytest.mark.parametrize("profile", list(WORKING.values()), ids=list(WORKING))
async def test_key_paths(
    hass: HomeAssistant,
    clock_hands: TickingDateTimeFactory,
    clock: ManualClock,
    simulator: Simulator,
    profile: Profile,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await simulator.wait_booted()
    charger = simulator.charger
    port = charger.port(1)

    # config flow and first poll
    result = await add_charger(hass, user_input(simulator.port, ems_control=True))
    assert result["type"] is FlowResultType.CREATE_ENTRY
    entry = hass.config_entries.async_entries(DOMAIN)[0]
    if entry.state is ConfigEntryState.SETUP_RETRY:
        # One client only, and the probe's connection was not yet gone when setup connected: the retry works.
        assert profile.max_clients == 1
        await advance(hass, clock_hands, 10)
    assert entry.state is ConfigEntryState.LOADED
    assert state(hass, STATUS) == "available"

    # a car comes, and charges (once its badge is scanned, where the charger waits for one)
    port.plug_in(Car(max_current_a=16))
    await advance(hass, clock_hands, 2)
    if profile.authorisation:
        assert state(hass, STATUS) == "plugged_in"
        port.authorise(port.badge)
        await advance(hass, clock_hands, 2)
    assert state(hass, STATUS) == "charging"

    # EMS control: limit, pause, resume
    await set_limit(hass, 10, LIMIT)
    assert port.ems_limit_ma == 10000
    await set_limit(hass, 0, LIMIT)
    await advance(hass, clock_hands, 1)
    assert state(hass, STATUS) == "paused"
    await set_limit(hass, 32, LIMIT)
    assert port.ems_limit_ma == -1
    clock.advance(600)
    if profile.idle_timeout_s is not None:
        # The polls keep the connection busy, but Home Assistant may be held up for longer than the charger waits:
        # should the charger close the idle connection, the next poll opens another, quietly.
        opened = simulator.stats.connections_opened
        assert simulator.close_idle_connections() == 1
        await advance(hass, clock_hands, 2)
        assert simulator.stats.connections_opened == opened + 1
    await advance(hass, clock_hands, 2)
    assert state(hass, STATUS) == "charging"
    assert state(hass, SESSION_ENERGY) == "1.839"  # kWh: ten minutes at 16 A, in whole Wh

    # recovery after a reboot (with a limit set for good, which Home Assistant still wants)
    await set_limit(hass, 16, LIMIT)
    await simulator.reboot(1)  # too short to show as unavailable (5 s of silence), but seen all the same
    await advance(hass, clock_hands, 1)
    await simulator.wait_booted()
    await advance(hass, clock_hands, 2)
    assert state(hass, STATUS) == "charging"
    assert port.ems_limit_ma == 16000  # kept by the charger, or put back by Home Assistant
    assert state(hass, LIMIT) == "16"

    # the car leaves: its session ends with what it took
    port.unplug()
    await advance(hass, clock_hands, 2)
    assert state(hass, STATUS) == "available"
    assert state(hass, SESSION_ENERGY) == "1.839"  # kWh: ten minutes at 16 A, in whole Wh
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


@pytest.mark.parametrize(
    ("profile", "outcome"),
    [
        (Profile(unknown_unit=UnknownUnit.EXCEPTION), "no_second_port"),
        (Profile(unknown_unit=UnknownUnit.SILENCE), "no_second_port"),
    ],
    ids=["exception", "silence"],
)
@pytest.mark.parametrize("request_timeout", [0.5])
@pytest.mark.usefixtures("request_timeout")
async def test_dual_port_on_a_single_port_charger(hass: HomeAssistant, simulator: Simulator, outcome: str) -> None:
    result = await add_charger(hass, user_input(simulator.port, dual_port=True, ems_control=True))
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": outcome}


@pytest.mark.parametrize("profile", [Profile(unknown_unit=UnknownUnit.AS_UNIT_1)])
@pytest.mark.usefixtures("profile")
async def test_a_phantom_second_port_mirrors_the_first(
    hass: HomeAssistant, clock_hands: TickingDateTimeFactory, simulator: Simulator
) -> None:
    # Nothing tells a charger that answers every unit id as port 1 apart: the README says what the user sees.
    simulator.charger.port(1).plug_in(Car(max_current_a=16))
    result = await add_charger(hass, user_input(simulator.port, dual_port=True, ems_control=True))
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await advance(hass, clock_hands, 2)
    assert (
        state(hass, "sensor.eno_one_479_0001_port_2_power")
        == state(hass, "sensor.eno_one_479_0001_port_1_power")
        != "0"
    )


@pytest.mark.parametrize(
    ("profile", "error"),
    [(Profile(ems_off=EmsOff.REFUSED), "cannot_connect"), (Profile(ems_off=EmsOff.EXCEPTIONS), "ems_mode_off")],
    ids=["refused", "exceptions"],
)
async def test_ems_mode_off_is_named(
    hass: HomeAssistant, simulator: Simulator, mock_config_entry: MockConfigEntry, error: str
) -> None:
    await simulator.set_ems_mode(EmsMode.OFF)
    result = await add_charger(hass, user_input(simulator.port, ems_control=True))
    assert result["errors"] == {"base": error}
    # an entry set up before: retried, with the cause in its message
    mock_config_entry.add_to_hass(hass)
    await hass.config_entries.async_setup(mock_config_entry.entry_id)
    assert mock_config_entry.state is ConfigEntryState.SETUP_RETRY
    expected = (
        "refuses every request: its EMS (Modbus) mode is probably Off" if error == "ems_mode_off" else "not answer"
    )
    assert expected in str(mock_config_entry.reason)


@pytest.mark.parametrize("profile", [Profile(ems_off=EmsOff.EXCEPTIONS)])
@pytest.mark.usefixtures("profile")
async def test_ems_mode_turned_off_while_running_is_named(
    hass: HomeAssistant,
    clock_hands: TickingDateTimeFactory,
    simulator: Simulator,
    init_integration: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await simulator.set_ems_mode(EmsMode.OFF)
    await advance(hass, clock_hands, 2)
    assert state(hass, "sensor.eno_one_power") == STATE_UNAVAILABLE
    assert "refuses every request: its EMS (Modbus) mode is probably Off" in caplog.text
    await simulator.set_ems_mode(EmsMode.FULL)
    await advance(hass, clock_hands, 2)
    assert state(hass, "sensor.eno_one_power") == "0"


@pytest.mark.parametrize(
    ("profile", "message"),
    [
        (Profile(monitoring_write=MonitoringWrite.IGNORED), "acknowledged the EMS current limit but did not apply"),
        (Profile(monitoring_write=MonitoringWrite.EXCEPTION), "The charger refused the EMS current limit"),
    ],
    ids=["ignored", "exception"],
)
async def test_a_limit_in_monitoring_only_fails_with_a_message(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry, message: str
) -> None:
    # Set up with EMS control in Full Control; then the installer switched the charger to Monitoring Only.
    await simulator.set_ems_mode(EmsMode.MONITORING)
    with pytest.raises(HomeAssistantError, match=message):
        await hass.services.async_call(
            NUMBER_DOMAIN,
            SERVICE_SET_VALUE,
            {ATTR_ENTITY_ID: "number.eno_one_ems_current_limit", ATTR_VALUE: 10},
            blocking=True,
        )
    assert simulator.charger.port(1).ems_limit_ma == -1


ONE_CLIENT = Profile(max_clients=1, extra_client=ExtraClient.REFUSED)


@pytest.mark.parametrize("profile", [ONE_CLIENT])
@pytest.mark.usefixtures("profile")
async def test_one_client_back_within_5_s_of_the_slot_freeing(
    hass: HomeAssistant,
    clock_hands: TickingDateTimeFactory,
    simulator: Simulator,
    init_integration: MockConfigEntry,
    issue_registry: ir.IssueRegistry,
) -> None:
    simulator.charger.port(1).plug_in(Car(max_current_a=16))
    await advance(hass, clock_hands, 2)
    # The charger restarts, and another client (an energy manager) takes its one slot before Home Assistant does.
    await simulator.stop()
    await simulator.start()
    _, other = await asyncio.open_connection("127.0.0.1", simulator.port)
    simulator.stats.reset()
    await advance(hass, clock_hands, 30)
    assert state(hass, "sensor.eno_one_power") == STATE_UNAVAILABLE
    # Refused, and asked again every few seconds: never every second, never knocking the other client off.
    assert 30 / 4 <= simulator.stats.connections_opened <= 30 / 3 + 1
    assert simulator.stats.requests == 0
    assert issue_registry.async_get_issue(DOMAIN, f"competing_client_{init_integration.entry_id}") is not None
    other.close()
    await other.wait_closed()
    for _ in range(5):
        await advance(hass, clock_hands, 1)
        if state(hass, "sensor.eno_one_power") == "11040":
            break
    assert state(hass, "sensor.eno_one_power") == "11040"


@pytest.mark.parametrize("profile", [ONE_CLIENT])
@pytest.mark.usefixtures("profile")
async def test_reconfigure_on_a_one_client_charger(
    hass: HomeAssistant, clock_hands: TickingDateTimeFactory, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    # The loaded entry holds the charger's one slot: the flow asks through that connection, not a second one.
    simulator.stats.reset()
    result = await init_integration.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], user_input(simulator.port, dual_port=True, ems_control=True)
    )
    assert result["errors"] == {"base": "no_second_port"}  # asked, and told: the charger has one port
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], user_input(simulator.port, ems_control=False)
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert simulator.stats.connections_opened == 0  # before the reload
    await hass.async_block_till_done(wait_background_tasks=True)
    if init_integration.state is ConfigEntryState.SETUP_RETRY:
        await advance(hass, clock_hands, 10)  # the old connection was not yet gone when the reload connected
    assert init_integration.state is ConfigEntryState.LOADED
    assert init_integration.data[CONF_EMS_CONTROL] is False
    assert state(hass, "sensor.eno_one_ems_current_limit") == "32.0"


@pytest.mark.parametrize("profile", [ONE_CLIENT])
@pytest.mark.usefixtures("profile")
async def test_adding_a_loaded_one_client_charger_again_says_so(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    # Asked through the loaded entry's connection: "already configured", not "no answer".
    result = await add_charger(hass, user_input(simulator.port, ems_control=True))
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    assert simulator.stats.connections_opened == 1  # the entry's, at setup
    assert init_integration.state is ConfigEntryState.LOADED
