"""Benchmark: one charger on a slow or flaky link, as Home Assistant users meet it on weak Wi-Fi or powerline.

Not part of the test suite: `scripts/bench` runs it after the scale benchmark and prints the table. For each link
(answers 5 ms ... 1.5 s late, or 5% of them 1.2 s late) it sets the charger up through that link, watches it at the
real polling rates for BENCH_SLOW_SECONDS, then stalls the charger for 30 s and lets it come back. Measured: share of
time the power sensor was unavailable, connections opened after the first, worst age of the power value, requests
per second, event-loop CPU, and what the stall cost in connections.
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

from benchmarks.test_bench import SimulatorFarm
from custom_components.enovates.const import CONF_DUAL_PORT, CONF_EMS_CONTROL, DOMAIN
from custom_components.enovates.polling.realtime_maps import MEASUREMENTS

SECONDS = float(os.environ.get("BENCH_SLOW_SECONDS", "20"))
STALL_SECONDS = 30.0
RESULTS = Path(os.environ.get("BENCH_SLOW_RESULTS", Path(__file__).parent / "slow_link_results.json"))
# name: (latency s, jitter s, spike probability, spike s)
LINKS: dict[str, tuple[float, float, float, float]] = {
    "5 ms": (0.005, 0.0, 0.0, 0.0),
    "150 ms": (0.15, 0.0, 0.0, 0.0),
    "400 ms": (0.4, 0.0, 0.0, 0.0),
    "700 ms": (0.7, 0.0, 0.0, 0.0),
    "1.5 s": (1.5, 0.0, 0.0, 0.0),
    "5% spikes of 1.2 s": (0.005, 0.0, 0.05, 1.2),
}
POWER = "sensor.slow_link_power"


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Load custom_components/enovates."""


async def _watch(hass: HomeAssistant, entry: MockConfigEntry, seconds: float) -> dict[str, float]:
    """Sample the power sensor and the age of its value every 100 ms for `seconds`."""
    realtime = entry.runtime_data.realtime
    samples = unavailable = 0
    worst_age = 0.0
    cpu, started = time.thread_time(), time.perf_counter()
    while time.perf_counter() - started < seconds:
        await asyncio.sleep(0.1)
        samples += 1
        unavailable += hass.states.get(POWER).state == STATE_UNAVAILABLE
        reading = realtime._readings.get((1, MEASUREMENTS))
        if reading is not None:
            worst_age = max(worst_age, hass.loop.time() - reading.read_at)
    wall = time.perf_counter() - started
    return {
        "unavailable_percent": unavailable / samples * 100,
        "worst_power_age_s": worst_age,
        "loop_cpu_ms_per_s": (time.thread_time() - cpu) / wall * 1000,
        "wall_s": wall,
    }


@pytest.mark.timeout(600)
@pytest.mark.parametrize("link", list(LINKS))
async def test_slow_link(hass: HomeAssistant, socket_enabled: None, link: str) -> None:
    hass.loop.set_debug(False)
    latency, jitter, spike_probability, spike_seconds = LINKS[link]
    result: dict[str, Any] = {"link": link, "seconds": SECONDS}
    with SimulatorFarm(1) as farm:
        simulator = farm.simulators[0]
        simulator.faults.slow_down(
            latency, jitter=jitter, spike_probability=spike_probability, spike_seconds=spike_seconds, seed=1
        )
        entry = MockConfigEntry(
            domain=DOMAIN,
            title="Slow link",
            unique_id="BENCH00000",
            data={CONF_HOST: "127.0.0.1", CONF_PORT: simulator.port, CONF_DUAL_PORT: False, CONF_EMS_CONTROL: True},
        )
        entry.add_to_hass(hass)
        started = time.perf_counter()
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
        result["setup_s"] = time.perf_counter() - started
        # Setup reads every tier once, one request after the other: let the polls settle into their rhythm.
        await asyncio.sleep(5 + 4 * max(latency, spike_seconds))
        farm.reset()
        watched = await _watch(hass, entry, SECONDS)
        result.update(watched)
        result["connections_opened"] = simulator.stats.connections_opened
        result["requests_per_s"] = simulator.stats.requests / watched["wall_s"]
        result["link_health"] = entry.runtime_data.charger.link.as_diagnostics()

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
    results[link] = result
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print("\nslow link", json.dumps(result))
