"""The charger connection's own edge cases, where the simulator cannot time them precisely enough."""

from __future__ import annotations

import asyncio

import pytest

from custom_components.enovates.modbus.charger import ChargerConnectionError, EnovatesCharger
from custom_components.enovates.modbus.link import SLOT_TAKEN_RETRY_S, Priority


def request_that_hangs(connection: EnovatesCharger) -> tuple[asyncio.Task[None], asyncio.Event]:
    """Start a request whose library call never returns; the event is set each time the call starts."""
    started = asyncio.Event()

    async def call(_client: object) -> None:
        started.set()
        await asyncio.Event().wait()

    return asyncio.create_task(connection._request(1, call, priority=Priority.REALTIME, what="test")), started


async def test_a_drop_outside_the_modbus_exchange_is_retried(connection: EnovatesCharger) -> None:
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

    request = asyncio.create_task(connection._request(1, call, priority=Priority.REALTIME, what="test"))
    await started.wait()
    connection._answered_on_connection = True  # a working connection
    connection._on_connection_change(False)
    assert await request == "answered"
    assert calls == 2


async def test_dropping_twice_is_a_connection_error(connection: EnovatesCharger) -> None:
    request, started = request_that_hangs(connection)
    for _ in range(2):
        await started.wait()
        started.clear()
        connection._answered_on_connection = True  # each connection had answered before it dropped
        connection._on_connection_change(False)
    with pytest.raises(ChargerConnectionError, match="dropped twice"):
        await request


@pytest.mark.parametrize("working", [True, False], ids=["dropped, then taken", "taken"])
async def test_a_connection_closed_before_any_answer_is_a_slot_taken(
    connection: EnovatesCharger, working: bool
) -> None:
    # The charger accepts a connection, and closes it before it answered anything on it: it takes no more clients.
    request, started = request_that_hangs(connection)
    if working:
        await started.wait()
        started.clear()
        connection._answered_on_connection = True
        connection._on_connection_change(False)  # dropped: retried at once, on a connection taken in turn
    await started.wait()
    connection._on_connection_change(True)  # the connection the request goes on (this one had not answered yet)
    connection._on_connection_change(False)
    with pytest.raises(ChargerConnectionError, match="before answering"):
        await request
    assert connection.link.connect_failures == 1
    assert connection.link.drops == int(working)
    # tried again a few seconds later, not at once
    wait = connection._reconnect.not_before - asyncio.get_running_loop().time()
    assert wait == pytest.approx(SLOT_TAKEN_RETRY_S, abs=0.5)


async def test_cancelling_the_caller_is_not_a_drop(connection: EnovatesCharger) -> None:
    request, started = request_that_hangs(connection)
    await started.wait()
    request.cancel()
    with pytest.raises(asyncio.CancelledError):
        await request
    # the lock was released: the charger answers the next request
    assert await connection.check_version()
