"""A repair issue when a charger stays unreachable: one log line is easy to miss, a charger gone for good is not.

For a loaded entry it listens to the heartbeat's availability (the 1 s tier), and leaves how that is judged to the
heartbeat; for an entry that cannot load (its charger unreachable since Home Assistant started), to its setup.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Final

from homeassistant.config_entries import ConfigEntry, ConfigEntryState
from homeassistant.const import CONF_HOST
from homeassistant.core import CALLBACK_TYPE, HassJob, HomeAssistant, callback
from homeassistant.helpers.event import async_call_later
from homeassistant.util.hass_dict import HassKey

from ..const import DOMAIN
from ..issues import CHARGER_UNREACHABLE, async_raise_issue, async_withdraw_issue

if TYPE_CHECKING:
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


NEVER_LOADED: Final[HassKey[dict[str, NeverLoadedRepair]]] = HassKey(f"{DOMAIN}_never_loaded")


class NeverLoadedRepair:
    """The same repair for an entry that does not load because its charger cannot be reached (setup retried).

    The clock starts at the first failed setup, and does not start again with each retry: raised OUTAGE_REPAIR_AFTER
    later if the entry is still retrying, withdrawn when it loads, or stops trying (unloaded, disabled, removed).
    """

    def __init__(self, hass: HomeAssistant, entry: ConfigEntry) -> None:
        """Start the clock for `entry`, whose setup has just failed for the first time."""
        self._hass = hass
        self._entry = entry
        self._timer: CALLBACK_TYPE | None = async_call_later(
            hass, OUTAGE_REPAIR_AFTER, HassJob(self._raise_issue, "never loaded repair", cancel_on_shutdown=True)
        )
        self._stop_listening = entry.async_on_state_change(self._state_changed)

    @classmethod
    @callback
    def async_setup_failed(cls, hass: HomeAssistant, entry: ConfigEntry) -> None:
        """Note that `entry`'s setup failed to reach its charger; the first failure starts the clock."""
        watched = hass.data.setdefault(NEVER_LOADED, {})
        if entry.entry_id not in watched:
            watched[entry.entry_id] = cls(hass, entry)

    @callback
    def _state_changed(self) -> None:
        if self._entry.state in (ConfigEntryState.SETUP_IN_PROGRESS, ConfigEntryState.SETUP_RETRY):
            return  # still trying
        if self._timer is not None:
            self._timer()
            self._timer = None
        async_withdraw_issue(self._hass, self._entry, CHARGER_UNREACHABLE)
        self._hass.data[NEVER_LOADED].pop(self._entry.entry_id, None)
        # Not while the entry calls its listeners: it goes through their list.
        self._hass.loop.call_soon(self._stop_listening)

    @callback
    def _raise_issue(self, _now: datetime) -> None:
        self._timer = None
        async_raise_issue(
            self._hass,
            self._entry,
            CHARGER_UNREACHABLE,
            self._entry.data[CONF_HOST],
            minutes=str(int(OUTAGE_REPAIR_AFTER.total_seconds() // 60)),
        )
