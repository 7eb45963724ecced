"""Soak: the integration against a charger with random faults, for simulated minutes at the real 1 s poll rate.

SOAK_MINUTES (default 5) and SOAK_SEED (default 2026) set the run; `scripts/soak` runs a longer one and prints the
figures. Afterwards: every fault was recovered from, nothing unhandled was logged, no entity appeared or vanished,
the energy meter never went backwards in Home Assistant's states, and memory stayed within a small bound.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
import gc
import logging
import os
import random
import tracemalloc

from freezegun.api import TickingDateTimeFactory
from homeassistant.const import EVENT_STATE_CHANGED, STATE_UNAVAILABLE, STATE_UNKNOWN
from homeassistant.core import Event, EventStateChangedData, HomeAssistant, callback
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from enovates_simulator import CarScenario, ManualClock, Simulator
from enovates_simulator.model import CYCLE_SCRIPT

from ..helpers import advance

MINUTES = int(os.environ.get("SOAK_MINUTES", "5"))
SEED = int(os.environ.get("SOAK_SEED", "2026"))
ENERGY = "sensor.eno_one_energy_imported"
WATCHED = ("sensor.eno_one_power", "sensor.eno_one_mode_3_state", "number.eno_one_ems_current_limit")
RECOVERY_TICKS = 12  # a fault ends; within this many seconds every entity is back (Mode 3 polls every 10 s)
MEMORY_BOUND = 64 * 1024  # bytes the integration's part of the heap may grow over the run (measured: about 10 KiB)


@dataclass
class Faults:
    """What the soak did to the charger."""

    counts: dict[str, int] = field(default_factory=dict)
    recoveries: list[int] = field(default_factory=list)

    def count(self, kind: str) -> None:
        self.counts[kind] = self.counts.get(kind, 0) + 1


async def inject(simulator: Simulator, rng: random.Random, faults: Faults) -> tuple[int, object]:
    """Start a random fault; return how many seconds it lasts and how to end it."""
    kind = rng.choice(["reboot", "stall", "drop", "exception", "garbage"])
    faults.count(kind)
    seconds = rng.randint(2, 8)
    if kind == "reboot":
        await simulator.reboot(seconds)
        return seconds, None
    if kind == "stall":
        return seconds, simulator.faults.stall(seconds=seconds)
    if kind == "drop":
        return 1, simulator.faults.drop(maps=[rng.choice(["state", "measurements", "mode3"])], times=1)
    if kind == "exception":
        return seconds, simulator.faults.exception(maps=[rng.choice(["state", "measurements", "current_offered"])])
    address, value = rng.choice([(56, 42), (300, 77), (54, 9)])  # LED colour, Mode 3 state, lock: unknown values
    simulator.faults.override(address, value)
    return seconds, (address, value)


async def end(simulator: Simulator, handle: object) -> None:
    """End a fault and make sure the charger answers again."""
    if handle is None:
        await simulator.wait_booted()
    elif isinstance(handle, tuple):
        simulator.faults.overrides.clear()
    elif handle in simulator.faults.rules:
        simulator.faults.remove(handle)  # type: ignore[arg-type]


def _heap() -> tracemalloc.Snapshot:
    """Return what is alive on the traced heap that the integration, its libraries or the simulator allocated.

    Allocations are counted when any frame of their stack is in that code, so that what the test harness keeps
    (captured log records, mocks, the time machine) does not count, but what the integration leaves in Home
    Assistant or asyncio does. Garbage waiting for collection does not count either.
    """
    gc.collect()
    return tracemalloc.take_snapshot().filter_traces(
        [
            tracemalloc.Filter(inclusive=True, filename_pattern=pattern, all_frames=True)
            for pattern in (
                "*/custom_components/enovates/*",
                "*/enovates_modbus/*",
                "*/pymodbus/*",
                "*/enovates_simulator/*",
            )
        ]
    )


_LIBRARY_LINES = ("Failed to connect", "Repeating", "transaction_id", "without a corresponding request")


class _LogJudge(logging.Handler):
    """Stands in for the test harness's log capture during the run: keeps the messages, not the records.

    The harness keeps every record, with the exception in its arguments and that exception's frames, which
    would read as a leak of the integration.
    """

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.warnings: list[str] = []
        self.errors: list[str] = []
        self.library_unexpected: list[str] = []  # pymodbus' lines other than the ones it says while the charger is away

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.startswith("pymodbus"):
            # The integration leaves the library's logger alone (Home Assistant's modbus integration shares it): it
            # says only what it does while the charger is away or late (attempts that failed, answers it skipped).
            message = record.getMessage()
            if not any(kind in message for kind in _LIBRARY_LINES):
                self.library_unexpected.append(message)
            return
        (self.errors if record.levelno >= logging.ERROR else self.warnings).append(record.getMessage())


@contextmanager
def _judged_log() -> Iterator[_LogJudge]:
    root = logging.getLogger()
    judge = _LogJudge()
    handlers = root.handlers[:]
    for handler in handlers:
        root.removeHandler(handler)
    root.addHandler(judge)
    try:
        yield judge
    finally:
        root.removeHandler(judge)
        for handler in handlers:
            root.addHandler(handler)


@pytest.fixture
def scenarios() -> dict[int, CarScenario]:
    """A car arrives, waits, charges and leaves, over and over."""
    return {1: CarScenario.CYCLE}


async def _tick(hass: HomeAssistant, hands: TickingDateTimeFactory, clock: ManualClock) -> None:
    """One second for Home Assistant and for the charger's car."""
    clock.advance(1)
    await advance(hass, hands, 1)


async def _run(
    hass: HomeAssistant,
    hands: TickingDateTimeFactory,
    clock: ManualClock,
    simulator: Simulator,
    rng: random.Random,
    faults: Faults,
) -> None:
    """Alternate random faults and quiet spells for MINUTES; after each fault, wait for every entity to be back."""
    tick = 0
    while tick < MINUTES * 60:
        if rng.random() < 0.7:
            seconds, handle = await inject(simulator, rng, faults)
            for _ in range(seconds):
                await _tick(hass, hands, clock)
            await end(simulator, handle)
            tick += seconds
            for waited in range(1, RECOVERY_TICKS + 1):
                await _tick(hass, hands, clock)
                if all(hass.states.get(e).state != STATE_UNAVAILABLE for e in WATCHED):
                    faults.recoveries.append(waited)
                    break
            else:
                pytest.fail(f"not recovered {RECOVERY_TICKS} s after a fault: {faults.counts}")
            tick += waited
        quiet = rng.randint(3, 12)
        for _ in range(quiet):
            await _tick(hass, hands, clock)
        tick += quiet


# Shorter than production's 2.5 s (REQUEST_TIMEOUT_S in modbus/timing.py), as in the other tests of timeouts: each
# stall of the run costs the test that much real time per request, and the outcome is the same.
@pytest.mark.parametrize("request_timeout", [0.5])
@pytest.mark.timeout(600)
@pytest.mark.slow
@pytest.mark.usefixtures("request_timeout")
async def test_soak(
    hass: HomeAssistant,
    clock_hands: TickingDateTimeFactory,
    clock: ManualClock,
    simulator: Simulator,
    init_integration: MockConfigEntry,
    entity_registry: er.EntityRegistry,
) -> None:
    # As in production: no asyncio debug mode, which keeps a stack trace for every task and timer (and would warn
    # about a slow step at each jump of the test's clock).
    hass.loop.set_debug(False)
    rng = random.Random(SEED)  # noqa: S311 - a reproducible run, not a secret
    entities_before = {
        e.entity_id for e in er.async_entries_for_config_entry(entity_registry, init_integration.entry_id)
    }
    energy: list[float] = []

    @callback
    def record(event: Event[EventStateChangedData]) -> None:
        state = event.data["new_state"]
        if event.data["entity_id"] == ENERGY and state and state.state not in (STATE_UNAVAILABLE, STATE_UNKNOWN):
            energy.append(float(state.state))

    unsubscribe = hass.bus.async_listen(EVENT_STATE_CHANGED, record)
    faults = Faults()
    started = os.times().elapsed  # the wall clock: the test moves Home Assistant's
    tracemalloc.start(25)
    # Warm up: caches, and a whole cycle of the car (its session begun, ended and stored), so that what a first time
    # fills once (type caches, the stores' first writes) is not taken for a leak ...
    for _ in range(int(sum(seconds for seconds, _scenario in CYCLE_SCRIPT)) + 30):
        await _tick(hass, clock_hands, clock)
    # ... and one outage: entities write their state only when it changes, so until then some still show the state
    # written when they were added (outside the integration's frames), which their first rewrite would count as growth.
    await simulator.reboot(8)
    for _ in range(12):
        await _tick(hass, clock_hands, clock)
    baseline = _heap()

    with _judged_log() as log:
        await _run(hass, clock_hands, clock, simulator, rng, faults)
    heap = _heap()
    growth = sum(stat.size_diff for stat in heap.compare_to(baseline, "filename"))
    if os.environ.get("SOAK_DEBUG"):
        for stat in heap.compare_to(baseline, "lineno")[:15]:
            print(stat)  # noqa: T201
    tracemalloc.stop()
    unsubscribe()
    wall = os.times().elapsed - started

    entities_after = {
        e.entity_id for e in er.async_entries_for_config_entry(entity_registry, init_integration.entry_id)
    }
    assert entities_after == entities_before
    assert len(hass.states.async_entity_ids()) == len({s.entity_id for s in hass.states.async_all()})
    assert energy == sorted(energy), "the energy meter went backwards"
    assert energy[-1] > energy[0]
    assert log.errors == []
    assert log.library_unexpected == []
    assert len(log.warnings) <= sum(faults.counts.values())  # at most one "unavailable" warning per fault
    assert growth < MEMORY_BOUND
    print(  # noqa: T201 - the soak's report, shown with -s (scripts/soak)
        f"\nsoak: {MINUTES} simulated minutes, seed {SEED}, {wall:.0f} s wall; faults {faults.counts}; "
        f"recovered after {min(faults.recoveries)}-{max(faults.recoveries)} s "
        f"(median {sorted(faults.recoveries)[len(faults.recoveries) // 2]} s); "
        f"energy {energy[0]:.3f} -> {energy[-1]:.3f} kWh in {len(energy)} states, never backwards; "
        f"heap growth of integration, libraries and simulator {growth / 1024:.0f} KiB; "
        f"requests served {simulator.stats.requests}"
    )
