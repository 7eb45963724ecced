"""What the EMS limit of each port should be, second by second: the charging modes and the quarter-hour peak guard.

Pure arithmetic over what the charger and the grid meter report (no Home Assistant in here): a simulated day runs
through it in seconds, and every decision can be replayed from its inputs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
import enum
import math
from typing import Final

from .quarter import QuarterMeter

MIN_CURRENT_A: Final = 6  # IEC 61851: a car needs at least this much to charge
NOMINAL_VOLTAGE_V: Final = 230.0
# At most one write per port this often: a charger's small Modbus server, and a car, take a moment to follow.
WRITE_INTERVAL_S: Final = 5.0
# A limit is raised only when the surplus covers this much more than the next whole ampere: a surplus hovering
# at a boundary does not make the limit go up and down every few seconds.
RAISE_MARGIN_A: Final = 0.3
# Without a grid reading the limit holds this long, then falls back to the minimum (or a pause, in Solar).
GRID_MISSING_BOUND_S: Final = 60.0
# Solar moves the contactor (starts or stops charging) at most this often in any hour: it starts a car only when
# the last hour saw at most this many moves less two (the start, and the stop that may follow). Without it, clouds
# that come and go every few minutes would open and close the contactor every time.
MAX_MOVES_PER_HOUR: Final = 6
HOUR_S: Final = 3600.0
# A grid reading counts for decisions on the surplus or the peak once it was reported this long after the last
# write and after the last move of a car's power (by this much at least): the meter has seen the car as it is.
SETTLE_S: Final = 2.0
POWER_MOVE_W: Final = 300.0
# A phase carries the car's current when it draws at least this much.
PHASE_IN_USE_A: Final = 1.0


class ChargingMode(enum.StrEnum):
    """How a port charges."""

    MANUAL = "manual"  # the controller leaves the limit to the user (slider, switch, action, automations)
    FAST = "fast"  # the maximum
    SOLAR = "solar"  # surplus only; paused while there is none
    SOLAR_MINIMUM = "solar_minimum"  # never below the minimum, surplus on top
    OFF = "off"  # paused


class Reason(enum.StrEnum):
    """Why a port's limit is what it is."""

    MANUAL = "manual"
    OFF = "off"
    FAST = "fast"
    NO_CAR = "no_car"
    SURPLUS = "surplus"
    MINIMUM = "minimum"
    WAITING_TO_START = "waiting_to_start"
    STOPPING = "stopping"
    NO_SURPLUS = "no_surplus"
    PEAK_GUARD = "peak_guard"
    GRID_MISSING = "grid_missing"


# The reasons whose limit rests on the grid reading (the others on the mode alone).
GRID_DRIVEN: Final = frozenset(
    {
        Reason.SURPLUS,
        Reason.MINIMUM,
        Reason.WAITING_TO_START,
        Reason.STOPPING,
        Reason.NO_SURPLUS,
        Reason.PEAK_GUARD,
    }
)


@dataclass(frozen=True, kw_only=True)
class Settings:
    """What a user can tune (the options); the defaults are documented in the README."""

    start_delay_s: float = 120.0  # the surplus covers the car's minimum this long before charging starts
    stop_delay_s: float = 240.0  # the surplus stays short of the minimum this long before charging pauses
    hysteresis_w: float = 500.0  # how far short of the minimum the surplus may fall before the stop delay runs
    max_current_a: int | None = None  # a ceiling under the charger's own maximum (Fast and surplus alike)


@dataclass(frozen=True, kw_only=True)
class PortInput:
    """What one port reports now."""

    mode: ChargingMode
    plugged: bool
    power_w: float
    currents_a: tuple[float, ...]
    voltage_v: float
    charger_phases: int
    max_current_a: int
    limit_a: int | None  # in force: 0 paused, the charger's maximum when no limit is set; None unknown


@dataclass(frozen=True, kw_only=True)
class Inputs:
    """Everything a decision rests on, at one instant."""

    now: float  # seconds since the epoch
    grid_w: float | None  # import positive, export negative; None: missing or stale
    grid_at: float | None = None  # when the grid reading was reported (None: just now)
    battery_w: float = 0.0  # a home battery's power, discharge positive: never counted as surplus
    peak_limit_w: float | None = None
    ports: Mapping[int, PortInput]


@dataclass(frozen=True)
class PortDecision:
    """What the controller wants for a port now."""

    reason: Reason
    target_a: int | None = None  # the limit it should have (None: the user's to set)
    write_a: int | None = None  # the limit to write now (None: nothing to write)


@dataclass
class _PortState:
    mode: ChargingMode = ChargingMode.MANUAL
    running: bool = False  # Solar: charging was started and not stopped since
    since: float | None = None  # when the start or stop condition began to hold
    last_write: float = -math.inf
    phases: int | None = None  # what the car was last seen drawing on
    moves: list[float] = field(default_factory=list)  # when Solar started or stopped charging (the last hour)
    steady_w: float = 0.0  # the car's power when it last moved by POWER_MOVE_W or more
    moved_at: float = -math.inf  # and when that was

    def moved(self, now: float) -> None:
        """Count a start or a stop of charging now."""
        self.moves.append(now)

    def moves_in_the_last_hour(self, now: float) -> int:
        """Return how often Solar started or stopped charging in the hour up to `now`."""
        self.moves = [move for move in self.moves if now - move < HOUR_S]
        return len(self.moves)


@dataclass
class _Plan:
    """A port's target while the decision is being made."""

    target_a: int
    reason: Reason
    raw_a: float | None = None  # the unrounded target, for the raise margin


@dataclass
class _Surplus:
    """The surplus of one decision, and the ports in a Solar mode that share it."""

    surplus_w: float
    running: list[int]
    minimum_w: dict[int, float]

    @property
    def needed_w(self) -> float:
        """Return what the running ports need for their minimums."""
        return sum(self.minimum_w[number] for number in self.running)


@dataclass
class SmartController:
    """Decides the limits of one charger's ports from the modes, the surplus and the quarter-hour budget."""

    settings: Settings = field(default_factory=Settings)
    quarter: QuarterMeter = field(default_factory=QuarterMeter)
    _ports: dict[int, _PortState] = field(default_factory=dict)
    _grid_missing_since: float | None = None
    _last_write: float = -math.inf  # of any port: they share the grid meter

    def step(self, inputs: Inputs) -> tuple[dict[int, PortDecision], tuple[float, float] | None]:
        """Decide every port's limit now; also return (start, average W) of a quarter that just ended."""
        now = inputs.now
        closed = self.quarter.add(now, inputs.grid_w)
        if inputs.grid_w is None:
            if self._grid_missing_since is None:
                self._grid_missing_since = now
        else:
            self._grid_missing_since = None
        grid_lost = self._grid_missing_since is not None and now - self._grid_missing_since >= GRID_MISSING_BOUND_S

        plans: dict[int, _Plan] = {}
        for number, port in inputs.ports.items():
            state = self._ports.setdefault(number, _PortState())
            self._follow(state, port, now)
            if port.mode is not ChargingMode.MANUAL:
                plans[number] = self._mode_plan(state, port)
        self._share_surplus(inputs, plans, grid_lost=grid_lost)
        self._guard_peak(inputs, plans, grid_lost=grid_lost)

        # A grid reading from before the last write, or from before a car's power last moved (a car takes seconds
        # to follow its limit), mixes the car's new power with the grid's old one: the surplus and the headroom it
        # gives are wrong until the meter reports again.
        moved = max((state.moved_at for state in self._ports.values()), default=-math.inf)
        settled = inputs.grid_at is None or inputs.grid_at >= max(self._last_write, moved) + SETTLE_S
        decisions: dict[int, PortDecision] = {}
        for number, port in inputs.ports.items():
            plan = plans.get(number)
            if plan is None:
                decisions[number] = PortDecision(Reason.MANUAL)
                continue
            state = self._ports[number]
            target = self._restrain(plan, port)
            # Under a peak limit, any raise rests on the grid reading too (the headroom).
            needs_grid = plan.reason in GRID_DRIVEN or (bool(inputs.peak_limit_w) and target > (port.limit_a or 0))
            write = None
            if (
                port.limit_a is not None
                and target != port.limit_a
                and now - state.last_write >= WRITE_INTERVAL_S
                and (settled or not needs_grid)
            ):
                write = target
                state.last_write = self._last_write = now
            decisions[number] = PortDecision(plan.reason, target, write)
        return decisions, closed

    # --- per port ------------------------------------------------------------------------------------------------

    @staticmethod
    def _follow(state: _PortState, port: PortInput, now: float) -> None:
        """Keep what a port's history says: its mode changes, the phases its car draws on."""
        if port.mode is not state.mode:
            state.mode = port.mode
            state.since = None
            # A car charging when Solar is picked goes on (until the surplus is found short); one paused waits.
            state.running = port.power_w > 0
        if abs(port.power_w - state.steady_w) >= POWER_MOVE_W:
            state.steady_w, state.moved_at = port.power_w, now
        drawing = sum(1 for current in port.currents_a if current >= PHASE_IN_USE_A)
        if not port.plugged:
            state.phases = None
        elif drawing:
            state.phases = drawing

    def _maximum_a(self, port: PortInput) -> int:
        ceiling = self.settings.max_current_a
        return port.max_current_a if ceiling is None else max(min(ceiling, port.max_current_a), MIN_CURRENT_A)

    def _car_w(self, number: int, port: PortInput) -> float:
        """Return the car's power, never more than its limit allows.

        A user's write goes before the polls waiting for the connection, so a poll may bring the power read just
        before a lower limit with the limit read just after: the car cannot draw more than it is offered.
        """
        if port.limit_a is None:
            return port.power_w
        return min(port.power_w, port.limit_a * self._watts_per_amp(number, port))

    def _watts_per_amp(self, number: int, port: PortInput) -> float:
        phases = self._ports[number].phases or port.charger_phases
        return phases * (port.voltage_v if port.voltage_v > 0 else NOMINAL_VOLTAGE_V)

    def _mode_plan(self, state: _PortState, port: PortInput) -> _Plan:
        mode = port.mode
        if mode is ChargingMode.OFF:
            return _Plan(0, Reason.OFF)
        if mode is ChargingMode.FAST:
            return _Plan(self._maximum_a(port), Reason.FAST)
        if not port.plugged:
            state.running = False
            state.since = None
            # Ready for the next car: Solar waits for the surplus, Solar + minimum starts at the minimum.
            return _Plan(MIN_CURRENT_A if mode is ChargingMode.SOLAR_MINIMUM else 0, Reason.NO_CAR)
        # Solar modes: the surplus decides (below); until then, the minimum or a pause.
        if mode is ChargingMode.SOLAR_MINIMUM or state.running:
            return _Plan(MIN_CURRENT_A, Reason.MINIMUM)
        return _Plan(0, Reason.NO_SURPLUS)

    # --- the surplus -----------------------------------------------------------------------------------------------

    def _share_surplus(self, inputs: Inputs, plans: dict[int, _Plan], *, grid_lost: bool) -> None:
        """Start, follow and stop the ports in a Solar mode on what the house does not use."""
        solar = [
            number
            for number, plan in plans.items()
            if inputs.ports[number].mode in (ChargingMode.SOLAR, ChargingMode.SOLAR_MINIMUM)
            and plan.reason is not Reason.NO_CAR
        ]
        if not solar:
            return
        if inputs.grid_w is None:
            self._hold_without_grid(inputs, plans, solar, grid_lost=grid_lost)
            return
        # The car's own power is not consumption: what the house would export without it is the surplus.
        surplus_w = (
            sum(self._car_w(number, inputs.ports[number]) for number in solar) - inputs.grid_w - inputs.battery_w
        )
        solar.sort(key=lambda number: (not self._running(number, inputs.ports[number]), number))
        shared = _Surplus(
            surplus_w=surplus_w,
            running=[number for number in solar if self._running(number, inputs.ports[number])],
            minimum_w={number: MIN_CURRENT_A * self._watts_per_amp(number, inputs.ports[number]) for number in solar},
        )
        self._stop(inputs, plans, shared)
        self._start(inputs, plans, shared, [number for number in solar if plans[number].reason is Reason.NO_SURPLUS])
        # Follow: the running ports share the surplus, equal parts of power, each within its own range.
        share_w = surplus_w / len(shared.running) if shared.running else 0.0
        for number in shared.running:
            port = inputs.ports[number]
            raw = share_w / self._watts_per_amp(number, port)
            plan = plans[number]
            plan.raw_a = raw
            plan.target_a = min(max(math.floor(raw), MIN_CURRENT_A), self._maximum_a(port))
            if raw >= MIN_CURRENT_A and plan.reason is not Reason.STOPPING:
                plan.reason = Reason.SURPLUS

    def _hold_without_grid(self, inputs: Inputs, plans: dict[int, _Plan], solar: list[int], *, grid_lost: bool) -> None:
        for number in solar:
            port = inputs.ports[number]
            if not grid_lost:
                # Hold what is set until the reading comes back (never more, see _restrain).
                plans[number] = _Plan(port.limit_a or 0, Reason.GRID_MISSING)
            elif port.mode is ChargingMode.SOLAR:
                # Long enough without a reading: no more guessing, the safe side of each mode.
                if self._ports[number].running:
                    self._ports[number].running = False
                    self._ports[number].moved(inputs.now)
                plans[number] = _Plan(0, Reason.GRID_MISSING)
            else:
                plans[number] = _Plan(MIN_CURRENT_A, Reason.GRID_MISSING)

    def _stop(self, inputs: Inputs, plans: dict[int, _Plan], shared: _Surplus) -> None:
        """Pause the last running port in Solar once the surplus was short of the minimums for the stop delay."""
        stoppable = [number for number in shared.running if inputs.ports[number].mode is ChargingMode.SOLAR]
        for number in stoppable:
            state = self._ports[number]
            if number != stoppable[-1] or shared.surplus_w >= shared.needed_w - self.settings.hysteresis_w:
                state.since = None
                continue
            state.since = inputs.now if state.since is None else state.since
            if inputs.now - state.since >= self.settings.stop_delay_s:
                state.running, state.since = False, None
                state.moved(inputs.now)
                shared.running.remove(number)
                plans[number] = _Plan(0, Reason.NO_SURPLUS)
            else:
                plans[number].reason = Reason.STOPPING

    def _start(self, inputs: Inputs, plans: dict[int, _Plan], shared: _Surplus, waiting: list[int]) -> None:
        """Start the first waiting port once the surplus covered its minimum too for the start delay."""
        for number in waiting:
            state = self._ports[number]
            if number != waiting[0] or shared.surplus_w < shared.needed_w + shared.minimum_w[number]:
                state.since = None
                continue
            state.since = inputs.now if state.since is None else state.since
            if (
                inputs.now - state.since >= self.settings.start_delay_s
                and state.moves_in_the_last_hour(inputs.now) <= MAX_MOVES_PER_HOUR - 2
            ):
                state.running, state.since = True, None
                state.moved(inputs.now)
                shared.running.append(number)
            else:
                plans[number].reason = Reason.WAITING_TO_START

    def _running(self, number: int, port: PortInput) -> bool:
        return port.mode is ChargingMode.SOLAR_MINIMUM or self._ports[number].running

    # --- the quarter-hour peak -------------------------------------------------------------------------------------

    def _guard_peak(self, inputs: Inputs, plans: dict[int, _Plan], *, grid_lost: bool) -> None:
        """Hold the quarter's average import under the peak limit: the cars give way to the house."""
        limit_w = inputs.peak_limit_w
        if not limit_w or not plans:
            return
        if inputs.grid_w is None:
            for number, plan in plans.items():
                # No reading, no budget: hold, and after a while fall back to the minimum.
                ceiling = MIN_CURRENT_A if grid_lost else inputs.ports[number].limit_a
                if ceiling is not None and plan.target_a > ceiling:
                    plan.target_a, plan.reason = ceiling, Reason.GRID_MISSING
            return
        allowed_w = self.quarter.allowed_import_w(inputs.now, limit_w)
        # What the managed cars may draw: the allowed import, less what the rest of the house imports.
        cars_w = sum(inputs.ports[number].power_w for number in plans)
        budget_w = allowed_w - (inputs.grid_w - cars_w)
        active = sorted((number for number, plan in plans.items() if plan.target_a > 0), reverse=True)
        caps = self._fill(inputs, plans, active, budget_w)
        while active and any(caps[number] < MIN_CURRENT_A for number in active):
            # Not enough for every car's minimum: the last port pauses, the others share what there is.
            dropped = plans[active.pop(0)]
            dropped.target_a, dropped.reason = 0, Reason.PEAK_GUARD
            caps = self._fill(inputs, plans, active, budget_w)
        for number in active:
            plan = plans[number]
            if caps[number] < plan.target_a:
                plan.target_a, plan.reason = math.floor(caps[number]), Reason.PEAK_GUARD
                plan.raw_a = caps[number]

    def _fill(self, inputs: Inputs, plans: dict[int, _Plan], active: list[int], budget_w: float) -> dict[int, float]:
        """Share `budget_w` between the ports in `active`: equal power, what one does not want goes to the others."""
        caps: dict[int, float] = {}

        def wanted_w(number: int) -> float:
            return plans[number].target_a * self._watts_per_amp(number, inputs.ports[number])

        left = sorted(active, key=wanted_w)
        remaining = budget_w
        while left:
            number = left.pop(0)
            per_amp = self._watts_per_amp(number, inputs.ports[number])
            share = remaining / (len(left) + 1)
            caps[number] = min(share / per_amp, float(plans[number].target_a))
            remaining -= caps[number] * per_amp
        return caps

    # --- the write ------------------------------------------------------------------------------------------------

    @staticmethod
    def _restrain(plan: _Plan, port: PortInput) -> int:
        """Return the limit to have: not raised by a hair (without a grid reading, the plans only hold or lower)."""
        target = plan.target_a
        current = port.limit_a
        if current is None or target <= current:
            return target
        if plan.raw_a is not None and current >= MIN_CURRENT_A:
            target = max(min(target, math.floor(plan.raw_a - RAISE_MARGIN_A)), current)
        return target
