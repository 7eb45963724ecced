"""One coordinator per polling tier, each reading the register maps of its tier for every port."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING

from enovates_modbus.eno_one import APIVersion, CurrentOffered, Diagnostics, Measurements, Mode3Details, State
from homeassistant.config_entries import ConfigEntry
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed

from .charger import ChargerConnectionError, ChargerRejectedError, EnovatesCharger
from .const import DEVICE_INTERVAL, DOMAIN, LOGGER, MODE3_INTERVAL, REALTIME_INTERVAL, TOKEN_INTERVAL

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from homeassistant.core import HomeAssistant


@dataclass(kw_only=True)
class EnovatesRuntimeData:
    """What a loaded config entry holds: the charger connection and its coordinators."""

    charger: EnovatesCharger
    device_id: str  # the charger's device in the device registry; ports are its child devices
    device: EnovatesDeviceCoordinator
    realtime: EnovatesRealtimeCoordinator
    mode3: EnovatesMode3Coordinator
    token: EnovatesTokenCoordinator | None
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


def port_data[T](port: int) -> Callable[[dict[int, T]], T]:
    """Return a picker of one port's data out of a per-port tier's data."""
    return lambda data: data[port]


def port_state(port: int) -> Callable[[dict[int, RealtimeData]], State | None]:
    """Return a picker of one port's state map out of the realtime tier's data."""
    return lambda data: data[port].state


def port_measurements(port: int) -> Callable[[dict[int, RealtimeData]], Measurements | None]:
    """Return a picker of one port's measurements map out of the realtime tier's data."""
    return lambda data: data[port].measurements


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
    ) -> None:
        """Poll `charger` every `update_interval`."""
        super().__init__(
            hass,
            LOGGER,
            config_entry=entry,
            name=f"{DOMAIN} {name}",
            update_interval=update_interval,
            # Listeners (entities) are only called when a value changed: most seconds nothing does.
            always_update=False,
        )
        self.charger = charger

    async def _async_update_data(self) -> DataT:
        try:
            return await self._fetch()
        except ChargerConnectionError as err:
            raise UpdateFailed(
                translation_domain=DOMAIN,
                translation_key="communication_error",
                translation_placeholders={"host": self.charger.host, "error": str(err)},
            ) from err
        except ChargerRejectedError as err:
            raise UpdateFailed(
                translation_domain=DOMAIN,
                translation_key="request_rejected",
                translation_placeholders={"host": self.charger.host, "error": str(err)},
            ) from err

    async def _fetch(self) -> DataT:
        raise NotImplementedError


async def _or_none[T](read: Awaitable[T]) -> T | None:
    """Read one map; a Modbus exception answer makes only that map unknown (the connection is fine)."""
    try:
        return await read
    except ChargerRejectedError as err:
        LOGGER.debug("The charger refused a read: %s", err)
        return None


class EnovatesDeviceCoordinator(EnovatesCoordinator[DeviceData]):
    """Daily: API version and diagnostics (identity, firmware), charger-wide."""

    def __init__(self, hass: HomeAssistant, entry: EnovatesConfigEntry, charger: EnovatesCharger) -> None:
        """Poll the identity daily."""
        super().__init__(hass, entry, charger, name="device", update_interval=DEVICE_INTERVAL)

    async def _fetch(self) -> DeviceData:
        return DeviceData(
            api_version=await self.charger.read_api_version(),
            diagnostics=await self.charger.read_diagnostics(),
        )


class EnovatesRealtimeCoordinator(EnovatesCoordinator[dict[int, RealtimeData]]):
    """Every second: state, measurements, EMS limit and current offered, per port."""

    def __init__(self, hass: HomeAssistant, entry: EnovatesConfigEntry, charger: EnovatesCharger) -> None:
        """Poll every second."""
        super().__init__(hass, entry, charger, name="realtime", update_interval=REALTIME_INTERVAL)

    async def _fetch(self) -> dict[int, RealtimeData]:
        charger = self.charger
        data: dict[int, RealtimeData] = {}
        for port in charger.ports:
            state = await _or_none(charger.read(State, port))
            measurements = await _or_none(charger.read(Measurements, port))
            ems_limit_ma = await _or_none(charger.read_ems_limit(port))
            offered = await _or_none(charger.read(CurrentOffered, port))
            data[port] = RealtimeData(
                state=state,
                measurements=measurements,
                ems_limit_ma=ems_limit_ma,
                current_offered_ma=None if offered is None else offered.active_current_offered,
            )
        return data


class EnovatesMode3Coordinator(EnovatesCoordinator[dict[int, Mode3Details | None]]):
    """Every 10 seconds: the IEC 61851 pilot details, per port."""

    def __init__(self, hass: HomeAssistant, entry: EnovatesConfigEntry, charger: EnovatesCharger) -> None:
        """Poll every 10 seconds."""
        super().__init__(hass, entry, charger, name="mode3", update_interval=MODE3_INTERVAL)

    async def _fetch(self) -> dict[int, Mode3Details | None]:
        charger = self.charger
        return {port: await _or_none(charger.read(Mode3Details, port)) for port in charger.ports}


class EnovatesTokenCoordinator(EnovatesCoordinator[dict[int, str | None]]):
    """Every minute, with EMS control only: the transaction token (the RFID tag that started the session)."""

    def __init__(self, hass: HomeAssistant, entry: EnovatesConfigEntry, charger: EnovatesCharger) -> None:
        """Poll every minute."""
        super().__init__(hass, entry, charger, name="token", update_interval=TOKEN_INTERVAL)

    async def _fetch(self) -> dict[int, str | None]:
        return {port: await self.charger.read_transaction_token(port) or None for port in self.charger.ports}
