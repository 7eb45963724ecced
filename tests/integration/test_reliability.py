"""Outages, reboots, stalls, drops and EMS mode changes: the integration keeps working and loses nothing."""

from __future__ import annotations

import logging

from freezegun.api import TickingDateTimeFactory
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import EVENT_HOMEASSISTANT_STOP, STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.enovates.const import DOMAIN
from custom_components.enovates.modbus.charger import ChargerConnectionError
from enovates_simulator import Car, EmsMode, Simulator

from ..helpers import advance, wait_until

POWER = "sensor.eno_one_power"
MODE3 = "sensor.eno_one_mode_3_state"
API = "sensor.eno_one_modbus_api_version"
LIMIT = "number.eno_one_ems_current_limit"


@pytest.fixture
def car() -> Car:
    """A car charging on port 1, at up to 16 A."""
    return Car(max_current_a=16)


def our_records(caplog: pytest.LogCaptureFixture, level: int) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno == level and r.name.startswith("custom_components.enovates")]


def library_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno >= logging.WARNING and r.name.startswith("pymodbus")]


async def test_reboot_logs_once_and_recovers_by_itself(
    hass: HomeAssistant,
    clock_hands: TickingDateTimeFactory,
    simulator: Simulator,
    init_integration: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.clear()
    await simulator.reboot(30)
    await advance(hass, clock_hands, 3)
    # a few seconds without an answer are not an outage yet: the last values stay
    for entity_id in (POWER, MODE3, API, LIMIT):
        assert hass.states.get(entity_id).state != STATE_UNAVAILABLE, entity_id
    await advance(hass, clock_hands, 3)
    for entity_id in (POWER, MODE3, API, LIMIT):
        assert hass.states.get(entity_id).state == STATE_UNAVAILABLE, entity_id
    await advance(hass, clock_hands, 30)
    assert simulator.listening
    # connection attempts are at most 5 s apart while it is away
    await advance(hass, clock_hands, 6)
    for entity_id in (POWER, MODE3, API, LIMIT):
        assert hass.states.get(entity_id).state != STATE_UNAVAILABLE, entity_id
    assert hass.states.get(POWER).state == "11040"
    assert init_integration.state is ConfigEntryState.LOADED  # no reload was needed

    warnings = our_records(caplog, logging.WARNING)
    assert len(warnings) == 1
    assert "The charger at 127.0.0.1 did not answer" in warnings[0].getMessage()
    assert warnings[0].exc_info is None  # no traceback
    assert [r.getMessage() for r in our_records(caplog, logging.INFO)] == ["Fetching enovates realtime data recovered"]
    assert our_records(caplog, logging.ERROR) == []
    # pymodbus says its own word on each connection attempt that fails (its logger is shared, and left alone)
    failures = init_integration.runtime_data.charger.link.connect_failures
    assert failures >= 3
    assert [r.getMessage().split(" [")[0] for r in library_records(caplog)] == ["Failed to connect"] * failures


@pytest.mark.parametrize("request_timeout", [0.5])  # a stall costs the test real time
@pytest.mark.usefixtures("request_timeout")
async def test_a_stalled_charger_never_piles_requests_up(
    hass: HomeAssistant,
    clock_hands: TickingDateTimeFactory,
    simulator: Simulator,
    init_integration: MockConfigEntry,
) -> None:
    simulator.faults.stall(seconds=60)
    simulator.stats.reset()
    start = clock_hands()
    await advance(hass, clock_hands, 30)
    assert hass.states.get(POWER).state == STATE_UNAVAILABLE
    # One request at a time, each given up after the request timeout, never a queue; and the connection stays:
    # a charger that stalls answers on it again afterwards (pymodbus skips the late answers by transaction id).
    elapsed = (clock_hands() - start).total_seconds()
    stats = simulator.stats
    assert 2 <= stats.requests <= elapsed + 1
    assert stats.connections_opened == 0
    assert simulator.connection_count == 1
    simulator.faults.clear()
    await advance(hass, clock_hands, 1)
    assert hass.states.get(POWER).state == "11040"
    assert stats.connections_opened == 0


async def test_a_connection_dropped_mid_request_is_retried_at_once(
    hass: HomeAssistant,
    clock_hands: TickingDateTimeFactory,
    simulator: Simulator,
    init_integration: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    simulator.charger.port(1).unplug()
    simulator.faults.drop(maps=["measurements"], times=1)
    simulator.stats.reset()
    await advance(hass, clock_hands, 1)
    # nothing went unavailable: the dropped read was made again on a new connection
    assert hass.states.get(POWER).state == "0"
    assert simulator.stats.connections_opened == 1
    # one more measurements read than polls (current offered is read once a poll): the dropped one, again
    by_map = simulator.stats.requests_by_map
    assert by_map[1, "measurements"] == by_map[1, "current_offered"] + 1
    assert our_records(caplog, logging.WARNING) == []


async def test_a_charger_that_keeps_closing_the_connection_is_not_fought_over(
    hass: HomeAssistant,
    clock_hands: TickingDateTimeFactory,
    simulator: Simulator,
    init_integration: MockConfigEntry,
    issue_registry: ir.IssueRegistry,
) -> None:
    # What a charger that serves one client at a time does when another client takes its place a moment after each
    # connection of ours: it closes ours, once it has answered on it.
    issue_id = f"competing_client_{init_integration.entry_id}"
    simulator.faults.drop(times=None, after_answers=1)
    simulator.stats.reset()
    await advance(hass, clock_hands, 2)
    issue = issue_registry.async_get_issue(DOMAIN, issue_id)
    assert issue is not None
    assert issue.translation_key == "competing_client"
    await advance(hass, clock_hands, 10)
    assert hass.states.get(POWER).state == STATE_UNAVAILABLE  # backing off: silent for longer than 5 s
    await advance(hass, clock_hands, 108)
    # Backing off, not knocking the other client off every second: a few connections in two minutes.
    assert simulator.stats.connections_opened <= 12
    simulator.faults.clear()
    await advance(hass, clock_hands, 31)  # the longest back-off
    assert hass.states.get(POWER).state == "11040"
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is not None
    await advance(hass, clock_hands, 120, step=10)
    # two minutes without the charger closing the connection: the competition is over
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is None
    assert hass.states.get(POWER).state == "11040"


async def test_unloading_withdraws_the_competing_client_repair(
    hass: HomeAssistant,
    clock_hands: TickingDateTimeFactory,
    simulator: Simulator,
    init_integration: MockConfigEntry,
    issue_registry: ir.IssueRegistry,
) -> None:
    issue_id = f"competing_client_{init_integration.entry_id}"
    simulator.faults.drop(times=None, after_answers=1)
    await advance(hass, clock_hands, 2)
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is not None
    assert await hass.config_entries.async_unload(init_integration.entry_id)
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is None


async def test_ems_control_switched_off_at_the_charger_raises_a_repair(
    hass: HomeAssistant,
    clock_hands: TickingDateTimeFactory,
    simulator: Simulator,
    init_integration: MockConfigEntry,
    issue_registry: ir.IssueRegistry,
) -> None:
    issue_id = f"ems_control_unavailable_{init_integration.entry_id}"
    assert hass.states.get(LIMIT).state == "32"
    await simulator.set_ems_mode(EmsMode.MONITORING)
    await advance(hass, clock_hands, 60)
    issue = issue_registry.async_get_issue(DOMAIN, issue_id)
    assert issue is not None
    assert issue.translation_key == "ems_control_unavailable"
    assert issue.severity is ir.IssueSeverity.ERROR
    assert hass.states.get(LIMIT).state == STATE_UNAVAILABLE
    assert hass.states.get(POWER).state == "11040"  # monitoring goes on

    await simulator.set_ems_mode(EmsMode.FULL)
    await advance(hass, clock_hands, 60)
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is None
    assert hass.states.get(LIMIT).state == "32"
    assert simulator.stats.writes == []


@pytest.mark.parametrize("ems_mode", [EmsMode.MONITORING])
# pytest 8 (the oldest harness) parametrizes only fixtures it finds named beyond an overridden one
@pytest.mark.usefixtures("ems_mode")
async def test_setup_with_ems_control_on_a_monitoring_charger_monitors_and_repairs(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry, issue_registry: ir.IssueRegistry
) -> None:
    assert init_integration.state is ConfigEntryState.LOADED
    assert issue_registry.async_get_issue(DOMAIN, f"ems_control_unavailable_{init_integration.entry_id}")
    assert hass.states.get(LIMIT).state == STATE_UNAVAILABLE
    assert hass.states.get(POWER).state == "11040"
    # unloading the entry takes its repair issue along
    assert await hass.config_entries.async_unload(init_integration.entry_id)
    assert not issue_registry.async_get_issue(DOMAIN, f"ems_control_unavailable_{init_integration.entry_id}")


async def test_slow_tiers_are_read_again_when_the_charger_is_back(
    hass: HomeAssistant, clock_hands: TickingDateTimeFactory, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    await simulator.reboot(20)
    await advance(hass, clock_hands, 2)
    simulator.charger.port(1).unplug()  # while it was away
    await advance(hass, clock_hands, 8)
    assert hass.states.get(MODE3).state == STATE_UNAVAILABLE
    await advance(hass, clock_hands, 16)
    # well before the 10 s Mode 3 tier comes round: read again because the charger came back
    assert hass.states.get(MODE3).state == "a1"


async def test_removing_the_entry_closes_the_connection(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    assert simulator.connection_count == 1
    await hass.config_entries.async_remove(init_integration.entry_id)
    await hass.async_block_till_done()
    await wait_until(lambda: simulator.connection_count == 0, "the charger to see the connection closed")


async def test_stopping_home_assistant_closes_the_connection(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    charger = init_integration.runtime_data.charger
    assert charger.connected
    hass.bus.async_fire(EVENT_HOMEASSISTANT_STOP)
    await hass.async_block_till_done()
    assert not charger.connected


@pytest.mark.parametrize("request_timeout", [1.0])
@pytest.mark.usefixtures("request_timeout")
async def test_a_slow_tier_that_fails_alone_keeps_its_values_and_stays_quiet(
    hass: HomeAssistant,
    clock_hands: TickingDateTimeFactory,
    simulator: Simulator,
    init_integration: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    simulator.faults.stall(maps=["mode3"])
    simulator.charger.port(1).unplug()
    await advance(hass, clock_hands, 10)
    # the 1 s tier, the heartbeat, reaches the charger: the Mode 3 values are last known, and nothing is logged
    assert hass.states.get(MODE3).state == "c2"
    assert hass.states.get(POWER).state == "0"
    assert our_records(caplog, logging.WARNING) == []
    simulator.faults.clear()
    # the stalled poll itself took a second: the next Mode 3 poll is due 10 s after it ended
    await advance(hass, clock_hands, 12)
    assert hass.states.get(MODE3).state == "a1"


@pytest.mark.parametrize("request_timeout", [0.5])
@pytest.mark.usefixtures("request_timeout")
async def test_stopping_during_a_poll_is_not_an_outage(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry, caplog: pytest.LogCaptureFixture
) -> None:
    simulator.faults.stall()
    realtime = init_integration.runtime_data.realtime
    poll = hass.async_create_task(realtime.async_refresh())
    await wait_until(lambda: simulator.faults.rules[0].fired > 0, "the poll's request to reach the charger")
    hass.bus.async_fire(EVENT_HOMEASSISTANT_STOP)
    await poll
    assert realtime.last_update_success
    assert our_records(caplog, logging.WARNING) == []
    with pytest.raises(ChargerConnectionError, match="closed"):
        await realtime.charger.read_api_version()


@pytest.mark.parametrize("away", [3, 12])
async def test_back_within_a_second_of_the_charger_listening_again(
    hass: HomeAssistant,
    clock_hands: TickingDateTimeFactory,
    simulator: Simulator,
    init_integration: MockConfigEntry,
    away: int,
) -> None:
    # While the charger restarts it refuses connections: they are tried at every poll, not backed off.
    realtime = init_integration.runtime_data.realtime
    await simulator.reboot(away)
    while not simulator.listening:
        await advance(hass, clock_hands, 1)
    listening_at = hass.loop.time()
    await advance(hass, clock_hands, 1)
    assert realtime._readings[1, "measurements"].read_at >= listening_at
    assert hass.states.get(POWER).state == "11040"
    charger = realtime.charger
    assert charger.link.connect_failures >= away - 2  # one refused attempt a poll
    assert charger.link.connections_opened == 2
