"""The repair issues of an entry: raised and withdrawn by whoever notices, all withdrawn when the entry unloads."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir

from .const import DOMAIN

if TYPE_CHECKING:
    from homeassistant.config_entries import ConfigEntry

EMS_CONTROL_UNAVAILABLE: Final = "ems_control_unavailable"  # the charger left EMS mode Full Control
COMPETING_CLIENT: Final = "competing_client"  # the charger keeps closing our connection for another client
CHARGER_UNREACHABLE: Final = "charger_unreachable"  # no answer for a long time
ISSUES: Final = (EMS_CONTROL_UNAVAILABLE, COMPETING_CLIENT, CHARGER_UNREACHABLE)


def issue_id(entry: ConfigEntry, key: str) -> str:
    """Return the id of one of `entry`'s repair issues (its translation key, made the entry's own)."""
    return f"{key}_{entry.entry_id}"


@callback
def async_raise_issue(
    hass: HomeAssistant,
    entry: ConfigEntry,
    key: str,
    host: str,
    severity: ir.IssueSeverity = ir.IssueSeverity.WARNING,
    **placeholders: str,
) -> None:
    """Raise the issue `key` (a translation key) for `entry`'s charger at `host`; raising it again changes nothing."""
    ir.async_create_issue(
        hass,
        DOMAIN,
        issue_id(entry, key),
        is_fixable=False,
        severity=severity,
        translation_key=key,
        translation_placeholders={"title": entry.title, "host": host, **placeholders},
    )


@callback
def async_withdraw_issue(hass: HomeAssistant, entry: ConfigEntry, key: str) -> None:
    """Withdraw the issue `key` of `entry`, if it was raised."""
    ir.async_delete_issue(hass, DOMAIN, issue_id(entry, key))


@callback
def async_withdraw_all(hass: HomeAssistant, entry: ConfigEntry) -> None:
    """Withdraw every issue of `entry` (it unloads: what it noticed is no longer watched)."""
    for key in ISSUES:
        async_withdraw_issue(hass, entry, key)
