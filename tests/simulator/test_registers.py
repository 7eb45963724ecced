"""Register encodings: the inverse of what the enovates-modbus library decodes."""

from __future__ import annotations

from enovates_modbus.base import ModbusRegisterIntType, ModbusRegisterStrType
import pytest

from enovates_simulator.registers import (
    REGISTER_MAPS,
    ascii_text,
    decode_int16,
    int16,
    int32,
    is_mapped,
    maps_touched,
    uint16,
)


@pytest.mark.parametrize("value", [0, 1, 32767, -1, -32768, -230])
def test_int16_round_trips_through_the_library(value: int) -> None:
    assert ModbusRegisterIntType(1, signed=True).from_registers(int16(value)) == value
    assert decode_int16(int16(value)[0]) == value


@pytest.mark.parametrize("value", [0, 65535, 230])
def test_uint16_round_trips_through_the_library(value: int) -> None:
    assert ModbusRegisterIntType(1, signed=False).from_registers(uint16(value)) == value


@pytest.mark.parametrize("value", [0, 1, 65536, 2_000_000_000, -1, -70000, -(2**31)])
def test_int32_round_trips_through_the_library(value: int) -> None:
    registers = int32(value)
    assert len(registers) == 2
    assert ModbusRegisterIntType(2, signed=True).from_registers(registers) == value


@pytest.mark.parametrize(("encoder", "value"), [(uint16, -1), (uint16, 65536), (int16, 32768), (int32, 2**31)])
def test_values_that_do_not_fit_are_refused(encoder: object, value: int) -> None:
    with pytest.raises(ValueError, match="does not fit"):
        encoder(value)  # type: ignore[operator]


def test_ascii_text_is_nul_padded_and_round_trips() -> None:
    registers = ascii_text("ENO one", 16)
    assert len(registers) == 16
    assert registers[0] == (ord("E") << 8) | ord("N")
    assert registers[-1] == 0
    assert ModbusRegisterStrType(16).from_registers(registers) == "ENO one"
    with pytest.raises(ValueError, match="does not fit"):
        ascii_text("x" * 33, 16)


def test_maps_match_the_library_layout() -> None:
    from enovates_modbus.eno_one import EnoOneClient  # noqa: PLC0415 - next to what it checks

    library = [(m.BASE_ADDRESS, m.REGISTER_COUNT) for m in EnoOneClient.REGISTER_MAPS]
    assert [(m.address, m.count) for m in REGISTER_MAPS] == library


def test_address_checks() -> None:
    assert is_mapped(0, 2)
    assert is_mapped(400, 18)  # EMS limit, token and current offered are contiguous
    assert not is_mapped(0, 3)
    assert not is_mapped(57, 1)
    assert not is_mapped(5079, 2)
    assert [m.name for m in maps_touched(399, 3)] == ["ems_limit", "transaction_token"]
    assert maps_touched(100, 10) == []
