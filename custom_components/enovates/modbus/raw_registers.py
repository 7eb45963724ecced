"""The charger's register maps as read, for the diagnostics download: a maintainer replays them on the simulator.

Every map of every port is in it (a map no entity needed lately is read for the occasion); the serial number is
replaced by a placeholder of the same length wherever it appears, and so is the transaction token.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from enovates_modbus.eno_one import (
    APIVersion,
    CurrentOffered,
    Diagnostics,
    EMSLimit,
    Measurements,
    Mode3Details,
    State,
    TransactionToken,
)

from .charger import ChargerError

if TYPE_CHECKING:
    from enovates_modbus.base import RegisterMap

    from .charger import EnovatesCharger

MAPS: Final[tuple[type[RegisterMap], ...]] = (
    APIVersion,
    State,
    Measurements,
    Mode3Details,
    EMSLimit,
    TransactionToken,
    CurrentOffered,
    Diagnostics,
)
SERIAL_PLACEHOLDER: Final = "SERIAL"
TOKEN_PLACEHOLDER: Final = "TOKEN"  # noqa: S105 - a stand-in, not a secret


def text_registers(text: str) -> list[int]:
    """Encode text as the charger does: ASCII, two characters a register (the last padded with a NUL)."""
    data = text.encode("ascii", errors="replace")
    if len(data) % 2:
        data += b"\x00"
    return [int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data), 2)]


def _replace(registers: list[int], secret: str, placeholder: str) -> list[int]:
    """Return `registers` with every appearance of `secret` (as text) replaced by `placeholder`, length kept."""
    needle = text_registers(secret)
    stand_in = (text_registers(placeholder) + [0] * len(needle))[: len(needle)]
    result = list(registers)
    for start in range(len(result) - len(needle) + 1):
        if result[start : start + len(needle)] == needle:
            result[start : start + len(needle)] = stand_in
    return result


async def async_raw_registers(charger: EnovatesCharger, secrets: dict[str, str]) -> dict[int, dict[str, Any]]:
    """Return every map of every port, as last read (or read now), with `secrets` (text: placeholder) replaced.

    The token map is replaced as a whole: `secrets` need not know the token.

    A map the charger refuses (the token outside Full Control) is left out; so is every map while it is away.
    """
    dump: dict[int, dict[str, Any]] = {}
    for unit in charger.ports:
        maps: dict[str, Any] = {}
        for register_map in MAPS:
            name = register_map.__name__
            if (unit, name) not in charger.raw_registers:
                try:
                    await charger.read(register_map, unit)
                except ChargerError:
                    continue
            registers = charger.raw_registers[unit, name]
            if register_map is TransactionToken and any(registers):
                # Whoever's badge it is, known to the entry or not (read here without EMS control): never as such.
                registers = (text_registers(TOKEN_PLACEHOLDER) + [0] * len(registers))[: len(registers)]
            for secret, placeholder in secrets.items():
                registers = _replace(registers, secret, placeholder)
            maps[name] = {"address": register_map.BASE_ADDRESS, "registers": registers}
        dump[unit] = maps
    return dump
