"""The variants profile: every way the real charger could behave where no public evidence says, over Modbus."""

from __future__ import annotations

import asyncio

from enovates_modbus import EnoOneClient
from pymodbus import ModbusException
from pymodbus.exceptions import ConnectionException, ModbusIOException
import pytest

from enovates_simulator import (
    AfterReboot,
    EmsMode,
    EmsOff,
    ExtraClient,
    MonitoringWrite,
    Profile,
    Simulator,
    Token,
    UnknownUnit,
)
from enovates_simulator.__main__ import build_parser, build_simulator, main, serve

from ..helpers import eno_client, wait_until

# A request the charger never answers, or answers on a closed connection.
NO_ANSWER = (ConnectionException, ModbusIOException, TimeoutError, ConnectionError)


def test_a_profile_from_settings() -> None:
    profile = Profile.parse(
        ["unknown_unit=silence", "max_clients=1", "idle_timeout_s=30", "authorisation=yes", "token=cleared"]
    )
    assert profile == Profile(
        unknown_unit=UnknownUnit.SILENCE, max_clients=1, idle_timeout_s=30.0, authorisation=True, token=Token.CLEARED
    )
    assert profile.describe() == (
        "unknown_unit=silence max_clients=1 idle_timeout_s=30.0 authorisation=True token=cleared"
    )
    assert Profile.parse(["max_clients=none", "authorisation=0"]) == Profile()
    assert Profile().describe() == ""


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ("colour=blue", "expected one of unknown_unit="),
        ("unknown_unit", "expected one of"),
        ("unknown_unit=maybe", "expected one of exception, silence, as_unit_1"),
        ("authorisation=perhaps", "expected true or false"),
        ("boot_s=soon", "could not convert"),
    ],
)
def test_bad_settings_are_refused(setting: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Profile.parse([setting])


async def test_the_command_line_says_when_a_slow_boot_will_listen(
    socket_enabled: None, caplog: pytest.LogCaptureFixture
) -> None:
    simulator = build_simulator(build_parser().parse_args(["--port", "0", "--variant", "boot_s=60"]))
    stop = asyncio.Event()
    task = asyncio.create_task(serve(simulator, stop))
    await wait_until(lambda: "ENO one" in caplog.text, "the simulator to say where it listens")
    assert f"on 127.0.0.1:{simulator.port} once booted (in 60 s)" in caplog.text
    assert "variants: boot_s=60.0" in caplog.text
    stop.set()
    await task
    assert not simulator.booting


def test_the_command_line_takes_variants(capsys: pytest.CaptureFixture[str]) -> None:
    simulator = build_simulator(build_parser().parse_args(["--variant", "ems_off=exceptions", "--variant", "boot_s=5"]))
    assert simulator.charger.profile == Profile(ems_off=EmsOff.EXCEPTIONS, boot_s=5.0)
    with pytest.raises(SystemExit):
        main(["--variant", "ems_off=sometimes"])
    assert "--variant 'sometimes': expected one of refused, exceptions" in capsys.readouterr().err


@pytest.mark.parametrize("profile", [Profile(unknown_unit=UnknownUnit.EXCEPTION)])
@pytest.mark.usefixtures("profile")
async def test_unknown_unit_answered_with_an_exception(simulator: Simulator) -> None:
    async with eno_client(simulator, unit=2) as port2:
        with pytest.raises(ModbusException, match="ExceptionResponse"):
            await port2.get_state()


@pytest.mark.parametrize("profile", [Profile(unknown_unit=UnknownUnit.SILENCE)])
@pytest.mark.usefixtures("profile")
async def test_unknown_unit_never_answered(simulator: Simulator) -> None:
    async with eno_client(simulator, unit=2) as port2:
        with pytest.raises(NO_ANSWER):
            await port2.get_state()


@pytest.mark.parametrize("profile", [Profile(unknown_unit=UnknownUnit.AS_UNIT_1)])
@pytest.mark.usefixtures("profile")
async def test_unknown_unit_answered_as_port_1(simulator: Simulator) -> None:
    simulator.charger.port(1).plug_in()
    async with eno_client(simulator, unit=2) as phantom:
        assert (await phantom.get_state()).contactor_state
        await phantom.set_ems_limit(10000)  # it is port 1's limit that changes
    assert simulator.charger.port(1).ems_limit_ma == 10000


@pytest.mark.parametrize("profile", [Profile(max_clients=1, extra_client=ExtraClient.REFUSED)])
@pytest.mark.usefixtures("profile")
async def test_one_client_and_one_more_refused(simulator: Simulator, client: EnoOneClient) -> None:
    await client.get_state()
    async with eno_client(simulator) as second:
        with pytest.raises(NO_ANSWER):
            await second.get_state()
    assert (await client.get_state()).number_of_phases == 3  # the first one goes on


@pytest.mark.parametrize("profile", [Profile(max_clients=1, extra_client=ExtraClient.DROP_OLDEST)])
@pytest.mark.usefixtures("profile")
async def test_one_client_and_the_oldest_dropped(simulator: Simulator, client: EnoOneClient) -> None:
    # The oldest is a bare connection here: the library's client would reconnect and drop the newer in turn.
    reader, writer = await asyncio.open_connection("127.0.0.1", simulator.port)
    assert (await client.get_state()).number_of_phases == 3
    assert await reader.read() == b""  # closed by the charger
    writer.close()
    assert simulator.connection_count == 1


@pytest.mark.parametrize("profile", [Profile(idle_timeout_s=0.3)])
@pytest.mark.usefixtures("profile")
async def test_an_idle_connection_is_closed(simulator: Simulator, client: EnoOneClient) -> None:
    assert (await client.get_state()).number_of_phases == 3
    reader, writer = await asyncio.open_connection("127.0.0.1", simulator.port)  # a client that never asks
    closed = asyncio.create_task(reader.read())
    asked = 1
    while not closed.done():  # the other client keeps asking, from before the silent one came until it is gone
        assert (await client.get_state()).number_of_phases == 3
        asked += 1
    assert await closed == b""  # the silent one was closed...
    assert (await client.get_state()).number_of_phases == 3  # ... the one that asks kept its connection
    assert simulator.stats.requests == asked + 1
    assert simulator.stats.connections_opened == 2
    writer.close()
    # What a test that cannot wait for the idle timeout has the charger do at once: the client's turn now.
    assert simulator.close_idle_connections() == 1
    await wait_until(lambda: simulator.connection_count == 0, "the charger to close the client's connection")
    assert simulator.close_idle_connections() == 0


@pytest.mark.parametrize("profile", [Profile(ems_off=EmsOff.EXCEPTIONS)])
@pytest.mark.parametrize("ems_mode", [EmsMode.OFF])
@pytest.mark.usefixtures("profile", "ems_mode")
async def test_ems_off_answering_exceptions(simulator: Simulator, client: EnoOneClient) -> None:
    assert simulator.listening
    with pytest.raises(ModbusException, match="ExceptionResponse"):
        await client.get_api_version()
    await simulator.set_ems_mode(EmsMode.FULL)
    assert (await client.get_api_version()).major == 1


@pytest.mark.parametrize("profile", [Profile(monitoring_write=MonitoringWrite.EXCEPTION)])
@pytest.mark.parametrize("ems_mode", [EmsMode.MONITORING])
@pytest.mark.usefixtures("profile", "ems_mode")
async def test_monitoring_only_refusing_limit_writes(simulator: Simulator, client: EnoOneClient) -> None:
    with pytest.raises(ModbusException, match="ExceptionResponse"):
        await client.set_ems_limit(0)
    assert simulator.charger.port(1).ems_limit_ma == -1
    assert simulator.stats.writes == []


@pytest.mark.parametrize("profile", [Profile(boot_s=0.3)])
@pytest.mark.usefixtures("profile")
async def test_a_slow_boot_refuses_connections_for_a_while(simulator: Simulator) -> None:
    assert not simulator.listening
    with pytest.raises(ConnectionRefusedError):
        await asyncio.open_connection("127.0.0.1", simulator.port)
    await simulator.wait_booted()
    async with eno_client(simulator) as client:
        assert (await client.get_api_version()).major == 1
    await simulator.reboot(0.1)  # a reboot boots slowly too
    await simulator.wait_powered_up()
    assert not simulator.listening
    assert simulator.booting
    await simulator.wait_booted()
    assert simulator.listening
    await simulator.wait_powered_up()  # long since
    assert simulator.listening


@pytest.mark.parametrize("profile", [Profile(after_reboot=AfterReboot.RESET)])
@pytest.mark.usefixtures("profile")
async def test_a_reboot_may_forget_the_limit(simulator: Simulator) -> None:
    simulator.charger.set_ems_limit(1, 0)
    await simulator.reboot(0.05)
    await simulator.wait_booted()
    assert simulator.charger.port(1).ems_limit_ma == -1
