"""The ways the real charger could behave where no public evidence says how it does: one profile per charger.

Each field is one unknown of SPEC.md ("The real charger: what is confirmed and what is not"); its default is the
simulator's best guess. The model reads the fields about the charger itself (authorisation, tokens, limits, reboots),
the Modbus server those about the protocol (unit ids, clients, EMS mode Off, Monitoring Only writes). A profile is
built in Python (`Profile(unknown_unit=UnknownUnit.SILENCE)`) or from the command line (`--variant
unknown_unit=silence`, see `Profile.parse`).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
import enum
from typing import Any, Self


class UnknownUnit(enum.StrEnum):
    """What a request to a unit id that is not a port gets."""

    EXCEPTION = "exception"  # a Modbus exception (gateway target did not respond)
    SILENCE = "silence"  # no answer at all: the client times out
    AS_UNIT_1 = "as_unit_1"  # the answer of port 1, as if the unit id were not looked at (a phantom port)


class ExtraClient(enum.StrEnum):
    """What the charger does with a client connecting beyond its limit (`max_clients`)."""

    REFUSED = "refused"  # the new connection is closed at once
    DROP_OLDEST = "drop_oldest"  # the oldest connection is closed to make room


class EmsOff(enum.StrEnum):
    """What EMS mode Off does to the Modbus server."""

    REFUSED = "refused"  # nothing listens: connections are refused
    EXCEPTIONS = "exceptions"  # it listens, and answers every request with a Modbus exception


class LimitWrite(enum.StrEnum):
    """What the charger does with an EMS limit it would not expect (1..5999 mA, or above its maximum)."""

    TAKEN = "taken"  # holds it as written
    CLAMPED = "clamped"  # holds the nearest value it accepts (6000 mA, or its maximum)
    REJECTED = "rejected"  # answers with an exception (illegal data value) and keeps the limit it had


class MonitoringWrite(enum.StrEnum):
    """What a limit write gets in EMS mode Monitoring Only."""

    IGNORED = "ignored"  # acknowledged, and not applied
    EXCEPTION = "exception"  # answered with an exception (illegal function)


class AfterReboot(enum.StrEnum):
    """What becomes of the EMS limit when the charger reboots or loses power."""

    KEPT = "kept"  # the limit survives: a pause that never ends unless someone lifts it
    RESET = "reset"  # back to "no limit": a pause that is lost


class Token(enum.StrEnum):
    """What the transaction token register holds between sessions."""

    LAST_SCANNED = "last_scanned"  # the badge scanned last, kept after the car left (the vendor's wording)
    CLEARED = "cleared"  # empty from the moment the car leaves


@dataclass(frozen=True, kw_only=True)
class Profile:
    """One way the real charger could behave in every unknown; the defaults are the likeliest, or a guess."""

    unknown_unit: UnknownUnit = UnknownUnit.EXCEPTION
    max_clients: int | None = None  # None: as many as connect
    extra_client: ExtraClient = ExtraClient.REFUSED
    idle_timeout_s: float | None = None  # a connection silent this long is closed by the charger
    ems_off: EmsOff = EmsOff.REFUSED
    low_limit: LimitWrite = LimitWrite.TAKEN  # 1..5999 mA
    high_limit: LimitWrite = LimitWrite.REJECTED  # above the charger's maximum
    monitoring_write: MonitoringWrite = MonitoringWrite.IGNORED
    after_reboot: AfterReboot = AfterReboot.KEPT
    authorisation: bool = False  # a car waits in B1, offered nothing, until a badge or the back office starts it
    boot_s: float = 0.0  # after power-up the Modbus server refuses connections this long (minutes on the real one)
    token: Token = Token.LAST_SCANNED

    @classmethod
    def parse(cls, settings: list[str]) -> Self:
        """Return the default profile with `settings` ("field=value", as on the command line) applied."""
        types = {f.name: f.type for f in fields(cls)}
        values: dict[str, Any] = {}
        for setting in settings:
            name, sep, text = setting.partition("=")
            if not sep or name not in types:
                raise ValueError(f"{setting!r}: expected one of {', '.join(f'{n}=...' for n in types)}")
            values[name] = _value(types[name], text)
        return cls(**values)

    def describe(self) -> str:
        """Return the fields that differ from the defaults, as `parse` takes them."""
        default = type(self)()
        return " ".join(
            f"{f.name}={getattr(self, f.name)}"
            for f in fields(self)
            if getattr(self, f.name) != getattr(default, f.name)
        )


_ENUMS: dict[str, type[enum.StrEnum]] = {
    kind.__name__: kind for kind in (UnknownUnit, ExtraClient, EmsOff, LimitWrite, MonitoringWrite, AfterReboot, Token)
}


def _value(annotation: object, text: str) -> object:
    kind = str(annotation)
    if kind in _ENUMS:
        try:
            return _ENUMS[kind](text)
        except ValueError:
            choices = ", ".join(_ENUMS[kind])
            raise ValueError(f"{text!r}: expected one of {choices}") from None
    if kind == "bool":
        if text.lower() not in ("true", "false", "yes", "no", "1", "0"):
            raise ValueError(f"{text!r}: expected true or false")
        return text.lower() in ("true", "yes", "1")
    if text.lower() == "none" and "None" in kind:
        return None
    return int(text) if kind.startswith("int") else float(text)
