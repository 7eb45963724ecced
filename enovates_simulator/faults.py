"""Faults a test can inject between the Modbus server and the registers.

A rule matches requests by unit id and by the register maps they touch, fires a number of times (or until
cleared), and makes the server stall (never answer), drop the connection, or answer with a Modbus exception.
Overrides replace what a register reads, for values the library cannot decode (an enum from a newer firmware).
Latency delays every answer, as a weak Wi-Fi or powerline link or a busy embedded server does: answers still come,
late, and in the order they were asked. Reboots live on the `Simulator`, since they take the whole server down.
"""

from __future__ import annotations

from dataclasses import dataclass, field
import enum
import random
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
    after_answers: int = 0  # the rule applies on a connection only once it has answered this many requests
    fired: int = 0

    def matches(self, unit: int, address: int, count: int, answered: int = 0) -> bool:
        """Whether a request to `unit` for `count` registers from `address` falls under this rule.

        `answered`: how many requests the connection it came on has answered so far.
        """
        if (self.unit is not None and unit != self.unit) or answered < self.after_answers:
            return False
        if self.maps is None:
            return True
        return any(touched.name in self.maps for touched in maps_touched(address, count))


@dataclass(frozen=True)
class Latency:
    """How late the charger answers: `seconds`, plus up to `jitter` more, and now and then a spike.

    With probability `spike_probability` an answer takes `spike_seconds` instead. Draws come from a generator
    seeded with `seed`, so that a benchmark or test sees the same sequence of delays every run.
    """

    seconds: float = 0.0
    jitter: float = 0.0
    spike_probability: float = 0.0
    spike_seconds: float = 0.0
    seed: int = 0
    _random: random.Random = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        """Check the figures and seed the generator."""
        if min(self.seconds, self.jitter, self.spike_seconds) < 0 or not 0 <= self.spike_probability <= 1:
            raise ValueError("delays are >= 0 s and the spike probability is within 0..1")
        object.__setattr__(self, "_random", random.Random(self.seed))  # noqa: S311 - a test delay, not a secret

    def draw(self) -> float:
        """Return the delay of the next answer, in seconds."""
        if self.spike_probability and self._random.random() < self.spike_probability:
            return self.spike_seconds
        return self.seconds + (self._random.uniform(0, self.jitter) if self.jitter else 0.0)


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
    latency: Latency | None = None

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

    def drop(
        self,
        *,
        maps: Iterable[str] | None = None,
        unit: int | None = None,
        times: int | None = 1,
        after_answers: int = 0,
    ) -> FaultRule:
        """Close the TCP connection instead of answering matching requests.

        With `after_answers`, only once the connection has answered that many: what a charger that takes one client
        at a time does when another client takes its place a moment after each connection of ours.
        """
        return self._add(FaultRule(FaultKind.DROP, _map_names(maps), unit, times, after_answers=after_answers))

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

    def slow_down(
        self,
        seconds: float = 0.0,
        *,
        jitter: float = 0.0,
        spike_probability: float = 0.0,
        spike_seconds: float = 0.0,
        seed: int = 0,
    ) -> Latency:
        """Answer every request late: `seconds` plus up to `jitter`, or `spike_seconds` with `spike_probability`."""
        self.latency = Latency(seconds, jitter, spike_probability, spike_seconds, seed)
        return self.latency

    def answer_delay(self) -> float:
        """Return how long the next answer is held back (0 without latency)."""
        return 0.0 if self.latency is None else self.latency.draw()

    def remove(self, rule: FaultRule) -> None:
        """Take one rule out."""
        self.rules.remove(rule)

    def clear(self) -> None:
        """Remove every rule, override and latency: the charger behaves again."""
        self.rules.clear()
        self.overrides.clear()
        self.latency = None

    def take(self, unit: int, address: int, count: int, answered: int = 0) -> FaultRule | None:
        """Return the first rule that fires for a request (on a connection that answered so many), counting it down."""
        for rule in self.rules:
            if not rule.matches(unit, address, count, answered):
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
