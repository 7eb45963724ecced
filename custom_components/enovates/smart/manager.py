"""Smart charging in Home Assistant: the controller fed each second, its decisions written through the limits."""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import asdict, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

from enovates_modbus.eno_one import LockState
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.util import dt as dt_util

from ..charging.status import car_connected
from ..const import LOGGER, NO_EMS_LIMIT
from ..polling.realtime_maps import EMS_LIMIT, MEASUREMENTS, STATE
from .const import (
    CONF_BATTERY_SENSOR,
    CONF_GRID_EXPORT_SENSOR,
    CONF_GRID_SENSOR,
    CONF_HYSTERESIS,
    CONF_MAX_CURRENT,
    CONF_PRIORITY,
    CONF_START_DELAY,
    CONF_STOP_DELAY,
    DEFAULT_PRIORITY,
    DEFAULT_SETTINGS,
)
from .controller import MIN_CURRENT_A, ChargingMode, PortDecision, PortInput, Settings, SmartController
from .meter_quarter import QuarterSource
from .registry import SmartSite, async_site, site_key

if TYPE_CHECKING:
    from homeassistant.config_entries import ConfigEntry

    from ..coordinator import (
        EnovatesEmsControlCoordinator,
        EnovatesMode3Coordinator,
        EnovatesRealtimeCoordinator,
        RealtimeData,
    )
    from ..ems_limit.timed import EnovatesLimits


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
            "history": [
                {"at": at.isoformat(), "port": port, **_decision(decision)} for at, port, decision in self.history
            ],
        }

    @property
    def modes_available(self) -> list[ChargingMode]:
        """Return the modes a user can pick: the Solar modes need a grid sensor."""
        if self.grid_sensor is None:
            return [ChargingMode.MANUAL, ChargingMode.FAST, ChargingMode.OFF]
        return list(ChargingMode)

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

        @callback
        def stop() -> None:
            self.site.leave(self)
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
