"""The options of smart charging (the entry's options flow) and their defaults."""

from __future__ import annotations

from datetime import time, timedelta
from typing import Final

from .controller import Settings

CONF_SMART_CHARGING: Final = "smart_charging"
CONF_GRID_SENSOR: Final = "grid_sensor"
CONF_GRID_EXPORT_SENSOR: Final = "grid_export_sensor"
CONF_BATTERY_SENSOR: Final = "battery_sensor"
CONF_START_DELAY: Final = "start_delay"
CONF_STOP_DELAY: Final = "stop_delay"
CONF_HYSTERESIS: Final = "hysteresis"
CONF_MAX_CURRENT: Final = "max_current"
# Where a charger stands in its site's order of precedence (higher first); the charger's own, like the maximum.
CONF_PRIORITY: Final = "priority"
DEFAULT_PRIORITY: Final = 5
# Planned charging: the day-ahead prices (each charger's own, like its plans).
CONF_PRICE_SENSOR: Final = "price_sensor"

# The options of a site (every charger on one grid sensor): the meter's sensors, the delays and the hysteresis. The
# others are each charger's own (smart charging on or off, the maximum current, the prices, the car's state of
# charge).
SITE_OPTIONS: Final = (
    CONF_GRID_SENSOR,
    CONF_GRID_EXPORT_SENSOR,
    CONF_BATTERY_SENSOR,
    CONF_START_DELAY,
    CONF_STOP_DELAY,
    CONF_HYSTERESIS,
)
# Planned charging (issue 25): a car's state of charge instead of an energy to add.
CONF_SOC_SENSOR: Final = "soc_sensor"
CONF_SOC_TARGET: Final = "soc_target"
CONF_BATTERY_CAPACITY: Final = "battery_capacity"
DEFAULT_SOC_TARGET: Final = 80  # %
DEFAULT_READY_BY: Final = time(7, 0)
DEFAULT_ENERGY_KWH: Final = 20.0  # about 100 km: a plan from the first car plugged in

DEFAULT_SETTINGS: Final = Settings()  # start after 120 s, stop after 240 s, 500 W hysteresis

# The controller decides once a second, on the realtime tier's fresh data.
SMART_INTERVAL: Final = timedelta(seconds=1)
# A grid reading not reported again for this long is stale: as good as missing.
GRID_STALE_AFTER: Final = timedelta(seconds=60)
