"""Two chargers on one grid sensor in Home Assistant (issue 24): one site, steered together.

Each charger is its own simulator on its own loopback port; the household sets the grid sensor each simulated
second from the panels, the house and what both cars draw. The site's days are in tests/smart/test_site.py; these
runs prove the glue: both steered by one controller, one peak limit and quarter for both, one charger unloaded,
reloaded or unreachable while the other goes on, the site's options shared.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from freezegun.api import TickingDateTimeFactory
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import CONF_HOST, CONF_PORT
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.enovates.const import CONF_DUAL_PORT, CONF_EMS_CONTROL, DOMAIN
from custom_components.enovates.smart import SmartCharging
from custom_components.enovates.smart.const import (
    CONF_GRID_SENSOR,
    CONF_HYSTERESIS,
    CONF_MAX_CURRENT,
    CONF_PRIORITY,
    CONF_START_DELAY,
    CONF_STOP_DELAY,
)
from custom_components.enovates.smart.registry import DATA_SITES
from enovates_simulator import Car, Charger, Identity, ManualClock, Simulator

from ..helpers import advance, limit_ma, select_mode, set_number, setup_entry, state, wait_until

GRID = "sensor.grid_power"
POWER = {"unit_of_measurement": "W", "device_class": "power"}
NAMES = ("Garage", "Driveway")
OPTIONS = {CONF_GRID_SENSOR: GRID, CONF_START_DELAY: 10, CONF_STOP_DELAY: 30, CONF_HYSTERESIS: 500}


@pytest.fixture
async def simulators(socket_enabled: None) -> AsyncIterator[list[Simulator]]:
    """Two single-port chargers, each on its own loopback port, a car (16 A, three phases) on each."""
    clock = ManualClock()
    sims = []
    for number in (1, 2):
        charger = Charger(clock=clock, identity=Identity(serial_number=f"SITE000000{number}"))
        charger.port(1).plug_in(Car(max_current_a=16, energy_wanted_wh=100_000))
        sims.append(await Simulator(charger, host="127.0.0.1").start())
    yield sims
    for sim in sims:
        await sim.stop()


@pytest.fixture
async def entries(hass: HomeAssistant, simulators: list[Simulator]) -> list[MockConfigEntry]:
    """Both chargers set up, in smart charging on the same grid sensor (the garage's added first)."""
    hass.states.async_set(GRID, "0", POWER)
    added = []
    for name, sim in zip(NAMES, simulators, strict=True):
        entry = MockConfigEntry(
            domain=DOMAIN,
            title=name,
            unique_id=sim.charger.identity.serial_number,
            minor_version=2,
            data={CONF_HOST: "127.0.0.1", CONF_PORT: sim.port, CONF_DUAL_PORT: False, CONF_EMS_CONTROL: True},
            options=dict(OPTIONS),
        )
        entry.add_to_hass(hass)
        await setup_entry(hass, entry)
        added.append(entry)
    return added


class Home:
    """Panels, a house of 500 W and both chargers' cars behind one grid meter that reports every second."""

    def __init__(self, hass: HomeAssistant, hands: TickingDateTimeFactory, simulators: list[Simulator]) -> None:
        self.hass, self.hands, self.simulators = hass, hands, simulators
        self.pv_w = 0.0
        self.imports: list[float] = []

    def car_w(self, index: int) -> float:
        return float(sum(self.simulators[index].charger.read_port(1).powers_w))

    async def run(self, seconds: int) -> None:
        for _ in range(seconds):
            grid = 500.0 + self.car_w(0) + self.car_w(1) - self.pv_w
            self.imports.append(max(grid, 0.0))
            self.hass.states.async_set(GRID, str(round(grid)), POWER)
            await advance(self.hass, self.hands, 1)


@pytest.fixture
def home(hass: HomeAssistant, clock_hands: TickingDateTimeFactory, simulators: list[Simulator]) -> Home:
    return Home(hass, clock_hands, simulators)


def smart_of(entry: MockConfigEntry) -> SmartCharging:
    smart = entry.runtime_data.smart
    assert smart is not None
    return smart


async def solar_on_both(hass: HomeAssistant) -> None:
    for name in NAMES:
        await select_mode(hass, "solar", f"select.{name.lower()}_charging_mode")


async def test_both_chargers_share_the_surplus_once(
    hass: HomeAssistant, home: Home, simulators: list[Simulator], entries: list[MockConfigEntry]
) -> None:
    garage, driveway = (smart_of(entry) for entry in entries)
    assert garage.site is driveway.site
    assert len(hass.data[DATA_SITES]) == 1
    home.pv_w = 9000.0  # 8.5 kW of surplus: the first car's whole, or both cars' minimum
    await solar_on_both(hass)
    await home.run(60)
    # Both charge at their minimum (8.3 kW together): neither takes the surplus the other has.
    assert [limit_ma(sim) for sim in simulators] == [6000, 6000]
    assert max(home.imports[-20:]) == 0
    assert state(hass, "sensor.garage_smart_charging") == state(hass, "sensor.driveway_smart_charging") == "surplus"
    # One peak limit and one quarter for the site: each charger's entities show them.
    await set_number(hass, "number.driveway_peak_limit", 7)
    await home.run(1)
    assert state(hass, "number.garage_peak_limit") == "7.0"
    assert garage.peak_limit_w == 7000
    await set_number(hass, "number.garage_peak_limit", 0)
    assert state(hass, "number.driveway_peak_limit") == "0.0"
    assert state(hass, "sensor.garage_quarter_hour_average_import") == state(
        hass, "sensor.driveway_quarter_hour_average_import"
    )
    # More sun: equal power for both.
    home.pv_w = 16_000.0
    await home.run(60)
    # 15.5 kW of surplus: 7.75 kW (11.2 A) each, the raise waiting for 0.3 A more than the next ampere
    assert limit_ma(simulators[0]) == limit_ma(simulators[1]) == 10_000


async def test_one_charger_unloaded_and_reloaded_the_other_goes_on(
    hass: HomeAssistant, home: Home, simulators: list[Simulator], entries: list[MockConfigEntry]
) -> None:
    home.pv_w = 9000.0
    await solar_on_both(hass)
    await home.run(60)
    site = smart_of(entries[1]).site
    quarter_start = site.site.controller.quarter.start
    await set_number(hass, "number.garage_peak_limit", 20)
    assert await hass.config_entries.async_unload(entries[0].entry_id)
    await hass.async_block_till_done()
    await set_number(hass, "number.driveway_peak_limit", 25)
    # The garage's car goes on at its last limit, counted as the house's load; the driveway's keeps its share.
    await home.run(20)
    assert limit_ma(simulators[1]) == 6000
    home.pv_w = 14_000.0  # the driveway's car alone takes the rise
    await home.run(20)
    assert limit_ma(simulators[1]) > 6000
    assert limit_ma(simulators[0]) == 6000
    await setup_entry(hass, entries[0])
    assert smart_of(entries[0]).site is site  # the same site: its quarter goes on
    assert site.site.controller.quarter.start == quarter_start
    assert state(hass, "number.garage_peak_limit") == "25.0"  # the site's, not the one the garage kept
    await select_mode(hass, "solar", "select.garage_charging_mode")  # Manual, as after any reload without restore
    await home.run(40)
    assert limit_ma(simulators[0]) == limit_ma(simulators[1])  # sharing again
    # The last to leave ends the site.
    for entry in entries:
        assert await hass.config_entries.async_unload(entry.entry_id)
    assert hass.data[DATA_SITES] == {}


async def test_a_charger_out_of_reach_is_load_and_the_other_goes_on(
    hass: HomeAssistant, home: Home, simulators: list[Simulator], entries: list[MockConfigEntry]
) -> None:
    home.pv_w = 16_000.0
    await solar_on_both(hass)
    await home.run(60)
    shared = limit_ma(simulators[0])
    assert shared == limit_ma(simulators[1]) > 10_000
    await simulators[0].stop()  # the garage's charger is gone; its car charges on at its last limit
    await home.run(5)
    await wait_until(lambda: not entries[0].runtime_data.realtime.last_update_success, "the garage out of reach")
    assert entries[0].state is ConfigEntryState.LOADED
    home.pv_w = 24_000.0
    await home.run(30)
    assert limit_ma(simulators[1]) > shared  # the driveway takes the new surplus alone
    assert limit_ma(simulators[0]) == shared  # nobody steers the garage
    assert state(hass, "sensor.driveway_smart_charging") == "surplus"
    await simulators[0].start()  # back: steered again, sharing
    await home.run(40)
    await wait_until(lambda: entries[0].runtime_data.realtime.last_update_success, "the garage back")
    await home.run(20)
    # Equal power again, but for the raise margin: the garage's limit came up to its share, the driveway's down.
    assert limit_ma(simulators[0]) > shared
    assert abs(limit_ma(simulators[0]) - limit_ma(simulators[1])) <= 1000


async def test_the_options_of_either_charger_are_the_sites(hass: HomeAssistant, entries: list[MockConfigEntry]) -> None:
    result = await hass.config_entries.options.async_init(entries[1].entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        user_input={
            "smart_charging": True,
            CONF_GRID_SENSOR: GRID,
            CONF_START_DELAY: 60,
            CONF_STOP_DELAY: 120,
            CONF_HYSTERESIS: 300,
            CONF_MAX_CURRENT: 10,
        },
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    # The garage shows the site's new settings, keeps its own maximum (none) and was not reloaded.
    site_options = {CONF_GRID_SENSOR: GRID, CONF_START_DELAY: 60, CONF_STOP_DELAY: 120, CONF_HYSTERESIS: 300}
    assert entries[0].options == site_options
    garage, driveway = (smart_of(entry) for entry in entries)
    assert garage.site is driveway.site
    assert garage.site.site.settings.start_delay_s == 60
    assert driveway.settings.max_current_a == 10
    assert garage.settings.max_current_a is None
    # A charger without a grid sensor is a site of its own, and gives its options to no other.
    result = await hass.config_entries.options.async_init(entries[0].entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        user_input={"smart_charging": True, CONF_START_DELAY: 0, CONF_STOP_DELAY: 0, CONF_HYSTERESIS: 0},
    )
    await hass.async_block_till_done()
    assert entries[1].options[CONF_START_DELAY] == 60
    assert smart_of(entries[0]).site is not smart_of(entries[1]).site
    assert len(hass.data[DATA_SITES]) == 2


async def test_the_charger_of_higher_priority_gives_way_last(
    hass: HomeAssistant, home: Home, simulators: list[Simulator], entries: list[MockConfigEntry]
) -> None:
    # Room for one car under the peak limit: the garage, added first, would keep its car; the driveway's priority
    # (its own option, not the site's) puts it first.
    result = await hass.config_entries.options.async_init(entries[1].entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], user_input={"smart_charging": True, **OPTIONS, CONF_PRIORITY: 9}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert CONF_PRIORITY not in entries[0].options
    site = smart_of(entries[0]).site
    assert [member.member_id for member in site.members] == [entries[1].entry_id, entries[0].entry_id]
    await set_number(hass, "number.garage_peak_limit", 7)
    for name in NAMES:
        await select_mode(hass, "fast", f"select.{name.lower()}_charging_mode")
    await home.run(60)
    assert limit_ma(simulators[0]) == 0
    assert limit_ma(simulators[1]) >= 6000
    assert state(hass, "sensor.garage_smart_charging") == "peak_guard"
