"""The simulator as the vendor library sees it, over real Modbus TCP on 127.0.0.1."""

from __future__ import annotations

import asyncio
import sys

from enovates_modbus import EnoOneClient
from enovates_modbus.eno_one import LEDColor, LockState, Mode3State
from pymodbus import ModbusException
import pytest

from enovates_simulator import Car, Charger, EmsMode, Identity, ManualClock, Simulator

from ..helpers import eno_client


async def test_every_map_reads_what_the_model_says(
    simulator: Simulator, client: EnoOneClient, clock: ManualClock
) -> None:
    charger = simulator.charger
    charger.port(1).plug_in(Car(max_current_a=16))
    clock.advance(3600)
    reading = charger.read_port(1)

    assert await client.check_version()
    version = await client.get_api_version()
    assert (version.major, version.minor) == (1, 2)

    state = await client.get_state()
    assert (state.number_of_phases, state.max_amp_per_phase) == (3, 32)
    assert state.ocpp_state is True
    assert state.load_shedding_state is False
    assert state.lock_state is LockState.LOCKED
    assert state.contactor_state is True
    assert state.led_color is LEDColor.BLUE

    measurements = await client.get_measurements()
    charger.sync()
    reading = charger.read_port(1)
    assert (measurements.current_l1, measurements.current_l2, measurements.current_l3) == reading.currents_ma
    assert (measurements.voltage_l1, measurements.voltage_l2, measurements.voltage_l3) == reading.voltages_v
    assert (
        measurements.charger_active_power_l1,
        measurements.charger_active_power_l2,
        measurements.charger_active_power_l3,
    ) == reading.powers_w
    assert measurements.charger_active_power_total == sum(reading.powers_w)
    assert measurements.active_energy_import_total == reading.energy_wh
    assert measurements.active_energy_import_total == 11040  # an hour at 11.04 kW
    assert measurements.installation_current_l1 == 0

    mode3 = await client.get_mode3_details()
    assert mode3.state_num is Mode3State.C2
    assert mode3.state_str == "C2"
    assert (mode3.pwm_amp, mode3.pwm, mode3.pp, mode3.CP_pos, mode3.CP_neg) == (32000, 533, 32, 6, -12)

    assert await client.get_ems_limit() == -1
    token = await client.get_transaction_token()
    assert token.transaction_token == charger.port(1).transaction_token
    assert await client.get_current_offered() == 32000

    diagnostics = await client.get_diagnostics()
    assert diagnostics.manufacturer == "Enovates NV"
    assert diagnostics.vendor_id == "Enovates"
    assert diagnostics.serial_nr == "SIM0000000001"
    assert diagnostics.model_id == "ENO one 479"
    assert diagnostics.firmware_version == "2.15.1.0@3.3.0.1.3"


async def test_negative_and_32_bit_values_reach_the_library(socket_enabled: None, clock: ManualClock) -> None:
    charger = Charger(clock=clock, load_shedding_present=True, house_load_ma=(-70000, 100_000, 0))
    async with Simulator(charger) as simulator, eno_client(simulator) as client:
        measurements = await client.get_measurements()
    assert measurements.installation_current_l1 == -70000
    assert measurements.installation_current_l2 == 100_000


async def test_full_control_limit_write_takes_effect(
    simulator: Simulator, client: EnoOneClient, clock: ManualClock
) -> None:
    simulator.charger.port(1).plug_in(Car(max_current_a=32))
    await client.set_ems_limit(10000)
    assert await client.get_ems_limit() == 10000
    assert await client.get_current_offered() == 10000
    measurements = await client.get_measurements()
    assert measurements.current_l1 == 10000
    assert simulator.stats.writes == [(1, 10000)]

    await client.set_ems_limit(-1)
    assert await client.get_ems_limit() == -1
    assert await client.get_current_offered() == 32000
    await client.set_ems_limit(0)
    assert (await client.get_mode3_details()).state_num is Mode3State.B1


async def test_multi_register_write_is_accepted_too(simulator: Simulator, client: EnoOneClient) -> None:
    await client.write(400, [16000])
    assert simulator.charger.port(1).ems_limit_ma == 16000
    with pytest.raises(ModbusException):
        await client.write(400, [16000, 0])


async def test_out_of_range_limit_is_rejected(simulator: Simulator, client: EnoOneClient) -> None:
    with pytest.raises(ModbusException, match="ExceptionResponse"):
        await client.set_ems_limit(32001)
    with pytest.raises(ModbusException):
        await client.write_single(400, 0xFFFE)  # -2
    assert simulator.charger.port(1).ems_limit_ma == -1
    assert simulator.stats.writes == []


async def test_monitoring_accepts_limit_writes_and_ignores_them(simulator: Simulator, client: EnoOneClient) -> None:
    await simulator.set_ems_mode(EmsMode.MONITORING)
    await client.set_ems_limit(6000)
    assert await client.get_ems_limit() == -1
    assert simulator.stats.writes == [(1, 6000)]
    with pytest.raises(ModbusException):
        await client.get_transaction_token()
    # everything else still reads
    assert (await client.get_state()).number_of_phases == 3


async def test_off_refuses_connections(simulator: Simulator) -> None:
    port = simulator.port
    await simulator.set_ems_mode(EmsMode.OFF)
    assert not simulator.listening
    with pytest.raises(ConnectionRefusedError):
        await asyncio.open_connection("127.0.0.1", port)
    await simulator.set_ems_mode(EmsMode.FULL)
    assert simulator.port == port
    async with eno_client(simulator) as client:
        assert await client.check_version()


async def test_read_only_and_unmapped_registers_answer_exceptions(simulator: Simulator, client: EnoOneClient) -> None:
    with pytest.raises(ModbusException):
        await client.read(57, 1)
    with pytest.raises(ModbusException):
        await client.read(5079, 2)
    with pytest.raises(ModbusException):
        await client.write_single(50, 1)
    with pytest.raises(ModbusException):
        await client.write_single(417, 1)
    # a read across adjacent maps is fine
    assert len(await client.read(400, 18)) == 18


async def test_other_function_codes_are_illegal(simulator: Simulator, client: EnoOneClient) -> None:
    await client.ensure_connected()
    reply = await client.client.read_input_registers(0, count=2, device_id=1)
    assert reply.isError()
    assert reply.exception_code == 1
    reply = await client.client.write_coil(0, True, device_id=1)
    assert reply.isError()
    assert reply.exception_code == 1


async def test_dual_port_units_have_their_own_car(socket_enabled: None, clock: ManualClock) -> None:
    charger = Charger(clock=clock, dual_port=True, identity=Identity(serial_number="DUAL01"))
    charger.port(2).plug_in()
    async with Simulator(charger) as simulator, eno_client(simulator, 1) as one, eno_client(simulator, 2) as two:
        assert (await one.get_mode3_details()).state_num is Mode3State.A1
        assert (await two.get_mode3_details()).state_num is Mode3State.C2
        assert (await one.get_diagnostics()).serial_nr == (await two.get_diagnostics()).serial_nr == "DUAL01"
        await two.set_ems_limit(8000)
        assert await two.get_ems_limit() == 8000
        assert await one.get_ems_limit() == -1
        assert simulator.stats.requests_by_map[2, "ems_limit"] == 2


async def test_unknown_unit_ids_get_an_exception(simulator: Simulator) -> None:
    async with eno_client(simulator, 2) as client:
        with pytest.raises(ModbusException):
            await client.get_state()
        with pytest.raises(ModbusException):
            await client.set_ems_limit(6000)
    assert simulator.charger.port(1).ems_limit_ma == -1


async def test_traffic_is_counted(simulator: Simulator, client: EnoOneClient) -> None:
    await client.get_state()
    await client.get_measurements()
    stats = simulator.stats
    assert stats.requests == 2
    assert stats.requests_by_map[1, "state"] == 1
    assert stats.connections_opened == 1
    assert simulator.connection_count == 1
    # MBAP header (7) + function (1) + address (2) + count (2) per request
    assert stats.bytes_received == 24
    # MBAP (7) + function (1) + byte count (1) + 2 bytes a register
    assert stats.bytes_sent == (9 + 14) + (9 + 36)
    stats.reset()
    assert (stats.requests, stats.bytes_sent, stats.writes) == (0, 0, [])


async def test_the_library_cli_dumps_every_map(simulator: Simulator) -> None:
    simulator.charger.port(1).plug_in()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "enovates_modbus",
        "-h",
        "127.0.0.1",
        "-p",
        str(simulator.port),
        "-m",
        "enoone",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode == 0, stderr.decode()
    dump = stdout.decode()
    assert "ERROR" not in dump
    for name in (
        "APIVersion(major=1, minor=2)",
        "State(",
        "Measurements(",
        "Mode3Details(state_num=<Mode3State.C2: 5>",
        "EMSLimit(ems_limit=-1)",
        "TransactionToken(transaction_token='04",
        "CurrentOffered(active_current_offered=32000)",
        "Diagnostics(manufacturer='Enovates NV'",
    ):
        assert name in dump


def test_the_datastore_names_one_unit_per_port(clock: ManualClock) -> None:
    from enovates_simulator.faults import Faults  # noqa: PLC0415 - internals, only here
    from enovates_simulator.server import ChargerContext, Stats  # noqa: PLC0415

    context = ChargerContext(Charger(clock=clock, dual_port=True), Faults(), Stats())
    assert context.device_ids() == [1, 2]
