"""The blueprints in blueprints/automation/enovates, imported as a user does and run against the simulated charger.

Each one stands for an automation of the README; Home Assistant loads it from its blueprint folder, checks its
inputs and runs it, so a blueprint that stops validating or acting fails here.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
import shutil
from typing import Any

from freezegun.api import TickingDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_mock_service
import yaml

from enovates_simulator import Car, ManualClock, Simulator

from ..helpers import advance, device_id, limit_ma

BLUEPRINTS = Path(__file__).parents[2] / "blueprints" / "automation" / "enovates"


class _InputTag(yaml.SafeLoader):
    """Reads blueprints with their !input tags."""


_InputTag.add_constructor("!input", lambda loader, node: {"!input": loader.construct_scalar(node)})  # type: ignore[arg-type, union-attr]


@pytest.fixture
def blueprint_folder(hass: HomeAssistant, tmp_path: Path) -> Iterator[None]:
    """The repository's blueprints, imported into Home Assistant's configuration folder."""
    config_dir = hass.config.config_dir
    hass.config.config_dir = str(tmp_path)
    shutil.copytree(BLUEPRINTS, tmp_path / "blueprints" / "automation" / "enovates")
    yield
    hass.config.config_dir = config_dir


@pytest.fixture
def car() -> Car:
    """A car that can take 16 A per phase is charging..."""
    return Car(max_current_a=16, energy_wanted_wh=100_000)


@pytest.fixture
def ems_limit_ma() -> int:
    """... under an EMS limit of 16 A."""
    return 16000


async def use_blueprint(hass: HomeAssistant, name: str, **inputs: Any) -> None:
    """Set up an automation from the blueprint `name`, as the UI writes it to automations.yaml."""
    automation = {"alias": name, "use_blueprint": {"path": f"enovates/{name}.yaml", "input": inputs}}
    assert await async_setup_component(hass, "automation", {"automation": [automation]})
    await hass.async_block_till_done()
    state = hass.states.get(f"automation.{name}")
    assert state is not None
    assert state.state == "on", f"{name} did not load"


def test_every_blueprint_names_its_inputs_and_points_home() -> None:
    names = sorted(path.stem for path in BLUEPRINTS.glob("*.yaml"))
    assert names == ["household_peak_cap", "peak_hold", "session_summary", "solar_surplus"]
    for path in BLUEPRINTS.glob("*.yaml"):
        blueprint = yaml.load(path.read_text(encoding="utf-8"), Loader=_InputTag)["blueprint"]  # noqa: S506 - SafeLoader
        assert blueprint["domain"] == "automation"
        assert blueprint["source_url"].endswith(f"/blueprints/automation/enovates/{path.name}")
        assert all(spec.get("name") for spec in blueprint["input"].values())


@pytest.mark.usefixtures("blueprint_folder")
async def test_solar_surplus(
    hass: HomeAssistant, clock_hands: TickingDateTimeFactory, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    house_w = 500.0

    async def sunshine(solar_w: float, seconds: int) -> None:
        for _ in range(seconds):
            car_w = sum(simulator.charger.read_port(1).powers_w)
            hass.states.async_set("sensor.grid_power", str(round(house_w + car_w - solar_w)))
            await advance(hass, clock_hands, 1)

    hass.states.async_set("sensor.grid_power", "0")
    await use_blueprint(
        hass,
        "solar_surplus",
        charger=device_id(hass),
        charger_current="sensor.eno_one_current_l1",
        grid_power="sensor.grid_power",
    )
    try:
        await sunshine(9000, 90)  # 8.5 kW to spare: 12 A on three phases at 230 V
        assert limit_ma(simulator) == 12000
        await sunshine(3000, 60)  # not enough for 6 A: paused
        assert limit_ma(simulator) == 0
        await sunshine(30000, 60)  # more than the charger can take: its maximum, that is no limit
        assert limit_ma(simulator) == -1
    finally:
        await hass.services.async_call("automation", "turn_off", {"entity_id": "all"}, blocking=True)


@pytest.mark.usefixtures("blueprint_folder")
async def test_peak_hold(
    hass: HomeAssistant, clock_hands: TickingDateTimeFactory, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    hass.states.async_set("sensor.quarter_hour_average_power", "1800")
    await use_blueprint(hass, "peak_hold", charger=device_id(hass), peak_power="sensor.quarter_hour_average_power")
    hass.states.async_set("sensor.quarter_hour_average_power", "2700")
    await advance(hass, clock_hands, 1)
    assert limit_ma(simulator) == 6000
    await advance(hass, clock_hands, 15 * 60, step=60)  # the limit from before comes back by itself
    assert limit_ma(simulator) == 16000


@pytest.mark.usefixtures("blueprint_folder")
async def test_household_peak_cap(
    hass: HomeAssistant, clock_hands: TickingDateTimeFactory, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    hass.states.async_set("sensor.house_power", "2000")
    await use_blueprint(hass, "household_peak_cap", charger=device_id(hass), house_power="sensor.house_power")
    hass.states.async_set("sensor.house_power", "5600")
    await advance(hass, clock_hands, 1)
    assert limit_ma(simulator) == 6000
    hass.states.async_set("sensor.house_power", "2800")
    await hass.async_block_till_done()  # the trigger sees the drop now, before the clock moves (2025.10 defers it)
    await advance(hass, clock_hands, 4 * 60, step=60)
    assert limit_ma(simulator) == 6000  # not yet five minutes below 3 kW
    await advance(hass, clock_hands, 60, step=60)
    assert limit_ma(simulator) == -1  # the charger's maximum: the cap is lifted


@pytest.mark.usefixtures("blueprint_folder")
async def test_session_summary(
    hass: HomeAssistant,
    clock_hands: TickingDateTimeFactory,
    clock: ManualClock,
    simulator: Simulator,
    init_integration: MockConfigEntry,
) -> None:
    port = simulator.charger.port(1)
    port.unplug()
    await advance(hass, clock_hands, 2)
    notifications = async_mock_service(hass, "notify", "mobile_app_phone")
    await use_blueprint(
        hass,
        "session_summary",
        car_connected="binary_sensor.eno_one_car_connected",
        session_energy="sensor.eno_one_session_energy",
        session_duration="sensor.eno_one_session_duration",
        price=0.25,
        notify_action="notify.mobile_app_phone",
    )
    car = port.plug_in(Car(max_current_a=16, energy_wanted_wh=100_000))
    await advance(hass, clock_hands, 2)
    clock.advance(3600)
    await advance(hass, clock_hands, 3600, step=60)
    port.unplug()
    await advance(hass, clock_hands, 2)
    assert len(notifications) == 1
    kwh = car.energy_received_wh / 1000
    assert notifications[0].data["message"] == f"{kwh:.2f} kWh in 60 min, about € {round(kwh * 0.25, 2)}"
