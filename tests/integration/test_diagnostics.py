"""The diagnostics download."""

from __future__ import annotations

from contextlib import AsyncExitStack
from datetime import timedelta
import json
from pathlib import Path

from freezegun.api import TickingDateTimeFactory
from homeassistant.const import ATTR_DEVICE_ID, CONF_PORT
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import get_diagnostics_for_config_entry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
from syrupy.assertion import SnapshotAssertion
from syrupy.filters import props

from custom_components.enovates.compat import async_get_device_by_identifier
from custom_components.enovates.const import DOMAIN
from custom_components.enovates.modbus.raw_registers import SERIAL_PLACEHOLDER
from custom_components.enovates.services import SERVICE_SET_CURRENT_LIMIT
from enovates_simulator import Car, EmsMode, ManualClock, Simulator
from enovates_simulator.replay import Replay

from ..helpers import SERIAL, advance


@pytest.mark.parametrize("dual_port", [False, True], ids=["single_port", "dual_port"])
@pytest.mark.usefixtures("dual_port")
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
    # The polls go on in real time: the download is made between two polls of every tier (each lets the poll under
    # way, if any, finish first, and holds the next), so that every request counted has had its answer.
    runtime = mock_config_entry.runtime_data
    async with AsyncExitStack() as between_polls:
        for tier in (runtime.device, runtime.realtime, runtime.mode3, runtime.ems_control):
            if tier is not None:
                await between_polls.enter_async_context(tier._polling)
        diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, mock_config_entry)
    # The link's figures are timings (tested in test_slow_link): only what they hold is fixed here.
    link = diagnostics.pop("link")
    assert link["connections_opened"] == 1
    assert link["answers"] == link["requests"] == link["round_trip_ms"]["samples"] > 0
    assert link["timeouts"] == link["late_answers"] == link["drops"] == 0
    assert diagnostics == snapshot(
        exclude=props("entry_id", "created_at", "modified_at", "port", "start", "last_seen", "at")
    )
    # nothing that identifies the charger, its owner or the network leaves the house
    text = json.dumps(diagnostics)
    for secret in ("127.0.0.1", "SIM0000000001", simulator.charger.port(1).transaction_token):
        assert secret not in text


async def test_diagnostics_tell_sessions_the_way_back_and_the_last_error(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    clock_hands: TickingDateTimeFactory,
    simulator: Simulator,
    init_integration: MockConfigEntry,
) -> None:
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, init_integration)
    assert diagnostics["sessions"] == {"1": None}
    assert diagnostics["pending_restores"] == {}
    assert set(diagnostics["last_error"].values()) == {None}

    simulator.charger.port(1).plug_in(Car())
    await advance(hass, clock_hands, 1)
    device = async_get_device_by_identifier(dr.async_get(hass), (DOMAIN, SERIAL), init_integration.entry_id)
    assert device is not None
    await hass.services.async_call(
        DOMAIN,
        SERVICE_SET_CURRENT_LIMIT,
        {ATTR_DEVICE_ID: device.id, "current": 10, "duration": {"minutes": 30}},
        blocking=True,
    )
    await simulator.stop()  # an outage (silent for long enough to count as one), then the charger is back
    await advance(hass, clock_hands, 10)
    assert not init_integration.runtime_data.realtime.last_update_success
    failed_at = dt_util.utcnow()
    await simulator.start()
    await advance(hass, clock_hands, 30)  # the reconnect back-off
    assert init_integration.runtime_data.realtime.last_update_success

    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, init_integration)
    session = diagnostics["sessions"]["1"]
    assert session["end"] is None
    assert session["transaction"] is True  # known, but not its digest: that is the RFID tag's
    restore = diagnostics["pending_restores"]["1"]
    assert restore["limit_ma"] == -1  # no limit comes back in 30 minutes
    assert dt_util.parse_datetime(restore["at"]) > dt_util.utcnow() + timedelta(minutes=29)
    last_error = diagnostics["last_error"]["enovates realtime"]
    assert "did not answer" in last_error["error"]
    assert abs(dt_util.parse_datetime(last_error["at"]) - failed_at) < timedelta(seconds=10)


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
@pytest.mark.usefixtures("dual_port")
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
