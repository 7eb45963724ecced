"""What a person reads at a glance, derived from the Mode 3 state, the contactor, the power and the offer."""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING

from enovates_modbus.eno_one import Mode3State

from ..const import MIN_CHARGING_CURRENT_A, NO_EMS_LIMIT
from ..ems_limit.write import pauses

if TYPE_CHECKING:
    from enovates_modbus.eno_one import Mode3Details

    from ..coordinator import RealtimeData


class ChargerStatus(enum.StrEnum):
    """The status of a charge port."""

    AVAILABLE = "available"
    PLUGGED_IN = "plugged_in"
    CHARGING = "charging"
    PAUSED = "paused"
    ERROR = "error"


_CONNECTED = {Mode3State.B1, Mode3State.B2, Mode3State.C1, Mode3State.C2, Mode3State.D1, Mode3State.D2}
_ERROR = {Mode3State.E, Mode3State.F}
_PWM_ON = {Mode3State.A2, Mode3State.B2, Mode3State.C2, Mode3State.D2}


def car_connected(mode3: Mode3Details) -> bool | None:
    """Whether a car is plugged in (Mode 3 B, C or D); unknown in an error state or for an unknown state."""
    state = mode3.state_num
    if state in _CONNECTED:
        return True
    if state in (Mode3State.A1, Mode3State.A2):
        return False
    return None


def pwm_offered(mode3: Mode3Details) -> bool:
    """Whether the charger offers the car current (PWM on: A2, B2, C2, D2), which it does once the car was started."""
    return mode3.state_num in _PWM_ON


def charging(data: RealtimeData) -> bool | None:
    """Whether energy flows: the contactor is closed and the port draws power.

    Not the Mode 3 state: for ISO 15118 cars it can say C while nothing flows, or lag behind.
    """
    if data.state is None or data.measurements is None:
        return None
    return data.state.contactor_state and data.measurements.charger_active_power_total > 0


def charger_status(data: RealtimeData, mode3: Mode3Details | None) -> ChargerStatus | None:
    """Return the status of a port; None while what it rests on is unknown."""
    if mode3 is not None and mode3.state_num in _ERROR:
        return ChargerStatus.ERROR
    if charging(data):
        return ChargerStatus.CHARGING
    connected = None if mode3 is None else car_connected(mode3)
    if connected is None:
        return None
    if not connected:
        return ChargerStatus.AVAILABLE
    return ChargerStatus.PAUSED if _paused_by_limit(data) else ChargerStatus.PLUGGED_IN


def _paused_by_limit(data: RealtimeData) -> bool:
    """Whether the EMS limit holds the offer under what a car may charge with.

    A car offered nothing although the limit allows it waits (plugged in): for a badge or the back office (the
    charger offers 0 A until then), for the load-shedding device, or it is full.
    """
    if data.ems_limit_ma is not None:
        return pauses(data.ems_limit_ma)
    # The limit unknown: an offer under 6 A is the likeliest a pause.
    offered = data.current_offered_ma
    return offered is not None and offered < MIN_CHARGING_CURRENT_A * 1000


def effective_ems_limit(data: RealtimeData) -> float | None:
    """Return the EMS limit in A; with no limit set, the charger's own maximum is what limits the car."""
    limit = data.ems_limit_ma
    if limit is None or limit < NO_EMS_LIMIT:
        return None
    if limit == NO_EMS_LIMIT:
        return None if data.state is None else float(data.state.max_amp_per_phase)
    return limit / 1000
