"""The diagnostics download."""

from __future__ import annotations

import json
from pathlib import Path

from freezegun.api import TickingDateTimeFactory
from homeassistant.const import CONF_PORT
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import get_diagnostics_for_config_entry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
from syrupy.assertion import SnapshotAssertion
from syrupy.filters import props

from custom_components.enovates.const import DOMAIN
from custom_components.enovates.raw_registers import SERIAL_PLACEHOLDER
from enovates_simulator import Car, EmsMode, ManualClock, Simulator
from enovates_simulator.replay import Replay

from ..conftest import advance


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


# Derived by Home Assistant from what it saw over time, not read from the charger: not part of a replay.
NOT_REPLAYED = ("session_", "_events", "transaction_token")


def charger_states(hass: HomeAssistant) -> dict[str, str]:
    return {
        state.entity_id: state.state
        for state in hass.states.async_all()
        if state.entity_id.split(".")[1].startswith("eno_one")
        and not any(part in state.entity_id for part in NOT_REPLAYED)
    }


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
@pytest.mark.parametrize("dual_port", [True])
async def test_a_download_replayed_shows_the_same_charger(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    clock_hands: TickingDateTimeFactory,
    clock: ManualClock,
    simulator: Simulator,
    mock_config_entry: MockConfigEntry,
    tmp_path: Path,
) -> None:
    charger = simulator.charger
    charger.load_shedding_present = True
    charger.port(1).plug_in(Car(max_current_a=16))
    charger.port(2).plug_in(Car(wants_to_charge=False))
    charger.set_ems_limit(2, 10000)
    clock.advance(3600)
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await advance(hass, clock_hands, 2)
    seen = charger_states(hass)
    download = tmp_path / "config_entry-enovates.json"
    download.write_text(
        json.dumps({"data": await get_diagnostics_for_config_entry(hass, hass_client, mock_config_entry)})
    )
    assert await hass.config_entries.async_remove(mock_config_entry.entry_id)
    await simulator.stop()

    async with Replay.load(download).simulator() as replayed:
        entry = MockConfigEntry(
            domain=DOMAIN,
            title="ENO one",
            unique_id=SERIAL_PLACEHOLDER,
            data={**mock_config_entry.data, CONF_PORT: replayed.port},
        )
        entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(entry.entry_id)
        await advance(hass, clock_hands, 2)
        assert charger_states(hass) == seen
        assert hass.states.get("sensor.eno_one_port_1_transaction_token").state == "TOKEN"  # type: ignore[union-attr]
        assert len(seen) > 60
        assert await hass.config_entries.async_unload(entry.entry_id)


@pytest.mark.parametrize(
    ("ems_mode", "ems_control"),
    [(EmsMode.FULL, True), (EmsMode.FULL, False), (EmsMode.MONITORING, False)],
    ids=["ems_control", "token_readable", "monitoring_only"],
)
async def test_the_registers_name_neither_serial_nor_token(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    simulator: Simulator,
    init_integration: MockConfigEntry,
    ems_mode: EmsMode,
) -> None:
    simulator.charger.port(1).plug_in(Car())
    await hass.config_entries.async_reload(init_integration.entry_id)
    await hass.async_block_till_done()
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, init_integration)
    registers = diagnostics["registers"]["1"]
    maps = {"APIVersion", "State", "Measurements", "Mode3Details", "EMSLimit", "CurrentOffered", "Diagnostics"}
    if ems_mode is EmsMode.MONITORING:
        assert set(registers) == maps  # the token is refused: left out
        return
    assert set(registers) == {*maps, "TransactionToken"}
    token = registers["TransactionToken"]["registers"]
    assert bytes(b for register in token for b in register.to_bytes(2, "big")).rstrip(b"\0") == b"TOKEN"
    assert simulator.charger.port(1).transaction_token not in json.dumps(diagnostics)
