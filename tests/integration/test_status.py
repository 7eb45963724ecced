"""Status, car connected and charging: what a person reads at a glance, through a charging session."""

from __future__ import annotations

from freezegun.api import TickingDateTimeFactory
from homeassistant.const import STATE_UNKNOWN
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from enovates_simulator import Car, PortFault, Profile, Simulator

from ..helpers import advance

STATUS = "sensor.eno_one_status"
CONNECTED = "binary_sensor.eno_one_car_connected"
CHARGING = "binary_sensor.eno_one_charging"


def glance(hass: HomeAssistant) -> tuple[str, str, str]:
    return tuple(hass.states.get(entity_id).state for entity_id in (STATUS, CONNECTED, CHARGING))  # type: ignore[return-value]


async def test_a_session_at_a_glance(
    hass: HomeAssistant, clock_hands: TickingDateTimeFactory, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    # Each step waits two seconds: Mode 3 is read at once when a car moves, or at the next tick if its own 10 s
    # poll is running at that moment.
    charger = simulator.charger
    port = charger.port(1)
    assert glance(hass) == ("available", "off", "off")

    car = port.plug_in(Car(wants_to_charge=False))
    await advance(hass, clock_hands, 2)
    assert glance(hass) == ("plugged_in", "on", "off")

    car.wants_to_charge = True
    await advance(hass, clock_hands, 2)
    assert glance(hass) == ("charging", "on", "on")

    charger.set_ems_limit(1, 0)  # an EMS pauses charging
    await advance(hass, clock_hands, 2)
    assert glance(hass) == ("paused", "on", "off")

    charger.set_ems_limit(1, -1)
    await advance(hass, clock_hands, 2)
    assert glance(hass) == ("charging", "on", "on")

    port.fault = PortFault.F
    await advance(hass, clock_hands, 2)  # the contactor opens: Mode 3 is read at once
    assert glance(hass) == ("error", STATE_UNKNOWN, "off")

    port.fault = None
    port.unplug()
    await advance(hass, clock_hands, 2)
    assert glance(hass) == ("available", "off", "off")


async def test_an_unknown_mode3_state_leaves_the_status_unknown(
    hass: HomeAssistant, clock_hands: TickingDateTimeFactory, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    simulator.faults.override(300, 77)  # a Mode 3 state from a newer firmware
    await advance(hass, clock_hands, 10)
    assert glance(hass) == (STATE_UNKNOWN, STATE_UNKNOWN, "off")


@pytest.mark.parametrize("profile", [Profile(authorisation=True)])
@pytest.mark.usefixtures("profile")
async def test_a_car_waiting_for_a_badge_is_not_paused(
    hass: HomeAssistant, clock_hands: TickingDateTimeFactory, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    # The charger offers 0 A until a badge starts the car, although no EMS limit holds it.
    port = simulator.charger.port(1)
    port.plug_in(Car())
    await advance(hass, clock_hands, 2)
    assert glance(hass) == ("plugged_in", "on", "off")
    assert hass.states.get("sensor.eno_one_current_offered").state == "0.0"  # type: ignore[union-attr]

    port.authorise(port.badge)
    await advance(hass, clock_hands, 2)
    assert glance(hass) == ("charging", "on", "on")


async def test_without_the_limit_an_offer_under_six_amps_reads_as_paused(
    hass: HomeAssistant, clock_hands: TickingDateTimeFactory, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    simulator.faults.exception(maps=["ems_limit"])
    charger = simulator.charger
    charger.port(1).plug_in(Car(wants_to_charge=False))
    await advance(hass, clock_hands, 2)
    assert glance(hass) == ("plugged_in", "on", "off")
    charger.set_ems_limit(1, 0)
    await advance(hass, clock_hands, 2)
    assert glance(hass) == ("paused", "on", "off")
