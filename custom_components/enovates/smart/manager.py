"""Smart charging in Home Assistant: the controller fed each second, its decisions written through the limits."""

from __future__ import annotations

from collections import deque
from dataclasses import asdict, replace
from datetime import datetime, time
import math
from typing import TYPE_CHECKING, Any, Final

from enovates_modbus.eno_one import LockState
from homeassistant.const import ATTR_UNIT_OF_MEASUREMENT, STATE_UNAVAILABLE, STATE_UNKNOWN, UnitOfPower
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.event import async_track_time_interval
from homeassistant.util import dt as dt_util
from homeassistant.util.unit_conversion import PowerConverter

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
    CONF_SOC_SENSOR,
    CONF_SOC_TARGET,
    CONF_START_DELAY,
    CONF_STOP_DELAY,
    DEFAULT_ENERGY_KWH,
    DEFAULT_READY_BY,
    DEFAULT_SETTINGS,
    DEFAULT_SOC_TARGET,
    GRID_STALE_AFTER,
    SMART_INTERVAL,
)
from .controller import ChargingMode, Inputs, PortDecision, PortInput, Settings, SmartController
from .meter_entities import Figure, MeterEntities
from .meter_quarter import QuarterSource
from .model import PLAN_MODES, MeterFigures
from .plan_rule import PlanBook, PlanInputs, SocTarget, next_ready_by
from .price_feed import PriceFeed

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


def month_of(timestamp: float) -> str:
    """Return the month (local time) a quarter starting at `timestamp` belongs to, as "YYYY-MM"."""
    return dt_util.as_local(dt_util.utc_from_timestamp(timestamp)).strftime("%Y-%m")


class SmartCharging:
    """The smart charging of one charger: modes per port, the peak limit, and the controller deciding each second."""

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
        self.controller = SmartController(settings_from(options))
        self.modes: dict[int, ChargingMode] = {}
        self.peak_limit_w: float | None = None
        self.decisions: dict[int, PortDecision] = {}
        # The last decisions that changed a port's reason or wrote its limit, for the diagnostics download.
        self.history: deque[tuple[datetime, int, PortDecision]] = deque(maxlen=HISTORY)
        self.month_peak: tuple[str, float] | None = None  # (month, highest quarter average in W)
        # The grid meter's own quarter-hour figures, where its integration reports them (Belgian meters).
        self.meter = MeterEntities(hass, self.grid_sensor)
        self._source = QuarterSource.OWN  # whose count of the quarter was last said
        self._listeners: list[CALLBACK_TYPE] = []
        self._maps_wanted: list[CALLBACK_TYPE] = []
        self._failing: set[int] = set()  # ports whose last write failed
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
        """Decide every second; return what stops it."""
        stop_timer = async_track_time_interval(
            self._hass, self._async_tick, SMART_INTERVAL, name="enovates smart charging", cancel_on_shutdown=True
        )
        stop_meter = self.meter.async_start()

        stop_prices = self.price_feed.async_start() if self.price_feed is not None else None

        @callback
        def stop() -> None:
            stop_timer()
            stop_meter()
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
    def _notify(self) -> None:
        for update in list(self._listeners):
            update()

    @callback
    def set_mode(self, port: int, mode: ChargingMode) -> None:
        """Charge `port` in `mode` from now on."""
        self.modes[port] = mode
        self._want_maps(steering=any(mode is not ChargingMode.MANUAL for mode in self.modes.values()))
        self._notify()

    @callback
    def user_took_over(self, port: int) -> None:
        """Switch `port` to Manual: a user set its limit by hand (the slider, the switch, the action)."""
        if self.modes.get(port, ChargingMode.MANUAL) is not ChargingMode.MANUAL:
            LOGGER.info("%s port %s: the limit was set by hand, charging mode is now Manual", self._entry.title, port)
            self.set_mode(port, ChargingMode.MANUAL)

    @callback
    def set_peak_limit(self, limit_w: float | None) -> None:
        """Keep the quarter-hour average import under `limit_w` (None: no guard)."""
        self.peak_limit_w = limit_w or None
        self._notify()

    @callback
    def set_ready_by(self, port: int, at: time) -> None:
        """Have the car on `port` ready by `at` (a time of day: one already past today means tomorrow)."""
        self.ready_by[port] = at
        self._notify()

    @callback
    def set_energy(self, port: int, energy_kwh: float) -> None:
        """Add `energy_kwh` to the car on `port` (counted from when it was plugged in)."""
        self.energy_kwh[port] = energy_kwh
        self._notify()

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

    def _with_plans(self, inputs: Inputs, now: datetime) -> Inputs:
        """Return `inputs` with what each port's plan (or a negative price) wants now."""
        feed = self.price_feed
        if feed is None:
            return inputs
        ports = inputs.ports
        self.plans.follow_house(inputs.now, inputs.grid_w, sum(port.power_w for port in ports.values()))
        wishes = self.plans.wishes(
            inputs.now,
            ports,
            {port: self.plan_inputs(port, now) for port in ports},
            feed.prices,
            max_current_a=self.controller.settings.max_current_a,
            peak_limit_w=inputs.peak_limit_w,
        )
        return replace(inputs, plans=wishes)

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
        sensors = [self.grid_sensor, self._export_sensor, self._battery_sensor]
        states = [self._hass.states.get(entity_id) if entity_id else None for entity_id in sensors]
        grid_state, export_state, battery_state = states
        reported = [state.last_reported.timestamp() for state in states if state is not None]
        at = min(reported) if reported else None
        grid = power_w(grid_state, now)
        if grid is not None and self._export_sensor is not None:
            export = power_w(export_state, now)
            grid = None if export is None else grid - export
        battery = 0.0
        if self._battery_sensor is not None:
            # Without the battery's reading, its power could pass for surplus: no reading then.
            reading = power_w(battery_state, now)
            grid, battery = (grid, reading) if reading is not None else (None, 0.0)
        return grid, battery, at

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
        return PortInput(
            mode=self.modes.get(port, ChargingMode.MANUAL),
            plugged=plugged,
            power_w=float(measurements.charger_active_power_total),
            currents_a=tuple(current / 1000 for current in currents),
            voltage_v=sum(voltages) / len(voltages) if voltages else 0.0,
            charger_phases=state.number_of_phases,
            max_current_a=state.max_amp_per_phase,
            limit_a=state.max_amp_per_phase if limit_ma == NO_EMS_LIMIT else limit_ma // 1000,
            contactor_closed=state.contactor_state,
        )

    def as_diagnostics(self) -> dict[str, Any]:
        """Return what smart charging goes by and what it decided last, for the diagnostics download."""
        peak = self.month_peak
        return {
            "modes": {port: self.modes.get(port, ChargingMode.MANUAL).value for port in self._realtime.charger.ports},
            "settings": asdict(self.controller.settings),
            "grid_sensor": self.grid_sensor,
            "grid_export_sensor": self._export_sensor,
            "battery_sensor": self._battery_sensor,
            "peak_limit_w": self.peak_limit_w,
            "month_peak": None if peak is None else {"month": peak[0], "average_w": peak[1]},
            "quarter": {
                "source": self.quarter_source.value,
                "average_w": self.controller.quarter.average_w,
                "meter_entities": {figure.value: entity_id for figure, entity_id in self.meter.entities.items()},
            },
            "decisions": {port: _decision(decision) for port, decision in self.decisions.items()},
            "planned": self._plans_diagnostics(),
            "history": [
                {"at": at.isoformat(), "port": port, **_decision(decision)} for at, port, decision in self.history
            ],
        }

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

    @property
    def quarter_source(self) -> QuarterSource:
        """Return whose count of the quarter the sensors and the peak guard go by now: the meter's or our own."""
        return self.controller.quarter.source

    @callback
    def _async_tick(self, now: datetime) -> None:
        realtime = self._realtime
        grid_w, battery_w, grid_at = self._grid_w(now)
        meter = self.meter.figures(now, power_w)
        ports = {port: self._port_input(port, data) for port, data in realtime.data.items()}
        allowed = self._ems_control.data.allowed
        if not realtime.last_update_success or None in ports.values() or not allowed:
            # Half a picture is no ground for a decision (nor is a charger that no longer takes limits): the next
            # second, then. The quarter goes on.
            closed = self.controller.quarter.add(now.timestamp(), grid_w, reading_at=grid_at, meter=meter)
            self._close_quarter(closed, meter)
            self._notify()
            return
        readings = {port: reading for port, reading in ports.items() if reading is not None}
        inputs = Inputs(
            now=now.timestamp(),
            grid_w=grid_w,
            grid_at=grid_at,
            battery_w=battery_w,
            peak_limit_w=self.peak_limit_w,
            meter=meter,
            ports=readings,
        )
        if all(reading.mode is ChargingMode.MANUAL for reading in readings.values()):
            # Nothing to decide: the limits are the user's. The contactor and the quarter are still followed.
            self._close_quarter(self.controller.observe(inputs), meter)
            self.decisions = {}
            self._notify()
            return
        decisions, closed = self.controller.step(self._with_plans(inputs, now))
        self._close_quarter(closed, meter)
        for port, decision in decisions.items():
            before = self.decisions.get(port)
            if decision.write_a is not None or before is None or before.reason is not decision.reason:
                self.history.append((now, port, decision))
        self.decisions = decisions
        for port, decision in decisions.items():
            if decision.write_a is not None:
                self._entry.async_create_background_task(
                    self._hass,
                    self._async_write(port, decision.write_a, readings[port].max_current_a),
                    "enovates smart limit",
                )
        self._notify()

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
            LOGGER.info("%s: the peak guard counts the quarter hour by the meter's own %s", self._entry.title, average)
        elif average is not None:
            LOGGER.warning(
                "%s: no figure from the meter's %s lately: the peak guard counts the quarter itself until it is back",
                self._entry.title,
                average,
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
