"""How often a port's contactor moved in the last hour, and whether smart charging may start the car again.

A move is charging starting or stopping, as the charger's own contactor state shows it, whoever made it: Solar, the
peak guard, a missing grid reading, a change of mode, a user, the car itself. The contactor (and the car's charger
behind it) wears with each one: smart charging keeps a port's moves to 6 in any hour, every mode together.
"""

from __future__ import annotations

from collections import deque
from typing import Final

MAX_MOVES_PER_HOUR: Final = 6
HOUR_S: Final = 3600.0


class ContactorBudget:
    """The moves of one port's contactor in the last hour."""

    __slots__ = ("_moves", "closed")

    def __init__(self) -> None:
        """Start with no move seen (the first state seen is no move)."""
        self.closed: bool | None = None
        self._moves: deque[float] = deque()

    def observe(self, now: float, closed: bool) -> None:
        """Take the contactor's state at `now`: a change from the last one seen is a move."""
        if self.closed is not None and closed != self.closed:
            self._moves.append(now)
        self.closed = closed

    def moves(self, now: float) -> int:
        """Return how many moves the hour up to `now` holds."""
        while self._moves and now - self._moves[0] >= HOUR_S:
            self._moves.popleft()
        return len(self._moves)

    def may_start(self, now: float) -> bool:
        """Return whether a start now leaves room in the hour for the stop that may have to follow it.

        Stops are never held back (a pause for the peak or a missing reading must happen): so a start needs two
        moves left, and every hour holds at most 6 moves, however the clouds, the house and the guard take turns.
        """
        return self.moves(now) <= MAX_MOVES_PER_HOUR - 2
