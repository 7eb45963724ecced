"""The sites in Home Assistant: the chargers in smart charging on one grid sensor decide together, each second.

One `SmartSite` per grid sensor, kept in hass.data (a charger without a grid sensor is a site of its own): the
chargers (manager.py's `SmartCharging`, one per config entry) join it as they start and leave it as they stop; it
reads the meter, runs the site's one controller (site.py) on what every charger reports, and hands each charger its
decisions to write. The peak limit, the quarter-hour meter and the month's peak are the site's: every charger's
entities show the same ones. The first charger to join starts the second's tick, the last to leave stops it; a
charger that reloads leaves and joins again while the others go on.

The site's settings (the meter's sensors, the delays, the hysteresis) are those of the charger that joined last: it
started with its newest options, and the options flow copies them to the other chargers of the site.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from homeassistant.const import ATTR_UNIT_OF_MEASUREMENT, STATE_UNAVAILABLE, STATE_UNKNOWN, UnitOfPower
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers.event import async_track_time_interval
from homeassistant.util import dt as dt_util
from homeassistant.util.hass_dict import HassKey
from homeassistant.util.unit_conversion import PowerConverter

from ..const import DOMAIN, LOGGER
from .const import GRID_STALE_AFTER, SMART_INTERVAL
from .meter_entities import Figure, MeterEntities
from .meter_quarter import QuarterSource
from .model import MeterFigures, PlanWish, PortDecision, PortInput, Settings
from .plan_rule import planning_ports
from .site import GridReading, Site

if TYPE_CHECKING:
    from homeassistant.core import State

DATA_SITES: HassKey[dict[str, SmartSite]] = HassKey(f"{DOMAIN}_smart_sites")


def site_key(grid_sensor: str | None, entry_id: str) -> str:
    """Return the site a charger belongs to: its grid sensor's, or (without one) its own."""
    # An entity id holds no colon: a charger's own site never takes a grid sensor's.
    return grid_sensor if grid_sensor is not None else f"entry:{entry_id}"


def power_w(state: State | None, now: datetime) -> float | None:
    """Return a power sensor's reading in W; None when it is missing, not a number, or not reported lately."""
    if state is None or state.state in (STATE_UNAVAILABLE, STATE_UNKNOWN):
        return None
    if now - state.last_reported > GRID_STALE_AFTER:
        return None
    try:
        value = float(state.state)
    except ValueError:
        return None
    unit = state.attributes.get(ATTR_UNIT_OF_MEASUREMENT) or UnitOfPower.WATT
    if unit not in PowerConverter.VALID_UNITS:
        return None
    return PowerConverter.convert(value, unit, UnitOfPower.WATT)


def month_of(timestamp: float) -> str:
    """Return the month (local time) a quarter starting at `timestamp` belongs to, as "YYYY-MM"."""
    return dt_util.as_local(dt_util.utc_from_timestamp(timestamp)).strftime("%Y-%m")


class SiteMember(Protocol):
    """A charger of a site, as the site sees it (manager.py's `SmartCharging`)."""

    @property
    def member_id(self) -> str:
        """Return the charger's config entry id: its ports' history in the site is kept under it."""

    @property
    def precedence(self) -> tuple[int, datetime, str]:
        """Return the charger's place in the site's order of precedence (lowest first)."""

    def readings(self) -> Mapping[int, PortInput] | None:
        """Return what each port reports now; None when the picture is not whole (not steered this second)."""

    def plan_wishes(
        self, now: datetime, ports: Mapping[int, PortInput], *, grid_w: float | None, cars_w: float, planning: int
    ) -> Mapping[int, PlanWish]:
        """Return what the charger's plans (or a negative price) want of its ports now (none without prices)."""

    def apply(self, decisions: dict[int, PortDecision]) -> None:
        """Take the site's decisions for the charger's ports, and write what is to be written."""

    def notify(self) -> None:
        """Tell the charger's entities that the site decided (or its peak limit changed)."""


class SmartSite:
    """The chargers on one grid sensor: one controller for their ports, one peak limit, one quarter, one month peak."""

    def __init__(self, hass: HomeAssistant, key: str) -> None:
        """Start empty: nothing runs until a charger joins."""
        self._hass = hass
        self.key = key
        self.site = Site()
        self.grid_sensor: str | None = None
        self.export_sensor: str | None = None
        self.battery_sensor: str | None = None
        self.peak_limit_w: float | None = None
        self.month_peak: tuple[str, float] | None = None  # (month, highest quarter average in W)
        self._members: dict[str, SiteMember] = {}
        self._stop_timer: CALLBACK_TYPE | None = None
        # The grid meter's own quarter-hour figures, where its integration reports them (Belgian meters).
        self.meter = MeterEntities(hass, None)
        self._source = QuarterSource.OWN  # whose count of the quarter was last said

    @property
    def members(self) -> list[SiteMember]:
        """Return the chargers of the site, in the order of precedence."""
        return sorted(self._members.values(), key=lambda member: member.precedence)

    @callback
    def join(
        self,
        member: SiteMember,
        *,
        grid_sensor: str | None,
        export_sensor: str | None,
        battery_sensor: str | None,
        settings: Settings,
    ) -> None:
        """Take `member` in (again, after a reload); the site goes by its meter and settings from now on."""
        self._members[member.member_id] = member
        self.grid_sensor, self.export_sensor, self.battery_sensor = grid_sensor, export_sensor, battery_sensor
        self.site.settings = settings
        if self._stop_timer is None:
            self.meter = MeterEntities(self._hass, grid_sensor)
            stop_meter = self.meter.async_start()
            stop_timer = async_track_time_interval(
                self._hass, self._async_tick, SMART_INTERVAL, name="enovates smart charging", cancel_on_shutdown=True
            )

            @callback
            def stop() -> None:
                stop_timer()
                stop_meter()

            self._stop_timer = stop

    @callback
    def leave(self, member: SiteMember) -> None:
        """Let `member` go; the last one out stops the site and forgets it (its quarter and peak go with it)."""
        del self._members[member.member_id]
        if not self._members and self._stop_timer is not None:
            self._stop_timer()
            self._stop_timer = None
            del self._hass.data[DATA_SITES][self.key]

    @callback
    def _notify(self) -> None:
        for member in self.members:
            member.notify()

    @callback
    def set_peak_limit(self, limit_w: float | None) -> None:
        """Keep the site's quarter-hour average import under `limit_w` (None: no guard)."""
        self.peak_limit_w = limit_w or None
        self._notify()

    @callback
    def restore_peak_limit(self, limit_w: float) -> None:
        """Take back a peak limit from before a restart, unless the site has one (a charger joined a running site)."""
        if self.peak_limit_w is None:
            self.set_peak_limit(limit_w)

    @callback
    def restore_month_peak(self, month: str, average_w: float) -> None:
        """Take back the month's highest quarter, as known before a restart."""
        if month == month_of(dt_util.utcnow().timestamp()) and (
            self.month_peak is None or self.month_peak[1] < average_w
        ):
            self.month_peak = (month, average_w)

    def _grid_w(self, now: datetime) -> tuple[float | None, float, float | None]:
        """Return the grid power (import positive; None: missing), a home battery's (discharge positive), and when.

        The time is that of the oldest of the readings: a decision is only as fresh as that.
        """
        sensors = [self.grid_sensor, self.export_sensor, self.battery_sensor]
        states = [self._hass.states.get(entity_id) if entity_id else None for entity_id in sensors]
        grid_state, export_state, battery_state = states
        reported = [state.last_reported.timestamp() for state in states if state is not None]
        at = min(reported) if reported else None
        grid = power_w(grid_state, now)
        if grid is not None and self.export_sensor is not None:
            export = power_w(export_state, now)
            grid = None if export is None else grid - export
        battery = 0.0
        if self.battery_sensor is not None:
            # Without the battery's reading, its power could pass for surplus: no reading then.
            reading = power_w(battery_state, now)
            grid, battery = (grid, reading) if reading is not None else (None, 0.0)
        return grid, battery, at

    @property
    def quarter_source(self) -> QuarterSource:
        """Return whose count of the quarter the sensors and the peak guard go by now: the meter's or our own."""
        return self.site.controller.quarter.source

    @callback
    def _async_tick(self, now: datetime) -> None:
        grid_w, battery_w, grid_at = self._grid_w(now)
        meter = self.meter.figures(now, power_w)
        members = self.members
        reading = GridReading(
            now=now.timestamp(),
            grid_w=grid_w,
            grid_at=grid_at,
            battery_w=battery_w,
            peak_limit_w=self.peak_limit_w,
            meter=meter,
        )
        readings = {member.member_id: member.readings() for member in members}
        decisions, closed = self.site.step(reading, readings, lambda: self._plans(now, members, readings, grid_w))
        self._close_quarter(closed, meter)
        for member in members:
            # A charger without readings keeps its last decisions: it is counted as load until it is back.
            if (mine := decisions.get(member.member_id)) is not None:
                member.apply(mine)
        self._notify()

    @staticmethod
    def _plans(
        now: datetime,
        members: list[SiteMember],
        readings: dict[str, Mapping[int, PortInput] | None],
        grid_w: float | None,
    ) -> dict[str, Mapping[int, PlanWish]]:
        """Return each steered charger's plan wishes (the site asks only when a port is not Manual)."""
        steered = [ports for ports in readings.values() if ports is not None]
        cars_w = sum(port.power_w for ports in steered for port in ports.values())
        planning = planning_ports(port for ports in steered for port in ports.values())
        return {
            member.member_id: member.plan_wishes(now, ports, grid_w=grid_w, cars_w=cars_w, planning=planning)
            for member in members
            if (ports := readings[member.member_id]) is not None
        }

    def _close_quarter(self, closed: tuple[float, float] | None, meter: MeterFigures | None = None) -> None:
        """Keep the month's highest quarter: a quarter of a new month starts the month afresh.

        The meter's own month peak, where it reports one, is the month's peak: the one the tariff bills.
        """
        self._follow_source()
        if closed is not None:
            start, average_w = closed
            month = month_of(start)
            if self.month_peak is None or self.month_peak[0] != month or self.month_peak[1] < average_w:
                self.month_peak = (month, average_w)
        if meter is not None and meter.month_peak_w is not None:
            self.month_peak = (month_of(dt_util.utcnow().timestamp()), meter.month_peak_w)

    def _follow_source(self) -> None:
        """Say when the quarter's count changes hands: which one the peak guard goes by is what a bill is checked on."""
        source = self.quarter_source
        if source is self._source:
            return
        self._source = source
        average = self.meter.entities.get(Figure.AVERAGE)
        if source is QuarterSource.METER:
            LOGGER.info(
                "Smart charging on %s: the peak guard counts the quarter hour by the meter's own %s", self.key, average
            )
        elif average is not None:
            LOGGER.warning(
                "Smart charging on %s: no figure from the meter's %s lately: the peak guard counts the quarter itself "
                "until it is back",
                self.key,
                average,
            )


@callback
def async_site(hass: HomeAssistant, key: str) -> SmartSite:
    """Return the site of `key` (see `site_key`), made when its first charger asks."""
    sites = hass.data.setdefault(DATA_SITES, {})
    if (site := sites.get(key)) is None:
        site = sites[key] = SmartSite(hass, key)
    return site
