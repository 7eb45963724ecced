"""The README's use cases, as a user pastes them, run against the simulated charger.

Each automation and script under "Use cases" is loaded from README.md itself (only the placeholder device id is
swapped for the simulator's), so an example that stops working, or an entity id that changes, fails here.
"""

from __future__ import annotations

from pathlib import Path
import re
from typing import Any

from freezegun.api import TickingDateTimeFactory
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_mock_service
import yaml

from enovates_simulator import Car, Charger, ManualClock, Simulator

from ..conftest import advance
from .test_services import device_id, limit_ma

README = Path(__file__).parents[2] / "README.md"
PLACEHOLDER_DEVICE_ID = "0123456789abcdef0123456789abcdef"


def use_cases() -> list[dict[str, Any]]:
    """The YAML blocks of the README's "Use cases" section, parsed."""
    text = README.read_text(encoding="utf-8")
    section = text[text.index("### Use cases") : text.index("### Known limitations")]
    return [yaml.safe_load(block) for block in re.findall(r"```yaml\n(.*?)```", section, re.DOTALL)]


def examples(kind: str) -> dict[str, Any]:
    """Every automation (by alias) or script (by id) of the README."""
    found: dict[str, Any] = {}
    for block in use_cases():
        if kind == "automation":
            found |= {automation["alias"]: automation for automation in block.get("automation", [])}
        else:
            found |= block.get("script", {})
    return found


def with_device(config: Any, device: str) -> Any:
    """The example with the simulator's device id where the README has its placeholder."""
    return yaml.safe_load(yaml.safe_dump(config).replace(PLACEHOLDER_DEVICE_ID, device))


async def load_automations(hass: HomeAssistant, *aliases: str) -> None:
    """Set up the automation integration with these examples (once: a second set-up would be a no-op)."""
    automations = [with_device(examples("automation")[alias], device_id(hass)) for alias in aliases]
    assert await async_setup_component(hass, "automation", {"automation": automations})


@pytest.fixture
def charger(charger: Charger) -> Charger:
    """A car that can take 16 A per phase is charging, under an EMS limit of 16 A."""
    charger.port(1).plug_in(Car(max_current_a=16, energy_wanted_wh=100_000))
    charger.set_ems_limit(1, 16000)
    return charger


def test_the_readme_has_the_examples_these_tests_run() -> None:
    assert set(examples("automation")) == {
        "Charge the car on solar surplus",
        "Hold the charger while the quarter-hour peak is high",
        "Charging session summary",
        "Cap the charger during a household peak",
        "Lift the cap after the peak",
    }
    assert set(examples("script")) == {"charge_boost"}


async def test_solar_surplus_follows_the_sun(
    hass: HomeAssistant, clock_hands: TickingDateTimeFactory, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    house_w = 500.0

    async def sunshine(solar_w: float, seconds: int) -> None:
        """The grid meter sees the house and the car, minus the panels; it is read each second."""
        for _ in range(seconds):
            car_w = sum(simulator.charger.read_port(1).powers_w)
            hass.states.async_set("sensor.grid_power", str(round(house_w + car_w - solar_w)))
            await advance(hass, clock_hands, 1)

    await load_automations(hass, "Charge the car on solar surplus")
    try:
        await sunshine(9000, 90)  # 8.5 kW to spare: 12 A on three phases at 230 V
        assert limit_ma(simulator) == 12000
        assert simulator.charger.read_port(1).currents_ma == (12000,) * 3
        await sunshine(3000, 60)  # a cloud: 2.5 kW is not enough for the 6 A a car needs, so charging pauses
        assert limit_ma(simulator) == 0
        assert simulator.charger.read_port(1).currents_ma == (0,) * 3
        assert hass.states.get("sensor.eno_one_status").state == "paused"  # type: ignore[union-attr]
        await sunshine(9000, 60)  # the sun is back
        assert limit_ma(simulator) == 12000
        # Readings missed change nothing (taken as 0 A drawn, they would pause the car): the charger refuses
        # its measurements for a minute, then the grid meter is away for one.
        simulator.stats.reset()
        simulator.faults.exception(maps=["measurements"])
        await sunshine(9000, 60)
        assert hass.states.get("sensor.eno_one_current_l1").state == STATE_UNAVAILABLE  # type: ignore[union-attr]
        simulator.faults.clear()
        hass.states.async_set("sensor.grid_power", STATE_UNAVAILABLE)
        await advance(hass, clock_hands, 60)
        assert simulator.stats.writes == []
        assert limit_ma(simulator) == 12000
    finally:
        # Its time pattern would outlive the test otherwise.
        await hass.services.async_call("automation", "turn_off", {"entity_id": "all"}, blocking=True)


async def test_boost_for_an_hour(
    hass: HomeAssistant, clock_hands: TickingDateTimeFactory, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    script = with_device(examples("script")["charge_boost"], device_id(hass))
    assert await async_setup_component(hass, "script", {"script": {"charge_boost": script}})
    await hass.services.async_call("script", "charge_boost", blocking=True)
    assert limit_ma(simulator) == -1  # the charger's maximum: no limit
    await advance(hass, clock_hands, 59 * 60, step=60)
    assert limit_ma(simulator) == -1
    await advance(hass, clock_hands, 60, step=60)
    assert limit_ma(simulator) == 16000  # the EMS's limit from before


async def test_peak_shaving_with_a_safety_net(
    hass: HomeAssistant, clock_hands: TickingDateTimeFactory, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    hass.states.async_set("sensor.quarter_hour_average_power", "1800")
    await load_automations(hass, "Hold the charger while the quarter-hour peak is high")
    hass.states.async_set("sensor.quarter_hour_average_power", "2700")
    await advance(hass, clock_hands, 1)
    assert limit_ma(simulator) == 6000
    assert simulator.charger.read_port(1).currents_ma == (6000,) * 3
    await advance(hass, clock_hands, 15 * 60, step=60)  # nothing lifted it: the net brings the 16 A back
    assert limit_ma(simulator) == 16000


async def test_a_household_peak_caps_the_charger_until_it_is_over(
    hass: HomeAssistant, clock_hands: TickingDateTimeFactory, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    hass.states.async_set("sensor.house_power", "2000")
    await load_automations(hass, "Cap the charger during a household peak", "Lift the cap after the peak")
    hass.states.async_set("sensor.house_power", "5600")
    await advance(hass, clock_hands, 1)
    assert limit_ma(simulator) == 6000
    hass.states.async_set("sensor.house_power", "2800")
    await hass.async_block_till_done()  # the trigger sees the drop now, before the clock moves (2025.10 defers it)
    await advance(hass, clock_hands, 4 * 60, step=60)
    assert limit_ma(simulator) == 6000  # not yet five minutes below 3 kW
    await advance(hass, clock_hands, 60, step=60)
    assert limit_ma(simulator) == -1  # 32 A, the charger's maximum: the cap is lifted


async def test_session_summary_when_the_car_leaves(
    hass: HomeAssistant,
    clock_hands: TickingDateTimeFactory,
    clock: ManualClock,
    simulator: Simulator,
    init_integration: MockConfigEntry,
) -> None:
    port = simulator.charger.port(1)
    port.unplug()
    await advance(hass, clock_hands, 2)
    notifications = async_mock_service(hass, "notify", "notify")
    await load_automations(hass, "Charging session summary")
    car = port.plug_in(Car(max_current_a=16, energy_wanted_wh=100_000))
    await advance(hass, clock_hands, 2)
    clock.advance(3600)  # an hour at 16 A: 11.04 kWh
    await advance(hass, clock_hands, 3600, step=60)
    assert notifications == []
    port.unplug()
    await advance(hass, clock_hands, 2)

    assert len(notifications) == 1
    kwh = car.energy_received_wh / 1000
    assert kwh == pytest.approx(11.04, abs=0.05)
    assert notifications[0].data["message"] == f"{kwh:.2f} kWh in 60 min, about € {round(kwh * 0.30, 2)}"
