"""A simulated Enovates ENO one EV charger, speaking Modbus TCP as the real one does.

The device for tests, the development instance and benchmarks: no charger is needed to work on the integration.
"""

from .clock import Clock, ManualClock, MonotonicClock
from .faults import FaultKind, FaultRule, Faults, Latency
from .home import Flows, Home
from .household import Household
from .meter import GridMeter, MeterReading, Tariff
from .model import (
    Car,
    CarScenario,
    Charger,
    EmsMode,
    Identity,
    LedColor,
    LockState,
    Mode3State,
    Port,
    PortFault,
    nth_serial,
)
from .p1 import MeterIdentity, P1Server, P1Version
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
    "Flows",
    "GridMeter",
    "Home",
    "Household",
    "Identity",
    "Latency",
    "LedColor",
    "LimitWrite",
    "LockState",
    "ManualClock",
    "MeterIdentity",
    "MeterReading",
    "Mode3State",
    "MonitoringWrite",
    "MonotonicClock",
    "P1Server",
    "P1Version",
    "Port",
    "PortFault",
    "Profile",
    "Simulator",
    "Stats",
    "Tariff",
    "Token",
    "UnknownUnit",
    "nth_serial",
]
