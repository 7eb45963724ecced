"""Day-ahead prices as the planner wants them: quarter hours, epoch seconds, a price per kWh.

Users already have a price integration; this reads what the popular ones give, from a sensor's attributes or a
service's response (plain mappings: no Home Assistant in here, so every shape is tested on hand-written fixtures):

- Home Assistant's Nord Pool (`nordpool.get_prices_for_date`, `nordpool.get_price_indices_for_date`): per area, a
  list of start/end/price in the currency per MWh;
- Tibber (`tibber.get_prices`): per home, start_time/price in the currency per kWh (total price, no end);
- ENTSO-E (hass-entso-e): attributes `prices_today`, `prices_tomorrow`, `prices` with time/price per kWh (no end);
- the Nord Pool custom integration: attributes `raw_today`, `raw_tomorrow` with start/end/value, in the unit the
  user picked (kWh, MWh or Wh, and in cents or not);
- EPEX Spot: attribute `data` with start_time/end_time and a price whose key names its unit.

Times become epoch seconds (as `quarter.py` counts), prices a float in the source's currency per kWh (the magnitude
converted, the currency kept: a Swedish user's plan costs SEK). Hourly slots are cut into their four quarters, so the
planner sees one resolution whatever the market area publishes. Tomorrow's prices before they are published
(about 13:00 CET) are simply not in the list: the list is shorter, not wrong.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
import enum
import math
import re
from typing import Any, Final

from .quarter import QUARTER_S, quarter_start

HOUR_S: Final = 3600.0

type _Raw = tuple[float, float | None, Any]  # start, end (None: until the next), the price as the source gives it


class PriceSource(enum.StrEnum):
    """Where the prices come from (the options keep it; the manager asks each in its own way)."""

    NORDPOOL = "nordpool"  # Home Assistant's Nord Pool: a service per day
    TIBBER = "tibber"  # Home Assistant's Tibber: a service
    ENTSOE = "entsoe"  # hass-entso-e: attributes
    NORDPOOL_CUSTOM = "nordpool_custom"  # custom-components/nordpool: attributes
    EPEX_SPOT = "epex_spot"  # ha_epex_spot: attributes


# The sources whose prices come from a service call rather than from the sensor's attributes.
SERVICE_SOURCES: Final = frozenset({PriceSource.NORDPOOL, PriceSource.TIBBER})


class PriceErrorReason(enum.StrEnum):
    """Why prices could not be read: the options flow shows the translation of these keys."""

    NOT_A_PRICE_SENSOR = "not_a_price_sensor"
    UNKNOWN_UNIT = "unknown_price_unit"
    MALFORMED = "malformed_prices"
    AREA_REQUIRED = "price_area_required"
    AREA_NOT_FOUND = "price_area_not_found"


class PriceError(ValueError):
    """Prices that cannot be read, with a reason key and the placeholders its message names."""

    def __init__(self, reason: PriceErrorReason, message: str, **placeholders: str) -> None:
        """Keep the reason (a translation key) and its placeholders; the message is for logs."""
        super().__init__(message)
        self.reason = reason
        self.placeholders = placeholders


@dataclass(frozen=True, slots=True)
class PriceSlot:
    """One quarter hour's price: [start, end) in epoch seconds, the price per kWh (the list's currency)."""

    start: float
    end: float
    price: float


@dataclass(frozen=True, slots=True)
class PriceUnit:
    """What a unit such as "c€/kWh" means: the currency (None: not said) and the factor to a price per kWh."""

    currency: str | None
    per_kwh: float  # price per kWh = value * per_kwh


@dataclass(frozen=True)
class Prices:
    """A source's prices: quarter-hour slots in time order, without overlaps (gaps are possible)."""

    source: PriceSource
    currency: str | None
    slots: tuple[PriceSlot, ...]

    @property
    def known_until(self) -> float | None:
        """Return the end of the last known quarter (None: no prices at all)."""
        return self.slots[-1].end if self.slots else None

    def price_at(self, moment: float) -> float | None:
        """Return the price of the quarter `moment` falls in (None: not known)."""
        for slot in self.slots:
            if slot.start <= moment < slot.end:
                return slot.price
        return None

    def merged(self, other: Prices) -> Prices:
        """Return these prices with `other`'s added (a day asked apart, say); `other` wins where both have one."""
        return Prices(self.source, self.currency or other.currency, to_quarters([*self.slots, *other.slots]))


# --- units ------------------------------------------------------------------------------------------------------

_ENERGY_KWH: Final = {"kwh": 1.0, "mwh": 1000.0, "wh": 0.001}
# Symbols and words for a whole currency unit; any three letters are taken as an ISO 4217 code.
_MAJOR: Final[dict[str, str | None]] = {
    "€": "EUR",
    "euro": "EUR",
    "£": "GBP",
    "$": "USD",
    "zł": "PLN",
    "zl": "PLN",
    "lei": "RON",
    "kč": "CZK",
    "ft": "HUF",
    "лв": "BGN",
    "kr": None,  # krona or krone: the currency attribute says which
}
# A hundredth of a currency: euro cents in their spellings, öre (Sweden), øre (Denmark, Norway), pence, grosz.
_MINOR: Final[dict[str, str | None]] = {
    "c€": "EUR",
    "€c": "EUR",
    "ct": "EUR",
    "€ct": "EUR",
    "cent": None,
    "cents": None,
    "eurocent": "EUR",
    "eurocents": "EUR",
    "c": None,
    "¢": None,
    "öre": "SEK",
    "øre": None,
    "ore": None,
    "p": "GBP",
    "pence": "GBP",
    "gr": "PLN",
}
_ISO_CODE: Final = re.compile(r"[a-z]{3}")


def parse_unit(unit: str, *, currency: str | None = None) -> PriceUnit:
    """Return what a price unit means ("EUR/MWh", "c€/kWh", "öre/kWh", "£/kWh"...); `currency` when it says none.

    Raise PriceError(UNKNOWN_UNIT) for anything else: a price read a thousand times too high would plan nonsense.
    """
    money, slash, energy = unit.strip().replace(" ", "").partition("/")
    money, energy = money.lower(), energy.lower()
    if not slash or energy not in _ENERGY_KWH:
        raise PriceError(PriceErrorReason.UNKNOWN_UNIT, f"Unknown price unit: {unit!r}", unit=unit)
    per_energy = 1 / _ENERGY_KWH[energy]
    hint = currency.upper() if currency else None
    if money in _MINOR:
        return PriceUnit(_MINOR[money] or hint, per_energy / 100)
    if money in _MAJOR:
        return PriceUnit(_MAJOR[money] or hint, per_energy)
    if _ISO_CODE.fullmatch(money):
        return PriceUnit(money.upper(), per_energy)
    raise PriceError(PriceErrorReason.UNKNOWN_UNIT, f"Unknown price unit: {unit!r}", unit=unit)


# --- what a sensor or a response is ------------------------------------------------------------------------------

# EPEX Spot names the unit in the price's key; the newest releases say "price_per_kwh" and put the currency in the
# sensor's unit. The first key found is taken (the older Price sensor has a price per MWh and per kWh, the same).
_EPEX_KEYS: Final[tuple[tuple[str, str | None, float], ...]] = (
    ("price_per_kwh", None, 1.0),
    ("price_ct_per_kwh", "EUR", 0.01),
    ("price_pence_per_kwh", "GBP", 0.01),
    ("price_eur_per_mwh", "EUR", 0.001),
    ("price_gbp_per_mwh", "GBP", 0.001),
)


def identify_price_sensor(attributes: Mapping[str, Any], *, platform: str | None = None) -> PriceSource:
    """Return which source a sensor is, from its attributes and the integration that made it (`platform`).

    Home Assistant's Nord Pool and Tibber keep their prices out of the attributes: they are known by their
    platform, and asked by their services. Raise PriceError(NOT_A_PRICE_SENSOR) for any other sensor.
    """
    if isinstance(attributes.get("raw_today"), list):
        # The custom Nord Pool integration takes the core one's domain, "nordpool": its attributes tell them apart.
        return PriceSource.NORDPOOL_CUSTOM
    if isinstance(attributes.get("prices_today"), list) or _items_have(attributes.get("prices"), "time", "price"):
        return PriceSource.ENTSOE
    data = attributes.get("data")
    if isinstance(data, list) and (not data or _items_have(data, "start_time")):
        if data and _epex_key(data[0]) is None:
            # EPEX Spot's other sensors (rank, quantile, volumes) have the same list without a price.
            raise PriceError(PriceErrorReason.NOT_A_PRICE_SENSOR, "EPEX Spot sensor without prices")
        return PriceSource.EPEX_SPOT
    if platform == "nordpool":
        return PriceSource.NORDPOOL
    if platform == "tibber":
        return PriceSource.TIBBER
    raise PriceError(PriceErrorReason.NOT_A_PRICE_SENSOR, "No price list in this sensor's attributes")


def parse_price_attributes(attributes: Mapping[str, Any]) -> Prices:
    """Return the prices kept in a sensor's attributes (ENTSO-E, the Nord Pool custom integration, EPEX Spot)."""
    source = identify_price_sensor(attributes)
    if source is PriceSource.ENTSOE:
        return _parse_entsoe(attributes)
    if source is PriceSource.NORDPOOL_CUSTOM:
        return _parse_nordpool_custom(attributes)
    return _parse_epex_spot(attributes)


def identify_price_response(response: Mapping[str, Any]) -> PriceSource:
    """Return which service gave `response` (Nord Pool's or Tibber's); raise PriceError(NOT_A_PRICE_SENSOR)."""
    prices = response.get("prices")
    if isinstance(prices, Mapping) and all(_items_have(items, "start_time", "price") for items in prices.values()):
        return PriceSource.TIBBER
    if response and all(_items_have(items, "start", "end", "price") for items in response.values()):
        return PriceSource.NORDPOOL
    raise PriceError(PriceErrorReason.NOT_A_PRICE_SENSOR, "Not a Nord Pool or Tibber price response")


def parse_price_response(
    response: Mapping[str, Any], *, area: str | None = None, currency: str | None = None
) -> Prices:
    """Return the prices of a Nord Pool or Tibber service response.

    `area` picks the Nord Pool area or the Tibber home when the response has several; `currency` is the one the
    prices are in (neither response says it: the service call's, or the price sensor's unit).
    """
    source = identify_price_response(response)
    if source is PriceSource.TIBBER:
        items = _pick(response["prices"], area)
        raw: list[_Raw] = [(_moment(_field(item, "start_time")), None, _field(item, "price")) for item in items]
        return _finish(source, raw, PriceUnit(_upper(currency), 1.0))
    items = _pick(response, area)
    raw = [(_moment(_field(item, "start")), _moment(_field(item, "end")), _field(item, "price")) for item in items]
    return _finish(source, raw, PriceUnit(_upper(currency), 0.001))  # Nord Pool's are per MWh


def _parse_entsoe(attributes: Mapping[str, Any]) -> Prices:
    if isinstance(attributes.get("prices"), list):
        items = attributes["prices"]  # yesterday's last hours, today and tomorrow's when known
    else:
        items = [*(attributes.get("prices_today") or []), *(attributes.get("prices_tomorrow") or [])]
    raw: list[_Raw] = [(_moment(_field(item, "time")), None, _field(item, "price")) for item in _dicts(items)]
    return _finish(PriceSource.ENTSOE, raw, _attribute_unit(attributes, default=PriceUnit(None, 1.0)))


def _parse_nordpool_custom(attributes: Mapping[str, Any]) -> Prices:
    currency = attributes.get("currency")
    energy = attributes.get("unit")
    if isinstance(energy, str) and energy.lower() in _ENERGY_KWH:
        # Its own attributes say it plainly: the energy unit, cents or not, the currency.
        cents = 0.01 if attributes.get("price_in_cents") is True else 1.0
        unit = PriceUnit(_upper(currency), cents / _ENERGY_KWH[energy.lower()])
    else:
        unit = _attribute_unit(attributes, default=PriceUnit(_upper(currency), 1.0))
    items = [*(attributes.get("raw_today") or []), *(attributes.get("raw_tomorrow") or [])]
    raw: list[_Raw] = [
        (_moment(_field(item, "start")), _moment(_field(item, "end")), _field(item, "value")) for item in _dicts(items)
    ]
    return _finish(PriceSource.NORDPOOL_CUSTOM, raw, unit)


def _parse_epex_spot(attributes: Mapping[str, Any]) -> Prices:
    items = _dicts(attributes["data"])
    if not items:
        return Prices(PriceSource.EPEX_SPOT, None, ())
    # identify_price_sensor found a price's key in the first entry
    key, currency, factor = _epex_key(items[0]) or _EPEX_KEYS[0]
    if currency is None:
        unit = _attribute_unit(attributes, default=PriceUnit("EUR", 1.0))
        currency, factor = unit.currency or "EUR", unit.per_kwh
    raw: list[_Raw] = [
        (_moment(_field(item, "start_time")), _moment(_field(item, "end_time")), item.get(key)) for item in items
    ]
    return _finish(PriceSource.EPEX_SPOT, raw, PriceUnit(currency, factor))


# --- the common part ---------------------------------------------------------------------------------------------


def _finish(source: PriceSource, raw: Sequence[_Raw], unit: PriceUnit) -> Prices:
    """Convert the prices, give each slot its end, cut them into quarters."""
    ordered = sorted(raw, key=lambda item: item[0])
    slots: list[PriceSlot] = []
    for index, (start, end, value) in enumerate(ordered):
        price = _price(value)
        if price is None:
            continue  # a gap: the source did not know this one
        until = start + _length(ordered, index) if end is None else end
        slots.append(PriceSlot(start, until, price * unit.per_kwh))
    return Prices(source, unit.currency, to_quarters(slots))


def _length(ordered: Sequence[_Raw], index: int) -> float:
    """Return how long a slot without an end lasts: until the next one, or as long as the one before."""
    if index + 1 < len(ordered):
        gap = ordered[index + 1][0] - ordered[index][0]
        if 0 < gap <= HOUR_S:
            return gap
    if index > 0:
        gap = ordered[index][0] - ordered[index - 1][0]
        if 0 < gap <= HOUR_S:
            return gap
    return HOUR_S


def to_quarters(slots: Iterable[PriceSlot]) -> tuple[PriceSlot, ...]:
    """Return `slots` as quarter hours in time order: longer slots cut in four, a finer slot wins an overlap.

    A list mixing hourly and quarter-hour prices for the same time (ENTSO-E's around the market's move to 15
    minutes) keeps the quarter's own price; of two slots as fine, the later in `slots` wins. Quarters a slot only
    partly covers are left out.
    """
    best: dict[float, tuple[float, PriceSlot]] = {}
    for slot in slots:
        length = slot.end - slot.start
        start = quarter_start(slot.start)
        if start < slot.start:
            start += QUARTER_S
        while start + QUARTER_S <= slot.end:
            held = best.get(start)
            if held is None or length <= held[0]:
                best[start] = (length, PriceSlot(start, start + QUARTER_S, slot.price))
            start += QUARTER_S
    return tuple(best[start][1] for start in sorted(best))


def _moment(value: Any) -> float:
    """Return a moment as epoch seconds: an aware datetime, an ISO 8601 text with its offset, or epoch seconds."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            raise PriceError(PriceErrorReason.MALFORMED, f"Not a time: {value!r}") from None
    if isinstance(value, datetime):
        if value.tzinfo is None:
            # A local time without its offset is an hour off twice a year, or off by a time zone: refuse it.
            raise PriceError(PriceErrorReason.MALFORMED, f"A time without its offset: {value.isoformat()}")
        return value.timestamp()
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    raise PriceError(PriceErrorReason.MALFORMED, f"Not a time: {value!r}")


def _price(value: Any) -> float | None:
    """Return a price as a float; None for a price the source does not know (None, "unavailable", NaN)."""
    if value is None:
        return None
    if isinstance(value, str):
        if value.strip().lower() in {"", "unknown", "unavailable", "none"}:
            return None
        try:
            value = float(value)
        except ValueError:
            raise PriceError(PriceErrorReason.MALFORMED, f"Not a price: {value!r}") from None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PriceError(PriceErrorReason.MALFORMED, f"Not a price: {value!r}")
    return float(value) if math.isfinite(value) else None


def _attribute_unit(attributes: Mapping[str, Any], *, default: PriceUnit) -> PriceUnit:
    unit = attributes.get("unit_of_measurement")
    if not isinstance(unit, str) or not unit.strip():
        return default
    return parse_unit(
        unit, currency=attributes.get("currency") if isinstance(attributes.get("currency"), str) else None
    )


def _epex_key(item: Mapping[str, Any]) -> tuple[str, str | None, float] | None:
    return next((entry for entry in _EPEX_KEYS if entry[0] in item), None)


def _items_have(items: Any, *keys: str) -> bool:
    """Return whether `items` is a list of mappings that have `keys` (judged on the first: an empty list has)."""
    if not isinstance(items, list):
        return False
    return not items or (isinstance(items[0], Mapping) and all(key in items[0] for key in keys))


def _dicts(items: Any) -> list[Mapping[str, Any]]:
    if not isinstance(items, list) or not all(isinstance(item, Mapping) for item in items):
        raise PriceError(PriceErrorReason.MALFORMED, "A price list that is not a list of entries")
    return items


def _field(item: Mapping[str, Any], key: str) -> Any:
    if key not in item:
        raise PriceError(PriceErrorReason.MALFORMED, f"A price entry without {key!r}", key=key)
    return item[key]


def _pick(per_key: Mapping[str, Any], key: str | None) -> list[Mapping[str, Any]]:
    """Return the list of the area or home `key`; the only one when `key` is None."""
    if key is None:
        if len(per_key) != 1:
            raise PriceError(
                PriceErrorReason.AREA_REQUIRED, "Several areas or homes: pick one", areas=", ".join(sorted(per_key))
            )
        return _dicts(next(iter(per_key.values())))
    if key not in per_key:
        raise PriceError(
            PriceErrorReason.AREA_NOT_FOUND, f"No prices for {key!r}", area=key, areas=", ".join(sorted(per_key))
        )
    return _dicts(per_key[key])


def _upper(currency: Any) -> str | None:
    return currency.upper() if isinstance(currency, str) and currency.strip() else None
