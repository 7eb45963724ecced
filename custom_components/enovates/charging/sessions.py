"""Charging sessions: from the moment a car is plugged in until it leaves, measured on the port's energy meter.

Followed where the data arrives (the polling tiers) and kept in a Store per entry; entities only show them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import partial
import hashlib
from typing import TYPE_CHECKING, Any, Final, Self

from homeassistant.const import EVENT_HOMEASSISTANT_STOP
from homeassistant.core import CALLBACK_TYPE, Event, HomeAssistant, callback
from homeassistant.helpers.event import async_track_time_interval
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util

from ..const import DOMAIN
from ..polling.realtime_maps import MEASUREMENTS
from .status import car_connected, pwm_offered

if TYPE_CHECKING:
    from homeassistant.config_entries import ConfigEntry

    from ..coordinator import EnovatesEmsControlCoordinator, EnovatesMode3Coordinator, EnovatesRealtimeCoordinator


@dataclass(frozen=True, kw_only=True)
class ChargingSession:
    """One session of a port; `end` is None while the car is still plugged in."""

    start: datetime
    start_wh: int  # the port's imported-energy counter at plug-in
    last_wh: int  # the counter when last seen (at unplug, once the session ended)
    # When the car was last known to be plugged in: the end of a session that ended while Home Assistant was down.
    last_seen: datetime
    end: datetime | None = None
    # The charger's transaction, once read during the session (with EMS control): a digest of its token, which is
    # the RFID tag's UID and is not kept as such. Another transaction means another car, seen or not.
    transaction: str | None = None

    @property
    def energy_wh(self) -> int:
        """Return the energy the car took in this session."""
        return self.last_wh - self.start_wh

    def duration(self, now: datetime) -> timedelta:
        """Return how long the car is (or was) plugged in."""
        return (self.end or now) - self.start

    def as_dict(self) -> dict[str, Any]:
        """Return the session as JSON-able data, to keep it across restarts."""
        return {
            "start": self.start.isoformat(),
            "start_wh": self.start_wh,
            "last_wh": self.last_wh,
            "last_seen": self.last_seen.isoformat(),
            "end": None if self.end is None else self.end.isoformat(),
            "transaction": self.transaction,
        }

    @classmethod
    def from_dict(cls, data: Any) -> Self | None:
        """Return the session stored by `as_dict`, or None when the data is not a session."""
        try:
            start = dt_util.parse_datetime(data["start"], raise_on_error=True)
            last_seen = dt_util.parse_datetime(data["last_seen"], raise_on_error=True)
            end = None if data["end"] is None else dt_util.parse_datetime(data["end"], raise_on_error=True)
            start_wh, last_wh = data["start_wh"], data["last_wh"]
            transaction = data.get("transaction")  # absent from sessions stored before transactions were followed
        except (KeyError, TypeError, ValueError):
            return None
        if not isinstance(start_wh, int) or not isinstance(last_wh, int):
            return None
        if transaction is not None and not isinstance(transaction, str):
            return None
        return cls(
            start=start, start_wh=start_wh, last_wh=last_wh, last_seen=last_seen, end=end, transaction=transaction
        )


@dataclass(frozen=True)
class TransactionReading:
    """A port's transaction token ("" or None between transactions), and when it was read."""

    token: str | None
    read_at: datetime

    def digest_for(self, session: ChargingSession) -> str | None:
        """Return the digest of the transaction of `session`, if read after that session started."""
        if not self.token or self.read_at < session.start:
            return None  # none, or read before this car came: the token of the car before
        return hashlib.sha256(self.token.encode()).hexdigest()[:16]


class SessionTracker:
    """Follows one port: a session starts when a car is plugged in and ends when it is unplugged.

    Its session is kept across restarts of Home Assistant (by EnovatesSessions). After a restart the first reading
    decides: a car still plugged in continues its session; one that left while Home Assistant was down ended its
    session when Home Assistant last saw it.
    """

    def __init__(self) -> None:
        """Start with no session known."""
        self.session: ChargingSession | None = None
        self._restored = False  # a kept session was offered, or the port was read: no (other) one is taken now
        self._restored_open = False
        self._waiting_seen: datetime | None = None  # when the car of the session was last seen offered nothing
        self._on_end: list[Callable[[ChargingSession], None]] = []

    def on_end(self, listener: Callable[[ChargingSession], None]) -> Callable[[], None]:
        """Call `listener` with each session that ends (as it is seen to); return the remover."""
        self._on_end.append(listener)
        return lambda: self._on_end.remove(listener)

    def _ended(self, session: ChargingSession) -> None:
        self.session = session
        for listener in list(self._on_end):
            listener(session)

    def restore(self, session: ChargingSession | None) -> bool:
        """Take back the session kept before the restart (None: none was kept); return whether it was taken.

        Only the first offer counts, and only before the port is first read: that reading decides what became of
        the session meanwhile.
        """
        if self._restored:
            return False
        self._restored = True
        if session is None:
            return False
        self.session = session
        self._restored_open = session.end is None
        return True

    def observe(
        self,
        connected: bool | None,
        energy_wh: int | None,
        now: datetime,
        transaction: TransactionReading | None = None,
        *,
        offering: bool = True,
    ) -> None:
        """Follow what the port reads now: whether a car is plugged in, its energy counter and its transaction.

        `offering`: whether the charger offers the car current (PWM on), which it does only once the car was started.
        """
        self._restored = True
        if connected is None or energy_wh is None:
            return  # unknown (an error state, a map not read): nothing to conclude
        session = self.session
        restored_open, self._restored_open = self._restored_open, False
        if connected:
            if not offering:
                self._waiting_seen = now
            digest = self._transaction_of(session, transaction, offering=offering)
            if session is not None and session.end is None and digest is not None and digest != session.transaction:
                if session.transaction is None:
                    session = self.session = replace(session, transaction=digest)
                else:
                    # Another transaction while the car seemed never to leave: the car we followed left unseen
                    # (while Home Assistant was down; last seen then) and another came, or a new one began.
                    self._ended(replace(session, end=session.last_seen))
                    session = None
            if session is None or session.end is not None:
                # Its transaction is taken at the next reading of the token (the one read so far is older).
                self.session = ChargingSession(start=now, start_wh=energy_wh, last_wh=energy_wh, last_seen=now)
                self._waiting_seen = None if offering else now
            elif energy_wh < session.start_wh:
                # The counter went back (a replaced meter): count from here rather than show negative energy.
                self.session = replace(session, start_wh=energy_wh, last_wh=energy_wh, last_seen=now)
            else:
                self.session = replace(session, last_wh=energy_wh, last_seen=now)
        elif session is not None and session.end is None:
            # Without a car the counter does not move: what it reads now is what the session took.
            end = session.last_seen if restored_open else now
            self._ended(replace(session, last_wh=max(energy_wh, session.start_wh), end=end))

    def _transaction_of(
        self, session: ChargingSession | None, transaction: TransactionReading | None, *, offering: bool
    ) -> str | None:
        """Return the digest of the transaction of `session` as `transaction` read it, if it can tell.

        The register holds the badge scanned last, kept after the car left: until this car is offered current (a
        badge or the back office started it), it may still show the one before; so may a token read while the car
        was last seen waiting.
        """
        if session is None or transaction is None or not offering:
            return None
        if self._waiting_seen is not None and transaction.read_at <= self._waiting_seen:
            return None
        return transaction.digest_for(session)

    def stored(self, now: datetime) -> ChargingSession | None:
        """Return the session to keep across a restart: an open one was seen until now."""
        session = self.session
        if session is not None and session.end is None and not self._restored_open:
            return replace(session, last_seen=now)
        return session


STORAGE_VERSION: Final = 1
# While nothing changes (a car waiting, paused) the duration still grows: the sessions are looked at every minute.
SESSION_TICK: Final = timedelta(minutes=1)
# An open session is written this often (as Home Assistant writes restore data): after a crash it ends no earlier.
SAVE_INTERVAL: Final = timedelta(minutes=15)


def storage_key(entry_id: str) -> str:
    """Return the storage key of an entry's sessions."""
    return f"{DOMAIN}.{entry_id}.sessions"


def _turned(before: ChargingSession | None, after: ChargingSession | None) -> bool:
    """Whether the session began, ended or changed what it counts from: worth storing at once."""
    if before is None or after is None:
        return before is not after
    return (before.start, before.start_wh, before.end, before.transaction) != (
        after.start,
        after.start_wh,
        after.end,
        after.transaction,
    )


class EnovatesSessions:
    """The charging sessions of a charger's ports, followed where the data arrives and kept in a Store.

    Each port's tracker reads the car from Mode 3 (10 s, or at once when a car comes or goes), the energy counter
    from the 1 s tier and, with EMS control, the transaction token: whatever entities are enabled. The session
    sensors and the Events entity only show what the trackers hold.
    """

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ConfigEntry,
        realtime: EnovatesRealtimeCoordinator,
        mode3: EnovatesMode3Coordinator,
        ems_control: EnovatesEmsControlCoordinator | None,
    ) -> None:
        """Follow the sessions of `realtime`'s charger's ports; the tokens need EMS control."""
        self._hass = hass
        self._realtime = realtime
        self._mode3 = mode3
        self._ems_control = ems_control
        self.trackers = {port: SessionTracker() for port in realtime.charger.ports}
        self._store: Store[dict[str, Any]] = Store(hass, STORAGE_VERSION, storage_key(entry.entry_id))
        self._listeners: dict[int, list[Callable[[], None]]] = {port: [] for port in self.trackers}
        self._measuring: dict[int, CALLBACK_TYPE] = {}

    async def async_load(self) -> None:
        """Take back the sessions kept before Home Assistant restarted."""
        stored = await self._store.async_load()
        if stored is None:
            return  # none kept yet: a session sensor of an older release may offer its own (restore)
        for port, tracker in self.trackers.items():
            tracker.restore(ChargingSession.from_dict(stored.get("sessions", {}).get(str(port))))

    @callback
    def restore(self, port: int, session: ChargingSession) -> None:
        """Take back a session a session sensor kept in its restore data, before sessions had their own Store.

        Drop once no release before this one is in use.
        """
        if self.trackers[port].restore(session):
            self._save()
            self._notify(port)

    @callback
    def async_start(self) -> CALLBACK_TYPE:
        """Follow every port from now on; return the stopper."""
        removers: list[CALLBACK_TYPE] = []
        for port in self.trackers:
            update = partial(self._update, port)
            removers.append(self._realtime.async_add_listener(update))
            removers.append(self._mode3.async_add_listener(update))
            if self._ems_control is not None:
                removers.append(self._ems_control.async_add_listener(update))
            update()  # what was read at setup is the first reading
        removers.append(async_track_time_interval(self._hass, self._tick, SESSION_TICK))
        removers.append(async_track_time_interval(self._hass, self._save_open, SAVE_INTERVAL))
        # Home Assistant does not unload entries when it stops: its final write takes the sessions as they are.
        removers.append(self._hass.bus.async_listen_once(EVENT_HOMEASSISTANT_STOP, self._stopping))

        @callback
        def stop() -> None:
            for remove in (*removers, *self._measuring.values()):
                remove()
            self._measuring.clear()

        return stop

    async def async_save(self) -> None:
        """Write the sessions now (the entry unloads: the next setup reads them at once)."""
        await self._store.async_save(self._data())

    @callback
    def async_listen(self, port: int, listener: Callable[[], None]) -> CALLBACK_TYPE:
        """Call `listener` when what `port`'s session shows may have changed; return the remover."""
        listeners = self._listeners[port]
        listeners.append(listener)
        return lambda: listeners.remove(listener)

    @callback
    def _update(self, port: int, *, tick: bool = False) -> None:
        tracker = self.trackers[port]
        before = tracker.session
        data = self._realtime.data[port]
        mode3 = self._mode3.data[port]
        connected = None if mode3 is None else car_connected(mode3)
        transaction = None
        if (ems_control := self._ems_control) is not None and ems_control.last_update_success:
            transaction = TransactionReading(ems_control.data.tokens[port], ems_control.data.read_at)
        tracker.observe(
            connected,
            None if data.measurements is None else data.measurements.active_energy_import_total,
            dt_util.utcnow(),
            transaction,
            offering=mode3 is not None and pwm_offered(mode3),
        )
        after = tracker.session
        self._read_energy(port, bool(connected) or (after is not None and after.end is None))
        if _turned(before, after):
            self._save()
        # The duration of an open session grows by itself: each tick is news even when nothing else changed.
        if after is not before or (tick and after is not None and after.end is None):
            self._notify(port)

    def _read_energy(self, port: int, wanted: bool) -> None:
        """Have the 1 s tier read `port`'s energy counter while a car is there, whatever entities are enabled.

        Without a car the counter does not move: the maps stay as the entities want them. A car found without a
        recent counter (no entity shows one) starts its session at the next poll, a second later.
        """
        if wanted and port not in self._measuring:
            self._measuring[port] = self._realtime.async_add_listener(_nothing, frozenset({(port, MEASUREMENTS)}))
        elif not wanted and (remove := self._measuring.pop(port, None)) is not None:
            remove()

    @callback
    def _tick(self, _now: datetime) -> None:
        for port in self.trackers:
            self._update(port, tick=True)  # also when nothing changed since, so the car is known to be there until now

    @callback
    def _stopping(self, _event: Event) -> None:
        self._save()

    @callback
    def _save_open(self, _now: datetime) -> None:
        if any(tracker.session is not None and tracker.session.end is None for tracker in self.trackers.values()):
            self._save()

    def _notify(self, port: int) -> None:
        for listener in list(self._listeners[port]):
            listener()

    @callback
    def _save(self) -> None:
        self._store.async_delay_save(self._data)

    def _data(self) -> dict[str, Any]:
        now = dt_util.utcnow()
        return {
            "sessions": {
                str(port): None if (session := tracker.stored(now)) is None else session.as_dict()
                for port, tracker in self.trackers.items()
            }
        }


@callback
def _nothing() -> None:
    """Listen to nothing: the listener only says which map to read."""
