"""What the ports of a site share: the surplus, and the peak guard's headroom.

The surplus among the ports in a Solar mode, the headroom among those the guard steers: equal power for each; when
there is not enough for every car's minimum, a port already paused gives way first, then the later in the order of
precedence (the higher port number of one charger: port 2 before port 1; a site's order: site.py).

Pure arithmetic over port numbers and powers: the controller asks, the rules (rules.py) keep each port's timers.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping


def give_way_order(numbers: Iterable[int], paused: Collection[int], rank: Mapping[int, int] | None = None) -> list[int]:
    """Return the ports in the order they give way: the paused ones first (no contactor moves), the last first.

    The last in the order of precedence: the highest `rank`, then the highest number.
    """
    ranks = rank or {}
    return sorted(numbers, key=lambda number: (number not in paused, -ranks.get(number, 0), -number))


def stop_candidate(
    surplus_w: float,
    running: list[int],
    minimum_w: Mapping[int, float],
    stoppable: Collection[int],
    hysteresis_w: float,
) -> int | None:
    """Return the port to stop when the surplus is short of the running ports' minimums: the last one that may stop.

    `running` in order of precedence; `stoppable` those in Solar (Solar + minimum never stops).
    """
    candidates = [number for number in running if number in stoppable]
    needed = sum(minimum_w[number] for number in running)
    if not candidates or surplus_w >= needed - hysteresis_w:
        return None
    return candidates[-1]


def start_candidate(
    surplus_w: float, running: list[int], waiting: list[int], minimum_w: Mapping[int, float]
) -> int | None:
    """Return the first waiting port when the surplus covers its minimum on top of the running ports' minimums."""
    if not waiting:
        return None
    needed = sum(minimum_w[number] for number in running) + minimum_w[waiting[0]]
    return waiting[0] if surplus_w >= needed else None


def fill(budget_w: float, wanted_w: Mapping[int, float]) -> dict[int, float]:
    """Share `budget_w` between the ports: equal power, and what one does not want goes to the others."""
    if len(wanted_w) == 1:  # one port, most of the time: it gets what it wants, up to the budget
        ((number, wanted),) = wanted_w.items()
        return {number: min(budget_w, wanted)}
    shares: dict[int, float] = {}
    left = sorted(wanted_w, key=wanted_w.__getitem__)
    remaining = budget_w
    while left:
        number = left.pop(0)
        shares[number] = min(remaining / (len(left) + 1), wanted_w[number])
        remaining -= shares[number]
    return shares
