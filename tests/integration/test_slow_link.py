"""A slow or flaky link never makes a working charger unavailable: late answers, a silent map, a busy connection.

The charger-level tests run in real time with the simulator's latency fault (scaled down where the rule is about
proportions, so that the suite stays fast); the Home Assistant tests jump the clock as the others do.
"""

from __future__ import annotations

import asyncio
import importlib
import itertools
import logging
from unittest.mock import patch

from enovates_modbus.eno_one import CurrentOffered, Measurements, State
from freezegun.api import TickingDateTimeFactory
from homeassistant.components.number import ATTR_VALUE, DOMAIN as NUMBER_DOMAIN, SERVICE_SET_VALUE
from homeassistant.config_entries import SOURCE_USER
from homeassistant.const import ATTR_ENTITY_ID, CONF_HOST, CONF_PORT, STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.util import dt as dt_util
from pymodbus.client import AsyncModbusTcpClient
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.enovates.const import (
    CONF_DUAL_PORT,
    CONF_EMS_CONTROL,
    DOMAIN,
)
from custom_components.enovates.modbus import late_answers
from custom_components.enovates.modbus.charger import (
    ChargerConnectionError,
    ChargerTimeoutError,
    EnovatesCharger,
)
from custom_components.enovates.modbus.late_answers import mend_late_answer_skipping
from custom_components.enovates.modbus.link import (
    CONTENDED_DELAYS_S,
    CONTENDED_WINDOW_S,
    REFUSED_RETRY_S,
    RTT_SAMPLES,
    SLOT_TAKEN_RETRY_S,
    LinkHealth,
    Priority,
    ReconnectPolicy,
)
from custom_components.enovates.modbus.timing import OUTAGE_AFTER_S, REQUEST_TIMEOUT_S, STALE_CONNECTION_AFTER_S
from enovates_simulator import Car, Latency, Simulator

from ..helpers import advance, wait_until

POWER = "sensor.eno_one_power"
OFFERED = "sensor.eno_one_current_offered"
LIMIT = "number.eno_one_ems_current_limit"
STATUS = "sensor.eno_one_status"


@pytest.fixture
def car() -> Car:
    """A car charging on port 1, at up to 16 A."""
    return Car(max_current_a=16)


def warnings_of_ours(caplog: pytest.LogCaptureFixture) -> list[str]:
    # pymodbus' own (it logs each late answer it skips, on the versions that skip them themselves) are its to say:
    # its logger is shared with Home Assistant's Modbus integration, and left alone.
    return [
        r.getMessage()
        for r in caplog.records
        if r.levelno >= logging.WARNING and r.name.startswith("custom_components.enovates")
    ]


# --- the connection ------------------------------------------------------------------------------------------


async def test_an_answer_two_seconds_late_is_waited_for_on_the_same_connection(
    simulator: Simulator, connection: EnovatesCharger
) -> None:
    simulator.faults.slow_down(2.0)
    with patch("custom_components.enovates.modbus.charger.REQUEST_TIMEOUT_S", REQUEST_TIMEOUT_S):  # production's
        measurements = await connection.read(Measurements)
    assert measurements.charger_active_power_total == 11040
    assert simulator.stats.connections_opened == 1
    assert connection.link.round_trip_max_s >= 2.0
    assert connection.link.timeouts == 0


@pytest.mark.parametrize("request_timeout", [0.2])
@pytest.mark.usefixtures("request_timeout")
async def test_a_late_answer_is_never_taken_for_the_next_request(
    simulator: Simulator, connection: EnovatesCharger, caplog: pytest.LogCaptureFixture
) -> None:
    await connection.read(State)  # connected
    simulator.faults.slow_down(0.3)
    with pytest.raises(ChargerTimeoutError):
        await connection.read(Measurements)
    simulator.faults.clear()
    # The measurements' answer is still on its way when current offered is asked: it is skipped, not decoded as
    # the answer to current offered (it would read 16000 mA, the car's current on L1), and the connection stays.
    offered = await connection.read(CurrentOffered)
    assert offered.active_current_offered == 32000
    assert connection.link.late_answers == 1
    assert simulator.stats.connections_opened == 1
    assert connection.connected
    assert warnings_of_ours(caplog) == []


async def _hold_the_second_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """A Modbus server whose every register reads its own address; it holds back the answer to the second request
    and sends it with the third's, in one write: a late answer and the next one arrive in the same read."""
    held = b""
    for number in range(1, 4):
        header = await reader.readexactly(6)
        request = header + await reader.readexactly(int.from_bytes(header[4:6]))
        address, count = int.from_bytes(request[8:10]), int.from_bytes(request[10:12])
        registers = b"".join(register.to_bytes(2) for register in range(address, address + count))
        answer = request[:4] + (3 + len(registers)).to_bytes(2) + request[6:8] + bytes([len(registers)]) + registers
        if number == 2:
            held = answer
            continue
        writer.write(held + answer)
        await writer.drain()
    await reader.read()  # until the client closes


@pytest.mark.parametrize("request_timeout", [0.2])
@pytest.mark.usefixtures("request_timeout", "socket_enabled")
async def test_an_answer_arriving_with_a_late_one_in_the_same_read_is_taken() -> None:
    server = await asyncio.start_server(_hold_the_second_answer, "127.0.0.1", 0)
    connection = EnovatesCharger("127.0.0.1", server.sockets[0].getsockname()[1], dual_port=False)
    try:
        await connection.read(State)
        with pytest.raises(ChargerTimeoutError):
            await connection.read(Measurements)
        # The measurements' answer comes in front of current offered's, in one read (Home Assistant before 2026.7
        # has a pymodbus that lost the second): current offered's register, at address 417, reads 417.
        assert (await connection.read(CurrentOffered)).active_current_offered == 417
        assert connection.link.late_answers == 1
        assert connection.link.timeouts == 1
    finally:
        connection.close()
        server.close()
        await server.wait_closed()


async def test_a_late_answer_split_across_reads_is_skipped_once_whole() -> None:
    client = AsyncModbusTcpClient("127.0.0.1", port=502)  # never connected: its framer alone is asked
    mend_late_answer_skipping(client)
    frames = client.ctx.framer
    late = bytes.fromhex("0002 0000 0007 01 03 04 0001 0002")  # the answer to request 2, whose time is up
    awaited = bytes.fromhex("0003 0000 0005 01 03 02 7d00")  # request 3's
    assert frames.handleFrame(late[:9], 1, 3) == (0, None)  # nothing is taken of a frame still arriving
    assert frames.handleFrame(late + awaited[:9], 1, 3) == (len(late), None)  # the late one goes, whole
    assert frames.handleFrame(late, 1, 3) == (len(late), None)  # and alone
    used, answer = frames.handleFrame(awaited, 1, 3)
    assert (used, answer.transaction_id, answer.registers) == (len(awaited), 3, [32000])


@pytest.mark.parametrize(
    ("version", "skips_whole"),
    [("3.11.2", False), ("3.13.1rc1", False), ("3.13.1", True), ("3.14.0.dev2", True), ("4.0.0", True)],
)
def test_any_pymodbus_version_loads(version: str, skips_whole: bool) -> None:
    # A pre-release counts as older than its release: the mend stays on, which is harmless where it is not needed.
    try:
        with patch("pymodbus.__version__", version):
            importlib.reload(late_answers)
        assert late_answers.SKIPS_LATE_ANSWERS_WHOLE is skips_whole
    finally:
        importlib.reload(late_answers)  # back to the installed version's


@pytest.mark.parametrize("request_timeout", [0.2])
@pytest.mark.usefixtures("request_timeout")
async def test_a_late_answer_with_nothing_asked_is_counted_and_ignored(
    simulator: Simulator, connection: EnovatesCharger, caplog: pytest.LogCaptureFixture
) -> None:
    await connection.read(State)
    simulator.faults.slow_down(0.3)
    with pytest.raises(ChargerTimeoutError):
        await connection.read(Measurements)
    # the late answer arrives while nothing is asked
    await wait_until(lambda: connection.link.late_answers == 1, "the late answer")
    simulator.faults.clear()
    assert (await connection.read(CurrentOffered)).active_current_offered == 32000
    assert connection.link.late_answers == 1
    assert warnings_of_ours(caplog) == []


async def test_a_write_waits_only_for_the_request_in_flight(simulator: Simulator, connection: EnovatesCharger) -> None:
    await connection.read(State)
    simulator.faults.slow_down(0.1)
    finished: list[str] = []

    async def poll(name: str) -> None:
        await connection.read(Measurements, priority=Priority.REALTIME)
        finished.append(name)

    async def write() -> None:
        await connection.set_ems_limit(1, 10000)
        finished.append("write")

    polls = [asyncio.create_task(poll(f"poll {n}")) for n in range(4)]
    await wait_until(lambda: connection.requests_waiting == 3, "the first poll in flight, three waiting")
    await asyncio.gather(write(), *polls)
    assert finished == ["poll 0", "write", "poll 1", "poll 2", "poll 3"]
    assert simulator.charger.port(1).ems_limit_ma == 10000


async def test_refused_connections_are_retried_at_the_next_poll(
    simulator: Simulator, connection: EnovatesCharger
) -> None:
    # A charger restarting: its network answers, its Modbus server does not listen yet.
    await simulator.stop()
    with pytest.raises(ChargerConnectionError, match=r"the connection was refused; next attempt in 0\.5 s"):
        await connection.read(State)
    await simulator.start()
    # not twice within a poll: no attempt at all, not even a refused one
    with pytest.raises(ChargerConnectionError, match="not connected; next attempt in"):
        await connection.read(State)
    assert simulator.stats.connections_opened == 0
    assert connection.link.connect_failures == 1
    loop = asyncio.get_running_loop()
    assert connection._reconnect.not_before - loop.time() <= REFUSED_RETRY_S
    await wait_until(lambda: loop.time() >= connection._reconnect.not_before, "the next attempt to be due")
    assert (await connection.read(State)).contactor_state
    assert simulator.stats.connections_opened == 1


def test_the_reconnect_ladder() -> None:
    # Attempts nobody answers (the charger is off the network) back off; refused ones go again at the next poll.
    policy = ReconnectPolicy()
    assert [policy.connect_failed(0) for _ in range(6)] == [1.0, 2.0, 4.0, 5.0, 5.0, 5.0]
    assert policy.connect_failed(50, refused=True) == REFUSED_RETRY_S
    policy.connected()
    assert policy.connect_failed(100) == 1.0
    assert policy.not_before == 101
    # A slot found taken (a connection closed unanswered) is tried again every few seconds; three in a row within
    # the window mean another client holds the charger
    policy = ReconnectPolicy()
    for n in range(2):
        assert policy.slot_taken(n * SLOT_TAKEN_RETRY_S) == SLOT_TAKEN_RETRY_S
    assert not policy.contended(2 * SLOT_TAKEN_RETRY_S)
    policy.slot_taken(2 * SLOT_TAKEN_RETRY_S)
    assert policy.contended(2 * SLOT_TAKEN_RETRY_S)
    assert not policy.fought_over  # no back-off: the next attempt a few seconds later
    assert policy.not_before == 3 * SLOT_TAKEN_RETRY_S
    assert not policy.contended(CONTENDED_WINDOW_S + 0.1)

    # Two drops are a flaky moment; the third within two minutes is a competing client: back off further each time.
    policy = ReconnectPolicy()
    policy.dropped(0)
    policy.dropped(10)
    assert not policy.contended(10)
    assert policy.not_before == 0  # reconnect at once
    policy.dropped(20)
    assert policy.contended(20)
    assert policy.not_before == 20 + CONTENDED_DELAYS_S[0]
    for n in range(1, 6):
        policy.dropped(20 + n)
    assert policy.not_before == 25 + CONTENDED_DELAYS_S[-1]
    # three drops within the window, then two: the competition is over
    assert policy.contended(22 + CONTENDED_WINDOW_S)
    assert not policy.contended(23 + CONTENDED_WINDOW_S)


def test_link_health_for_diagnostics() -> None:
    health = LinkHealth()
    assert health.as_diagnostics()["round_trip_ms"] == {"samples": 0, "median": None, "p95": None, "max": None}
    assert health.typical_round_trip_s == 0
    for ms in range(1, 101):
        health.answered(ms / 1000)
    health.connections_opened = 3
    figures = health.as_diagnostics()
    assert figures["round_trip_ms"] == {"samples": 100, "median": 50.5, "p95": 96.0, "max": 100.0}
    assert figures["reconnects"] == 2
    assert health.typical_round_trip_s == pytest.approx(0.0955)


def test_latency_is_repeatable_and_checked() -> None:
    spiky = Latency(0.1, jitter=0.05, spike_probability=0.5, spike_seconds=1.2, seed=7)
    again = Latency(0.1, jitter=0.05, spike_probability=0.5, spike_seconds=1.2, seed=7)
    draws = [spiky.draw() for _ in range(200)]
    assert draws == [again.draw() for _ in range(200)]
    assert draws.count(1.2) == pytest.approx(100, abs=20)
    assert all(0.1 <= d <= 0.15 for d in draws if d != 1.2)
    with pytest.raises(ValueError, match="spike probability"):
        Latency(spike_probability=2)


# --- in Home Assistant ------------------------------------------------------------------------------------------


async def test_slow_answers_keep_every_entity_available_on_one_connection(
    hass: HomeAssistant,
    clock_hands: TickingDateTimeFactory,
    simulator: Simulator,
    init_integration: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    simulator.faults.slow_down(0.3, jitter=0.1)
    simulator.stats.reset()
    for _ in range(6):
        await advance(hass, clock_hands, 1)
        for entity_id in (POWER, OFFERED, LIMIT, STATUS):
            assert hass.states.get(entity_id).state != STATE_UNAVAILABLE, entity_id
    simulator.charger.set_ems_limit(1, 10000)  # set elsewhere: still followed on the slow link
    await advance(hass, clock_hands, 6)  # the EMS limit gives way to power and current offered: read every 5 s
    assert float(hass.states.get(LIMIT).state) == 10
    assert hass.states.get(OFFERED).state == "10.0"
    assert simulator.stats.connections_opened == 0
    assert warnings_of_ours(caplog) == []


async def test_on_a_slow_link_every_entity_starts_with_its_value(
    hass: HomeAssistant, simulator: Simulator, mock_config_entry: MockConfigEntry
) -> None:
    simulator.faults.slow_down(0.3)  # power and current offered take most of the second: the others would give way
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    # no poll yet but the first: what it did not read would be unavailable until a later one
    for entity_id in (POWER, OFFERED, LIMIT, STATUS):
        assert hass.states.get(entity_id).state != STATE_UNAVAILABLE, entity_id


async def test_one_unanswered_request_is_not_an_outage(
    hass: HomeAssistant,
    clock_hands: TickingDateTimeFactory,
    simulator: Simulator,
    init_integration: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    simulator.stats.reset()
    simulator.faults.stall(maps=["measurements"], times=1)
    for _ in range(4):
        await advance(hass, clock_hands, 1)
        assert hass.states.get(POWER).state == "11040"
    assert simulator.stats.connections_opened == 0
    assert init_integration.runtime_data.charger.link.timeouts == 1
    assert warnings_of_ours(caplog) == []


@pytest.mark.parametrize("request_timeout", [0.5])  # each unanswered request costs the test real time
@pytest.mark.usefixtures("request_timeout")
async def test_a_silent_map_takes_only_its_own_entities(
    hass: HomeAssistant,
    clock_hands: TickingDateTimeFactory,
    simulator: Simulator,
    init_integration: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    simulator.stats.reset()
    simulator.faults.stall(maps=["measurements"])
    await advance(hass, clock_hands, 8)
    assert hass.states.get(POWER).state == STATE_UNAVAILABLE
    # the other maps still answer: their entities stay, and follow the charger
    simulator.charger.set_ems_limit(1, 8000)
    await advance(hass, clock_hands, 2)
    assert float(hass.states.get(LIMIT).state) == 8
    assert hass.states.get(OFFERED).state == "8.0"
    assert hass.states.get(STATUS).state != STATE_UNAVAILABLE
    # the silent map is asked less often, so that it does not hold the others up
    requests = simulator.stats.requests_by_map
    assert requests[1, "measurements"] < requests[1, "current_offered"] / 2
    assert warnings_of_ours(caplog) == []  # the charger is not unreachable
    simulator.faults.clear()
    await advance(hass, clock_hands, 6)
    assert hass.states.get(POWER).state == "5520"
    assert simulator.stats.connections_opened == 0


async def test_a_write_and_its_read_back_on_a_slow_link(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    simulator.faults.slow_down(0.5)
    await hass.services.async_call(
        NUMBER_DOMAIN, SERVICE_SET_VALUE, {ATTR_ENTITY_ID: LIMIT, ATTR_VALUE: 12}, blocking=True
    )
    assert simulator.charger.port(1).ems_limit_ma == 12000
    assert float(hass.states.get(LIMIT).state) == 12
    assert simulator.stats.connections_opened == 1  # the set-up's


async def test_the_link_is_in_the_diagnostics_download(
    hass: HomeAssistant, clock_hands: TickingDateTimeFactory, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    simulator.faults.exception(maps=["state"], times=1)
    await advance(hass, clock_hands, 2)
    link = init_integration.runtime_data.charger.link.as_diagnostics()
    assert link["exception_answers"] == {"State": 1}
    assert link["answers"] >= link["round_trip_ms"]["samples"] > 10
    assert link["connections_opened"] == 1
    assert link["timeouts"] == link["drops"] == link["late_answers"] == 0


@pytest.mark.usefixtures("mock_setup_entry")
async def test_a_charger_answering_in_700_ms_can_be_added(hass: HomeAssistant, simulator: Simulator) -> None:
    simulator.faults.slow_down(0.7)
    with patch("custom_components.enovates.modbus.charger.REQUEST_TIMEOUT_S", REQUEST_TIMEOUT_S):  # production's
        result = await hass.config_entries.flow.async_init(
            DOMAIN,
            context={"source": SOURCE_USER},
            data={CONF_HOST: "127.0.0.1", CONF_PORT: simulator.port, CONF_DUAL_PORT: False, CONF_EMS_CONTROL: True},
        )
    assert result["type"] is FlowResultType.CREATE_ENTRY


def test_round_trips_are_kept_in_a_fixed_window() -> None:
    health = LinkHealth()
    for n in range(RTT_SAMPLES + 5):
        health.answered(n / 1000)
    kept = health.round_trips_s
    assert len(kept) == RTT_SAMPLES
    assert kept[0] == 5 / 1000
    assert kept[-1] == (RTT_SAMPLES + 4) / 1000


@pytest.mark.parametrize("request_timeout", [0.1])
@pytest.mark.usefixtures("request_timeout")
async def test_a_connection_attempt_that_hangs_is_given_up(simulator: Simulator, connection: EnovatesCharger) -> None:
    async def never(*_args: object) -> bool:
        await asyncio.Event().wait()
        return True  # pragma: no cover - never gets here

    with (
        patch.object(connection._modbus, "connect", never),
        pytest.raises(ChargerConnectionError, match="cannot connect; next attempt in 1 s"),
    ):
        await connection.read(State)
    assert connection.link.connect_failures == 1


@pytest.mark.parametrize("request_timeout", [0.1])
@pytest.mark.usefixtures("request_timeout")
async def test_a_connection_silent_for_a_minute_is_opened_afresh_and_that_is_no_drop(
    simulator: Simulator, connection: EnovatesCharger
) -> None:
    await connection.read(State)
    simulator.faults.stall()
    connection._waiting_since = asyncio.get_running_loop().time() - STALE_CONNECTION_AFTER_S
    with pytest.raises(ChargerTimeoutError):
        await connection.read(State)
    assert not connection.connected
    simulator.faults.clear()
    # the next poll comes a second later, long after the charger saw the connection go
    await wait_until(lambda: simulator.connection_count == 0, "the charger to see the connection closed")
    assert (await connection.read(State)).contactor_state
    assert (connection.link.connections_opened, connection.link.drops) == (2, 0)
    assert not connection.contended


async def test_powering_off_with_an_answer_held_back_leaves_nothing_behind(
    simulator: Simulator, connection: EnovatesCharger
) -> None:
    await connection.read(State)
    simulator.faults.slow_down(10)
    asked = simulator.stats.requests
    request = asyncio.create_task(connection.read(State))
    await wait_until(lambda: simulator.stats.requests > asked, "the request to reach the charger")
    await simulator.stop()
    with pytest.raises(ChargerConnectionError):
        await request
    assert connection.link.drops == 1


async def test_a_map_refused_by_a_slower_tier_is_unknown_alone(
    hass: HomeAssistant, clock_hands: TickingDateTimeFactory, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    simulator.faults.exception(maps=["mode3"])
    await advance(hass, clock_hands, 11)
    assert hass.states.get("sensor.eno_one_mode_3_state").state == STATE_UNAVAILABLE
    assert hass.states.get(POWER).state == "11040"


async def test_the_watchdog_tells_an_outage_while_a_poll_still_waits(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry, caplog: pytest.LogCaptureFixture
) -> None:
    realtime = init_integration.runtime_data.realtime
    charger = realtime.charger
    now = hass.loop.time()
    charger._waiting_since = now - OUTAGE_AFTER_S
    async with realtime._polling:  # a poll waits for its answer
        realtime._poll_started = now  # ... only just begun (the loop was held up): not yet
        realtime._watchdog(dt_util.utcnow())
        assert realtime.last_update_success
        realtime._poll_started = now - OUTAGE_AFTER_S  # ... waiting in vain all along
        realtime._watchdog(dt_util.utcnow())
    assert not realtime.last_update_success
    assert hass.states.get(POWER).state == STATE_UNAVAILABLE
    assert any("did not answer: no answer for 5 s" in message for message in warnings_of_ours(caplog))
    # without a poll waiting, the next poll tells
    realtime._watchdog(dt_util.utcnow())


async def test_an_answer_in_pieces_counts_once_it_is_whole(connection: EnovatesCharger) -> None:
    frame = bytes.fromhex("0007 0000 0005 01 03 02 7d00")  # transaction 7, unit 1: one register
    connection._on_packet(False, frame[:8])
    assert connection.link.answers == 0
    connection._on_packet(False, frame + frame[:3])  # the rest, and the start of the next
    assert connection.link.answers == 1
    assert connection.link.not_modbus == 0
    connection._on_packet(False, b"HTTP/1.1 400 Bad Request")
    assert connection.link.not_modbus == 1


async def test_power_and_current_offered_come_first_and_the_others_give_way(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    # 0.3 s an answer: power and current offered fill most of each second, so state and the EMS limit give way.
    # Real time (no clock jumps): the polls keep their own rhythm. Counted in polls, not in seconds, so that a busy
    # machine that makes each poll take longer changes nothing.
    simulator.faults.slow_down(0.3)
    simulator.stats.reset()
    requests = simulator.stats.requests_by_map
    await wait_until(lambda: requests[1, "current_offered"] >= 5, "five polls", within_s=30)
    polls = requests[1, "current_offered"]
    assert requests[1, "measurements"] in (polls, polls + 1)  # every poll, first
    for give_way in ("state", "ems_limit"):
        # read at least every 5 s, but not every poll
        assert 1 <= requests[1, give_way] <= polls / 2, give_way
    assert hass.states.get(POWER).state == "11040"


@pytest.mark.parametrize("dual_port", [True])
@pytest.mark.parametrize("request_timeout", [0.5])  # each unanswered request costs the test real time
@pytest.mark.usefixtures("dual_port")
async def test_a_map_silent_on_both_ports_takes_only_its_own_entities(
    hass: HomeAssistant,
    clock_hands: TickingDateTimeFactory,
    simulator: Simulator,
    init_integration: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    request_timeout: float,
) -> None:
    # The measurements stop answering on both ports for a minute; the charger answers everything else. Time scaled
    # down as a whole: two unanswered requests make exactly the silence that counts as an outage, as in production.
    for module in ("modbus.charger", "coordinator", "polling.realtime_maps"):
        monkeypatch.setattr(f"custom_components.enovates.{module}.OUTAGE_AFTER_S", 2 * request_timeout)
    simulator.charger.port(2).plug_in(Car(max_current_a=10))
    await advance(hass, clock_hands, 2)
    realtime = init_integration.runtime_data.realtime
    simulator.stats.reset()
    rule = simulator.faults.stall(maps=["measurements"])
    for second in range(60):
        await advance(hass, clock_hands, 1)
        for port in (1, 2):
            if second >= 2:  # the last power reading is kept while it is not older than the outage bound
                assert hass.states.get(f"sensor.eno_one_port_{port}_power").state == STATE_UNAVAILABLE
            for entity_id in (
                f"sensor.eno_one_port_{port}_current_offered",
                f"number.eno_one_port_{port}_ems_current_limit",
                f"sensor.eno_one_port_{port}_cable_lock",
            ):
                assert hass.states.get(entity_id).state != STATE_UNAVAILABLE, (second, entity_id)
            # ... and fresh: current offered comes first in every poll
            assert hass.loop.time() - realtime._readings[port, "current_offered"].read_at < 2, second
        if second == 30:
            simulator.charger.set_ems_limit(2, 8000)  # set elsewhere: followed all the same
    assert hass.states.get("sensor.eno_one_port_2_current_offered").state == "8.0"
    assert float(hass.states.get("number.eno_one_port_2_ems_current_limit").state) == 8
    # The silent map gives way on both ports at once, and is asked only every few seconds, on one port at a time.
    requests = simulator.stats.requests_by_map
    assert requests[1, "measurements"] + requests[2, "measurements"] <= 60 / 5 + 2
    assert requests[2, "current_offered"] >= 55
    assert warnings_of_ours(caplog) == []  # the charger was never unreachable
    simulator.faults.remove(rule)
    await advance(hass, clock_hands, 6)
    assert hass.states.get("sensor.eno_one_port_1_power").state == "11040"
    assert hass.states.get("sensor.eno_one_port_2_power").state == "5520"  # 8 A on three phases
    assert simulator.stats.connections_opened == 0


@pytest.mark.parametrize("answer_s", [0.6, 1.2])
async def test_on_a_slow_link_power_is_never_more_than_one_request_late(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry, answer_s: float
) -> None:
    # r s an answer: power and current offered alone take more than the second, so polls follow back to back.
    # Between two of them at most one other request comes (a map that gave way, or a slower tier's, which waits
    # for it): power and current offered are never older than 2r + 1 s up to a second an answer, 3r above (where
    # 2r + 1 s would leave room for no other request at all, state and EMS limit included). Real time: the polls
    # keep their own rhythm; counted in requests, so that a busy machine changes nothing.
    simulator.faults.slow_down(answer_s)
    realtime = init_integration.runtime_data.realtime
    await asyncio.sleep(4 * answer_s + 1)
    simulator.stats.reset()
    worst = dict.fromkeys(("measurements", "current_offered", "state", "ems_limit"), 0.0)
    mode3 = init_integration.runtime_data.mode3
    started = hass.loop.time()
    while hass.loop.time() - started < max(12, 20 * answer_s):  # some 6 polls at least
        await asyncio.sleep(0.05)
        # The worst case: a slower tier always has a request waiting (Mode 3 asked again and again).
        if not mode3._polling.locked():
            hass.async_create_task(mode3.async_request_refresh())
        for name in worst:
            worst[name] = max(worst[name], hass.loop.time() - realtime._readings[1, name].read_at)
    order = list(simulator.stats.order)
    polls = [n for n, name in enumerate(order) if name == "measurements"]
    assert len(polls) >= 5, order
    for first, second in itertools.pairwise(polls):
        # current offered, and one other request at most
        assert order[first + 1] == "current_offered", order
        assert second - first <= 3, order
    if answer_s <= 1:
        assert worst["measurements"] <= 2 * answer_s + 1, worst
        assert worst["current_offered"] <= 2 * answer_s + 1, worst
    # ... and nothing starves: the maps that give way are read once overdue (5 s); while a slower tier always waits
    # they have every other poll's one request, the slower tier the others (at worst the poll under way, the
    # slower tier's, the other map's, the slower tier's again, its own: 5 polls of 3r)
    assert worst["state"] <= 5 + 15 * answer_s, worst
    assert worst["ems_limit"] <= 5 + 15 * answer_s, worst
    assert order.count("mode3") >= len(polls) // 2 - 1, order
    await mode3.async_request_refresh()


@pytest.mark.parametrize("dual_port", [True])
@pytest.mark.parametrize("request_timeout", [0.5])
@pytest.mark.usefixtures("dual_port")
async def test_a_map_silent_on_one_port_keeps_the_other_ports_fresh(
    hass: HomeAssistant,
    clock_hands: TickingDateTimeFactory,
    simulator: Simulator,
    init_integration: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    request_timeout: float,
) -> None:
    for module in ("modbus.charger", "coordinator", "polling.realtime_maps"):
        monkeypatch.setattr(f"custom_components.enovates.{module}.OUTAGE_AFTER_S", 2 * request_timeout)
    realtime = init_integration.runtime_data.realtime
    simulator.faults.stall(maps=["measurements"], unit=2)
    simulator.stats.reset()
    for _ in range(20):
        await advance(hass, clock_hands, 1)
        assert hass.states.get("sensor.eno_one_port_1_power").state == "11040"
        assert hass.loop.time() - realtime._readings[1, "measurements"].read_at < 2
    assert hass.states.get("sensor.eno_one_port_2_power").state == STATE_UNAVAILABLE
    requests = simulator.stats.requests_by_map
    assert requests[2, "measurements"] <= 20 / 5 + 2
    assert warnings_of_ours(caplog) == []


@pytest.mark.parametrize("request_timeout", [0.2])
@pytest.mark.usefixtures("request_timeout")
async def test_while_unreachable_a_poll_that_hears_nothing_keeps_it_unreachable(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry, monkeypatch: pytest.MonkeyPatch
) -> None:
    realtime = init_integration.runtime_data.realtime
    realtime.reachable = False  # an outage began
    simulator.faults.stall()
    # A late answer made the charger's silence start again just now: no request of this poll makes it silent.
    monkeypatch.setattr("custom_components.enovates.modbus.charger.OUTAGE_AFTER_S", 1000)
    await realtime.async_refresh()
    assert not realtime.last_update_success
    assert str(realtime.last_exception).endswith("did not answer: no answer")  # every map asked, in vain


async def test_a_poll_that_took_its_second_is_followed_by_the_next_at_once(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    # Home Assistant starts a coordinator's polls at the whole second plus an offset of its own (up to half a
    # second): on a slow link the next poll must not wait for that offset. The largest offset there could be:
    realtime = init_integration.runtime_data.realtime
    realtime._microsecond = 0.999

    async def next_poll_due_in() -> float:
        with patch.object(hass.loop, "call_at", wraps=hass.loop.call_at) as call_at:
            await realtime.async_refresh()
        due = [call.args[0] for call in call_at.call_args_list if getattr(call.args[1], "__self__", None) is realtime]
        return due[-1] - hass.loop.time()

    simulator.faults.slow_down(0.6)
    assert await next_poll_due_in() <= 0  # power and current offered alone took 1.2 s
    simulator.faults.clear()
    assert await next_poll_due_in() > 0  # a poll within its second: the next one at the next whole second, as usual
