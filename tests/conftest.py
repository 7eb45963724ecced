"""Fixtures shared by every test: a simulated charger on a free loopback port."""

from __future__ import annotations

from collections.abc import AsyncIterator
import contextlib

from enovates_modbus import EnoOneClient
import pytest

from enovates_simulator import Charger, ManualClock, Simulator

# Every Modbus client in the tests: one try, a short timeout, so a fault shows in well under a second.
CLIENT_TIMEOUT_S = 0.5


@pytest.fixture
def clock() -> ManualClock:
    """A clock the test moves by hand."""
    return ManualClock()


@pytest.fixture
def charger(clock: ManualClock) -> Charger:
    """A single-port ENO one in Full Control on the manual clock."""
    return Charger(clock=clock)


@pytest.fixture
async def simulator(socket_enabled: None, charger: Charger) -> AsyncIterator[Simulator]:
    """The charger served over Modbus TCP on 127.0.0.1 (sockets enabled for loopback only)."""
    async with Simulator(charger, host="127.0.0.1") as sim:
        yield sim


@contextlib.asynccontextmanager
async def eno_client(simulator: Simulator, unit: int = 1) -> AsyncIterator[EnoOneClient]:
    """The vendor library's client for one unit of the simulator, closed afterwards."""
    client = EnoOneClient("127.0.0.1", simulator.port, device_id=unit, mb_retries=0, mb_timeout=CLIENT_TIMEOUT_S)
    try:
        yield client
    finally:
        client.client.close()


@pytest.fixture
async def client(simulator: Simulator) -> AsyncIterator[EnoOneClient]:
    """The vendor library's client for port 1."""
    async with eno_client(simulator) as eno:
        yield eno
