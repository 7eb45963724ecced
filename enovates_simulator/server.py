"""The Modbus TCP face of the simulated charger: unit ids to ports, EMS mode rules, faults, traffic counts."""

from __future__ import annotations

import asyncio
from collections import Counter, deque
from contextlib import suppress
from dataclasses import dataclass, field
import time
from typing import TYPE_CHECKING, cast

from pymodbus.constants import ExcCodes
from pymodbus.datastore import ModbusServerContext
from pymodbus.pdu import ExceptionResponse, ModbusPDU
from pymodbus.server import ModbusTcpServer
from pymodbus.server.requesthandler import ServerRequestHandler

from .faults import FaultKind, Faults
from .model import EmsMode
from .registers import EMS_LIMIT, TRANSACTION_TOKEN, decode_int16, is_mapped, maps_touched, read_registers
from .variants import ExtraClient, MonitoringWrite, UnknownUnit

if TYPE_CHECKING:
    from .model import Charger

READ_HOLDING_REGISTERS = 3
WRITE_SINGLE_REGISTER = 6
WRITE_MULTIPLE_REGISTERS = 16


REQUESTS_REMEMBERED = 1000


@dataclass
class Stats:
    """What the charger has been asked, for tests and benchmarks that count the integration's load."""

    requests: int = 0
    requests_by_map: Counter[tuple[int, str]] = field(default_factory=Counter)
    # The maps of the last requests, in the order they came (a request touching two maps names the first).
    order: deque[str] = field(default_factory=lambda: deque(maxlen=REQUESTS_REMEMBERED))
    bytes_received: int = 0
    bytes_sent: int = 0
    connections_opened: int = 0
    writes: list[tuple[int, int]] = field(default_factory=list)
    write_times: list[float] = field(default_factory=list)  # time.perf_counter() of each write, for latency

    def reset(self) -> None:
        """Start counting afresh."""
        self.requests = self.bytes_received = self.bytes_sent = self.connections_opened = 0
        self.requests_by_map.clear()
        self.order.clear()
        self.writes.clear()
        self.write_times.clear()


class ChargerContext(ModbusServerContext):
    """The server's datastore: reads and writes go to the charger model, under the ENO one's rules."""

    def __init__(self, charger: Charger, faults: Faults, stats: Stats) -> None:
        """Serve `charger`; overrides come from `faults`, written values are recorded in `stats`."""
        # The parent's constructor builds pymodbus' own simulator; this datastore is the charger model instead.
        self.simdevices = []
        self._charger = charger
        self._faults = faults
        self._stats = stats
        self._echo: dict[int, int] = {}

    def device_ids(self) -> list[int]:
        """Return the unit ids the charger answers: one per port."""
        return list(self._charger.ports)

    @property
    def ems_off(self) -> bool:
        """Whether the installer turned Modbus off (a server still listening refuses every request then)."""
        return self._charger.ems_mode is EmsMode.OFF

    def port_for(self, device_id: int) -> int | None:
        """Return the port a unit id reaches: its own, port 1 for any unit if the charger ignores unit ids, or None."""
        if device_id in self._charger.ports:
            return device_id
        return 1 if self._charger.profile.unknown_unit is UnknownUnit.AS_UNIT_1 else None

    async def async_getValues(  # noqa: N802 - pymodbus' name
        self, device_id: int, func_code: int, address: int, count: int = 1
    ) -> list[int] | list[bool] | ExcCodes:
        """Answer a read of `count` holding registers from `address` on unit `device_id`."""
        unit = self.port_for(device_id)
        if unit is None:
            return ExcCodes.GATEWAY_NO_RESPONSE
        if func_code == WRITE_SINGLE_REGISTER:
            # The reply to a single-register write echoes the request, whatever the charger did with it.
            return [self._echo.pop(device_id)]
        if func_code != READ_HOLDING_REGISTERS:
            return ExcCodes.ILLEGAL_FUNCTION
        if not is_mapped(address, count):
            return ExcCodes.ILLEGAL_ADDRESS
        if self._charger.ems_mode is not EmsMode.FULL and TRANSACTION_TOKEN.overlaps(address, count):
            return ExcCodes.ILLEGAL_ADDRESS
        values = read_registers(self._charger, unit, address, count)
        return self._faults.apply_overrides(unit, address, values)

    async def async_setValues(  # noqa: N802 - pymodbus' name
        self, device_id: int, func_code: int, address: int, values: list[int] | list[bool]
    ) -> ExcCodes | None:
        """Apply a write: only the EMS limit is writable, and only Full Control applies it."""
        unit = self.port_for(device_id)
        if unit is None:
            return ExcCodes.GATEWAY_NO_RESPONSE
        if func_code not in (WRITE_SINGLE_REGISTER, WRITE_MULTIPLE_REGISTERS):
            return ExcCodes.ILLEGAL_FUNCTION
        if address != EMS_LIMIT.address or len(values) != 1:
            return ExcCodes.ILLEGAL_ADDRESS
        limit = decode_int16(int(values[0]))
        if self._charger.ems_mode is EmsMode.FULL:
            if self._charger.ems_limit_accepted(limit) is None:
                return ExcCodes.ILLEGAL_VALUE
            self._charger.set_ems_limit(unit, limit)
        elif self._charger.profile.monitoring_write is MonitoringWrite.EXCEPTION:
            return ExcCodes.ILLEGAL_FUNCTION
        # Else (Monitoring Only) the charger accepts the write and ignores it.
        self._stats.writes.append((device_id, limit))
        self._stats.write_times.append(time.perf_counter())
        self._echo[device_id] = int(values[0])
        return None

    # pymodbus 3.11 (Home Assistant before 2026.7) looks the unit up first, then reads and writes through it.
    single = False

    def __getitem__(self, device_id: int) -> UnitContext:
        """Return unit `device_id` of the charger, as pymodbus 3.11 asks for it."""
        return UnitContext(self, device_id)


@dataclass(frozen=True)
class UnitContext:
    """One unit of the charger, for pymodbus 3.11: its reads and writes go to the charger's context."""

    charger: ChargerContext
    device_id: int

    async def async_getValues(  # noqa: N802 - pymodbus' name
        self, func_code: int, address: int, count: int = 1
    ) -> list[int] | list[bool] | ExcCodes:
        """Answer a read of this unit."""
        return await self.charger.async_getValues(self.device_id, func_code, address, count)

    async def async_setValues(  # noqa: N802 - pymodbus' name
        self, func_code: int, address: int, values: list[int] | list[bool]
    ) -> ExcCodes | None:
        """Apply a write to this unit."""
        return await self.charger.async_setValues(self.device_id, func_code, address, values)


class FaultInjectingHandler(ServerRequestHandler):
    """One client connection; consults the fault rules before answering each request."""

    server: ChargerServer
    _idle_timer: asyncio.TimerHandle | None = None
    _answer_due = 0.0  # when the previous answer leaves: a slow link delivers answers in order
    _answered = 0  # requests answered on this connection

    def callback_connected(self) -> None:
        """Admit the connection, or not, as the charger's client limit says; start counting idle time."""
        super().callback_connected()
        self.server.admit(self)
        self._touch()

    def callback_data(self, data: bytes, addr: tuple[str, int] | None = None) -> int:
        """Take request bytes; the connection is not idle."""
        self._touch()
        return super().callback_data(data, addr)

    def callback_disconnected(self, exc: Exception | None) -> None:
        """Stop the idle timer."""
        if self._idle_timer is not None:
            self._idle_timer.cancel()
        super().callback_disconnected(exc)

    def expire_idle_timer(self) -> bool:
        """Close the connection now if its idle timer runs (as it would once it expires); return whether it did."""
        if self._idle_timer is None or not self.is_active():
            return False
        self._idle_timer.cancel()
        self.close()
        return True

    def _touch(self) -> None:
        idle = self.server.profile.idle_timeout_s
        if idle is None or not self.is_active():
            return
        if self._idle_timer is not None:
            self._idle_timer.cancel()
        self._idle_timer = asyncio.get_running_loop().call_later(idle, self.close)

    async def handle_request(self) -> None:
        """Answer the last request, late if the link is slow, or stall, drop or refuse it.

        As a fault rule says, or the charger's profile (a unit id that is not a port, EMS mode Off).
        """
        pdu, addr = self.last_pdu, self.last_addr
        if pdu is None:  # pragma: no cover - pymodbus only schedules this with a request in hand
            return
        address = pdu.address
        # A single-register write carries its value in `registers` and no count.
        count = pdu.count or len(pdu.registers) or 1
        stats = self.server.stats
        stats.requests += 1
        touched_maps = [touched.name for touched in maps_touched(address, count)]
        for name in touched_maps:
            stats.requests_by_map[pdu.dev_id, name] += 1
        stats.order.append(touched_maps[0] if touched_maps else "unmapped")
        loop = asyncio.get_running_loop()
        delay = self.server.faults.answer_delay()
        if delay > 0 or self._answer_due > loop.time():  # late, or behind an answer that is
            # A millisecond after the answer before it at the earliest: the link keeps their order.
            due = self._answer_due = max(loop.time() + delay, self._answer_due + 0.001)
            with suppress(TimeoutError):
                await asyncio.wait_for(self.server.stopping.wait(), due - loop.time())
            if self.server.stopping.is_set() or not self.is_active():
                return  # powered off, or the client hung up meanwhile
            # Another request may have arrived while this one waited: answer this one.
            self.last_pdu, self.last_addr = pdu, addr
        if self._handled_by_profile(pdu, addr):
            return
        rule = self.server.faults.take(pdu.dev_id, address, count, self._answered)
        if rule is None:
            self._answered += 1
            await super().handle_request()  # type: ignore[no-untyped-call]  # unannotated in pymodbus
            return
        if rule.kind is FaultKind.STALL:
            with suppress(TimeoutError):
                await asyncio.wait_for(self.server.stopping.wait(), rule.stall_seconds)
            return
        if rule.kind is FaultKind.DROP:
            self.close()
            return
        self._send_exception(pdu, addr, rule.exception_code)

    def _handled_by_profile(self, pdu: ModbusPDU, addr: tuple[str, int] | None) -> bool:
        """Whether the charger's profile decides the answer (and gave it).

        No answer for a unit that is not a port (if silent), an exception to everything in EMS mode Off (if the
        charger keeps listening then).
        """
        context = cast("ChargerContext", self.server.context)
        if context.port_for(pdu.dev_id) is None and self.server.profile.unknown_unit is UnknownUnit.SILENCE:
            return True
        if context.ems_off:
            self._send_exception(pdu, addr, ExcCodes.ILLEGAL_FUNCTION)
            return True
        return False

    def _send_exception(self, pdu: ModbusPDU, addr: tuple[str, int] | None, code: ExcCodes) -> None:
        self._answered += 1
        response = ExceptionResponse(pdu.function_code, code)
        response.transaction_id = pdu.transaction_id
        response.dev_id = pdu.dev_id
        self.server_send(response, addr)  # type: ignore[no-untyped-call]  # unannotated in pymodbus


class ChargerServer(ModbusTcpServer):
    """A Modbus TCP server answering as the charger model; one instance per power-on."""

    def __init__(self, charger: Charger, faults: Faults, stats: Stats, *, host: str, port: int) -> None:
        """Serve `charger` on host:port (port 0: any free port)."""
        self.profile = charger.profile
        self.faults = faults
        self.stats = stats
        self.stopping = asyncio.Event()
        super().__init__(
            ChargerContext(charger, faults, stats),
            address=(host, port),
            trace_packet=self._count_bytes,
        )

    def _count_bytes(self, sending: bool, data: bytes) -> bytes:
        if sending:
            self.stats.bytes_sent += len(data)
        else:
            self.stats.bytes_received += len(data)
        return data

    def callback_new_connection(self) -> FaultInjectingHandler:
        """Create the handler for a new client connection."""
        self.stats.connections_opened += 1
        return FaultInjectingHandler(self, self.trace_packet, self.trace_pdu, self.trace_connect)  # type: ignore[no-untyped-call]  # unannotated in pymodbus

    def admit(self, handler: FaultInjectingHandler) -> None:
        """Apply the charger's client limit to a new connection: refuse it, or drop the oldest to make room."""
        limit = self.profile.max_clients
        if limit is None:
            return
        others = [h for h in self.active_connections.values() if h is not handler and h.is_active()]
        if len(others) < limit:
            return
        if self.profile.extra_client is ExtraClient.REFUSED:
            handler.close()
        else:
            others[0].close()

    def close_idle_connections(self) -> int:
        """Close every connection whose idle timer runs, as if each timer expired now; return how many."""
        handlers = list(self.active_connections.values())
        return sum(1 for handler in handlers if cast("FaultInjectingHandler", handler).expire_idle_timer())

    @property
    def bound_port(self) -> int:
        """Return the TCP port the server listens on."""
        server = cast("asyncio.Server", self.transport)
        return int(server.sockets[0].getsockname()[1])

    @property
    def connection_count(self) -> int:
        """Return the number of clients connected now."""
        # pymodbus keeps a handler it closed itself in this table: count the open ones.
        return sum(1 for handler in self.active_connections.values() if handler.is_active())

    async def shutdown(self) -> None:
        """Stop listening, close every connection and release stalled requests."""
        self.stopping.set()
        await super().shutdown()  # type: ignore[no-untyped-call]  # unannotated in pymodbus
