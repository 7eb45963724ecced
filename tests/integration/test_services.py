"""The enovates.set_current_limit action: for good or for a while, on a charger or a port, and its errors."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from freezegun.api import TickingDateTimeFactory
from homeassistant.components.switch import DOMAIN as SWITCH_DOMAIN
from homeassistant.const import ATTR_ENTITY_ID, SERVICE_TURN_OFF
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import device_registry as dr
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.enovates.ems_limit.timed import storage_key
from enovates_simulator import Car, EmsMode, Simulator

from ..helpers import advance, device_id, limit_ma, set_current_limit, set_number, stored_ways_back


@pytest.fixture
def car() -> Car:
    """A car charging at up to 32 A..."""
    return Car(max_current_a=32)


@pytest.fixture
def car_on_every_port() -> bool:
    """... on each port of the charger..."""
    return True


@pytest.fixture
def ems_limit_ma() -> int:
    """... limited to 16 A by an EMS."""
    return 16000


async def test_set_for_good(hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry) -> None:
    await set_current_limit(hass, device_id(hass), 10)
    assert limit_ma(simulator) == 10000
    assert hass.states.get("number.eno_one_ems_current_limit").state == "10"
    await set_current_limit(hass, device_id(hass), 32)  # the charger's maximum: no limit
    assert limit_ma(simulator) == -1
    await set_current_limit(hass, device_id(hass), 0)  # pause
    assert limit_ma(simulator) == 0
    assert hass.states.get("switch.eno_one_charging_allowed").state == "off"


async def test_set_for_a_while_then_the_previous_limit_comes_back(
    hass: HomeAssistant,
    clock_hands: TickingDateTimeFactory,
    simulator: Simulator,
    init_integration: MockConfigEntry,
    hass_storage: dict[str, Any],
) -> None:
    await set_current_limit(hass, device_id(hass), 8, duration={"minutes": 30})
    assert limit_ma(simulator) == 8000
    assert (await stored_ways_back(hass, hass_storage, init_integration))["1"]["limit_ma"] == 16000
    await advance(hass, clock_hands, 29 * 60, step=60)
    assert limit_ma(simulator) == 8000
    await advance(hass, clock_hands, 60, step=60)
    assert limit_ma(simulator) == 16000
    assert hass.states.get("number.eno_one_ems_current_limit").state == "16"
    assert await stored_ways_back(hass, hass_storage, init_integration) == {}


async def test_a_second_while_keeps_the_limit_from_before_the_first(
    hass: HomeAssistant,
    clock_hands: TickingDateTimeFactory,
    simulator: Simulator,
    init_integration: MockConfigEntry,
    hass_storage: dict[str, Any],
) -> None:
    await set_current_limit(hass, device_id(hass), 8, duration={"minutes": 30})
    await set_current_limit(hass, device_id(hass), 0, duration={"minutes": 10})  # then a short pause
    assert limit_ma(simulator) == 0
    assert (await stored_ways_back(hass, hass_storage, init_integration))["1"]["limit_ma"] == 16000
    await advance(hass, clock_hands, 10 * 60, step=60)
    assert limit_ma(simulator) == 16000  # not the 8 A of the first
    assert await stored_ways_back(hass, hass_storage, init_integration) == {}  # nor does the first come back later
    await advance(hass, clock_hands, 30 * 60, step=60)
    assert limit_ma(simulator) == 16000


@pytest.mark.parametrize(("how", "limit"), [("slider", 20000), ("action", 20000), ("switch", 0)])
async def test_a_limit_set_for_good_cancels_the_way_back(
    hass: HomeAssistant,
    clock_hands: TickingDateTimeFactory,
    simulator: Simulator,
    init_integration: MockConfigEntry,
    hass_storage: dict[str, Any],
    how: str,
    limit: int,
) -> None:
    await set_current_limit(hass, device_id(hass), 8, duration={"minutes": 30})
    if how == "slider":
        await set_number(hass, "number.eno_one_ems_current_limit", 20)
    elif how == "action":
        await set_current_limit(hass, device_id(hass), 20)
    else:  # charging allowed, off: a pause for good
        await hass.services.async_call(
            SWITCH_DOMAIN, SERVICE_TURN_OFF, {ATTR_ENTITY_ID: "switch.eno_one_charging_allowed"}, blocking=True
        )
    assert await stored_ways_back(hass, hass_storage, init_integration) == {}
    await advance(hass, clock_hands, 31 * 60, step=60)
    assert limit_ma(simulator) == limit
    assert simulator.stats.writes == [(1, 8000), (1, limit)]


async def restart_after(
    hass: HomeAssistant, clock_hands: TickingDateTimeFactory, entry: MockConfigEntry, downtime: timedelta
) -> None:
    """Take the entry down for `downtime`, then set it up again."""
    assert await hass.config_entries.async_unload(entry.entry_id)
    clock_hands.move_to(clock_hands() + downtime)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)


async def test_the_way_back_survives_a_restart(
    hass: HomeAssistant,
    clock_hands: TickingDateTimeFactory,
    simulator: Simulator,
    init_integration: MockConfigEntry,
    hass_storage: dict[str, Any],
) -> None:
    await set_current_limit(hass, device_id(hass), 8, duration={"minutes": 30})
    await restart_after(hass, clock_hands, init_integration, timedelta(minutes=10))
    assert limit_ma(simulator) == 8000
    await advance(hass, clock_hands, 20 * 60, step=60)
    assert limit_ma(simulator) == 16000
    assert await stored_ways_back(hass, hass_storage, init_integration) == {}


async def test_an_overdue_way_back_runs_at_start(
    hass: HomeAssistant,
    clock_hands: TickingDateTimeFactory,
    simulator: Simulator,
    init_integration: MockConfigEntry,
    hass_storage: dict[str, Any],
) -> None:
    await set_current_limit(hass, device_id(hass), 8, duration={"minutes": 30})
    await restart_after(hass, clock_hands, init_integration, timedelta(hours=2))
    await advance(hass, clock_hands, 1)
    assert limit_ma(simulator) == 16000
    assert await stored_ways_back(hass, hass_storage, init_integration) == {}


async def test_a_charger_unreachable_at_the_time_gets_it_a_minute_later(
    hass: HomeAssistant,
    clock_hands: TickingDateTimeFactory,
    simulator: Simulator,
    init_integration: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
    hass_storage: dict[str, Any],
) -> None:
    await set_current_limit(hass, device_id(hass), 8, duration={"minutes": 1})
    simulator.faults.drop(times=None)  # the charger stops answering
    await advance(hass, clock_hands, 60, step=60)
    assert "Could not put back the EMS limit of ENO one port 1, trying again in 0:01:00" in caplog.text
    assert (await stored_ways_back(hass, hass_storage, init_integration))["1"]["limit_ma"] == 16000  # still to do
    simulator.faults.clear()
    await advance(hass, clock_hands, 60, step=60)
    assert limit_ma(simulator) == 16000
    assert await stored_ways_back(hass, hass_storage, init_integration) == {}


async def test_removing_the_entry_forgets_the_way_back(
    hass: HomeAssistant,
    clock_hands: TickingDateTimeFactory,
    simulator: Simulator,
    init_integration: MockConfigEntry,
    hass_storage: dict[str, Any],
) -> None:
    await set_current_limit(hass, device_id(hass), 8, duration={"hours": 1})
    await advance(hass, clock_hands, 1)
    assert storage_key(init_integration.entry_id) in hass_storage
    assert await hass.config_entries.async_remove(init_integration.entry_id)
    await hass.async_block_till_done()
    assert storage_key(init_integration.entry_id) not in hass_storage


@pytest.mark.parametrize("dual_port", [True])
@pytest.mark.usefixtures("dual_port")
async def test_a_port_of_a_dual_port_charger(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    await set_current_limit(hass, device_id(hass, 2), 10)
    assert (limit_ma(simulator, 1), limit_ma(simulator, 2)) == (16000, 10000)


@pytest.mark.parametrize("dual_port", [True])
@pytest.mark.usefixtures("dual_port")
async def test_a_dual_port_charger_gives_the_limit_to_each_port(
    hass: HomeAssistant,
    clock_hands: TickingDateTimeFactory,
    simulator: Simulator,
    init_integration: MockConfigEntry,
    hass_storage: dict[str, Any],
) -> None:
    await set_current_limit(hass, device_id(hass, 2), 10)
    # the charger's own device, as Home Assistant's device picker offers it along with its ports
    await set_current_limit(hass, device_id(hass), 8, duration={"minutes": 5})
    assert (limit_ma(simulator, 1), limit_ma(simulator, 2)) == (8000, 8000)
    await advance(hass, clock_hands, 5 * 60, step=60)
    # each port gets back its own limit from before
    assert (limit_ma(simulator, 1), limit_ma(simulator, 2)) == (16000, 10000)
    assert await stored_ways_back(hass, hass_storage, init_integration) == {}


@pytest.mark.parametrize(
    ("current", "message"),
    [
        (40, "An EMS current limit of 40 A is out of range: use 0 to 32 A"),
        (3, "An EMS current limit of 3 A cannot charge a car"),
        # in range but not whole: it says so, with the whole number nearby (not "out of range")
        (10.5, r"An EMS current limit of 10.5 A is not a whole number of amperes: .* such as 10 A"),
        (6.7, r"An EMS current limit of 6.7 A is not a whole number of amperes: .* such as 7 A"),
        (40.5, "An EMS current limit of 40.5 A is out of range: use 0 to 32 A"),
    ],
)
async def test_a_limit_out_of_range_is_refused(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry, current: float, message: str
) -> None:
    with pytest.raises(ServiceValidationError, match=message):
        await set_current_limit(hass, device_id(hass), current, duration={"minutes": 5})
    assert limit_ma(simulator) == 16000
    assert simulator.stats.writes == []


@pytest.mark.parametrize("ems_control", [False])
@pytest.mark.usefixtures("ems_control")
async def test_without_ems_control_it_says_so(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    with pytest.raises(ServiceValidationError, match="EMS control is off for ENO one: reconfigure it"):
        await set_current_limit(hass, device_id(hass), 10)
    assert simulator.stats.writes == []


async def test_a_charger_that_no_longer_allows_it_says_so(
    hass: HomeAssistant, clock_hands: TickingDateTimeFactory, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    await simulator.set_ems_mode(EmsMode.MONITORING)
    await advance(hass, clock_hands, 60, step=60)
    with pytest.raises(ServiceValidationError, match="ENO one does not allow EMS control now"):
        await set_current_limit(hass, device_id(hass), 10)


async def test_a_charger_that_does_not_answer_says_so(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    simulator.faults.drop(times=None)
    with pytest.raises(HomeAssistantError, match="did not answer"):
        await set_current_limit(hass, device_id(hass), 10, duration={"minutes": 5})


async def test_another_device_is_refused(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    other = MockConfigEntry(domain="other")
    other.add_to_hass(hass)
    device = dr.async_get(hass).async_get_or_create(
        config_entry_id=other.entry_id, identifiers={("other", "x")}, name="Kettle"
    )
    with pytest.raises(ServiceValidationError, match="Device Kettle does not belong to integration enovates"):
        await set_current_limit(hass, device.id, 10)
    assert simulator.stats.writes == []


async def test_an_unknown_device_is_refused(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    with pytest.raises(ServiceValidationError, match="Device with ID 0123abcd was not found"):
        await set_current_limit(hass, "0123abcd", 10)
    assert simulator.stats.writes == []


async def test_a_charger_that_is_not_loaded_is_refused(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    device = device_id(hass)
    await hass.config_entries.async_unload(init_integration.entry_id)
    with pytest.raises(ServiceValidationError, match="Config entry ENO one for integration enovates is not loaded"):
        await set_current_limit(hass, device, 10)
    assert simulator.stats.writes == []


async def test_a_way_back_for_a_port_that_is_gone_is_dropped(
    hass: HomeAssistant,
    clock_hands: TickingDateTimeFactory,
    simulator: Simulator,
    mock_config_entry: MockConfigEntry,
    hass_storage: dict[str, Any],
) -> None:
    # Stored while the entry was set up as dual-port; since reconfigured as single-port.
    due = (dt_util.utcnow() - timedelta(minutes=1)).isoformat()
    hass_storage[storage_key(mock_config_entry.entry_id)] = {
        "version": 1,
        "key": storage_key(mock_config_entry.entry_id),
        "data": {"pending": {"2": {"at": due, "limit_ma": 6000}, "1": {"at": due, "limit_ma": 10000}}},
    }
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await advance(hass, clock_hands, 1)
    assert simulator.stats.writes == [(1, 10000)]
    assert await stored_ways_back(hass, hass_storage, mock_config_entry) == {}
