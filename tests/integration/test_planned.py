"""Planned charging through Home Assistant and the simulated charger (issue 25): the glue around plan_rule.py.

The price sensor is set as the integrations set theirs (ENTSO-E's attributes; Nord Pool's and Tibber's services
answered by stand-ins); the plans themselves are judged in tests/smart/. These runs prove: the entities and their
restore, the options (a sensor that is no price sensor, an unknown unit, a state of charge without a capacity), the
plan drawn on the Plan sensor and followed by the charger, and bad input (the sensor unavailable, a ready-by time
already past, a state of charge sensor).
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
import logging
from pathlib import Path
from typing import Any

from freezegun.api import TickingDateTimeFactory
from homeassistant.components.number import ATTR_VALUE, DOMAIN as NUMBER_DOMAIN, SERVICE_SET_VALUE
from homeassistant.components.time import ATTR_TIME, DOMAIN as TIME_DOMAIN, SERVICE_SET_VALUE as SET_TIME
from homeassistant.const import ATTR_ENTITY_ID, STATE_UNAVAILABLE, STATE_UNKNOWN
from homeassistant.core import HomeAssistant, ServiceCall, ServiceResponse, State, SupportsResponse
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import entity_registry as er
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
    mock_restore_cache_with_extra_data,
)
import yaml

from custom_components.enovates.const import NO_EMS_LIMIT
from custom_components.enovates.smart.const import (
    CONF_BATTERY_CAPACITY,
    CONF_GRID_SENSOR,
    CONF_PRICE_SENSOR,
    CONF_SMART_CHARGING,
    CONF_SOC_SENSOR,
    CONF_SOC_TARGET,
)
from custom_components.enovates.smart.prices import PriceSource, identify_price_sensor, parse_price_attributes
from enovates_simulator import Car, Simulator

from ..helpers import MODE, REASON, advance, limit_ma, select_mode, setup_entry, state

PRICES = "sensor.day_ahead_price"
GRID = "sensor.grid_power"
SOC = "sensor.car_battery"
READY_BY = "time.eno_one_ready_by"
ENERGY = "number.eno_one_energy_to_add"
PLAN = "sensor.eno_one_plan"
QUARTER_S = 900


@pytest.fixture
def options() -> dict[str, object]:
    """Smart charging with a grid and a price sensor."""
    return {CONF_GRID_SENSOR: GRID, CONF_PRICE_SENSOR: PRICES}


@pytest.fixture
def car() -> Car:
    """A car that takes 16 A per phase and wants far more than any plan gives it."""
    return Car(max_current_a=16, energy_wanted_wh=100_000)


def local_midnight() -> datetime:
    return dt_util.start_of_local_day()


def entsoe_attributes(start: datetime, *, cheap: tuple[int, int] = (26, 29), unit: str = "EUR/kWh") -> dict[str, Any]:
    """Return ENTSO-E's attributes: two days of quarter prices from `start`, cheapest from hour to hour (of both)."""
    entries = []
    for quarter in range(2 * 96):
        hour = quarter // 4
        price = 0.05 if cheap[0] <= hour < cheap[1] else 0.30
        entries.append({"time": (start + timedelta(minutes=15 * quarter)).isoformat(), "price": price})
    return {"prices_today": entries[:96], "prices_tomorrow": entries[96:], "unit_of_measurement": unit}


def set_prices(hass: HomeAssistant, attributes: dict[str, Any]) -> None:
    hass.states.async_set(PRICES, "0.3", attributes)


@pytest.fixture(autouse=True)
def price_sensor(hass: HomeAssistant) -> None:
    """The price sensor as ENTSO-E keeps it (today and tomorrow published), there before the charger is set up."""
    set_prices(hass, entsoe_attributes(local_midnight()))
    hass.states.async_set(GRID, "500", {"unit_of_measurement": "W", "device_class": "power"})


async def to_local(hands: TickingDateTimeFactory, hass: HomeAssistant, hour: int) -> datetime:
    """Move the clock forward to the next `hour`:00 local, a second at a time for the last few seconds."""
    now = dt_util.now()
    target = now.replace(hour=hour, minute=0, second=0, microsecond=0)
    if target <= now:
        target += timedelta(days=1)
    hands.move_to(target - timedelta(seconds=3))
    await advance(hass, hands, 3)
    return target


async def set_energy(hass: HomeAssistant, kwh: float) -> None:
    await hass.services.async_call(
        NUMBER_DOMAIN, SERVICE_SET_VALUE, {ATTR_ENTITY_ID: ENERGY, ATTR_VALUE: kwh}, blocking=True
    )


async def set_ready_by(hass: HomeAssistant, at: time) -> None:
    await hass.services.async_call(TIME_DOMAIN, SET_TIME, {ATTR_ENTITY_ID: READY_BY, ATTR_TIME: at}, blocking=True)


def plan_state(hass: HomeAssistant) -> State:
    found = hass.states.get(PLAN)
    assert found is not None
    return found


async def test_a_plan_is_drawn_and_followed(
    hass: HomeAssistant, clock_hands: TickingDateTimeFactory, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    # 20:00: 10 kWh wanted by 07:00; the night's cheapest hours are 02:00-05:00 tomorrow. The plan waits, says when
    # it starts and what it costs, then charges at 02:00 at the charger's (the car's) 16 A.
    evening = await to_local(clock_hands, hass, 20)
    set_prices(hass, entsoe_attributes(evening.replace(hour=0)))
    assert state(hass, READY_BY) == "07:00:00"
    assert state(hass, ENERGY) == "20.0"
    assert hass.states.get(MODE).attributes["options"] == [  # type: ignore[union-attr]
        "manual",
        "fast",
        "solar",
        "solar_minimum",
        "planned",
        "solar_plan",
        "off",
    ]
    assert state(hass, PLAN) == STATE_UNKNOWN  # no plan in Manual
    await set_energy(hass, 10)
    await select_mode(hass, "planned")
    await advance(hass, clock_hands, 6)
    assert state(hass, REASON) == "plan_waiting"
    assert limit_ma(simulator) == 0
    plan = plan_state(hass)
    start = evening.replace(hour=2) + timedelta(days=1)
    assert dt_util.parse_datetime(plan.state) == start
    assert plan.attributes["status"] == "planned"
    assert plan.attributes["feasible"] is True
    assert plan.attributes["ready_by"] == (evening.replace(hour=7) + timedelta(days=1)).isoformat()
    assert plan.attributes["expected_energy"] == pytest.approx(10.0, abs=0.5)
    assert plan.attributes["expected_cost"] == pytest.approx(0.5, abs=0.05)
    assert plan.attributes["currency"] == "EUR"
    assert plan.attributes["slots"][0]["start"] == start.isoformat()
    # the night comes: at 02:00 the car charges
    await to_local(clock_hands, hass, 2)
    await advance(hass, clock_hands, 6)
    assert state(hass, REASON) == "planned"
    assert limit_ma(simulator) >= 6000
    # the diagnostics download says what the plan goes by
    smart = init_integration.runtime_data.smart
    assert smart is not None
    planned = smart.as_diagnostics()["planned"]
    assert planned["price_sensor"] == PRICES
    assert planned["prices"]["source"] == "entsoe"
    assert planned["prices"]["quarters"] == 192
    assert planned["ports"][1]["energy_kwh"] == 10
    assert planned["ports"][1]["plan"]["status"] == "planned"
    # Manual: no plan shown (Manual is not followed each second: the plan would go stale)
    await select_mode(hass, "manual")
    await advance(hass, clock_hands, 2)
    assert state(hass, PLAN) == STATE_UNKNOWN


async def test_bad_input_keeps_a_plan(
    hass: HomeAssistant,
    clock_hands: TickingDateTimeFactory,
    simulator: Simulator,
    init_integration: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    evening = await to_local(clock_hands, hass, 20)
    set_prices(hass, entsoe_attributes(evening.replace(hour=0)))
    await select_mode(hass, "planned")
    await advance(hass, clock_hands, 3)
    slots = plan_state(hass).attributes["slots"]
    # the price sensor goes unavailable, then reads nonsense: the last prices are kept, the plan with them
    hass.states.async_set(PRICES, STATE_UNAVAILABLE)
    await advance(hass, clock_hands, 3)
    assert plan_state(hass).attributes["slots"] == slots
    with caplog.at_level(logging.WARNING):
        set_prices(hass, {"prices_today": [{"time": "yesterday", "price": 1}]})
        await advance(hass, clock_hands, 3)
        set_prices(hass, {"prices_today": [{"time": "yesterday", "price": 2}]})
        await advance(hass, clock_hands, 3)
    assert caplog.text.count("cannot read the prices of sensor.day_ahead_price") == 1
    assert plan_state(hass).attributes["slots"] == slots
    with caplog.at_level(logging.INFO):
        set_prices(hass, entsoe_attributes(evening.replace(hour=0)))
        await advance(hass, clock_hands, 3)
    assert "reads the prices of sensor.day_ahead_price again" in caplog.text
    # a ready-by time already past today (19:00 at 20:00): tomorrow's
    await set_ready_by(hass, time(19, 0))
    await advance(hass, clock_hands, 2)
    assert plan_state(hass).attributes["ready_by"] == (evening.replace(hour=19) + timedelta(days=1)).isoformat()
    assert state(hass, READY_BY) == "19:00:00"


async def test_a_negative_price_charges_in_solar(
    hass: HomeAssistant, clock_hands: TickingDateTimeFactory, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    # No sun (the grid imports), Solar would wait: a negative price now pays to charge.
    start = dt_util.now().replace(minute=0, second=0, microsecond=0)
    attributes = entsoe_attributes(start)
    attributes["prices_today"][0]["price"] = attributes["prices_today"][1]["price"] = -0.02
    attributes["prices_today"][2]["price"] = attributes["prices_today"][3]["price"] = -0.02
    set_prices(hass, attributes)
    await select_mode(hass, "solar")
    await advance(hass, clock_hands, 6)
    assert state(hass, REASON) == "negative_price"
    assert limit_ma(simulator) == NO_EMS_LIMIT  # the maximum: no limit


@pytest.mark.parametrize(
    "options",
    [{CONF_GRID_SENSOR: GRID, CONF_PRICE_SENSOR: PRICES, CONF_SOC_SENSOR: SOC, CONF_BATTERY_CAPACITY: 60.0}],
)
async def test_a_state_of_charge_instead_of_an_energy(
    hass: HomeAssistant, clock_hands: TickingDateTimeFactory, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    hass.states.async_set(SOC, "50", {"unit_of_measurement": "%", "device_class": "battery"})
    await to_local(clock_hands, hass, 20)
    await select_mode(hass, "planned")
    await advance(hass, clock_hands, 3)
    # to the default 80 %: 30 % of 60 kWh
    assert plan_state(hass).attributes["energy_needed"] == pytest.approx(18.0, abs=0.1)
    hass.states.async_set(SOC, "unavailable")
    await advance(hass, clock_hands, 3)
    assert plan_state(hass).attributes["energy_needed"] == pytest.approx(18.0, abs=0.1)
    hass.states.async_remove(SOC)  # the car's integration removed
    await advance(hass, clock_hands, 3)
    assert plan_state(hass).attributes["energy_needed"] == pytest.approx(18.0, abs=0.1)


@pytest.mark.parametrize("options", [{CONF_PRICE_SENSOR: PRICES}])
async def test_ready_by_and_energy_are_kept_on_restart(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, simulator: Simulator
) -> None:
    mock_restore_cache_with_extra_data(
        hass,
        [
            (State(READY_BY, "06:15:00"), {}),
            (
                State(ENERGY, "12.5"),
                {
                    "native_max_value": 200,
                    "native_min_value": 0,
                    "native_step": 0.5,
                    "native_unit_of_measurement": "kWh",
                    "native_value": 12.5,
                },
            ),
        ],
    )
    mock_config_entry.add_to_hass(hass)
    await setup_entry(hass, mock_config_entry)
    assert state(hass, READY_BY) == "06:15:00"
    assert state(hass, ENERGY) == "12.5"
    # without a grid sensor: Planned, not Solar + plan
    assert hass.states.get(MODE).attributes["options"] == ["manual", "fast", "planned", "off"]  # type: ignore[union-attr]


@pytest.mark.parametrize("options", [{CONF_PRICE_SENSOR: PRICES}])
async def test_a_ready_by_time_unknown_at_restart_is_the_default(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, simulator: Simulator
) -> None:
    mock_restore_cache_with_extra_data(hass, [(State(READY_BY, STATE_UNKNOWN), {})])
    mock_config_entry.add_to_hass(hass)
    await setup_entry(hass, mock_config_entry)
    assert state(hass, READY_BY) == "07:00:00"


# --- the services' prices: Home Assistant's Nord Pool and Tibber ---------------------------------------------------


def nordpool_day(day: str) -> dict[str, Any]:
    start = dt_util.as_local(datetime.fromisoformat(day)).replace(hour=0)
    start = dt_util.start_of_local_day(start)
    return {
        "BE": [
            {
                "start": (start + timedelta(minutes=15 * index)).isoformat(),
                "end": (start + timedelta(minutes=15 * (index + 1))).isoformat(),
                "price": 80.0 + index,
            }
            for index in range(96)
        ]
    }


def registered(hass: HomeAssistant, platform: str, unit: str | None = "EUR/kWh", unique_id: str = "price") -> None:
    """Make the price sensor one of `platform`'s, with its unit."""
    entry = MockConfigEntry(domain=platform)
    entry.add_to_hass(hass)
    hass.states.async_remove(PRICES)  # the registry would take another id while the state is there
    er.async_get(hass).async_get_or_create(
        "sensor", platform, unique_id, suggested_object_id="day_ahead_price", config_entry=entry
    )
    hass.states.async_set(PRICES, "0.1", {"unit_of_measurement": unit} if unit else {})


@pytest.mark.parametrize(("tomorrow", "areas"), [(True, ("BE",)), (False, ("BE",)), (True, ("NL", "BE"))])
async def test_nordpool_prices_come_from_its_service(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    simulator: Simulator,
    tomorrow: bool,
    areas: tuple[str, ...],
) -> None:
    # An entry with several areas answers for each: the sensor's area is the one its unique id names.
    registered(hass, "nordpool", unique_id="BE-current_price")
    asked: list[dict[str, Any]] = []

    async def get_prices(call: ServiceCall) -> ServiceResponse:
        asked.append(dict(call.data))
        if call.data["date"] != dt_util.now().date().isoformat() and not tomorrow:
            raise ServiceValidationError("not published yet")
        day = nordpool_day(call.data["date"])["BE"]
        return {area: [{**item, "price": item["price"] + 100 * (area != "BE")} for item in day] for area in areas}

    hass.services.async_register("nordpool", "get_prices_for_date", get_prices, supports_response=SupportsResponse.ONLY)
    mock_config_entry.add_to_hass(hass)
    await setup_entry(hass, mock_config_entry)
    smart = mock_config_entry.runtime_data.smart
    assert smart is not None
    assert smart.price_feed is not None
    prices = smart.price_feed.prices
    assert prices is not None
    assert prices.source is PriceSource.NORDPOOL
    assert prices.currency == "EUR"
    assert len(prices.slots) == (192 if tomorrow else 96)
    assert prices.slots[0].price == pytest.approx(0.080)
    assert {call["date"] for call in asked} == {
        dt_util.now().date().isoformat(),
        (dt_util.now().date() + timedelta(days=1)).isoformat(),
    }


@pytest.mark.parametrize("platform", ["template", "nordpool"])
async def test_a_price_sensor_whose_integration_loads_later_is_waited_for(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    simulator: Simulator,
    caplog: pytest.LogCaptureFixture,
    platform: str,
) -> None:
    # Home Assistant sets integrations up side by side: the price sensor is in the registry, without a state or with
    # none known yet, when the charger's entry starts (the development instance's template at every start). Nothing
    # is said, and its prices are read once it has them: from its attributes, or asked from Nord Pool's service.
    registered(hass, platform, unique_id="BE-current_price")
    hass.states.async_remove(PRICES)
    asked: list[str] = []

    async def get_prices(call: ServiceCall) -> ServiceResponse:
        asked.append(call.data["date"])
        return nordpool_day(call.data["date"])

    hass.services.async_register("nordpool", "get_prices_for_date", get_prices, supports_response=SupportsResponse.ONLY)
    mock_config_entry.add_to_hass(hass)
    with caplog.at_level(logging.WARNING):
        await setup_entry(hass, mock_config_entry)
        smart = mock_config_entry.runtime_data.smart
        assert smart is not None
        assert smart.price_feed is not None
        hass.states.async_set(PRICES, STATE_UNKNOWN)  # there, without a value yet
        await hass.async_block_till_done()
        assert smart.price_feed.prices is None
        assert asked == []
        prices_now = entsoe_attributes(dt_util.start_of_local_day()) if platform == "template" else {}
        hass.states.async_set(PRICES, "0.1", {**prices_now, "unit_of_measurement": "EUR/kWh"})
        await hass.async_block_till_done()
        hass.states.async_set(PRICES, "0.2", {**prices_now, "unit_of_measurement": "EUR/kWh"})
        await hass.async_block_till_done()
    assert "cannot read the prices" not in caplog.text
    prices = smart.price_feed.prices
    assert prices is not None
    if platform == "template":
        assert prices.source is PriceSource.ENTSOE
        assert asked == []
    else:
        assert prices.source is PriceSource.NORDPOOL
        assert len(asked) == 2  # today and tomorrow, once: then on the service's own schedule


async def test_nordpool_without_prices_yet(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, simulator: Simulator
) -> None:
    # A sensor without a unit (the currency unknown), and a service with nothing for today yet: no prices, no error.
    registered(hass, "nordpool", unit=None)

    async def get_prices(call: ServiceCall) -> ServiceResponse:
        return {}

    hass.services.async_register("nordpool", "get_prices_for_date", get_prices, supports_response=SupportsResponse.ONLY)
    mock_config_entry.add_to_hass(hass)
    await setup_entry(hass, mock_config_entry)
    smart = mock_config_entry.runtime_data.smart
    assert smart is not None
    assert smart.price_feed is not None
    assert smart.price_feed.prices is None


async def test_tibber_prices_come_from_its_service(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    simulator: Simulator,
    clock_hands: TickingDateTimeFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    registered(hass, "tibber")
    failing = True

    async def get_prices(call: ServiceCall) -> ServiceResponse:
        if failing:
            raise ServiceValidationError("Tibber is down")
        start = dt_util.start_of_local_day()
        return {
            "prices": {
                "Home": [
                    {"start_time": (start + timedelta(hours=hour)).isoformat(), "price": 0.2} for hour in range(48)
                ]
            }
        }

    hass.services.async_register("tibber", "get_prices", get_prices, supports_response=SupportsResponse.ONLY)
    mock_config_entry.add_to_hass(hass)
    with caplog.at_level(logging.WARNING):
        await setup_entry(hass, mock_config_entry)
    assert "cannot read the prices of sensor.day_ahead_price: Tibber is down" in caplog.text
    smart = mock_config_entry.runtime_data.smart
    assert smart is not None
    assert smart.price_feed is not None
    assert smart.price_feed.prices is None
    failing = False
    await advance(hass, clock_hands, QUARTER_S, step=QUARTER_S)
    prices = smart.price_feed.prices
    assert prices is not None
    assert prices.source is PriceSource.TIBBER
    assert len(prices.slots) == 192


@pytest.mark.parametrize("options", [{CONF_PRICE_SENSOR: "sensor.not_there"}])
async def test_a_price_sensor_gone_since_set_up_plans_without_prices(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, simulator: Simulator, caplog: pytest.LogCaptureFixture
) -> None:
    mock_config_entry.add_to_hass(hass)
    with caplog.at_level(logging.WARNING):
        await setup_entry(hass, mock_config_entry)
    assert "cannot read the prices of sensor.not_there" in caplog.text
    assert state(hass, PLAN) == STATE_UNKNOWN
    smart = mock_config_entry.runtime_data.smart
    assert smart is not None
    assert smart.as_diagnostics()["planned"] == {
        "price_sensor": "sensor.not_there",
        "prices": None,
        "ports": {1: {"ready_by": "07:00:00", "energy_kwh": 20.0, "plan": None}},
    }


# --- the options -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("options", [{}])
@pytest.mark.parametrize(
    ("sensor", "attributes", "error", "placeholder"),
    [
        ("sensor.outside", {"unit_of_measurement": "°C"}, "not_a_price_sensor", None),
        (
            PRICES,
            entsoe_attributes(datetime(2026, 1, 14, tzinfo=dt_util.UTC), unit="EUR/therm"),
            "unknown_price_unit",
            "EUR/therm",
        ),
    ],
)
async def test_the_options_say_what_is_wrong_with_a_price_sensor(
    hass: HomeAssistant,
    simulator: Simulator,
    init_integration: MockConfigEntry,
    sensor: str,
    attributes: dict[str, Any],
    error: str,
    placeholder: str | None,
) -> None:
    hass.states.async_set(sensor, "1", attributes)
    result = await hass.config_entries.options.async_init(init_integration.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_SMART_CHARGING: True, CONF_PRICE_SENSOR: sensor}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {CONF_PRICE_SENSOR: error}
    if placeholder is not None:
        assert result["description_placeholders"]["unit"] == placeholder  # type: ignore[index]


@pytest.mark.parametrize("options", [{}])
async def test_the_options_take_a_price_sensor_and_a_state_of_charge_with_its_capacity(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    result = await hass.config_entries.options.async_init(init_integration.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_SMART_CHARGING: True, CONF_PRICE_SENSOR: PRICES, CONF_SOC_SENSOR: SOC}
    )
    assert result["errors"] == {CONF_BATTERY_CAPACITY: "battery_capacity_required"}
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {
            CONF_SMART_CHARGING: True,
            CONF_PRICE_SENSOR: PRICES,
            CONF_SOC_SENSOR: SOC,
            CONF_BATTERY_CAPACITY: 60,
            CONF_SOC_TARGET: 90,
        },
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert init_integration.options[CONF_PRICE_SENSOR] == PRICES
    assert init_integration.options[CONF_SOC_TARGET] == 90
    assert init_integration.runtime_data.smart is not None
    assert init_integration.runtime_data.smart.price_feed is not None


@pytest.mark.parametrize("options", [{}])
async def test_the_options_take_a_service_price_sensor_with_a_known_unit(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    registered(hass, "nordpool")
    hass.states.async_set(PRICES, "0.1", {"unit_of_measurement": "EUR/lightyear"})
    result = await hass.config_entries.options.async_init(init_integration.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_SMART_CHARGING: True, CONF_PRICE_SENSOR: PRICES}
    )
    assert result["errors"] == {CONF_PRICE_SENSOR: "unknown_price_unit"}
    hass.states.async_set(PRICES, "0.1", {"unit_of_measurement": "EUR/kWh"})
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_SMART_CHARGING: True, CONF_PRICE_SENSOR: PRICES}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY


# --- the development instance --------------------------------------------------------------------------------------


# The template's quarter-hour trigger stays: the instance keeps running in the real world.
@pytest.mark.parametrize("expected_lingering_timers", [True])
async def test_the_development_instance_has_a_price_sensor(hass: HomeAssistant) -> None:
    # config/configuration.yaml's template sensor: ENTSO-E's shape, a day of quarter hours (tomorrow's from 13:00).
    config = yaml.safe_load((Path(__file__).parents[2] / "config" / "configuration.yaml").read_text())
    hass.states.async_remove(PRICES)
    assert await async_setup_component(hass, "template", {"template": config["template"]})
    await hass.async_block_till_done()
    # The instance renders it at its start, and every quarter hour: the next quarter (a test's Home Assistant runs
    # already, and 2025.10 does not fire the start trigger for a template set up then).
    now = dt_util.utcnow()
    async_fire_time_changed(hass, now - timedelta(seconds=now.timestamp() % QUARTER_S) + timedelta(seconds=QUARTER_S))
    await hass.async_block_till_done()
    sensor = hass.states.get(PRICES)
    assert sensor is not None
    assert identify_price_sensor(sensor.attributes) is PriceSource.ENTSOE
    prices = parse_price_attributes(sensor.attributes)
    assert prices.currency == "EUR"
    assert len(prices.slots) == (192 if dt_util.now().hour >= 13 else 96)
    assert prices.slots[0].start == dt_util.start_of_local_day().timestamp()
    assert min(slot.price for slot in prices.slots) == pytest.approx(0.0815, abs=0.002)  # 03:00, a winter night
    assert float(sensor.state) == pytest.approx(prices.price_at(dt_util.utcnow().timestamp()))
