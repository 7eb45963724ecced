"""Turn-taking on the one connection: waiters who give up, before or as their turn comes, pass it on.

No charger and no real time here: each `asyncio.sleep(0)` lets every task that can run take one step, so the order
of events is the same on any machine. (The slow-link tests reach these cases only when the event loop happens to
order things so.)
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from custom_components.enovates.modbus.link import Priority, TurnTaking

type Take = Callable[[str, Priority, asyncio.Event | None], Awaitable[None]]


@pytest.fixture
def turns() -> TurnTaking:
    """The turns of one connection."""
    return TurnTaking()


@pytest.fixture
def order() -> list[str]:
    """Who had a turn, in order."""
    return []


@pytest.fixture
def take(turns: TurnTaking, order: list[str]) -> Take:
    """Wait for a turn and note it; hold it until `hold` is set, if given."""

    async def take(name: str, priority: Priority, hold: asyncio.Event | None = None) -> None:
        async with turns.turn(priority):
            order.append(name)
            if hold is not None:
                await hold.wait()

    return take


async def test_a_waiter_that_gives_up_leaves_the_queue(turns: TurnTaking, order: list[str], take: Take) -> None:
    release = asyncio.Event()
    first = asyncio.create_task(take("first", Priority.BACKGROUND, release))
    await asyncio.sleep(0)
    gives_up = asyncio.create_task(take("gives up", Priority.CONTROL, None))
    later = asyncio.create_task(take("later", Priority.BACKGROUND, None))
    await asyncio.sleep(0)
    assert turns.waiting == 2
    gives_up.cancel()
    await asyncio.sleep(0)
    assert turns.waiting == 1
    release.set()
    await asyncio.gather(first, later, return_exceptions=True)
    assert order == ["first", "later"]


async def test_a_waiter_whose_turn_came_but_that_did_not_run_hands_it_on(order: list[str], take: Take) -> None:
    release = asyncio.Event()
    holder = asyncio.create_task(take("holder", Priority.BACKGROUND, release))
    await asyncio.sleep(0)
    handed = asyncio.create_task(take("handed", Priority.REALTIME, None))
    after = asyncio.create_task(take("after", Priority.BACKGROUND, None))
    await asyncio.sleep(0)
    release.set()
    await asyncio.sleep(0)  # the holder leaves and hands the turn to "handed", which has not run yet
    handed.cancel()
    await asyncio.gather(holder, handed, after, return_exceptions=True)
    assert order == ["holder", "after"]


async def test_a_waiter_cancelled_as_the_holder_leaves_is_skipped(
    turns: TurnTaking, order: list[str], take: Take
) -> None:
    release = asyncio.Event()
    holder = asyncio.create_task(take("holder", Priority.BACKGROUND, release))
    await asyncio.sleep(0)
    waiter = asyncio.create_task(take("waiter", Priority.BACKGROUND, None))
    await asyncio.sleep(0)
    assert turns.waiting == 1
    release.set()  # the holder runs first and hands on: the waiter's turn is already cancelled, so it is skipped
    waiter.cancel()
    await asyncio.gather(holder, waiter, return_exceptions=True)
    assert order == ["holder"]
    assert turns.waiting == 0
    async with asyncio.timeout(1):  # and the connection is free again
        await take("next", Priority.BACKGROUND, None)
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
