"""Benchmark: Modbus load, event-loop cost, control latency and scale, against N simulated chargers.

Not part of the test suite (no pass/fail on timings): `scripts/bench` runs it for N = 1, 10, 50, each with no car
plugged in (idle) and with a car charging, and prints the table. Smart charging is on, as a user with a P1 meter has
it: a grid power sensor reported every second, every port in Fast under a peak limit (the guard computes every second
but does not bind). BENCH_CHARGERS, BENCH_ACTIVITIES (idle,charging), BENCH_SMART (on; off for the comparison),
BENCH_SECONDS and BENCH_WRITES set a run by hand. The simulators run in a thread of their own, with their own event
loop, so that Home Assistant's loop (and its CPU time) is the integration's alone (and the grid sensor's writes).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
import gc
import json
import os
from pathlib import Path
import platform
import statistics
import threading
import time
import tracemalloc
from typing import Any

from homeassistant.components.number import ATTR_VALUE, DOMAIN as NUMBER_DOMAIN, SERVICE_SET_VALUE
from homeassistant.components.select import ATTR_OPTION, DOMAIN as SELECT_DOMAIN, SERVICE_SELECT_OPTION
from homeassistant.const import (
    ATTR_ENTITY_ID,
    CONF_HOST,
    CONF_PORT,
    EVENT_STATE_CHANGED,
    EVENT_STATE_REPORTED,
    STATE_UNAVAILABLE,
)
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.enovates import coordinator as coordinator_module
from custom_components.enovates.const import (
    CONF_DUAL_PORT,
    CONF_EMS_CONTROL,
    DOMAIN,
    MODE3_INTERVAL,
    REALTIME_INTERVAL,
    TOKEN_INTERVAL,
)
from custom_components.enovates.smart.const import CONF_GRID_SENSOR
from enovates_simulator import CarScenario, Charger, Identity, Simulator

CHARGERS = [int(n) for n in os.environ.get("BENCH_CHARGERS", "1,10,50").split(",")]
ACTIVITIES = os.environ.get("BENCH_ACTIVITIES", "idle,charging").split(",")
SMART = os.environ.get("BENCH_SMART", "on") == "on"
SECONDS = float(os.environ.get("BENCH_SECONDS", "30"))
WRITES = int(os.environ.get("BENCH_WRITES", "100"))
RESULTS = Path(os.environ.get("BENCH_RESULTS", Path(__file__).parent / "results.json"))

# The fewest requests the promised tiers allow, per port and second: one request per register map per tick.
MINIMUM_REQUESTS_PER_S = (
    4 / REALTIME_INTERVAL.total_seconds()  # state, measurements, EMS limit, current offered
    + 1 / MODE3_INTERVAL.total_seconds()  # Mode 3 details
    + 1 / TOKEN_INTERVAL.total_seconds()  # transaction token (EMS control)
    + 2 / 86400  # API version and diagnostics, daily
)
# The fewest while no car is plugged in: the state every second, the EMS limit every 4 s, measurements and current
# offered every 30 s (polling/realtime_maps.py's IDLE_EVERY_S); Mode 3, the token and the daily maps as above.
MINIMUM_IDLE_REQUESTS_PER_S = (
    1 / REALTIME_INTERVAL.total_seconds()
    + 1 / 4
    + 2 / 30
    + 1 / MODE3_INTERVAL.total_seconds()
    + 1 / TOKEN_INTERVAL.total_seconds()
    + 2 / 86400
)
GRID = "sensor.grid_power"
HOUSE_W = 2000.0
CAR_W = 11040.0  # the simulated car: 16 A on three phases at 230 V
PEAK_LIMIT_KW = 50.0  # far above the house and a car: the guard computes every second, and never binds


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Load custom_components/enovates."""


class SimulatorFarm:
    """N simulated chargers served from a thread with its own event loop."""

    def __init__(self, count: int, *, charging: bool = True) -> None:
        self.count = count
        self.charging = charging
        self.simulators: list[Simulator] = []
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="simulators", daemon=True)
        self.write_times: dict[tuple[int, int], float] = {}

    def __enter__(self) -> SimulatorFarm:
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(timeout=60)
        return self

    async def _start(self) -> None:
        for index in range(self.count):
            scenarios = {1: CarScenario.CHARGING} if self.charging else {}
            charger = Charger(identity=Identity(serial_number=f"BENCH{index:05d}"), scenarios=scenarios)
            self.simulators.append(await Simulator(charger).start())

    def __exit__(self, *_exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self._stop(), self.loop).result(timeout=60)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()

    async def _stop(self) -> None:
        for simulator in self.simulators:
            await simulator.stop()

    def requests(self) -> int:
        return sum(simulator.stats.requests for simulator in self.simulators)

    def bytes(self) -> int:
        return sum(s.stats.bytes_received + s.stats.bytes_sent for s in self.simulators)

    def reset(self) -> None:
        for simulator in self.simulators:
            simulator.stats.reset()


class LoopMonitor:
    """Measures, inside Home Assistant's loop: its thread's CPU time, and how late a 50 ms timer fires (stalls)."""

    def __init__(self) -> None:
        self.lags: list[float] = []
        self._task: asyncio.Task[None] | None = None

    async def _watch(self) -> None:
        while True:
            expected = time.perf_counter() + 0.05
            await asyncio.sleep(0.05)
            self.lags.append(time.perf_counter() - expected)

    @asynccontextmanager
    async def running(self) -> AsyncIterator[dict[str, float]]:
        result: dict[str, float] = {}
        cpu, wall = time.thread_time(), time.perf_counter()
        self._task = asyncio.create_task(self._watch())
        try:
            yield result
        finally:
            self._task.cancel()
            result["cpu_s"] = time.thread_time() - cpu
            result["wall_s"] = time.perf_counter() - wall
            result["max_stall_ms"] = max(self.lags, default=0) * 1000


def _record_tick_lateness() -> Iterator[list[float]]:
    """Record, for every realtime poll, how late it started against its 1 s schedule."""
    lateness: list[float] = []
    original = coordinator_module.EnovatesRealtimeCoordinator._async_update_data
    last: dict[int, float] = {}

    async def timed(self: Any) -> Any:
        now = time.perf_counter()
        if id(self) in last:
            lateness.append(now - last[id(self)] - REALTIME_INTERVAL.total_seconds())
        last[id(self)] = now
        return await original(self)

    coordinator_module.EnovatesRealtimeCoordinator._async_update_data = timed  # type: ignore[method-assign]
    try:
        yield lateness
    finally:
        coordinator_module.EnovatesRealtimeCoordinator._async_update_data = original  # type: ignore[method-assign]


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


class GridMeter:
    """A P1 meter's power sensor, reported every second: the house, the cars charging, and a few watts of noise."""

    def __init__(self, hass: HomeAssistant, cars_w: float) -> None:
        self.hass = hass
        self.cars_w = cars_w
        self._task: asyncio.Task[None] | None = None

    async def _report(self) -> None:
        second = 0
        while True:
            self.hass.states.async_set(
                GRID,
                str(HOUSE_W + self.cars_w + 10 * (second % 7)),
                {"unit_of_measurement": "W", "device_class": "power", "state_class": "measurement"},
            )
            second += 1
            await asyncio.sleep(1)

    def __enter__(self) -> GridMeter:
        self._task = self.hass.async_create_background_task(self._report(), "grid meter")
        return self

    def __exit__(self, *_exc: object) -> None:
        assert self._task is not None
        self._task.cancel()


class StateWrites:
    """Counts the state writes of the integration's entities: those that changed something, and those that did not."""

    def __init__(self, hass: HomeAssistant) -> None:
        registry = er.async_get(hass)
        self.entity_ids = {entry.entity_id for entry in registry.entities.values() if entry.platform == DOMAIN}
        self.changed = self.unchanged = 0
        self.unchanged_by_entity: Counter[str] = Counter()
        self._remove = [
            hass.bus.async_listen(EVENT_STATE_CHANGED, self._changed, event_filter=self._ours),
            hass.bus.async_listen(EVENT_STATE_REPORTED, self._unchanged, event_filter=self._ours),
        ]

    @callback
    def _ours(self, data: Any) -> bool:
        return data["entity_id"] in self.entity_ids

    @callback
    def _changed(self, _event: Event[Any]) -> None:
        self.changed += 1

    @callback
    def _unchanged(self, event: Event[Any]) -> None:
        self.unchanged += 1
        self.unchanged_by_entity[event.data["entity_id"]] += 1

    def stop(self) -> None:
        for remove in self._remove:
            remove()


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def result_key(count: int, activity: str, *, smart: bool = True) -> str:
    """The key of one run in benchmarks/results.json: "10 charging", "1 idle", "50 charging without smart charging"."""
    return f"{count} {activity}" + ("" if smart else " without smart charging")


async def _smart_charging_on(hass: HomeAssistant, index: int) -> None:
    """Port 1 in Fast under the peak limit, as a user picks them on the device page."""
    await hass.services.async_call(
        SELECT_DOMAIN,
        SERVICE_SELECT_OPTION,
        {ATTR_ENTITY_ID: f"select.bench_{index}_charging_mode", ATTR_OPTION: "fast"},
        blocking=True,
    )
    await hass.services.async_call(
        NUMBER_DOMAIN,
        SERVICE_SET_VALUE,
        {ATTR_ENTITY_ID: f"number.bench_{index}_peak_limit", ATTR_VALUE: PEAK_LIMIT_KW},
        blocking=True,
    )


@pytest.mark.timeout(1800)
@pytest.mark.parametrize("activity", ACTIVITIES)
@pytest.mark.parametrize("count", CHARGERS)
async def test_bench(hass: HomeAssistant, socket_enabled: None, count: int, activity: str) -> None:  # noqa: PLR0915 - one run, one story
    charging = activity == "charging"
    result: dict[str, Any] = {"chargers": count, "activity": activity, "smart_charging": SMART, "seconds": SECONDS}
    # As in production: the test harness runs the loop in asyncio debug mode, which costs much CPU of its own.
    hass.loop.set_debug(False)
    with SimulatorFarm(count, charging=charging) as farm, GridMeter(hass, CAR_W if charging else 0.0):
        await asyncio.sleep(0)  # the meter's first reading, before the entries that read it
        # setup: one entry per charger, timed from setup to every entity available; memory while doing it
        entries = []
        setup_times = []
        gc.collect()
        tracemalloc.start()
        before = tracemalloc.take_snapshot()
        for index, simulator in enumerate(farm.simulators):
            entry = MockConfigEntry(
                domain=DOMAIN,
                title=f"Bench {index}",
                unique_id=f"BENCH{index:05d}",
                data={CONF_HOST: "127.0.0.1", CONF_PORT: simulator.port, CONF_DUAL_PORT: False, CONF_EMS_CONTROL: True},
                options={CONF_GRID_SENSOR: GRID} if SMART else {},
            )
            entry.add_to_hass(hass)
            started = time.perf_counter()
            assert await hass.config_entries.async_setup(entry.entry_id)
            await hass.async_block_till_done()
            setup_times.append(time.perf_counter() - started)
            entries.append(entry)
        gc.collect()
        after = tracemalloc.take_snapshot()
        tracemalloc.stop()
        not_simulator = [
            tracemalloc.Filter(inclusive=False, filename_pattern="*/enovates_simulator/*", all_frames=True)
        ]
        memory = sum(
            stat.size_diff
            for stat in after.filter_traces(not_simulator).compare_to(before.filter_traces(not_simulator), "filename")
        )
        states = [s for s in hass.states.async_all() if s.entity_id.startswith(("sensor.bench", "number.bench"))]
        assert states
        # Smart charging's quarter-hour sensors wait for their first second, and for a quarter that counts.
        waiting = ("_quarter_hour_average_import", "_monthly_peak")
        assert [s.entity_id for s in states if s.state == STATE_UNAVAILABLE and not s.entity_id.endswith(waiting)] == []
        result["setup_ms_median"] = statistics.median(setup_times) * 1000
        result["setup_ms_max"] = max(setup_times) * 1000
        result["memory_kib_per_charger"] = memory / 1024 / count
        result["entities_per_charger"] = len(states) / count
        if SMART:
            for index in range(count):
                await _smart_charging_on(hass, index)

        # steady state at the real polling rates; idle polling starts once Mode 3 has told there is no car, and a
        # smart mode just picked writes its limit once its grid reading is 2 s younger than the pick
        await asyncio.sleep(5 if SMART else 2)
        farm.reset()
        writes = StateWrites(hass)
        monitor = LoopMonitor()
        generator = _record_tick_lateness()
        lateness = next(generator)
        async with monitor.running() as loop_figures:
            await asyncio.sleep(SECONDS)
        generator.close()
        writes.stop()
        requests, traffic = farm.requests(), farm.bytes()
        duration = loop_figures["wall_s"]
        result["limit_writes_per_s_per_charger"] = sum(len(s.stats.writes) for s in farm.simulators) / duration / count
        result["requests_by_map_of_the_first"] = {
            name: count for (_unit, name), count in sorted(farm.simulators[0].stats.requests_by_map.items())
        }
        result["requests_per_s_per_charger"] = requests / duration / count
        result["minimum_requests_per_s_per_charger"] = (
            MINIMUM_REQUESTS_PER_S if charging else MINIMUM_IDLE_REQUESTS_PER_S
        )
        result["state_writes_per_s_per_charger"] = (writes.changed + writes.unchanged) / duration / count
        result["unchanged_state_writes_per_s_per_charger"] = writes.unchanged / duration / count
        result["unchanged_state_writes_by_entity"] = dict(writes.unchanged_by_entity.most_common(5))
        result["bytes_per_s_per_charger"] = traffic / duration / count
        result["loop_cpu_ms_per_charger_per_s"] = loop_figures["cpu_s"] / duration / count * 1000
        result["loop_busy_percent"] = loop_figures["cpu_s"] / duration * 100
        result["max_loop_stall_ms"] = loop_figures["max_stall_ms"]
        result["tick_late_ms_p95"] = _percentile(lateness, 0.95) * 1000 if lateness else 0.0
        result["tick_late_ms_max"] = max(lateness, default=0) * 1000

        # EMS control latency: service call -> register written in the simulator -> the entity shows it
        entity_id = "number.bench_0_ems_current_limit"
        port = farm.simulators[0].charger.port(1)
        to_register, to_state = [], []
        for write in range(WRITES):
            value = 6 + write % 20
            started = time.perf_counter()
            await hass.services.async_call(
                NUMBER_DOMAIN, SERVICE_SET_VALUE, {ATTR_ENTITY_ID: entity_id, ATTR_VALUE: value}, blocking=True
            )
            # the simulator stamps each write with the same process-wide clock, in its own thread
            assert port.ems_limit_ma == value * 1000
            to_register.append(farm.simulators[0].stats.write_times[-1] - started)
            while float(hass.states.get(entity_id).state) != value:  # noqa: ASYNC110 - states have no event here
                await asyncio.sleep(0.001)
            to_state.append(time.perf_counter() - started)
        result["ems_write_ms_median"] = statistics.median(to_register) * 1000
        result["ems_write_ms_p95"] = _percentile(to_register, 0.95) * 1000
        result["ems_state_ms_median"] = statistics.median(to_state) * 1000
        result["ems_state_ms_p95"] = _percentile(to_state, 0.95) * 1000

        for entry in entries:
            await hass.config_entries.async_unload(entry.entry_id)
        await hass.async_block_till_done()

    result["machine"] = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    results[result_key(count, activity, smart=SMART)] = result
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print("\nbench", json.dumps(result))
