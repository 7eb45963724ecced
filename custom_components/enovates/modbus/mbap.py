"""The headers of Modbus TCP frames as they arrive, read before pymodbus takes them apart."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final

HEADER_LENGTH: Final = 7  # transaction id, protocol id (0 for Modbus), length, unit id
_LENGTH_COUNTS_FROM: Final = 6  # the length field counts the unit id and what follows


@dataclass(frozen=True, slots=True)
class FrameHeader:
    """What a frame's header says, and whether the whole frame has arrived."""

    transaction: int
    protocol: int
    size: int  # the whole frame's, header included
    whole: bool


def frame_headers(data: bytes) -> Iterator[FrameHeader]:
    """Yield the header of each frame at the start of `data`, in order, up to the first that has not arrived whole.

    A header comes as soon as its bytes are there: what is not Modbus shows before a length it made up arrives.
    """
    offset = 0
    while len(data) - offset >= HEADER_LENGTH:
        size = _LENGTH_COUNTS_FROM + int.from_bytes(data[offset + 4 : offset + 6])
        yield FrameHeader(
            transaction=int.from_bytes(data[offset : offset + 2]),
            protocol=int.from_bytes(data[offset + 2 : offset + 4]),
            size=size,
            whole=len(data) - offset >= size,
        )
        offset += size  # past the end after a frame that has not arrived whole: the last one
