"""The one Modbus TCP connection to a charger, shared by both ports and every polling tier.

Everything the integration asks the charger goes through here, through the vendor library `enovates-modbus`.
Library and pymodbus errors become this module's exceptions: the charger did not answer (or answered something that
is not Modbus), or it refused the request.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import typing

from enovates_modbus import EnoOneClient
from enovates_modbus.base import ModbusRegisterType, RegisterMap
from enovates_modbus.eno_one import APIVersion, Diagnostics, EMSLimit, TransactionToken
from pymodbus import ModbusException
from pymodbus.client import AsyncModbusTcpClient
from pymodbus.exceptions import ConnectionException, ModbusIOException

from .late_answers import mend_late_answer_skipping
from .link import LinkHealth, Priority, ReconnectPolicy, TurnTaking
from .mbap import frame_headers
from .timing import OUTAGE_AFTER_S, REQUEST_TIMEOUT_S, STALE_CONNECTION_AFTER_S

_LOGGER = logging.getLogger(__name__)
PORT_1: typing.Final = 1
PORT_2: typing.Final = 2
_PYMODBUS_PAUSE_AFTER_CONNECT_S: typing.Final = 0.2  # it sleeps 0.1 s after every connect


class ChargerError(Exception):
    """Base of what talking to the charger can raise."""


class ChargerConnectionError(ChargerError):
    """The charger did not answer: refused, unreachable, timed out or the connection dropped."""


class ChargerProtocolError(ChargerConnectionError):
    """Something answered, but not in Modbus TCP (another kind of server on that port)."""


class ChargerTimeoutError(ChargerConnectionError):
    """The charger did not answer one request in time; the connection is still open."""


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
                    _LOGGER.debug("%s.%s: value not known to enovates-modbus", register_map.__name__, name)
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
    """An Enovates charger on host:port with one or two ports (Modbus unit ids 1 and 2) on one TCP connection.

    Built for a slow or flaky link: a late answer is waited for (up to REQUEST_TIMEOUT_S) and never taken for the
    answer to a later request (pymodbus matches Modbus TCP transaction ids), and a request that times out leaves the
    connection open: a charger that stalls for a while answers on it again afterwards, and one that rebooted resets
    it on the next request. Only a connection silent for STALE_CONNECTION_AFTER_S is given up. Reconnects follow the
    ReconnectPolicy.
    """

    def __init__(self, host: str, port: int, *, dual_port: bool) -> None:
        """Prepare the connection; nothing is sent until the first request."""
        self.host = host
        self.port = port
        self.ports: tuple[int, ...] = (PORT_1, PORT_2) if dual_port else (PORT_1,)
        # No automatic reconnect (the ReconnectPolicy decides) and no retries (the next poll is the retry). The
        # request timeout is enforced here; pymodbus' own is only a backstop.
        self._modbus = AsyncModbusTcpClient(
            host,
            port=port,
            name=f"enovates {host}:{port}",
            timeout=REQUEST_TIMEOUT_S + 1,  # a backstop: _connect and _attempt enforce REQUEST_TIMEOUT_S
            retries=0,
            reconnect_delay=0,
            reconnect_delay_max=0,
            trace_packet=self._on_packet,
            trace_connect=self._on_connection_change,
        )
        # pymodbus would close the connection by itself after a few unanswered requests: that is ours to decide.
        self._modbus.set_max_no_responses(1_000_000)
        mend_late_answer_skipping(self._modbus)
        # One vendor client per unit id asked for: the ports, and a second one a reconfigure asks whether it exists.
        self._clients: dict[int, _PortClient] = {}
        self._turns = TurnTaking()
        self._reconnect = ReconnectPolicy()
        self.link = LinkHealth()
        self._in_flight: asyncio.Task[typing.Any] | None = None
        self._in_flight_failure: type[Exception] | None = None
        # Since when we have been waiting for the charger without hearing from it (None: nothing outstanding).
        self._waiting_since: float | None = None
        # Whether the charger answered anything on the connection now open: one it closes unanswered was refused.
        self._answered_on_connection = False
        self.closed = False
        # The registers of each map as last read, per (unit, map): for the diagnostics download, to replay.
        self.raw_registers: dict[tuple[int, str], list[int]] = {}

    @property
    def connected(self) -> bool:
        """Whether the TCP connection is open."""
        return bool(self._modbus.connected)

    @property
    def silent_for(self) -> float:
        """Return how long the charger has not answered what it was asked (0 while nothing is outstanding).

        Time in which nothing was asked does not count: the charger cannot be silent while nobody talks to it.
        """
        if self._waiting_since is None:
            return 0.0
        return asyncio.get_running_loop().time() - self._waiting_since

    @property
    def silent_since(self) -> float | None:
        """Return since when (loop time) the charger has answered nothing it was asked (None: nothing outstanding)."""
        return self._waiting_since

    @property
    def silent(self) -> bool:
        """Whether the charger has not answered for OUTAGE_AFTER_S: it is unreachable, not merely slow."""
        return self.silent_for >= OUTAGE_AFTER_S

    def hold_background(self, seconds: float) -> None:
        """Hold the slower tiers' requests back for `seconds` (the 1 s tier polls back to back); 0: let them go."""
        self._turns.hold_background(0 if self.closed else seconds)

    @property
    def requests_waiting(self) -> int:
        """Return how many requests wait for the one in flight."""
        return self._turns.waiting

    def admit_background(self) -> bool:
        """Let one held-back request of a slower tier go now, if the connection is free; return whether one did."""
        return self._turns.admit_background()

    @property
    def contended(self) -> bool:
        """Whether the charger keeps closing our connection: another Modbus client most likely competes for it."""
        return self._reconnect.contended(asyncio.get_running_loop().time())

    def _on_packet(self, sending: bool, data: bytes) -> bytes:
        if sending:
            return data
        # pymodbus hands over what it has not consumed yet: the complete frames in it are new (it consumes every
        # frame up to the answer it takes, and late answers always come before that one); a partial one waits.
        # Late answers count as signs of life too: pymodbus skips an answer whose transaction id is not the
        # request's, so an answer to a request that timed out is never taken for a later one's.
        for header in frame_headers(data):
            if header.protocol != 0:
                self.link.not_modbus += 1
                self._interrupt(ChargerProtocolError)
                break
            if not header.whole:
                break
            self.link.answers += 1
            self._answered_on_connection = True
            self._waiting_since = asyncio.get_running_loop().time()  # what is still outstanding is waited for anew
        return data

    def _on_connection_change(self, connected: bool) -> None:
        if connected:
            self.link.connections_opened += 1
            self._answered_on_connection = False
            self._reconnect.connected()
            return
        now = asyncio.get_running_loop().time()
        if not self._answered_on_connection:
            # Closed before a single answer: not a working connection lost, but one the charger would not take (its
            # client slot is taken). Retried every few seconds; taking it from another client is not ours to do.
            self.link.connect_failures += 1
            self._reconnect.slot_taken(now)
            self._interrupt(_SlotTakenError)
            return
        self.link.drops += 1
        self._reconnect.dropped(now)
        # pymodbus does not fail a pending request when the peer closes the connection; it would wait for the
        # timeout. Fail it now, so that _request can retry on a new connection straight away.
        self._interrupt(_DroppedError)

    def _interrupt(self, failure: type[Exception]) -> None:
        if self._in_flight is not None and not self._in_flight.done():
            self._in_flight_failure = failure
            self._in_flight.cancel()

    def _hang_up(self) -> None:
        # pymodbus reports only the ends it did not cause itself: this one is never taken for a drop.
        self._modbus.close()

    async def _request[T](
        self,
        unit: int,
        call: typing.Callable[[EnoOneClient], typing.Awaitable[T]],
        *,
        priority: Priority,
        what: str,
    ) -> T:
        async with self._turns.turn(priority):
            if self.closed:
                raise ChargerConnectionError("the connection was closed")
            try:
                return await self._attempt(unit, call, what)
            except _SlotTakenError:
                raise ChargerConnectionError(_SLOT_TAKEN) from None
            except _DroppedError:
                if self._reconnect.fought_over:
                    raise ChargerConnectionError(
                        "the charger keeps closing the connection (another Modbus client?)"
                    ) from None
                # The charger (or the network) closed a working connection: one immediate retry on a new one.
                _LOGGER.debug("Connection to %s:%s dropped during a request; retrying", self.host, self.port)
                try:
                    return await self._attempt(unit, call, what)
                except _SlotTakenError:
                    raise ChargerConnectionError(_SLOT_TAKEN) from None
                except _DroppedError as err:
                    raise ChargerConnectionError("the connection dropped twice") from err

    async def _connect(self) -> None:
        if self._modbus.connected:
            return
        loop = asyncio.get_running_loop()
        if (wait := self._reconnect.not_before - loop.time()) > 0:
            raise ChargerConnectionError(f"not connected; next attempt in {wait:.1f} s")
        # A connection closed a moment ago reports its end on the next turn of the loop; pymodbus reuses one
        # protocol object for every connection, so that report would otherwise end the new connection.
        await asyncio.sleep(0)
        try:
            async with asyncio.timeout(REQUEST_TIMEOUT_S + _PYMODBUS_PAUSE_AFTER_CONNECT_S):
                connected = await self._modbus.connect()
        except TimeoutError:
            connected = refused = False  # nothing answered at that address
        else:
            # pymodbus' own timeout is longer than ours: it returns False only for an error, which comes at once.
            refused = not connected
        if not connected:
            self.link.connect_failures += 1
            delay = self._reconnect.connect_failed(loop.time(), refused=refused)
            what = "the connection was refused" if refused else "cannot connect"
            raise ChargerConnectionError(f"{what}; next attempt in {delay:g} s")
        if not self._modbus.connected:
            # Accepted, and closed again during pymodbus' pause after connecting: the slot is taken.
            raise ChargerConnectionError(_SLOT_TAKEN)

    async def _attempt[T](self, unit: int, call: typing.Callable[[EnoOneClient], typing.Awaitable[T]], what: str) -> T:
        loop = asyncio.get_running_loop()
        if self._waiting_since is None:
            self._waiting_since = loop.time()
        await self._connect()
        self._in_flight_failure = None
        self.link.requests += 1
        sent = loop.time()
        if (client := self._clients.get(unit)) is None:
            client = self._clients[unit] = _PortClient(self._modbus, self.host, self.port, unit)
        task = asyncio.ensure_future(call(client))
        task.add_done_callback(_retrieve_outcome)
        self._in_flight = task
        answered: set[asyncio.Future[T]] = set()
        try:
            # Waited for, not awaited under a timeout: cancelling the request inside pymodbus would surface as an
            # I/O error, indistinguishable from a broken connection.
            answered, _ = await asyncio.wait((task,), timeout=REQUEST_TIMEOUT_S)
        finally:
            self._in_flight = None
            if not task.done():  # no answer in time, or the caller itself was cancelled
                task.cancel()
        interruption = self._take_interruption()
        if not answered:
            self.link.timeouts += 1
            self.link.timeouts_by_map[what] += 1
            if self.silent_for >= STALE_CONNECTION_AFTER_S:
                # A charger that rebooted or went away resets the connection as soon as it is back; only a
                # connection that a router silently forgot stays quiet this long. Start afresh.
                self._hang_up()
            raise ChargerTimeoutError(f"no answer within {REQUEST_TIMEOUT_S:g} s")
        try:
            result = task.result()
        except (ConnectionException, ModbusIOException, ConnectionError, OSError, asyncio.CancelledError) as err:
            raise self._failure(interruption, err) from err
        except ModbusException as err:
            self.link.exception_answers[what] += 1
            self._waiting_since = None
            raise ChargerRejectedError(str(err)) from err
        self.link.answered(loop.time() - sent)
        self._waiting_since = None
        return result

    def _take_interruption(self) -> type[Exception] | None:
        """Return why the request in flight was failed early (the connection dropped, garbage came), if it was."""
        interruption, self._in_flight_failure = self._in_flight_failure, None
        return interruption

    def _failure(self, interruption: type[Exception] | None, err: BaseException) -> Exception:
        """Say what went wrong with a request that did not get its answer."""
        if interruption in (_DroppedError, _SlotTakenError):
            return interruption()
        self._hang_up()  # start afresh: what is left in the connection is no use
        if interruption is ChargerProtocolError:
            return ChargerProtocolError(f"the answer is not Modbus TCP ({err})")
        return ChargerConnectionError(str(err) or type(err).__name__)

    async def read[T: RegisterMap](
        self, register_map: type[T], unit: int = PORT_1, *, priority: Priority = Priority.BACKGROUND
    ) -> T:
        """Read one register map of one port in one request."""

        async def read_map(client: EnoOneClient) -> list[int]:
            registers: list[int] = await client.read(register_map.BASE_ADDRESS, register_map.REGISTER_COUNT)
            return registers

        registers = await self._request(unit, read_map, priority=priority, what=register_map.__name__)
        self.raw_registers[unit, register_map.__name__] = list(registers)
        return decode(register_map, registers)

    async def check_version(self, *, priority: Priority = Priority.BACKGROUND) -> bool:
        """Whether the charger's Modbus API is one the vendor library supports."""

        async def check(client: EnoOneClient) -> bool:
            return bool(await client.check_version())

        return await self._request(PORT_1, check, priority=priority, what=APIVersion.__name__)

    async def read_api_version(self) -> APIVersion:
        """Read the Modbus API version (charger-wide)."""
        return await self.read(APIVersion)

    async def read_diagnostics(self, *, priority: Priority = Priority.BACKGROUND) -> Diagnostics:
        """Read the identity of the charger (charger-wide)."""
        return await self.read(Diagnostics, priority=priority)

    async def read_ems_limit(self, unit: int, *, priority: Priority = Priority.BACKGROUND) -> int:
        """Read the EMS current limit of a port in mA (-1: no limit), decoded as the signed value it is."""
        return (await self.read(EMSLimit, unit, priority=priority)).ems_limit

    async def read_transaction_token(self, unit: int, *, priority: Priority = Priority.BACKGROUND) -> str:
        """Read the transaction token of a port ("" between sessions); refused unless EMS is in Full Control."""
        return (await self.read(TransactionToken, unit, priority=priority)).transaction_token

    async def set_ems_limit(self, unit: int, limit_ma: int) -> None:
        """Write the EMS current limit of a port in mA (-1: no limit), before any poll that waits."""

        async def write(client: EnoOneClient) -> None:
            await client.set_ems_limit(limit_ma)

        await self._request(unit, write, priority=Priority.CONTROL, what=EMSLimit.__name__)

    def close(self) -> None:
        """Close the connection for good (the entry unloads, Home Assistant stops); a request in flight fails."""
        self.closed = True
        self._turns.hold_background(0)  # whatever waits goes on, and learns that the connection is closed
        if self._in_flight is not None:
            self._in_flight.cancel()
        self._hang_up()


def _retrieve_outcome(task: asyncio.Future[typing.Any]) -> None:
    """Take the outcome of a request given up on, so that asyncio does not report it as never retrieved."""
    if not task.cancelled():
        task.exception()


class _DroppedError(Exception):
    """The connection closed while a request was waiting for its answer."""


class _SlotTakenError(Exception):
    """The charger closed a connection before answering anything on it: it takes no more clients now."""


_SLOT_TAKEN: typing.Final = (
    "the charger closed the connection before answering (another Modbus client may hold its only connection)"
)
