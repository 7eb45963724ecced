"""The meter's own quarter-hour figures, found beside the grid sensor: HomeWizard's and DSMR's, by their keys.

HomeWizard's P1 meter is polled, not simulated here: its entities are made in the registries as its integration makes
them (device, translation keys, unique ids) and their states set as it would, each second. The DSMR integration's are
proven on the simulated meter in test_p1_meter.py.
"""

from __future__ import annotations

import logging

from freezegun.api import TickingDateTimeFactory
from homeassistant.const import UnitOfPower
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr, entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import get_diagnostics_for_config_entry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.enovates.smart.const import CONF_GRID_SENSOR
from custom_components.enovates.smart.meter_entities import Figure, MeterEntities
from custom_components.enovates.smart.meter_quarter import LATE_S, QuarterSource
from enovates_simulator import Car, Simulator

from ..helpers import PEAK, QUARTER, REASON, advance, select_mode, set_number, state

GRID = "sensor.p1_meter_power"
AVERAGE = "sensor.p1_meter_average_demand"
MONTH_PEAK = "sensor.p1_meter_peak_demand_current_month"
MONTH = "sensor.eno_one_monthly_peak"
POWER = {"unit_of_measurement": UnitOfPower.WATT, "device_class": "power"}
# What the meter says: the house imports this much on top of the car, its quarter so far and its month so far.
HOUSE_W = 400.0
METER_AVERAGE_W = 3210.0
METER_PEAK_W = 4870.0


@pytest.fixture
def options() -> dict[str, object]:
    """Smart charging on the P1 meter's power sensor."""
    return {CONF_GRID_SENSOR: GRID}


@pytest.fixture
def car() -> Car:
    """A car charging (no limit)."""
    return Car(max_current_a=16, energy_wanted_wh=100_000)


# HomeWizard's keys of the P1 meter's entities (translation key, and the unique id's end) and our tests' entity ids.
HOMEWIZARD = {"active_power_w": GRID, "active_power_average_w": AVERAGE, "monthly_power_peak_w": MONTH_PEAK}
HOMEWIZARD_ID = "HWE-P1_5c2fafabcdef"


def homewizard_p1(hass: HomeAssistant, *keys: str) -> dict[str, str]:
    """Make a HomeWizard P1 meter's device and its entities `keys`, as its integration does; return their entity ids."""
    entry = hass.config_entries.async_entry_for_domain_unique_id("homewizard", HOMEWIZARD_ID)
    if entry is None:
        entry = MockConfigEntry(domain="homewizard", unique_id=HOMEWIZARD_ID)
        entry.add_to_hass(hass)
    device = dr.async_get(hass).async_get_or_create(
        config_entry_id=entry.entry_id, identifiers={("homewizard", "5c2fafabcdef")}, name="P1 meter"
    )
    registry = er.async_get(hass)
    made = {}
    for key in keys or HOMEWIZARD:
        made[key] = registry.async_get_or_create(
            "sensor",
            "homewizard",
            f"{entry.unique_id}_{key}",
            config_entry=entry,
            device_id=device.id,
            translation_key=key,
            suggested_object_id=HOMEWIZARD[key].split(".")[1],
        ).entity_id
        assert made[key] == HOMEWIZARD[key]
    return made


class P1Meter:
    """The HomeWizard meter's readings, each second: the house and the car; its own quarter and month figures."""

    def __init__(self, hass: HomeAssistant, hands: TickingDateTimeFactory, simulator: Simulator) -> None:
        self.hass, self.hands, self.simulator = hass, hands, simulator
        self.figures = True  # whether it reports its quarter figures (off: they are no longer reported)

    async def run(self, seconds: int) -> None:
        charger = self.simulator.charger
        for _ in range(seconds):
            grid = HOUSE_W + sum(charger.read_port(1).powers_w)
            self.hass.states.async_set(GRID, str(round(grid)), POWER)
            if self.figures:
                self.hass.states.async_set(AVERAGE, str(METER_AVERAGE_W), POWER)
                self.hass.states.async_set(MONTH_PEAK, str(METER_PEAK_W), POWER)
            await advance(self.hass, self.hands, 1)


async def test_the_peak_guard_goes_by_a_homewizard_meter_s_own_figures(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    clock_hands: TickingDateTimeFactory,
    simulator: Simulator,
    mock_config_entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    homewizard_p1(hass, "active_power_w")
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    smart = mock_config_entry.runtime_data.smart
    assert smart is not None
    meter = P1Meter(hass, clock_hands, simulator)
    meter.figures = False
    await meter.run(2)
    assert smart.quarter_source is QuarterSource.OWN  # no quarter figures beside the grid sensor yet
    # The meter's integration makes the entities of its figures (in the registry) once it has them.
    homewizard_p1(hass, "active_power_average_w", "monthly_power_peak_w")
    meter.figures = True
    await set_number(hass, PEAK, 5)
    await select_mode(hass, "fast")
    caplog.set_level(logging.INFO)
    await meter.run(20)
    assert smart.quarter_source is QuarterSource.METER
    assert "the peak guard counts the quarter hour by the meter's own sensor.p1_meter_average_demand" in caplog.text
    # The sensors show the meter's figures (but for the seconds since its last figure, or a quarter's first 10 s).
    assert float(state(hass, MONTH)) == METER_PEAK_W / 1000
    if (average := float(state(hass, QUARTER))) != pytest.approx(HOUSE_W / 1000, rel=0.5):
        assert average == pytest.approx(METER_AVERAGE_W / 1000, rel=0.05)
    diagnostics = (await get_diagnostics_for_config_entry(hass, hass_client, mock_config_entry))["smart_charging"]
    assert diagnostics["modes"] == {"1": "fast"}
    assert diagnostics["peak_limit_w"] == 5000
    assert diagnostics["month_peak"]["average_w"] == METER_PEAK_W
    assert diagnostics["quarter"]["source"] == "meter"
    assert diagnostics["quarter"]["meter_entities"] == {"average": AVERAGE, "month_peak": MONTH_PEAK}
    assert diagnostics["decisions"]["1"]["reason"] == state(hass, REASON)
    history = diagnostics["history"]
    assert history[0]["port"] == 1
    assert {entry["reason"] for entry in history} <= {"fast", "peak_guard"}
    assert any(entry["write_a"] is not None for entry in history)

    # The meter's figures are no longer reported: after a minute, our own count, said once.
    meter.figures = False
    await meter.run(int(LATE_S) + 2)
    assert smart.quarter_source is QuarterSource.OWN
    assert caplog.text.count("no figure from the meter's sensor.p1_meter_average_demand lately") == 1
    await meter.run(5)
    assert caplog.text.count("no figure from the meter's") == 1
    meter.figures = True
    await meter.run(2)
    assert smart.quarter_source is QuarterSource.METER
    assert caplog.text.count("the peak guard counts the quarter hour by the meter's own") == 2
    # The average's entity removed (its integration no longer makes it): our own count, with nothing to warn about.
    er.async_get(hass).async_remove(AVERAGE)
    await meter.run(2)
    assert smart.quarter_source is QuarterSource.OWN
    assert caplog.text.count("no figure from the meter's") == 1
    assert float(state(hass, MONTH)) == METER_PEAK_W / 1000  # the month's peak is still the meter's


async def test_the_figures_are_found_by_their_keys_on_the_grid_sensor_s_device(hass: HomeAssistant) -> None:
    made = homewizard_p1(hass)
    registry = er.async_get(hass)
    meter = MeterEntities(hass, GRID)
    stop = meter.async_start()
    assert meter.entities == {Figure.AVERAGE: AVERAGE, Figure.MONTH_PEAK: MONTH_PEAK}
    # Disabled: not a figure to go by. The registry's change is followed.
    registry.async_update_entity(made["monthly_power_peak_w"], disabled_by=er.RegistryEntryDisabler.USER)
    await hass.async_block_till_done()
    assert meter.entities == {Figure.AVERAGE: AVERAGE}
    # A DSMR meter's entity made before translation keys were stored: known by its unique id.
    dsmr = MockConfigEntry(domain="dsmr")
    dsmr.add_to_hass(hass)
    device = dr.async_get(hass).async_get_or_create(config_entry_id=dsmr.entry_id, identifiers={("dsmr", "E0043")})
    for key, object_id in (
        ("power_consumption", "electricity_meter_power"),
        ("belgium_current_average_demand", "electricity_meter_current_average_demand"),
    ):
        registry.async_get_or_create(
            "sensor", "dsmr", f"E0043_{key}", device_id=device.id, config_entry=dsmr, suggested_object_id=object_id
        )
    await hass.async_block_till_done()
    dsmr_meter = MeterEntities(hass, "sensor.electricity_meter_power")
    assert dsmr_meter.entities == {Figure.AVERAGE: "sensor.electricity_meter_current_average_demand"}
    # No figures: a grid sensor on no device, one not in the registry, no grid sensor.
    registry.async_get_or_create("sensor", "template", "grid", suggested_object_id="template_grid")
    for grid in ("sensor.template_grid", "sensor.unknown", None):
        assert MeterEntities(hass, grid).entities == {}
    stop()
