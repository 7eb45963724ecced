"""What the EMS limit of each port should be, second by second: the charging modes and the quarter-hour peak guard.

Pure arithmetic over what the charger and the grid meter report (no Home Assistant in here): a simulated week runs
through it in seconds, and every decision can be replayed from its inputs.

The rules propose (rules.py: the mode, Solar's delays, a missing reading, the peak guard's patience), the sharing
splits the surplus and the headroom between the ports (sharing.py), and `SmartController._decide` alone decides:
the lowest proposal wins, a start waits while the port's contactor budget is spent (contactor.py: 6 moves in any
hour, counted from the charger's own contactor state, every mode together; a stop always happens), and a write
waits for its interval and, when it rests on the grid, for a reading newer than the last change.
"""

from __future__ import annotations

from dataclasses import dataclass, field
import math
from typing import Final

from .contactor import HOUR_S, MAX_MOVES_PER_HOUR, ContactorBudget
from .model import (
    GRID_DRIVEN,
    MIN_CURRENT_A,
    NOMINAL_VOLTAGE_V,
    SOLAR_MODES,
    ChargingMode,
    Inputs,
    PortDecision,
    PortInput,
    Reason,
    Settings,
)
from .quarter import QuarterMeter
from .rules import (
    GUARD_MIN_RUN_S,
    GUARD_RESUME_MARGIN_A,
    GuardLatch,
    Proposal,
    SolarTimer,
    guard_without_grid,
    mode_wish,
    without_grid,
)
from .sharing import fill, give_way_order, start_candidate, stop_candidate

__all__ = [
    "GRID_DRIVEN",
    "HOUR_S",
    "MAX_MOVES_PER_HOUR",
    "MIN_CURRENT_A",
    "NOMINAL_VOLTAGE_V",
    "ChargingMode",
    "Inputs",
    "PortDecision",
    "PortInput",
    "Reason",
    "Settings",
    "SmartController",
]

# At most one write per port this often: a charger's small Modbus server, and a car, take a moment to follow.
WRITE_INTERVAL_S: Final = 5.0
# A limit is raised only when the surplus covers this much more than the next whole ampere: a surplus hovering
# at a boundary does not make the limit go up and down every few seconds.
RAISE_MARGIN_A: Final = 0.3
# Without a grid reading the limit holds this long, then falls back to the minimum (or a pause, in Solar).
GRID_MISSING_BOUND_S: Final = 60.0
# A grid reading counts for decisions on the surplus or the peak once it was reported this long after the last
# change: a write, a move of a car's power (by this much at least), a change of a port's mode. The meter has seen
# the cars as they are, and a reading from before a mode was picked decides nothing in that mode.
SETTLE_S: Final = 2.0
POWER_MOVE_W: Final = 300.0
# A phase carries the car's current when it draws at least this much.
PHASE_IN_USE_A: Final = 1.0
# A limit written shows in the charger's readings within this long (the write path reads it back); until then the
# controller goes by what it wrote (a poll may still bring the limit from before). Then by the charger again: a
# write the charger did not take is written again after the interval.
WRITE_SHOWS_S: Final = WRITE_INTERVAL_S


@dataclass(slots=True)
class _Port:
    """What the controller knows of one port over time."""

    mode: ChargingMode = ChargingMode.MANUAL
    mode_at: float = -math.inf  # when the mode last changed
    phases: int | None = None  # what the car was last seen drawing on
    steady_w: float = 0.0  # the car's power when it last moved by POWER_MOVE_W or more
    moved_at: float = -math.inf  # and when that was
    written_a: int | None = None  # the last limit written
    written_at: float = -math.inf  # and when
    contactor: ContactorBudget = field(default_factory=ContactorBudget)
    solar: SolarTimer = field(default_factory=SolarTimer)
    guard: GuardLatch = field(default_factory=GuardLatch)

    def limit_a(self, now: float, reported: int | None) -> int | None:
        """Return the limit in force: the one written a moment ago, until the charger's readings show it."""
        if self.written_a is not None and reported != self.written_a and now - self.written_at < WRITE_SHOWS_S:
            return self.written_a
        return reported

    def follow(self, now: float, port: PortInput) -> None:
        """Take what the port reports now: its contactor, its mode, its car's power and phases."""
        self.contactor.observe(now, port.contactor_closed)
        limit = self.limit_a(now, port.limit_a)
        # Whether the charger offers the car current (with the limit unknown, whether the car charges tells).
        offered = port.plugged and (port.contactor_closed if limit is None else limit >= MIN_CURRENT_A)
        if port.mode is not self.mode:
            self.mode, self.mode_at = port.mode, now
            self.solar.picked(charging=offered and port.contactor_closed)
            self.guard.clear()
        self.solar.follow(offered=offered)
        if abs(port.power_w - self.steady_w) >= POWER_MOVE_W:
            self.steady_w, self.moved_at = port.power_w, now
        drawing = sum(1 for current in port.currents_a if current >= PHASE_IN_USE_A)
        if not port.plugged:
            self.phases = None
        elif drawing:
            self.phases = drawing


@dataclass
class SmartController:
    """Decides the limits of one charger's ports from the modes, the surplus and the quarter-hour budget."""

    settings: Settings = field(default_factory=Settings)
    quarter: QuarterMeter = field(default_factory=QuarterMeter)
    _ports: dict[int, _Port] = field(default_factory=dict)
    _grid_missing_since: float | None = None
    _last_write: float = -math.inf  # of any port: they share the grid meter

    def step(self, inputs: Inputs) -> tuple[dict[int, PortDecision], tuple[float, float] | None]:
        """Decide every port's limit now; also return (start, average W) of a quarter that just ended."""
        now = inputs.now
        ports = inputs.ports
        closed = self.quarter.add(
            now, inputs.grid_w, cars_w=sum(port.power_w for port in ports.values()), reading_at=inputs.grid_at
        )
        if inputs.grid_w is not None:
            self._grid_missing_since = None
        elif self._grid_missing_since is None:
            self._grid_missing_since = now
        lost = self._grid_missing_since is not None and now - self._grid_missing_since >= GRID_MISSING_BOUND_S

        for number, port in ports.items():
            if (state := self._ports.get(number)) is None:
                state = self._ports[number] = _Port()
            state.follow(now, port)
        # A grid reading from before the last change mixes the cars' (or the mode's) new state with the grid's old
        # one: the surplus and the headroom it gives are wrong until the meter reports again.
        changed = max(
            self._last_write, *(max(state.moved_at, state.mode_at) for state in self._ports.values()), -math.inf
        )
        settled = inputs.grid_w is not None and (inputs.grid_at is None or inputs.grid_at >= changed + SETTLE_S)

        wishes = {
            number: mode_wish(port, self._maximum_a(port), running=self._ports[number].solar.running)
            for number, port in ports.items()
            if port.mode is not ChargingMode.MANUAL
        }
        if wishes:
            self._share_surplus(inputs, wishes, lost=lost)
        caps = self._guard_peak(inputs, wishes, lost=lost, settled=settled) if wishes else {}
        decisions: dict[int, PortDecision] = {}
        for number, port in ports.items():
            wish = wishes.get(number)
            if wish is None:
                decisions[number] = PortDecision(Reason.MANUAL)
                continue
            cap = caps.get(number)
            plan = cap if cap is not None and cap.target_a < wish.target_a else wish
            decisions[number] = self._decide(
                number, port, plan, now, settled=settled, guarded=bool(inputs.peak_limit_w)
            )
        return decisions, closed

    # --- the one place that decides ------------------------------------------------------------------------------

    def _may_start(self, number: int, now: float) -> bool:
        """Return whether the port's contactor budget allows a start now (the sharing asks too, so as to plan)."""
        return self._ports[number].contactor.may_start(now)

    def _decide(
        self, number: int, port: PortInput, plan: Proposal, now: float, *, settled: bool, guarded: bool
    ) -> PortDecision:
        """Decide the port's limit from the proposal that won, and whether to write it now."""
        state = self._ports[number]
        limit = state.limit_a(now, port.limit_a)
        starting = port.plugged and limit is not None and limit < MIN_CURRENT_A <= plan.target_a
        if starting and limit is not None and not self._may_start(number, now):
            # Whoever wants the start (a mode, Solar, the guard giving the headroom back) waits: the hour's moves
            # are spent but for the stop that may have to follow.
            plan = Proposal(limit, Reason.CONTACTOR_BUDGET)
            starting = False
        target = self._restrain(plan, limit)
        # Under a peak limit, any raise rests on the grid reading too (the headroom).
        needs_grid = plan.reason in GRID_DRIVEN or (guarded and target > (limit or 0))
        write = None
        if (
            limit is not None
            and target != limit
            and now - state.written_at >= WRITE_INTERVAL_S
            and (settled or not needs_grid)
        ):
            write = target
            state.written_a, state.written_at = target, now
            self._last_write = now
            if starting and port.mode is ChargingMode.SOLAR:
                state.solar.started()
        return PortDecision(plan.reason, target, write)

    @staticmethod
    def _restrain(plan: Proposal, current: int | None) -> int:
        """Return the limit to have: not raised by a hair (without a grid reading, the plans only hold or lower)."""
        target = plan.target_a
        if current is None or target <= current:
            return target
        if plan.raw_a is not None and current >= MIN_CURRENT_A:
            target = max(min(target, math.floor(plan.raw_a - RAISE_MARGIN_A)), current)
        return target

    # --- per port ------------------------------------------------------------------------------------------------

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

    def _running(self, number: int, port: PortInput) -> bool:
        return port.mode is ChargingMode.SOLAR_MINIMUM or self._ports[number].solar.running

    # --- the surplus ---------------------------------------------------------------------------------------------

    def _share_surplus(self, inputs: Inputs, wishes: dict[int, Proposal], *, lost: bool) -> None:
        """Start, follow and stop the ports in a Solar mode on what the house does not use."""
        ports, now = inputs.ports, inputs.now
        solar = sorted(
            number
            for number, wish in wishes.items()
            if ports[number].mode in SOLAR_MODES and wish.reason is not Reason.NO_CAR
        )
        if not solar:
            return
        if inputs.grid_w is None:
            self._hold_without_grid(inputs, wishes, solar, lost=lost)
            return
        settings = self.settings
        # The car's own power is not consumption: what the house would export without it is the surplus.
        surplus_w = sum(self._car_w(number, ports[number]) for number in solar) - inputs.grid_w - inputs.battery_w
        minimum_w = {number: MIN_CURRENT_A * self._watts_per_amp(number, ports[number]) for number in solar}
        running = [number for number in solar if self._running(number, ports[number])]
        waiting = [number for number in solar if number not in running]

        # Stop: the last running port in Solar, once the surplus was short of the minimums for the stop delay.
        stoppable = [number for number in running if ports[number].mode is ChargingMode.SOLAR]
        short = stop_candidate(surplus_w, running, minimum_w, stoppable, settings.hysteresis_w)
        stopping = set()
        for number in stoppable:
            if self._ports[number].solar.due(now, holds=number == short, delay_s=settings.stop_delay_s):
                running.remove(number)
                wishes[number] = Proposal(0, Reason.NO_SURPLUS)
            elif number == short:
                stopping.add(number)
        # Start: the first waiting port, once the surplus covered its minimum too for the start delay, and its
        # contactor may move.
        first = start_candidate(surplus_w, running, waiting, minimum_w)
        for number in waiting:
            if not self._ports[number].solar.due(now, holds=number == first, delay_s=settings.start_delay_s):
                wishes[number] = Proposal(0, Reason.WAITING_TO_START if number == first else Reason.NO_SURPLUS)
            elif self._may_start(number, now):
                running.append(number)
            else:
                wishes[number] = Proposal(0, Reason.CONTACTOR_BUDGET)
        # Follow: the running ports share the surplus, equal parts of power, each within its own range.
        share_w = surplus_w / len(running) if running else 0.0
        for number in running:
            raw = share_w / self._watts_per_amp(number, ports[number])
            target = min(max(math.floor(raw), MIN_CURRENT_A), self._maximum_a(ports[number]))
            if number in stopping:
                reason = Reason.STOPPING
            else:
                reason = Reason.SURPLUS if raw >= MIN_CURRENT_A else Reason.MINIMUM
            wishes[number] = Proposal(target, reason, raw)

    def _hold_without_grid(self, inputs: Inputs, wishes: dict[int, Proposal], solar: list[int], *, lost: bool) -> None:
        for number in solar:
            port, state = inputs.ports[number], self._ports[number]
            state.solar.since = None  # the delays start again on the readings to come
            held = state.limit_a(inputs.now, port.limit_a) or 0
            wishes[number] = without_grid(port.mode, held, lost=lost)

    # --- the quarter-hour peak -----------------------------------------------------------------------------------

    def _guard_peak(
        self, inputs: Inputs, wishes: dict[int, Proposal], *, lost: bool, settled: bool
    ) -> dict[int, Proposal]:
        """Return the ceilings that hold the quarter's average import under the peak limit: the cars give way."""
        limit_w = inputs.peak_limit_w
        if not limit_w:
            return {}
        ports, now = inputs.ports, inputs.now
        limits = {number: self._ports[number].limit_a(now, ports[number].limit_a) for number in wishes}
        if inputs.grid_w is None:
            # No reading, no budget: hold, and after a while fall back to the minimum.
            return {
                number: guard_without_grid(limit, lost=lost) for number, limit in limits.items() if limit is not None
            }
        allowed_w = self.quarter.allowed_import_w(now, limit_w)
        # What the managed cars may draw: the allowed import, less what the rest of the house imports.
        cars_w = sum(ports[number].power_w for number in wishes)
        budget_w = allowed_w - (inputs.grid_w - cars_w)
        per_amp = {number: self._watts_per_amp(number, ports[number]) for number in wishes}
        active = [number for number, wish in wishes.items() if wish.target_a > 0]
        paused = {number for number in active if (limits[number] or 0) < MIN_CURRENT_A}
        # What each car needs to go on: its minimum; a paused one, its minimum and the margin to start again.
        needed = {
            number: (MIN_CURRENT_A + (GUARD_RESUME_MARGIN_A if number in paused else 0.0)) * per_amp[number]
            for number in active
        }
        wanted = {number: max(wishes[number].target_a * per_amp[number], needed[number]) for number in active}
        if self.quarter.remaining_s(now) < GUARD_MIN_RUN_S:
            house_w = inputs.grid_w - cars_w
            for number in paused & set(active):
                if limit_w - house_w < needed[number]:
                    active.remove(number)
        order = give_way_order(active, paused)
        dropped = [number for number in paused if number not in active]
        shares = fill(budget_w, wanted)
        while any(shares[number] < needed[number] for number in active):
            # Not enough for every car's minimum (or for a paused one to start again with room): the first in the
            # order gives way, the others share what there is.
            dropped.append(giving := order.pop(0))
            active.remove(giving)
            shares = fill(budget_w, {number: wanted[number] for number in active})
        caps = {}
        reading_at = now if inputs.grid_at is None else inputs.grid_at
        for number in dropped:
            latch = self._ports[number].guard
            # A charging car holds its minimum until a later reading confirms there is no room for it.
            hold = number not in paused and not (settled and latch.confirmed(reading_at))
            caps[number] = Proposal(MIN_CURRENT_A if hold else 0, Reason.PEAK_GUARD)
        for number in active:
            if settled:
                self._ports[number].guard.clear()
            amps = shares[number] / per_amp[number]
            if amps < wishes[number].target_a:
                caps[number] = Proposal(math.floor(amps), Reason.PEAK_GUARD, amps)
        return caps
