"""Config flow for Enovates: the user names the charger's address (the firmware announces nothing)."""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from enovates_modbus.eno_one import Diagnostics, State
from homeassistant.config_entries import ConfigEntry, ConfigFlow, ConfigFlowResult
from homeassistant.const import CONF_HOST, CONF_PORT
from homeassistant.core import callback
from homeassistant.helpers.selector import (
    BooleanSelector,
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    TextSelector,
)
import probatio

from .charger import PORT_2, ChargerConnectionError, ChargerProtocolError, ChargerRejectedError, EnovatesCharger
from .const import CONF_DUAL_PORT, CONF_EMS_CONTROL, DEFAULT_PORT, DOMAIN, LOGGER
from .options_flow import EnovatesOptionsFlow

# RFC 1123 host names: labels of letters, digits and inner hyphens.
_HOSTNAME = re.compile(r"^(?=.{1,253}$)(?!-)[A-Za-z0-9-]{1,63}(?<!-)(\.(?!-)[A-Za-z0-9-]{1,63}(?<!-))*\.?$")


class ProbeError(Exception):
    """The address does not lead to a usable charger; `reason` is the translated error key."""

    def __init__(self, reason: str) -> None:
        """Fail with the error key `reason`."""
        super().__init__(reason)
        self.reason = reason


def valid_host(host: str) -> bool:
    """Whether `host` is an IP address or a host name (no scheme, port or path)."""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return bool(_HOSTNAME.match(host)) and not host.replace(".", "").isdigit()
    return True


async def probe_charger(host: str, port: int, *, dual_port: bool, ems_control: bool) -> Diagnostics:
    """Check that host:port is a supported Enovates charger that can do what the user asked; return its identity."""
    charger = EnovatesCharger(host, port, dual_port=dual_port)
    try:
        try:
            supported = await charger.check_version()
        except ChargerRejectedError as err:
            # Modbus answers, and refuses even the API version, which every ENO one serves unless its EMS mode is
            # Off (a firmware may keep listening then and refuse everything).
            raise ProbeError("ems_mode_off") from err
        if not supported:
            raise ProbeError("unsupported_api_version")
        diagnostics = await charger.read_diagnostics()
        if not diagnostics.serial_nr.strip():
            raise ProbeError("not_enovates")
        if dual_port:
            try:
                await charger.read(State, PORT_2)
            except (ChargerRejectedError, ChargerConnectionError) as err:
                # Port 1 has just answered: a unit 2 that refuses, or stays silent, is no second port.
                raise ProbeError("no_second_port") from err
        if ems_control:
            for unit in charger.ports:
                try:
                    # Readable only in EMS mode Full Control: the one reliable probe, as writes are always acked.
                    await charger.read_transaction_token(unit)
                except ChargerRejectedError as err:
                    raise ProbeError("ems_control_unavailable") from err
    except ChargerProtocolError as err:
        # Another kind of server (a web server, say) listens there.
        LOGGER.debug("%s:%s does not speak Modbus TCP: %s", host, port, err)
        raise ProbeError("not_enovates") from err
    except ChargerConnectionError as err:
        LOGGER.debug("Cannot connect to %s:%s: %s", host, port, err)
        raise ProbeError("cannot_connect") from err
    except ChargerRejectedError as err:
        # Something speaks Modbus there, but not the ENO one's register map.
        LOGGER.debug("%s:%s refused the Enovates registers: %s", host, port, err)
        raise ProbeError("not_enovates") from err
    finally:
        charger.close()
    return diagnostics


def _schema(defaults: dict[str, Any]) -> probatio.Schema:
    return probatio.Schema(
        {
            probatio.Required(CONF_HOST, default=defaults.get(CONF_HOST, probatio.UNDEFINED)): TextSelector(),
            probatio.Required(CONF_PORT, default=defaults.get(CONF_PORT, DEFAULT_PORT)): probatio.All(
                NumberSelector(NumberSelectorConfig(min=1, max=65535, step=1, mode=NumberSelectorMode.BOX)),
                probatio.Coerce(int),
            ),
            probatio.Required(CONF_DUAL_PORT, default=defaults.get(CONF_DUAL_PORT, False)): BooleanSelector(),
            probatio.Required(CONF_EMS_CONTROL, default=defaults.get(CONF_EMS_CONTROL, False)): BooleanSelector(),
        }
    )


class EnovatesConfigFlow(ConfigFlow, domain=DOMAIN):
    """Add an Enovates charger, or change how it is reached."""

    VERSION = 1
    MINOR_VERSION = 1

    @staticmethod
    @callback
    def async_get_options_flow(config_entry: ConfigEntry) -> EnovatesOptionsFlow:
        """Smart charging's options."""
        return EnovatesOptionsFlow()

    async def _async_probe(
        self, user_input: dict[str, Any]
    ) -> tuple[dict[str, Any], Diagnostics | None, dict[str, str]]:
        """Validate the form; return the cleaned data, the charger's identity (or None) and the form errors."""
        data = {**user_input, CONF_HOST: user_input[CONF_HOST].strip()}
        if not valid_host(data[CONF_HOST]):
            return data, None, {CONF_HOST: "invalid_host"}
        try:
            diagnostics = await probe_charger(
                data[CONF_HOST],
                data[CONF_PORT],
                dual_port=data[CONF_DUAL_PORT],
                ems_control=data[CONF_EMS_CONTROL],
            )
        except ProbeError as err:
            return data, None, {"base": err.reason}
        except Exception:  # noqa: BLE001 - whatever else goes wrong is logged and shown as "unknown error"
            LOGGER.exception("Unexpected error while checking %s:%s", data[CONF_HOST], data[CONF_PORT])
            return data, None, {"base": "unknown"}
        return data, diagnostics, {}

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Ask for the charger's address and what the integration may do."""
        errors: dict[str, str] = {}
        if user_input is not None:
            data, diagnostics, errors = await self._async_probe(user_input)
            if diagnostics is not None:
                await self.async_set_unique_id(diagnostics.serial_nr)
                # The same charger at a new address: take the new address, keep everything else.
                self._abort_if_unique_id_configured(updates={CONF_HOST: data[CONF_HOST], CONF_PORT: data[CONF_PORT]})
                return self.async_create_entry(title=diagnostics.model_id or "Enovates charger", data=data)
            user_input = data
        return self.async_show_form(step_id="user", data_schema=_schema(user_input or {}), errors=errors)

    async def async_step_reconfigure(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Change the address, the dual-port setting or EMS control of a configured charger."""
        entry = self._get_reconfigure_entry()
        errors: dict[str, str] = {}
        if user_input is not None:
            data, diagnostics, errors = await self._async_probe(user_input)
            if diagnostics is not None:
                await self.async_set_unique_id(diagnostics.serial_nr)
                self._abort_if_unique_id_mismatch(reason="wrong_charger")
                return self.async_update_reload_and_abort(entry, data_updates=data)
            user_input = data
        return self.async_show_form(
            step_id="reconfigure",
            data_schema=_schema(user_input or dict(entry.data)),
            errors=errors,
            description_placeholders={"title": entry.title},
        )
