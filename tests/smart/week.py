"""A randomised week at a site, from a seed: what test_week.py runs through the controller (site.py).

Each day draws its own sky (panels from none to 10 kWp, clouds few or many, short or long), its house (a base
load, appliances switching on and off, some days a big load over the peak limit for a while), its peak limit
(none, or 4.5 to 8 kW), its meter (a reading every 1, 2 or 10 s, 1 or 2 s late), its gaps in the readings (the
sensor unavailable, or silent), when the car is plugged in, and the modes a user picks through the day. The week
keeps one car (three phases or one) and one set of delays. The same seed gives the same week.
"""

from __future__ import annotations

import random

from custom_components.enovates.smart.controller import ChargingMode, Settings
from enovates_simulator.household import DAY_S, Household

from .site import Gap, Meter, SitePlan

DAYS = 7
MODES = (ChargingMode.SOLAR, ChargingMode.SOLAR_MINIMUM, ChargingMode.FAST, ChargingMode.OFF, ChargingMode.MANUAL)
MODE_WEIGHTS = (5, 2, 2, 1, 1)


def random_week(seed: int) -> SitePlan:
    """Return the week of `seed`."""
    rng = random.Random(seed)  # noqa: S311 - a reproducible week, not cryptography
    pv: list[float] = []
    house: list[float] = []
    modes: list[tuple[int, ChargingMode]] = [(0, ChargingMode.SOLAR)]
    peak_limits: list[tuple[int, float | None]] = []
    meters: list[tuple[int, Meter]] = []
    plugged: list[tuple[int, int]] = []
    gaps: list[Gap] = []
    for day in range(DAYS):
        midnight = day * DAY_S
        household = Household(
            seed=rng.randrange(10**9),
            pv_peak_w=rng.choice((0.0, 4000.0, 6000.0, 8000.0, 10000.0)),
            base_load_w=rng.uniform(200.0, 600.0),
            clouds_per_hour=rng.uniform(0.5, 8.0),
            max_cloud_s=rng.uniform(120.0, 900.0),
            appliances_per_hour=rng.uniform(0.5, 3.0),
        )
        pv += household.pv_series()
        loads = household.house_series()
        if rng.random() < 0.5:
            # A big load (a sauna, an oven with the heat pump): more than most peak limits on its own.
            start, power = rng.randrange(7 * 3600, 22 * 3600), rng.uniform(8000.0, 10000.0)
            for second in range(start, min(start + rng.randrange(600, 1800), DAY_S)):
                loads[second] += power
        house += loads
        peak_limits.append((midnight, rng.choice((None, 4500.0, 5000.0, 6000.0, 7000.0, 8000.0))))
        meters.append((midnight, Meter(rng.choice((1, 2, 10)), rng.choice((1, 2)))))
        sessions = []
        for _ in range(rng.randrange(1, 3)):
            start = midnight + rng.randrange(6 * 3600, 21 * 3600)
            sessions.append((start, start + rng.randrange(1800, 8 * 3600)))
        plugged += sessions
        for _ in range(rng.randrange(4)):
            # Mostly while a car is plugged in, where a gap matters.
            begin, end = rng.choice(sessions) if rng.random() < 0.8 else (midnight, midnight + DAY_S)
            start = rng.randrange(begin, max(end - 200, begin + 1))
            gaps.append(Gap(start, start + rng.randrange(20, 200), silent=rng.random() < 0.5))
        modes.extend(
            (midnight + rng.randrange(DAY_S), rng.choices(MODES, MODE_WEIGHTS)[0]) for _ in range(rng.randrange(1, 5))
        )
    return SitePlan(
        start_s=0,
        pv_w=pv,
        house_w=house,
        modes=modes,
        peak_limits=peak_limits,
        meters=meters,
        gaps=_apart(gaps),
        plugged=_merged(plugged),
        car_lag_s=rng.choice((0, 2, 5)),
        car_phases=rng.choice((3, 3, 1)),
        settings=Settings(
            start_delay_s=rng.choice((60.0, 120.0, 300.0)),
            stop_delay_s=rng.choice((120.0, 240.0, 600.0)),
            hysteresis_w=rng.choice((0.0, 500.0, 1000.0)),
        ),
    )


def _merged(intervals: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Return the intervals, overlapping ones merged (a car plugged in twice at once is plugged in once)."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _apart(gaps: list[Gap]) -> list[Gap]:
    """Return the gaps in order, without overlaps (the meter is silent or unavailable, not both)."""
    apart: list[Gap] = []
    for gap in sorted(gaps, key=lambda gap: gap.start_s):
        if not apart or gap.start_s > apart[-1].end_s:
            apart.append(gap)
    return apart
