"""The simulator as a whole: powering up on its port."""

from __future__ import annotations

import asyncio
import socket
from typing import Any
from unittest.mock import patch

from enovates_modbus import EnoOneClient
import pytest

from enovates_simulator import Simulator
from enovates_simulator.server import ChargerServer

from ..helpers import wait_until


async def test_powering_up_waits_a_moment_for_a_port_that_is_taken(socket_enabled: None) -> None:
    simulator = await Simulator(host="127.0.0.1").start()
    port = simulator.port
    await simulator.stop()
    squatter = socket.socket()  # another program's connection, say, took the free port as its own
    squatter.bind(("127.0.0.1", port))
    squatter.listen()
    attempts = 0
    serve = ChargerServer.serve_forever

    async def counted(server: ChargerServer, **kwargs: Any) -> None:
        nonlocal attempts
        attempts += 1
        await serve(server, **kwargs)

    with patch.object(ChargerServer, "serve_forever", counted):
        started = asyncio.create_task(simulator.start())
        await wait_until(lambda: attempts >= 3, "the simulator to try the taken port again")
        assert not started.done()  # neither listening nor given up
        squatter.close()
        await asyncio.wait_for(started, 5)
    assert simulator.listening
    assert simulator.port == port
    await simulator.stop()


async def test_a_port_taken_for_good_is_an_error(socket_enabled: None) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        simulator = Simulator(host="127.0.0.1", port=squatter.getsockname()[1])
        with patch("enovates_simulator.simulator._LISTEN_ATTEMPTS", 2), pytest.raises(RuntimeError):
            await simulator.start()


async def test_without_an_idle_timeout_no_connection_is_closed_for_idling(
    simulator: Simulator, client: EnoOneClient
) -> None:
    assert (await client.get_state()).number_of_phases == 3
    assert simulator.close_idle_connections() == 0
    assert simulator.connection_count == 1
    await simulator.stop()
    assert simulator.close_idle_connections() == 0  # nothing listens
