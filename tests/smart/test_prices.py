"""The price sources: each one's shape (fixtures written after their code and documentation), units, bad input."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from custom_components.enovates.smart.prices import (
    PriceError,
    PriceErrorReason,
    Prices,
    PriceSlot,
    PriceSource,
    PriceUnit,
    identify_price_response,
    identify_price_sensor,
    parse_price_attributes,
    parse_price_response,
    parse_unit,
    to_quarters,
)

BRUSSELS = ZoneInfo("Europe/Brussels")
STOCKHOLM = ZoneInfo("Europe/Stockholm")
# 13 January 2026, midnight in Brussels (23:00 UTC the day before)
MIDNIGHT = datetime(2026, 1, 13, tzinfo=BRUSSELS)
T0 = MIDNIGHT.timestamp()


def iso(hours: float, zone: ZoneInfo = BRUSSELS) -> str:
    return (MIDNIGHT + timedelta(hours=hours)).astimezone(zone).isoformat()


# --- Home Assistant's Nord Pool: nordpool.get_prices_for_date ----------------------------------------------------

# Per area, every quarter hour (since October 2025) or hour, in the currency per MWh; start/end in UTC ISO texts.
NORDPOOL_RESPONSE: dict[str, Any] = {
    "BE": [
        {"start": "2026-01-12T23:00:00+00:00", "end": "2026-01-12T23:15:00+00:00", "price": 92.47},
        {"start": "2026-01-12T23:15:00+00:00", "end": "2026-01-12T23:30:00+00:00", "price": 90.12},
        {"start": "2026-01-12T23:30:00+00:00", "end": "2026-01-12T23:45:00+00:00", "price": 88.3},
        {"start": "2026-01-12T23:45:00+00:00", "end": "2026-01-13T00:00:00+00:00", "price": 86.95},
        {"start": "2026-01-13T00:00:00+00:00", "end": "2026-01-13T00:15:00+00:00", "price": -1.5},
    ]
}


def test_nordpool_service_response() -> None:
    assert identify_price_response(NORDPOOL_RESPONSE) is PriceSource.NORDPOOL
    prices = parse_price_response(NORDPOOL_RESPONSE, currency="eur")
    assert prices.source is PriceSource.NORDPOOL
    assert prices.currency == "EUR"
    assert [slot.start for slot in prices.slots] == [T0 + 900 * index for index in range(5)]
    assert (prices.slots[0].start, prices.slots[0].end) == (T0, T0 + 900)
    assert prices.slots[0].price == pytest.approx(0.09247)
    assert prices.slots[-1].price == pytest.approx(-0.0015)  # negative prices kept as they are
    assert prices.known_until == T0 + 5 * 900


def test_nordpool_hourly_area_and_tomorrow_apart() -> None:
    # Hourly areas, and tomorrow asked in a call of its own: merged, the hours cut into quarters.
    today = {"SE3": [{"start": "2026-01-12T23:00:00+00:00", "end": "2026-01-13T00:00:00+00:00", "price": 412.0}]}
    tomorrow = {"SE3": [{"start": "2026-01-13T23:00:00+00:00", "end": "2026-01-14T00:00:00+00:00", "price": 398.5}]}
    prices = parse_price_response(today, currency="SEK").merged(parse_price_response(tomorrow))
    assert prices.currency == "SEK"
    assert len(prices.slots) == 8
    assert [slot.price for slot in prices.slots[:4]] == pytest.approx([0.412] * 4)
    assert prices.slots[4].start == T0 + 86400
    assert prices.price_at(T0 + 86400 + 1800) == pytest.approx(0.3985)
    assert prices.price_at(T0 + 3600) is None  # the gap between the two days
    # Without a currency the magnitude is still right.
    assert parse_price_response(today).currency is None


def test_nordpool_areas() -> None:
    two = {**NORDPOOL_RESPONSE, "NL": NORDPOOL_RESPONSE["BE"][:1]}
    with pytest.raises(PriceError) as error:
        parse_price_response(two)
    assert error.value.reason is PriceErrorReason.AREA_REQUIRED
    assert error.value.placeholders == {"areas": "BE, NL"}
    assert len(parse_price_response(two, area="NL").slots) == 1
    with pytest.raises(PriceError) as error:
        parse_price_response(two, area="FR")
    assert error.value.reason is PriceErrorReason.AREA_NOT_FOUND
    assert error.value.placeholders["area"] == "FR"
    # Nord Pool has nothing yet (an empty response per area): an empty list, not an error.
    assert parse_price_response({"BE": []}).slots == ()


# --- Tibber: tibber.get_prices ------------------------------------------------------------------------------------

# Per home (its nickname), the total price per kWh with its start only.
TIBBER_RESPONSE: dict[str, Any] = {
    "prices": {
        "Thuis": [
            {"start_time": "2026-01-13T00:00:00.000+01:00", "price": 0.2512},
            {"start_time": "2026-01-13T01:00:00.000+01:00", "price": 0.2433},
            {"start_time": "2026-01-13T02:00:00.000+01:00", "price": 0.2398},
        ]
    }
}


def test_tibber_service_response() -> None:
    assert identify_price_response(TIBBER_RESPONSE) is PriceSource.TIBBER
    prices = parse_price_response(TIBBER_RESPONSE, currency="EUR")
    assert prices.source is PriceSource.TIBBER
    assert len(prices.slots) == 12  # three hours: each lasts until the next, the last as long as the one before
    assert prices.slots[0] == PriceSlot(T0, T0 + 900, 0.2512)
    assert prices.slots[-1] == PriceSlot(T0 + 3 * 3600 - 900, T0 + 3 * 3600, 0.2398)


def test_tibber_quarter_hours_and_homes() -> None:
    quarters = {"prices": {"Home": [{"start_time": iso(index / 4), "price": 0.2 + index / 100} for index in range(3)]}}
    assert [slot.price for slot in parse_price_response(quarters).slots] == pytest.approx([0.2, 0.21, 0.22])
    two = {"prices": {"Home": [], "Cabin": TIBBER_RESPONSE["prices"]["Thuis"]}}
    with pytest.raises(PriceError) as error:
        parse_price_response(two)
    assert error.value.reason is PriceErrorReason.AREA_REQUIRED
    assert len(parse_price_response(two, area="Cabin").slots) == 12
    # a single price: an hour
    one = {"prices": {"Home": TIBBER_RESPONSE["prices"]["Thuis"][:1]}}
    assert len(parse_price_response(one).slots) == 4


def test_responses_that_are_not_prices() -> None:
    for response in ({}, {"foo": 1}, {"prices": [1, 2]}, {"BE": [{"start": "x"}]}, {"prices": {"Home": [{"x": 1}]}}):
        with pytest.raises(PriceError) as error:
            identify_price_response(response)
        assert error.value.reason is PriceErrorReason.NOT_A_PRICE_SENSOR


# --- ENTSO-E (hass-entso-e): attributes --------------------------------------------------------------------------

# The average price sensor: the day's prices per kWh with the time of their start (pandas' text of a timestamp).
ENTSOE_ATTRIBUTES: dict[str, Any] = {
    "prices_today": [
        {"time": "2026-01-13 00:00:00+01:00", "price": 0.09524},
        {"time": "2026-01-13 01:00:00+01:00", "price": 0.08812},
    ],
    "prices_tomorrow": [],
    "prices": [
        {"time": "2026-01-12 23:00:00+01:00", "price": 0.1101},
        {"time": "2026-01-13 00:00:00+01:00", "price": 0.09524},
        {"time": "2026-01-13 01:00:00+01:00", "price": 0.08812},
    ],
    "unit_of_measurement": "EUR/kWh",
    "device_class": "monetary",
    "friendly_name": "Average electricity price today",
}


def test_entsoe_attributes() -> None:
    assert identify_price_sensor(ENTSOE_ATTRIBUTES) is PriceSource.ENTSOE
    prices = parse_price_attributes(ENTSOE_ATTRIBUTES)
    assert prices.source is PriceSource.ENTSOE
    assert prices.currency == "EUR"
    # "prices" holds them all (the last hour of yesterday too); tomorrow's are not published yet: a shorter list.
    assert prices.slots[0].start == T0 - 3600
    assert prices.known_until == T0 + 2 * 3600
    assert prices.price_at(T0 + 3600 + 60) == pytest.approx(0.08812)


def test_entsoe_today_and_tomorrow_without_prices_and_unit() -> None:
    attributes = {
        "prices_today": ENTSOE_ATTRIBUTES["prices_today"],
        "prices_tomorrow": [{"time": "2026-01-14 00:00:00+01:00", "price": 0.1}],
    }
    prices = parse_price_attributes(attributes)
    assert prices.currency is None  # no unit: per kWh, currency unknown
    assert prices.price_at(T0 + 86400) == 0.1
    # Quarter-hour ENTSO-E data: each lasts until the next.
    quarters = {
        "prices": [{"time": iso(index / 4), "price": index} for index in range(4)],
        "unit_of_measurement": "€/kWh",
    }
    assert [slot.end - slot.start for slot in parse_price_attributes(quarters).slots] == [900] * 4
    assert parse_price_attributes(quarters).currency == "EUR"


# --- the Nord Pool custom integration: attributes ----------------------------------------------------------------

# raw_today/raw_tomorrow: start and end as datetimes in local time, the value in the sensor's unit.
NORDPOOL_CUSTOM_ATTRIBUTES: dict[str, Any] = {
    "average": 1.02,
    "unit": "kWh",
    "currency": "SEK",
    "country": "Sweden",
    "region": "SE3",
    "low_price": False,
    "price_in_cents": False,
    "today": [1.012, 0.987],
    "tomorrow": [],
    "tomorrow_valid": False,
    "raw_today": [
        {
            "start": MIDNIGHT.astimezone(STOCKHOLM),
            "end": (MIDNIGHT + timedelta(hours=1)).astimezone(STOCKHOLM),
            "value": 1.012,
        },
        {
            "start": (MIDNIGHT + timedelta(hours=1)).astimezone(STOCKHOLM),
            "end": (MIDNIGHT + timedelta(hours=2)).astimezone(STOCKHOLM),
            "value": 0.987,
        },
        {
            "start": (MIDNIGHT + timedelta(hours=2)).astimezone(STOCKHOLM),
            "end": (MIDNIGHT + timedelta(hours=3)).astimezone(STOCKHOLM),
            "value": None,  # the API's infinity, shown as no price
        },
    ],
    "raw_tomorrow": [],
    "unit_of_measurement": "SEK/kWh",
}


def test_nordpool_custom_attributes() -> None:
    # The custom integration takes the core one's domain: its attributes tell them apart.
    assert identify_price_sensor(NORDPOOL_CUSTOM_ATTRIBUTES, platform="nordpool") is PriceSource.NORDPOOL_CUSTOM
    prices = parse_price_attributes(NORDPOOL_CUSTOM_ATTRIBUTES)
    assert prices.source is PriceSource.NORDPOOL_CUSTOM
    assert prices.currency == "SEK"
    assert len(prices.slots) == 8  # the third hour has no price
    assert prices.slots[0] == PriceSlot(T0, T0 + 900, 1.012)


@pytest.mark.parametrize(
    ("changes", "currency", "price"),
    [
        ({"price_in_cents": True, "unit_of_measurement": "Öre/kWh"}, "SEK", 0.01012),
        ({"unit": "MWh", "unit_of_measurement": "SEK/MWh"}, "SEK", 0.001012),
        ({"unit": "Wh", "currency": "EUR", "unit_of_measurement": "EUR/Wh"}, "EUR", 1012.0),
        # older releases without the unit attribute: the sensor's unit says it
        ({"unit": None, "price_in_cents": None, "currency": "EUR", "unit_of_measurement": "c/kWh"}, "EUR", 0.01012),
        ({"unit": None, "unit_of_measurement": None}, "SEK", 1.012),
    ],
)
def test_nordpool_custom_units(changes: dict[str, Any], currency: str, price: float) -> None:
    prices = parse_price_attributes(NORDPOOL_CUSTOM_ATTRIBUTES | changes)
    assert prices.currency == currency
    assert prices.slots[0].price == pytest.approx(price)


def test_nordpool_custom_tomorrow_and_daylight_saving() -> None:
    # 25 October 2026 has 25 hours in Brussels: 100 quarters, none twice.
    start = datetime(2026, 10, 25, tzinfo=BRUSSELS)
    hours = [start.astimezone(UTC) + timedelta(hours=hour) for hour in range(26)]
    raw = [{"start": hours[hour].astimezone(BRUSSELS), "end": hours[hour + 1], "value": hour} for hour in range(25)]
    prices = parse_price_attributes({"raw_today": [], "raw_tomorrow": raw, "unit": "kWh", "currency": "EUR"})
    assert len(prices.slots) == 100
    assert len({slot.start for slot in prices.slots}) == 100
    assert prices.known_until == datetime(2026, 10, 26, tzinfo=BRUSSELS).timestamp()


# --- EPEX Spot: attributes ---------------------------------------------------------------------------------------


def epex(key: str, values: list[float], *, minutes: int = 15) -> list[dict[str, Any]]:
    return [
        {"start_time": iso(index * minutes / 60), "end_time": iso((index + 1) * minutes / 60), key: value}
        for index, value in enumerate(values)
    ]


@pytest.mark.parametrize(
    ("attributes", "currency", "price"),
    [
        # the newest releases: the price per kWh, its currency in the sensor's unit
        ({"data": epex("price_per_kwh", [0.0952]), "unit_of_measurement": "€/kWh"}, "EUR", 0.0952),
        ({"data": epex("price_per_kwh", [0.0952]), "unit_of_measurement": "£/kWh"}, "GBP", 0.0952),
        ({"data": epex("price_per_kwh", [0.0952])}, "EUR", 0.0952),
        # older releases: the Price sensor per MWh (and per kWh in ct), the Net Price sensor in ct/kWh
        (
            {
                "data": [epex("price_eur_per_mwh", [95.2])[0] | {"price_ct_per_kwh": 9.52}],
                "unit_of_measurement": "EUR/MWh",
            },
            "EUR",
            0.0952,
        ),
        ({"data": epex("price_ct_per_kwh", [9.52]), "unit_of_measurement": "ct/kWh"}, "EUR", 0.0952),
        ({"data": epex("price_gbp_per_mwh", [81.0]), "unit_of_measurement": "GBP/MWh"}, "GBP", 0.081),
        ({"data": epex("price_pence_per_kwh", [8.1])}, "GBP", 0.081),
    ],
)
def test_epex_spot_attributes(attributes: dict[str, Any], currency: str, price: float) -> None:
    assert identify_price_sensor(attributes) is PriceSource.EPEX_SPOT
    prices = parse_price_attributes(attributes)
    assert prices.source is PriceSource.EPEX_SPOT
    assert prices.currency == currency
    assert (prices.slots[0].start, prices.slots[0].end) == (T0, T0 + 900)
    assert prices.slots[0].price == pytest.approx(price)


def test_epex_spot_hourly_and_empty() -> None:
    prices = parse_price_attributes({"data": epex("price_per_kwh", [0.1, 0.2], minutes=60)})
    assert [slot.price for slot in prices.slots] == [0.1] * 4 + [0.2] * 4
    assert parse_price_attributes({"data": []}) == Prices(PriceSource.EPEX_SPOT, None, ())


def test_epex_spot_sensors_without_prices() -> None:
    # Rank, quantile and the volumes have the same list, without a price.
    with pytest.raises(PriceError) as error:
        identify_price_sensor({"data": epex("rank", [3])})
    assert error.value.reason is PriceErrorReason.NOT_A_PRICE_SENSOR
    # A list whose later entries lose their price: those quarters are gaps.
    data = epex("price_per_kwh", [0.1, 0.2])
    del data[1]["price_per_kwh"]
    assert len(parse_price_attributes({"data": data}).slots) == 1


# --- the sensors' side: which source, or a clear no --------------------------------------------------------------


def test_sources_known_by_their_platform() -> None:
    # Home Assistant's Nord Pool and Tibber keep their lists out of the attributes: asked through their services.
    current = {"unit_of_measurement": "EUR/kWh", "device_class": "monetary"}
    assert identify_price_sensor(current, platform="nordpool") is PriceSource.NORDPOOL
    assert identify_price_sensor(current, platform="tibber") is PriceSource.TIBBER


@pytest.mark.parametrize(
    "attributes",
    [
        {},
        {"unit_of_measurement": "W", "device_class": "power"},
        {"unit_of_measurement": "EUR/kWh"},  # a price, but only the price of now: nothing to plan on
        {"prices": "0.1, 0.2"},
        {"data": "nothing"},
        {"prices": [{"time": "2026-01-13T00:00:00+01:00"}]},  # times without prices
        {"prices_today": "0.1", "prices_tomorrow": []},
    ],
)
def test_not_a_price_sensor(attributes: dict[str, Any]) -> None:
    with pytest.raises(PriceError) as error:
        identify_price_sensor(attributes, platform="template")
    assert error.value.reason is PriceErrorReason.NOT_A_PRICE_SENSOR
    assert error.value.reason.value == "not_a_price_sensor"  # the options flow's translation key
    with pytest.raises(PriceError):
        parse_price_attributes(attributes)


@pytest.mark.parametrize(
    "attributes",
    [
        {"prices": [{"time": "yesterday", "price": 0.1}]},  # not a time
        {"prices": [{"time": "2026-01-13T00:00:00", "price": 0.1}]},  # a time without its offset
        {"prices": [{"time": None, "price": 0.1}]},
        {"prices": [{"time": True, "price": 0.1}]},
        {"prices": [{"time": "2026-01-13T00:00:00+01:00", "price": "cheap"}]},  # not a price
        {"prices": [{"time": "2026-01-13T00:00:00+01:00", "price": True}]},
        {"prices": [{"time": "2026-01-13T00:00:00+01:00", "price": [0.1]}]},
        {"prices": [{"time": "2026-01-13T00:00:00+01:00", "price": 0.1}, "0.2"]},  # not an entry
        {"raw_today": [{"start": MIDNIGHT, "value": 1.0}]},  # no end
        {"raw_today": [{"start": MIDNIGHT.replace(tzinfo=None), "end": MIDNIGHT, "value": 1.0}]},  # naive
        {"prices": [{"time": "2026-01-13T00:00:00+01:00", "price": 0.1}], "unit_of_measurement": "EUR/kW"},
    ],
)
def test_garbage(attributes: dict[str, Any]) -> None:
    with pytest.raises(PriceError) as error:
        parse_price_attributes(attributes)
    assert error.value.reason in {PriceErrorReason.MALFORMED, PriceErrorReason.UNKNOWN_UNIT}


def test_prices_the_source_does_not_know_are_gaps() -> None:
    entries = [
        {"time": iso(0), "price": "unavailable"},
        {"time": iso(1), "price": float("nan")},
        {"time": iso(2), "price": "0.12"},
        {"time": T0 + 3 * 3600, "price": 7},  # epoch seconds and whole numbers are fine
        {"time": iso(4), "price": None},
    ]
    prices = parse_price_attributes({"prices": entries})
    assert [slot.start for slot in prices.slots[::4]] == [T0 + 2 * 3600, T0 + 3 * 3600]
    assert [slot.price for slot in prices.slots[::4]] == [0.12, 7.0]


# --- units -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("unit", "currency", "expected"),
    [
        ("EUR/kWh", None, PriceUnit("EUR", 1.0)),
        ("€/kWh", None, PriceUnit("EUR", 1.0)),
        ("EUR/MWh", None, PriceUnit("EUR", 0.001)),
        ("€/MWh", None, PriceUnit("EUR", 0.001)),
        (" EUR / kWh ", None, PriceUnit("EUR", 1.0)),
        ("c€/kWh", None, PriceUnit("EUR", 0.01)),
        ("ct/kWh", None, PriceUnit("EUR", 0.01)),
        ("€ct/kWh", None, PriceUnit("EUR", 0.01)),
        ("c/kWh", "eur", PriceUnit("EUR", 0.01)),
        ("c/kWh", None, PriceUnit(None, 0.01)),
        ("cent/kWh", "EUR", PriceUnit("EUR", 0.01)),
        ("EUR/Wh", None, PriceUnit("EUR", 1000.0)),
        ("SEK/kWh", None, PriceUnit("SEK", 1.0)),
        ("öre/kWh", None, PriceUnit("SEK", 0.01)),
        ("Öre/kWh", None, PriceUnit("SEK", 0.01)),
        ("Øre/kWh", "NOK", PriceUnit("NOK", 0.01)),
        ("øre/kWh", "DKK", PriceUnit("DKK", 0.01)),
        ("kr/kWh", "DKK", PriceUnit("DKK", 1.0)),
        ("NOK/MWh", None, PriceUnit("NOK", 0.001)),
        ("£/kWh", None, PriceUnit("GBP", 1.0)),
        ("p/kWh", None, PriceUnit("GBP", 0.01)),
        ("pence/kWh", None, PriceUnit("GBP", 0.01)),
        ("PLN/MWh", None, PriceUnit("PLN", 0.001)),
        ("zł/kWh", None, PriceUnit("PLN", 1.0)),
        ("gr/kWh", None, PriceUnit("PLN", 0.01)),
        ("$/kWh", None, PriceUnit("USD", 1.0)),
        ("CHF/kWh", "EUR", PriceUnit("CHF", 1.0)),  # the unit's currency before the hint
    ],
)
def test_units(unit: str, currency: str | None, expected: PriceUnit) -> None:
    parsed = parse_unit(unit, currency=currency)
    assert parsed.currency == expected.currency
    assert parsed.per_kwh == pytest.approx(expected.per_kwh)


@pytest.mark.parametrize("unit", ["", "EUR", "kWh", "W", "EUR/kW", "€€/kWh", "EUR/m³", "euros/kWh", "1/kWh", "/kWh"])
def test_unknown_units(unit: str) -> None:
    with pytest.raises(PriceError) as error:
        parse_unit(unit)
    assert error.value.reason is PriceErrorReason.UNKNOWN_UNIT
    assert error.value.placeholders == {"unit": unit}


# --- quarters ----------------------------------------------------------------------------------------------------


def test_mixed_resolutions_become_quarters() -> None:
    # An hour, then the same hour's quarters (ENTSO-E around the market's move to 15 minutes): the quarters win,
    # whatever the order; a slot that covers part of a quarter only is left out.
    hour = PriceSlot(T0, T0 + 3600, 0.10)
    quarters = [PriceSlot(T0 + 900 * index, T0 + 900 * (index + 1), 0.2 + index / 100) for index in range(2)]
    for order in ([hour, *quarters], [*quarters, hour]):
        slots = to_quarters(order)
        assert [slot.price for slot in slots] == pytest.approx([0.2, 0.21, 0.1, 0.1])
    assert to_quarters([PriceSlot(T0 + 60, T0 + 1000, 0.3)]) == ()
    assert to_quarters([PriceSlot(T0 + 60, T0 + 1800, 0.3)]) == (PriceSlot(T0 + 900, T0 + 1800, 0.3),)
    # two as fine: the later wins
    assert to_quarters([PriceSlot(T0, T0 + 900, 0.1), PriceSlot(T0, T0 + 900, 0.2)])[0].price == 0.2


def test_empty_prices() -> None:
    prices = Prices(PriceSource.ENTSOE, "EUR", ())
    assert prices.known_until is None
    assert prices.price_at(T0) is None
    assert prices.merged(Prices(PriceSource.ENTSOE, None, (PriceSlot(T0, T0 + 900, 0.1),))).currency == "EUR"
