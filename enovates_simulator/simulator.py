"""The simulated charger as a whole: model, faults and the Modbus server, powered on and off like the real one."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from typing import TYPE_CHECKING, Self

from .faults import Faults
from .model import Charger, EmsMode
from .server import ChargerServer, Stats
from .variants import EmsOff

if TYPE_CHECKING:
    from types import TracebackType


_LISTEN_ATTEMPTS = 50  # 5 s


class Simulator:
    """An ENO one on host:port.

    With EMS mode Off, or while powered off or rebooting, nothing listens: connections are refused.
    """

    def __init__(self, charger: Charger | None = None, *, host: str = "127.0.0.1", port: int = 0) -> None:
        """Simulate `charger` (a single-port ENO one in Full Control by default); port 0 picks a free port."""
        self.charger = charger if charger is not None else Charger()
        self.faults = Faults()
        self.stats = Stats()
        self.host = host
        self._port = port
        self._server: ChargerServer | None = None
        self._powered = False
        self._boot: asyncio.Task[None] | None = None
        self._power_up: asyncio.Task[None] | None = None  # after a reboot, until the power is back

    @property
    def port(self) -> int:
        """Return the TCP port (known once the server has listened)."""
        if self._port == 0:
            raise RuntimeError("the simulator has not listened yet")
        return self._port

    @property
    def listening(self) -> bool:
        """Whether the Modbus server accepts connections now."""
        return self._server is not None

    @property
    def booting(self) -> bool:
        """Whether the charger is powering up (after a reboot, or a slow boot): it will listen soon."""
        return self._boot is not None

    @property
    def connection_count(self) -> int:
        """Return how many clients are connected now."""
        return 0 if self._server is None else self._server.connection_count

    async def start(self) -> Self:
        """Power the charger on: it listens unless its EMS mode is Off (after a slow boot, as its profile says)."""
        boot_s = self.charger.profile.boot_s
        if boot_s > 0 and self._boot is None:
            if self._port == 0:
                self._port = _free_port(self.host)  # known now, though nothing listens there yet
            self._boot = asyncio.create_task(self._boot_after(boot_s), name="enovates simulator slow boot")
            return self
        self._powered = True
        await self._sync_listening()
        return self

    async def stop(self) -> None:
        """Power the charger off for good: close every connection and stop any pending boot."""
        self._powered = False
        if self._boot is not None:
            self._boot.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._boot
            self._boot = None
        await self._sync_listening()

    async def reboot(self, seconds: float) -> None:
        """Drop every connection and refuse new ones for `seconds`, then power up again (as after a power cut).

        The EMS limits survive or not as the charger's profile says; a slow boot adds its time.
        """
        await self.stop()
        self.charger.power_cycle()
        self._boot = self._power_up = asyncio.create_task(self._power_up_after(seconds), name="enovates simulator boot")

    async def _power_up_after(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
        self._boot = None
        await self.start()

    async def _boot_after(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
        self._powered = True
        await self._sync_listening()
        self._boot = None

    async def wait_booted(self) -> None:
        """Wait for a pending reboot (and the slow boot after it) to finish."""
        while self._boot is not None:
            await asyncio.shield(self._boot)

    async def wait_powered_up(self) -> None:
        """Wait for the power to come back after a reboot; a slow boot may follow (`wait_booted` waits for it too).

        For tests of the moment in between: the charger is powered, and does not listen yet.
        """
        if self._power_up is not None and not self._power_up.done():
            await asyncio.shield(self._power_up)

    def close_idle_connections(self) -> int:
        """Close every connection that waits for its idle timeout (the profile's `idle_timeout_s`), now.

        What the charger does once a client has been silent that long, without a test waiting for it in real time.
        Return how many were closed (none without an idle timeout, or while nothing listens).
        """
        return 0 if self._server is None else self._server.close_idle_connections()

    async def set_ems_mode(self, mode: EmsMode) -> None:
        """Change what the installer allows: Off closes the Modbus server, the others open it."""
        self.charger.ems_mode = mode
        await self._sync_listening()

    async def _sync_listening(self) -> None:
        ems_on = self.charger.ems_mode is not EmsMode.OFF or self.charger.profile.ems_off is EmsOff.EXCEPTIONS
        should_listen = self._powered and ems_on
        if should_listen and self._server is None:
            server = await self._listen()
            self._server = server
            self._port = server.bound_port
        elif not should_listen and self._server is not None:
            server, self._server = self._server, None
            await server.shutdown()

    async def _listen(self) -> ChargerServer:
        """Listen on the port, waiting a moment while it is taken.

        Powered up again after a reboot, the charger keeps its port, which another program's outgoing connection may
        hold as its own for a while (an ephemeral port picked while nothing listened on it).
        """
        attempts = 0
        while True:
            server = ChargerServer(self.charger, self.faults, self.stats, host=self.host, port=self._port)
            try:
                await server.serve_forever(background=True)
            except RuntimeError:  # pymodbus' "Could not start listen"
                await server.shutdown()
                attempts += 1
                if attempts >= _LISTEN_ATTEMPTS:
                    raise
                await asyncio.sleep(0.1)
            else:
                return server

    async def __aenter__(self) -> Self:
        """Start on entering the context."""
        return await self.start()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        """Stop on leaving the context."""
        await self.stop()


def _free_port(host: str) -> int:
    """Return a TCP port free on `host` now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])
