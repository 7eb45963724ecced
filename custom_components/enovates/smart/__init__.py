"""Smart charging: charging modes per port (Fast, Solar, Solar + minimum, Off, Manual) and a quarter-hour peak guard.

The decisions are pure arithmetic (controller.py, weighing rules.py, sharing.py, contactor.py and quarter.py over
model.py's data); manager.py feeds them from the charger's data and the grid sensor once a second and writes
through the integration's one write path (limits.py, control.py).
"""

from .controller import ChargingMode, Reason
from .manager import SmartCharging

__all__ = ["ChargingMode", "Reason", "SmartCharging"]
