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

from .contactor import ContactorBudget
from .meter_quarter import MeteredQuarter
from .model import (
    GRID_DRIVEN,
    MIN_CURRENT_A,
    NOMINAL_VOLTAGE_V,
    PLAN_REASONS,
    SOLAR_MODES,
    SOLAR_PAUSING,
    ChargingMode,
    Inputs,
    PlanWish,
    PortDecision,
    PortInput,
    Reason,
    Settings,
)
from .rules import (
    GUARD_AIM,
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

# The names the integration and the tests have always imported from here.
__all__ = [
    "GRID_DRIVEN",
    "MIN_CURRENT_A",
    "NOMINAL_VOLTAGE_V",
    "ChargingMode",
    "Inputs",
    "PlanWish",
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
    """What the controller knows of one port: its history, and what it reports this second."""

    mode: ChargingMode = ChargingMode.MANUAL
    mode_at: float = -math.inf  # when the mode last changed
    phases: int | None = None  # what the car was last seen drawing on
    steady_w: float = 0.0  # the car's power when it last moved by POWER_MOVE_W or more
    last_w: float = 0.0  # its power at the last reading
    moved_at: float = -math.inf  # and when that was
    written_a: int | None = None  # the last limit written
    written_at: float = -math.inf  # and when
    contactor: ContactorBudget = field(default_factory=ContactorBudget)
    solar: SolarTimer = field(default_factory=SolarTimer)
    guard: GuardLatch = field(default_factory=GuardLatch)
    # This second (set by `follow`):
    limit: int | None = None  # the limit in force (what was written a moment ago, until the charger shows it)
    per_amp_w: float = 0.0  # what an ampere is worth on the phases the car draws on

    def follow(self, now: float, port: PortInput) -> None:
        """Take what the port reports now: its contactor, its limit, its mode, its car's power and phases."""
        self.contactor.observe(now, port.contactor_closed)
        limit = port.limit_a
        if self.written_a is not None and limit != self.written_a and now - self.written_at < WRITE_SHOWS_S:
            limit = self.written_a
        self.limit = limit
        # Whether the charger offers the car current (with the limit unknown, whether the car charges tells).
        offered = port.plugged and (port.contactor_closed if limit is None else limit >= MIN_CURRENT_A)
        if port.mode is not self.mode:
            self.mode, self.mode_at = port.mode, now
            self.solar.picked(charging=offered and port.contactor_closed)
            self.guard.clear()
        self.solar.follow(offered=offered)
        # A move: by POWER_MOVE_W from one reading to the next, or little by little since the last move.
        power = port.power_w
        if abs(power - self.last_w) >= POWER_MOVE_W or abs(power - self.steady_w) >= POWER_MOVE_W:
            self.steady_w, self.moved_at = power, now
        self.last_w = power
        if not port.plugged:
            self.phases = None
        elif drawing := len([current for current in port.currents_a if current >= PHASE_IN_USE_A]):
            self.phases = drawing
        voltage = port.voltage_v if port.voltage_v > 0 else NOMINAL_VOLTAGE_V
        self.per_amp_w = (self.phases or port.charger_phases) * voltage

    def car_w(self, port: PortInput) -> float:
        """Return the car's power, never more than its limit allows.

        A user's write goes before the polls waiting for the connection, so a poll may bring the power read just
        before a lower limit with the limit read just after: the car cannot draw more than it is offered.
        """
        if port.limit_a is None:
            return port.power_w
        return min(port.power_w, port.limit_a * self.per_amp_w)


@dataclass
class SmartController:
    """Decides the limits of one charger's ports from the modes, the surplus and the quarter-hour budget."""

    settings: Settings = field(default_factory=Settings)
    quarter: MeteredQuarter = field(default_factory=MeteredQuarter)
    _ports: dict[int, _Port] = field(default_factory=dict)
    _grid_missing_since: float | None = None
    _last_write: float = -math.inf  # of any port: they share the grid meter

    def step(self, inputs: Inputs) -> tuple[dict[int, PortDecision], tuple[float, float] | None]:
        """Decide every port's limit now; also return (start, average W) of a quarter that just ended."""
        now = inputs.now
        ports = inputs.ports
        changed, closed = self._follow(inputs)
        wishes: dict[int, Proposal] = {
            number: mode_wish(port, self._maximum_a(port), running=self._ports[number].solar.running)
            for number, port in ports.items()
            if port.mode is not ChargingMode.MANUAL
        }
        if inputs.grid_w is not None:
            self._grid_missing_since = None
        elif self._grid_missing_since is None:
            self._grid_missing_since = now
        lost = self._grid_missing_since is not None and now - self._grid_missing_since >= GRID_MISSING_BOUND_S
        # A grid reading from before the last change mixes the cars' (or the mode's) new state with the grid's old
        # one: the surplus and the headroom it gives are wrong until the meter reports again.
        settled = inputs.grid_w is not None and (inputs.grid_at is None or inputs.grid_at >= changed + SETTLE_S)

        caps: dict[int, Proposal] = {}
        if wishes:
            self._share_surplus(inputs, wishes, lost=lost)
            self._take_plans(inputs, wishes)
            if inputs.peak_limit_w:
                caps = self._guard_peak(inputs, inputs.peak_limit_w, wishes, lost=lost, settled=settled)
        decisions: dict[int, PortDecision] = {}
        for number, port in ports.items():
            if (wish := wishes.get(number)) is None:
                decisions[number] = PortDecision(Reason.MANUAL)
                continue
            cap = caps.get(number)
            plan = cap if cap is not None and cap.target_a < wish.target_a else wish
            decisions[number] = self._decide(
                number, port, plan, now, settled=settled, guarded=bool(inputs.peak_limit_w)
            )
        return decisions, closed

    def observe(self, inputs: Inputs) -> tuple[float, float] | None:
        """Follow the ports and the quarter without deciding (every port in Manual); return a quarter that ended.

        The contactor's moves still count (a user's moves spend the hour's budget too) and the quarter goes on.
        """
        return self._follow(inputs)[1]

    def _follow(self, inputs: Inputs) -> tuple[float, tuple[float, float] | None]:
        """Take what every port and the grid report now; return the last change and a quarter that ended."""
        changed = self._last_write
        cars_w = 0.0
        for number, port in inputs.ports.items():
            if (state := self._ports.get(number)) is None:
                state = self._ports[number] = _Port()
            state.follow(inputs.now, port)
            cars_w += port.power_w
            changed = max(changed, state.moved_at, state.mode_at)
        closed = self.quarter.add(
            inputs.now, inputs.grid_w, cars_w=cars_w, reading_at=inputs.grid_at, meter=inputs.meter
        )
        return changed, closed

    # --- the one place that decides ------------------------------------------------------------------------------

    def _may_start(self, number: int, now: float) -> bool:
        """Return whether the port's contactor budget allows a start now (the sharing asks too, so as to plan)."""
        return self._ports[number].contactor.may_start(now)

    def _decide(
        self, number: int, port: PortInput, plan: Proposal, now: float, *, settled: bool, guarded: bool
    ) -> PortDecision:
        """Decide the port's limit from the proposal that won, and whether to write it now."""
        state = self._ports[number]
        limit = state.limit
        starting = port.plugged and limit is not None and limit < MIN_CURRENT_A <= plan.target_a
        if starting and limit is not None and not self._may_start(number, now):
            # Whoever wants the start (a mode, Solar, the guard giving the headroom back) waits: the hour's moves
            # are spent but for the stop that may have to follow.
            plan = Proposal(limit, Reason.CONTACTOR_BUDGET)
            starting = False
        target = self._restrain(plan, limit)
        if limit is None or target == limit or now - state.written_at < WRITE_INTERVAL_S:
            return PortDecision(plan.reason, target)
        # Under a peak limit, any raise rests on the grid reading too (the headroom).
        if not settled and (plan.reason in GRID_DRIVEN or (guarded and target > limit)):
            return PortDecision(plan.reason, target)
        state.written_a, state.written_at = target, now
        self._last_write = now
        if starting and port.mode in SOLAR_PAUSING and plan.reason not in PLAN_REASONS:
            state.solar.started()
        return PortDecision(plan.reason, target, target)

    @staticmethod
    def _restrain(plan: Proposal, current: int | None) -> int:
        """Return the limit to have: not raised by a hair (without a grid reading, the plans only hold or lower)."""
        target = plan.target_a
        if current is None or target <= current:
            return target
        if plan.raw_a is not None and current >= MIN_CURRENT_A:
            target = max(min(target, math.floor(plan.raw_a - RAISE_MARGIN_A)), current)
        return target

    def _maximum_a(self, port: PortInput) -> int:
        ceiling = self.settings.max_current_a
        return port.max_current_a if ceiling is None else max(min(ceiling, port.max_current_a), MIN_CURRENT_A)

    # --- the plans (plan_rule.py) --------------------------------------------------------------------------------

    def _take_plans(self, inputs: Inputs, wishes: dict[int, Proposal]) -> None:
        """Weigh each port's plan like a mode's wish: Planned's own; on top of Solar's (and any mode's) when higher.

        A plan proposes, it does not write: the peak guard's ceiling, the contactor budget and the write interval
        apply to it as to any wish. Off stays off, whatever the price.
        """
        for number, planned in inputs.plans.items():
            wish = wishes.get(number)  # a port in Manual has none
            if wish is None or (port := inputs.ports[number]).mode is ChargingMode.OFF or not port.plugged:
                continue
            state = self._ports[number]
            solar_runs = wish.reason in (Reason.SURPLUS, Reason.MINIMUM)
            if port.mode is ChargingMode.SOLAR_PLAN and solar_runs and not state.solar.running:
                # Solar's start condition held while the plan charged the car: Solar runs it too from now, so
                # that the end of the plan's block leaves it on the surplus, and a cloud then waits the stop delay.
                state.solar.started()
            target = min(planned.target_a, self._maximum_a(port))
            # Solar + plan paused for both: the plan says why (waiting for cheaper hours, ready), not Solar.
            if (
                port.mode is ChargingMode.PLANNED
                or target > wish.target_a
                or (target == wish.target_a and wish.reason is Reason.NO_SURPLUS)
            ):
                wishes[number] = Proposal(target, planned.reason)

    # --- the surplus ---------------------------------------------------------------------------------------------

    def _share_surplus(self, inputs: Inputs, wishes: dict[int, Proposal], *, lost: bool) -> None:
        """Start, follow and stop the ports in a Solar mode on what the house does not use."""
        ports, now, states = inputs.ports, inputs.now, self._ports
        solar = [
            number
            for number, wish in wishes.items()
            if ports[number].mode in SOLAR_MODES and wish.reason is not Reason.NO_CAR
        ]
        if not solar:
            return
        solar.sort(key=lambda number: (ports[number].rank, number))
        if inputs.grid_w is None:
            self._hold_without_grid(inputs, wishes, solar, lost=lost)
            return
        settings = self.settings
        # The car's own power is not consumption: what the house would export without it is the surplus.
        surplus_w = sum(states[number].car_w(ports[number]) for number in solar) - inputs.grid_w - inputs.battery_w
        minimum_w = {number: MIN_CURRENT_A * states[number].per_amp_w for number in solar}
        running = [
            number
            for number in solar
            if ports[number].mode is ChargingMode.SOLAR_MINIMUM or states[number].solar.running
        ]
        waiting = [number for number in solar if number not in running]

        # Stop: the last running port in Solar, once the surplus was short of the minimums for the stop delay.
        stoppable = [number for number in running if ports[number].mode in SOLAR_PAUSING]
        short = stop_candidate(surplus_w, running, minimum_w, stoppable, settings.hysteresis_w)
        stopping = None
        for number in stoppable:
            if states[number].solar.due(now, holds=number == short, delay_s=settings.stop_delay_s):
                running.remove(number)
                wishes[number] = Proposal(0, Reason.NO_SURPLUS)
            elif number == short:
                stopping = number
        # Start: the first waiting port, once the surplus covered its minimum too for the start delay, and its
        # contactor may move.
        first = start_candidate(surplus_w, running, waiting, minimum_w)
        for number in waiting:
            if not states[number].solar.due(now, holds=number == first, delay_s=settings.start_delay_s):
                wishes[number] = Proposal(0, Reason.WAITING_TO_START if number == first else Reason.NO_SURPLUS)
            elif self._may_start(number, now):
                running.append(number)
            else:
                wishes[number] = Proposal(0, Reason.CONTACTOR_BUDGET)
        # Follow: the running ports share the surplus, equal parts of power, each within its own range.
        share_w = surplus_w / len(running) if running else 0.0
        for number in running:
            raw = share_w / states[number].per_amp_w
            target = min(max(math.floor(raw), MIN_CURRENT_A), self._maximum_a(ports[number]))
            if number == stopping:
                reason = Reason.STOPPING
            else:
                reason = Reason.SURPLUS if raw >= MIN_CURRENT_A else Reason.MINIMUM
            wishes[number] = Proposal(target, reason, raw)

    def _hold_without_grid(self, inputs: Inputs, wishes: dict[int, Proposal], solar: list[int], *, lost: bool) -> None:
        for number in solar:
            state = self._ports[number]
            state.solar.since = None  # the delays start again on the readings to come
            wishes[number] = without_grid(inputs.ports[number].mode, state.limit or 0, lost=lost)

    # --- the quarter-hour peak -----------------------------------------------------------------------------------

    def _guard_peak(
        self, inputs: Inputs, limit_w: float, wishes: dict[int, Proposal], *, lost: bool, settled: bool
    ) -> dict[int, Proposal]:
        """Return the ceilings that hold the quarter's average import under the peak limit: the cars give way."""
        ports, now, states = inputs.ports, inputs.now, self._ports
        if inputs.grid_w is None:
            # No reading, no budget: hold, and after a while fall back to the minimum.
            return {
                number: guard_without_grid(limit, lost=lost)
                for number in wishes
                if (limit := states[number].limit) is not None
            }
        # What the managed cars may draw: the allowed import, less what the rest of the house imports.
        house_w = inputs.grid_w
        for number in wishes:
            house_w -= ports[number].power_w
        budget_w = self.quarter.allowed_import_w(now, limit_w * GUARD_AIM) - house_w
        wanted: dict[int, float] = {}  # what each car would draw, at least what it needs to go on
        needed: dict[int, float] = {}  # its minimum; for a paused one, with the margin to start again
        paused: list[int] = []
        for number, wish in wishes.items():
            if wish.target_a <= 0:
                continue
            state = states[number]
            needed[number] = MIN_CURRENT_A * state.per_amp_w
            if (state.limit or 0) < MIN_CURRENT_A:
                paused.append(number)
                needed[number] += GUARD_RESUME_MARGIN_A * state.per_amp_w
            wanted[number] = max(wish.target_a * state.per_amp_w, needed[number])
        if paused and self.quarter.remaining_s(now) < GUARD_MIN_RUN_S:
            for number in paused:
                if limit_w - house_w < needed[number]:
                    del wanted[number]
        shares = fill(budget_w, wanted)
        if any(shares[number] < needed[number] for number in shares) or len(shares) < len(needed):
            rank = {number: ports[number].rank for number in wanted}
            shares = self._give_way(budget_w, wanted, needed, paused, rank)
        return self._caps(inputs, wishes, shares, needed, paused, settled=settled)

    def _caps(
        self,
        inputs: Inputs,
        wishes: dict[int, Proposal],
        shares: dict[int, float],
        needed: dict[int, float],
        paused: list[int],
        *,
        settled: bool,
    ) -> dict[int, Proposal]:
        """Return the guard's ceilings: each port's share; a pause for those that gave way."""
        caps: dict[int, Proposal] = {}
        reading_at = inputs.now if inputs.grid_at is None else inputs.grid_at
        for number in needed:
            state = self._ports[number]
            if number not in shares:
                # A charging car holds its minimum until a later reading confirms there is no room for it.
                hold = number not in paused and not (settled and state.guard.confirmed(reading_at))
                caps[number] = Proposal(MIN_CURRENT_A if hold else 0, Reason.PEAK_GUARD)
                continue
            if settled:
                state.guard.clear()
            amps = shares[number] / state.per_amp_w
            if amps < wishes[number].target_a:
                caps[number] = Proposal(math.floor(amps), Reason.PEAK_GUARD, amps)
        return caps

    @staticmethod
    def _give_way(
        budget_w: float,
        wanted: dict[int, float],
        needed: dict[int, float],
        paused: list[int],
        rank: dict[int, int],
    ) -> dict[int, float]:
        """Return the shares once the ports that cannot have their minimum gave way, in the order they do."""
        order = give_way_order(wanted, paused, rank)
        active = dict(wanted)
        shares = fill(budget_w, active)
        while any(shares[number] < needed[number] for number in shares):
            # Not enough for every car's minimum (or for a paused one to start again with room): the first in the
            # order gives way, the others share what there is.
            del active[order.pop(0)]
            shares = fill(budget_w, active)
        return shares
