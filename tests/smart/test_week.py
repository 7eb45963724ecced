"""A randomised week of smart charging (issue 21): every promise of the README's Smart charging section, checked at
every simulated second as properties (promises.py) over a week drawn from a seed (week.py).

One seed runs with the suite, in a few seconds of CPU. Others: ENOVATES_WEEK_SEEDS=1-40 (or 3,7,11) pytest
tests/smart/test_week.py.
"""

from __future__ import annotations

import os

import pytest

from custom_components.enovates.smart.controller import ChargingMode, Reason

from .promises import broken_promises
from .site import run_site
from .week import random_week

# A week that holds a bit of everything: Solar starting and stopping under clouds, the peak guard pausing and giving
# the current back, big loads over the limit, meters of 1, 2 and 10 s, gaps in the readings, the contactor's budget.
SEED = 3


def seeds() -> list[int]:
    """Return the seeds to run: SEED, or those of ENOVATES_WEEK_SEEDS ("1-40", "3,7,11")."""
    chosen = os.environ.get("ENOVATES_WEEK_SEEDS")
    if not chosen:
        return [SEED]
    found: list[int] = []
    for part in chosen.split(","):
        first, _, last = part.partition("-")
        found += range(int(first), int(last or first) + 1)
    return found


@pytest.mark.parametrize("seed", seeds())
def test_a_randomised_week_keeps_every_promise(seed: int) -> None:
    plan = random_week(seed)
    trace = run_site(plan)
    assert broken_promises(trace) == {}
    if seed == SEED:
        # The week is no quiet one: what the promises are about happened, more than once.
        starts = [move for move in trace.moves if move.closing and not move.by_car]
        assert len(starts) >= 10
        assert sum(1 for write in trace.writes if write.mode is ChargingMode.SOLAR and write.after_a == 0) >= 3
        reasons = set(trace.reason)
        assert {Reason.PEAK_GUARD, Reason.GRID_MISSING, Reason.WAITING_TO_START, Reason.STOPPING} <= reasons
        assert {meter.interval_s for _, meter in plan.meters} == {1, 2, 10}
        assert len(plan.gaps) >= 5
