"""Setting the EMS current limit of a port: the one write path of the integration (number, switch, action)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from enovates_modbus.eno_one import State
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError

from ..const import DOMAIN, MIN_CHARGING_CURRENT_A, NO_EMS_LIMIT
from ..modbus.charger import ChargerConnectionError, ChargerRejectedError
from ..modbus.link import Priority

if TYPE_CHECKING:
    from ..coordinator import EnovatesRealtimeCoordinator


def pauses(limit_ma: int | None) -> bool:
    """Whether an EMS limit keeps the car from charging (0 up to just under the 6 A a car needs)."""
    return limit_ma is not None and limit_ma != NO_EMS_LIMIT and 0 <= limit_ma < MIN_CHARGING_CURRENT_A * 1000


def limit_ma_for(value: float, maximum: float) -> int:
    """Return the register value (mA) for a limit in A: the maximum removes the limit, 0 pauses charging.

    Raises a translated ServiceValidationError for a value out of 0..maximum, a fraction, or 1-5 A (which would
    pause as ambiguously as 0).
    """
    if 0 <= value <= maximum and value != int(value):
        # In range but not whole: say so, rather than "out of range" for a value that is in it.
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="ems_limit_not_whole",
            translation_placeholders={"value": f"{value:g}", "rounded": f"{round(value):d}"},
        )
    if not 0 <= value <= maximum:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="ems_limit_out_of_range",
            translation_placeholders={"value": f"{value:g}", "maximum": f"{maximum:g}"},
        )
    if 0 < value < MIN_CHARGING_CURRENT_A:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="ems_limit_below_minimum",
            translation_placeholders={"value": f"{value:g}", "minimum": str(MIN_CHARGING_CURRENT_A)},
        )
    return NO_EMS_LIMIT if value == maximum else int(value) * 1000


@asynccontextmanager
async def _translated_errors(coordinator: EnovatesRealtimeCoordinator) -> AsyncIterator[None]:
    """Turn the charger's errors during a user's request into translated HomeAssistantErrors."""
    charger = coordinator.charger
    try:
        yield
    except ChargerConnectionError as err:
        # Let the heartbeat look now, so that an outage shows soon; the user hears of the failure without waiting
        # for that poll (a slow link takes seconds).
        coordinator.config_entry.async_create_background_task(
            coordinator.hass, coordinator.async_request_refresh(), f"{DOMAIN} refresh after a failed request"
        )
        raise HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="communication_error",
            translation_placeholders={"host": charger.host, "error": str(err)},
        ) from err
    except ChargerRejectedError as err:
        raise HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="ems_limit_rejected",
            translation_placeholders={"error": str(err)},
        ) from err


async def async_read_ems_limit(coordinator: EnovatesRealtimeCoordinator, port: int) -> tuple[int, int]:
    """Read the EMS limit of `port` (mA, -1: none) and the charger's maximum current per phase (A), fresh."""
    charger = coordinator.charger
    async with _translated_errors(coordinator):
        limit_ma = await charger.read_ems_limit(port, priority=Priority.CONTROL)
        state = await charger.read(State, port, priority=Priority.CONTROL)
    return limit_ma, state.max_amp_per_phase


async def async_set_ems_limit(coordinator: EnovatesRealtimeCoordinator, port: int, limit_ma: int) -> None:
    """Write the EMS limit of `port` (mA, -1: none), check the charger took it, and show it at once.

    Raises a translated HomeAssistantError when the charger does not answer, refuses it, or acknowledges it
    without applying it (EMS mode Monitoring Only).
    """
    charger = coordinator.charger
    async with _translated_errors(coordinator):
        await charger.set_ems_limit(port, limit_ma)
        applied = await charger.read_ems_limit(port, priority=Priority.CONTROL)
    # Show what the charger holds now, without waiting for the next poll (which brings the current offered).
    coordinator.async_set_ems_limit_read(port, applied)
    if applied != limit_ma:
        # A charger in EMS mode "Monitoring Only" acknowledges the write and ignores it.
        raise HomeAssistantError(translation_domain=DOMAIN, translation_key="ems_limit_not_applied")
