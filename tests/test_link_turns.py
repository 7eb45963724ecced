"""Turn-taking on the one connection: a waiter cancelled just as its turn would come is skipped, deterministically.

(The slow-link tests reach this only when the event loop happens to order things so.)
"""

from __future__ import annotations

import asyncio

from custom_components.enovates.modbus.link import Priority, TurnTaking


async def test_a_waiter_cancelled_as_the_holder_leaves_is_skipped() -> None:
    turns = TurnTaking()
    release = asyncio.Event()
    order: list[str] = []

    async def take(name: str, hold: asyncio.Event | None = None) -> None:
        async with turns.turn(Priority.BACKGROUND):
            order.append(name)
            if hold is not None:
                await hold.wait()

    holder = asyncio.create_task(take("holder", release))
    await asyncio.sleep(0)
    waiter = asyncio.create_task(take("waiter"))
    await asyncio.sleep(0)
    assert turns.waiting == 1
    release.set()  # the holder runs first and hands on: the waiter's turn is already cancelled, so it is skipped
    waiter.cancel()
    await asyncio.gather(holder, waiter, return_exceptions=True)
    assert order == ["holder"]
    assert turns.waiting == 0
    async with asyncio.timeout(1):  # and the connection is free again
        await take("next")
    assert order == ["holder", "next"]
