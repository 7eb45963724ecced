"""A simulated Enovates ENO one EV charger, speaking Modbus TCP as the real one does.

The device for tests, the development instance and benchmarks: no charger is needed to work on the integration.
"""

from .clock import Clock, ManualClock, MonotonicClock
from .faults import FaultKind, FaultRule, Faults, Latency
from .model import Car, CarScenario, Charger, EmsMode, Identity, LedColor, LockState, Mode3State, Port, PortFault
from .server import Stats
from .simulator import Simulator
from .variants import (
    AfterReboot,
    EmsOff,
    ExtraClient,
    LimitWrite,
    MonitoringWrite,
    Profile,
    Token,
    UnknownUnit,
)

__all__ = [
    "AfterReboot",
    "Car",
    "CarScenario",
    "Charger",
    "Clock",
    "EmsMode",
    "EmsOff",
    "ExtraClient",
    "FaultKind",
    "FaultRule",
    "Faults",
    "Identity",
    "Latency",
    "LedColor",
    "LimitWrite",
    "LockState",
    "ManualClock",
    "Mode3State",
    "MonitoringWrite",
    "MonotonicClock",
    "Port",
    "PortFault",
    "Profile",
    "Simulator",
    "Stats",
    "Token",
    "UnknownUnit",
]
