"""Fault injection: what a flaky charger or network does to the vendor library."""

from __future__ import annotations

import asyncio

from enovates_modbus import EnoOneClient
from enovates_modbus.eno_one import LEDColor
from pymodbus import ModbusException
from pymodbus.constants import ExcCodes
import pytest

from enovates_simulator import FaultKind, Faults, Simulator

from ..helpers import eno_client, wait_until


async def test_stall_never_answers_and_later_requests_are_served(simulator: Simulator, client: EnoOneClient) -> None:
    rule = simulator.faults.stall(maps=["measurements"], times=1)
    with pytest.raises(ModbusException, match="No response"):
        await client.get_measurements()
    assert rule.fired == 1
    assert simulator.faults.rules == []
    assert (await client.get_state()).number_of_phases == 3
    assert (await client.get_measurements()).voltage_l1 == 230


async def test_stall_for_a_while_then_the_charger_answers_again(simulator: Simulator, client: EnoOneClient) -> None:
    simulator.faults.stall(seconds=0.05, times=1)
    with pytest.raises(ModbusException):
        await client.get_state()
    assert (await client.get_state()).number_of_phases == 3


async def test_stalled_requests_are_released_when_the_server_stops(simulator: Simulator, client: EnoOneClient) -> None:
    stall = simulator.faults.stall()
    request = asyncio.create_task(client.get_state())
    await wait_until(lambda: stall.fired == 1, "the request to reach the charger")
    await simulator.stop()
    with pytest.raises((ModbusException, ConnectionError)):
        await request


async def test_drop_closes_the_connection_mid_request(simulator: Simulator, client: EnoOneClient) -> None:
    simulator.faults.drop(maps=["mode3"])
    await client.get_state()
    # pymodbus does not fail the pending request when the connection closes: it times out
    with pytest.raises(ModbusException, match="No response"):
        await client.get_mode3_details()
    # meanwhile the client reconnected by itself: the old connection is gone, a new one serves
    assert simulator.stats.connections_opened == 2
    assert simulator.connection_count == 1
    assert (await client.get_state()).number_of_phases == 3


async def test_exception_on_one_map_leaves_the_others_alone(simulator: Simulator, client: EnoOneClient) -> None:
    rule = simulator.faults.exception(maps=["state"], code=ExcCodes.DEVICE_BUSY)
    for _ in range(3):
        with pytest.raises(ModbusException, match="ExceptionResponse"):
            await client.get_state()
    assert (await client.get_measurements()).voltage_l1 == 230
    assert rule.fired == 3
    simulator.faults.remove(rule)
    assert (await client.get_state()).number_of_phases == 3


async def test_faults_can_target_one_unit(simulator: Simulator, client: EnoOneClient) -> None:
    simulator.faults.exception(unit=2)
    assert (await client.get_state()).number_of_phases == 3


async def test_unknown_enum_value_breaks_the_library_decoder(simulator: Simulator, client: EnoOneClient) -> None:
    simulator.faults.override(56, 42)  # an LED colour from a newer firmware
    with pytest.raises(ValueError, match="42 is not a valid LEDColor"):
        await client.get_state()
    simulator.faults.clear()
    assert (await client.get_state()).led_color is LEDColor.GREEN


async def test_overrides_apply_per_unit_and_leave_other_registers(simulator: Simulator, client: EnoOneClient) -> None:
    simulator.faults.override(400, 0x8000, unit=1)
    simulator.faults.override(401, 0x4142, unit=2)
    registers = await client.read(400, 3)
    assert registers == [0x8000, 0, 0]
    # the library's own decoding of raw 0x8000, as the spec warns
    assert await client.get_ems_limit() == 32768


def test_fault_arguments_are_checked() -> None:
    faults = Faults()
    with pytest.raises(ValueError, match="unknown register maps"):
        faults.stall(maps=["nonsense"])
    with pytest.raises(ValueError, match=r"0\.\.65535"):
        faults.override(56, 70000)


def test_rules_fire_in_order_and_count_down() -> None:
    faults = Faults()
    drop = faults.drop(maps=["ems_limit"], times=2)
    forever = faults.exception()
    assert faults.take(1, 400, 1) is drop
    assert faults.take(1, 50, 7) is forever
    assert faults.take(1, 400, 18) is drop
    assert faults.take(1, 400, 1) is forever
    assert drop.kind is FaultKind.DROP
    assert forever.remaining is None
    assert forever.fired == 2


async def test_reboot_refuses_connections_then_answers(simulator: Simulator, client: EnoOneClient) -> None:
    await client.get_state()
    port = simulator.port
    await simulator.reboot(0.2)
    assert not simulator.listening
    assert simulator.connection_count == 0
    with pytest.raises(ConnectionRefusedError):
        await asyncio.open_connection("127.0.0.1", port)
    await simulator.wait_booted()
    assert simulator.listening
    assert simulator.port == port
    async with eno_client(simulator) as fresh:
        assert (await fresh.get_state()).number_of_phases == 3


async def test_stop_during_a_reboot_cancels_the_boot(simulator: Simulator) -> None:
    await simulator.reboot(60)
    await simulator.stop()
    await simulator.wait_booted()
    assert not simulator.listening


async def test_port_is_unknown_before_listening() -> None:
    simulator = Simulator()
    with pytest.raises(RuntimeError, match="not listened"):
        _ = simulator.port
    assert simulator.connection_count == 0
