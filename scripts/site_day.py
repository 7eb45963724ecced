"""The README's figures of a site (issue 24): days of several chargers on one meter, and what one alone does.

Runs the days of tests/smart/test_site.py (the site's pure controller, the simulator's chargers and cars, the default
household's clouds from 8:00 to 19:00) and prints, for one charger alone, the site, and one controller per charger
on the same meter: the cars' energy, the share from surplus, the share of the usable surplus taken, the grid's
import, that import while every car charges on surplus alone, and the most contactor moves of a port in an hour;
then the peak guard's evening (every car in Fast under 9 kW, the house load jumping).

    .venv/bin/python scripts/site_day.py
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
import sys

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from custom_components.enovates.smart.controller import ChargingMode  # noqa: E402
from enovates_simulator.household import Household  # noqa: E402
from tests.smart.multi_day import Station, run_site_day  # noqa: E402
from tests.smart.simulated_day import jumping_house_w  # noqa: E402

MINIMUM_W = 6 * 3 * 230.0
SITES = {
    "one charger": (Station("a"),),
    "two single-port": (Station("a"), Station("b")),
    "dual-port + single-port": (Station("a", dual_port=True), Station("b")),
}


def main() -> None:
    """Print the figures."""
    print("| panels | chargers | control | energy | from surplus | surplus used | import | on surplus | moves/h |")
    print("|---|---|---|---:|---:|---:|---:|---:|---:|")
    for pv_w in (15_000.0, 8000.0):
        for name, stations in SITES.items():
            for independent in (False, True) if len(stations) > 1 else (False,):
                day = run_site_day(
                    Household(pv_peak_w=pv_w), stations, start_s=8 * 3600, end_s=19 * 3600, independent=independent
                )
                print(
                    f"| {pv_w / 1000:g} kWp | {name} | {'one per charger' if independent else 'site'} | "
                    f"{sum(day.car_w) / 3600 / 1000:.1f} kWh | {day.solar_share:.1%} | "
                    f"{day.surplus_used(MINIMUM_W):.1%} | {day.cars_import_wh / 1000:.2f} kWh | "
                    f"{day.import_on_surplus_wh():.0f} Wh | {max(map(day.worst_moves_per_hour, day.moves))} |"
                )
    print()
    print("| peak guard, 9 kW | worst quarter | lowest quarter | moves/h per port |")
    print("|---|---:|---:|---|")
    for name, stations in list(SITES.items())[1:]:
        fast = [replace(station, mode=ChargingMode.FAST) for station in stations]
        day = run_site_day(
            Household(pv_peak_w=0.0),
            fast,
            start_s=18 * 3600,
            end_s=22 * 3600,
            peak_limit_w=9000.0,
            house_w=jumping_house_w,
        )
        quarters = day.quarters_w.values()
        moves = ", ".join(f"{port[0]}.{port[1]}: {day.worst_moves_per_hour(port)}" for port in day.moves)
        print(f"| {name} | {max(quarters):.0f} W | {min(quarters):.0f} W | {moves} |")


if __name__ == "__main__":
    main()
