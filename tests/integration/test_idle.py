"""Idle polling: while no car is plugged in at any port, only what can change is read; a car is still seen at once."""

from __future__ import annotations

from freezegun.api import TickingDateTimeFactory
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from enovates_simulator import Car, ManualClock, Simulator

from ..helpers import advance, state

STATUS = "sensor.eno_one_status"
POWER = "sensor.eno_one_power"
ENERGY = "sensor.eno_one_energy_imported"
SESSION_ENERGY = "sensor.eno_one_session_energy"
LIMIT = "number.eno_one_ems_current_limit"
OFFERED = "sensor.eno_one_current_offered"


async def test_an_idle_charger_is_asked_little(
    hass: HomeAssistant, clock_hands: TickingDateTimeFactory, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    await advance(hass, clock_hands, 2)
    simulator.stats.reset()
    await advance(hass, clock_hands, 120)
    requests = simulator.stats.requests_by_map
    # the state (a car arriving) every second, the EMS limit every 4 s, measurements and current offered every 30 s
    assert requests[1, "state"] >= 118
    assert 28 <= requests[1, "ems_limit"] <= 32
    assert 3 <= requests[1, "measurements"] <= 5
    assert 3 <= requests[1, "current_offered"] <= 5
    assert simulator.stats.requests / 120 <= 1.5  # with Mode 3 every 10 s and the token every minute
    assert state(hass, STATUS) == "available"
    assert state(hass, POWER) == "0"


async def test_a_car_is_seen_within_a_second_and_read_whole_from_then_on(
    hass: HomeAssistant,
    clock_hands: TickingDateTimeFactory,
    clock: ManualClock,
    simulator: Simulator,
    init_integration: MockConfigEntry,
) -> None:
    port = simulator.charger.port(1)
    port.energy_wh = 5_000.0  # counted meanwhile by another car, say: read again the moment a car arrives
    await advance(hass, clock_hands, 2)
    port.plug_in(Car(max_current_a=16))
    await advance(hass, clock_hands, 1)
    assert state(hass, STATUS) == "charging"
    assert state(hass, POWER) == "11040"
    assert state(hass, OFFERED) == "32.0"
    assert float(state(hass, ENERGY)) == 5.0  # kWh
    assert float(state(hass, SESSION_ENERGY)) == 0
    simulator.stats.reset()
    await advance(hass, clock_hands, 10)
    requests = simulator.stats.requests_by_map
    for name in ("state", "measurements", "ems_limit", "current_offered"):
        assert requests[1, name] >= 9, name  # every second while a car is plugged in

    # it charges, then leaves: the last reading after the contactor opened holds every watt-hour
    clock.advance(600)
    port.unplug()
    await advance(hass, clock_hands, 2)
    assert state(hass, STATUS) == "available"
    final_wh = simulator.charger.read_port(1).energy_wh
    assert float(state(hass, ENERGY)) * 1000 == pytest.approx(final_wh)
    assert float(state(hass, SESSION_ENERGY)) == pytest.approx(1.84, abs=0.01)
    await advance(hass, clock_hands, 60)
    assert float(state(hass, ENERGY)) * 1000 == pytest.approx(final_wh)


async def test_a_limit_set_elsewhere_shows_within_5_s_while_idle(
    hass: HomeAssistant, clock_hands: TickingDateTimeFactory, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    await advance(hass, clock_hands, 2)
    for n, limit_a in enumerate((10, 16, 6, 20)):
        await advance(hass, clock_hands, n)  # whatever the moment between two readings
        simulator.charger.set_ems_limit(1, limit_a * 1000)
        for _ in range(5):
            await advance(hass, clock_hands, 1)
            if float(state(hass, LIMIT)) == limit_a:
                break
        assert float(state(hass, LIMIT)) == limit_a


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
async def test_the_installation_currents_are_read_every_second_while_idle(
    hass: HomeAssistant, clock_hands: TickingDateTimeFactory, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    # The installation monitor measures the house: its currents change, car or not.
    await advance(hass, clock_hands, 2)
    simulator.stats.reset()
    simulator.charger.load_shedding_present = True
    simulator.charger.house_load_ma = (5000, 3000, 1000)
    await advance(hass, clock_hands, 10)
    assert simulator.stats.requests_by_map[1, "measurements"] >= 9
    assert simulator.stats.requests_by_map[1, "current_offered"] <= 1
    assert state(hass, "sensor.eno_one_installation_current_l1") == "5.0"


async def test_a_car_is_seen_within_a_second_whenever_it_comes_and_every_watt_hour_is_counted(
    hass: HomeAssistant,
    clock_hands: TickingDateTimeFactory,
    clock: ManualClock,
    simulator: Simulator,
    init_integration: MockConfigEntry,
) -> None:
    # Cars come at every moment of the idle rhythm (the EMS limit every 4 s, measurements every 30 s): each is seen
    # within the second, and the energy counter shown after each leaves is the charger's to the watt-hour.
    port = simulator.charger.port(1)
    await advance(hass, clock_hands, 2)
    for idle_s in (0, 1, 2, 3, 5, 8, 13, 21, 29, 34):
        await advance(hass, clock_hands, idle_s)
        assert state(hass, STATUS) == "available"
        port.plug_in(Car(max_current_a=16))
        await advance(hass, clock_hands, 1)
        assert state(hass, STATUS) == "charging", idle_s
        assert float(state(hass, POWER)) == sum(simulator.charger.read_port(1).powers_w), idle_s
        clock.advance(60 + idle_s)  # it charges a while, then leaves
        port.unplug()
        await advance(hass, clock_hands, 2)
        assert state(hass, STATUS) == "available"
        assert float(state(hass, ENERGY)) * 1000 == pytest.approx(simulator.charger.read_port(1).energy_wh), idle_s


@pytest.mark.parametrize(
    "car",
    [Car(max_current_a=16), Car(max_current_a=16, wants_to_charge=False)],
    ids=["charging", "plugged in, not charging"],
)
async def test_every_map_is_read_every_second_while_a_car_is_plugged_in(
    hass: HomeAssistant, clock_hands: TickingDateTimeFactory, init_integration: MockConfigEntry
) -> None:
    # Idle polling is for no car at all: a car plugged in, charging or not, has every map read each second.
    realtime = init_integration.runtime_data.realtime
    await advance(hass, clock_hands, 2)
    for second in range(40):  # longer than the slowest idle reading (30 s)
        await advance(hass, clock_hands, 1)
        for name in ("state", "measurements", "ems_limit", "current_offered"):
            assert hass.loop.time() - realtime._readings[1, name].read_at < 1.5, (second, name)
