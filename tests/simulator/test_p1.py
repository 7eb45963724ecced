"""The meter's P1 port over TCP, read by dsmr-parser (what Home Assistant's DSMR integration reads it with)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
import contextlib
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from importlib.metadata import version
import json
from pathlib import Path
import socket
import struct
from typing import Any
from unittest.mock import patch

from dsmr_parser import telegram_specifications
from dsmr_parser.clients.protocol import create_tcp_dsmr_reader
from dsmr_parser.exceptions import InvalidChecksumError
from dsmr_parser.parsers import TelegramParser
from enovates_modbus import EnoOneClient
import homeassistant.components
import pytest

from enovates_simulator import (
    CarScenario,
    Charger,
    Home,
    Household,
    ManualClock,
    MeterIdentity,
    P1Server,
    P1Version,
    Simulator,
)
from enovates_simulator.home import BRUSSELS
from enovates_simulator.p1 import corrupt, crc16, telegram

SUNNY_MORNING = datetime(2026, 6, 15, 10, 7, 30, tzinfo=BRUSSELS)


def _home(clock: ManualClock, *, gas: bool = True, scenario: CarScenario = CarScenario.CYCLE) -> Home:
    charger = Charger(clock=clock)
    charger.scenarios[1] = scenario
    charger.sync()
    return Home(charger, Household(seed=3), wall_start=SUNNY_MORNING, gas=gas)


@dataclass
class Reader:
    """dsmr-parser's own asyncio client on the P1 port, as Home Assistant opens it; parsed telegrams in `telegrams`."""

    transport: asyncio.BaseTransport
    protocol: Any
    telegrams: asyncio.Queue[Any]

    async def next(self) -> Any:
        return await asyncio.wait_for(self.telegrams.get(), 5)


@contextlib.asynccontextmanager
async def _reader(server: P1Server, version: P1Version) -> AsyncIterator[Reader]:
    queue: asyncio.Queue[Any] = asyncio.Queue()
    connecting = server.connection_count
    transport, protocol = await create_tcp_dsmr_reader(
        "127.0.0.1", server.port, version.value, queue.put_nowait, loop=asyncio.get_running_loop()
    )
    await server.wait_connections(connecting + 1)
    try:
        yield Reader(transport, protocol, queue)
    finally:
        transport.close()


@contextlib.asynccontextmanager
async def _server(home: Home, version: P1Version = P1Version.DSMR_5B, **kwargs: Any) -> AsyncIterator[P1Server]:
    server = P1Server(home, version=version, host="127.0.0.1", **kwargs)
    await server.start(periodic=False)
    try:
        yield server
    finally:
        await server.stop()


def test_crc16_is_the_one_dsmr_uses() -> None:
    assert crc16(b"123456789") == 0xBB3D  # CRC-16/ARC's check value
    assert crc16(b"/x!") == TelegramParser.crc16("/x!")


@pytest.mark.parametrize("version", list(P1Version))
async def test_every_telegram_parses_and_adds_up(socket_enabled: None, version: P1Version) -> None:
    clock = ManualClock()
    home = _home(clock)
    async with _server(home, version) as server, _reader(server, version) as reader:
        for _ in range(300 if version is P1Version.DSMR_5B else 30):
            clock.advance(version.interval_s)
            sent = await server.publish()
            assert sent is not None
            parsed = await reader.next()  # the reader checked the CRC: a mismatch is never handed on
            TelegramParser.validate_checksum(sent.decode("ascii"))
            flows = home.flows()
            net_kw = (sum(flows.house_w) + sum(flows.cars_w) - flows.pv_w) / 1000
            imported = parsed.CURRENT_ELECTRICITY_USAGE.value
            exported = parsed.CURRENT_ELECTRICITY_DELIVERY.value
            assert float(imported - exported) == pytest.approx(net_kw, abs=0.0011)
            phases = sum(
                getattr(parsed, f"INSTANTANEOUS_ACTIVE_POWER_L{phase}_{way}").value * sign
                for phase in (1, 2, 3)
                for way, sign in (("POSITIVE", 1), ("NEGATIVE", -1))
            )
            assert float(phases) == pytest.approx(net_kw, abs=0.0031)
            assert parsed.P1_MESSAGE_TIMESTAMP.value == home.wall_time()
        assert server.telegrams_sent == (300 if version is P1Version.DSMR_5B else 30)
        assert [device.channel_id for device in parsed.MBUS_DEVICES] == [1]


async def test_the_belgian_lines(socket_enabled: None) -> None:
    clock = ManualClock()
    home = _home(clock, scenario=CarScenario.CHARGING)
    async with _server(home) as server, _reader(server, P1Version.DSMR_5B) as reader:
        clock.advance(3 * 3600)  # into the afternoon: peaks recorded
        await server.publish()
        parsed = await reader.next()
    reading = home.reading()
    identity = MeterIdentity()
    assert parsed.BELGIUM_EQUIPMENT_IDENTIFIER.value == identity.equipment_id.encode().hex().upper()
    assert parsed.BELGIUM_CURRENT_AVERAGE_DEMAND.value == Decimal(f"{reading.average_demand_w / 1000:.3f}")
    assert parsed.BELGIUM_MAXIMUM_DEMAND_MONTH.value == Decimal(f"{reading.month_peak.average_w / 1000:.3f}")
    assert parsed.BELGIUM_MAXIMUM_DEMAND_MONTH.datetime == reading.month_peak.time
    assert reading.month_peak.average_w > 0
    # the day tariff, in Belgium tariff 1, and its registers
    assert parsed.ELECTRICITY_ACTIVE_TARIFF.value == "0001"
    assert parsed.ELECTRICITY_USED_TARIFF_1.value == Decimal(int(reading.import_wh["normal"])) / 1000
    assert parsed.ELECTRICITY_DELIVERED_TARIFF_2.value == Decimal(int(reading.export_wh["low"])) / 1000
    assert float(parsed.INSTANTANEOUS_VOLTAGE_L2.value) == pytest.approx(reading.voltages_v[1], abs=0.051)
    assert float(parsed.INSTANTANEOUS_CURRENT_L3.value) == pytest.approx(reading.currents_a[2], abs=0.0051)
    gas = parsed.MBUS_DEVICES[0]
    assert gas.MBUS_DEVICE_TYPE.value == 3
    assert gas.MBUS_METER_READING.datetime == reading.gas_5min.time  # type: ignore[union-attr]


async def test_a_month_of_history_parses(socket_enabled: None) -> None:
    clock = ManualClock()
    charger = Charger(clock=clock)
    charger.scenarios[1] = CarScenario.CHARGING
    start = datetime(2026, 10, 31, 23, 30, tzinfo=BRUSSELS)
    home = Home(charger, Household(pv_peak_w=0), wall_start=start)
    clock.advance(3600)
    data = telegram(home.reading(), P1Version.DSMR_5B).decode()
    parsed = TelegramParser(telegram_specifications.BELGIUM_FLUVIUS).parse(data, throw_ex=True)
    (october,) = parsed.BELGIUM_MAXIMUM_DEMAND_13_MONTHS
    # stamped with the month's end, in winter time; the peak of its last quarters (both with the car charging)
    assert october.datetime == datetime(2026, 11, 1, tzinfo=BRUSSELS)
    assert october.occurred in (datetime(2026, 10, 31, 23, 45, tzinfo=BRUSSELS), october.datetime)
    assert october.value > Decimal(10)
    assert "0-0:98.1.0(1)(1-0:1.6.0)(1-0:1.6.0)(261101000000W)(26" in data
    assert parsed.P1_MESSAGE_TIMESTAMP.value == datetime(2026, 11, 1, 0, 30, tzinfo=BRUSSELS)


async def test_a_limit_shows_in_the_meter_a_second_later(socket_enabled: None) -> None:
    clock = ManualClock()
    charger = Charger(clock=clock)
    charger.scenarios[1] = CarScenario.CHARGING
    charger.sync()
    home = Home(charger, Household(seed=3), wall_start=SUNNY_MORNING)
    async with (
        Simulator(charger, host="127.0.0.1") as simulator,
        _server(home) as server,
        _reader(server, P1Version.DSMR_5B) as reader,
    ):
        clock.advance(1)
        await server.publish()
        before = (await reader.next()).CURRENT_ELECTRICITY_USAGE.value
        client = EnoOneClient("127.0.0.1", simulator.port, mb_retries=0, mb_timeout=1)
        try:
            await client.set_ems_limit(6000)  # as the integration writes it: 16 A down to 6 A on three phases
        finally:
            client.client.close()
        clock.advance(1)
        await server.publish()
        after = (await reader.next()).CURRENT_ELECTRICITY_USAGE.value
    # 10 A less on each of three phases, and the house and panels moved a little in that second
    assert float(before - after) == pytest.approx(3 * 10 * 230 / 1000, abs=0.15)


async def test_a_corrupted_telegram_fails_its_crc(socket_enabled: None) -> None:
    clock = ManualClock()
    home = _home(clock)
    async with _server(home) as server, _reader(server, P1Version.DSMR_5B) as reader:
        server.corrupt_next()
        clock.advance(1)
        bad = await server.publish()
        clock.advance(1)
        good = await server.publish()
        assert bad is not None
        assert good is not None
        # the reader drops the corrupted one and reads the next
        assert (await reader.next()).P1_MESSAGE_TIMESTAMP.value == home.wall_time()
        assert reader.telegrams.empty()
    with pytest.raises(InvalidChecksumError):
        TelegramParser.validate_checksum(bad.decode())
    assert bad != corrupt(bad)
    assert len(bad) == len(good)


async def test_a_meter_that_stops(socket_enabled: None) -> None:
    clock = ManualClock()
    home = _home(clock)
    async with _server(home) as server, _reader(server, P1Version.DSMR_5B) as reader:
        server.silence()
        for _ in range(30):
            clock.advance(1)
            assert await server.publish() is None
        assert server.telegrams_sent == 0
        assert server.connection_count == 1  # the connection stays open: nothing comes
        server.resume()
        clock.advance(1)
        await server.publish()
        # the first telegram the reader gets is the one after the silence
        assert (await reader.next()).P1_MESSAGE_TIMESTAMP.value == home.wall_time()
        assert server.telegrams_sent == 1


async def test_an_adapter_reboot_drops_the_stream_and_restarts(socket_enabled: None) -> None:
    clock = ManualClock()
    home = _home(clock)
    async with _server(home) as server:
        port = server.port
        async with _reader(server, P1Version.DSMR_5B) as reader:
            await server.reboot(0.2)
            await asyncio.wait_for(reader.protocol.wait_closed(), 5)  # the stream drops
            assert not server.listening
            with pytest.raises(ConnectionRefusedError):
                await asyncio.open_connection("127.0.0.1", port)
        await server.wait_booted()
        assert server.listening
        assert server.port == port
        async with _reader(server, P1Version.DSMR_5B) as reader:
            clock.advance(1)
            await server.publish()
            await reader.next()
        assert server.connections_opened == 2
        # a reboot pending when the adapter is switched off for good
        await server.reboot(30)
    assert not server.listening
    await server.wait_booted()


async def test_many_clients_and_what_they_send(socket_enabled: None) -> None:
    clock = ManualClock()
    home = _home(clock, gas=False)
    async with _server(home) as server, _reader(server, P1Version.DSMR_5B) as first:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        await server.wait_connections(2)
        writer.write(b"/?!\r\n")  # an IEC 62056-21 request: the P1 port takes none, it only talks
        clock.advance(1)
        sent = await server.publish()
        assert await reader.readuntil(b"\r\n!") + await reader.readline() == sent
        parsed = await first.next()
        assert not hasattr(parsed, "MBUS_DEVICES")  # no gas meter
        writer.close()
        await server.wait_connections(1)
        # a client that goes away abruptly (a reset) is forgotten too
        abrupt = socket.create_connection(("127.0.0.1", server.port))
        await server.wait_connections(2)
        abrupt.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close with a reset
        abrupt.close()
        await server.wait_connections(1)


async def test_periodic_telegrams(socket_enabled: None) -> None:
    clock = ManualClock()
    home = _home(clock)
    server = P1Server(home, interval=0.05, host="127.0.0.1")
    assert server.interval == 0.05
    with pytest.raises(RuntimeError):
        assert server.port
    async with server, _reader(server, P1Version.DSMR_5B) as reader:
        await reader.next()
        await reader.next()
    assert not server.listening
    assert P1Server(home, version=P1Version.DSMR_4).interval == 10


async def test_a_port_taken_for_good_is_an_error(socket_enabled: None) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        server = P1Server(_home(ManualClock()), host="127.0.0.1", port=squatter.getsockname()[1])
        with patch("enovates_simulator.p1._LISTEN_ATTEMPTS", 2), pytest.raises(OSError, match="address already in use"):
            await server.start()


def test_dsmr_parser_is_the_one_home_assistant_reads_meters_with() -> None:
    # requirements/ pin the dsmr-parser of each tested release's own dsmr integration
    manifest = json.loads((Path(homeassistant.components.__file__).parent / "dsmr" / "manifest.json").read_text())
    assert manifest["requirements"] == [f"dsmr-parser=={version('dsmr-parser')}"]
