"""Constants for the Enovates integration: config keys, polling tiers and EMS limit values."""

from __future__ import annotations

from datetime import timedelta
import logging
from typing import Final

DOMAIN: Final = "enovates"
LOGGER = logging.getLogger(__package__)

CONF_DUAL_PORT: Final = "dual_port"
CONF_EMS_CONTROL: Final = "ems_control"
DEFAULT_PORT: Final = 502

# Polling tiers, to spare the charger's small Modbus server: what changes fast is read often, the rest rarely.
REALTIME_INTERVAL: Final = timedelta(seconds=1)  # state, measurements, EMS limit, current offered
MODE3_INTERVAL: Final = timedelta(seconds=10)  # Mode 3 (IEC 61851 pilot) details
TOKEN_INTERVAL: Final = timedelta(minutes=1)  # transaction token, with EMS control only
DEVICE_INTERVAL: Final = timedelta(days=1)  # API version and diagnostics (identity, firmware)

# IEC 61851: below 6 A the car may not charge, so a limit of 1..5 A would pause as 0 A does, but ambiguously.
MIN_CHARGING_CURRENT_A: Final = 6
NO_EMS_LIMIT: Final = -1  # what the charger's EMS limit register holds when no limit applies
