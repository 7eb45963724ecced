"""The config flow, against the simulated charger."""

from __future__ import annotations

import asyncio
from dataclasses import replace
import logging
import socket
from typing import Any, cast
from unittest.mock import AsyncMock, patch

from homeassistant.config_entries import SOURCE_USER, ConfigEntryState
from homeassistant.const import CONF_HOST
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType, InvalidData
from homeassistant.helpers import device_registry as dr, entity_registry as er
from pymodbus.datastore import ModbusServerContext
from pymodbus.server import ModbusTcpServer
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.enovates.compat import async_port_devices
from custom_components.enovates.const import CONF_DUAL_PORT, CONF_EMS_CONTROL, DOMAIN
from enovates_simulator import Car, EmsMode, Simulator

from ..helpers import SERIAL, add_charger, user_input, wait_until


async def start(hass: HomeAssistant) -> str:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"
    assert result["errors"] == {}
    return str(result["flow_id"])


@pytest.mark.parametrize("dual_port", [False, True])
@pytest.mark.parametrize("ems_control", [False, True])
async def test_user_flow_creates_the_entry(
    hass: HomeAssistant, simulator: Simulator, mock_setup_entry: AsyncMock, dual_port: bool, ems_control: bool
) -> None:
    flow_id = await start(hass)
    filled_in = user_input(simulator.port, host=" 127.0.0.1 ", dual_port=dual_port, ems_control=ems_control)
    result = await hass.config_entries.flow.async_configure(flow_id, filled_in)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "ENO one 479 0001"  # model and the tail of the serial: two chargers never look alike
    assert result["result"].unique_id == SERIAL
    assert result["data"] == user_input(simulator.port, dual_port=dual_port, ems_control=ems_control)
    assert len(mock_setup_entry.mock_calls) == 1
    # the probe's connection is closed, and no write was made
    await wait_until(lambda: simulator.connection_count == 0, "the probe's connection to close")
    assert simulator.stats.writes == []


async def test_the_entry_created_is_set_up(hass: HomeAssistant, simulator: Simulator) -> None:
    simulator.charger.port(1).plug_in(Car())
    result = await add_charger(hass, user_input(simulator.port, ems_control=True))
    entry = result["result"]
    assert entry.state is ConfigEntryState.LOADED
    assert hass.states.get("sensor.eno_one_479_0001_power").state == "11040"  # type: ignore[union-attr]
    assert hass.states.get("number.eno_one_479_0001_ems_current_limit") is not None
    # the probe's connection is gone: the entry's own is the one left
    await wait_until(lambda: simulator.connection_count == 1, "the probe's connection to close")
    assert simulator.stats.writes == []


@pytest.mark.parametrize("host", ["", "   ", "http://192.168.1.20", "192.168.1.20:502", "charger/admin", "1.2.3"])
async def test_invalid_host(hass: HomeAssistant, simulator: Simulator, host: str) -> None:
    flow_id = await start(hass)
    result = await hass.config_entries.flow.async_configure(flow_id, user_input(simulator.port, host=host))
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {CONF_HOST: "invalid_host"}
    assert simulator.stats.requests == 0


@pytest.mark.parametrize("host", ["charger.local", "eno-one", "::1"])
async def test_host_names_and_ipv6_are_accepted(hass: HomeAssistant, socket_enabled: None, host: str) -> None:
    flow_id = await start(hass)
    with patch("custom_components.enovates.config_flow.probe_charger", side_effect=ConnectionRefusedError("only here")):
        result = await hass.config_entries.flow.async_configure(flow_id, user_input(502, host=host))
    # past the host check, into the probe (which is stubbed here: these names lead nowhere on a test machine)
    assert result["errors"] == {"base": "unknown"}


@pytest.mark.usefixtures("mock_setup_entry")
async def test_a_host_name_that_does_not_resolve_says_so(
    hass: HomeAssistant, simulator: Simulator, caplog: pytest.LogCaptureFixture
) -> None:
    looked_up: list[str] = []

    async def no_such_name(host: str, port: int, **kwargs: Any) -> list[Any]:
        # What the resolver says of a name under .invalid (RFC 6761), without asking any DNS server.
        looked_up.append(host)
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    caplog.set_level(logging.DEBUG, logger="custom_components.enovates")
    flow_id = await start(hass)
    with patch.object(hass.loop, "getaddrinfo", no_such_name):
        result = await hass.config_entries.flow.async_configure(
            flow_id, user_input(simulator.port, host="charger.invalid")
        )
    assert result["errors"] == {CONF_HOST: "cannot_resolve_host"}
    assert looked_up == ["charger.invalid"]
    assert "Cannot resolve the host name charger.invalid: [Errno -2] Name or service not known" in caplog.text
    assert simulator.stats.connections_opened == 0  # nothing was tried past the name
    # a name that resolves (to the simulator) goes on to the charger
    result = await hass.config_entries.flow.async_configure(flow_id, user_input(simulator.port, host="localhost"))
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"][CONF_HOST] == "localhost"


async def _error_then_recover(
    hass: HomeAssistant, simulator: Simulator, user_input: dict[str, object], error: str
) -> None:
    flow_id = await start(hass)
    result = await hass.config_entries.flow.async_configure(flow_id, user_input)
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": error}
    simulator.faults.clear()
    await simulator.set_ems_mode(EmsMode.FULL)
    fixed = {**user_input, CONF_DUAL_PORT: simulator.charger.dual_port}
    result = await hass.config_entries.flow.async_configure(flow_id, fixed)
    assert result["type"] is FlowResultType.CREATE_ENTRY


@pytest.mark.usefixtures("mock_setup_entry")
async def test_cannot_connect(hass: HomeAssistant, simulator: Simulator) -> None:
    await simulator.set_ems_mode(EmsMode.OFF)  # nothing listens: connection refused
    await _error_then_recover(hass, simulator, user_input(simulator.port), "cannot_connect")


@pytest.mark.parametrize("request_timeout", [0.5])  # the probe waits this long for the stalled charger
@pytest.mark.usefixtures("request_timeout", "mock_setup_entry")
async def test_charger_that_does_not_answer(hass: HomeAssistant, simulator: Simulator) -> None:
    simulator.faults.stall()
    await _error_then_recover(hass, simulator, user_input(simulator.port), "cannot_connect")


@pytest.mark.usefixtures("mock_setup_entry")
async def test_a_device_refusing_the_api_version_has_modbus_off(hass: HomeAssistant, simulator: Simulator) -> None:
    # Every ENO one serves its API version unless its EMS mode is Off (on a firmware that keeps listening then):
    # that is the likeliest cause, and the message names it (another kind of Modbus device reads the same).
    simulator.faults.exception(maps=["api_version"])
    await _error_then_recover(hass, simulator, user_input(simulator.port), "ems_mode_off")


@pytest.mark.usefixtures("mock_setup_entry")
async def test_a_device_refusing_the_identity_is_not_a_charger(hass: HomeAssistant, simulator: Simulator) -> None:
    simulator.faults.exception(maps=["diagnostics"])
    await _error_then_recover(hass, simulator, user_input(simulator.port), "not_enovates")


async def test_no_serial_number_is_not_a_charger(hass: HomeAssistant, simulator: Simulator) -> None:
    identity = simulator.charger.identity
    simulator.charger.identity = replace(identity, serial_number="")
    flow_id = await start(hass)
    result = await hass.config_entries.flow.async_configure(flow_id, user_input(simulator.port))
    assert result["errors"] == {"base": "not_enovates"}


class _AllZeros(ModbusServerContext):
    """A Modbus server of another make: every holding register it is asked for reads 0."""

    single = True  # pymodbus 3.11 (Home Assistant before 2026.7) looks the unit up first: every unit is this one

    def __init__(self) -> None:
        self.simdevices = []

    def __getitem__(self, device_id: int) -> _AllZeros:
        return self

    async def async_getValues(self, *request: int) -> list[int]:  # noqa: N802 - pymodbus' name
        # pymodbus 3.13 passes (device_id, func_code, address, count), 3.11 the unit's (func_code, address, count)
        return [0] * request[-1]


async def test_a_modbus_server_of_another_make_is_not_a_charger(hass: HomeAssistant, socket_enabled: None) -> None:
    server = ModbusTcpServer(_AllZeros(), address=("127.0.0.1", 0))
    await server.listen()
    port = cast("asyncio.Server", server.transport).sockets[0].getsockname()[1]
    try:
        flow_id = await start(hass)
        result = await hass.config_entries.flow.async_configure(flow_id, user_input(port))
    finally:
        await server.shutdown()
    # its API version reads 0.0 too: what it is comes before what version it speaks
    assert result["errors"] == {"base": "not_enovates"}


async def test_an_older_firmware_without_identity_registers_is_told_to_update(
    hass: HomeAssistant, simulator: Simulator
) -> None:
    simulator.charger.identity = replace(simulator.charger.identity, api_version=(1, 1))
    simulator.faults.exception(maps=["diagnostics"])
    flow_id = await start(hass)
    result = await hass.config_entries.flow.async_configure(flow_id, user_input(simulator.port))
    assert result["errors"] == {"base": "unsupported_api_version"}


@pytest.mark.usefixtures("mock_setup_entry")
async def test_a_current_api_without_identity_registers_is_not_a_charger(
    hass: HomeAssistant, simulator: Simulator
) -> None:
    simulator.faults.exception(maps=["diagnostics"])
    await _error_then_recover(hass, simulator, user_input(simulator.port), "not_enovates")


async def test_unsupported_api_version(hass: HomeAssistant, simulator: Simulator) -> None:
    simulator.charger.identity = replace(simulator.charger.identity, api_version=(1, 1))
    flow_id = await start(hass)
    result = await hass.config_entries.flow.async_configure(flow_id, user_input(simulator.port))
    assert result["errors"] == {"base": "unsupported_api_version"}


@pytest.mark.usefixtures("mock_setup_entry")
async def test_dual_port_on_a_single_port_charger(hass: HomeAssistant, simulator: Simulator) -> None:
    await _error_then_recover(hass, simulator, user_input(simulator.port, dual_port=True), "no_second_port")


@pytest.mark.parametrize("ems_mode", [EmsMode.MONITORING])
@pytest.mark.usefixtures("ems_mode", "mock_setup_entry")
async def test_ems_control_on_a_monitoring_only_charger(hass: HomeAssistant, simulator: Simulator) -> None:
    await _error_then_recover(hass, simulator, user_input(simulator.port, ems_control=True), "ems_control_unavailable")


async def test_unexpected_error(hass: HomeAssistant, simulator: Simulator) -> None:
    flow_id = await start(hass)
    with patch("custom_components.enovates.config_flow.probe_charger", side_effect=RuntimeError("boom")):
        result = await hass.config_entries.flow.async_configure(flow_id, user_input(simulator.port))
    assert result["errors"] == {"base": "unknown"}


async def test_same_charger_at_a_new_address_updates_the_entry(
    hass: HomeAssistant, simulator: Simulator, mock_config_entry: MockConfigEntry
) -> None:
    mock_config_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(mock_config_entry, data={**mock_config_entry.data, CONF_HOST: "10.0.0.9"})
    flow_id = await start(hass)
    result = await hass.config_entries.flow.async_configure(flow_id, user_input(simulator.port))
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    assert mock_config_entry.data[CONF_HOST] == "127.0.0.1"


async def test_a_configured_charger_is_recognised_before_what_it_cannot_do(
    hass: HomeAssistant, simulator: Simulator, mock_config_entry: MockConfigEntry
) -> None:
    mock_config_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(mock_config_entry, data={**mock_config_entry.data, CONF_HOST: "10.0.0.9"})
    flow_id = await start(hass)
    # the same charger, with "dual port" ticked by mistake: it is the charger already there (at a new address)
    result = await hass.config_entries.flow.async_configure(flow_id, user_input(simulator.port, dual_port=True))
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    assert mock_config_entry.data[CONF_HOST] == "127.0.0.1"


async def test_reconfigure(hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry) -> None:
    result = await init_integration.start_reconfigure_flow(hass)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reconfigure"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], user_input(simulator.port, host="nowhere/", ems_control=False)
    )
    assert result["errors"] == {CONF_HOST: "invalid_host"}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], user_input(simulator.port, ems_control=False)
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    # the integration's own, translated text (strings.json), not Home Assistant's generic one
    assert result.get("translation_domain") is None
    assert init_integration.data[CONF_EMS_CONTROL] is False
    await hass.async_block_till_done(wait_background_tasks=True)
    # reloaded without EMS control: the limit is a sensor now
    assert hass.states.get("number.eno_one_ems_current_limit") is None
    assert hass.states.get("sensor.eno_one_ems_current_limit") is not None


@pytest.mark.parametrize("ems_mode", [EmsMode.FULL, EmsMode.MONITORING])
async def test_reconfigure_to_another_charger_is_refused(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry, ems_mode: EmsMode
) -> None:
    simulator.charger.identity = replace(simulator.charger.identity, serial_number="ANOTHER")
    await simulator.set_ems_mode(ems_mode)
    result = await init_integration.start_reconfigure_flow(hass)
    # with EMS control asked for: that it is another charger comes first, whatever else that one cannot do
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], user_input(simulator.port, ems_control=True)
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "wrong_charger"
    assert init_integration.unique_id == SERIAL


@pytest.mark.parametrize("dual_port", [True])
@pytest.mark.usefixtures("dual_port")
async def test_reconfigure_to_single_port_removes_port_2(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    entities = er.async_get(hass)
    devices = dr.async_get(hass)
    before = {entry.unique_id for entry in er.async_entries_for_config_entry(entities, init_integration.entry_id)}
    assert "SIM0000000001_port2_power" in before
    charger_device = init_integration.runtime_data.device_id
    assert len(async_port_devices(devices, charger_device)) == 2

    result = await init_integration.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], user_input(simulator.port, dual_port=False, ems_control=True)
    )
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done(wait_background_tasks=True)

    after = {entry.unique_id for entry in er.async_entries_for_config_entry(entities, init_integration.entry_id)}
    # port 1 keeps its entities (and their history): their unique ids do not depend on "dual port"
    assert after == {unique_id for unique_id in before if "_port2_" not in unique_id}
    assert async_port_devices(devices, charger_device) == []
    assert hass.states.get("sensor.eno_one_port_1_power") is not None


async def test_an_http_server_is_not_a_charger(hass: HomeAssistant, socket_enabled: None) -> None:
    async def answer_http(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(100)
        writer.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer_http, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        flow_id = await start(hass)
        result = await hass.config_entries.flow.async_configure(flow_id, user_input(port))
    finally:
        server.close()
        await server.wait_closed()
    assert result["errors"] == {"base": "not_enovates"}


@pytest.mark.parametrize("port", [0, 65536, -1])
async def test_port_out_of_range_is_refused_by_the_form(hass: HomeAssistant, socket_enabled: None, port: int) -> None:
    flow_id = await start(hass)
    with pytest.raises(InvalidData):
        await hass.config_entries.flow.async_configure(flow_id, user_input(port))
