"""One coordinator per polling tier, each reading the register maps of its tier for every port."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
import logging
from typing import TYPE_CHECKING, Any, ClassVar, Final

from enovates_modbus.eno_one import APIVersion, CurrentOffered, Diagnostics, Measurements, Mode3Details, State
from homeassistant.config_entries import ConfigEntry
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.debounce import Debouncer
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed
from homeassistant.util import dt as dt_util

from .charger import ChargerConnectionError, ChargerRejectedError, EnovatesCharger
from .const import DEVICE_INTERVAL, DOMAIN, LOGGER, MODE3_INTERVAL, REALTIME_INTERVAL, TOKEN_INTERVAL
from .session import SessionTracker

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from homeassistant.core import HomeAssistant

    from .limit_record import LimitRecord
    from .limits import EnovatesLimits


@dataclass(kw_only=True)
class EnovatesRuntimeData:
    """What a loaded config entry holds: the charger connection and its coordinators."""

    charger: EnovatesCharger
    device_id: str  # the charger's device in the device registry; ports are its child devices
    device: EnovatesDeviceCoordinator
    realtime: EnovatesRealtimeCoordinator
    mode3: EnovatesMode3Coordinator
    ems_control: EnovatesEmsControlCoordinator | None  # with EMS control only
    limits: EnovatesLimits | None  # with EMS control only
    limit_record: LimitRecord  # who set each port's EMS limit
    sessions: dict[int, SessionTracker]  # per port
    # Filled by the entities as they are created: what is registered but not in here is stale.
    entities: set[tuple[str, str]] = field(default_factory=set)  # (platform, unique id)


type EnovatesConfigEntry = ConfigEntry[EnovatesRuntimeData]


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


# The maps of the 1 s tier, as entities name them in their listener contexts.
STATE: Final = "state"
MEASUREMENTS: Final = "measurements"
EMS_LIMIT: Final = "ems_limit"
CURRENT_OFFERED: Final = "current_offered"


class _OutageAsWarning(logging.Filter):
    """Log the heartbeat's "Error fetching" as the warning it is: an unreachable charger is not a bug."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno == logging.ERROR and record.exc_info is None:
            record.levelno, record.levelname = logging.WARNING, logging.getLevelName(logging.WARNING)
        return True


# The heartbeat logs once when the charger becomes unreachable (a warning) and once when it is back (info).
HEARTBEAT_LOGGER = LOGGER.getChild("connection")
HEARTBEAT_LOGGER.addFilter(_OutageAsWarning())


class EnovatesCoordinator[DataT](DataUpdateCoordinator[DataT]):
    """A polling tier: turns the charger's errors into translated update failures."""

    config_entry: EnovatesConfigEntry

    def __init__(
        self,
        hass: HomeAssistant,
        entry: EnovatesConfigEntry,
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

    async def _async_update_data(self) -> DataT:
        try:
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


class ChargerRefusesEverythingError(ChargerRejectedError):
    """The charger answers every request with an exception: its EMS mode is Off, on a firmware that keeps listening."""


async def _or_none[T](read: Awaitable[T], refusals: list[ChargerRejectedError]) -> T | None:
    """Read one map; a Modbus exception answer makes only that map unknown (the connection is fine).

    The refusal is added to `refusals`, for a tier that tells "every map refused" apart.
    """
    try:
        return await read
    except ChargerRejectedError as err:
        LOGGER.debug("The charger refused a read: %s", err)
        refusals.append(err)
        return None


def _plugged_changed(before: RealtimeData, after: RealtimeData) -> bool:
    if before.state is None or after.state is None:
        return False
    return (before.state.lock_state, before.state.contactor_state) != (
        after.state.lock_state,
        after.state.contactor_state,
    )


class EnovatesRealtimeCoordinator(EnovatesCoordinator[dict[int, RealtimeData]]):
    """Every second: state, measurements, EMS limit and current offered, per port.

    Also the heartbeat: whether the charger is reachable is this tier's to tell. When it comes back after an
    outage, the slower tiers are read again at once (the charger may have rebooted into a new firmware).
    """

    def __init__(self, hass: HomeAssistant, entry: EnovatesConfigEntry, charger: EnovatesCharger) -> None:
        """Poll every second."""
        super().__init__(
            hass, entry, charger, name="realtime", update_interval=REALTIME_INTERVAL, logger=HEARTBEAT_LOGGER
        )
        self.followers: list[EnovatesSlowCoordinator[Any]] = []
        self.reachable = True

    async def _async_update_data(self) -> dict[int, RealtimeData]:
        try:
            data = await super()._async_update_data()
        except UpdateFailed:
            self.reachable = False
            raise
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
        return data

    def _maps_wanted(self, port: int) -> set[str]:
        """Return the maps of `port` that enabled entities show (their listener contexts)."""
        wanted: set[str] = set()
        for context in self.async_contexts():
            wanted.update(name for context_port, name in context if context_port == port)
        return wanted

    async def _fetch(self) -> dict[int, RealtimeData]:
        charger = self.charger
        if not self.data:  # None until the first refresh
            # At setup, before any entity listens: read everything, so entities start with their values.
            wanted = {port: {STATE, MEASUREMENTS, EMS_LIMIT, CURRENT_OFFERED} for port in charger.ports}
        else:
            wanted = {port: self._maps_wanted(port) for port in charger.ports}
        if not any(wanted.values()):
            # No entity of this tier is enabled, but the heartbeat must still beat: the smallest map will do.
            wanted[charger.ports[0]] = {CURRENT_OFFERED}
        data: dict[int, RealtimeData] = {}
        refused: list[ChargerRejectedError] = []
        for port, maps in wanted.items():
            state = await _or_none(charger.read(State, port), refused) if STATE in maps else None
            measurements = await _or_none(charger.read(Measurements, port), refused) if MEASUREMENTS in maps else None
            ems_limit_ma = await _or_none(charger.read_ems_limit(port), refused) if EMS_LIMIT in maps else None
            offered = await _or_none(charger.read(CurrentOffered, port), refused) if CURRENT_OFFERED in maps else None
            data[port] = RealtimeData(
                state=state,
                measurements=measurements,
                ems_limit_ma=ems_limit_ma,
                current_offered_ma=None if offered is None else offered.active_current_offered,
            )
        if len(refused) == sum(len(maps) for maps in wanted.values()):
            # Nothing but refusals: the charger is reachable and serves nothing, which no entity can tell alone.
            raise ChargerRefusesEverythingError(str(refused[-1]))
        return data


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
        entry: EnovatesConfigEntry,
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

    def __init__(self, hass: HomeAssistant, entry: EnovatesConfigEntry, heartbeat: EnovatesRealtimeCoordinator) -> None:
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

    def __init__(self, hass: HomeAssistant, entry: EnovatesConfigEntry, heartbeat: EnovatesRealtimeCoordinator) -> None:
        """Poll every 10 seconds."""
        super().__init__(hass, entry, heartbeat, name="mode3", update_interval=MODE3_INTERVAL)

    async def _fetch(self) -> dict[int, Mode3Details | None]:
        charger = self.charger
        return {port: await _or_none(charger.read(Mode3Details, port), []) for port in charger.ports}


class EnovatesEmsControlCoordinator(EnovatesSlowCoordinator[EmsControlData]):
    """Every minute, with EMS control only: whether the charger still allows it, and the transaction tokens.

    The token is the reliable probe: it reads only in EMS mode Full Control, whereas limit writes are acknowledged
    in Monitoring Only too. When the installer switched the charger back, a repair issue says what to do; it goes
    away by itself once Full Control is back.
    """

    # A badge scanned starts the car: read the token when the contactor moves, not up to a minute later.
    REFRESH_WHEN_A_CAR_MOVES = True

    def __init__(self, hass: HomeAssistant, entry: EnovatesConfigEntry, heartbeat: EnovatesRealtimeCoordinator) -> None:
        """Poll every minute."""
        super().__init__(hass, entry, heartbeat, name="ems_control", update_interval=TOKEN_INTERVAL)

    @property
    def issue_id(self) -> str:
        """Return the id of this entry's repair issue."""
        return f"ems_control_unavailable_{self.config_entry.entry_id}"

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
            ir.async_delete_issue(self.hass, DOMAIN, self.issue_id)
        else:
            ir.async_create_issue(
                self.hass,
                DOMAIN,
                self.issue_id,
                is_fixable=False,
                severity=ir.IssueSeverity.ERROR,
                translation_key="ems_control_unavailable",
                translation_placeholders={"title": self.config_entry.title, "host": self.charger.host},
            )
        return EmsControlData(allowed=allowed, tokens=tokens, read_at=read_at)
