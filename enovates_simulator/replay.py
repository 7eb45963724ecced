"""A user's charger, replayed: the register maps of a diagnostics download, served as they were read.

The download (Home Assistant's JSON, or just its "data") holds, per port, every register map the integration read,
with the serial number and tokens replaced by placeholders. The replayed charger answers reads with exactly those
registers; the EMS limit is the model's (starting from the file), so limit writes still work.
"""

from __future__ import annotations

from dataclasses import dataclass
import json
from pathlib import Path
from typing import Any

from .model import Charger, EmsMode
from .registers import EMS_LIMIT, TRANSACTION_TOKEN, decode_int16
from .simulator import Simulator


@dataclass(frozen=True)
class Replay:
    """The registers of a diagnostics download: per unit (port), per address."""

    registers: dict[int, dict[int, int]]

    @classmethod
    def load(cls, path: Path) -> Replay:
        """Read a diagnostics download; raise ValueError when it holds no registers."""
        document: Any = json.loads(path.read_text(encoding="utf-8"))
        data = document.get("data", document) if isinstance(document, dict) else None
        maps_by_unit = data.get("registers") if isinstance(data, dict) else None
        if not isinstance(maps_by_unit, dict) or not maps_by_unit:
            raise ValueError(f"{path}: no register maps (a diagnostics download of the Enovates integration?)")
        registers: dict[int, dict[int, int]] = {}
        for unit, maps in maps_by_unit.items():
            image = registers.setdefault(int(unit), {})
            for register_map in maps.values():
                address, values = int(register_map["address"]), register_map["registers"]
                image.update(zip(range(address, address + len(values)), values, strict=True))
        return cls(registers)

    def simulator(self, *, host: str = "127.0.0.1", port: int = 0) -> Simulator:
        """Return a simulator serving these registers (EMS mode Full Control if the tokens were readable)."""
        token_read = all(TRANSACTION_TOKEN.address in image for image in self.registers.values())
        charger = Charger(dual_port=2 in self.registers, ems_mode=EmsMode.FULL if token_read else EmsMode.MONITORING)
        simulator = Simulator(charger, host=host, port=port)
        for unit, image in self.registers.items():
            for address, value in image.items():
                if address == EMS_LIMIT.address:
                    charger.port(unit).ems_limit_ma = decode_int16(value)  # the model's, so that writes work
                else:
                    simulator.faults.override(address, value, unit=unit)
        return simulator
