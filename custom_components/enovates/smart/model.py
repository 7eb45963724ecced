"""What smart charging decides on, and what it decides: modes, reasons, settings, the readings of a site and its ports.

Plain data (no Home Assistant in here), shared by the rules (rules.py), the sharing between ports (sharing.py) and
the controller that decides (controller.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
import enum
from typing import Final

MIN_CURRENT_A: Final = 6  # IEC 61851: a car needs at least this much to charge
NOMINAL_VOLTAGE_V: Final = 230.0


class ChargingMode(enum.StrEnum):
    """How a port charges."""

    MANUAL = "manual"  # the controller leaves the limit to the user (slider, switch, action, automations)
    FAST = "fast"  # the maximum
    SOLAR = "solar"  # surplus only; paused while there is none
    SOLAR_MINIMUM = "solar_minimum"  # never below the minimum, surplus on top
    OFF = "off"  # paused
    PLANNED = "planned"  # the cheapest quarter hours that make the car ready by a time (plan_rule.py)
    SOLAR_PLAN = "solar_plan"  # surplus first, as Solar; the plan fills what is still missing


SOLAR_MODES: Final = frozenset({ChargingMode.SOLAR, ChargingMode.SOLAR_MINIMUM, ChargingMode.SOLAR_PLAN})
# The Solar modes that pause without surplus (Solar + plan as Solar: what the plan wants comes on top).
SOLAR_PAUSING: Final = frozenset({ChargingMode.SOLAR, ChargingMode.SOLAR_PLAN})
# The modes that follow a plan.
PLAN_MODES: Final = frozenset({ChargingMode.PLANNED, ChargingMode.SOLAR_PLAN})


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
    # A start waits: the contactor moved 5 times in the last hour (the 6th is kept for the stop that may follow).
    CONTACTOR_BUDGET = "contactor_budget"
    # A plan's (plan_rule.py): charging in the cheapest hours, waiting for them, done, too late for a plan.
    PLANNED = "planned"
    PLAN_WAITING = "plan_waiting"
    PLAN_DONE = "plan_done"
    PLAN_INFEASIBLE = "plan_infeasible"
    # Being paid to charge: every mode but Manual and Off charges at its maximum.
    NEGATIVE_PRICE = "negative_price"


# The reasons a plan gives (the controller takes them from PlanWish, not from the mode).
PLAN_REASONS: Final = frozenset(
    {Reason.PLANNED, Reason.PLAN_WAITING, Reason.PLAN_DONE, Reason.PLAN_INFEASIBLE, Reason.NEGATIVE_PRICE}
)


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


@dataclass(frozen=True, kw_only=True, slots=True)
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
    # The charger's own contactor state: closed while the car charges. What the contactor budget counts.
    contactor_closed: bool
    # Its place in the order of precedence (lower first: starts first on the surplus, gives way last); ties go by
    # the port's key. One charger leaves it at 0 (port 1 before port 2); a site of several numbers all its ports.
    rank: int = 0


@dataclass(frozen=True, slots=True)
class PlanWish:
    """What a port's plan (or a negative price) wants now: the controller weighs it like a mode's wish."""

    target_a: int
    reason: Reason


@dataclass(frozen=True, kw_only=True, slots=True)
class MeterFigures:
    """The quarter-hour figures the grid meter reports itself (a Belgian meter's 1-0:1.4.0 and 1-0:1.6.0), in W."""

    average_w: float | None = None  # the running average import of the quarter so far; None: not reported lately
    average_at: float | None = None  # when it was reported (seconds since the epoch)
    month_peak_w: float | None = None  # the month's highest quarter, as the meter keeps it


@dataclass(frozen=True, kw_only=True, slots=True)
class Inputs:
    """Everything a decision rests on, at one instant."""

    now: float  # seconds since the epoch
    grid_w: float | None  # import positive, export negative; None: missing or stale
    grid_at: float | None = None  # when the grid reading was reported (None: just now)
    battery_w: float = 0.0  # a home battery's power, discharge positive: never counted as surplus
    peak_limit_w: float | None = None
    meter: MeterFigures | None = None  # the meter's own quarter figures, where the grid sensor's meter reports them
    ports: Mapping[int, PortInput]
    plans: Mapping[int, PlanWish] = field(default_factory=dict)  # per port, from plan_rule.py


@dataclass(frozen=True, slots=True)
class PortDecision:
    """What the controller wants for a port now."""

    reason: Reason
    target_a: int | None = None  # the limit it should have (None: the user's to set)
    write_a: int | None = None  # the limit to write now (None: nothing to write)
