"""The charger connection's own edge cases, where the simulator cannot time them precisely enough."""

from __future__ import annotations

import asyncio

import pytest

from custom_components.enovates.modbus.charger import ChargerConnectionError, EnovatesCharger
from custom_components.enovates.modbus.link import SLOT_TAKEN_RETRY_S, Priority
from enovates_simulator import Simulator


async def test_a_drop_outside_the_modbus_exchange_is_retried(simulator: Simulator) -> None:
    charger = EnovatesCharger("127.0.0.1", simulator.port, dual_port=False)
    started = asyncio.Event()
    calls = 0

    async def call(_client: object) -> str:
        # The connection drops while the library is between requests (connecting, say): the task itself is
        # cancelled rather than pymodbus failing the request.
        nonlocal calls
        calls += 1
        if calls == 1:
            started.set()
            await asyncio.Event().wait()
        return "answered"

    request = asyncio.create_task(charger._request(1, call, priority=Priority.REALTIME, what="test"))
    await started.wait()
    charger._answered_on_connection = True  # a working connection
    charger._on_connection_change(False)
    assert await request == "answered"
    assert calls == 2
    charger.close()


async def test_dropping_twice_is_a_connection_error(simulator: Simulator) -> None:
    charger = EnovatesCharger("127.0.0.1", simulator.port, dual_port=False)
    waiting = asyncio.Event()

    async def call(_client: object) -> None:
        waiting.set()
        await asyncio.Event().wait()

    request = asyncio.create_task(charger._request(1, call, priority=Priority.REALTIME, what="test"))
    for _ in range(2):
        await waiting.wait()
        waiting.clear()
        charger._answered_on_connection = True  # each connection had answered before it dropped
        charger._on_connection_change(False)
    with pytest.raises(ChargerConnectionError, match="dropped twice"):
        await request


@pytest.mark.parametrize("working", [True, False], ids=["dropped, then taken", "taken"])
async def test_a_connection_closed_before_any_answer_is_a_slot_taken(simulator: Simulator, working: bool) -> None:
    # The charger accepts a connection, and closes it before it answered anything on it: it takes no more clients.
    charger = EnovatesCharger("127.0.0.1", simulator.port, dual_port=False)
    waiting = asyncio.Event()

    async def call(_client: object) -> None:
        waiting.set()
        await asyncio.Event().wait()

    request = asyncio.create_task(charger._request(1, call, priority=Priority.REALTIME, what="test"))
    if working:
        await waiting.wait()
        waiting.clear()
        charger._answered_on_connection = True
        charger._on_connection_change(False)  # dropped: retried at once, on a connection taken in turn
    await waiting.wait()
    charger._on_connection_change(True)  # the connection the request goes on (this one had not answered yet)
    charger._on_connection_change(False)
    with pytest.raises(ChargerConnectionError, match="before answering"):
        await request
    assert charger.link.connect_failures == 1
    assert charger.link.drops == int(working)
    # tried again a few seconds later, not at once
    wait = charger._reconnect.not_before - asyncio.get_running_loop().time()
    assert wait == pytest.approx(SLOT_TAKEN_RETRY_S, abs=0.5)
    charger.close()


async def test_cancelling_the_caller_is_not_a_drop(simulator: Simulator) -> None:
    charger = EnovatesCharger("127.0.0.1", simulator.port, dual_port=False)
    waiting = asyncio.Event()

    async def call(_client: object) -> None:
        waiting.set()
        await asyncio.Event().wait()

    request = asyncio.create_task(charger._request(1, call, priority=Priority.REALTIME, what="test"))
    await waiting.wait()
    request.cancel()
    with pytest.raises(asyncio.CancelledError):
        await request
    # the lock was released: the charger answers the next request
    assert await charger.check_version()
    charger.close()
