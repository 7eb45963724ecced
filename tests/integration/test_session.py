"""Charging sessions against the simulator's car: plug in, charge, pause, resume, unplug, and restarts of Home
Assistant in the middle of a session."""

from __future__ import annotations

from datetime import datetime, timedelta
import math
from typing import Any
from unittest.mock import patch

from freezegun.api import TickingDateTimeFactory
from homeassistant.components.event import ATTR_EVENT_TYPE
from homeassistant.const import EVENT_HOMEASSISTANT_STOP, STATE_UNKNOWN
from homeassistant.core import HomeAssistant, State
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    mock_restore_cache_with_extra_data,
)

from custom_components.enovates.charging.sessions import SessionTracker
from enovates_simulator import Car, ManualClock, PortFault, Profile, Simulator

from ..helpers import advance, home_assistant_down, keep_entities, setup_entry

ENERGY = "sensor.eno_one_session_energy"
DURATION = "sensor.eno_one_session_duration"
START = "sensor.eno_one_session_start"
EVENTS = "event.eno_one_events"
VISITOR = "04000000000099"  # a badge other than the owner's


def value(hass: HomeAssistant, entity_id: str) -> str:
    return hass.states.get(entity_id).state  # type: ignore[union-attr]


def start(hass: HomeAssistant) -> datetime:
    started = dt_util.parse_datetime(value(hass, START))
    assert started is not None
    return started


def counter_wh(simulator: Simulator) -> int:
    return simulator.charger.read_port(1).energy_wh


async def test_a_session_from_plug_in_to_unplug(
    hass: HomeAssistant,
    clock_hands: TickingDateTimeFactory,
    clock: ManualClock,
    simulator: Simulator,
    init_integration: MockConfigEntry,
) -> None:
    charger = simulator.charger
    port = charger.port(1)
    port.energy_wh = 123_456.0  # the meter's count from earlier sessions
    assert [value(hass, e) for e in (ENERGY, DURATION, START)] == [STATE_UNKNOWN] * 3  # no car seen yet

    plugged_at = dt_util.utcnow()
    car = port.plug_in(Car(max_current_a=16))
    await advance(hass, clock_hands, 2)
    assert plugged_at <= start(hass) <= plugged_at + timedelta(seconds=3)
    assert float(value(hass, ENERGY)) == 0
    assert value(hass, DURATION) == "0"

    clock.advance(1800)  # the simulated car charges for half an hour: 3 x 16 A x 230 V
    await advance(hass, clock_hands, 2)
    assert float(value(hass, ENERGY)) == pytest.approx((counter_wh(simulator) - 123_456) / 1000)
    assert value(hass, ENERGY) == "5.519"  # kWh, counted in whole Wh as the charger does

    # Paused by an EMS for five minutes: nothing flows, yet the session goes on and its duration counts.
    charger.set_ems_limit(1, 0)
    await advance(hass, clock_hands, 300, step=30)
    assert value(hass, ENERGY) == "5.519"  # nothing flowed
    assert value(hass, DURATION) == "5"
    charger.set_ems_limit(1, -1)  # resumed
    clock.advance(600)
    await advance(hass, clock_hands, 60, step=30)
    assert value(hass, DURATION) == "6"
    assert value(hass, ENERGY) == "7.359"  # and ten minutes more
    assert float(value(hass, ENERGY)) == math.floor(car.energy_received_wh) / 1000  # what the car took

    session_start = start(hass)
    port.unplug()
    await advance(hass, clock_hands, 2)
    ended = [value(hass, e) for e in (ENERGY, DURATION, START)]
    await advance(hass, clock_hands, 180, step=60)
    assert [value(hass, e) for e in (ENERGY, DURATION, START)] == ended  # the last session stays on show
    assert start(hass) == session_start

    port.plug_in(Car())  # the next car: a new session
    await advance(hass, clock_hands, 2)
    assert float(value(hass, ENERGY)) == 0
    assert value(hass, DURATION) == "0"
    assert start(hass) > session_start


async def test_an_error_state_neither_ends_nor_starts_a_session(
    hass: HomeAssistant,
    clock_hands: TickingDateTimeFactory,
    clock: ManualClock,
    simulator: Simulator,
    init_integration: MockConfigEntry,
) -> None:
    port = simulator.charger.port(1)
    port.plug_in(Car())
    await advance(hass, clock_hands, 2)
    session_start = start(hass)
    port.fault = PortFault.F
    await advance(hass, clock_hands, 12)
    port.fault = None
    clock.advance(60)
    await advance(hass, clock_hands, 12)
    assert start(hass) == session_start
    assert value(hass, ENERGY) == "0.184"  # the minute of charging after the fault


@pytest.fixture
async def charging_ten_minutes(
    hass: HomeAssistant,
    clock_hands: TickingDateTimeFactory,
    clock: ManualClock,
    simulator: Simulator,
    init_integration: MockConfigEntry,
) -> datetime:
    """A car plugged in, charging at 11 kW for ten minutes; return when its session started."""
    simulator.charger.port(1).plug_in(Car(max_current_a=16))
    await advance(hass, clock_hands, 2)
    session_start = start(hass)
    clock.advance(600)
    await advance(hass, clock_hands, 600, step=60)
    return session_start


async def test_a_restart_in_the_middle_of_a_session_continues_it(
    hass: HomeAssistant,
    clock_hands: TickingDateTimeFactory,
    clock: ManualClock,
    simulator: Simulator,
    init_integration: MockConfigEntry,
    charging_ten_minutes: datetime,
) -> None:
    async with home_assistant_down(hass, clock_hands, init_integration, timedelta(minutes=20)):
        clock.advance(1200)  # the car charges on while Home Assistant is down

    assert start(hass) == charging_ten_minutes
    assert float(value(hass, ENERGY)) == pytest.approx(counter_wh(simulator) / 1000)  # the meter started at 0
    assert value(hass, ENERGY) == "5.519"  # all 30 minutes, the 20 while down too
    assert value(hass, DURATION) == "30"


async def test_a_car_that_left_while_home_assistant_was_down_ended_its_session(
    hass: HomeAssistant,
    clock_hands: TickingDateTimeFactory,
    clock: ManualClock,
    simulator: Simulator,
    init_integration: MockConfigEntry,
    charging_ten_minutes: datetime,
) -> None:
    port = simulator.charger.port(1)
    async with home_assistant_down(hass, clock_hands, init_integration, timedelta(hours=2)):
        clock.advance(300)  # it charged five more minutes, then left
        port.unplug()

    assert start(hass) == charging_ten_minutes
    assert value(hass, ENERGY) == "2.759"  # 15 minutes at 11 kW
    # It ended when Home Assistant last saw it, not two hours later when Home Assistant came back.
    assert value(hass, DURATION) == "10"
    await advance(hass, clock_hands, 120, step=60)
    assert value(hass, DURATION) == "10"


@pytest.mark.parametrize("ems_control", [True, False], ids=["ems_control", "monitoring_only"])
async def test_a_car_swapped_while_home_assistant_was_down(
    hass: HomeAssistant,
    clock_hands: TickingDateTimeFactory,
    clock: ManualClock,
    simulator: Simulator,
    init_integration: MockConfigEntry,
    charging_ten_minutes: datetime,
    ems_control: bool,
) -> None:
    port = simulator.charger.port(1)
    async with home_assistant_down(hass, clock_hands, init_integration, timedelta(minutes=10)):
        clock.advance(300)  # five more minutes, then the car leaves and a visitor's takes its place: a new badge
        port.unplug()
        port.plug_in(Car(max_current_a=16), badge=VISITOR)
        clock.advance(300)

    if ems_control:
        # The charger's transaction tells the cars apart: the new car's session starts when it is found, after the
        # ten minutes of the fixture and the ten Home Assistant was down. What it took while Home Assistant was
        # down is not known (the meter is the port's, not the car's).
        assert start(hass) >= charging_ten_minutes + timedelta(minutes=20)
        assert float(value(hass, ENERGY)) == 0
        clock.advance(600)
        await advance(hass, clock_hands, 2)
        assert value(hass, ENERGY) == "1.84"
    else:
        # Without EMS control the token cannot be read: nothing tells the two cars apart.
        assert start(hass) == charging_ten_minutes
        assert value(hass, ENERGY) == "3.679"


async def test_the_token_of_the_car_before_is_not_taken_for_the_next(
    hass: HomeAssistant,
    clock_hands: TickingDateTimeFactory,
    clock: ManualClock,
    simulator: Simulator,
    init_integration: MockConfigEntry,
    charging_ten_minutes: datetime,
) -> None:
    port = simulator.charger.port(1)
    port.unplug()
    await advance(hass, clock_hands, 2)
    port.plug_in(Car(max_current_a=16))  # the next car, seen at once; the token read last is still the first's
    await advance(hass, clock_hands, 2)
    next_start = start(hass)
    assert next_start > charging_ten_minutes
    await advance(hass, clock_hands, 120, step=60)  # its own token is read meanwhile: the same session goes on
    assert start(hass) == next_start
    assert value(hass, DURATION) == "2"

    # It is this car's transaction that the session keeps: a third car found after a restart is told apart.
    async with home_assistant_down(hass, clock_hands, init_integration, timedelta(minutes=5)):
        port.unplug()
        port.plug_in(Car(max_current_a=16), badge=VISITOR)
    assert start(hass) > next_start


async def test_a_session_restored_as_the_next_car_comes_starts_anew(
    hass: HomeAssistant, clock_hands: TickingDateTimeFactory, simulator: Simulator, mock_config_entry: MockConfigEntry
) -> None:
    earlier = (dt_util.utcnow() - timedelta(days=1)).replace(microsecond=0)  # as a timestamp state shows it
    session = {
        "start": earlier.isoformat(),
        "start_wh": 1000,
        "last_wh": 9000,
        "last_seen": (earlier + timedelta(hours=3)).isoformat(),
        "end": (earlier + timedelta(hours=3)).isoformat(),
    }
    mock_restore_cache_with_extra_data(
        hass,
        [(State(ENERGY, "8.0"), {"native_value": 8000, "native_unit_of_measurement": "Wh", "session": session})],
    )
    mock_config_entry.add_to_hass(hass)
    await setup_entry(hass, mock_config_entry)
    # The last session, as it was before the restart (no car now).
    assert start(hass) == earlier
    assert float(value(hass, ENERGY)) == 8.0
    assert value(hass, DURATION) == "180"

    simulator.charger.port(1).plug_in(Car())
    await advance(hass, clock_hands, 2)
    assert float(value(hass, ENERGY)) == 0
    assert start(hass) > earlier


async def test_a_meter_that_went_back_counts_from_where_it_is(
    hass: HomeAssistant,
    clock_hands: TickingDateTimeFactory,
    clock: ManualClock,
    simulator: Simulator,
    mock_config_entry: MockConfigEntry,
) -> None:
    # A session open before the restart, on a meter that read more than the (replaced) meter reads now.
    earlier = (dt_util.utcnow() - timedelta(hours=1)).replace(microsecond=0)
    session = {
        "start": earlier.isoformat(),
        "start_wh": 50_000,
        "last_wh": 52_000,
        "last_seen": earlier.isoformat(),
        "end": None,
    }
    mock_restore_cache_with_extra_data(
        hass, [(State(DURATION, "60"), {"native_value": 60, "native_unit_of_measurement": "min", "session": session})]
    )
    simulator.charger.port(1).plug_in(Car(max_current_a=16))
    mock_config_entry.add_to_hass(hass)
    await setup_entry(hass, mock_config_entry)
    assert float(value(hass, ENERGY)) == 0
    clock.advance(600)
    await advance(hass, clock_hands, 2)
    assert value(hass, ENERGY) == "1.839"
    assert start(hass) == earlier


@pytest.mark.parametrize(
    "stored",
    [
        {"native_value": 3, "native_unit_of_measurement": "min"},  # a sensor of an older version: no session
        {"native_value": 3, "native_unit_of_measurement": "min", "session": {"start": "yesterday"}},
        {
            "native_value": 3,
            "native_unit_of_measurement": "min",
            "session": {
                "start": "2026-11-01T10:00:00+00:00",
                "start_wh": "many",
                "last_wh": 1,
                "last_seen": "2026-11-01T10:00:00+00:00",
                "end": None,
            },
        },
        {
            "native_value": 3,
            "native_unit_of_measurement": "min",
            "session": {
                "start": "2026-11-01T10:00:00+00:00",
                "start_wh": 0,
                "last_wh": 1,
                "last_seen": "2026-11-01T10:00:00+00:00",
                "end": None,
                "transaction": 42,
            },
        },
    ],
    ids=["no_session", "bad_time", "bad_counter", "bad_transaction"],
)
async def test_stored_data_that_is_no_session_is_ignored(
    hass: HomeAssistant, simulator: Simulator, mock_config_entry: MockConfigEntry, stored: dict[str, object]
) -> None:
    mock_restore_cache_with_extra_data(hass, [(State(DURATION, "3"), stored)])
    mock_config_entry.add_to_hass(hass)
    await setup_entry(hass, mock_config_entry)
    assert value(hass, DURATION) == STATE_UNKNOWN


async def test_a_car_found_at_start_after_an_ended_session_starts_its_own(
    hass: HomeAssistant, simulator: Simulator, mock_config_entry: MockConfigEntry
) -> None:
    # The session kept (by the session start sensor of an older release) had ended: the car plugged in now has a
    # session of its own.
    earlier = (dt_util.utcnow() - timedelta(days=1)).replace(microsecond=0)
    session = {
        "start": earlier.isoformat(),
        "start_wh": 0,
        "last_wh": 9000,
        "last_seen": (earlier + timedelta(hours=3)).isoformat(),
        "end": (earlier + timedelta(hours=3)).isoformat(),
    }
    mock_restore_cache_with_extra_data(hass, [(State(START, earlier.isoformat()), {"session": session})])
    simulator.charger.port(1).plug_in(Car())
    mock_config_entry.add_to_hass(hass)
    await setup_entry(hass, mock_config_entry)
    assert start(hass) > earlier
    assert float(value(hass, ENERGY)) == 0


@pytest.mark.parametrize("profile", [Profile(authorisation=True)])
@pytest.mark.usefixtures("profile")
async def test_a_car_waiting_for_its_badge_keeps_one_session(
    hass: HomeAssistant, clock_hands: TickingDateTimeFactory, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    # The token still holds the badge scanned before (the owner's) while the visitor's car waits for its own.
    port = simulator.charger.port(1)
    port.plug_in(Car(max_current_a=16))
    port.authorise(port.badge)
    await advance(hass, clock_hands, 2)
    port.unplug()
    await advance(hass, clock_hands, 2)
    port.plug_in(Car(max_current_a=16))
    await advance(hass, clock_hands, 2)
    visitor_start = start(hass)
    await advance(hass, clock_hands, 120, step=60)  # the owner's badge is read during the visitor's session
    port.authorise(VISITOR)
    await advance(hass, clock_hands, 120, step=60)  # then the visitor's: still the same session
    assert start(hass) == visitor_start
    assert value(hass, DURATION) == "4"

    # It is the visitor's badge that the session keeps: the owner's car found after a restart is told apart.
    async with home_assistant_down(hass, clock_hands, init_integration, timedelta(minutes=5)):
        port.unplug()
        port.plug_in(Car(max_current_a=16))
        port.authorise(port.badge)
    assert start(hass) > visitor_start


async def test_sessions_are_followed_with_every_sensor_disabled(
    hass: HomeAssistant,
    clock_hands: TickingDateTimeFactory,
    clock: ManualClock,
    simulator: Simulator,
    init_integration: MockConfigEntry,
) -> None:
    # No sensor shows the session or the energy counter: the Events entity still tells each session that ends.
    await keep_entities(hass, init_integration, lambda entity: entity.domain not in ("sensor", "binary_sensor"))
    assert hass.states.get(ENERGY) is None
    port = simulator.charger.port(1)
    port.plug_in(Car(max_current_a=16))
    await advance(hass, clock_hands, 2)
    clock.advance(600)  # ten minutes at 11 kW
    await advance(hass, clock_hands, 600, step=60)
    port.unplug()
    await advance(hass, clock_hands, 2)
    event = hass.states.get(EVENTS)
    assert event is not None
    assert event.attributes[ATTR_EVENT_TYPE] == "session_ended"
    assert event.attributes["energy"] == 1.839  # kWh, in whole Wh as the charger counts
    assert event.attributes["duration"] == 10


@pytest.mark.parametrize("dual_port", [False, True], ids=["single_port", "dual_port"])
@pytest.mark.usefixtures("dual_port")
async def test_each_update_feeds_each_port_s_session_once(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    # The three session sensors are enabled: they show the session, they do not each feed it.
    runtime = init_integration.runtime_data
    ports = runtime.charger.ports
    with patch.object(SessionTracker, "observe", autospec=True, side_effect=SessionTracker.observe) as observe:
        for coordinator in (runtime.realtime, runtime.mode3, runtime.ems_control):
            assert coordinator is not None
            observe.reset_mock()
            coordinator.async_set_updated_data(coordinator.data)
            assert observe.call_count == len(ports), coordinator.name


def stored_session(hass_storage: dict[str, Any], entry: MockConfigEntry) -> dict[str, Any]:
    return hass_storage[f"enovates.{entry.entry_id}.sessions"]["data"]["sessions"]["1"]  # type: ignore[no-any-return]


def stored_time(hass_storage: dict[str, Any], entry: MockConfigEntry, field: str) -> datetime:
    stored = dt_util.parse_datetime(stored_session(hass_storage, entry)[field])
    assert stored is not None
    return stored


async def test_sessions_are_stored_as_they_begin_run_and_end(
    hass: HomeAssistant,
    clock_hands: TickingDateTimeFactory,
    simulator: Simulator,
    init_integration: MockConfigEntry,
    charging_ten_minutes: datetime,
    hass_storage: dict[str, Any],
) -> None:
    began = stored_time(hass_storage, init_integration, "start")
    assert began.replace(microsecond=0) == charging_ten_minutes  # as the timestamp sensor shows it
    await advance(hass, clock_hands, 900, step=60)  # every quarter of an hour while it runs
    assert stored_time(hass_storage, init_integration, "last_seen") >= charging_ten_minutes + timedelta(minutes=15)
    simulator.charger.port(1).unplug()
    await advance(hass, clock_hands, 2)
    ended = stored_session(hass_storage, init_integration)
    assert ended["end"] is not None  # written when it ended
    await advance(hass, clock_hands, 900, step=60)
    assert stored_session(hass_storage, init_integration) == ended


async def test_a_session_is_stored_when_home_assistant_stops(
    hass: HomeAssistant,
    clock_hands: TickingDateTimeFactory,
    init_integration: MockConfigEntry,
    charging_ten_minutes: datetime,
    hass_storage: dict[str, Any],
) -> None:
    clock_hands.move_to(clock_hands() + timedelta(minutes=3))
    hass.bus.async_fire(EVENT_HOMEASSISTANT_STOP)  # Home Assistant stops without unloading the entry
    await advance(hass, clock_hands, 1)  # the write it asked for
    assert stored_time(hass_storage, init_integration, "last_seen") >= charging_ten_minutes + timedelta(minutes=13)


async def test_the_store_wins_over_a_sensor_s_restore_data(
    hass: HomeAssistant, simulator: Simulator, mock_config_entry: MockConfigEntry, hass_storage: dict[str, Any]
) -> None:
    # Both kept: the Store is this release's (the restore data an older release's, from before it).
    earlier = (dt_util.utcnow() - timedelta(days=1)).replace(microsecond=0)

    def ended_session(start: datetime, energy_wh: int) -> dict[str, object]:
        end = (start + timedelta(hours=1)).isoformat()
        return {"start": start.isoformat(), "start_wh": 0, "last_wh": energy_wh, "last_seen": end, "end": end}

    hass_storage[f"enovates.{mock_config_entry.entry_id}.sessions"] = {
        "version": 1,
        "minor_version": 1,
        "key": f"enovates.{mock_config_entry.entry_id}.sessions",
        "data": {"sessions": {"1": ended_session(earlier, 5000)}},
    }
    older = ended_session(earlier - timedelta(days=1), 9000)
    mock_restore_cache_with_extra_data(hass, [(State(ENERGY, "9.0"), {"session": older})])
    mock_config_entry.add_to_hass(hass)
    await setup_entry(hass, mock_config_entry)
    assert start(hass) == earlier
    assert float(value(hass, ENERGY)) == 5.0
