"""Constants for the Enovates integration: config keys, polling tiers and Modbus timing."""

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

# A slow link (weak Wi-Fi, powerline, a busy charger) may take up to 2 s to answer: wait that long and a bit, once.
# A request that still has no answer is not retried (the next poll is the retry) and leaves the connection open.
REQUEST_TIMEOUT_S: Final = 2.5
# Only a charger that has answered nothing at all for this long is reported unreachable (entities unavailable, one
# warning): one late answer, or one register map that does not answer, never makes a working charger unavailable.
# Long enough for two 2-s answers in a row, short enough to tell a user promptly that the charger is gone.
OUTAGE_AFTER_S: Final = 5.0
# A connection that has carried no answer for this long is closed and opened afresh. Not sooner: a charger that
# stalls answers on the same connection once it is back, and one that rebooted resets the connection by itself.
STALE_CONNECTION_AFTER_S: Final = 60.0

# IEC 61851: below 6 A the car may not charge, so a limit of 1..5 A would pause as 0 A does, but ambiguously.
MIN_CHARGING_CURRENT_A: Final = 6
NO_EMS_LIMIT: Final = -1  # what the charger's EMS limit register holds when no limit applies
