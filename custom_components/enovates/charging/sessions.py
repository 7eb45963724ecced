"""Charging sessions: from the moment a car is plugged in until it leaves, measured on the port's energy meter."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
import hashlib
from typing import Any, Self

from homeassistant.util import dt as dt_util


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

    Its session is kept across restarts of Home Assistant by the session sensors (their restore data). After a
    restart the first reading decides: a car still plugged in continues its session; one that left while Home
    Assistant was down ended its session when Home Assistant last saw it.
    """

    def __init__(self) -> None:
        """Start with no session known."""
        self.session: ChargingSession | None = None
        self._restored = False
        self._restored_open = False
        self._last_reading: tuple[bool, int, datetime, TransactionReading | None, bool] | None = None
        self._waiting_seen: datetime | None = None  # when the car of the session was last seen offered nothing
        self._on_restore: list[Callable[[], None]] = []
        self._on_end: list[Callable[[ChargingSession], None]] = []

    def on_restore(self, listener: Callable[[], None]) -> Callable[[], None]:
        """Call `listener` when a restored session replaces what the sensors show; return the remover."""
        self._on_restore.append(listener)
        return lambda: self._on_restore.remove(listener)

    def on_end(self, listener: Callable[[ChargingSession], None]) -> Callable[[], None]:
        """Call `listener` with each session that ends (as it is seen to); return the remover."""
        self._on_end.append(listener)
        return lambda: self._on_end.remove(listener)

    def _ended(self, session: ChargingSession) -> None:
        self.session = session
        for listener in list(self._on_end):
            listener(session)

    def restore(self, session: ChargingSession) -> None:
        """Take back the session kept before the restart, as the first session sensor to have it offers it.

        The sensors are added one after the other, so a sensor without stored data may have read the port
        already: a car it found plugged in continues the restored open session, and starts anew after an ended one.
        """
        if self._restored:
            return
        self._restored = True
        if self.session is not None and session.end is not None:
            return
        self.session = session
        self._restored_open = session.end is None
        if self._last_reading is not None:
            connected, energy_wh, now, transaction, offering = self._last_reading
            self.observe(connected, energy_wh, now, transaction, offering=offering)
        for listener in self._on_restore:
            listener()

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
        if connected is None or energy_wh is None:
            return  # unknown (an error state, a map not read): nothing to conclude
        self._last_reading = (connected, energy_wh, now, transaction, offering)
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
