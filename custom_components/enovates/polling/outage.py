"""A repair issue when a charger stays unreachable: one log line is easy to miss, a charger gone for good is not.

It listens to the heartbeat's availability (the 1 s tier), and leaves how that is judged to the heartbeat.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Final

from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers.event import async_call_later

from ..issues import CHARGER_UNREACHABLE, async_raise_issue, async_withdraw_issue

if TYPE_CHECKING:
    from homeassistant.config_entries import ConfigEntry

    from ..coordinator import EnovatesRealtimeCoordinator

# Long enough for a reboot (a few minutes after power-up), a firmware update or a Wi-Fi hiccup to pass unreported;
# short enough that a charger switched off at its breaker is noticed the same evening.
OUTAGE_REPAIR_AFTER: Final = timedelta(minutes=15)


class OutageRepair:
    """Raises the charger_unreachable repair issue once the charger has been unreachable for OUTAGE_REPAIR_AFTER.

    The issue goes away by itself as soon as the charger answers again (or the entry is unloaded).
    """

    def __init__(self, hass: HomeAssistant, entry: ConfigEntry, heartbeat: EnovatesRealtimeCoordinator) -> None:
        """Watch `heartbeat`, the tier that tells whether `entry`'s charger is reachable."""
        self._hass = hass
        self._entry = entry
        self._heartbeat = heartbeat
        self._timer: CALLBACK_TYPE | None = None

    @callback
    def async_start(self) -> CALLBACK_TYPE:
        """Start watching; return what stops it (and withdraws the issue)."""
        # An empty context: this listener wants no register map read for it, only to hear about availability.
        remove_listener = self._heartbeat.async_add_listener(self._availability_changed, frozenset())
        self._availability_changed()

        @callback
        def stop() -> None:
            remove_listener()
            self._cancel_timer()
            async_withdraw_issue(self._hass, self._entry, CHARGER_UNREACHABLE)

        return stop

    @callback
    def _availability_changed(self) -> None:
        if self._heartbeat.last_update_success:
            self._cancel_timer()
            async_withdraw_issue(self._hass, self._entry, CHARGER_UNREACHABLE)
        elif self._timer is None:
            self._timer = async_call_later(self._hass, OUTAGE_REPAIR_AFTER, self._raise_issue)

    @callback
    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer()
            self._timer = None

    @callback
    def _raise_issue(self, _now: datetime) -> None:
        self._timer = None
        async_raise_issue(
            self._hass,
            self._entry,
            CHARGER_UNREACHABLE,
            self._heartbeat.charger.host,
            minutes=str(int(OUTAGE_REPAIR_AFTER.total_seconds() // 60)),
        )
