"""The one Modbus TCP connection to a charger, shared by both ports and every polling tier.

Everything the integration asks the charger goes through here, through the vendor library `enovates-modbus`.
Library and pymodbus errors become this module's exceptions: the charger did not answer (or answered something that
is not Modbus), or it refused the request.
"""

from __future__ import annotations

import asyncio
import contextvars
import inspect
import logging
import typing

from enovates_modbus import EnoOneClient
from enovates_modbus.base import ModbusRegisterType, RegisterMap
from enovates_modbus.eno_one import APIVersion, Diagnostics, EMSLimit, TransactionToken
from pymodbus import ModbusException
from pymodbus.client import AsyncModbusTcpClient
from pymodbus.exceptions import ConnectionException, ModbusIOException

from .const import LOGGER, REQUEST_TIMEOUT_S

PORT_1: typing.Final = 1
PORT_2: typing.Final = 2

# Set while this integration talks to a charger: pymodbus' own log lines about it are then left out, since the
# integration reports the outcome once, in its own words (a dead charger would otherwise log every second).
_TALKING_TO_CHARGER: contextvars.ContextVar[bool] = contextvars.ContextVar("enovates_request", default=False)


class _QuietWhileTalkingToCharger(logging.Filter):
    """Leave out pymodbus' warnings and errors about this integration's requests; keep everyone else's.

    Debug lines stay: they only show when someone turned them on to look into a problem.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno < logging.WARNING or not _TALKING_TO_CHARGER.get()


logging.getLogger("pymodbus.logging").addFilter(_QuietWhileTalkingToCharger())


class ChargerError(Exception):
    """Base of what talking to the charger can raise."""


class ChargerConnectionError(ChargerError):
    """The charger did not answer: refused, unreachable, timed out or the connection dropped."""


class ChargerProtocolError(ChargerConnectionError):
    """Something answered, but not in Modbus TCP (another kind of server on that port)."""


class ChargerRejectedError(ChargerError):
    """The charger answered with a Modbus exception: the request is not allowed or not available."""


def decode[T: RegisterMap](register_map: type[T], registers: list[int]) -> T:
    """Decode a register map, leaving a field the library cannot decode as None instead of failing the map.

    A newer firmware may report an enum value this library version does not know (a new LED colour, say): that
    one value becomes unknown, not every value of the map.
    """
    try:
        return register_map.from_registers(list(registers))
    except ValueError:
        pass
    remaining = list(registers)
    fields: dict[str, object] = {}
    for name, annotation in inspect.get_annotations(register_map).items():
        for register_type in typing.get_args(annotation):
            if isinstance(register_type, ModbusRegisterType):
                try:
                    fields[name] = register_type.from_registers(remaining)
                except ValueError:
                    # The register was consumed; its value is outside what the library knows.
                    fields[name] = None
                    LOGGER.debug("%s.%s: value not known to enovates-modbus", register_map.__name__, name)
    return register_map(**fields)


class _PortClient(EnoOneClient):
    """The vendor client for one port (Modbus unit id), on the charger's shared connection."""

    def __init__(self, modbus: AsyncModbusTcpClient, host: str, port: int, unit: int) -> None:
        # Timeout and retries are the shared connection's: the library's own would make another socket.
        super().__init__(host, port=port, device_id=unit)
        self._modbus = modbus

    @property
    def client(self) -> AsyncModbusTcpClient:
        """Return the charger's one connection, instead of the library's own per client."""
        return self._modbus


class EnovatesCharger:
    """An Enovates charger on host:port with one or two ports (Modbus unit ids 1 and 2) on one TCP connection."""

    def __init__(self, host: str, port: int, *, dual_port: bool) -> None:
        """Prepare the connection; nothing is sent until the first request."""
        self.host = host
        self.port = port
        self.ports: tuple[int, ...] = (PORT_1, PORT_2) if dual_port else (PORT_1,)
        # No automatic reconnect: the next request reconnects, so a dead charger costs one bounded attempt a poll
        # instead of pymodbus' back-off of up to five minutes. No retries of a silent charger: the next poll is
        # the retry. A connection that drops mid-request is retried at once, once (see _request).
        self._modbus = AsyncModbusTcpClient(
            host,
            port=port,
            name=f"enovates {host}:{port}",
            timeout=REQUEST_TIMEOUT_S,
            retries=0,
            reconnect_delay=0,
            reconnect_delay_max=0,
            trace_packet=self._on_packet,
            trace_connect=self._on_connection_change,
        )
        self._clients = {unit: _PortClient(self._modbus, host, port, unit) for unit in self.ports}
        # One request at a time: the charger's Modbus server is small and pymodbus would queue them anyway;
        # the lock also makes sure only one request opens the connection.
        self._lock = asyncio.Lock()
        self._in_flight: asyncio.Task[typing.Any] | None = None
        self._dropped = False
        self._received = 0
        self.closed = False
        # The registers of each map as last read, per (unit, map): for the diagnostics download, to replay.
        self.raw_registers: dict[tuple[int, str], list[int]] = {}

    @property
    def connected(self) -> bool:
        """Whether the TCP connection is open."""
        return bool(self._modbus.connected)

    def _on_packet(self, sending: bool, data: bytes) -> bytes:
        if not sending:
            self._received += len(data)
        return data

    def _on_connection_change(self, connected: bool) -> None:
        # pymodbus does not fail a pending request when the peer closes the connection; it would wait for the
        # timeout. Fail it now, so that _request can retry on a new connection straight away.
        if not connected and self._in_flight is not None and not self._in_flight.done():
            self._dropped = True
            self._in_flight.cancel()

    async def _request[T](self, unit: int, call: typing.Callable[[EnoOneClient], typing.Awaitable[T]]) -> T:
        async with self._lock:
            if self.closed:
                raise ChargerConnectionError("the connection was closed")
            token = _TALKING_TO_CHARGER.set(True)
            try:
                try:
                    return await self._attempt(unit, call)
                except _DroppedError:
                    # The charger (or the network) closed a working connection: one immediate retry on a new one.
                    LOGGER.debug("Connection to %s:%s dropped during a request; retrying", self.host, self.port)
                    try:
                        return await self._attempt(unit, call)
                    except _DroppedError as err:
                        raise ChargerConnectionError("the connection dropped twice") from err
            finally:
                _TALKING_TO_CHARGER.reset(token)

    async def _attempt[T](self, unit: int, call: typing.Callable[[EnoOneClient], typing.Awaitable[T]]) -> T:
        if not self._modbus.connected:
            # A connection closed a moment ago reports its end on the next turn of the loop; pymodbus reuses one
            # protocol object for every connection, so that report would otherwise end the new connection.
            await asyncio.sleep(0)
        self._dropped = False
        received_before = self._received
        task = asyncio.ensure_future(call(self._clients[unit]))
        self._in_flight = task
        try:
            async with asyncio.timeout(REQUEST_TIMEOUT_S * 3):
                return await task
        except (ConnectionException, ModbusIOException, ConnectionError, OSError, TimeoutError) as err:
            raise self._failure(err, received_before) from err
        except asyncio.CancelledError as err:
            current = asyncio.current_task()
            if not self._dropped or current is None or current.cancelling():
                raise  # the caller was cancelled, not the request
            raise self._failure(err, received_before) from err
        except ModbusException as err:
            raise ChargerRejectedError(str(err)) from err
        finally:
            self._in_flight = None
            if not task.done():  # pragma: no cover - only when the caller itself is cancelled
                task.cancel()

    def _failure(self, err: BaseException, received_before: int) -> Exception:
        """Close the connection after a failed request and say what went wrong."""
        # A late answer to a timed-out request would be taken for the next one's: start afresh.
        self._modbus.close()
        if self._received > received_before:
            return ChargerProtocolError(f"the answer is not Modbus TCP ({err})")
        if self._dropped:
            return _DroppedError()
        return ChargerConnectionError(str(err) or type(err).__name__)

    async def read[T: RegisterMap](self, register_map: type[T], unit: int = PORT_1) -> T:
        """Read one register map of one port in one request."""

        async def read_map(client: EnoOneClient) -> list[int]:
            registers: list[int] = await client.read(register_map.BASE_ADDRESS, register_map.REGISTER_COUNT)
            return registers

        registers = await self._request(unit, read_map)
        self.raw_registers[unit, register_map.__name__] = list(registers)
        return decode(register_map, registers)

    async def check_version(self) -> bool:
        """Whether the charger's Modbus API is one the vendor library supports."""

        async def check(client: EnoOneClient) -> bool:
            return bool(await client.check_version())

        return await self._request(PORT_1, check)

    async def read_api_version(self) -> APIVersion:
        """Read the Modbus API version (charger-wide)."""
        return await self.read(APIVersion)

    async def read_diagnostics(self) -> Diagnostics:
        """Read the identity of the charger (charger-wide)."""
        return await self.read(Diagnostics)

    async def read_ems_limit(self, unit: int) -> int:
        """Read the EMS current limit of a port in mA (-1: no limit), decoded as the signed value it is."""
        return (await self.read(EMSLimit, unit)).ems_limit

    async def read_transaction_token(self, unit: int) -> str:
        """Read the transaction token of a port ("" between sessions); refused unless EMS is in Full Control."""
        return (await self.read(TransactionToken, unit)).transaction_token

    async def set_ems_limit(self, unit: int, limit_ma: int) -> None:
        """Write the EMS current limit of a port in mA (-1: no limit)."""

        async def write(client: EnoOneClient) -> None:
            await client.set_ems_limit(limit_ma)

        await self._request(unit, write)

    def close(self) -> None:
        """Close the connection for good (the entry unloads, Home Assistant stops); a request in flight fails."""
        self.closed = True
        if self._in_flight is not None:
            self._in_flight.cancel()
        self._modbus.close()


class _DroppedError(Exception):
    """The connection closed while a request was waiting for its answer."""
