"""The long-outage repair issue: raised after 15 minutes without the charger, withdrawn when it is back."""

from __future__ import annotations

from freezegun.api import TickingDateTimeFactory
from homeassistant.config_entries import ConfigEntryDisabler, ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.enovates.const import DOMAIN
from custom_components.enovates.polling.outage import OUTAGE_REPAIR_AFTER
from enovates_simulator import Simulator

from ..helpers import advance


def issue(hass: HomeAssistant, entry: MockConfigEntry) -> ir.IssueEntry | None:
    return ir.async_get(hass).async_get_issue(DOMAIN, f"charger_unreachable_{entry.entry_id}")


async def test_a_charger_unreachable_for_long_raises_a_repair_that_goes_by_itself(
    hass: HomeAssistant, clock_hands: TickingDateTimeFactory, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    assert OUTAGE_REPAIR_AFTER.total_seconds() == 15 * 60
    await simulator.stop()
    await advance(hass, clock_hands, 10)  # polls every second: unavailable after 5 s without an answer
    await advance(hass, clock_hands, 14 * 60, step=60)
    assert issue(hass, init_integration) is None  # a reboot or a firmware update passes unreported
    await advance(hass, clock_hands, 2 * 60, step=60)
    repair = issue(hass, init_integration)
    assert repair is not None
    assert repair.translation_key == "charger_unreachable"
    assert repair.severity is ir.IssueSeverity.WARNING
    assert not repair.is_fixable
    assert repair.translation_placeholders == {"title": "ENO one", "host": "127.0.0.1", "minutes": "15"}

    await simulator.start()
    await advance(hass, clock_hands, 30)  # the reconnect back-off
    assert issue(hass, init_integration) is None


async def test_another_notice_of_the_same_outage_does_not_restart_the_clock(
    hass: HomeAssistant, clock_hands: TickingDateTimeFactory, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    await simulator.stop()
    await advance(hass, clock_hands, 10)
    await advance(hass, clock_hands, 10 * 60, step=60)
    init_integration.runtime_data.realtime.async_update_listeners()  # still unreachable
    await advance(hass, clock_hands, 6 * 60, step=60)
    assert issue(hass, init_integration) is not None  # 16 minutes after the outage began


async def test_short_outages_do_not_add_up(
    hass: HomeAssistant, clock_hands: TickingDateTimeFactory, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    for _ in range(3):
        await simulator.stop()
        await advance(hass, clock_hands, 10 * 60, step=60)
        await simulator.start()
        await advance(hass, clock_hands, 30)
        assert init_integration.runtime_data.realtime.last_update_success
    await advance(hass, clock_hands, 10 * 60, step=60)
    assert issue(hass, init_integration) is None


async def test_unloading_withdraws_the_repair(
    hass: HomeAssistant, clock_hands: TickingDateTimeFactory, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    await simulator.stop()
    await advance(hass, clock_hands, 10)
    await advance(hass, clock_hands, 16 * 60, step=60)
    assert issue(hass, init_integration) is not None
    assert await hass.config_entries.async_unload(init_integration.entry_id)
    assert issue(hass, init_integration) is None


async def test_an_entry_that_never_loads_gets_the_same_repair(
    hass: HomeAssistant, clock_hands: TickingDateTimeFactory, simulator: Simulator, mock_config_entry: MockConfigEntry
) -> None:
    # The charger is unreachable when Home Assistant starts, and stays so.
    await simulator.stop()
    mock_config_entry.add_to_hass(hass)
    assert not await hass.config_entries.async_setup(mock_config_entry.entry_id)
    assert mock_config_entry.state is ConfigEntryState.SETUP_RETRY
    await advance(hass, clock_hands, 14 * 60, step=60)
    assert issue(hass, mock_config_entry) is None  # each retry does not start the clock again
    await advance(hass, clock_hands, 2 * 60, step=60)
    repair = issue(hass, mock_config_entry)
    assert repair is not None
    assert repair.translation_key == "charger_unreachable"
    assert repair.translation_placeholders == {"title": "ENO one", "host": "127.0.0.1", "minutes": "15"}
    assert mock_config_entry.state is ConfigEntryState.SETUP_RETRY

    await simulator.start()
    await advance(hass, clock_hands, 11 * 60, step=60)  # Home Assistant retries at most 10 minutes apart
    assert mock_config_entry.state is ConfigEntryState.LOADED
    assert issue(hass, mock_config_entry) is None
    await advance(hass, clock_hands, 16 * 60, step=60)
    assert issue(hass, mock_config_entry) is None


async def test_an_entry_that_stops_trying_withdraws_the_repair(
    hass: HomeAssistant, clock_hands: TickingDateTimeFactory, simulator: Simulator, mock_config_entry: MockConfigEntry
) -> None:
    await simulator.stop()
    mock_config_entry.add_to_hass(hass)
    await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await advance(hass, clock_hands, 16 * 60, step=60)
    assert issue(hass, mock_config_entry) is not None
    await hass.config_entries.async_set_disabled_by(mock_config_entry.entry_id, ConfigEntryDisabler.USER)
    await hass.async_block_till_done()
    assert issue(hass, mock_config_entry) is None


async def test_an_entry_removed_while_retrying_raises_nothing_later(
    hass: HomeAssistant, clock_hands: TickingDateTimeFactory, simulator: Simulator, mock_config_entry: MockConfigEntry
) -> None:
    await simulator.stop()
    mock_config_entry.add_to_hass(hass)
    await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await advance(hass, clock_hands, 60, step=60)
    await hass.config_entries.async_remove(mock_config_entry.entry_id)
    await advance(hass, clock_hands, 16 * 60, step=60)
    assert issue(hass, mock_config_entry) is None
