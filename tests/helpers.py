"""What tests share besides fixtures: moving Home Assistant's clock, waiting for a condition, and what a user does.

Fixtures live in the conftest files; test modules import these helpers from here, never from one another.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
import contextlib
from datetime import timedelta
from typing import Any
from unittest.mock import patch

from enovates_modbus import EnoOneClient
from freezegun.api import TickingDateTimeFactory
from homeassistant.components.number import ATTR_VALUE, DOMAIN as NUMBER_DOMAIN, SERVICE_SET_VALUE
from homeassistant.components.select import ATTR_OPTION, DOMAIN as SELECT_DOMAIN, SERVICE_SELECT_OPTION
from homeassistant.config_entries import SOURCE_USER
from homeassistant.const import ATTR_DEVICE_ID, ATTR_ENTITY_ID, CONF_HOST, CONF_PORT, Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr, entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
    async_mock_restore_state_shutdown_restart,
)

from custom_components.enovates.compat import async_port_devices
from custom_components.enovates.const import CONF_DUAL_PORT, CONF_EMS_CONTROL, DOMAIN
from custom_components.enovates.ems_limit.timed import storage_key
from custom_components.enovates.services import SERVICE_SET_CURRENT_LIMIT
from enovates_simulator import Simulator

SERIAL = "SIM0000000001"
# The vendor library's clients in the simulator tests (not the integration's connection, whose request timeout is
# modbus/timing.py's REQUEST_TIMEOUT_S): one try and a short timeout, so that a fault shows in well under a second.
CLIENT_TIMEOUT_S = 0.5
# How often wait_until looks at its condition: often enough not to slow a test down, seldom enough to leave the
# two cores to the code under test.
_LOOK_EVERY_S = 0.005
LIMIT = "number.eno_one_ems_current_limit"
# Smart charging's entities of the single-port test charger.
MODE = "select.eno_one_charging_mode"
REASON = "sensor.eno_one_smart_charging"
PEAK = "number.eno_one_peak_limit"
QUARTER = "sensor.eno_one_quarter_hour_average_import"


async def wait_until(condition: Callable[[], bool], what: str, *, within_s: float = 10.0) -> None:
    """Wait for `condition` to hold (something happened: a request arrived, a connection closed, a line logged).

    Bounded: the test fails, naming `what`, if it does not hold within `within_s` seconds of real time. The bound is
    generous, since only a broken test ever reaches it: a busy machine makes the wait longer, never the test wrong.
    """
    try:
        async with asyncio.timeout(within_s):
            while not condition():  # noqa: ASYNC110 - what is waited for (a counter, a log line) has no event
                await asyncio.sleep(_LOOK_EVERY_S)
    except TimeoutError:
        pytest.fail(f"still waiting after {within_s:g} s for {what}")


@contextlib.asynccontextmanager
async def eno_client(simulator: Simulator, unit: int = 1) -> AsyncIterator[EnoOneClient]:
    """The vendor library's client for one unit of the simulator, closed afterwards."""
    client = EnoOneClient("127.0.0.1", simulator.port, device_id=unit, mb_retries=0, mb_timeout=CLIENT_TIMEOUT_S)
    try:
        yield client
    finally:
        client.client.close()


def _timers_due(hass: HomeAssistant) -> bool:
    loop = hass.loop
    return any(not handle.cancelled() and handle.when() <= loop.time() for handle in loop._scheduled)  # type: ignore[attr-defined]


async def advance(hass: HomeAssistant, hands: TickingDateTimeFactory, seconds: int, *, step: int = 1) -> None:
    """Let `seconds` of Home Assistant time pass, `step` seconds at a time, running every poll that falls due."""
    for _ in range(0, seconds, step):
        # From now, not from the last jump: freezegun's tick() would forget the real time run since then.
        hands.move_to(hands() + timedelta(seconds=step))
        # Until nothing is due: a poll (or a requested refresh) that ends after the jump may leave a timer that is
        # due already, which the jump's own firing did not see.
        for _ in range(10):
            async_fire_time_changed(hass)
            await hass.async_block_till_done(wait_background_tasks=True)
            if not _timers_due(hass):
                break


async def setup_platform(hass: HomeAssistant, entry: MockConfigEntry, platform: Platform) -> None:
    """Set up the integration with one platform only, as snapshot_platform wants."""
    entry.add_to_hass(hass)
    with patch("custom_components.enovates.PLATFORMS", [platform]):
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done(wait_background_tasks=True)


async def setup_entry(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    """Set up an entry (added to Home Assistant already) and let its first polls and writes finish."""
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)


@contextlib.asynccontextmanager
async def home_assistant_down(
    hass: HomeAssistant, clock_hands: TickingDateTimeFactory, entry: MockConfigEntry, downtime: timedelta
) -> AsyncIterator[None]:
    """Stop Home Assistant as it stops (its restore data saved) for what the block does, then `downtime` later
    start it again."""
    await async_mock_restore_state_shutdown_restart(hass)
    assert await hass.config_entries.async_unload(entry.entry_id)
    yield
    clock_hands.move_to(clock_hands() + downtime)
    await setup_entry(hass, entry)


def user_input(
    port: int, *, host: str = "127.0.0.1", dual_port: bool = False, ems_control: bool = False
) -> dict[str, Any]:
    """What a user fills in to add a charger."""
    return {CONF_HOST: host, CONF_PORT: port, CONF_DUAL_PORT: dual_port, CONF_EMS_CONTROL: ems_control}


async def add_charger(hass: HomeAssistant, filled_in: dict[str, Any]) -> dict[str, Any]:
    """Add a charger as a user does, through the config flow; return the flow's last result."""
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(result["flow_id"], filled_in)
    await hass.async_block_till_done(wait_background_tasks=True)
    return dict(result)


def state(hass: HomeAssistant, entity_id: str) -> str:
    """Return the state of an entity that must exist."""
    found = hass.states.get(entity_id)
    assert found is not None, entity_id
    return found.state


def device_id(hass: HomeAssistant, port: int | None = None) -> str:
    """Return the device of the charger, or of one of its ports (a child device)."""
    charger_device_id: str = hass.config_entries.async_entries(DOMAIN)[0].runtime_data.device_id
    if port is None:
        return charger_device_id
    (device,) = (
        device
        for device in async_port_devices(dr.async_get(hass), charger_device_id)
        if (DOMAIN, f"{SERIAL}_port{port}") in device.identifiers
    )
    return device.id


def limit_ma(simulator: Simulator, port: int = 1) -> int:
    """Return the EMS limit a port of the simulated charger holds, in mA (-1: none)."""
    return simulator.charger.port(port).ems_limit_ma


async def set_number(hass: HomeAssistant, entity_id: str, value: float) -> None:
    """Set a number entity as the UI or an automation does."""
    await hass.services.async_call(
        NUMBER_DOMAIN, SERVICE_SET_VALUE, {ATTR_ENTITY_ID: entity_id, ATTR_VALUE: value}, blocking=True
    )


async def set_current_limit(hass: HomeAssistant, device: str, current: float, **extra: Any) -> None:
    """Call the enovates.set_current_limit action."""
    await hass.services.async_call(
        DOMAIN, SERVICE_SET_CURRENT_LIMIT, {ATTR_DEVICE_ID: device, "current": current, **extra}, blocking=True
    )


async def set_limit(hass: HomeAssistant, value: float, entity_id: str = LIMIT) -> None:
    """Set the EMS limit with the slider, or pause with the action (the slider starts at 6 A)."""
    if value < 6:
        await set_current_limit(hass, device_id(hass), value)
        return
    await set_number(hass, entity_id, value)


async def stored_ways_back(
    hass: HomeAssistant, hass_storage: dict[str, Any], entry: MockConfigEntry
) -> dict[str, dict[str, Any]]:
    """Return the limits that timed limits will put back, by port, as the entry's store holds them for a restart."""
    # The store writes on a timer that is due at once: fire it, rather than wait for the loop to come round to it.
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    pending: dict[str, dict[str, Any]] = hass_storage[storage_key(entry.entry_id)]["data"]["pending"]
    return pending


async def keep_entities(hass: HomeAssistant, entry: MockConfigEntry, keep: Callable[[er.RegistryEntry], bool]) -> None:
    """Disable the entry's entities that `keep` leaves out, as a user does, and reload the entry."""
    registry = er.async_get(hass)
    for entity in er.async_entries_for_config_entry(registry, entry.entry_id):
        if not keep(entity):
            registry.async_update_entity(entity.entity_id, disabled_by=er.RegistryEntryDisabler.USER)
    await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()


def maps_read(simulator: Simulator) -> set[str]:
    """Return the register maps the charger was asked for since its statistics were last reset."""
    return {name for (_unit, name), count in simulator.stats.requests_by_map.items() if count}


async def select_mode(hass: HomeAssistant, mode: str, entity_id: str = MODE) -> None:
    """Pick a port's charging mode, as a user does on the device page."""
    await hass.services.async_call(
        SELECT_DOMAIN, SERVICE_SELECT_OPTION, {ATTR_ENTITY_ID: entity_id, ATTR_OPTION: mode}, blocking=True
    )
