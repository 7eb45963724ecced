"""How long the integration waits for a charger, and when it gives a connection or the charger up."""

from __future__ import annotations

from typing import Final

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
