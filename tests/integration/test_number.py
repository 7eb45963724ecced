"""The EMS current limit, against the simulated charger."""

from __future__ import annotations

import asyncio
from unittest.mock import patch

from freezegun.api import TickingDateTimeFactory
from homeassistant.components.number import DOMAIN as NUMBER_DOMAIN
from homeassistant.const import STATE_UNAVAILABLE, Platform
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, snapshot_platform
from syrupy.assertion import SnapshotAssertion

from custom_components.enovates.const import DOMAIN
from enovates_simulator import Car, EmsMode, Simulator

from ..helpers import advance, set_number, setup_platform

LIMIT = "number.eno_one_ems_current_limit"


@pytest.fixture
def car() -> Car:
    """A car charging on port 1, at up to 32 A."""
    return Car(max_current_a=32)


@pytest.mark.parametrize("dual_port", [False, True], ids=["single_port", "dual_port"])
@pytest.mark.usefixtures("dual_port")
async def test_numbers(
    hass: HomeAssistant,
    simulator: Simulator,
    mock_config_entry: MockConfigEntry,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
) -> None:
    await setup_platform(hass, mock_config_entry, Platform.NUMBER)
    await snapshot_platform(hass, entity_registry, snapshot, mock_config_entry.entry_id)


async def test_setting_the_limit_changes_what_the_car_draws(
    hass: HomeAssistant, clock_hands: TickingDateTimeFactory, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    assert hass.states.get(LIMIT).state == "32"  # no limit: the charger's maximum
    await set_number(hass, LIMIT, 10)
    port = simulator.charger.port(1)
    assert port.ems_limit_ma == 10000
    assert simulator.stats.writes == [(1, 10000)]
    assert simulator.charger.read_port(1).currents_ma == (10000, 10000, 10000)
    # the limit the charger holds shows at once, without waiting for the next poll; the current offered with it
    assert hass.states.get(LIMIT).state == "10"  # whole amperes, as "32" above: templates compare strings
    await advance(hass, clock_hands, 1)
    assert hass.states.get("sensor.eno_one_current_offered").state == "10.0"

    await set_number(hass, LIMIT, 32)  # the maximum means: no limit
    assert port.ems_limit_ma == -1


async def test_limits_set_elsewhere_show(
    hass: HomeAssistant, clock_hands: TickingDateTimeFactory, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    simulator.charger.set_ems_limit(1, 16000)
    await advance(hass, clock_hands, 1)
    assert hass.states.get(LIMIT).state == "16"
    simulator.charger.set_ems_limit(1, 16500)  # another EMS may set milliamperes
    await advance(hass, clock_hands, 1)
    assert hass.states.get(LIMIT).state == "16.5"


@pytest.mark.parametrize("limit_ma", [0, 3000])
async def test_a_paused_port_reads_its_limit_below_the_sliders_range(
    hass: HomeAssistant,
    clock_hands: TickingDateTimeFactory,
    simulator: Simulator,
    init_integration: MockConfigEntry,
    limit_ma: int,
) -> None:
    state = hass.states.get(LIMIT)
    # the slider holds only limits a car can charge at: 6 A up to the charger's maximum
    assert (state.attributes["min"], state.attributes["max"], state.attributes["step"]) == (6, 32, 1)
    simulator.charger.set_ems_limit(1, limit_ma)  # paused by the switch, the action or another EMS
    await advance(hass, clock_hands, 1)
    assert hass.states.get(LIMIT).state == str(limit_ma // 1000)  # the truth, below the range
    assert hass.states.get("switch.eno_one_charging_allowed").state == "off"
    await set_number(hass, LIMIT, 12)  # moving the slider resumes charging at that limit
    assert simulator.charger.port(1).ems_limit_ma == 12000
    await advance(hass, clock_hands, 1)
    assert hass.states.get("switch.eno_one_charging_allowed").state == "on"


@pytest.mark.parametrize(
    ("value", "domain", "message"),
    [
        # above the charger's maximum: Home Assistant's number platform refuses it already
        (33, NUMBER_DOMAIN, "Value 33.0 for number.eno_one_ems_current_limit is outside valid range 6 - 32.0"),
        # below 6 A, pausing included: the slider does not go there (the switch and the action pause)
        (0, NUMBER_DOMAIN, "Value 0.0 for number.eno_one_ems_current_limit is outside valid range 6 - 32.0"),
        (5, NUMBER_DOMAIN, "Value 5.0 for number.eno_one_ems_current_limit is outside valid range 6 - 32.0"),
        (
            6.5,
            DOMAIN,
            "An EMS current limit of 6.5 A is not a whole number of amperes: the charger takes whole amperes only, "
            "such as 6 A",
        ),
    ],
)
async def test_values_the_charger_cannot_take_are_refused_before_sending(
    hass: HomeAssistant,
    simulator: Simulator,
    init_integration: MockConfigEntry,
    value: float,
    domain: str,
    message: str,
) -> None:
    with pytest.raises(ServiceValidationError) as err:
        await set_number(hass, LIMIT, value)
    assert err.value.translation_domain == domain
    assert str(err.value) == message
    assert simulator.stats.writes == []


@pytest.mark.parametrize("ems_mode", [EmsMode.FULL])
# pytest 8 (the oldest harness) parametrizes only fixtures it finds named beyond an overridden one
@pytest.mark.usefixtures("ems_mode")
async def test_a_charger_switched_to_monitoring_ignores_the_write(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    await simulator.set_ems_mode(EmsMode.MONITORING)
    with pytest.raises(HomeAssistantError, match="did not apply it"):
        await set_number(hass, LIMIT, 10)
    assert simulator.stats.writes == [(1, 10000)]
    assert simulator.charger.port(1).ems_limit_ma == -1


async def test_a_refused_write_is_reported(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    simulator.faults.exception(maps=["ems_limit"], times=1)
    with pytest.raises(HomeAssistantError, match="The charger refused the EMS current limit"):
        await set_number(hass, LIMIT, 10)


async def test_a_write_to_an_unreachable_charger_is_reported(
    hass: HomeAssistant, clock_hands: TickingDateTimeFactory, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    await simulator.stop()
    with pytest.raises(HomeAssistantError, match="did not answer"):
        await set_number(hass, LIMIT, 10)
    await advance(hass, clock_hands, 6)
    assert hass.states.get(LIMIT).state == STATE_UNAVAILABLE


async def test_a_failed_write_raises_without_waiting_for_the_refresh(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    # The refresh after a failed write (so that an outage shows soon) is held up until the error was raised.
    started, release = asyncio.Event(), asyncio.Event()

    async def held_refresh() -> None:
        started.set()
        await release.wait()

    await simulator.stop()
    with patch.object(init_integration.runtime_data.realtime, "async_request_refresh", held_refresh):
        async with asyncio.timeout(10):  # a write that waited for the refresh would wait here for ever
            with pytest.raises(HomeAssistantError, match="did not answer"):
                await set_number(hass, LIMIT, 10)
            await started.wait()  # the refresh runs all the same, in the background
        release.set()
        await hass.async_block_till_done(wait_background_tasks=True)


@pytest.mark.parametrize("ems_control", [False])
@pytest.mark.usefixtures("ems_control")
async def test_no_number_without_ems_control(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    assert hass.states.get(LIMIT) is None
    assert hass.states.get("sensor.eno_one_ems_current_limit") is not None


@pytest.mark.parametrize("dual_port", [True])
@pytest.mark.usefixtures("dual_port")
async def test_each_port_has_its_own_limit(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    await set_number(hass, "number.eno_one_port_2_ems_current_limit", 8)
    assert simulator.charger.port(2).ems_limit_ma == 8000
    assert simulator.charger.port(1).ems_limit_ma == -1


async def test_unknown_maximum_makes_the_limit_unavailable(
    hass: HomeAssistant, clock_hands: TickingDateTimeFactory, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    simulator.faults.exception(maps=["state"])
    await advance(hass, clock_hands, 1)
    assert hass.states.get(LIMIT).state == STATE_UNAVAILABLE
