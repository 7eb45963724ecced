"""Benchmark: one charger on a slow or flaky link, as Home Assistant users meet it on weak Wi-Fi or powerline.

Not part of the test suite: `scripts/bench` runs it after the scale benchmark and prints the table. For each link
(answers 5 ms ... 2 s late, or 5% of them 1.2 s late) it sets the charger up through that link with smart charging on
(as in the scale benchmark: a grid sensor reported every second, Fast under a peak limit), and watches it at the real
polling rates for BENCH_SLOW_SECONDS, with a car charging and with none plugged in (BENCH_SLOW_ACTIVITIES). While
charging it then stalls the charger for 30 s and lets it come back. Measured: share of time the power sensor was
unavailable, connections opened after the first, the worst age of each map of the 1 s tier over the run (sampled
every 50 ms), requests per second, event-loop CPU, and what the stall cost in connections.
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
import time
from typing import Any

from homeassistant.const import CONF_HOST, CONF_PORT, STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from benchmarks.test_bench import CAR_W, GRID, PEAK_LIMIT_KW, GridMeter, SimulatorFarm
from custom_components.enovates.const import CONF_DUAL_PORT, CONF_EMS_CONTROL, DOMAIN
from custom_components.enovates.polling.realtime_maps import CURRENT_OFFERED, EMS_LIMIT, MEASUREMENTS, STATE
from custom_components.enovates.smart.const import CONF_GRID_SENSOR
from custom_components.enovates.smart.model import ChargingMode

SECONDS = float(os.environ.get("BENCH_SLOW_SECONDS", "20"))
ACTIVITIES = os.environ.get("BENCH_SLOW_ACTIVITIES", "charging,idle").split(",")
STALL_SECONDS = 30.0
RESULTS = Path(os.environ.get("BENCH_SLOW_RESULTS", Path(__file__).parent / "slow_link_results.json"))
# name: (latency s, jitter s, spike probability, spike s)
LINKS: dict[str, tuple[float, float, float, float]] = {
    "5 ms": (0.005, 0.0, 0.0, 0.0),
    "0.5 s": (0.5, 0.0, 0.0, 0.0),
    "1 s": (1.0, 0.0, 0.0, 0.0),
    "1.5 s": (1.5, 0.0, 0.0, 0.0),
    "2 s": (2.0, 0.0, 0.0, 0.0),
    "5% spikes of 1.2 s": (0.005, 0.0, 0.05, 1.2),
}
POWER = "sensor.slow_link_power"
MAPS = (MEASUREMENTS, CURRENT_OFFERED, STATE, EMS_LIMIT)


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Load custom_components/enovates."""


async def _watch(hass: HomeAssistant, entry: MockConfigEntry, seconds: float) -> dict[str, float]:
    """Sample the power sensor and the age of each map's last answer every 50 ms for `seconds`."""
    realtime = entry.runtime_data.realtime
    samples = unavailable = 0
    worst = dict.fromkeys(MAPS, 0.0)
    cpu, started = time.thread_time(), time.perf_counter()
    while time.perf_counter() - started < seconds:
        await asyncio.sleep(0.05)
        samples += 1
        unavailable += hass.states.get(POWER).state == STATE_UNAVAILABLE
        now = hass.loop.time()
        for name in MAPS:
            if (reading := realtime._readings.get((1, name))) is not None:
                worst[name] = max(worst[name], now - reading.read_at)
    wall = time.perf_counter() - started
    return {
        "unavailable_percent": unavailable / samples * 100,
        **{f"worst_{name}_age_s": age for name, age in worst.items()},
        "loop_cpu_ms_per_s": (time.thread_time() - cpu) / wall * 1000,
        "wall_s": wall,
    }


@pytest.mark.timeout(600)
@pytest.mark.parametrize("activity", ACTIVITIES)
@pytest.mark.parametrize("link", list(LINKS))
async def test_slow_link(hass: HomeAssistant, socket_enabled: None, link: str, activity: str) -> None:
    hass.loop.set_debug(False)
    charging = activity == "charging"
    latency, jitter, spike_probability, spike_seconds = LINKS[link]
    answer_s = max(latency, spike_seconds)
    result: dict[str, Any] = {
        "link": link,
        "activity": activity,
        "seconds": SECONDS,
        "answer_s": answer_s,
        "bound_s": 2 * answer_s + 1,  # the issue's
        "one_request_between_polls_s": max(2 * answer_s + 1, 3 * answer_s),  # the design's (3r above 1 s answers)
    }
    with SimulatorFarm(1, charging=charging) as farm, GridMeter(hass, CAR_W if charging else 0.0):
        await asyncio.sleep(0)  # the meter's first reading
        simulator = farm.simulators[0]
        simulator.faults.slow_down(
            latency, jitter=jitter, spike_probability=spike_probability, spike_seconds=spike_seconds, seed=1
        )
        entry = MockConfigEntry(
            domain=DOMAIN,
            title="Slow link",
            unique_id="BENCH00000",
            data={CONF_HOST: "127.0.0.1", CONF_PORT: simulator.port, CONF_DUAL_PORT: False, CONF_EMS_CONTROL: True},
            options={CONF_GRID_SENSOR: GRID},
        )
        entry.add_to_hass(hass)
        started = time.perf_counter()
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
        result["setup_s"] = time.perf_counter() - started
        smart = entry.runtime_data.smart
        assert smart is not None
        smart.set_mode(1, ChargingMode.FAST)  # as picked on the device page
        smart.set_peak_limit(PEAK_LIMIT_KW * 1000)
        # Setup reads every tier once, one request after the other, and Fast writes its limit: let the polls settle
        # into their rhythm.
        await asyncio.sleep(5 + 10 * answer_s)
        farm.reset()
        watched = await _watch(hass, entry, SECONDS)
        result.update(watched)
        result["connections_opened"] = simulator.stats.connections_opened
        result["requests_per_s"] = simulator.stats.requests / watched["wall_s"]
        result["requests_by_map"] = {name: n for (_unit, name), n in sorted(simulator.stats.requests_by_map.items())}
        result["limit_writes"] = len(simulator.stats.writes)  # smart charging's (Fast under the peak limit)
        result["link_health"] = entry.runtime_data.charger.link.as_diagnostics()

        if charging:
            # a 30 s stall: the charger stops answering, then answers again
            farm.reset()
            rule = simulator.faults.stall(seconds=STALL_SECONDS + 5)
            await asyncio.sleep(STALL_SECONDS)
            simulator.faults.remove(rule)
            back = time.perf_counter()
            while hass.states.get(POWER).state == STATE_UNAVAILABLE and time.perf_counter() - back < 30:  # noqa: ASYNC110
                await asyncio.sleep(0.1)
            result["stall_connections_opened"] = simulator.stats.connections_opened
            result["stall_recovery_s"] = time.perf_counter() - back
        await hass.config_entries.async_unload(entry.entry_id)
        await hass.async_block_till_done()

    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    results[f"{link} {activity}"] = result
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print("\nslow link", json.dumps(result))
