"""The ENO one's holding-register maps: the model encoded as the enovates-modbus library decodes it.

Words are big-endian 16-bit registers; signed values are two's complement; 32-bit values take two registers,
high word first; text is ASCII, two characters a register, padded with NULs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .model import Charger, Port, PortReading


@dataclass(frozen=True)
class RegisterMap:
    """A contiguous block of holding registers that is read as one."""

    name: str
    address: int
    count: int
    writable: bool = False

    @property
    def end(self) -> int:
        """Return the first address after the map."""
        return self.address + self.count

    def overlaps(self, address: int, count: int) -> bool:
        """Whether a request for `count` registers from `address` touches this map."""
        return address < self.end and self.address < address + count


API_VERSION = RegisterMap("api_version", 0, 2)
STATE = RegisterMap("state", 50, 7)
MEASUREMENTS = RegisterMap("measurements", 200, 18)
MODE3 = RegisterMap("mode3", 300, 8)
EMS_LIMIT = RegisterMap("ems_limit", 400, 1, writable=True)
TRANSACTION_TOKEN = RegisterMap("transaction_token", 401, 16)
CURRENT_OFFERED = RegisterMap("current_offered", 417, 1)
DIAGNOSTICS = RegisterMap("diagnostics", 5000, 80)

REGISTER_MAPS: tuple[RegisterMap, ...] = (
    API_VERSION,
    STATE,
    MEASUREMENTS,
    MODE3,
    EMS_LIMIT,
    TRANSACTION_TOKEN,
    CURRENT_OFFERED,
    DIAGNOSTICS,
)
MAPS_BY_NAME = {register_map.name: register_map for register_map in REGISTER_MAPS}

TEXT_REGISTERS = 16  # each diagnostics field and the transaction token: 32 characters


def maps_touched(address: int, count: int) -> list[RegisterMap]:
    """Return the maps a request for `count` registers from `address` touches."""
    return [register_map for register_map in REGISTER_MAPS if register_map.overlaps(address, count)]


def is_mapped(address: int, count: int) -> bool:
    """Whether every register of the request belongs to some map (else: illegal data address)."""
    return all(any(m.address <= a < m.end for m in REGISTER_MAPS) for a in range(address, address + count))


def uint16(value: int) -> list[int]:
    """Encode an unsigned 16-bit value."""
    if not 0 <= value <= 0xFFFF:
        raise ValueError(f"{value} does not fit UINT16")
    return [value]


def int16(value: int) -> list[int]:
    """Encode a signed 16-bit value, two's complement."""
    if not -0x8000 <= value <= 0x7FFF:
        raise ValueError(f"{value} does not fit INT16")
    return [value & 0xFFFF]


def int32(value: int) -> list[int]:
    """Encode a signed 32-bit value as two registers, high word first."""
    if not -0x8000_0000 <= value <= 0x7FFF_FFFF:
        raise ValueError(f"{value} does not fit INT32")
    raw = value & 0xFFFF_FFFF
    return [raw >> 16, raw & 0xFFFF]


def ascii_text(text: str, registers: int) -> list[int]:
    """Encode text as ASCII, two characters a register, padded with NULs."""
    data = text.encode("ascii")
    if len(data) > registers * 2:
        raise ValueError(f"{text!r} does not fit {registers} registers")
    data = data.ljust(registers * 2, b"\x00")
    return [int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data), 2)]


def decode_int16(register: int) -> int:
    """Decode a written register as a signed 16-bit value."""
    return register - 0x10000 if register & 0x8000 else register


def _api_version(charger: Charger, _port: Port, _reading: PortReading) -> list[int]:
    major, minor = charger.identity.api_version
    return [*uint16(major), *uint16(minor)]


def _state(charger: Charger, _port: Port, reading: PortReading) -> list[int]:
    return [
        *uint16(charger.phases),
        *uint16(charger.max_amp_per_phase),
        *uint16(int(charger.ocpp_connected)),
        *uint16(int(charger.load_shedding_present)),
        *uint16(reading.lock_state),
        *uint16(int(reading.contactor_closed)),
        *uint16(reading.led_color),
    ]


def _measurements(_charger: Charger, _port: Port, reading: PortReading) -> list[int]:
    registers: list[int] = []
    for current in reading.currents_ma:
        registers += uint16(current)
    for voltage in reading.voltages_v:
        registers += int16(voltage)
    registers += int16(sum(reading.powers_w))
    for power in reading.powers_w:
        registers += int16(power)
    for current in reading.installation_currents_ma:
        registers += int32(current)
    registers += int32(reading.energy_wh)
    return registers


def _mode3(_charger: Charger, _port: Port, reading: PortReading) -> list[int]:
    return [
        *uint16(reading.mode3_state),
        *ascii_text(reading.mode3_state.name, 2),
        *int16(reading.pwm_current_ma),
        *int16(reading.pwm_permille),
        *int16(reading.pp_a),
        *int16(reading.cp_positive_v),
        *int16(reading.cp_negative_v),
    ]


def _ems_limit(_charger: Charger, port: Port, _reading: PortReading) -> list[int]:
    return int16(port.ems_limit_ma)


def _transaction_token(_charger: Charger, port: Port, _reading: PortReading) -> list[int]:
    return ascii_text(port.transaction_token, TEXT_REGISTERS)


def _current_offered(_charger: Charger, _port: Port, reading: PortReading) -> list[int]:
    return uint16(reading.current_offered_ma)


def _diagnostics(charger: Charger, _port: Port, _reading: PortReading) -> list[int]:
    identity = charger.identity
    return [
        *ascii_text(identity.manufacturer, TEXT_REGISTERS),
        *ascii_text(identity.vendor_id, TEXT_REGISTERS),
        *ascii_text(identity.serial_number, TEXT_REGISTERS),
        *ascii_text(identity.model_id, TEXT_REGISTERS),
        *ascii_text(identity.firmware_version, TEXT_REGISTERS),
    ]


type Encoder = Callable[[Charger, Port, PortReading], list[int]]

_ENCODERS: dict[RegisterMap, Encoder] = {
    API_VERSION: _api_version,
    STATE: _state,
    MEASUREMENTS: _measurements,
    MODE3: _mode3,
    EMS_LIMIT: _ems_limit,
    TRANSACTION_TOKEN: _transaction_token,
    CURRENT_OFFERED: _current_offered,
    DIAGNOSTICS: _diagnostics,
}


def encode_map(charger: Charger, port_number: int, register_map: RegisterMap) -> list[int]:
    """Return the registers of one map as port `port_number` answers it now."""
    charger.sync()
    values = _ENCODERS[register_map](charger, charger.port(port_number), charger.read_port(port_number))
    if len(values) != register_map.count:  # pragma: no cover - a broken encoder, caught in development
        raise AssertionError(f"{register_map.name} encodes {len(values)} registers, not {register_map.count}")
    return values


def read_registers(charger: Charger, port_number: int, address: int, count: int) -> list[int]:
    """Return `count` registers from `address` (all mapped: check `is_mapped` first)."""
    image: dict[int, int] = {}
    for register_map in maps_touched(address, count):
        image.update(
            zip(
                range(register_map.address, register_map.end),
                encode_map(charger, port_number, register_map),
                strict=True,
            )
        )
    return [image[a] for a in range(address, address + count)]
