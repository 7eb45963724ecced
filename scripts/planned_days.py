"""Planned charging on simulated days: the README's figures ("Planned charging"), as a table.

The same days as tests/smart/test_planned_days.py: a plan made every quarter hour with what was delivered, beside
the cheapest charge an exact search finds (knowing every price from the plug-in) and a charge at once.
"""

from __future__ import annotations

import math
from pathlib import Path
import sys
import time

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.smart.price_days import (  # noqa: E402
    Outcome,
    late_prices,
    peak_guarded_night,
    run,
    sunny_day,
    unreachable,
    week,
    winter_weekday,
)


def row(name: str, outcome: Outcome) -> str:
    """Return a table row: energy, cost planned, cheapest, at once, saving."""
    lived = outcome.lived
    cheapest = "—" if math.isinf(outcome.cheapest) else f"€{outcome.cheapest:.2f}"
    over = "—" if math.isinf(outcome.cheapest) else f"{outcome.over_cheapest:+.1%}"
    saving = round(outcome.at_once - lived.cost, 2) + 0.0  # no "-0.00"
    share = f" ({saving / outcome.at_once:.0%})" if outcome.at_once > 0 and lived.cost > 0 else ""
    return (
        f"| {name} | {outcome.day.energy_kwh:.0f} | {lived.energy_by_ready_kwh:.1f} | €{lived.cost:.2f} | {cheapest} "
        f"| {over} | €{outcome.at_once:.2f} | €{saving:.2f}{share} | {lived.blocks} |"
    )


def main() -> None:
    """Print the table."""
    started = time.perf_counter()
    print("| day | asked (kWh) | in by the time (kWh) | planned | cheapest | over it | at once | saved | blocks |")
    print("|---|---|---|---|---|---|---|---|---|")
    days = [
        winter_weekday(),
        sunny_day(phases=1),
        sunny_day(phases=3),
        late_prices(at_h=15.5),
        late_prices(at_h=None),
        peak_guarded_night(),
        unreachable(),
    ]
    for day in days:
        print(row(day.name, run(day)))
    outcomes = [run(day) for day in week()]
    for outcome in outcomes:
        print(row(f"week, {outcome.day.name}", outcome))
    planned = sum(outcome.lived.cost for outcome in outcomes)
    at_once = sum(outcome.at_once for outcome in outcomes)
    worst = max(outcome.over_cheapest for outcome in outcomes)
    print(
        f"\nThe week: €{planned:.2f} planned, €{at_once:.2f} at once, €{at_once - planned:.2f} saved "
        f"({1 - planned / at_once:.0%}); at most {worst:+.1%} over the cheapest possible. "
        f"({time.perf_counter() - started:.0f} s)"
    )


if __name__ == "__main__":
    main()
