"""The command line: python -m enovates_simulator."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import threading

from enovates_modbus import EnoOneClient
import pytest

from enovates_simulator import CarScenario, EmsMode, P1Version, Stats
from enovates_simulator.__main__ import (
    build_meter,
    build_others,
    build_parser,
    build_simulator,
    main,
    serve,
    traffic_report,
)

from ..helpers import eno_client, wait_until


def test_defaults() -> None:
    args = build_parser().parse_args([])
    simulator = build_simulator(args)
    assert (simulator.host, args.port) == ("127.0.0.1", 5020)
    assert simulator.charger.ems_mode is EmsMode.FULL
    assert list(simulator.charger.ports) == [1]
    assert simulator.charger.scenarios == {1: CarScenario.NONE}


def test_options() -> None:
    args = build_parser().parse_args(
        [
            "--port",
            "0",
            "--ems",
            "monitoring",
            "--dual-port",
            "--car",
            "cycle",
            "--serial",
            "ABC123",
            "--model",
            "ENO one",
        ]
    )
    simulator = build_simulator(args)
    charger = simulator.charger
    assert charger.ems_mode is EmsMode.MONITORING
    assert charger.scenarios == {1: CarScenario.CYCLE, 2: CarScenario.CYCLE}
    assert charger.identity.serial_number == "ABC123"
    assert charger.identity.model_id == "ENO one"


def test_a_slow_link() -> None:
    args = build_parser().parse_args(["--latency", "0.4", "--jitter", "0.1", "--spikes", "0.05:1.2"])
    latency = build_simulator(args).faults.latency
    assert latency is not None
    assert (latency.seconds, latency.jitter, latency.spike_probability, latency.spike_seconds) == (0.4, 0.1, 0.05, 1.2)
    assert build_simulator(build_parser().parse_args([])).faults.latency is None


def test_bad_spikes_are_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--spikes", "often"])
    assert "SHARE:SECONDS" in capsys.readouterr().err


def test_bad_options_are_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--ems", "sometimes"])
    assert "invalid choice" in capsys.readouterr().err


@pytest.mark.parametrize("ems", ["full", "off"])
async def test_serve_until_stopped(socket_enabled: None, ems: str, caplog: pytest.LogCaptureFixture) -> None:
    simulator = build_simulator(build_parser().parse_args(["--port", "0", "--ems", ems, "--car", "charging"]))
    stop = asyncio.Event()
    task = asyncio.create_task(serve(simulator, stop, report_seconds=0.2 if ems == "full" else 0))
    await wait_until(lambda: "ENO one" in caplog.text, "the simulator to say where it listens")
    if ems == "full":
        client = EnoOneClient("127.0.0.1", simulator.port, mb_retries=0, mb_timeout=1)
        assert await client.get_current_offered() == 32000
        client.client.close()
        await wait_until(lambda: "requests/s" in caplog.text, "the simulator's report")
    else:
        assert "nowhere (EMS mode off)" in caplog.text
    stop.set()
    await task
    assert not simulator.listening
    assert "stopped" in caplog.text


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _interrupt_when_listening(port: int, done: threading.Event) -> None:
    while not done.is_set():
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
        except OSError:
            done.wait(0.05)
            continue
        os.kill(os.getpid(), signal.SIGINT)
        return


@pytest.mark.parametrize("verbose", [True, False])
def test_main_serves_until_interrupted(socket_enabled: None, verbose: bool) -> None:
    pymodbus_logger = logging.getLogger("pymodbus")
    level = pymodbus_logger.level
    port = _free_port()
    done = threading.Event()
    interrupter = threading.Thread(target=_interrupt_when_listening, args=(port, done))
    interrupter.start()
    try:
        main(["--port", str(port), *(["--verbose"] if verbose else [])])
    finally:
        done.set()
        interrupter.join()
        quiet = pymodbus_logger.level
        pymodbus_logger.setLevel(level)
        # asyncio.run() leaves the thread without an event loop; the 2025.10 harness sets up every later test,
        # synchronous ones too, with the thread's current loop.
        asyncio.set_event_loop(asyncio.new_event_loop())
    # without --verbose pymodbus' frame dumps are silenced
    assert (quiet == logging.WARNING) is not verbose
    # the port was released: something else can listen on it now
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(("127.0.0.1", port))


def test_traffic_report() -> None:
    stats = Stats(requests=30, bytes_received=360, bytes_sent=600, connections_opened=1)
    stats.requests_by_map[1, "state"] = 10
    stats.requests_by_map[2, "mode3"] = 1
    assert traffic_report(stats, 10) == (
        "3.00 requests/s, 36 B/s in, 60 B/s out, 1 connections opened (1/state 1.00, 2/mode3 0.10)"
    )


def test_no_meter_unless_asked() -> None:
    args = build_parser().parse_args([])
    assert build_meter(args, build_simulator(args)) is None


def test_meter_options() -> None:
    meter_options = ["--p1-port", "0", "--p1-version", "4", "--p1-interval", "5", "--sun-hour", "10.5"]
    args = build_parser().parse_args([*meter_options, "--seed", "9", "--pv-peak", "5000", "--gas"])
    simulator = build_simulator(args)
    meter = build_meter(args, simulator)
    assert meter is not None
    assert (meter.version, meter.interval, meter.host) == (P1Version.DSMR_4, 5, "127.0.0.1")
    home = meter.home
    assert home.charger is simulator.charger
    assert (home.household.seed, home.household.pv_peak_w) == (9, 5000)
    assert home.sun_seconds() == pytest.approx(10.5 * 3600, abs=1)
    assert home.meter.gas_m3 is not None
    defaults = build_meter(build_parser().parse_args(["--p1-port", "0"]), simulator)
    assert defaults is not None
    assert (defaults.version, defaults.interval, defaults.home.meter.gas_m3) == (P1Version.DSMR_5B, 1, None)


@pytest.mark.parametrize("hour", ["24", "-1", "noon"])
def test_bad_sun_hours_are_refused(capsys: pytest.CaptureFixture[str], hour: str) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--sun-hour", hour])
    assert "an hour of the day" in capsys.readouterr().err


async def test_serve_the_meter_too(socket_enabled: None, caplog: pytest.LogCaptureFixture) -> None:
    args = build_parser().parse_args(["--port", "0", "--p1-port", "0", "--p1-interval", "0.05", "--sun-hour", "12"])
    simulator = build_simulator(args)
    meter = build_meter(args, simulator)
    assert meter is not None
    stop = asyncio.Event()
    task = asyncio.create_task(serve(simulator, stop, meter=meter))
    await wait_until(lambda: "P1 meter" in caplog.text, "the simulator to say where its meter listens")
    # the charger's address comes first in the log: scripts take the first one for the charger's
    assert caplog.text.index(f"on 127.0.0.1:{simulator.port}") < caplog.text.index(f"on 127.0.0.1:{meter.port}")
    assert "a telegram every 0.05 s; sun as at 12.0 h, 8000 W of panels, seed 1" in caplog.text
    reader, writer = await asyncio.open_connection("127.0.0.1", meter.port)
    assert (await reader.readuntil(b"!")).startswith(b"/FLU5")
    writer.close()
    stop.set()
    await task
    assert not meter.listening


async def test_a_home_of_two_chargers(socket_enabled: None, caplog: pytest.LogCaptureFixture) -> None:
    # --chargers 2: a second charger (single-port, its own serial) on the next port, in the same home and meter.
    args = build_parser().parse_args(["--port", "0", "--chargers", "2", "--dual-port", "--p1-port", "0"])
    simulator = build_simulator(args)
    others = build_others(args)
    assert len(others) == 1
    second = others[0].charger
    assert (second.identity.serial_number, list(second.ports)) == ("SIM0000000002", [1])
    assert list(simulator.charger.ports) == [1, 2]
    meter = build_meter(args, simulator, others)
    assert meter is not None
    assert meter.home.chargers == [simulator.charger, second]
    stop = asyncio.Event()
    task = asyncio.create_task(serve(simulator, stop, meter=meter, others=others))
    await wait_until(lambda: "P1 meter" in caplog.text, "the simulator to say where its meter listens")
    assert f"ENO one {second.identity.serial_number} on 127.0.0.1:{others[0].port}, in the same home" in caplog.text
    async with eno_client(others[0]) as client:
        assert (await client.get_api_version()).major >= 1
    stop.set()
    await task
    assert not others[0].listening
    # Consecutive ports from a given one.
    third = build_others(build_parser().parse_args(["--port", "5020", "--chargers", "3", "--serial", "GARAGE"]))[1]
    assert (third._port, third.charger.identity.serial_number) == (5022, "GARAGE-3")
