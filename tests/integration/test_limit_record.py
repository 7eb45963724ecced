"""Who set the EMS limit: Home Assistant, another controller, or the put-back after the charger was unreachable;
the event entity reports it, and each session that ends."""

from __future__ import annotations

from datetime import timedelta
import logging
from typing import Any
from unittest.mock import patch

from freezegun.api import TickingDateTimeFactory
from homeassistant.components.event import ATTR_EVENT_TYPE
from homeassistant.const import STATE_UNAVAILABLE, STATE_UNKNOWN
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.enovates.ems_limit.record import PUT_BACK_ATTEMPTS
from custom_components.enovates.ems_limit.timed import storage_key
from enovates_simulator import AfterReboot, Car, ManualClock, Profile, Simulator

from ..helpers import advance, device_id, eno_client, set_current_limit, set_limit, stored_ways_back

EVENTS = "event.eno_one_events"
LIMIT = "number.eno_one_ems_current_limit"
RESET = Profile(after_reboot=AfterReboot.RESET)


@pytest.fixture
def car() -> Car:
    """A car charging on port 1, at up to 32 A."""
    return Car(max_current_a=32)


def last_event(hass: HomeAssistant) -> dict[str, object]:
    state = hass.states.get(EVENTS)
    assert state is not None
    return dict(state.attributes)


async def reboot(hass: HomeAssistant, clock_hands: TickingDateTimeFactory, simulator: Simulator) -> None:
    await simulator.reboot(1)
    await advance(hass, clock_hands, 1)
    await simulator.wait_booted()
    await advance(hass, clock_hands, 2)


async def test_a_limit_set_by_home_assistant_is_reported(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    assert hass.states.get(EVENTS).state == STATE_UNKNOWN  # type: ignore[union-attr]  # no event yet
    await set_limit(hass, 10)
    event = last_event(hass)
    assert event[ATTR_EVENT_TYPE] == "ems_limit_set_by_home_assistant"
    assert (event["limit"], event["previous"]) == (10.0, None)
    await set_limit(hass, 32)  # the maximum: no limit
    assert (last_event(hass)["limit"], last_event(hass)["previous"]) == (None, 10.0)


@pytest.mark.parametrize("profile", [RESET])
@pytest.mark.parametrize("how", ["for good", "pause", "for a while"])
@pytest.mark.usefixtures("profile")
async def test_a_limit_lost_in_a_reboot_is_put_back_once(
    hass: HomeAssistant,
    clock_hands: TickingDateTimeFactory,
    simulator: Simulator,
    init_integration: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
    hass_storage: dict[str, Any],
    how: str,
) -> None:
    wanted = {"for good": 10, "pause": 0, "for a while": 8}[how]
    if how == "for a while":
        await set_current_limit(hass, device_id(hass), wanted, duration={"minutes": 30})
    else:
        await set_limit(hass, wanted)
    writes = len(simulator.stats.writes)
    caplog.clear()

    await reboot(hass, clock_hands, simulator)  # the charger forgot it: no limit
    assert simulator.charger.port(1).ems_limit_ma == wanted * 1000
    assert simulator.stats.writes[writes:] == [(1, wanted * 1000)]  # once
    event = last_event(hass)
    assert event[ATTR_EVENT_TYPE] == "ems_limit_restored"
    assert event["limit"] == float(wanted)
    warnings = [
        r.getMessage()
        for r in caplog.records
        if r.levelno == logging.WARNING and r.name == "custom_components.enovates"
    ]
    assert warnings == [
        f"The EMS limit of ENO one port 1 was -1 mA after the charger was unreachable; putting back {wanted * 1000} "
        "mA, as Home Assistant set it"
    ]
    await advance(hass, clock_hands, 5)
    assert simulator.stats.writes[writes:] == [(1, wanted * 1000)]  # and only once

    if how == "for a while":  # the way back still comes in time
        assert (await stored_ways_back(hass, hass_storage, init_integration))["1"]["limit_ma"] == -1
        await advance(hass, clock_hands, 1800, step=600)
        assert simulator.charger.port(1).ems_limit_ma == -1
        assert await stored_ways_back(hass, hass_storage, init_integration) == {}


@pytest.mark.parametrize("profile", [Profile(after_reboot=AfterReboot.KEPT)])
@pytest.mark.usefixtures("profile")
async def test_a_limit_the_charger_kept_is_left_alone(
    hass: HomeAssistant, clock_hands: TickingDateTimeFactory, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    await set_limit(hass, 10)
    writes = len(simulator.stats.writes)
    await reboot(hass, clock_hands, simulator)
    assert simulator.charger.port(1).ems_limit_ma == 10000
    assert len(simulator.stats.writes) == writes
    assert last_event(hass)[ATTR_EVENT_TYPE] == "ems_limit_set_by_home_assistant"


@pytest.mark.parametrize("profile", [RESET])
@pytest.mark.parametrize("ems_control", [True, False], ids=["ems_control", "monitoring"])
@pytest.mark.usefixtures("profile")
async def test_a_limit_set_elsewhere_is_respected_and_shown(
    hass: HomeAssistant,
    clock_hands: TickingDateTimeFactory,
    simulator: Simulator,
    init_integration: MockConfigEntry,
    hass_storage: dict[str, Any],
    ems_control: bool,
) -> None:
    if ems_control:
        await set_current_limit(hass, device_id(hass), 8, duration={"minutes": 30})
    async with eno_client(simulator) as other_controller:
        await other_controller.set_ems_limit(12000)
    await advance(hass, clock_hands, 1)
    event = last_event(hass)
    assert event[ATTR_EVENT_TYPE] == "ems_limit_set_elsewhere"
    assert (event["limit"], event["previous"]) == (12.0, 8.0 if ems_control else None)
    if ems_control:
        assert hass.states.get(LIMIT).state == "12"  # type: ignore[union-attr]
        assert await stored_ways_back(hass, hass_storage, init_integration) == {}  # nothing to undo any more
    writes = len(simulator.stats.writes)

    # Home Assistant does not undo it: not when its own limit for a while ends, not after a reboot
    await advance(hass, clock_hands, 1800, step=600)
    assert simulator.charger.port(1).ems_limit_ma == 12000
    await reboot(hass, clock_hands, simulator)
    assert simulator.charger.port(1).ems_limit_ma == -1
    assert len(simulator.stats.writes) == writes
    assert last_event(hass)[ATTR_EVENT_TYPE] == "ems_limit_set_elsewhere"


@pytest.mark.parametrize("profile", [RESET])
@pytest.mark.usefixtures("profile")
async def test_a_put_back_that_fails_is_logged(
    hass: HomeAssistant,
    clock_hands: TickingDateTimeFactory,
    simulator: Simulator,
    init_integration: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await set_limit(hass, 10)
    simulator.faults.exception(maps=["ems_limit"], times=2)  # the limit is not read at once after the reboot
    refused = HomeAssistantError("refused")
    with patch("custom_components.enovates.ems_limit.timed.async_set_ems_limit", side_effect=refused) as write:
        await reboot(hass, clock_hands, simulator)
        await advance(hass, clock_hands, 20, step=5)
    assert write.call_count == PUT_BACK_ATTEMPTS  # a few times, a few seconds apart, then given up
    assert "Could not put back the EMS limit of ENO one port 1: refused" in caplog.text


@pytest.mark.parametrize("profile", [RESET])
@pytest.mark.usefixtures("profile")
async def test_a_put_back_stops_once_another_limit_is_set(
    hass: HomeAssistant, clock_hands: TickingDateTimeFactory, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    await set_limit(hass, 10)

    async def refused_as_another_sets_its_own(*_args: object) -> None:
        simulator.charger.set_ems_limit(1, 12000)
        raise HomeAssistantError("refused")

    with patch(
        "custom_components.enovates.ems_limit.timed.async_set_ems_limit",
        side_effect=refused_as_another_sets_its_own,
    ) as write:
        await reboot(hass, clock_hands, simulator)
        await advance(hass, clock_hands, 20, step=5)
    assert write.call_count == 1  # no more attempts: the limit is no longer Home Assistant's to put back
    assert simulator.charger.port(1).ems_limit_ma == 12000
    assert last_event(hass)[ATTR_EVENT_TYPE] == "ems_limit_set_elsewhere"


async def test_a_session_that_ends_is_reported(
    hass: HomeAssistant,
    clock_hands: TickingDateTimeFactory,
    clock: ManualClock,
    simulator: Simulator,
    init_integration: MockConfigEntry,
) -> None:
    clock.advance(600)  # ten minutes at 32 A on three phases
    await advance(hass, clock_hands, 600, step=60)
    simulator.charger.port(1).unplug()
    await advance(hass, clock_hands, 2)
    event = last_event(hass)
    assert event[ATTR_EVENT_TYPE] == "session_ended"
    assert event["energy"] == 3.679  # kWh, in whole Wh as the charger counts
    assert event["duration"] == 10
    assert isinstance(event["start"], str)
    assert isinstance(event["end"], str)


async def test_the_event_entity_follows_the_heartbeat(
    hass: HomeAssistant, clock_hands: TickingDateTimeFactory, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    await simulator.stop()
    await advance(hass, clock_hands, 6)  # silent for 5 s: unreachable
    assert hass.states.get(EVENTS).state == STATE_UNAVAILABLE  # type: ignore[union-attr]
    await simulator.start()
    await advance(hass, clock_hands, 6)  # reconnects back off: 1, 2, 4 s
    assert hass.states.get(EVENTS).state == STATE_UNKNOWN  # type: ignore[union-attr]
    await advance(hass, clock_hands, timedelta(minutes=1).seconds, step=30)
    assert hass.states.get(EVENTS).state == STATE_UNKNOWN  # type: ignore[union-attr]


@pytest.mark.parametrize("profile", [RESET])
@pytest.mark.parametrize(
    ("meanwhile", "after"),
    [("reboot", 0), ("set elsewhere", 12000), ("nothing", 0)],
    ids=["charger_rebooted", "set_elsewhere", "nothing"],
)
@pytest.mark.usefixtures("profile")
async def test_what_home_assistant_wants_survives_its_restart(
    hass: HomeAssistant,
    clock_hands: TickingDateTimeFactory,
    simulator: Simulator,
    init_integration: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
    meanwhile: str,
    after: int,
) -> None:
    await set_limit(hass, 0)  # a pause, for good
    assert await hass.config_entries.async_unload(init_integration.entry_id)
    if meanwhile == "reboot":  # a power cut took both down: the charger forgot the pause
        await simulator.reboot(0.01)
        await simulator.wait_booted()
    elif meanwhile == "set elsewhere":
        async with eno_client(simulator) as other_controller:
            await other_controller.set_ems_limit(12000)
    assert await hass.config_entries.async_setup(init_integration.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert simulator.charger.port(1).ems_limit_ma == after
    assert ("putting back 0 mA" in caplog.text) is (meanwhile == "reboot")

    # Still wanted (unless someone else set a limit since): a reboot later puts it back
    await reboot(hass, clock_hands, simulator)
    assert simulator.charger.port(1).ems_limit_ma == (-1 if meanwhile == "set elsewhere" else 0)


@pytest.mark.parametrize("ems_control", [False])
async def test_without_ems_control_no_limit_is_kept_or_put_back(
    hass: HomeAssistant, hass_storage: dict[str, Any], simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    # Without EMS control the record has no keeper: a limit it is told Home Assistant wanted (here: one the charger
    # lost) is neither put back nor stored.
    record = init_integration.runtime_data.limit_record
    assert init_integration.runtime_data.limits is None
    record.restore_wanted({1: 16_000})
    await hass.async_block_till_done()
    assert record.wanted == {}
    assert storage_key(init_integration.entry_id) not in hass_storage
    assert simulator.stats.writes == []
