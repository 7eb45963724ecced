"""The simulator as a whole: powering up on its port."""

from __future__ import annotations

import asyncio
import socket
from unittest.mock import patch

import pytest

from enovates_simulator import Simulator


async def test_powering_up_waits_a_moment_for_a_port_that_is_taken(socket_enabled: None) -> None:
    simulator = await Simulator(host="127.0.0.1").start()
    port = simulator.port
    await simulator.stop()
    squatter = socket.socket()  # another program's connection, say, took the free port as its own
    squatter.bind(("127.0.0.1", port))
    squatter.listen()
    started = asyncio.create_task(simulator.start())
    await asyncio.sleep(0.25)
    assert not started.done()
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
