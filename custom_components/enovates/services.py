"""The actions of the Enovates integration: set a port's current limit, for good or for a while."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final, cast

from homeassistant.const import ATTR_DEVICE_ID
from homeassistant.core import HomeAssistant, ServiceCall, callback
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import config_validation as cv

from .compat import async_get_device_and_config_entry, vol
from .const import DOMAIN
from .ems_limit.write import async_read_ems_limit, limit_ma_for
from .runtime_data import async_user_took_over

if TYPE_CHECKING:
    from homeassistant.helpers.device_registry import AnyDeviceEntry

    from .runtime_data import EnovatesConfigEntry

SERVICE_SET_CURRENT_LIMIT: Final = "set_current_limit"
ATTR_CURRENT: Final = "current"
ATTR_DURATION: Final = "duration"

SET_CURRENT_LIMIT_SCHEMA: Final = vol.Schema(
    {
        vol.Required(ATTR_DEVICE_ID): cv.string,
        vol.Required(ATTR_CURRENT): vol.Coerce(float),
        vol.Optional(ATTR_DURATION): cv.positive_time_period,
    }
)


def _ports_of(device: AnyDeviceEntry, entry: EnovatesConfigEntry) -> list[int]:
    """Return the ports a device stands for: a port of a dual-port charger, or every port of a charger.

    Home Assistant's device picker offers a dual-port charger along with its ports (it counts its ports' entities
    as its own), so the charger is accepted too, with a plain rule: each of its ports gets the limit.
    """
    for domain, identifier in device.identifiers:
        if domain == DOMAIN and identifier.startswith(f"{entry.unique_id}_port"):
            return [int(identifier.removeprefix(f"{entry.unique_id}_port"))]
    return list(entry.runtime_data.charger.ports)


async def _async_set_current_limit(call: ServiceCall) -> None:
    """Set the EMS limit of a port (or of each port of a charger), for good or for `duration`.

    After `duration` the limit in force before comes back, port by port.
    """
    device, any_entry = async_get_device_and_config_entry(call.hass, DOMAIN, call.data[ATTR_DEVICE_ID])
    entry = cast("EnovatesConfigEntry", any_entry)
    limits, ems_control = entry.runtime_data.limits, entry.runtime_data.ems_control
    if limits is None or ems_control is None:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="ems_control_disabled",
            translation_placeholders={"title": entry.title},
        )
    if not ems_control.data.allowed:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="ems_control_not_allowed",
            translation_placeholders={"title": entry.title},
        )
    for port in _ports_of(device, entry):
        in_force_ma, maximum = await async_read_ems_limit(entry.runtime_data.realtime, port)
        limit_ma = limit_ma_for(call.data[ATTR_CURRENT], maximum)
        async_user_took_over(entry, port)
        if (duration := call.data.get(ATTR_DURATION)) is None:
            await limits.async_set(port, limit_ma)
        else:
            await limits.async_set_for(port, limit_ma, duration, in_force_ma)


@callback
def async_setup_services(hass: HomeAssistant) -> None:
    """Register the actions, once for all the chargers."""
    hass.services.async_register(
        DOMAIN, SERVICE_SET_CURRENT_LIMIT, _async_set_current_limit, schema=SET_CURRENT_LIMIT_SCHEMA
    )
