"""Config flow for Enovates: the user names the charger's address (the firmware announces nothing)."""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from typing import Any, Final

from enovates_modbus.eno_one import Diagnostics, State
from homeassistant.config_entries import ConfigEntry, ConfigEntryState, ConfigFlow, ConfigFlowResult
from homeassistant.const import CONF_HOST, CONF_PORT
from homeassistant.core import callback
from homeassistant.helpers.selector import (
    BooleanSelector,
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    TextSelector,
)

from .compat import vol
from .const import CONF_DUAL_PORT, CONF_EMS_CONTROL, DEFAULT_PORT, DOMAIN, LOGGER
from .modbus.charger import (
    PORT_1,
    PORT_2,
    ChargerConnectionError,
    ChargerProtocolError,
    ChargerRejectedError,
    EnovatesCharger,
)
from .modbus.link import Priority
from .naming import charger_title
from .options_flow import EnovatesOptionsFlow

# RFC 1123 host names: labels of letters, digits and inner hyphens.
_HOSTNAME = re.compile(r"^(?=.{1,253}$)(?!-)[A-Za-z0-9-]{1,63}(?<!-)(\.(?!-)[A-Za-z0-9-]{1,63}(?<!-))*\.?$")


class ProbeError(Exception):
    """The address does not lead to a usable charger; `reason` is the translated error key, shown at `field`."""

    def __init__(self, reason: str, field: str = "base") -> None:
        """Fail with the error key `reason`, shown at the form's `field` (base: the whole form)."""
        super().__init__(reason)
        self.reason = reason
        self.field = field
        # Who the charger is, when that was established before the failure: a flow judges identity first.
        self.identity: Diagnostics | None = None


class OtherChargerError(ProbeError):
    """The address leads to another charger than the one being reconfigured: the flow ends, it does not ask again."""

    def __init__(self) -> None:
        """Fail as wrong_charger (an abort reason, not a form error)."""
        super().__init__("wrong_charger")


def valid_host(host: str) -> bool:
    """Whether `host` is an IP address or a host name (no scheme, port or path)."""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return bool(_HOSTNAME.match(host)) and not host.replace(".", "").isdigit()
    return True


async def resolve_host(host: str, port: int) -> None:
    """Look a host name up before connecting: a name that leads nowhere has its own message, not "no answer"."""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        return
    try:
        await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as err:  # socket.gaierror, mostly
        LOGGER.debug("Cannot resolve the host name %s: %s", host, err)
        raise ProbeError("cannot_resolve_host", CONF_HOST) from err


# A user waits for every answer of the probe: it goes before the polls on a connection it shares with a loaded entry.
_ASKING: Final = Priority.CONTROL


async def _identify(charger: EnovatesCharger, expected_serial: str | None) -> Diagnostics:
    """Judge what the device is (another make, another charger than `expected_serial`), then what it speaks.

    Identity comes before the API version: any Modbus server answers the version registers, with zeros if nothing
    else, and "update the firmware" would send the owner of another make of device on a wild goose chase.
    """
    try:
        identity: Diagnostics | None = await charger.read_diagnostics(priority=_ASKING)
    except ChargerRejectedError as err:
        LOGGER.debug("%s:%s refused the identity registers: %s", charger.host, charger.port, err)
        identity = None  # another make of device, or a firmware too old to have them: the version tells
    if identity is not None and not identity.serial_nr.strip():
        raise ProbeError("not_enovates")
    try:
        supported = await charger.check_version(priority=_ASKING)
    except ChargerRejectedError as err:
        # Modbus answers, and refuses even the API version, which every ENO one serves unless its EMS mode is Off
        # (a firmware may keep listening then and refuse everything).
        raise ProbeError("ems_mode_off") from err
    if not supported:
        raise ProbeError("unsupported_api_version")
    if identity is None:
        raise ProbeError("not_enovates")
    if expected_serial is not None and identity.serial_nr != expected_serial:
        raise OtherChargerError
    return identity


async def _check_abilities(charger: EnovatesCharger, *, dual_port: bool, ems_control: bool) -> None:
    """Check the charger can do what the user asked: a second port, EMS control."""
    if dual_port:
        try:
            await charger.read(State, PORT_2, priority=_ASKING)
        except (ChargerRejectedError, ChargerConnectionError) as err:
            # Port 1 has just answered: a unit 2 that refuses, or stays silent, is no second port.
            raise ProbeError("no_second_port") from err
    if ems_control:
        for unit in (PORT_1, PORT_2) if dual_port else (PORT_1,):
            try:
                # Readable only in EMS mode Full Control: the one reliable probe, as writes are always acked.
                await charger.read_transaction_token(unit, priority=_ASKING)
            except ChargerRejectedError as err:
                raise ProbeError("ems_control_unavailable") from err


async def probe_charger(
    host: str,
    port: int,
    *,
    dual_port: bool,
    ems_control: bool,
    expected_serial: str | None = None,
    connection: EnovatesCharger | None = None,
) -> Diagnostics:
    """Check that host:port is a supported Enovates charger that can do what the user asked; return its identity.

    The name is looked up first, then what the device is, then what it can do: each answer is the one that helps.
    `connection`: a loaded entry's connection to host:port, to ask through (and leave open) rather than opening
    another, which a charger that takes one Modbus client would refuse.
    """
    await resolve_host(host, port)
    charger = connection or EnovatesCharger(host, port, dual_port=dual_port)
    try:
        diagnostics = await _identify(charger, expected_serial)
        try:
            await _check_abilities(charger, dual_port=dual_port, ems_control=ems_control)
        except ProbeError as err:
            err.identity = diagnostics
            raise
    except ChargerProtocolError as err:
        # Another kind of server (a web server, say) listens there.
        LOGGER.debug("%s:%s does not speak Modbus TCP: %s", host, port, err)
        raise ProbeError("not_enovates") from err
    except ChargerConnectionError as err:
        LOGGER.debug("Cannot connect to %s:%s: %s", host, port, err)
        raise ProbeError("cannot_connect") from err
    finally:
        if charger is not connection:
            charger.close()
    return diagnostics


def _schema(defaults: dict[str, Any]) -> vol.Schema:
    return vol.Schema(
        {
            vol.Required(CONF_HOST, default=defaults.get(CONF_HOST, vol.UNDEFINED)): TextSelector(),
            vol.Required(CONF_PORT, default=defaults.get(CONF_PORT, DEFAULT_PORT)): vol.All(
                NumberSelector(NumberSelectorConfig(min=1, max=65535, step=1, mode=NumberSelectorMode.BOX)),
                vol.Coerce(int),
            ),
            vol.Required(CONF_DUAL_PORT, default=defaults.get(CONF_DUAL_PORT, False)): BooleanSelector(),
            vol.Required(CONF_EMS_CONTROL, default=defaults.get(CONF_EMS_CONTROL, False)): BooleanSelector(),
        }
    )


class EnovatesConfigFlow(ConfigFlow, domain=DOMAIN):
    """Add an Enovates charger, or change how it is reached."""

    VERSION = 1
    # 1.2: titles name the charger by its serial's tail (async_migrate_entry gives older default titles one).
    MINOR_VERSION = 2

    @staticmethod
    @callback
    def async_get_options_flow(config_entry: ConfigEntry) -> EnovatesOptionsFlow:
        """Smart charging's options."""
        return EnovatesOptionsFlow()

    @callback
    def _loaded_connection(self, host: str, port: int) -> EnovatesCharger | None:
        """Return the connection of a loaded entry to host:port, if one has it: the charger is asked through it."""
        for entry in self._async_current_entries(include_ignore=False):
            if entry.state is ConfigEntryState.LOADED and (entry.data[CONF_HOST], entry.data[CONF_PORT]) == (
                host,
                port,
            ):
                charger: EnovatesCharger = entry.runtime_data.charger
                return charger
        return None

    async def _async_probe(
        self, user_input: dict[str, Any], expected_serial: str | None = None
    ) -> tuple[dict[str, Any], Diagnostics | None, dict[str, str]]:
        """Validate the form; return the cleaned data, the charger's identity (if known) and the form errors.

        The identity comes with errors too when the charger could not do what was asked (a second port, EMS
        control): that it is a charger already configured is the answer that comes first.
        """
        data = {**user_input, CONF_HOST: user_input[CONF_HOST].strip()}
        if not valid_host(data[CONF_HOST]):
            return data, None, {CONF_HOST: "invalid_host"}
        try:
            diagnostics = await probe_charger(
                data[CONF_HOST],
                data[CONF_PORT],
                dual_port=data[CONF_DUAL_PORT],
                ems_control=data[CONF_EMS_CONTROL],
                expected_serial=expected_serial,
                connection=self._loaded_connection(data[CONF_HOST], data[CONF_PORT]),
            )
        except ProbeError as err:
            return data, err.identity, {err.field: err.reason}
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
            if diagnostics is not None and not errors:
                taken = {entry.title for entry in self._async_current_entries(include_ignore=False)}
                title = charger_title(diagnostics.model_id, diagnostics.serial_nr, taken)
                return self.async_create_entry(title=title, data=data)
            user_input = data
        return self.async_show_form(step_id="user", data_schema=_schema(user_input or {}), errors=errors)

    async def async_step_reconfigure(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Change the address, the dual-port setting or EMS control of a configured charger."""
        entry = self._get_reconfigure_entry()
        errors: dict[str, str] = {}
        if user_input is not None:
            data, diagnostics, errors = await self._async_probe(user_input, expected_serial=entry.unique_id)
            if errors.get("base") == "wrong_charger":
                return self.async_abort(reason="wrong_charger")
            if diagnostics is not None and not errors:
                await self.async_set_unique_id(diagnostics.serial_nr)
                self._abort_if_unique_id_mismatch(reason="wrong_charger")
                # The integration's own words: without a reason, Home Assistant shows its generic text instead.
                return self.async_update_reload_and_abort(entry, data_updates=data, reason="reconfigure_successful")
            user_input = data
        return self.async_show_form(
            step_id="reconfigure",
            data_schema=_schema(user_input or dict(entry.data)),
            errors=errors,
            description_placeholders={"title": entry.title},
        )
