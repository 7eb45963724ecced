"""The meter's P1 port over TCP, as a P1-over-TCP adapter (ser2net and the like) serves it: telegrams, streamed.

A DSMR telegram is ASCII: a header line (/ + manufacturer + identification), an empty line, one line per object
(OBIS reduced id and values in brackets, units after *), and ! followed by the CRC16 of everything from / to ! (the
IBM/ARC polynomial 0x8005, bit-reversed, initial value 0) in four upper-case hexadecimal digits; lines end in CR LF.
DSMR 5B is the Belgian (Fluvius) flavour: once a second, with the quarter-hour demand lines. DSMR 4 is the Dutch one
of before 2016: every 10 seconds, no demand lines, whole amperes, the tariffs numbered the other way round.

The server sends every telegram to every client connected; clients send nothing. Faults for tests: a telegram
corrupted on the line (its CRC no longer matches), a meter that stops sending while the connections stay open, and
an adapter that reboots (every connection drops, none is accepted for a while, then it streams again).
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from datetime import datetime
import enum
from typing import TYPE_CHECKING, Self

from .meter import Capture, Demand, Tariff

if TYPE_CHECKING:
    from types import TracebackType

    from .home import Home
    from .meter import MeterReading

_LISTEN_ATTEMPTS = 50  # 5 s, for the port held a moment after a reboot


class P1Version(enum.StrEnum):
    """The telegram flavour, named as Home Assistant's DSMR integration names it."""

    DSMR_5B = "5B"
    DSMR_4 = "4"

    @property
    def interval_s(self) -> float:
        """Return how often a meter of this flavour sends a telegram."""
        return 1.0 if self is P1Version.DSMR_5B else 10.0


@dataclass(frozen=True)
class MeterIdentity:
    """What the telegrams say of the meters: the header line and the equipment identifiers (ASCII, sent in hex)."""

    header_5b: str = "FLU5\\253769484_A"
    header_4: str = "ISk5\\2MT382-1000"
    equipment_id: str = "1SIM0000000479"
    gas_equipment_id: str = "37464C4F32313139"


def crc16(data: bytes) -> int:
    """Return the CRC16 a DSMR telegram ends with, of `data` (from / to ! inclusive)."""
    crc = 0
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc


def _timestamp(time: datetime) -> str:
    """Return a DSMR time stamp: YYMMDDhhmmss local time, S in summer time, W in winter time."""
    return f"{time:%y%m%d%H%M%S}{'S' if time.dst() else 'W'}"


def _kw(watts: float) -> str:
    return f"{watts / 1000:06.3f}*kW"


def _kwh(wh: float) -> str:
    # The registers count whole watt-hours.
    return f"{int(wh) / 1000:010.3f}*kWh"


def _hex(text: str) -> str:
    return text.encode("ascii").hex().upper()


def _gas_lines(capture: Capture | None, version: P1Version, identity: MeterIdentity) -> list[str]:
    """Return the gas meter's lines (M-Bus channel 1): its type, identifier, valve (5B) and captured reading."""
    if capture is None:
        return []
    dsmr_5b = version is P1Version.DSMR_5B
    return [
        "0-1:24.1.0(003)",
        f"0-1:96.1.{1 if dsmr_5b else 0}({_hex(identity.gas_equipment_id)})",
        *(["0-1:24.4.0(1)"] if dsmr_5b else []),  # the valve is open
        f"0-1:24.2.{3 if dsmr_5b else 1}({_timestamp(capture.time)})({capture.m3:09.3f}*m3)",
    ]


def _demand(demand: Demand) -> str:
    return f"({_timestamp(demand.time)})({_kw(demand.average_w)})"


def _lines_5b(reading: MeterReading, identity: MeterIdentity) -> list[str]:
    # Belgian meters number the normal (day) tariff 1 and the low one 2.
    registers = {Tariff.NORMAL: 1, Tariff.LOW: 2}
    history = "".join(f"({_timestamp(month.month_end)}){_demand(month.peak)}" for month in reading.history)
    return [
        f"/{identity.header_5b}",
        "",
        "0-0:96.1.4(50217)",
        f"0-0:96.1.1({_hex(identity.equipment_id)})",
        f"0-0:1.0.0({_timestamp(reading.time)})",
        *(f"1-0:1.8.{registers[t]}({_kwh(reading.import_wh[t])})" for t in Tariff),
        *(f"1-0:2.8.{registers[t]}({_kwh(reading.export_wh[t])})" for t in Tariff),
        f"0-0:96.14.0({registers[reading.tariff]:04d})",
        f"1-0:1.4.0({_kw(reading.average_demand_w)})",
        f"1-0:1.6.0{_demand(reading.month_peak)}",
        f"0-0:98.1.0({len(reading.history)})(1-0:1.6.0)(1-0:1.6.0){history}",
        f"1-0:1.7.0({_kw(reading.total_import_w)})",
        f"1-0:2.7.0({_kw(reading.total_export_w)})",
        *(f"1-0:{code}.7.0({_kw(power)})" for code, power in zip((21, 41, 61), reading.import_w, strict=True)),
        *(f"1-0:{code}.7.0({_kw(power)})" for code, power in zip((22, 42, 62), reading.export_w, strict=True)),
        *(f"1-0:{code}.7.0({volts:05.1f}*V)" for code, volts in zip((32, 52, 72), reading.voltages_v, strict=True)),
        *(f"1-0:{code}.7.0({amps:06.2f}*A)" for code, amps in zip((31, 51, 71), reading.currents_a, strict=True)),
        "0-0:96.3.10(1)",  # the breaker is closed
        "0-0:17.0.0(999.9*kW)",  # no power limiter
        "1-0:31.4.0(999*A)",  # no fuse supervision
        "0-0:96.13.0()",
        *_gas_lines(reading.gas_5min, P1Version.DSMR_5B, identity),
    ]


def _lines_4(reading: MeterReading, identity: MeterIdentity) -> list[str]:
    # Dutch meters number the low tariff 1 and the normal one 2.
    registers = {Tariff.LOW: 1, Tariff.NORMAL: 2}
    return [
        f"/{identity.header_4}",
        "",
        "1-3:0.2.8(42)",
        f"0-0:1.0.0({_timestamp(reading.time)})",
        f"0-0:96.1.1({_hex(identity.equipment_id)})",
        *(f"1-0:1.8.{registers[t]}({_kwh(reading.import_wh[t])})" for t in (Tariff.LOW, Tariff.NORMAL)),
        *(f"1-0:2.8.{registers[t]}({_kwh(reading.export_wh[t])})" for t in (Tariff.LOW, Tariff.NORMAL)),
        f"0-0:96.14.0({registers[reading.tariff]:04d})",
        f"1-0:1.7.0({_kw(reading.total_import_w)})",
        f"1-0:2.7.0({_kw(reading.total_export_w)})",
        "0-0:96.7.21(00004)",
        "0-0:96.7.9(00002)",
        "1-0:99.97.0(0)(0-0:96.7.19)",
        *(f"1-0:{code}.32.0(00000)" for code in (32, 52, 72)),
        *(f"1-0:{code}.36.0(00000)" for code in (32, 52, 72)),
        "0-0:96.13.1()",
        "0-0:96.13.0()",
        *(f"1-0:{code}.7.0({round(amps):03d}*A)" for code, amps in zip((31, 51, 71), reading.currents_a, strict=True)),
        *(f"1-0:{code}.7.0({_kw(power)})" for code, power in zip((21, 41, 61), reading.import_w, strict=True)),
        *(f"1-0:{code}.7.0({_kw(power)})" for code, power in zip((22, 42, 62), reading.export_w, strict=True)),
        *_gas_lines(reading.gas_hourly, P1Version.DSMR_4, identity),
    ]


def telegram(reading: MeterReading, version: P1Version, identity: MeterIdentity | None = None) -> bytes:
    """Return the telegram of `reading` in `version`'s flavour, CRC included."""
    identity = identity if identity is not None else MeterIdentity()
    lines = _lines_5b(reading, identity) if version is P1Version.DSMR_5B else _lines_4(reading, identity)
    body = ("\r\n".join(lines) + "\r\n!").encode("ascii")
    return body + f"{crc16(body):04X}\r\n".encode("ascii")


def corrupt(data: bytes) -> bytes:
    """Return `data` with one digit changed on the line, as a noisy cable does: the CRC no longer matches."""
    # The last digit before the CRC: a figure, never the framing the reader looks for.
    index = max(i for i in range(data.index(b"!")) if data[i : i + 1].isdigit())
    digit = data[index] - ord("0")
    return data[:index] + bytes([ord("0") + (digit + 1) % 10]) + data[index + 1 :]


class P1Server:
    """A P1-over-TCP adapter on host:port (port 0 picks a free one), streaming `home`'s meter to every client.

    With `periodic`, it sends a telegram every `interval` seconds (the version's own by default) of the event loop's
    time; tests leave that off and call `publish` after moving their clock.
    """

    def __init__(
        self,
        home: Home,
        *,
        version: P1Version = P1Version.DSMR_5B,
        interval: float | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        identity: MeterIdentity | None = None,
    ) -> None:
        """Serve `home`'s meter."""
        self.home = home
        self.version = version
        self.interval = interval if interval is not None else version.interval_s
        self.host = host
        self.identity = identity if identity is not None else MeterIdentity()
        self.telegrams_sent = 0
        self.connections_opened = 0
        self.silent = False
        self._port = port
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._corrupt = 0
        self._ticker: asyncio.Task[None] | None = None
        self._boot: asyncio.Task[None] | None = None
        self._changed = asyncio.Condition()

    @property
    def port(self) -> int:
        """Return the TCP port (known once the server has listened)."""
        if self._port == 0:
            raise RuntimeError("the P1 server has not listened yet")
        return self._port

    @property
    def listening(self) -> bool:
        """Whether the adapter accepts connections now."""
        return self._server is not None

    @property
    def connection_count(self) -> int:
        """Return how many clients are connected now."""
        return len(self._writers)

    async def start(self, *, periodic: bool = True) -> Self:
        """Listen, and with `periodic` send a telegram every interval."""
        await self._listen()
        if periodic and self._ticker is None:
            self._ticker = asyncio.create_task(self._tick(), name="enovates simulator P1 telegrams")
        return self

    async def stop(self) -> None:
        """Stop sending and listening, close every connection."""
        for task in (self._ticker, self._boot):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._ticker = self._boot = None
        await self._close()

    async def _listen(self) -> None:
        attempts = 0
        while True:
            try:
                self._server = await asyncio.start_server(self._client, self.host, self._port)
            except OSError:
                attempts += 1
                if attempts >= _LISTEN_ATTEMPTS:
                    raise
                await asyncio.sleep(0.1)
            else:
                self._port = int(self._server.sockets[0].getsockname()[1])
                return

    async def _close(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()
        writers, self._writers = self._writers, set()
        for writer in writers:
            writer.close()
        for writer in writers:
            with contextlib.suppress(OSError):
                await writer.wait_closed()
        if server is not None:
            await server.wait_closed()
        await self._notify()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Hold one client's connection until it hangs up (what it sends is ignored, as the meter's port does)."""
        self._writers.add(writer)
        self.connections_opened += 1
        await self._notify()
        try:
            while await reader.read(1024):
                pass
        except OSError:
            pass
        finally:
            if writer in self._writers:
                self._writers.discard(writer)
                writer.close()
                await self._notify()

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def wait_connections(self, count: int) -> None:
        """Wait until exactly `count` clients are connected."""
        async with self._changed:
            await self._changed.wait_for(lambda: len(self._writers) == count)

    async def _tick(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            # On the interval's multiples of the loop's time, as a meter sends on whole seconds.
            await asyncio.sleep(self.interval - loop.time() % self.interval)
            await self.publish()

    async def publish(self) -> bytes | None:
        """Send the meter's telegram now to every client; return it (None while the meter is silent)."""
        if self.silent:
            return None
        data = telegram(self.home.reading(), self.version, self.identity)
        if self._corrupt:
            self._corrupt -= 1
            data = corrupt(data)
        for writer in self._writers:
            # No waiting for a slow reader, as the meter's serial line never waits: a telegram is a kilobyte a second.
            # To a client gone meanwhile the write goes nowhere; its handler forgets it.
            writer.write(data)
        self.telegrams_sent += 1
        return data

    # --- faults -------------------------------------------------------------------------------------------------------

    def corrupt_next(self, times: int = 1) -> None:
        """Corrupt the next `times` telegrams on the line (one digit changed: their CRC does not match)."""
        self._corrupt += times

    def silence(self) -> None:
        """Stop the meter sending: its adapter keeps the connections open, nothing comes."""
        self.silent = True

    def resume(self) -> None:
        """Let the meter send again."""
        self.silent = False

    async def reboot(self, seconds: float) -> None:
        """Reboot the adapter: every connection drops, none is accepted for `seconds`, then it streams again."""
        await self._close()
        self._boot = asyncio.create_task(self._listen_after(seconds), name="enovates simulator P1 reboot")

    async def _listen_after(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
        await self._listen()
        self._boot = None

    async def wait_booted(self) -> None:
        """Wait for a pending reboot to finish."""
        if self._boot is not None:
            await asyncio.shield(self._boot)

    async def __aenter__(self) -> Self:
        """Start on entering the context."""
        return await self.start()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        """Stop on leaving the context."""
        await self.stop()
