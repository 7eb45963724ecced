"""The README's use cases, as a user pastes them, run against the simulated charger.

Each automation and script under "Use cases" is loaded from README.md itself (only the placeholder device id is
swapped for the simulator's), so an example that stops working, or an entity id that changes, fails here.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
import re
from typing import Any

from freezegun.api import TickingDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_mock_service
import yaml

from custom_components.enovates.smart.const import CONF_GRID_SENSOR
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
def mock_config_entry(mock_config_entry: MockConfigEntry) -> MockConfigEntry:
    """The entry with a grid power sensor for smart charging (its Solar modes)."""
    return MockConfigEntry(
        domain=mock_config_entry.domain,
        title=mock_config_entry.title,
        unique_id=mock_config_entry.unique_id,
        data=mock_config_entry.data,
        options={CONF_GRID_SENSOR: "sensor.grid_power"},
    )


@pytest.fixture
def charger(charger: Charger) -> Charger:
    """A car that can take 16 A per phase is charging, under an EMS limit of 16 A."""
    charger.port(1).plug_in(Car(max_current_a=16, energy_wanted_wh=100_000))
    charger.set_ems_limit(1, 16000)
    return charger


def test_the_readme_has_the_examples_these_tests_run() -> None:
    assert set(examples("automation")) == {"Solar by day, fast at night", "Charging session summary"}
    assert set(examples("script")) == {"charge_boost"}


async def test_solar_by_day_fast_at_night(
    hass: HomeAssistant, clock_hands: TickingDateTimeFactory, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    hass.states.async_set("sensor.grid_power", "-9000", {"unit_of_measurement": "W"})
    # From the next 7:00 on: a jump to 22:00 that passes 7:00 would make both triggers due at once, in no set order
    # (from before 7:00, or from after 22:00, when the next 22:00 is tomorrow's).
    morning = dt_util.now().replace(hour=7, minute=0, second=1, microsecond=0)
    if morning.replace(hour=22, second=0) <= dt_util.now():
        morning += timedelta(days=1)
    if dt_util.now() < morning:
        clock_hands.move_to(morning)
        await advance(hass, clock_hands, 1)
    await load_automations(hass, "Solar by day, fast at night")
    night = dt_util.now().replace(hour=22, minute=0, second=0, microsecond=0)
    try:
        clock_hands.move_to(night - timedelta(seconds=1))
        await advance(hass, clock_hands, 3)
        assert hass.states.get("select.eno_one_charging_mode").state == "fast"  # type: ignore[union-attr]
        assert limit_ma(simulator) == -1  # the charger's maximum
        clock_hands.move_to(night + timedelta(hours=9) - timedelta(seconds=1))
        await advance(hass, clock_hands, 3)
        assert hass.states.get("select.eno_one_charging_mode").state == "solar"  # type: ignore[union-attr]
    finally:
        # Its time triggers would outlive the test otherwise.
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
