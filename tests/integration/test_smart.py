"""Smart charging through Home Assistant and the simulated charger, with a simulated household.

The household sets the grid sensor each simulated second from the panels, the house and what the simulated car
draws, as a meter at the grid connection would. The long days are in tests/smart/ (the controller alone); these
runs prove the glue: entities, options, the write path, take-over, restarts, a missing grid reading, dual port.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
import logging
from unittest.mock import patch

from freezegun.api import TickingDateTimeFactory
from homeassistant.components.select import DOMAIN as SELECT_DOMAIN
from homeassistant.components.switch import DOMAIN as SWITCH_DOMAIN, SERVICE_TURN_OFF, SERVICE_TURN_ON
from homeassistant.const import ATTR_ENTITY_ID, EVENT_STATE_CHANGED, STATE_UNAVAILABLE, STATE_UNKNOWN
from homeassistant.core import Event, EventStateChangedData, HomeAssistant, State, callback
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, mock_restore_cache_with_extra_data

from custom_components.enovates.const import DOMAIN
from custom_components.enovates.smart.const import (
    CONF_BATTERY_SENSOR,
    CONF_GRID_EXPORT_SENSOR,
    CONF_GRID_SENSOR,
    CONF_HYSTERESIS,
    CONF_MAX_CURRENT,
    CONF_SMART_CHARGING,
    CONF_START_DELAY,
    CONF_STOP_DELAY,
)
from custom_components.enovates.smart.controller import ChargingMode
from custom_components.enovates.smart.manager import month_of, power_w
from enovates_simulator import Car, EmsMode, Simulator

from ..helpers import (
    MODE,
    PEAK,
    QUARTER,
    REASON,
    advance,
    device_id,
    home_assistant_down,
    keep_entities,
    limit_ma,
    maps_read,
    select_mode,
    set_number,
    state,
)

GRID = "sensor.grid_power"
EXPORT = "sensor.grid_export"
BATTERY = "sensor.home_battery_power"
MONTH = "sensor.eno_one_monthly_peak"
LIMIT = "number.eno_one_ems_current_limit"
POWER = {"unit_of_measurement": "W", "device_class": "power"}


@pytest.fixture
def options() -> dict[str, object]:
    """Smart charging with a grid sensor, and short delays so that a run takes a few simulated minutes."""
    return {CONF_GRID_SENSOR: GRID, CONF_START_DELAY: 10, CONF_STOP_DELAY: 30, CONF_HYSTERESIS: 500}


@pytest.fixture
def car() -> Car:
    """A car that can take 16 A per phase is charging (no limit)..."""
    return Car(max_current_a=16, energy_wanted_wh=100_000)


@pytest.fixture
def car_on_every_port() -> bool:
    """... on every port."""
    return True


class Household:
    """A house with panels around the simulated charger: the grid sensor follows them and the cars.

    The meter reports every `interval` s (a P1 meter: every 1, 2 or 10 s); `imports` keeps the import of each second
    as the meter's own register counts it.
    """

    def __init__(self, hass: HomeAssistant, hands: TickingDateTimeFactory, simulator: Simulator) -> None:
        self.hass, self.hands, self.simulator = hass, hands, simulator
        self.pv_w = 0.0
        self.house_w = 500.0
        self.interval = 1
        self.seconds = 0
        self.meter: Callable[[float], None] = lambda grid: hass.states.async_set(GRID, str(round(grid)), POWER)
        self.imports: list[float] = []

    def cars_w(self) -> float:
        charger = self.simulator.charger
        return float(sum(sum(charger.read_port(number).powers_w) for number in charger.ports))

    async def run(self, seconds: int) -> None:
        for _ in range(seconds):
            grid = self.house_w + self.cars_w() - self.pv_w
            self.imports.append(max(grid, 0.0))
            if self.seconds % self.interval == 0:
                self.meter(grid)
            self.seconds += 1
            await advance(self.hass, self.hands, 1)


@pytest.fixture
def household(hass: HomeAssistant, clock_hands: TickingDateTimeFactory, simulator: Simulator) -> Household:
    return Household(hass, clock_hands, simulator)


def to_next_quarter(hands: TickingDateTimeFactory) -> None:
    """Jump to the start of the next quarter hour, so that a run of 900 s measures a whole one."""
    now = dt_util.utcnow()
    hands.move_to(now + timedelta(seconds=900 - now.timestamp() % 900))


async def test_manual_by_default_changes_nothing(
    hass: HomeAssistant, household: Household, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    household.pv_w = 9000
    await household.run(30)
    assert state(hass, MODE) == "manual"
    assert hass.states.get(MODE).attributes["options"] == ["manual", "fast", "solar", "solar_minimum", "off"]  # type: ignore[union-attr]
    assert state(hass, REASON) == "manual"
    assert state(hass, PEAK) == "0.0"
    assert simulator.stats.writes == []
    assert float(state(hass, QUARTER)) > 0  # the quarter is measured all the same


async def test_manual_decides_nothing_and_writes_no_state_that_did_not_change(
    hass: HomeAssistant, household: Household, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    # Issue 27: in Manual smart charging is idle: no decision, and its entities write a state only when it changed.
    # The quarter sensor follows the meter (its average moves), the others stay as they are.
    household.pv_w = 9000
    await household.run(3)
    smart = init_integration.runtime_data.smart
    assert smart is not None
    written: dict[str, int] = {}

    @callback
    def count(event: Event[EventStateChangedData]) -> None:
        written[event.data["entity_id"]] = written.get(event.data["entity_id"], 0) + 1

    with patch.object(smart.controller, "step", wraps=smart.controller.step) as step:
        unsubscribe = hass.bus.async_listen(EVENT_STATE_CHANGED, count)
        reported = hass.states.get(REASON)
        assert reported is not None
        await household.run(10)
        assert QUARTER not in written  # exporting: the quarter's import stays 0
        household.pv_w = 0  # the sun goes: the import, and the quarter's average, rise every second
        await household.run(10)
        unsubscribe()
        assert step.call_count == 0
    assert REASON not in written
    assert MODE not in written
    assert PEAK not in written
    assert hass.states.get(REASON).last_reported == reported.last_reported  # type: ignore[union-attr]
    assert written[QUARTER] >= 9
    assert state(hass, REASON) == "manual"
    assert simulator.stats.writes == []
    # Picked, a mode decides again.
    with patch.object(smart.controller, "step", wraps=smart.controller.step) as step:
        await select_mode(hass, "fast")
        await household.run(2)
        assert step.call_count > 0
    assert state(hass, REASON) == "fast"


async def test_the_moves_made_in_manual_count_for_the_budget(
    hass: HomeAssistant, household: Household, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    # In Manual the user's own moves (here: the charging-allowed switch, five times) still spend the hour's budget,
    # so that Fast picked after them waits rather than starting the car a sixth and seventh time.
    for _ in range(2):
        await hass.services.async_call(
            SWITCH_DOMAIN, SERVICE_TURN_OFF, {ATTR_ENTITY_ID: "switch.eno_one_charging_allowed"}, blocking=True
        )
        await household.run(4)
        await hass.services.async_call(
            SWITCH_DOMAIN, SERVICE_TURN_ON, {ATTR_ENTITY_ID: "switch.eno_one_charging_allowed"}, blocking=True
        )
        await household.run(4)
    await hass.services.async_call(
        SWITCH_DOMAIN, SERVICE_TURN_OFF, {ATTR_ENTITY_ID: "switch.eno_one_charging_allowed"}, blocking=True
    )
    await household.run(4)
    assert simulator.charger.read_port(1).contactor_closed is False
    await select_mode(hass, "fast")
    await household.run(8)
    assert simulator.charger.read_port(1).contactor_closed is False
    assert state(hass, REASON) == "contactor_budget"


async def test_solar_follows_the_surplus_and_pauses_under_a_long_cloud(
    hass: HomeAssistant, household: Household, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    household.pv_w = 9000  # 8.5 kW to spare: 12 A on three phases
    await household.run(2)
    await select_mode(hass, "solar")
    await household.run(20)
    assert state(hass, REASON) == "surplus"
    assert limit_ma(simulator) in (11000, 12000)
    await household.run(20)
    assert limit_ma(simulator) in (11000, 12000)
    # a cloud: 3 kW is less than the 4.1 kW the car needs at 6 A; it holds the minimum, then pauses
    household.pv_w = 3000
    await household.run(10)
    assert limit_ma(simulator) == 6000
    assert state(hass, REASON) == "stopping"
    await household.run(30)
    assert limit_ma(simulator) == 0
    assert state(hass, REASON) == "no_surplus"
    assert simulator.charger.read_port(1).contactor_closed is False
    # the sun is back: after the start delay, it charges again
    household.pv_w = 9000
    await household.run(5)
    assert state(hass, REASON) == "waiting_to_start"
    await household.run(15)
    assert limit_ma(simulator) in (11000, 12000)


async def test_fast_off_and_solar_minimum(
    hass: HomeAssistant, household: Household, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    await select_mode(hass, "off")
    await household.run(2)
    assert (limit_ma(simulator), state(hass, REASON)) == (0, "off")
    await household.run(5)
    await select_mode(hass, "fast")
    await household.run(2)
    assert (limit_ma(simulator), state(hass, REASON)) == (-1, "fast")  # the charger's maximum: no limit
    await household.run(5)
    await select_mode(hass, "solar_minimum")  # no sun at all: the minimum (on a reading from after the pick)
    await household.run(4)
    assert (limit_ma(simulator), state(hass, REASON)) == (6000, "minimum")


async def test_the_slider_the_switch_and_the_action_take_over(
    hass: HomeAssistant, household: Household, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    await select_mode(hass, "off")
    await household.run(2)
    await set_number(hass, LIMIT, 10)
    assert state(hass, MODE) == "manual"
    await household.run(10)
    assert limit_ma(simulator) == 10000  # the controller leaves it alone
    assert state(hass, REASON) == "manual"

    await select_mode(hass, "fast")
    await household.run(2)
    await hass.services.async_call(
        SWITCH_DOMAIN, SERVICE_TURN_OFF, {ATTR_ENTITY_ID: "switch.eno_one_charging_allowed"}, blocking=True
    )
    assert state(hass, MODE) == "manual"

    await select_mode(hass, "fast")
    await household.run(2)
    await hass.services.async_call(
        DOMAIN, "set_current_limit", {"device_id": device_id(hass), "current": 8}, blocking=True
    )
    assert state(hass, MODE) == "manual"
    await household.run(10)
    assert limit_ma(simulator) == 8000


async def test_a_missing_grid_reading_holds_the_limit_then_pauses(
    hass: HomeAssistant, household: Household, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    household.pv_w = 9000
    await select_mode(hass, "solar")
    await household.run(30)
    held = limit_ma(simulator)
    assert held >= 11000
    household.meter = lambda _grid: hass.states.async_set(GRID, STATE_UNAVAILABLE)
    await household.run(50)
    assert limit_ma(simulator) == held
    assert state(hass, REASON) == "grid_missing"
    await household.run(15)
    assert limit_ma(simulator) == 0
    # a reading that stops coming is as good as missing: back, then frozen for over a minute
    household.meter = lambda grid: hass.states.async_set(GRID, str(round(grid)), POWER)
    await household.run(20)
    assert limit_ma(simulator) >= 11000
    household.meter = lambda _grid: None
    await household.run(130)
    assert limit_ma(simulator) == 0
    assert state(hass, REASON) == "grid_missing"


async def test_the_peak_guard_gives_way_to_the_house(
    hass: HomeAssistant,
    household: Household,
    clock_hands: TickingDateTimeFactory,
    simulator: Simulator,
    init_integration: MockConfigEntry,
) -> None:
    await set_number(hass, PEAK, 8.0)
    assert state(hass, PEAK) == "8.0"
    # From a quarter's start: a quarter ending within the run would hand the car the next one's whole budget.
    to_next_quarter(clock_hands)
    await household.run(1)
    await select_mode(hass, "fast")
    await household.run(10)
    # 11 kW and more, minus 0.5 kW of house: the guard holds the car near 7.5 kW
    assert 10000 <= limit_ma(simulator) <= 11000
    assert state(hass, REASON) == "peak_guard"
    household.house_w = 3500  # the oven: the car gives way within seconds
    await household.run(8)
    assert limit_ma(simulator) <= 7000
    await set_number(hass, PEAK, 0)  # off: Fast again
    await household.run(6)
    assert limit_ma(simulator) == -1
    assert state(hass, REASON) == "fast"


def limits_each_second(household: Household, simulator: Simulator) -> list[int]:
    """Wrap the household's meter so that it notes port 1's limit each second; return the notes."""
    notes: list[int] = []
    meter = household.meter

    def noting(grid: float) -> None:
        notes.append(limit_ma(simulator))
        meter(grid)

    household.meter = noting
    return notes


@pytest.mark.parametrize(("interval", "drop"), [(2, 1), (2, 3), (10, 1)])
async def test_solar_picked_while_the_house_load_drops_never_starts_the_car(
    hass: HomeAssistant,
    household: Household,
    clock_hands: TickingDateTimeFactory,
    simulator: Simulator,
    init_integration: MockConfigEntry,
    interval: int,
    drop: int,
) -> None:
    # Issue 21, case 1: a car charging at 16 A, no sun, a 7 kW peak limit; Solar is picked as a quarter starts, the
    # house's 9 kW dropping to 2 kW `drop` seconds later. It went 0 -> 6 A -> 0 within 30 s: the guard paused the car
    # on a reading from before the drop, and Solar, still thinking it ran, started it again without any surplus.
    # Solar now lets it run out its stop delay (or stay paused), and never starts it.
    household.interval = interval
    await set_number(hass, PEAK, 7.0)
    household.house_w = 9000
    to_next_quarter(clock_hands)
    await household.run(interval)
    notes = limits_each_second(household, simulator)
    await select_mode(hass, "solar")
    await household.run(drop)
    household.house_w = 2000
    await household.run(50)
    assert limit_ma(simulator) == 0
    assert state(hass, REASON) == "no_surplus"
    paused = notes.index(0) if 0 in notes else len(notes)
    assert all(limit == 0 for limit in notes[paused:])  # once paused, never started again


async def test_the_contactor_moves_at_most_six_times_an_hour_across_modes(
    hass: HomeAssistant, household: Household, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    # Issue 21, case 2: one budget for every mode, counted from the charger's contactor, whoever moved it. Off and
    # Fast by turns: three pauses and two starts (and the start of the car plugged in) fill the hour; the next start
    # waits, and the reason says so. A stop always happens.
    for mode in ("off", "fast", "off", "fast", "off"):
        await select_mode(hass, mode)
        await household.run(8)
    assert simulator.charger.read_port(1).contactor_closed is False
    await select_mode(hass, "fast")
    await household.run(8)
    assert limit_ma(simulator) == 0
    assert simulator.charger.read_port(1).contactor_closed is False
    assert state(hass, REASON) == "contactor_budget"
    await select_mode(hass, "off")
    await household.run(3)
    assert state(hass, REASON) == "off"


@pytest.mark.parametrize("interval", [2, 10])
async def test_a_house_alone_over_the_limit_pauses_the_car(
    hass: HomeAssistant,
    household: Household,
    clock_hands: TickingDateTimeFactory,
    simulator: Simulator,
    init_integration: MockConfigEntry,
    interval: int,
) -> None:
    # Issue 21, case 3: 8 kW of house under a 7 kW limit from a quarter's start: nothing is left for the car. It
    # pauses within seconds and stays paused while the house alone is over the limit (it still makes its own peak).
    household.interval = interval
    await set_number(hass, PEAK, 7.0)
    await select_mode(hass, "fast")
    to_next_quarter(clock_hands)
    household.house_w = 8000
    await household.run(2 * interval + 12)
    assert limit_ma(simulator) == 0
    assert simulator.charger.read_port(1).contactor_closed is False
    await household.run(60)
    assert limit_ma(simulator) == 0
    assert state(hass, REASON) == "peak_guard"


@pytest.mark.parametrize("interval", [2, 10])
async def test_a_gap_in_a_quarter_is_counted_like_a_meter(
    hass: HomeAssistant,
    household: Household,
    clock_hands: TickingDateTimeFactory,
    simulator: Simulator,
    init_integration: MockConfigEntry,
    interval: int,
) -> None:
    # Issue 21, case 4: 90 s without a reading from minute 5 of a quarter. The car (Fast, under a 20 kW limit) holds
    # 60 s, then goes to its minimum; the quarter's average counts the gap as the house's last import and what the
    # charger drew, not as nothing (it read 12.6% high, the time without readings left out).
    household.interval = interval
    await set_number(hass, PEAK, 20.0)
    await select_mode(hass, "fast")
    household.house_w = 1000
    to_next_quarter(clock_hands)
    household.imports.clear()
    await household.run(300)
    meter = household.meter
    household.meter = lambda _grid: hass.states.async_set(GRID, STATE_UNAVAILABLE)
    await household.run(90)
    household.meter = meter
    await household.run(90)
    true = sum(household.imports) / len(household.imports)
    assert float(state(hass, QUARTER)) * 1000 == pytest.approx(true, rel=0.01)
    assert min(household.imports[300:390]) < 6000  # the car went to its minimum in the gap


async def test_quarter_and_month_peak(
    hass: HomeAssistant, household: Household, clock_hands: TickingDateTimeFactory, init_integration: MockConfigEntry
) -> None:
    smart = init_integration.runtime_data.smart
    assert smart is not None
    assert state(hass, QUARTER) == STATE_UNAVAILABLE
    assert state(hass, MONTH) == STATE_UNAVAILABLE
    household.house_w = 2000  # and the car's 11 kW
    to_next_quarter(clock_hands)
    await household.run(901)
    assert float(state(hass, MONTH)) == pytest.approx(13.0, abs=0.2)
    assert float(state(hass, QUARTER)) == pytest.approx(13.0, abs=0.2)
    # a quarter lower does not lower the month's peak; the first quarter of a new month starts it afresh
    start = smart.controller.quarter.start
    assert start is not None
    smart._close_quarter((start, 1000.0))
    assert smart.month_peak is not None
    assert smart.month_peak[1] == pytest.approx(13000, abs=200)
    smart._close_quarter((start + 40 * 86400, 1000.0))
    assert smart.month_peak == (month_of(start + 40 * 86400), 1000.0)
    # the peak is kept for this month only
    smart.month_peak = None
    smart.restore_month_peak("1999-01", 9000)
    assert smart.month_peak is None
    smart.restore_month_peak(month_of(dt_util.utcnow().timestamp()), 9000)
    smart.restore_month_peak(month_of(dt_util.utcnow().timestamp()), 8000)
    assert smart.month_peak is not None
    assert smart.month_peak[1] == 9000


async def test_a_restart_resumes_the_mode_the_peak_limit_and_the_month_peak(
    hass: HomeAssistant,
    household: Household,
    clock_hands: TickingDateTimeFactory,
    simulator: Simulator,
    init_integration: MockConfigEntry,
) -> None:
    household.pv_w = 9000
    await set_number(hass, PEAK, 20)
    await select_mode(hass, "solar")
    smart = init_integration.runtime_data.smart
    assert smart is not None
    smart.restore_month_peak(month_of(dt_util.utcnow().timestamp()), 12345.0)  # as if a quarter had closed
    await household.run(20)
    assert limit_ma(simulator) in (11000, 12000)
    month_peak = state(hass, MONTH)
    assert float(month_peak) == pytest.approx(12.345)
    async with home_assistant_down(hass, clock_hands, init_integration, timedelta(minutes=2)):
        household.pv_w = 3000  # a cloud while Home Assistant is down
    assert state(hass, MODE) == "solar"
    assert state(hass, PEAK) == "20.0"
    assert state(hass, MONTH) == month_peak
    await household.run(10)
    assert limit_ma(simulator) == 6000  # the surplus is short: it holds the minimum, then pauses
    await household.run(35)
    assert limit_ma(simulator) == 0


async def test_restore_data_that_is_not_ours_is_ignored(
    hass: HomeAssistant, simulator: Simulator, mock_config_entry: MockConfigEntry
) -> None:
    mock_restore_cache_with_extra_data(
        hass,
        [
            (State(MODE, "turbo"), {}),
            (State(PEAK, "0"), {"native_value": 0, "native_unit_of_measurement": "kW"}),
            (State(MONTH, "3"), {"month": 5}),
        ],
    )
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    assert state(hass, MODE) == "manual"
    assert state(hass, PEAK) == "0.0"
    assert state(hass, MONTH) == STATE_UNAVAILABLE


@pytest.mark.parametrize("dual_port", [True])
@pytest.mark.usefixtures("dual_port")
async def test_two_ports_share_the_surplus(
    hass: HomeAssistant, household: Household, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    household.pv_w = 13000  # 12.5 kW to spare: enough for both cars at 9 A
    await select_mode(hass, "solar", "select.eno_one_port_1_charging_mode")
    await select_mode(hass, "solar", "select.eno_one_port_2_charging_mode")
    await household.run(40)
    assert limit_ma(simulator, 1) in (8000, 9000)
    assert limit_ma(simulator, 2) in (8000, 9000)
    household.pv_w = 6000  # enough for one car: port 2 gives way after the stop delay, port 1 takes it all
    await household.run(50)
    assert limit_ma(simulator, 2) == 0
    assert 6000 <= limit_ma(simulator, 1) <= 8000


@pytest.mark.parametrize(
    "options",
    [{CONF_GRID_SENSOR: GRID, CONF_GRID_EXPORT_SENSOR: EXPORT, CONF_BATTERY_SENSOR: BATTERY, CONF_START_DELAY: 0}],
)
@pytest.mark.usefixtures("options")
async def test_import_and_export_sensors_and_a_home_battery(
    hass: HomeAssistant, household: Household, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    def meter(grid: float, battery: float = 0.0) -> None:
        hass.states.async_set(GRID, str(max(grid, 0) / 1000), {"unit_of_measurement": "kW"})
        hass.states.async_set(EXPORT, str(max(-grid, 0)), POWER)
        hass.states.async_set(BATTERY, str(battery), POWER)

    household.meter = meter
    household.pv_w = 9000
    await select_mode(hass, "solar")
    await household.run(20)
    assert limit_ma(simulator) in (11000, 12000)
    # the battery discharges 3 kW into the house: that is no surplus
    household.meter = lambda grid: meter(grid - 3000, 3000)
    await household.run(10)
    assert limit_ma(simulator) in (11000, 12000)

    def battery_lost(grid: float) -> None:
        meter(grid)
        hass.states.async_set(BATTERY, STATE_UNKNOWN)

    household.meter = battery_lost
    await household.run(70)
    assert state(hass, REASON) == "grid_missing"


@pytest.mark.parametrize("options", [{CONF_SMART_CHARGING: False, CONF_GRID_SENSOR: GRID}])
@pytest.mark.usefixtures("options")
async def test_smart_charging_turned_off(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    assert hass.states.get(MODE) is None
    assert hass.states.get(REASON) is None
    assert hass.states.get(PEAK) is None
    await set_number(hass, LIMIT, 10)  # the slider as ever
    assert limit_ma(simulator) == 10000


@pytest.mark.parametrize("options", [{}])
@pytest.mark.usefixtures("options")
async def test_without_a_grid_sensor_only_fast_off_and_manual(
    hass: HomeAssistant, household: Household, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    assert hass.states.get(MODE).attributes["options"] == ["manual", "fast", "off"]  # type: ignore[union-attr]
    assert hass.states.get(PEAK) is None
    assert hass.states.get(QUARTER) is None
    await select_mode(hass, "off")
    await household.run(3)
    assert limit_ma(simulator) == 0


@pytest.mark.parametrize("ems_control", [False])
@pytest.mark.usefixtures("ems_control")
async def test_no_smart_charging_without_ems_control(hass: HomeAssistant, init_integration: MockConfigEntry) -> None:
    assert init_integration.runtime_data.smart is None
    assert hass.states.get(MODE) is None


async def test_a_refused_write_is_tried_again(
    hass: HomeAssistant,
    household: Household,
    simulator: Simulator,
    init_integration: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Monitoring Only: the charger acknowledges each write and ignores it (until the next minute's check notices)
    simulator.charger.ems_mode = EmsMode.MONITORING
    await select_mode(hass, "off")
    with caplog.at_level(logging.DEBUG):
        await household.run(12)
        simulator.charger.ems_mode = EmsMode.FULL
        await household.run(6)
    assert limit_ma(simulator) == 0
    failures = [record for record in caplog.records if "could not set the limit" in record.getMessage()]
    assert len(failures) >= 2  # tried again after the write interval, and said so once
    assert [record.levelno for record in failures] == [logging.WARNING] + [logging.DEBUG] * (len(failures) - 1)
    assert "Smart charging sets the limit of ENO one port 1 again" in caplog.text


@pytest.mark.parametrize("ems_mode", [EmsMode.FULL])
@pytest.mark.usefixtures("ems_mode")
async def test_nothing_is_written_once_the_charger_no_longer_allows_it(
    hass: HomeAssistant, household: Household, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    simulator.charger.ems_mode = EmsMode.MONITORING
    await household.run(61)
    assert state(hass, MODE) == STATE_UNAVAILABLE
    init_integration.runtime_data.smart.set_mode(1, ChargingMode.OFF)  # type: ignore[union-attr]
    simulator.stats.reset()
    await household.run(10)
    assert simulator.stats.writes == []


async def test_no_decision_on_half_a_picture(
    hass: HomeAssistant, household: Household, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    simulator.faults.exception(maps=["measurements"])
    await household.run(2)
    await select_mode(hass, "off")
    await household.run(10)
    assert limit_ma(simulator) == -1  # nothing written while the car's power is unknown
    simulator.faults.clear()
    await household.run(3)
    assert limit_ma(simulator) == 0


async def test_without_mode3_the_cable_lock_tells_a_car_is_there(
    hass: HomeAssistant, household: Household, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    simulator.faults.exception(maps=["mode3"])
    await household.run(12)
    await select_mode(hass, "solar_minimum")
    await household.run(3)
    assert state(hass, REASON) == "minimum"
    simulator.charger.port(1).unplug()
    await household.run(3)
    assert state(hass, REASON) == "no_car"


async def test_the_maps_it_reads_are_polled_while_it_steers(
    hass: HomeAssistant, household: Household, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    await keep_entities(hass, init_integration, lambda entity: entity.domain == SELECT_DOMAIN)
    # Without an entity: the EMS limit (for the put-back) and, while the car is there, its energy (for its session).
    simulator.stats.reset()
    await household.run(3)
    assert maps_read(simulator) == {"ems_limit", "measurements"}
    await select_mode(hass, "off")
    await household.run(3)
    assert {"state", "measurements", "ems_limit"} <= maps_read(simulator)
    assert limit_ma(simulator) == 0
    await select_mode(hass, "manual")  # nothing steered: back to what the rest wants
    await household.run(2)
    simulator.stats.reset()
    await household.run(3)
    assert maps_read(simulator) == {"ems_limit", "measurements"}


def test_power_readings() -> None:
    now = dt_util.utcnow()

    def reading(value: str, unit: str | None = "W", age: float = 0) -> float | None:
        attributes = {} if unit is None else {"unit_of_measurement": unit}
        when = now - timedelta(seconds=age)
        return power_w(State(GRID, value, attributes, last_changed=when, last_reported=when, last_updated=when), now)

    assert reading("1500") == 1500
    assert reading("1.5", "kW") == 1500
    assert reading("1500", None) == 1500  # no unit: W
    assert reading("1500", "A") is None
    assert reading("n/a") is None
    assert reading(STATE_UNKNOWN) is None
    assert reading("1500", age=61) is None
    assert power_w(None, now) is None


async def test_options_flow(hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry) -> None:
    result = await hass.config_entries.options.async_init(init_integration.entry_id)
    assert result["type"] is FlowResultType.FORM
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {
            CONF_SMART_CHARGING: True,
            CONF_GRID_EXPORT_SENSOR: EXPORT,
            CONF_START_DELAY: 60,
            CONF_STOP_DELAY: 300,
            CONF_HYSTERESIS: 400,
        },
    )
    assert result["errors"] == {CONF_GRID_SENSOR: "grid_sensor_required"}
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {
            CONF_SMART_CHARGING: True,
            CONF_GRID_SENSOR: GRID,
            CONF_GRID_EXPORT_SENSOR: GRID,
            CONF_START_DELAY: 60,
            CONF_STOP_DELAY: 300,
            CONF_HYSTERESIS: 400,
        },
    )
    assert result["errors"] == {CONF_GRID_EXPORT_SENSOR: "same_sensor"}
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {
            CONF_SMART_CHARGING: True,
            CONF_GRID_SENSOR: GRID,
            CONF_START_DELAY: 60,
            CONF_STOP_DELAY: 300,
            CONF_HYSTERESIS: 400,
            CONF_MAX_CURRENT: 20,
        },
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert init_integration.options[CONF_MAX_CURRENT] == 20
    smart = init_integration.runtime_data.smart
    assert smart is not None  # reloaded with the new options
    assert smart.controller.settings.max_current_a == 20
    assert smart.controller.settings.hysteresis_w == 400


@pytest.mark.parametrize("options", [{}])
@pytest.mark.usefixtures("options")
async def test_options_without_a_grid_sensor_are_saved(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    # No meter: neither the grid nor the export sensor is given, which is no "same sensor" twice.
    result = await hass.config_entries.options.async_init(init_integration.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {CONF_SMART_CHARGING: False, CONF_START_DELAY: 120, CONF_STOP_DELAY: 600, CONF_HYSTERESIS: 300},
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert init_integration.options == {
        CONF_SMART_CHARGING: False,
        CONF_START_DELAY: 120,
        CONF_STOP_DELAY: 600,
        CONF_HYSTERESIS: 300,
    }
    assert init_integration.runtime_data.smart is None  # reloaded without smart charging
