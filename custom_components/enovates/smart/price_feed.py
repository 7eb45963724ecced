"""The day-ahead prices of the sensor the user picked, read the way its integration gives them (prices.py parses).

The Home Assistant side of prices.py: ENTSO-E, the Nord Pool custom integration and EPEX Spot keep their prices in
the sensor's attributes (read when the sensor changes); Home Assistant's Nord Pool and Tibber answer a service call
(asked for today and tomorrow every quarter hour: tomorrow's come around 13:00 CET). What could not be read keeps
the last prices: a price sensor that goes unavailable leaves the plan as it was, and the planner puts what has no
price yet at the latest moment, so the car is still ready in time.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Final

from homeassistant.const import ATTR_UNIT_OF_MEASUREMENT, STATE_UNAVAILABLE, STATE_UNKNOWN
from homeassistant.core import CALLBACK_TYPE, Event, EventStateChangedData, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.event import async_track_state_change_event, async_track_time_interval
from homeassistant.util import dt as dt_util

from ..const import LOGGER
from .prices import (
    SERVICE_SOURCES,
    PriceError,
    Prices,
    PriceSource,
    identify_price_sensor,
    parse_price_attributes,
    parse_price_response,
    parse_unit,
)

# The services' prices are asked again this often (and at start).
SERVICE_INTERVAL: Final = timedelta(minutes=15)
_NO_VALUE: Final = (STATE_UNAVAILABLE, STATE_UNKNOWN)


def price_source(hass: HomeAssistant, entity_id: str) -> PriceSource:
    """Return which integration's prices `entity_id` has; raise PriceError when none or unreadable.

    The attribute sources are parsed too, so that an unknown unit is said in the options form, not found later.
    """
    state = hass.states.get(entity_id)
    entry = er.async_get(hass).async_get(entity_id)
    attributes: dict[str, Any] = dict(state.attributes) if state is not None else {}
    source = identify_price_sensor(attributes, platform=entry.platform if entry is not None else None)
    if source in SERVICE_SOURCES:
        # The prices come from the service; the sensor's unit says their currency.
        if isinstance(unit := attributes.get(ATTR_UNIT_OF_MEASUREMENT), str):
            parse_unit(unit)
    else:
        parse_price_attributes(attributes)
    return source


class PriceFeed:
    """The last prices read from one sensor (or its integration's service)."""

    def __init__(self, hass: HomeAssistant, entity_id: str) -> None:
        """Read `entity_id`'s prices once started."""
        self._hass = hass
        self.entity_id = entity_id
        self.prices: Prices | None = None
        self._failing = False

    @callback
    def async_start(self) -> CALLBACK_TYPE:
        """Read the prices now and whenever they may have changed; return what stops it."""
        asking: CALLBACK_TYPE | None = None  # a service's schedule, once the sensor is known to be one's

        @callback
        def changed(_event: Event[EventStateChangedData] | None = None) -> None:
            nonlocal asking
            if asking is not None:
                return  # its integration's service is asked on a schedule of its own
            state = self._hass.states.get(self.entity_id)
            registered = er.async_get(self._hass).async_get(self.entity_id) is not None
            if (state is None and registered) or (state is not None and state.state in _NO_VALUE):
                # Its integration has not loaded yet (Home Assistant starts them side by side), or the sensor is out
                # for a while: which integration it is, and its prices, are known once it has a value.
                return
            source = self._source()
            if source is None or source not in SERVICE_SOURCES:
                self._read()
                return
            self._hass.async_create_task(self.async_ask(source), eager_start=True)

            async def ask(_now: datetime) -> None:
                await self.async_ask(source)

            asking = async_track_time_interval(self._hass, ask, SERVICE_INTERVAL, cancel_on_shutdown=True)

        stop_following = async_track_state_change_event(self._hass, self.entity_id, changed)
        changed()

        @callback
        def stop() -> None:
            stop_following()
            if asking is not None:
                asking()

        return stop

    def _source(self) -> PriceSource | None:
        try:
            return price_source(self._hass, self.entity_id)
        except PriceError as err:
            self._failed(err)
            return None

    @callback
    def _read(self) -> None:
        """Parse the sensor's attributes; keep the last prices when it is unavailable or unreadable."""
        state = self._hass.states.get(self.entity_id)
        if state is None or state.state in _NO_VALUE:
            return
        try:
            self.prices = parse_price_attributes(state.attributes)
        except PriceError as err:
            self._failed(err)
            return
        self._recovered()

    async def async_ask(self, source: PriceSource) -> None:
        """Ask Nord Pool's or Tibber's service for today's and tomorrow's prices."""
        registry_entry = er.async_get(self._hass).async_get(self.entity_id)
        state = self._hass.states.get(self.entity_id)
        unit = state.attributes.get(ATTR_UNIT_OF_MEASUREMENT) if state is not None else None
        today = dt_util.now().date()
        try:
            currency = parse_unit(unit).currency if isinstance(unit, str) else None
            prices: Prices | None
            if source is PriceSource.TIBBER:
                start = dt_util.start_of_local_day()
                response = await self._call(
                    "tibber", "get_prices", {"start": start.isoformat(), "end": (start + timedelta(days=2)).isoformat()}
                )
                prices = parse_price_response(response, currency=currency)
            else:
                entry_id, unique_id = (
                    (registry_entry.config_entry_id, registry_entry.unique_id) if registry_entry else (None, "")
                )
                prices = await self._nordpool_day(entry_id, unique_id, today.isoformat(), currency)
                try:
                    tomorrow = await self._nordpool_day(
                        entry_id, unique_id, (today + timedelta(days=1)).isoformat(), currency
                    )
                except HomeAssistantError:
                    tomorrow = None  # not published yet (before about 13:00 CET): today's alone
                if prices is not None and tomorrow is not None:
                    prices = prices.merged(tomorrow)
        except (PriceError, HomeAssistantError) as err:
            self._failed(err)
            return
        if prices is not None:
            self.prices = prices
            self._recovered()

    async def _nordpool_day(
        self, entry_id: str | None, unique_id: str, day: str, currency: str | None
    ) -> Prices | None:
        response = await self._call("nordpool", "get_prices_for_date", {"config_entry": entry_id, "date": day})
        if not response:
            return None
        # An entry with several areas answers for each: the sensor's own is the one its unique id starts with
        # ("SE3-current_price").
        area = next((key for key in response if len(response) > 1 and unique_id.startswith(f"{key}-")), None)
        return parse_price_response(response, area=area, currency=currency)

    async def _call(self, domain: str, service: str, data: dict[str, Any]) -> dict[str, Any]:
        response = await self._hass.services.async_call(domain, service, data, blocking=True, return_response=True)
        return dict(response or {})

    def _failed(self, err: Exception) -> None:
        # Said once, not every quarter hour; the last prices are kept meanwhile.
        if not self._failing:
            LOGGER.warning("Smart charging cannot read the prices of %s: %s", self.entity_id, err)
        self._failing = True

    def _recovered(self) -> None:
        if self._failing:
            LOGGER.info("Smart charging reads the prices of %s again", self.entity_id)
        self._failing = False
