"""Smart charging: charging modes per port (Fast, Solar, Solar + minimum, Off, Manual) and a quarter-hour peak guard.

The decisions are pure arithmetic (controller.py, weighing rules.py, sharing.py, contactor.py and quarter.py over
model.py's data), for every charger on one grid meter together (site.py); registry.py runs each site once a
second on the grid sensor and its chargers' data (manager.py, one per charger), which write through the
integration's one write path (ems_limit/).
"""

from .controller import ChargingMode, Reason
from .manager import SmartCharging

__all__ = ["ChargingMode", "Reason", "SmartCharging"]
