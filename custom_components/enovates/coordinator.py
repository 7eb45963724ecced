"""One coordinator per polling tier, each reading the register maps of its tier for every port."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
import logging
import math
from typing import TYPE_CHECKING, Any, ClassVar, Final

from enovates_modbus.eno_one import APIVersion, Diagnostics, Measurements, Mode3Details, State
from homeassistant.config_entries import ConfigEntry
from homeassistant.core import CALLBACK_TYPE, HassJob, callback
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.debounce import Debouncer
from homeassistant.helpers.event import async_call_later
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed
from homeassistant.util import dt as dt_util

from .const import DEVICE_INTERVAL, DOMAIN, LOGGER, MODE3_INTERVAL, REALTIME_INTERVAL, TOKEN_INTERVAL
from .issues import COMPETING_CLIENT, EMS_CONTROL_UNAVAILABLE, async_raise_issue, async_withdraw_issue
from .modbus.charger import ChargerConnectionError, ChargerRejectedError, ChargerTimeoutError, EnovatesCharger
from .modbus.timing import OUTAGE_AFTER_S
from .polling.last_error import StampsLastFailure
from .polling.realtime_maps import (
    CURRENT_OFFERED,
    EMS_LIMIT,
    FIRST_MAPS,
    GIVE_WAY_BUDGET_S,
    GIVE_WAY_MAPS,
    GIVE_WAY_MAX_AGE_S,
    IDLE_EVERY_S,
    INSTALLATION,
    MEASUREMENTS,
    READERS,
    STATE,
    MapReading,
    car_arriving,
    no_car,
)

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from homeassistant.core import HomeAssistant


@dataclass(frozen=True, kw_only=True)
class DeviceData:
    """The charger-wide identity, read daily."""

    api_version: APIVersion
    diagnostics: Diagnostics


@dataclass(frozen=True, kw_only=True)
class RealtimeData:
    """One port's fast-changing values, read every second; a map the charger refused to give is None."""

    state: State | None
    measurements: Measurements | None
    ems_limit_ma: int | None
    current_offered_ma: int | None


@dataclass(frozen=True, kw_only=True)
class EmsControlData:
    """Whether the charger lets the integration set the EMS limit (EMS mode Full Control), and the tokens."""

    allowed: bool
    tokens: dict[int, str | None]
    read_at: datetime  # when the tokens were read: a session takes only a token read after it began


def port_data[T](port: int) -> Callable[[dict[int, T]], T]:
    """Return a picker of one port's data out of a per-port tier's data."""
    return lambda data: data[port]


def port_state(port: int) -> Callable[[dict[int, RealtimeData]], State | None]:
    """Return a picker of one port's state map out of the realtime tier's data."""
    return lambda data: data[port].state


def port_measurements(port: int) -> Callable[[dict[int, RealtimeData]], Measurements | None]:
    """Return a picker of one port's measurements map out of the realtime tier's data."""
    return lambda data: data[port].measurements


def port_token(port: int) -> Callable[[EmsControlData], str | None]:
    """Return a picker of one port's transaction token out of the EMS control tier's data."""
    return lambda data: data.tokens[port]


# The heartbeat logs once when the charger becomes unreachable (a warning) and once when it is back (info).
HEARTBEAT_LOGGER = LOGGER.getChild("connection")


class EnovatesCoordinator[DataT](StampsLastFailure, DataUpdateCoordinator[DataT]):
    """A polling tier: turns the charger's errors into translated update failures."""

    config_entry: ConfigEntry

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ConfigEntry,
        charger: EnovatesCharger,
        *,
        name: str,
        update_interval: timedelta,
        logger: logging.Logger = LOGGER,
    ) -> None:
        """Poll `charger` every `update_interval`."""
        super().__init__(
            hass,
            logger,
            config_entry=entry,
            name=f"{DOMAIN} {name}",
            update_interval=update_interval,
            # Listeners (entities) are only called when a value changed: most seconds nothing does.
            always_update=False,
            # A requested refresh (a write, a car that came, the charger back) runs now, one at a time; Home
            # Assistant's default would hold a second request for 10 s.
            request_refresh_debouncer=Debouncer(hass, logger, cooldown=0, immediate=True),
        )
        self.charger = charger
        # A refresh requested while a scheduled one runs waits for it: polls of a tier never overlap.
        self._polling = asyncio.Lock()

    async def _async_update_data(self) -> DataT:
        try:
            async with self._polling:
                return await self._fetch()
        except ChargerConnectionError as err:
            if self.charger.closed and self.data is not None:
                # Unloading or shutting down: the charger did not fail, we hung up on it.
                return self.data
            raise UpdateFailed(
                translation_domain=DOMAIN,
                translation_key="communication_error",
                translation_placeholders={"host": self.charger.host, "error": str(err)},
            ) from err
        except ChargerRefusesEverythingError as err:
            raise UpdateFailed(
                translation_domain=DOMAIN,
                translation_key="ems_mode_off",
                translation_placeholders={"host": self.charger.host},
            ) from err
        except ChargerRejectedError as err:
            raise UpdateFailed(
                translation_domain=DOMAIN,
                translation_key="request_rejected",
                translation_placeholders={"host": self.charger.host, "error": str(err)},
            ) from err

    async def _fetch(self) -> DataT:
        raise NotImplementedError


# Home Assistant schedules a coordinator's next poll at the whole second, plus an offset of its own (up to half a
# second, spreading the polls of many coordinators), plus the interval: an interval of a few microseconds would still
# wait for that offset. Minus a second puts that moment in the past, so the next poll starts at once. (An interval of
# 0 stops polling.)
_AT_ONCE: Final = timedelta(seconds=-1)
# How long the 1 s tier holds the slower tiers back after each of its polls on a slow link: longer than its next poll
# takes (which renews it), short enough that a hold nobody renews (the tier stopped polling) passes by itself.
BACKGROUND_HOLD_S: Final = 10.0
LINK: Final = "the connection"  # what went unanswered when the connection itself failed (refused, dropped, closed)


class ChargerRefusesEverythingError(ChargerRejectedError):
    """The charger answers every request with an exception: its EMS mode is Off, on a firmware that keeps listening."""


async def _or_none[T](read: Awaitable[T]) -> T | None:
    """Read one map; a Modbus exception answer makes only that map unknown (the connection is fine)."""
    try:
        return await read
    except ChargerRejectedError as err:
        LOGGER.debug("The charger refused a read: %s", err)
        return None


def _plugged_changed(before: RealtimeData, after: RealtimeData) -> bool:
    if before.state is None or after.state is None:
        return False
    return (before.state.lock_state, before.state.contactor_state) != (
        after.state.lock_state,
        after.state.contactor_state,
    )


class EnovatesRealtimeCoordinator(EnovatesCoordinator[dict[int, RealtimeData]]):
    """Every second: state, measurements, EMS limit and current offered, per port; less while no car is plugged in.

    Also the heartbeat: whether the charger is reachable is this tier's to tell, and it tells it from the charger's
    silence, not from one poll. A poll that does not get all its answers keeps the values it has (a late answer, a
    map that does not answer), and the charger is only reported unreachable once nothing at all has answered for
    OUTAGE_AFTER_S (one map that alone goes unanswered is that map's silence): by the poll that notices, or by a
    watchdog in between polls. When it comes back after an outage, the slower tiers are read again at once (the
    charger may have rebooted into a new firmware).
    """

    def __init__(self, hass: HomeAssistant, entry: ConfigEntry, charger: EnovatesCharger) -> None:
        """Poll every second."""
        super().__init__(
            hass, entry, charger, name="realtime", update_interval=REALTIME_INTERVAL, logger=HEARTBEAT_LOGGER
        )
        self.followers: list[EnovatesSlowCoordinator[Any]] = []
        # The Mode 3 tier, once it exists: with the state map, it tells whether a car is plugged in.
        self.mode3: EnovatesMode3Coordinator | None = None
        self.reachable = True
        self._readings: dict[tuple[int, str], MapReading] = {}
        self._cancel_watchdog: CALLBACK_TYPE | None = None
        self._poll_started = -math.inf
        # This poll's reads and the refusals among them: a charger that refuses every one has its EMS mode Off.
        self._reads = 0
        self._refusals: list[ChargerRejectedError] = []
        # The maps that went unanswered in this poll (they give way on every port), and those that answered.
        self._given_way: set[str] = set()
        self._answered: set[tuple[int, str]] = set()
        # Whether this poll asked for more than its first maps beyond its second (a slow link): one such a poll.
        self._extra_used = False
        # Whether the last poll's one such request was this tier's, and whether this poll leaves its own to a slower
        # tier's request that waits: on a link slower than a second an answer, a map that gave way is overdue at
        # every poll, and would otherwise keep Mode 3 and the token from ever being read.
        self._extra_was_ours = False
        self._extra_left = False
        # What went unanswered since the charger last answered anything: map names, and LINK for the connection.
        self._silence_began: float | None = None
        self._unanswered: set[str] = set()
        self._maps_asked = 0  # distinct maps this tier asks for
        # What this poll wants of each port, and whether it is the first (at setup, when every map is read).
        self._wanted: dict[int, set[str]] = {}
        self._setting_up = True

    async def _async_update_data(self) -> dict[int, RealtimeData]:
        setting_up = self.data is None
        try:
            data = await super()._async_update_data()
        except UpdateFailed as err:
            self.reachable = False
            self._report_outage(err)
            self.charger.hold_background(0)
            raise
        finally:
            self._update_competition_issue()
        if not self.reachable:
            self.reachable = True
            for follower in self.followers:
                follower.refresh_soon()
        elif self.data and any(_plugged_changed(self.data[port], data[port]) for port in data):
            # The cable lock or the contactor moved: a car came, went, started or stopped. Read Mode 3 now
            # rather than up to 10 s later.
            for follower in self.followers:
                if follower.REFRESH_WHEN_A_CAR_MOVES:
                    follower.refresh_soon()
        # A poll that took its whole second (a slow link) is followed by the next at once, not at the next whole
        # second: polls never overlap, and power, energy and current offered stay as fresh as the link allows.
        took = self.hass.loop.time() - self._poll_started
        back_to_back = took >= REALTIME_INTERVAL.total_seconds()
        self.update_interval = _AT_ONCE if back_to_back else REALTIME_INTERVAL
        if back_to_back and not setting_up:
            # The slower tiers' requests come between two polls one at a time, and only after a poll that asked
            # nothing beyond its first maps: power and current offered are never more than one request late.
            self.charger.hold_background(BACKGROUND_HOLD_S)
            if not self._extra_used:
                self.charger.admit_background()
            self._extra_was_ours = self._extra_used
        else:
            self.charger.hold_background(0)
            self._extra_was_ours = False
        self._arm_watchdog()
        return data

    def _arm_watchdog(self, delay: float | None = None) -> None:
        """Look again when the charger will have been silent for the outage bound, should no answer come by then."""
        if self._cancel_watchdog is not None:
            self._cancel_watchdog()
        if delay is None:
            delay = max(0.0, OUTAGE_AFTER_S - self.charger.silent_for)
        self._cancel_watchdog = async_call_later(
            self.hass, delay, HassJob(self._watchdog, f"{self.name} watchdog", cancel_on_shutdown=True)
        )

    @callback
    def _watchdog(self, _now: datetime) -> None:
        self._cancel_watchdog = None
        if not self._polling.locked() or not self.last_update_success or self.charger.closed:
            return  # no poll waits for an answer: the next one tells, and arms the watchdog again
        if not self.charger.silent:
            self._arm_watchdog()  # still answering
            return
        if (waited := self.hass.loop.time() - self._poll_started) < OUTAGE_AFTER_S - 1:
            # The poll has only just begun: it did not wait in vain yet (an event loop that was held up for seconds
            # makes every timer late at once, the poll's and this one's).
            self._arm_watchdog(OUTAGE_AFTER_S - 1 - waited)
            return
        if not self._charger_silent():
            # Silent so far only on one map that gives way: the poll asks another next. Look again in a second.
            self._arm_watchdog(REALTIME_INTERVAL.total_seconds())
            return
        # A poll is still waiting for an answer that does not come: report the outage now, not when it gives up.
        self.reachable = False
        err = self._unreachable(f"no answer for {OUTAGE_AFTER_S:g} s")
        self._report_outage(err)
        self.last_exception = err
        self.async_update_listeners()

    def _report_outage(self, err: UpdateFailed) -> None:
        """Say once, as a warning, that the charger cannot be reached: an unplugged charger is no bug.

        Home Assistant's coordinator would log it as an error; it logs a failure only while the last update counts
        as a success, so that is set here. When the charger is back, it logs the recovery (info). A failure of the
        first refresh is not logged here either: it fails the setup, which Home Assistant reports and retries.
        """
        if self.last_update_success and self.data is not None:
            self.logger.warning("%s", err)
            self.last_update_success = False

    async def async_shutdown(self) -> None:
        """Stop the watchdog with the polls."""
        if self._cancel_watchdog is not None:
            self._cancel_watchdog()
            self._cancel_watchdog = None
        self.charger.hold_background(0)
        await super().async_shutdown()

    @callback
    def _update_competition_issue(self) -> None:
        if self.charger.contended:
            async_raise_issue(self.hass, self.config_entry, COMPETING_CLIENT, self.charger.host)
        else:
            async_withdraw_issue(self.hass, self.config_entry, COMPETING_CLIENT)

    def _maps_wanted(self) -> tuple[dict[int, set[str]], bool]:
        """Return the maps of each port that enabled entities show (their listener contexts).

        And whether the installation currents are among them.
        """
        wanted: dict[int, set[str]] = {port: set() for port in self.charger.ports}
        installation = False
        for context in self.async_contexts():
            for port, name in context:
                installation = installation or name == INSTALLATION
                # The installation currents are port 1's measurements, read whether a car is there or not.
                wanted[port].add(MEASUREMENTS if name == INSTALLATION else name)
        return wanted, installation

    def _no_car_anywhere(self) -> bool:
        """Whether no car is plugged in at any port, as the state map and Mode 3 last told."""
        mode3 = None if self.mode3 is None else self.mode3.data
        return (
            bool(self.data)
            and mode3 is not None
            and all(no_car(self.data[port].state, mode3.get(port)) for port in self.charger.ports)
        )

    @callback
    def async_set_ems_limit_read(self, port: int, limit_ma: int) -> None:
        """Show the limit a write read back at once, and keep it as this map's reading.

        The next poll may not read the map again (it gives way): the reading from before the write would bring the
        old limit back.
        """
        self._reading(port, EMS_LIMIT).answered(limit_ma, self.hass.loop.time())
        data = dict(self.data)
        data[port] = replace(data[port], ems_limit_ma=limit_ma)
        self.async_set_updated_data(data)

    def _reading(self, port: int, name: str) -> MapReading:
        return self._readings.setdefault((port, name), MapReading())

    def _charger_silent(self) -> bool:
        """Whether nothing at all has answered for OUTAGE_AFTER_S.

        One map that alone went unanswered in that time, while this tier asks others too, is that map's silence:
        the next request asks another.
        """
        if not self.charger.silent:
            return False
        self._track_silence()
        return len(self._unanswered) != 1 or LINK in self._unanswered or self._maps_asked <= 1

    def _track_silence(self) -> None:
        if self.charger.silent_since != self._silence_began:
            self._silence_began, self._unanswered = self.charger.silent_since, set()

    async def _read(self, port: int, name: str) -> None:
        """Read one map into its reading; raise only when the charger as a whole is unreachable."""
        reading = self._reading(port, name)
        loop_time = self.hass.loop.time
        self._reads += 1
        reading.asked_at = loop_time()
        try:
            value = await READERS[name](self.charger, port)
        except ChargerRejectedError as err:
            LOGGER.debug("The charger refused %s of port %s: %s", name, port, err)
            reading.answered(None, loop_time())
            self._answered.add((port, name))
            self._refusals.append(err)
        except ChargerConnectionError as err:
            self._track_silence()
            if isinstance(err, ChargerTimeoutError):
                # The charger answers, but not this (yet): the map gives way on every port, to the maps that
                # answer; it is asked again next poll, then less often.
                self._unanswered.add(name)
                self._given_way.add(name)
                for other in self.charger.ports:
                    if other == port or (other, name) not in self._answered:
                        self._reading(other, name).went_unanswered(loop_time())
            else:
                self._unanswered.add(LINK)
            if self.data is None or self.charger.closed or self._charger_silent():
                raise
            LOGGER.debug("No answer for %s of port %s (keeping the last value): %s", name, port, err)
        else:
            reading.answered(value, loop_time())
            self._answered.add((port, name))

    async def _fetch(self) -> dict[int, RealtimeData]:
        ports = self.charger.ports
        setting_up = not self.data  # None until the first refresh
        if setting_up:
            # At setup, before any entity listens: read everything, so entities start with their values.
            wanted, installation = {port: set(READERS) for port in ports}, False
        else:
            wanted, installation = self._maps_wanted()
        if not self.reachable:
            for reading in self._readings.values():
                reading.forget()  # back after an outage: no value from before it, but what the maps taught stays
        if not any(wanted.values()):
            # No entity of this tier is enabled, but the heartbeat must still beat: the smallest map will do.
            wanted[ports[0]] = {CURRENT_OFFERED}
        self._wanted, self._setting_up = wanted, setting_up
        self._maps_asked = len(set().union(*wanted.values()))
        self._poll_started = self.hass.loop.time()
        self._reads, self._refusals, self._extra_used = 0, [], False
        # The slower tiers' requests held back are the only ones waiting when a poll starts: every other poll is theirs.
        self._extra_left = self._extra_was_ours and self.charger.requests_waiting > 0
        self._given_way, self._answered = set(), set()

        if not self.reachable:
            await self._find_the_charger_again()
        # Power, energy and current offered first; while no car is plugged in, what tells one arriving.
        every_port_first = [(port, name) for name in FIRST_MAPS for port in ports]
        idle = not setting_up and self._no_car_anywhere()
        if idle:
            await self._read_each([(port, STATE) for port in ports] + ([(ports[0], MEASUREMENTS)] * installation))
            if any(car_arriving(self._reading(port, STATE).value) for port in ports):
                idle = False  # a car came: everything from this poll on, its energy from the start
                await self._read_each(every_port_first)
        else:
            await self._read_each(every_port_first)
        await self._read_giving_way(idle)
        await self._retry_a_silent_map()

        if self._refusals and len(self._refusals) == self._reads:
            # Nothing but refusals: the charger is reachable and serves nothing, which no entity can tell alone.
            raise ChargerRefusesEverythingError(str(self._refusals[-1]))
        now = self.hass.loop.time()

        def value(port: int, name: str) -> Any:
            reading = self._readings.get((port, name))
            if reading is None or not reading.available(now):
                return None
            # A map no entity asked for this time (a poll between the first, which reads them all, and the entities'
            # arrival) keeps a recent reading: the entities start with it rather than unavailable.
            return reading.value if name in wanted[port] or now - reading.read_at < GIVE_WAY_MAX_AGE_S else None

        return {
            port: RealtimeData(
                state=value(port, STATE),
                measurements=value(port, MEASUREMENTS),
                ems_limit_ma=value(port, EMS_LIMIT),
                current_offered_ma=value(port, CURRENT_OFFERED),
            )
            for port in ports
        }

    def _may_ask(self, port: int, name: str) -> bool:
        """Whether this poll may ask for a map: wanted, not answered yet, and not giving way to the others."""
        return (
            name in self._wanted[port]
            and (port, name) not in self._answered
            and name not in self._given_way
            and (self._setting_up or not self._reading(port, name).quiet)
        )

    def _extra_free(self) -> bool:
        """Whether this poll may still ask for one map beyond its second: not yet, and not a slower tier's turn."""
        return not self._extra_used and not self._extra_left

    def _fits(self) -> bool:
        """Whether one more request would still end this poll within its second (less a margin)."""
        return self.hass.loop.time() - self._poll_started + self.charger.link.typical_round_trip_s <= GIVE_WAY_BUDGET_S

    async def _read_each(self, maps: list[tuple[int, str]]) -> None:
        for port, name in maps:
            if self._may_ask(port, name):
                await self._read(port, name)

    async def _read_giving_way(self, idle: bool) -> None:
        """Read the maps that give way, oldest first: while they fit in the second, or (one a poll) once overdue.

        While no car is plugged in, each is read only as often as it can change (IDLE_EVERY_S).
        """
        names = IDLE_EVERY_S if idle else GIVE_WAY_MAPS
        waiting = sorted(
            ((port, name) for name in names for port in self.charger.ports),
            key=lambda key: self._reading(*key).read_at,
        )
        for port, name in waiting:
            if not self._may_ask(port, name):
                continue
            age = self.hass.loop.time() - self._reading(port, name).read_at
            # Polls start at whole seconds and readings come a moment later: due half a second early, or a second late.
            due = age >= IDLE_EVERY_S[name] - 0.5 if idle else age >= GIVE_WAY_MAX_AGE_S
            fits = self._fits()
            # At setup every map is read, however slow the link: an entity would otherwise start unavailable.
            if self._setting_up or (fits and (due or not idle)) or (due and self._extra_free()):
                self._extra_used = self._extra_used or not fits
                await self._read(port, name)

    async def _find_the_charger_again(self) -> None:
        """While the charger is unreachable: ask each map in turn, one a poll, until one answers.

        In turn, so that one map that stays silent once the charger is back does not keep it unreachable. The first
        answer ends the outage, and with it the silence of every map (it was the charger's): the poll goes on as
        usual.
        """
        maps = [(port, name) for port in self.charger.ports for name in READERS if name in self._wanted[port]]
        for port, name in sorted(maps, key=lambda key: self._reading(*key).asked_at):
            await self._read(port, name)  # raises while the charger stays silent
            if (port, name) in self._answered:
                for reading in self._readings.values():
                    reading.heard_again()
                return
        # Asked, and nothing answered (though a late answer made the silence start again): still unreachable.
        raise self._unreachable("no answer")

    async def _retry_a_silent_map(self) -> None:
        """Ask one map that went unanswered again, once its retry is due."""
        now = self.hass.loop.time()
        silent = [
            (port, name)
            for port in self.charger.ports
            for name in READERS
            if name in self._wanted[port]
            and name not in self._given_way
            and (reading := self._reading(port, name)).quiet
            and reading.retry_at <= now
        ]
        if silent and ((fits := self._fits()) or self._extra_free()):
            self._extra_used = self._extra_used or not fits
            await self._read(*min(silent, key=lambda key: self._reading(*key).asked_at))

    def _unreachable(self, error: str) -> UpdateFailed:
        return UpdateFailed(
            translation_domain=DOMAIN,
            translation_key="communication_error",
            translation_placeholders={"host": self.charger.host, "error": error},
        )


class EnovatesSlowCoordinator[DataT](EnovatesCoordinator[DataT]):
    """A tier slower than the heartbeat; it leaves telling about outages to the heartbeat.

    While the heartbeat cannot reach the charger this tier does not try (its entities are unavailable through the
    heartbeat anyway); a connection failure of its own keeps its last data for the heartbeat to notice. Only its
    first read, at setup, fails loudly.
    """

    REFRESH_WHEN_A_CAR_MOVES: ClassVar[bool] = False

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ConfigEntry,
        heartbeat: EnovatesRealtimeCoordinator,
        *,
        name: str,
        update_interval: timedelta,
    ) -> None:
        """Poll every `update_interval`, following `heartbeat`."""
        super().__init__(hass, entry, heartbeat.charger, name=name, update_interval=update_interval)
        self.heartbeat = heartbeat
        heartbeat.followers.append(self)

    def refresh_soon(self) -> None:
        """Read this tier again now (after an outage)."""
        self.config_entry.async_create_background_task(
            self.hass, self.async_request_refresh(), f"{self.name} refresh after outage"
        )

    async def _async_update_data(self) -> DataT:
        if self.data is not None and not self.heartbeat.reachable:
            return self.data
        try:
            return await super()._async_update_data()
        except UpdateFailed as err:
            if self.data is not None and isinstance(err.__cause__, ChargerConnectionError):
                LOGGER.debug("%s: %s", self.name, err)
                return self.data
            raise


class EnovatesDeviceCoordinator(EnovatesSlowCoordinator[DeviceData]):
    """Daily: API version and diagnostics (identity, firmware), charger-wide."""

    def __init__(self, hass: HomeAssistant, entry: ConfigEntry, heartbeat: EnovatesRealtimeCoordinator) -> None:
        """Poll the identity daily."""
        super().__init__(hass, entry, heartbeat, name="device", update_interval=DEVICE_INTERVAL)

    async def _fetch(self) -> DeviceData:
        try:
            api_version = await self.charger.read_api_version()
        except ChargerRejectedError as err:
            # Every ENO one serves its API version, unless its EMS mode is Off on a firmware that keeps listening.
            raise ChargerRefusesEverythingError(str(err)) from err
        return DeviceData(api_version=api_version, diagnostics=await self.charger.read_diagnostics())


class EnovatesMode3Coordinator(EnovatesSlowCoordinator[dict[int, Mode3Details | None]]):
    """Every 10 seconds, and when a car comes or goes: the IEC 61851 pilot details, per port."""

    REFRESH_WHEN_A_CAR_MOVES = True

    def __init__(self, hass: HomeAssistant, entry: ConfigEntry, heartbeat: EnovatesRealtimeCoordinator) -> None:
        """Poll every 10 seconds."""
        super().__init__(hass, entry, heartbeat, name="mode3", update_interval=MODE3_INTERVAL)
        heartbeat.mode3 = self

    async def _fetch(self) -> dict[int, Mode3Details | None]:
        charger = self.charger
        return {port: await _or_none(charger.read(Mode3Details, port)) for port in charger.ports}


class EnovatesEmsControlCoordinator(EnovatesSlowCoordinator[EmsControlData]):
    """Every minute, with EMS control only: whether the charger still allows it, and the transaction tokens.

    The token is the reliable probe: it reads only in EMS mode Full Control, whereas limit writes are acknowledged
    in Monitoring Only too. When the installer switched the charger back, a repair issue says what to do; it goes
    away by itself once Full Control is back.
    """

    # A badge scanned starts the car: read the token when the contactor moves, not up to a minute later.
    REFRESH_WHEN_A_CAR_MOVES = True

    def __init__(self, hass: HomeAssistant, entry: ConfigEntry, heartbeat: EnovatesRealtimeCoordinator) -> None:
        """Poll every minute."""
        super().__init__(hass, entry, heartbeat, name="ems_control", update_interval=TOKEN_INTERVAL)

    async def _fetch(self) -> EmsControlData:
        tokens: dict[int, str | None] = {}
        allowed = True
        read_at = dt_util.utcnow()
        for port in self.charger.ports:
            try:
                tokens[port] = await self.charger.read_transaction_token(port) or None
            except ChargerRejectedError:
                tokens[port] = None
                allowed = False
        if allowed:
            async_withdraw_issue(self.hass, self.config_entry, EMS_CONTROL_UNAVAILABLE)
        else:
            async_raise_issue(
                self.hass, self.config_entry, EMS_CONTROL_UNAVAILABLE, self.charger.host, ir.IssueSeverity.ERROR
            )
        return EmsControlData(allowed=allowed, tokens=tokens, read_at=read_at)
