"""Smart charging in Home Assistant: the controller fed each second, its decisions written through the limits."""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import asdict, replace
from datetime import datetime, time
import math
from typing import TYPE_CHECKING, Any, Final

from enovates_modbus.eno_one import LockState
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.util import dt as dt_util

from ..charging.status import car_connected
from ..const import LOGGER, NO_EMS_LIMIT
from ..polling.realtime_maps import EMS_LIMIT, MEASUREMENTS, STATE
from .const import (
    CONF_BATTERY_CAPACITY,
    CONF_BATTERY_SENSOR,
    CONF_GRID_EXPORT_SENSOR,
    CONF_GRID_SENSOR,
    CONF_HYSTERESIS,
    CONF_MAX_CURRENT,
    CONF_PRICE_SENSOR,
    CONF_PRIORITY,
    CONF_SOC_SENSOR,
    CONF_SOC_TARGET,
    CONF_START_DELAY,
    CONF_STOP_DELAY,
    DEFAULT_ENERGY_KWH,
    DEFAULT_PRIORITY,
    DEFAULT_READY_BY,
    DEFAULT_SETTINGS,
    DEFAULT_SOC_TARGET,
)
from .controller import MIN_CURRENT_A, ChargingMode, PortDecision, PortInput, Settings, SmartController
from .meter_quarter import QuarterSource
from .model import PLAN_MODES, PlanWish
from .plan_rule import PlanBook, PlanInputs, SocTarget, next_ready_by
from .price_feed import PriceFeed
from .registry import SmartSite, async_site, site_key

if TYPE_CHECKING:
    from homeassistant.config_entries import ConfigEntry
    from homeassistant.core import State

    from ..coordinator import (
        EnovatesEmsControlCoordinator,
        EnovatesMode3Coordinator,
        EnovatesRealtimeCoordinator,
        RealtimeData,
    )
    from ..ems_limit.timed import EnovatesLimits
    from .planner import Plan


# The diagnostics download keeps this many of the last decisions that changed a reason or wrote a limit.
HISTORY: Final = 30


def settings_from(options: dict[str, Any]) -> Settings:
    """Return the controller's settings from the entry's options (the defaults where a user set nothing)."""
    return Settings(
        start_delay_s=float(options.get(CONF_START_DELAY, DEFAULT_SETTINGS.start_delay_s)),
        stop_delay_s=float(options.get(CONF_STOP_DELAY, DEFAULT_SETTINGS.stop_delay_s)),
        hysteresis_w=float(options.get(CONF_HYSTERESIS, DEFAULT_SETTINGS.hysteresis_w)),
        max_current_a=int(options[CONF_MAX_CURRENT]) if options.get(CONF_MAX_CURRENT) else None,
    )


def _number(state: State | None) -> float | None:
    """Return a sensor's reading as a number (None: unavailable, unknown, not a number)."""
    if state is None:
        return None
    try:
        value = float(state.state)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _decision(decision: PortDecision) -> dict[str, Any]:
    return {"reason": decision.reason.value, "target_a": decision.target_a, "write_a": decision.write_a}


class SmartCharging:
    """The smart charging of one charger: modes per port; its site (registry.py) decides for it each second.

    The peak limit, the quarter-hour meter and the month's peak are the site's: shown by every charger of it.
    """

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ConfigEntry,
        *,
        realtime: EnovatesRealtimeCoordinator,
        mode3: EnovatesMode3Coordinator,
        ems_control: EnovatesEmsControlCoordinator,
        limits: EnovatesLimits,
    ) -> None:
        """Steer `entry`'s charger through `limits`; nothing is written until a port's mode is not Manual.

        `realtime` and `mode3` tell what the ports do, `ems_control` whether the charger takes limits now.
        """
        self._hass = hass
        self._entry = entry
        self._realtime = realtime
        self._mode3 = mode3
        self._ems_control = ems_control
        self._limits = limits
        options = dict(entry.options)
        self.grid_sensor: str | None = options.get(CONF_GRID_SENSOR)
        self._export_sensor: str | None = options.get(CONF_GRID_EXPORT_SENSOR)
        self._battery_sensor: str | None = options.get(CONF_BATTERY_SENSOR)
        self.settings = settings_from(options)  # the ceiling is the charger's; the rest its site's
        self.priority = int(options.get(CONF_PRIORITY, DEFAULT_PRIORITY))
        self.site: SmartSite  # joined on start
        self.modes: dict[int, ChargingMode] = {}
        self.decisions: dict[int, PortDecision] = {}
        # The last decisions that changed a port's reason or wrote its limit, for the diagnostics download.
        self.history: deque[tuple[datetime, int, PortDecision]] = deque(maxlen=HISTORY)
        self._listeners: list[CALLBACK_TYPE] = []
        self._maps_wanted: list[CALLBACK_TYPE] = []
        self._failing: set[int] = set()  # ports whose last write failed
        self._maximum_a: dict[int, int] = {}  # each port's own maximum, as last read: at it, the limit is removed

        # Planned charging: the prices, each port's ready-by time and energy to add, and the plans.
        price_sensor = options.get(CONF_PRICE_SENSOR)
        self.price_feed = PriceFeed(hass, price_sensor) if price_sensor else None
        self.ready_by: dict[int, time] = {}
        self.energy_kwh: dict[int, float] = {}
        self.plans = PlanBook()
        self._soc_sensor: str | None = options.get(CONF_SOC_SENSOR)
        self._soc_target = float(options.get(CONF_SOC_TARGET, DEFAULT_SOC_TARGET))
        self._capacity_kwh = float(options.get(CONF_BATTERY_CAPACITY) or 0.0)

    @property
    def member_id(self) -> str:
        """Return the entry's id: the site keeps the ports' history under it, across a reload."""
        return self._entry.entry_id

    @property
    def precedence(self) -> tuple[int, datetime, str]:
        """Return the charger's place in its site: the higher priority first, then the one added first."""
        return -self.priority, self._entry.created_at, self._entry.entry_id

    @property
    def controller(self) -> SmartController:
        """Return the site's controller (the one that decides for this charger's ports, and the others')."""
        return self.site.site.controller

    @property
    def peak_limit_w(self) -> float | None:
        """Return the site's peak limit."""
        return self.site.peak_limit_w

    @property
    def month_peak(self) -> tuple[str, float] | None:
        """Return the site's month peak: (month, highest quarter average in W)."""
        return self.site.month_peak

    @property
    def quarter_source(self) -> QuarterSource:
        """Return whose count of the site's quarter the sensors and the peak guard go by: the meter's or our own."""
        return self.site.quarter_source

    def as_diagnostics(self) -> dict[str, Any]:
        """Return what smart charging goes by and what it decided last, for the diagnostics download."""
        peak = self.month_peak
        return {
            "modes": {port: self.modes.get(port, ChargingMode.MANUAL).value for port in self._realtime.charger.ports},
            # The site's delays and hysteresis, the charger's own ceiling.
            "settings": asdict(replace(self.controller.settings, max_current_a=self.settings.max_current_a)),
            "grid_sensor": self.grid_sensor,
            "grid_export_sensor": self._export_sensor,
            "battery_sensor": self._battery_sensor,
            "peak_limit_w": self.peak_limit_w,
            "month_peak": None if peak is None else {"month": peak[0], "average_w": peak[1]},
            "quarter": {
                "source": self.quarter_source.value,
                "average_w": self.controller.quarter.average_w,
                "meter_entities": {figure.value: entity_id for figure, entity_id in self.site.meter.entities.items()},
            },
            "decisions": {port: _decision(decision) for port, decision in self.decisions.items()},
            "planned": self._plans_diagnostics(),
            "history": [
                {"at": at.isoformat(), "port": port, **_decision(decision)} for at, port, decision in self.history
            ],
        }

    @property
    def modes_available(self) -> list[ChargingMode]:
        """Return the modes a user can pick: the Solar modes need a grid sensor, the planned ones a price sensor."""
        modes = [ChargingMode.MANUAL, ChargingMode.FAST]
        if self.grid_sensor is not None:
            modes += [ChargingMode.SOLAR, ChargingMode.SOLAR_MINIMUM]
        if self.price_feed is not None:
            modes.append(ChargingMode.PLANNED)
            if self.grid_sensor is not None:
                modes.append(ChargingMode.SOLAR_PLAN)
        return [*modes, ChargingMode.OFF]

    @callback
    def async_start(self) -> CALLBACK_TYPE:
        """Join the charger's site (its tick decides every second); return what leaves it."""
        self.site = async_site(self._hass, site_key(self.grid_sensor, self._entry.entry_id))
        self.site.join(
            self,
            grid_sensor=self.grid_sensor,
            export_sensor=self._export_sensor,
            battery_sensor=self._battery_sensor,
            settings=replace(self.settings, max_current_a=None),
        )

        stop_prices = self.price_feed.async_start() if self.price_feed is not None else None

        @callback
        def stop() -> None:
            self.site.leave(self)
            if stop_prices is not None:
                stop_prices()
            self._want_maps(steering=False)

        return stop

    @callback
    def _want_maps(self, *, steering: bool) -> None:
        """While a port is steered, have the maps the controller reads polled, even with their entities disabled."""
        if steering and not self._maps_wanted:
            realtime = self._realtime
            self._maps_wanted = [
                realtime.async_add_listener(
                    lambda: None, frozenset({(port, STATE), (port, MEASUREMENTS), (port, EMS_LIMIT)})
                )
                for port in realtime.charger.ports
            ]
        elif not steering:
            for remove in self._maps_wanted:
                remove()
            self._maps_wanted = []

    @callback
    def async_add_listener(self, update: CALLBACK_TYPE) -> CALLBACK_TYPE:
        """Call `update` after each decision and each change of a mode; return what removes it."""
        self._listeners.append(update)
        return lambda: self._listeners.remove(update)

    @callback
    def notify(self) -> None:
        """Tell the entities: the site decided, or a mode or the peak limit changed."""
        for update in list(self._listeners):
            update()

    @callback
    def set_mode(self, port: int, mode: ChargingMode) -> None:
        """Charge `port` in `mode` from now on."""
        self.modes[port] = mode
        self._want_maps(steering=any(mode is not ChargingMode.MANUAL for mode in self.modes.values()))
        self.notify()

    @callback
    def user_took_over(self, port: int) -> None:
        """Switch `port` to Manual: a user set its limit by hand (the slider, the switch, the action)."""
        if self.modes.get(port, ChargingMode.MANUAL) is not ChargingMode.MANUAL:
            LOGGER.info("%s port %s: the limit was set by hand, charging mode is now Manual", self._entry.title, port)
            self.set_mode(port, ChargingMode.MANUAL)

    @callback
    def set_peak_limit(self, limit_w: float | None) -> None:
        """Keep the site's quarter-hour average import under `limit_w` (None: no guard)."""
        self.site.set_peak_limit(limit_w)

    @callback
    def restore_peak_limit(self, limit_w: float) -> None:
        """Take back the peak limit from before a restart (a site already running keeps its own)."""
        self.site.restore_peak_limit(limit_w)

    @callback
    def set_ready_by(self, port: int, at: time) -> None:
        """Have the car on `port` ready by `at` (a time of day: one already past today means tomorrow)."""
        self.ready_by[port] = at
        self.notify()

    @callback
    def set_energy(self, port: int, energy_kwh: float) -> None:
        """Add `energy_kwh` to the car on `port` (counted from when it was plugged in)."""
        self.energy_kwh[port] = energy_kwh
        self.notify()

    def plan_inputs(self, port: int, now: datetime) -> PlanInputs:
        """Return what the user asks of `port`'s plan now: the next ready-by time, the energy or state of charge."""
        ready_by = next_ready_by(dt_util.as_local(now), self.ready_by.get(port, DEFAULT_READY_BY))
        soc = None
        # The car's state of charge is the first port's car's (a charger with one car, the usual case).
        if self._soc_sensor and self._capacity_kwh > 0 and port == min(self._realtime.charger.ports):
            soc = SocTarget(
                percent=_number(self._hass.states.get(self._soc_sensor)),
                target_percent=self._soc_target,
                capacity_kwh=self._capacity_kwh,
            )
        return PlanInputs(
            ready_by=ready_by.timestamp(), energy_kwh=self.energy_kwh.get(port, DEFAULT_ENERGY_KWH), soc=soc
        )

    def plan(self, port: int) -> Plan | None:
        """Return `port`'s plan as last made (None: no car, no plan mode, or no price sensor)."""
        kept = self.plans.ports.get(port)
        # Manual is not followed each second: a plan from before it was picked is no plan.
        if kept is None or self.modes.get(port, ChargingMode.MANUAL) not in PLAN_MODES:
            return None
        return kept.plan

    def plan_wishes(
        self, now: datetime, ports: Mapping[int, PortInput], *, grid_w: float | None, cars_w: float, planning: int
    ) -> dict[int, PlanWish]:
        """Return what each port's plan (or a negative price) wants now; `cars_w`: what every car of the site draws.

        The plan leaves the house (the grid reading less the site's cars) its room under the site's peak limit, an
        equal part of it for each of the site's `planning` cars.
        """
        feed = self.price_feed
        if feed is None:
            return {}
        self.plans.follow_house(now.timestamp(), grid_w, cars_w)
        return self.plans.wishes(
            now.timestamp(),
            ports,
            {port: self.plan_inputs(port, now) for port in ports},
            feed.prices,
            max_current_a=None,  # each port's maximum is the charger's own ceiling already (its readings)
            peak_limit_w=self.peak_limit_w,
            planning=planning,
        )

    @callback
    def restore_month_peak(self, month: str, average_w: float) -> None:
        """Take back the month's highest quarter, as known before a restart."""
        self.site.restore_month_peak(month, average_w)

    def _port_input(self, port: int, data: RealtimeData) -> PortInput | None:
        state, measurements, limit_ma = data.state, data.measurements, data.ems_limit_ma
        if state is None or measurements is None or limit_ma is None:
            return None
        mode3 = self._mode3.data.get(port)
        plugged = car_connected(mode3) if mode3 is not None else None
        if plugged is None:
            plugged = state.lock_state is LockState.LOCKED or state.contactor_state
        currents = (measurements.current_l1, measurements.current_l2, measurements.current_l3)
        voltages = [v for v in (measurements.voltage_l1, measurements.voltage_l2, measurements.voltage_l3) if v > 0]
        maximum = state.max_amp_per_phase
        self._maximum_a[port] = maximum
        ceiling = self.settings.max_current_a
        return PortInput(
            mode=self.modes.get(port, ChargingMode.MANUAL),
            plugged=plugged,
            power_w=float(measurements.charger_active_power_total),
            currents_a=tuple(current / 1000 for current in currents),
            voltage_v=sum(voltages) / len(voltages) if voltages else 0.0,
            charger_phases=state.number_of_phases,
            # The charger's own ceiling, under its maximum (the site's controller knows no charger's options).
            max_current_a=maximum if ceiling is None else max(min(ceiling, maximum), MIN_CURRENT_A),
            limit_a=maximum if limit_ma == NO_EMS_LIMIT else limit_ma // 1000,
            contactor_closed=state.contactor_state,
        )

    def _plans_diagnostics(self) -> dict[str, Any] | None:
        """Return the prices planned charging goes by and each port's plan (None: no price sensor)."""
        feed = self.price_feed
        if feed is None:
            return None
        prices = feed.prices
        ports: dict[int, Any] = {}
        for port in self._realtime.charger.ports:
            plan = self.plan(port)
            ports[port] = {
                "ready_by": self.ready_by.get(port, DEFAULT_READY_BY).isoformat(),
                "energy_kwh": self.energy_kwh.get(port, DEFAULT_ENERGY_KWH),
                "plan": None
                if plan is None
                else {
                    "status": plan.status.value,
                    "made_at": plan.made_at,
                    "ready_by": plan.ready_by,
                    "energy_wanted_kwh": plan.energy_wanted_kwh,
                    "energy_kwh": plan.energy_kwh,
                    "cost": plan.cost,
                    "blocks": [(block.start, block.end, block.energy_kwh) for block in plan.blocks],
                },
            }
        return {
            "price_sensor": feed.entity_id,
            "prices": None
            if prices is None
            else {
                "source": prices.source.value,
                "currency": prices.currency,
                "quarters": len(prices.slots),
                "known_until": prices.known_until,
            },
            "ports": ports,
        }

    def readings(self) -> Mapping[int, PortInput] | None:
        """Return what each port reports now; None when the picture is not whole.

        Half a picture is no ground for a decision (nor is a charger that no longer takes limits): the charger is
        left out this second, its cars counted as the house's load.
        """
        realtime = self._realtime
        if not realtime.last_update_success or not self._ems_control.data.allowed:
            return None
        ports = {port: self._port_input(port, data) for port, data in realtime.data.items()}
        if None in ports.values():
            return None
        return {port: reading for port, reading in ports.items() if reading is not None}

    @callback
    def apply(self, decisions: dict[int, PortDecision]) -> None:
        """Take the site's decisions (none while every port of the site is Manual) and write what is to be written."""
        now = dt_util.utcnow()
        for port, decision in decisions.items():
            before = self.decisions.get(port)
            if decision.write_a is not None or before is None or before.reason is not decision.reason:
                self.history.append((now, port, decision))
        self.decisions = decisions
        for port, decision in decisions.items():
            if decision.write_a is not None:
                self._entry.async_create_background_task(
                    self._hass, self._async_write(port, decision.write_a, self._maximum_a[port]), "enovates smart limit"
                )

    async def _async_write(self, port: int, amps: int, maximum: int) -> None:
        try:
            await self._limits.async_set(port, NO_EMS_LIMIT if amps >= maximum else amps * 1000)
        except HomeAssistantError as err:
            # The controller tries again after its write interval: say so once, not every 5 s.
            log = LOGGER.debug if port in self._failing else LOGGER.warning
            log("Smart charging could not set the limit of %s port %s: %s", self._entry.title, port, err)
            self._failing.add(port)
            return
        if port in self._failing:
            self._failing.discard(port)
            LOGGER.info("Smart charging sets the limit of %s port %s again", self._entry.title, port)
