"""The link to a charger: how it is doing, when to reconnect, and whose turn it is to ask.

charger.py owns the one connection; this module holds what it needs to use that connection well on a slow or
flaky network, without any Modbus in it: the statistics a diagnostics download shows, the reconnect policy (at once
after a restart, every few seconds while the charger's one client slot is taken, and patient with a charger that
keeps closing our connection because another client takes its place), and the turn-taking that lets a user's write
go before the polls.
"""

from __future__ import annotations

from array import array
import asyncio
from collections import Counter, deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
import enum
import heapq
import itertools
import statistics
from typing import Any, Final

# After a connection attempt nobody answered (the charger is off the network): the first retry soon (a Wi-Fi
# hiccup), then every few seconds at most; never pymodbus' back-off of minutes, never a tight loop. Each such attempt
# waits for the request timeout besides.
RECONNECT_DELAYS_S: Final = (1.0, 2.0, 4.0, 5.0)
# An attempt refused at once (the charger's network is up and its Modbus server is not: it restarts, boots, or its
# EMS mode is Off): tried again at the next poll, so that Home Assistant is back within a second of the charger
# listening again. A refusal costs the charger one packet each way; the half second keeps it to one attempt a poll.
REFUSED_RETRY_S: Final = 0.5
# A connection the charger accepts and closes before answering anything: its client slot is taken (a charger that
# takes one Modbus client refuses more). Tried again every few seconds, so that Home Assistant is back within 5 s of
# the slot freeing, without asking the busy charger every second.
SLOT_TAKEN_RETRY_S: Final = 3.0
# A charger that keeps closing our connection while it answers is most likely serving another Modbus client in our
# place (a charger that takes one client at a time drops the oldest). Reconnecting at once would knock that client
# off in turn, and it us: back off further each time instead.
CONTENDED_DROPS: Final = 3  # drops (or slots found taken) within the window that mean "another client competes"
CONTENDED_WINDOW_S: Final = 120.0  # ... and how long without such drops before that is over
CONTENDED_DELAYS_S: Final = (5.0, 10.0, 20.0, 30.0)
RTT_SAMPLES: Final = 1000  # round trips kept for the median and 95th percentile


class Priority(enum.IntEnum):
    """Whose request goes first when several wait: a user's action, then the 1 s tier, then the slower tiers."""

    CONTROL = 0
    REALTIME = 1
    BACKGROUND = 2


class TurnTaking:
    """One request at a time on the connection; of those waiting, the highest priority goes next (FIFO within one).

    So a user's write waits for the request in flight at most, never behind a queue of polls. On a slow link the 1 s
    tier may hold the slower tiers back: their requests then wait even for a free connection, and go one at a time
    when that tier lets one in (between two of its polls), so that they never come between its polls two at once.
    """

    def __init__(self) -> None:
        """Start with nobody asking."""
        self._busy = False
        self._waiting: list[tuple[int, int, asyncio.Future[None]]] = []
        self._arrivals = itertools.count()
        self._background_held = False
        self._release: asyncio.TimerHandle | None = None

    @property
    def waiting(self) -> int:
        """Return how many requests wait for their turn."""
        return len(self._waiting)

    def hold_background(self, seconds: float) -> None:
        """Hold the slower tiers' requests back for `seconds` (0: let them go as they come), until let in one at a time.

        The hold lapses by itself: whoever holds renews it while it needs it, and a hold nobody renews blocks nobody.
        """
        if self._release is not None:
            self._release.cancel()
            self._release = None
        if seconds <= 0:
            self._let_background_go()
            return
        self._background_held = True
        self._release = asyncio.get_running_loop().call_later(seconds, self._let_background_go)

    def _let_background_go(self) -> None:
        self._release = None
        self._background_held = False
        if not self._busy:
            self._busy = True
            self._hand_on()

    def admit_background(self) -> bool:
        """Let one held-back request take the connection, if it is free; return whether one did."""
        if self._busy:
            return False
        self._busy = True
        return self._hand_on(admit_background=True)

    @asynccontextmanager
    async def turn(self, priority: Priority) -> AsyncIterator[None]:
        """Wait for this request's turn, and hand the connection on afterwards."""
        if self._busy or (priority is Priority.BACKGROUND and self._background_held):
            turn = asyncio.get_running_loop().create_future()
            entry = (int(priority), next(self._arrivals), turn)
            heapq.heappush(self._waiting, entry)
            try:
                await turn
            except asyncio.CancelledError:
                if turn.done() and not turn.cancelled():
                    self._hand_on()  # the turn came, but the caller gave up: the next one gets it
                elif entry in self._waiting:
                    self._waiting.remove(entry)
                    heapq.heapify(self._waiting)
                raise
        else:
            self._busy = True
        try:
            yield
        finally:
            self._hand_on()

    def _hand_on(self, *, admit_background: bool = False) -> bool:
        """Give the connection to the next request that may have it; return whether one got it."""
        while self._waiting:
            priority, _, turn = self._waiting[0]
            if priority == Priority.BACKGROUND and self._background_held and not admit_background:
                break  # held back: every request still waiting is a slower tier's
            heapq.heappop(self._waiting)
            if not turn.done():  # a waiter cancelled a moment ago has not left the queue yet
                turn.set_result(None)
                return True
        self._busy = False
        return False


@dataclass
class LinkHealth:
    """What the link to the charger did since the entry was loaded, for the diagnostics download."""

    requests: int = 0
    answers: int = 0  # Modbus frames received, late ones included
    timeouts: int = 0
    exception_answers: Counter[str] = field(default_factory=Counter)  # per register map
    timeouts_by_map: Counter[str] = field(default_factory=Counter)
    not_modbus: int = 0  # answers that were not Modbus TCP at all
    connections_opened: int = 0
    connect_failures: int = 0
    drops: int = 0  # connections the charger (or the network) closed
    # The last RTT_SAMPLES round trips, oldest overwritten first: a fixed 8 KiB, however long the entry runs.
    _round_trips_s: array[float] = field(default_factory=lambda: array("d", bytes(8 * RTT_SAMPLES)))
    _answered: int = 0
    round_trip_max_s: float = 0.0

    def answered(self, seconds: float) -> None:
        """Count a request answered after `seconds`."""
        self._round_trips_s[self._answered % RTT_SAMPLES] = seconds
        self._answered += 1
        self.round_trip_max_s = max(self.round_trip_max_s, seconds)

    @property
    def late_answers(self) -> int:
        """Return how many answers came for a request that had already timed out (every other answered one)."""
        return self.answers - self._answered - self.exception_answers.total()

    @property
    def round_trips_s(self) -> list[float]:
        """Return the round trips kept, oldest first."""
        if self._answered <= RTT_SAMPLES:
            return self._round_trips_s[: self._answered].tolist()
        start = self._answered % RTT_SAMPLES
        return (self._round_trips_s[start:] + self._round_trips_s[:start]).tolist()

    @property
    def typical_round_trip_s(self) -> float:
        """Return the median of the last few round trips (0 before any)."""
        recent = self.round_trips_s[-10:]
        return statistics.median(recent) if recent else 0.0

    def as_diagnostics(self) -> dict[str, Any]:
        """Return the figures, round trips in milliseconds."""
        samples = sorted(self.round_trips_s)

        def ms(seconds: float) -> float:
            return round(seconds * 1000, 1)

        return {
            "requests": self.requests,
            "answers": self.answers,
            "round_trip_ms": {
                "samples": len(samples),
                "median": ms(statistics.median(samples)) if samples else None,
                "p95": ms(samples[min(len(samples) - 1, int(len(samples) * 0.95))]) if samples else None,
                "max": ms(self.round_trip_max_s) if samples else None,
            },
            "late_answers": self.late_answers,
            "timeouts": self.timeouts,
            "timeouts_by_map": dict(self.timeouts_by_map),
            "exception_answers": dict(self.exception_answers),
            "not_modbus": self.not_modbus,
            "connections_opened": self.connections_opened,
            "reconnects": max(0, self.connections_opened - 1),
            "connect_failures": self.connect_failures,
            "drops": self.drops,
        }


class ReconnectPolicy:
    """When the next connection attempt may be made, after failed attempts or connections the charger closed.

    Three ways a connection ends or fails, three paces: an attempt nobody answers backs off (1, 2, 4, then 5 s); one
    refused at once is tried again every poll (a restart: back within a second of the charger listening); one the
    charger accepts and closes unanswered (its slot is taken) every few seconds; and a working connection the
    charger keeps closing (another client takes our place) backs off to every half minute.
    """

    def __init__(self) -> None:
        """Allow a connection attempt now."""
        self.failures = 0
        self.not_before = 0.0
        self._drops: deque[float] = deque()
        self._slots_taken: deque[float] = deque()

    def connected(self) -> None:
        """Note an opened connection: the next failure starts the ladder from the bottom."""
        self.failures = 0

    def connect_failed(self, now: float, *, refused: bool = False) -> float:
        """Return the delay before the next attempt, after one at `now` that was `refused` at once, or unanswered."""
        if refused:
            delay = REFUSED_RETRY_S
        else:
            delay = RECONNECT_DELAYS_S[min(self.failures, len(RECONNECT_DELAYS_S) - 1)]
            self.failures += 1
        self.not_before = now + delay
        return delay

    def slot_taken(self, now: float) -> float:
        """Return the delay before the next attempt, after the charger closed a connection it never answered on."""
        self._slots_taken.append(now)
        self.not_before = now + SLOT_TAKEN_RETRY_S
        return SLOT_TAKEN_RETRY_S

    def dropped(self, now: float) -> None:
        """Note that the charger (or the network) closed a working connection at `now`."""
        self._drops.append(now)
        _forget_before(self._drops, now - CONTENDED_WINDOW_S)
        if len(self._drops) >= CONTENDED_DROPS:
            excess = len(self._drops) - CONTENDED_DROPS
            self.not_before = now + CONTENDED_DELAYS_S[min(excess, len(CONTENDED_DELAYS_S) - 1)]

    @property
    def fought_over(self) -> bool:
        """Whether enough working connections were closed lately that reconnecting at once would fight a client."""
        return len(self._drops) >= CONTENDED_DROPS

    def contended(self, now: float) -> bool:
        """Whether another client most likely competes: the charger keeps closing our connection, or its slot taken."""
        _forget_before(self._drops, now - CONTENDED_WINDOW_S)
        _forget_before(self._slots_taken, now - CONTENDED_WINDOW_S)
        return len(self._drops) >= CONTENDED_DROPS or len(self._slots_taken) >= CONTENDED_DROPS


def _forget_before(moments: deque[float], cut_off: float) -> None:
    while moments and moments[0] <= cut_off:
        moments.popleft()
