"""Planned charging in the controller's terms: each port's plan kept up to date, and the current it proposes now.

The planner (planner.py) answers one question at one instant; this keeps the bookkeeping around it for a port: the
energy delivered since the car was plugged in, the blocks charged already, the car's state of charge as a sensor
reports it (stuck or jumping sensors included), and when to plan again (a car plugged in, an input changed, and
every quarter hour, on what was really delivered). What it proposes is a wish like a mode's (model.PlanWish): the
controller weighs it with the peak guard, the contactor budget and Solar, and alone decides what is written.

Pure (no Home Assistant in here): the manager hands it the readings, the prices it last read and the user's inputs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Final

from .model import MIN_CURRENT_A, NOMINAL_VOLTAGE_V, PLAN_MODES, ChargingMode, PlanWish, PortInput, Reason
from .planner import Plan, PlanRequest, PlanStatus, make_plan
from .prices import Prices
from .quarter import quarter_start

# A reading further than this from what the car should be at (the last accepted reading plus what was delivered
# since) is a jump: a car's app reporting 0 % or 100 % for a moment, or another car's value. It is taken only once
# the sensor has said the same for CONFIRM_S: then it was the estimate that was wrong.
SOC_JUMP_PERCENT: Final = 10.0
SOC_SAME_PERCENT: Final = 1.0
SOC_CONFIRM_S: Final = 900.0
# Between two readings of a port (a second, normally) longer gaps are not counted as delivering: a restart of Home
# Assistant must not count hours of power that were never seen.
MAX_GAP_S: Final = 60.0
# The house's highest draw lately is what a plan leaves it under the peak limit; it is forgotten over this long.
HOUSE_HIGH_S: Final = 1800.0
# A car that draws at least this much on a phase charges on it.
PHASE_IN_USE_A: Final = 1.0
# A car that draws this much less than its limit takes no more (its own charger's maximum, or a battery nearly full).
CAR_LIMITED_A: Final = 1.5
_EPSILON_KWH: Final = 0.01


def next_ready_by(now: datetime, at: time) -> datetime:
    """Return the next `at` (a time of day, in `now`'s time zone) after `now`: a time already past means tomorrow."""
    moment = datetime.combine(now.date(), at, tzinfo=now.tzinfo)
    if moment <= now:
        moment = datetime.combine(now.date() + timedelta(days=1), at, tzinfo=now.tzinfo)
    return moment


@dataclass(frozen=True, kw_only=True)
class SocTarget:
    """A car's state of charge sensor instead of an energy to add: the charge goes up to `target_percent`."""

    percent: float | None  # the sensor's reading now (None: unavailable)
    target_percent: float
    capacity_kwh: float


@dataclass(frozen=True, kw_only=True)
class PlanInputs:
    """What a user asks of a port: ready by a time, with this much more energy (or up to a state of charge)."""

    ready_by: float  # epoch seconds
    energy_kwh: float  # to add since the car was plugged in
    soc: SocTarget | None = None


class SocFilter:
    """A car's state of charge, as the sensor says when it is believable, else as the energy delivered says."""

    __slots__ = ("_candidate", "_candidate_since", "_delivered_at", "_percent")

    def __init__(self) -> None:
        """Start with no reading."""
        self._percent: float | None = None  # the last reading taken
        self._delivered_at = 0.0  # the port's delivered energy when it was taken
        self._candidate: float | None = None  # a jump, waiting to be confirmed
        self._candidate_since = 0.0

    def estimate(self, capacity_kwh: float, delivered_kwh: float) -> float | None:
        """Return the state of charge now: the last reading, plus what was delivered since (None: never read)."""
        if self._percent is None:
            return None
        return self._percent + (delivered_kwh - self._delivered_at) / capacity_kwh * 100

    def read(self, now: float, percent: float | None, capacity_kwh: float, delivered_kwh: float) -> None:
        """Take a reading (None: unavailable, the estimate goes on from the energy delivered)."""
        if percent is None or not 0 <= percent <= 100:
            return
        expected = self.estimate(capacity_kwh, delivered_kwh)
        if expected is None or abs(percent - expected) <= SOC_JUMP_PERCENT:
            self._take(percent, delivered_kwh)
            return
        if self._candidate is None or abs(percent - self._candidate) > SOC_SAME_PERCENT:
            self._candidate, self._candidate_since = percent, now
        elif now - self._candidate_since >= SOC_CONFIRM_S:
            self._take(percent, delivered_kwh)

    def _take(self, percent: float, delivered_kwh: float) -> None:
        # A sensor stuck on one value is taken once: the estimate then goes on from the energy delivered.
        if percent != self._percent:
            self._percent, self._delivered_at = percent, delivered_kwh
        self._candidate = None


class PortPlan:
    """One port's plan and its bookkeeping: what was delivered, the blocks charged, when to plan again."""

    def __init__(self) -> None:
        """Start with no car."""
        self.plan: Plan | None = None
        self.delivered_kwh = 0.0  # since the car was plugged in
        self.need_kwh = 0.0  # what the last plan was asked for
        self.soc = SocFilter()
        self._blocks_done = 0
        self._plugged = False
        self._charging = False
        self._phases: int | None = None
        self._wanted = False  # the plan wanted the car charging at its last wish
        self._car_max_a: int | None = None  # the most the car was seen to take (None: never held back by it)
        self._seen_at: float | None = None
        self._made_on: tuple[object, ...] | None = None  # what the plan was made on, but the energy

    def follow(self, now: float, port: PortInput) -> None:
        """Take what the port reports this second: a car plugged in, the energy it took, a block started."""
        if port.plugged and not self._plugged:
            # A new car (or the same one again): a new session, a new plan.
            self.delivered_kwh, self._blocks_done, self.plan, self._phases = 0.0, 0, None, None
            self._car_max_a = None
            self.soc = SocFilter()
        self._plugged = port.plugged
        if self._seen_at is not None and port.plugged and 0 < now - self._seen_at <= MAX_GAP_S:
            self.delivered_kwh += max(port.power_w, 0.0) * (now - self._seen_at) / 3_600_000
        self._seen_at = now
        charging = port.plugged and port.contactor_closed
        if charging and not self._charging and self._wanted:
            # A block the plan started (Solar's own starts in Solar + plan are not the plan's).
            self._blocks_done += 1
        self._charging = charging
        if drawing := len([current for current in port.currents_a if current >= PHASE_IN_USE_A]):
            self._phases = drawing
            # A car drawing well under what it is offered takes no more: the plan counts with what it takes.
            drawn = max(port.currents_a)
            if port.limit_a is not None and drawn < port.limit_a - CAR_LIMITED_A:
                self._car_max_a = max(self._car_max_a or 0, round(drawn))

    def need(self, now: float, inputs: PlanInputs) -> float:
        """Return the energy still to add: to the target state of charge, else the energy asked less delivered."""
        soc = inputs.soc
        if soc is not None and soc.capacity_kwh > 0:
            self.soc.read(now, soc.percent, soc.capacity_kwh, self.delivered_kwh)
            if (estimate := self.soc.estimate(soc.capacity_kwh, self.delivered_kwh)) is not None:
                return max(soc.target_percent - estimate, 0.0) / 100 * soc.capacity_kwh
        return max(inputs.energy_kwh - self.delivered_kwh, 0.0)

    def wish(
        self,
        now: float,
        port: PortInput,
        inputs: PlanInputs,
        prices: Prices | None,
        *,
        maximum_a: int,
        cap_w: float | None = None,
    ) -> PlanWish:
        """Return what the plan wants now, planning again when a quarter began or an input changed."""
        need = self.need(now, inputs)
        if self._car_max_a is not None:
            maximum_a = max(min(maximum_a, self._car_max_a), MIN_CURRENT_A)
        phases = self._phases or port.charger_phases
        voltage = port.voltage_v if port.voltage_v > 0 else NOMINAL_VOLTAGE_V
        # What the user asked, not what is still missing: that moves each second while the car charges, and is
        # taken at the next quarter.
        soc = inputs.soc
        asked = (inputs.energy_kwh, None if soc is None else (soc.target_percent, soc.capacity_kwh))
        # The house's room under the peak moves each second too: it is taken at each quarter's plan.
        made_on = (inputs.ready_by, asked, prices, maximum_a, phases, quarter_start(now), need <= _EPSILON_KWH)
        if self.plan is None or made_on != self._made_on:
            self.plan = make_plan(
                PlanRequest(
                    now=now,
                    ready_by=inputs.ready_by,
                    energy_kwh=need,
                    prices=prices.slots if prices is not None else (),
                    max_current_a=maximum_a,
                    phases=phases,
                    voltage_v=voltage,
                    caps_w=None if cap_w is None else (lambda _start: cap_w),
                    blocks_done=self._blocks_done,
                    charging=self._charging,
                    currency=prices.currency if prices is not None else None,
                )
            )
            self.need_kwh, self._made_on = need, made_on
        wish = wish_of(self.plan, now)
        self._wanted = wish.target_a > 0
        return wish


def planning_ports(ports: Iterable[PortInput]) -> int:
    """Return how many of `ports` have a car plugged in and a plan mode: the cars that share the room planned on."""
    return sum(1 for port in ports if port.plugged and port.mode in PLAN_MODES)


def wish_of(plan: Plan, now: float) -> PlanWish:
    """Return the current `plan` wants at `now`, and why."""
    slot = plan.slot_at(now)
    amps = 0 if slot is None else slot.current_a
    if amps and slot is not None and slot.price is not None and slot.price < 0:
        return PlanWish(amps, Reason.NEGATIVE_PRICE)
    if plan.status is PlanStatus.INFEASIBLE:
        return PlanWish(amps, Reason.PLAN_INFEASIBLE)
    if plan.status is PlanStatus.READY:
        return PlanWish(0, Reason.PLAN_DONE)
    return PlanWish(amps, Reason.PLANNED if amps else Reason.PLAN_WAITING)


def negative_price_wish(port: PortInput, prices: Prices | None, now: float) -> PlanWish | None:
    """Return the maximum while the price is negative (being paid to charge), for a car plugged in; else None."""
    if prices is None or not port.plugged:
        return None
    price = prices.price_at(now)
    if price is None or price >= 0:
        return None
    return PlanWish(port.max_current_a, Reason.NEGATIVE_PRICE)


class PlanBook:
    """The plans of a charger's ports, and the house's draw the plans leave room for under the peak."""

    def __init__(self) -> None:
        """Start with no plans."""
        self.ports: dict[int, PortPlan] = {}
        self._house_w: float | None = None
        self._house_at: float | None = None

    def follow_house(self, now: float, grid_w: float | None, cars_w: float) -> None:
        """Follow what the house draws (the grid reading less the cars) at its highest lately.

        The peak guard judges the quarter on what the house draws now, not on its average: a plan that counted on
        the average would be paused each time a heat pump or an oven comes on. The highest draw is forgotten
        slowly (over HOUSE_HIGH_S), so a load that cycles keeps its room.
        """
        if grid_w is None:
            return
        house = max(grid_w - cars_w, 0.0)
        if self._house_w is None or self._house_at is None or house >= self._house_w:
            self._house_w = house
        else:
            weight = min(max(now - self._house_at, 0.0) / HOUSE_HIGH_S, 1.0)
            self._house_w += (house - self._house_w) * weight
        self._house_at = now

    def cap_w(self, peak_limit_w: float | None) -> float | None:
        """Return what the cars may draw under `peak_limit_w` besides the house (None: no peak limit)."""
        if not peak_limit_w:
            return None
        return max(peak_limit_w - (self._house_w or 0.0), 0.0)

    def wishes(
        self,
        now: float,
        ports: Mapping[int, PortInput],
        inputs: Mapping[int, PlanInputs],
        prices: Prices | None,
        *,
        max_current_a: int | None,
        peak_limit_w: float | None,
        planning: int | None = None,
    ) -> dict[int, PlanWish]:
        """Return what each port's plan (or a negative price) wants now; follow every port's energy meanwhile.

        `planning`: how many cars plan at once under the peak limit (a site's, all its chargers'); by default the
        plugged ports in a plan mode here. Each plans on an equal part of the house's room, as the peak guard
        shares it: two plans each counting on the whole room would both fall short, at the same cheap quarters.
        """
        wishes: dict[int, PlanWish] = {}
        if planning is None:
            planning = planning_ports(ports.values())
        cap_w = self.cap_w(peak_limit_w)
        if cap_w is not None:
            cap_w /= max(planning, 1)
        for number, port in ports.items():
            plan = self.ports.setdefault(number, PortPlan())
            plan.follow(now, port)
            maximum = min(port.max_current_a, max_current_a or port.max_current_a)  # the options' ceiling
            wish: PlanWish | None
            if port.mode in PLAN_MODES and port.plugged and (asked := inputs.get(number)) is not None:
                wish = plan.wish(now, port, asked, prices, maximum_a=maximum, cap_w=cap_w)
            elif port.mode not in (ChargingMode.MANUAL, ChargingMode.OFF):
                plan.plan = None  # another mode: the plan is made again when a plan mode is picked
                wish = negative_price_wish(port, prices, now)
            else:
                plan.plan = None
                wish = None
            if wish is not None:
                wishes[number] = wish
        return wishes
