"""A bridge for the pymodbus that Home Assistant pins before 2026.7.0 (3.11.2; fixed in 3.13.1).

That pymodbus loses the answer that arrives in the same read as a late answer it skips (it decodes the first frame
again instead of the next), so on a slow link one late answer would cost the request after it too. Drop this module
once hacs.json's "homeassistant" reaches 2026.7.0.
"""

from __future__ import annotations

from typing import Any

from awesomeversion import AwesomeVersion
from pymodbus import __version__ as pymodbus_version
from pymodbus.client import AsyncModbusTcpClient

from .mbap import frame_headers

# Compared as Home Assistant compares versions (it ships awesomeversion): a pre-release ("3.13.1rc1") or a local
# build loads too, and counts as older than its release, so the mend stays on until the fix is surely there.
SKIPS_LATE_ANSWERS_WHOLE = AwesomeVersion(pymodbus_version) >= AwesomeVersion("3.13.1")
"""Whether pymodbus takes the answer behind a late one it skips in the same read (3.13.1, Home Assistant 2026.7)."""


def mend_late_answer_skipping(client: AsyncModbusTcpClient) -> None:
    """Make `client` skip whole late answers itself before pymodbus looks for the answer it waits for.

    A late answer is one whose transaction id is not the request's. Only this client's framer changes: Home
    Assistant's own Modbus integration shares the library.
    """
    if SKIPS_LATE_ANSWERS_WHOLE:
        return
    framer: Any = client.ctx.framer
    handle_frame = framer.handleFrame

    def skip_late_answers_first(data: bytes, expected_unit: int, expected_transaction: int) -> tuple[int, Any]:
        skipped = 0
        for header in frame_headers(data) if expected_transaction else ():
            if header.transaction in (0, expected_transaction) or not header.whole:
                break  # the answer waited for (or one pymodbus takes anyway), or a frame still arriving
            skipped += header.size
        used, pdu = handle_frame(data[skipped:], expected_unit, expected_transaction)
        return skipped + used, pdu

    framer.handleFrame = skip_late_answers_first
