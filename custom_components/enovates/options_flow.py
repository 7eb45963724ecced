"""The options of an Enovates entry: smart charging, where its power readings come from, and how it behaves."""

from __future__ import annotations

from typing import Any

from homeassistant.components.sensor import SensorDeviceClass
from homeassistant.config_entries import ConfigFlowResult, OptionsFlowWithReload
from homeassistant.helpers.selector import (
    BooleanSelector,
    EntitySelector,
    EntitySelectorConfig,
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
)

from .compat import vol
from .const import DOMAIN
from .smart.const import (
    CONF_BATTERY_CAPACITY,
    CONF_BATTERY_SENSOR,
    CONF_GRID_EXPORT_SENSOR,
    CONF_GRID_SENSOR,
    CONF_HYSTERESIS,
    CONF_MAX_CURRENT,
    CONF_PRICE_SENSOR,
    CONF_PRIORITY,
    CONF_SMART_CHARGING,
    CONF_SOC_SENSOR,
    CONF_SOC_TARGET,
    CONF_START_DELAY,
    CONF_STOP_DELAY,
    DEFAULT_PRIORITY,
    DEFAULT_SETTINGS,
    DEFAULT_SOC_TARGET,
    SITE_OPTIONS,
)
from .smart.price_feed import price_source
from .smart.prices import PriceError

_POWER_SENSOR = EntitySelector(EntitySelectorConfig(domain="sensor", device_class=SensorDeviceClass.POWER))
_SENSOR = EntitySelector(EntitySelectorConfig(domain="sensor"))


def _seconds(maximum: int) -> NumberSelector:
    return NumberSelector(
        NumberSelectorConfig(min=0, max=maximum, step=10, unit_of_measurement="s", mode=NumberSelectorMode.BOX)
    )


def _optional(key: str, values: dict[str, Any]) -> vol.Optional:
    """Return an optional field showing its value, if any (an empty default would not let a user clear it)."""
    if key in values:
        return vol.Optional(key, description={"suggested_value": values[key]})
    return vol.Optional(key)


def _schema(values: dict[str, Any]) -> vol.Schema:
    return vol.Schema(
        {
            vol.Required(CONF_SMART_CHARGING, default=values.get(CONF_SMART_CHARGING, True)): BooleanSelector(),
            _optional(CONF_GRID_SENSOR, values): _POWER_SENSOR,
            _optional(CONF_GRID_EXPORT_SENSOR, values): _POWER_SENSOR,
            _optional(CONF_BATTERY_SENSOR, values): _POWER_SENSOR,
            vol.Required(
                CONF_START_DELAY, default=values.get(CONF_START_DELAY, DEFAULT_SETTINGS.start_delay_s)
            ): vol.All(_seconds(1800), vol.Coerce(int)),
            vol.Required(CONF_STOP_DELAY, default=values.get(CONF_STOP_DELAY, DEFAULT_SETTINGS.stop_delay_s)): vol.All(
                _seconds(3600), vol.Coerce(int)
            ),
            vol.Required(CONF_HYSTERESIS, default=values.get(CONF_HYSTERESIS, DEFAULT_SETTINGS.hysteresis_w)): vol.All(
                NumberSelector(
                    NumberSelectorConfig(min=0, max=5000, step=50, unit_of_measurement="W", mode=NumberSelectorMode.BOX)
                ),
                vol.Coerce(int),
            ),
            _optional(CONF_MAX_CURRENT, values): vol.All(
                NumberSelector(
                    NumberSelectorConfig(min=6, max=80, step=1, unit_of_measurement="A", mode=NumberSelectorMode.BOX)
                ),
                vol.Coerce(int),
            ),
            # Optional, shown at the default: the options of chargers set up before it came stay as they were.
            vol.Optional(
                CONF_PRIORITY, description={"suggested_value": values.get(CONF_PRIORITY, DEFAULT_PRIORITY)}
            ): vol.All(
                NumberSelector(NumberSelectorConfig(min=1, max=9, step=1, mode=NumberSelectorMode.BOX)),
                vol.Coerce(int),
            ),
            # Planned charging: the day-ahead prices, and optionally the car's state of charge.
            _optional(CONF_PRICE_SENSOR, values): _SENSOR,
            _optional(CONF_SOC_SENSOR, values): EntitySelector(
                EntitySelectorConfig(domain="sensor", device_class=SensorDeviceClass.BATTERY)
            ),
            vol.Optional(
                CONF_SOC_TARGET, description={"suggested_value": values.get(CONF_SOC_TARGET, DEFAULT_SOC_TARGET)}
            ): vol.All(
                NumberSelector(
                    NumberSelectorConfig(min=10, max=100, step=1, unit_of_measurement="%", mode=NumberSelectorMode.BOX)
                ),
                vol.Coerce(int),
            ),
            _optional(CONF_BATTERY_CAPACITY, values): vol.All(
                NumberSelector(
                    NumberSelectorConfig(
                        min=5, max=250, step=0.5, unit_of_measurement="kWh", mode=NumberSelectorMode.BOX
                    )
                ),
                vol.Coerce(float),
            ),
        }
    )


class EnovatesOptionsFlow(OptionsFlowWithReload):
    """Smart charging: on or off, the grid (and battery) power sensors, the delays and the hysteresis."""

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Show the options; the entry reloads with the new ones."""
        errors: dict[str, str] = {}
        placeholders: dict[str, str] = {}
        if user_input is not None:
            if CONF_GRID_SENSOR not in user_input and (
                CONF_GRID_EXPORT_SENSOR in user_input or CONF_BATTERY_SENSOR in user_input
            ):
                errors[CONF_GRID_SENSOR] = "grid_sensor_required"
            # The same sensor given twice; without a meter neither is given, which is no clash.
            elif (
                CONF_GRID_EXPORT_SENSOR in user_input
                and user_input[CONF_GRID_SENSOR] == user_input[CONF_GRID_EXPORT_SENSOR]
            ):
                errors[CONF_GRID_EXPORT_SENSOR] = "same_sensor"
            elif CONF_SOC_SENSOR in user_input and CONF_BATTERY_CAPACITY not in user_input:
                errors[CONF_BATTERY_CAPACITY] = "battery_capacity_required"
            elif (error := self._price_error(user_input.get(CONF_PRICE_SENSOR))) is not None:
                errors[CONF_PRICE_SENSOR] = error.reason.value
                placeholders = {"unit": "", "areas": "", **error.placeholders}
            else:
                self._share_with_the_site(user_input)
                return self.async_create_entry(data=user_input)
        return self.async_show_form(
            step_id="init",
            data_schema=_schema(user_input or dict(self.config_entry.options)),
            errors=errors,
            description_placeholders=placeholders,
        )

    def _share_with_the_site(self, options: dict[str, Any]) -> None:
        """Give the other chargers on the same grid sensor the site's settings: one site, one set of them.

        They are not reloaded: the site takes these settings when this charger joins it again, in a moment.
        """
        if (grid_sensor := options.get(CONF_GRID_SENSOR)) is None:
            return
        site = {key: options[key] for key in SITE_OPTIONS if key in options}
        for entry in self.hass.config_entries.async_entries(DOMAIN):
            if entry.entry_id == self.config_entry.entry_id or entry.options.get(CONF_GRID_SENSOR) != grid_sensor:
                continue
            others = {key: value for key, value in entry.options.items() if key not in SITE_OPTIONS}
            self.hass.config_entries.async_update_entry(entry, options=others | site)

    def _price_error(self, entity_id: str | None) -> PriceError | None:
        """Return why `entity_id` is no price sensor planned charging can read (None: it is, or none was given)."""
        if entity_id is None:
            return None
        try:
            price_source(self.hass, entity_id)
        except PriceError as err:
            return err
        return None
