"""A simulated household around the charger: solar panels under passing clouds, a house load, and the grid meter.

The grid meter at the connection point sees the house and whatever the cars draw, less what the panels make
(import positive): house_w(t) + cars - pv_w(t). Everything is a function of the time of day and a seed, so a day replays
exactly. Times are seconds since midnight.
"""

from __future__ import annotations

from dataclasses import dataclass, field
import math
import random

DAY_S = 24 * 3600


@dataclass(frozen=True)
class Cloud:
    """A cloud in front of the sun: the panels make `transmission` of the clear-sky power while it passes."""

    start_s: float
    duration_s: float
    transmission: float
    fade_s: float = 20.0  # the edges: light dims and comes back over this long

    def factor(self, t: float) -> float:
        """Return what share of the clear-sky power reaches the panels at `t` (1 outside the cloud)."""
        into = t - self.start_s
        if into <= 0 or into >= self.duration_s:
            return 1.0
        edge = min(into, self.duration_s - into, self.fade_s) / self.fade_s
        return 1.0 - (1.0 - self.transmission) * edge


@dataclass(frozen=True)
class Appliance:
    """A load that runs for a while: a kettle, an oven, a heat pump's cycle."""

    start_s: float
    duration_s: float
    power_w: float

    def power_at(self, t: float) -> float:
        """Return what it draws at `t`."""
        return self.power_w if self.start_s <= t < self.start_s + self.duration_s else 0.0


@dataclass
class Household:
    """A house with solar panels on a day of passing clouds.

    `clouds_per_hour` clouds pass on average during daylight, each 1 to `max_cloud_s` long, letting 15 to 50 % of
    the light through; appliances switch on at random on top of a small base load.
    """

    seed: int = 1
    pv_peak_w: float = 8000.0
    sunrise_s: float = 6 * 3600
    sunset_s: float = 21 * 3600
    base_load_w: float = 350.0
    clouds_per_hour: float = 2.0
    max_cloud_s: float = 600.0
    appliances_per_hour: float = 1.5
    clouds: list[Cloud] = field(init=False)
    appliances: list[Appliance] = field(init=False)

    def __post_init__(self) -> None:
        """Draw the day's clouds and appliances from the seed."""
        rng = random.Random(self.seed)  # noqa: S311 - a reproducible day, not cryptography
        self.clouds = []
        t = self.sunrise_s
        while (t := t + rng.expovariate(self.clouds_per_hour / 3600)) < self.sunset_s:
            duration = rng.uniform(60.0, self.max_cloud_s)
            self.clouds.append(Cloud(t, duration, rng.uniform(0.15, 0.5)))
            t += duration
        self.appliances = []
        t = 0.0
        while (t := t + rng.expovariate(self.appliances_per_hour / 3600)) < DAY_S:
            self.appliances.append(Appliance(t, rng.uniform(120.0, 1800.0), rng.choice((800.0, 1500.0, 2200.0))))

    def pv_w(self, t: float) -> float:
        """Return what the panels make at `t`: a sine over daylight, dimmed by the clouds passing."""
        t %= DAY_S
        if not self.sunrise_s < t < self.sunset_s:
            return 0.0
        height = math.sin(math.pi * (t - self.sunrise_s) / (self.sunset_s - self.sunrise_s))
        clear: float = self.pv_peak_w * height**1.5
        for cloud in self.clouds:
            clear *= cloud.factor(t)
        return clear

    def house_w(self, t: float) -> float:
        """Return what the house (without the cars) draws at `t`."""
        t %= DAY_S
        return self.base_load_w + sum(appliance.power_at(t) for appliance in self.appliances)

    def pv_series(self, start_s: int = 0, end_s: int = DAY_S) -> list[float]:
        """Return pv_w at each second of [start_s, end_s) (within the day): the same values, for a fraction of the time.

        A simulated week asks for every second: one pass over the daylight and one over each cloud, rather than
        every cloud at every second.
        """
        values = [0.0] * (end_s - start_s)
        span = self.sunset_s - self.sunrise_s
        for t in range(max(start_s, math.floor(self.sunrise_s) + 1), min(end_s, math.ceil(self.sunset_s))):
            values[t - start_s] = self.pv_peak_w * math.sin(math.pi * (t - self.sunrise_s) / span) ** 1.5
        for cloud in self.clouds:
            first = max(start_s, math.floor(cloud.start_s) + 1)
            for t in range(first, min(end_s, math.ceil(cloud.start_s + cloud.duration_s))):
                values[t - start_s] *= cloud.factor(t)
        return values

    def house_series(self, start_s: int = 0, end_s: int = DAY_S) -> list[float]:
        """Return house_w at each second of [start_s, end_s) (within the day), one pass over each appliance."""
        loads = [0.0] * (end_s - start_s)
        for appliance in self.appliances:
            first = max(start_s, math.ceil(appliance.start_s))
            for t in range(first, min(end_s, math.ceil(appliance.start_s + appliance.duration_s))):
                loads[t - start_s] += appliance.power_w
        return [self.base_load_w + load for load in loads]
