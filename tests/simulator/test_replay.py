"""Replaying the registers of a diagnostics download: python -m enovates_simulator --replay FILE."""

from __future__ import annotations

import json
from pathlib import Path

from enovates_modbus import EnoOneClient
import pytest

from enovates_simulator import EmsMode
from enovates_simulator.__main__ import build_parser, build_simulator, main
from enovates_simulator.replay import Replay

# What the integration's download holds under "registers": port 1 in Monitoring Only (no token), a limit of 10 A.
DOWNLOAD = {
    "home_assistant": {"version": "2026.11.0"},
    "data": {
        "registers": {
            "1": {
                "State": {"address": 50, "registers": [3, 32, 1, 0, 1, 1, 3]},
                "EMSLimit": {"address": 400, "registers": [10000]},
                "CurrentOffered": {"address": 417, "registers": [10000]},
            }
        }
    },
}


@pytest.fixture
def download(tmp_path: Path) -> Path:
    path = tmp_path / "config_entry-enovates.json"
    path.write_text(json.dumps(DOWNLOAD))
    return path


async def test_a_replay_serves_the_registers_read(socket_enabled: None, download: Path) -> None:
    simulator = build_simulator(build_parser().parse_args(["--replay", str(download), "--port", "0"]))
    assert simulator.charger.ems_mode is EmsMode.MONITORING  # the token was not readable
    assert list(simulator.charger.ports) == [1]
    async with simulator:
        client = EnoOneClient("127.0.0.1", simulator.port, mb_retries=0, mb_timeout=1)
        try:
            state = await client.get_state()
            assert (state.number_of_phases, state.max_amp_per_phase, state.contactor_state) == (3, 32, True)
            assert await client.get_current_offered() == 10000
            assert await client.get_ems_limit() == 10000
        finally:
            client.client.close()


@pytest.mark.parametrize("content", [{"data": {"registers": {}}}, ["not", "a", "download"], {"entry": {}}])
def test_a_file_without_registers_is_refused(tmp_path: Path, content: object) -> None:
    path = tmp_path / "other.json"
    path.write_text(json.dumps(content))
    with pytest.raises(ValueError, match="no register maps"):
        Replay.load(path)


def test_the_command_line_names_a_bad_replay(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--replay", str(tmp_path / "missing.json")])
    assert "missing.json" in capsys.readouterr().err
