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


async def test_held_back_requests_go_one_at_a_time_when_let_in() -> None:
    # A slow link: the 1 s tier holds the slower tiers back and lets one in between two of its polls.
    turns = TurnTaking()
    order: list[str] = []
    release = asyncio.Event()

    async def take(name: str, priority: Priority, hold: asyncio.Event | None = None) -> None:
        async with turns.turn(priority):
            order.append(name)
            if hold is not None:
                await hold.wait()

    turns.hold_background(10)
    first, second = (asyncio.create_task(take(name, Priority.BACKGROUND)) for name in ("mode3", "token"))
    await asyncio.sleep(0)
    assert turns.waiting == 2  # held, though the connection is free
    poll = asyncio.create_task(take("poll", Priority.REALTIME, release))
    await asyncio.sleep(0)
    assert not turns.admit_background()  # the poll has the connection
    release.set()
    await poll
    await asyncio.sleep(0)
    assert order == ["poll"]  # it handed the connection on to nobody: the others are held
    assert turns.admit_background()
    await asyncio.sleep(0)
    assert order == ["poll", "mode3"]
    assert turns.waiting == 1
    turns.hold_background(0)  # let go: the rest goes as it comes
    await asyncio.gather(first, second)
    assert order == ["poll", "mode3", "token"]
    assert not turns.admit_background()  # nobody waits


async def test_a_hold_nobody_renews_lapses() -> None:
    turns = TurnTaking()
    turns.hold_background(0.05)
    turns.hold_background(0.05)  # renewed
    async with asyncio.timeout(1):
        async with turns.turn(Priority.BACKGROUND):
            pass
    assert turns.waiting == 0
