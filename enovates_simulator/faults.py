"""Faults a test can inject between the Modbus server and the registers.

A rule matches requests by unit id and by the register maps they touch, fires a number of times (or until
cleared), and makes the server stall (never answer), drop the connection, or answer with a Modbus exception.
Overrides replace what a register reads, for values the library cannot decode (an enum from a newer firmware).
Reboots live on the `Simulator`, since they take the whole server down.
"""

from __future__ import annotations

from dataclasses import dataclass, field
import enum
from typing import TYPE_CHECKING

from pymodbus.constants import ExcCodes

from .registers import MAPS_BY_NAME, maps_touched

if TYPE_CHECKING:
    from collections.abc import Iterable


class FaultKind(enum.StrEnum):
    """What the server does with a request a rule matches."""

    STALL = "stall"
    DROP = "drop"
    EXCEPTION = "exception"


@dataclass
class FaultRule:
    """One injected fault; `remaining` None means until cleared."""

    kind: FaultKind
    maps: frozenset[str] | None = None
    unit: int | None = None
    remaining: int | None = None
    exception_code: ExcCodes = ExcCodes.DEVICE_FAILURE
    stall_seconds: float | None = None
    fired: int = 0

    def matches(self, unit: int, address: int, count: int) -> bool:
        """Whether a request to `unit` for `count` registers from `address` falls under this rule."""
        if self.unit is not None and unit != self.unit:
            return False
        if self.maps is None:
            return True
        return any(touched.name in self.maps for touched in maps_touched(address, count))


def _map_names(maps: Iterable[str] | None) -> frozenset[str] | None:
    if maps is None:
        return None
    names = frozenset(maps)
    if unknown := names - MAPS_BY_NAME.keys():
        raise ValueError(f"unknown register maps: {sorted(unknown)}; known: {sorted(MAPS_BY_NAME)}")
    return names


@dataclass
class Faults:
    """The fault rules and register overrides in force."""

    rules: list[FaultRule] = field(default_factory=list)
    overrides: dict[tuple[int | None, int], int] = field(default_factory=dict)

    def _add(self, rule: FaultRule) -> FaultRule:
        self.rules.append(rule)
        return rule

    def stall(
        self,
        *,
        maps: Iterable[str] | None = None,
        unit: int | None = None,
        times: int | None = None,
        seconds: float | None = None,
    ) -> FaultRule:
        """Never answer matching requests (for `seconds`, then still no answer; None: until the server stops)."""
        return self._add(FaultRule(FaultKind.STALL, _map_names(maps), unit, times, stall_seconds=seconds))

    def drop(self, *, maps: Iterable[str] | None = None, unit: int | None = None, times: int | None = 1) -> FaultRule:
        """Close the TCP connection instead of answering matching requests."""
        return self._add(FaultRule(FaultKind.DROP, _map_names(maps), unit, times))

    def exception(
        self,
        *,
        maps: Iterable[str] | None = None,
        unit: int | None = None,
        times: int | None = None,
        code: ExcCodes = ExcCodes.DEVICE_FAILURE,
    ) -> FaultRule:
        """Answer matching requests with a Modbus exception response."""
        return self._add(FaultRule(FaultKind.EXCEPTION, _map_names(maps), unit, times, exception_code=code))

    def override(self, address: int, value: int, *, unit: int | None = None) -> None:
        """Make a register read `value` (0..65535) whatever the model says, on one unit or all."""
        if not 0 <= value <= 0xFFFF:
            raise ValueError("a register holds 0..65535")
        self.overrides[unit, address] = value

    def remove(self, rule: FaultRule) -> None:
        """Take one rule out."""
        self.rules.remove(rule)

    def clear(self) -> None:
        """Remove every rule and override: the charger behaves again."""
        self.rules.clear()
        self.overrides.clear()

    def take(self, unit: int, address: int, count: int) -> FaultRule | None:
        """Return the first rule that fires for this request, counting it down."""
        for rule in self.rules:
            if not rule.matches(unit, address, count):
                continue
            rule.fired += 1
            if rule.remaining is not None:
                rule.remaining -= 1
                if rule.remaining <= 0:
                    self.rules.remove(rule)
            return rule
        return None

    def apply_overrides(self, unit: int, address: int, values: list[int]) -> list[int]:
        """Return `values` (read from `address` on `unit`) with the overrides in force applied."""
        if not self.overrides:
            return values
        result = list(values)
        for offset in range(len(result)):
            for key in ((unit, address + offset), (None, address + offset)):
                if key in self.overrides:
                    result[offset] = self.overrides[key]
                    break
        return result
