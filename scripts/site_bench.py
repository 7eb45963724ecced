"""The cost of a site's controller per second, for 1 to 10 chargers (2 to 20 ports) on one meter (issue 24).

Runs simulated hours of tests/smart/multi_day.py (the site's pure controller, the simulator's dual-port chargers and
cars, a household) and times each second's decision alone (`Site.step`: every port of every charger weighed, the
surplus and the headroom shared): what Home Assistant's event loop spends on smart charging each second, besides
reading the meter and writing limits. Measured here, never asserted in tests.

    scripts/site_bench.py [--chargers 1,2,5,10] [--seconds 3600]
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
import statistics
import sys
import time
from typing import Any
from unittest.mock import patch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from custom_components.enovates.smart.controller import ChargingMode  # noqa: E402
from custom_components.enovates.smart.site import Site  # noqa: E402
from enovates_simulator.household import Household  # noqa: E402
from tests.smart.multi_day import Station, run_site_day  # noqa: E402


def timed(durations: list[float]) -> Callable[..., Any]:
    """Return Site.step, timing each call into `durations`."""
    step = Site.step

    def wrapper(self: Site, *args: Any) -> Any:
        start = time.perf_counter()
        result = step(self, *args)
        durations.append(time.perf_counter() - start)
        return result

    return wrapper


def run(chargers: int, seconds: int, mode: ChargingMode) -> list[float]:
    """Return each second's decision time for `chargers` dual-port chargers in `mode` (a car on every port)."""
    durations: list[float] = []
    stations = [Station(f"charger {number}", dual_port=True, mode=mode) for number in range(chargers)]
    # Enough sun and headroom for every car to matter: 6 kWp and 7 kW of peak limit per charger.
    household = Household(pv_peak_w=6000.0 * chargers)
    start = 12 * 3600 if mode is not ChargingMode.FAST else 19 * 3600
    with patch.object(Site, "step", timed(durations)):
        run_site_day(
            household,
            stations,
            start_s=start,
            end_s=start + seconds,
            peak_limit_w=7000.0 * chargers,
        )
    return durations


def main() -> None:
    """Print a table: chargers, ports, mode, and the decision's time per second (mean, 99th percentile, worst)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chargers", default="1,2,5,10", help="numbers of dual-port chargers (default: %(default)s)")
    parser.add_argument("--seconds", type=int, default=3600, help="simulated seconds per run (default: %(default)s)")
    args = parser.parse_args()
    print("| chargers | ports | mode | decision per second: mean | p99 | worst |")
    print("|---:|---:|---|---:|---:|---:|")
    for chargers in (int(text) for text in args.chargers.split(",")):
        for mode in (ChargingMode.SOLAR, ChargingMode.FAST):
            durations = run(chargers, args.seconds, mode)
            p99 = statistics.quantiles(durations, n=100)[98]
            print(
                f"| {chargers} | {2 * chargers} | {mode.value} under the peak guard | "
                f"{statistics.fmean(durations) * 1e6:.0f} µs | {p99 * 1e6:.0f} µs | {max(durations) * 1e6:.0f} µs |"
            )


if __name__ == "__main__":
    main()
