"""The diagnostics download."""

from __future__ import annotations

import json

from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import get_diagnostics_for_config_entry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
from syrupy.assertion import SnapshotAssertion
from syrupy.filters import props

from enovates_simulator import Car, Simulator


@pytest.mark.parametrize("dual_port", [False, True], ids=["single_port", "dual_port"])
async def test_diagnostics(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    simulator: Simulator,
    mock_config_entry: MockConfigEntry,
    snapshot: SnapshotAssertion,
) -> None:
    simulator.charger.port(1).plug_in(Car())
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, mock_config_entry)
    # The link's figures are timings (tested in test_slow_link): only what they hold is fixed here.
    link = diagnostics.pop("link")
    assert link["connections_opened"] == 1
    assert link["answers"] == link["requests"] == link["round_trip_ms"]["samples"] > 0
    assert link["timeouts"] == link["late_answers"] == link["drops"] == 0
    assert diagnostics == snapshot(exclude=props("entry_id", "created_at", "modified_at", "port"))
    # nothing that identifies the charger, its owner or the network leaves the house
    text = json.dumps(diagnostics)
    for secret in ("127.0.0.1", "SIM0000000001", simulator.charger.port(1).transaction_token):
        assert secret not in text
