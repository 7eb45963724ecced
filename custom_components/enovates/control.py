"""Setting the EMS current limit of a port: the one write path of the integration (number, switch)."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from homeassistant.exceptions import HomeAssistantError

from .charger import ChargerConnectionError, ChargerRejectedError
from .const import DOMAIN, MIN_CHARGING_CURRENT_A, NO_EMS_LIMIT

if TYPE_CHECKING:
    from .coordinator import EnovatesRealtimeCoordinator


def pauses(limit_ma: int | None) -> bool:
    """Whether an EMS limit keeps the car from charging (0 up to just under the 6 A a car needs)."""
    return limit_ma is not None and limit_ma != NO_EMS_LIMIT and 0 <= limit_ma < MIN_CHARGING_CURRENT_A * 1000


async def async_set_ems_limit(coordinator: EnovatesRealtimeCoordinator, port: int, limit_ma: int) -> None:
    """Write the EMS limit of `port` (mA, -1: none), check the charger took it, and show it at once.

    Raises a translated HomeAssistantError when the charger does not answer, refuses it, or acknowledges it
    without applying it (EMS mode Monitoring Only).
    """
    charger = coordinator.charger
    try:
        await charger.set_ems_limit(port, limit_ma)
        applied = await charger.read_ems_limit(port)
    except ChargerConnectionError as err:
        await coordinator.async_request_refresh()
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
    # Show what the charger holds now, without waiting for the next poll (which brings the current offered).
    data = dict(coordinator.data)
    data[port] = replace(data[port], ems_limit_ma=applied)
    coordinator.async_set_updated_data(data)
    if applied != limit_ma:
        # A charger in EMS mode "Monitoring Only" acknowledges the write and ignores it.
        raise HomeAssistantError(translation_domain=DOMAIN, translation_key="ems_limit_not_applied")
