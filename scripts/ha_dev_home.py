"""Give the development instance a whole home with no clicks: the simulator's meter and charger, set up in advance.

Home Assistant's DSMR integration and this one are set up through config flows only (no YAML), so scripts/develop
runs this before Home Assistant starts, to write into config/.storage what those flows and a user would have made:

- a DSMR entry reading the simulator's P1 port over the network (socket://127.0.0.1:P1_PORT, DSMR 5B), its sensors
  updated at every telegram (the integration's default waits 30 s between updates, too slow to follow the sun);
- an Enovates entry for the simulated charger with EMS control, its smart-charging options taking the grid power
  from the meter's sensors (import and export apart, as DSMR reports them) and the prices from the day-ahead price
  sensor of config/configuration.yaml (a template shaped as ENTSO-E's, no network);
- the charger's Charging mode on Solar + plan (the sun first, the cheapest hours for the rest, ready by 07:00: the
  Plan sensor shows the plan) and a Peak limit, as restored states (both are kept across restarts).

Entries made before (by hand or by an earlier run) are kept as they are: the DSMR entry of the simulated meter only
follows the P1 port, and an Enovates entry of the simulated charger without a grid sensor gets the meter's (without
a price sensor, the template's).
Everything goes through Home Assistant's own classes, so the stores are complete for the installed release.

With --chargers N, the simulator's other chargers too (single-port, on the ports after the first's): one site on the
meter's sensors, all in Solar + plan.

Run with the development environment's Python: ha_dev_home.py CONFIG_DIR CHARGER_PORT P1_PORT [--dual-port]
[--chargers N]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from types import MappingProxyType
from typing import Any

from homeassistant import config_entries
from homeassistant.components.dsmr.config_flow import DSMRFlowHandler
from homeassistant.components.dsmr.const import (
    CONF_DSMR_VERSION,
    CONF_SERIAL_ID,
    CONF_SERIAL_ID_GAS,
    CONF_TIME_BETWEEN_UPDATE,
    DOMAIN as DSMR,
    DSMR_PROTOCOL,
)
from homeassistant.components.number import NumberExtraStoredData
from homeassistant.const import CONF_HOST, CONF_PORT, CONF_PROTOCOL
from homeassistant.core import State
from homeassistant.helpers import restore_state
from homeassistant.helpers.json import json_bytes
from homeassistant.util import dt as dt_util, slugify

from custom_components.enovates.config_flow import EnovatesConfigFlow
from custom_components.enovates.const import CONF_DUAL_PORT, CONF_EMS_CONTROL, DOMAIN
from custom_components.enovates.naming import charger_title
from custom_components.enovates.number import PEAK_LIMIT
from custom_components.enovates.smart.const import (
    CONF_GRID_EXPORT_SENSOR,
    CONF_GRID_SENSOR,
    CONF_HYSTERESIS,
    CONF_PRICE_SENSOR,
    CONF_SMART_CHARGING,
    CONF_START_DELAY,
    CONF_STOP_DELAY,
    DEFAULT_SETTINGS,
)
from custom_components.enovates.smart.controller import ChargingMode
from enovates_simulator import Identity, MeterIdentity, P1Version, nth_serial

HOST = "127.0.0.1"
# The entity ids of the DSMR integration's power sensors: its device "Electricity Meter", their translated names.
IMPORT_SENSOR = "sensor.electricity_meter_power_consumption"
EXPORT_SENSOR = "sensor.electricity_meter_power_production"
# The template sensor of config/configuration.yaml: a winter weekday's day-ahead prices, as ENTSO-E gives them.
PRICE_SENSOR = "sensor.day_ahead_price"
# The peak the cars give way under, in kW: with the house's appliances and a car at 11 kW, the guard has work to do.
PEAK_LIMIT_KW = 5.0


def _load(store: Path, key: str, version: int, minor_version: int, empty: Any) -> dict[str, Any]:
    if store.exists():
        loaded: dict[str, Any] = json.loads(store.read_text(encoding="utf-8"))
        return loaded
    return {"version": version, "minor_version": minor_version, "key": key, "data": empty}


def _save(store: Path, content: dict[str, Any]) -> None:
    store.parent.mkdir(parents=True, exist_ok=True)
    store.write_text(json.dumps(content, indent=2, default=str) + "\n", encoding="utf-8")


def _entry(
    domain: str, title: str, unique_id: str, data: dict[str, Any], options: dict[str, Any], **versions: int
) -> Any:
    entry = config_entries.ConfigEntry(
        data=data,
        discovery_keys=MappingProxyType({}),
        domain=domain,
        minor_version=versions.get("minor_version", 1),
        options=options,
        source=config_entries.SOURCE_USER,
        subentries_data=None,
        title=title,
        unique_id=unique_id,
        version=versions.get("version", 1),
    )
    return entry.as_dict()


def smart_options() -> dict[str, Any]:
    """Return the options flow's answers: smart charging on, the meter's sensors, the default delays (whole, as the
    flow keeps them)."""
    return {
        CONF_SMART_CHARGING: True,
        CONF_GRID_SENSOR: IMPORT_SENSOR,
        CONF_GRID_EXPORT_SENSOR: EXPORT_SENSOR,
        CONF_START_DELAY: int(DEFAULT_SETTINGS.start_delay_s),
        CONF_STOP_DELAY: int(DEFAULT_SETTINGS.stop_delay_s),
        CONF_HYSTERESIS: int(DEFAULT_SETTINGS.hysteresis_w),
        CONF_PRICE_SENSOR: PRICE_SENSOR,
    }


def restored_states(title: str, *, dual_port: bool) -> list[dict[str, Any]]:
    """Return the states the charger's Charging mode (Solar + plan) and Peak limit resume from, at their first start."""
    device = slugify(title)
    now = dt_util.utcnow()
    modes = (
        [f"select.{device}_port_{port}_charging_mode" for port in (1, 2)]
        if dual_port
        else [f"select.{device}_charging_mode"]
    )
    stored = [restore_state.StoredState(State(mode, ChargingMode.SOLAR_PLAN.value), None, now) for mode in modes]
    peak = NumberExtraStoredData(
        PEAK_LIMIT.native_max_value,
        PEAK_LIMIT.native_min_value,
        PEAK_LIMIT.native_step,
        PEAK_LIMIT.native_unit_of_measurement,
        PEAK_LIMIT_KW,
    )
    stored.append(restore_state.StoredState(State(f"number.{device}_peak_limit", str(PEAK_LIMIT_KW)), peak, now))
    # Serialized as Home Assistant serializes them (states are JSON fragments already).
    return [json.loads(json_bytes(state.as_dict())) for state in stored]


def _add_charger(
    entries: list[dict[str, Any]], storage: Path, done: list[str], serial: str, port: int, *, dual_port: bool
) -> None:
    """Add the simulated charger `serial` on `port` in Solar + plan, unless it is there (then give it what it lacks)."""
    enovates = next((e for e in entries if e["domain"] == DOMAIN and e["unique_id"] == serial), None)
    if enovates is None:
        taken = {entry["title"] for entry in entries if entry["domain"] == DOMAIN}
        title = charger_title(Identity().model_id, serial, taken)
        data = {CONF_HOST: HOST, CONF_PORT: port, CONF_DUAL_PORT: dual_port, CONF_EMS_CONTROL: True}
        versions = {"version": EnovatesConfigFlow.VERSION, "minor_version": EnovatesConfigFlow.MINOR_VERSION}
        entries.append(_entry(DOMAIN, title, serial, data, smart_options(), **versions))
        states_store = storage / restore_state.STORAGE_KEY
        states = _load(states_store, restore_state.STORAGE_KEY, restore_state.STORAGE_VERSION, 1, [])
        seeded = restored_states(title, dual_port=dual_port)
        ids = {state["state"]["entity_id"] for state in seeded}
        states["data"] = [s for s in states["data"] if s["state"]["entity_id"] not in ids] + seeded
        _save(states_store, states)
        done.append(
            f"{title} on {HOST}:{port}: Solar + plan, peak limit {PEAK_LIMIT_KW:g} kW, grid from the meter,"
            " day-ahead prices"
        )
    elif CONF_GRID_SENSOR not in enovates["options"]:
        enovates["options"] = {**enovates["options"], **smart_options()}
        enovates["modified_at"] = dt_util.utcnow().isoformat()
        done.append(f"{enovates['title']}: grid power from the meter, day-ahead prices")
    elif CONF_PRICE_SENSOR not in enovates["options"]:
        enovates["options"] = {**enovates["options"], CONF_PRICE_SENSOR: PRICE_SENSOR}
        enovates["modified_at"] = dt_util.utcnow().isoformat()
        done.append(f"{enovates['title']}: day-ahead prices")


def main() -> None:
    """Add what is missing to CONFIG_DIR/.storage and say what was added."""
    parser = argparse.ArgumentParser()
    parser.add_argument("config", type=Path)
    parser.add_argument("charger_port", type=int)
    parser.add_argument("p1_port", type=int)
    parser.add_argument("--dual-port", action="store_true")
    parser.add_argument("--chargers", type=int, default=1)
    args = parser.parse_args()
    storage = args.config / ".storage"
    entries_store = storage / config_entries.STORAGE_KEY
    content = _load(
        entries_store,
        config_entries.STORAGE_KEY,
        config_entries.STORAGE_VERSION,
        config_entries.STORAGE_VERSION_MINOR,
        {"entries": []},
    )
    entries: list[dict[str, Any]] = content["data"]["entries"]
    done: list[str] = []

    meter = MeterIdentity()
    meter_serial = meter.equipment_id.encode("ascii").hex().upper()  # what the telegrams carry, and the flow keeps
    p1_url = f"socket://{HOST}:{args.p1_port}"
    dsmr = next((e for e in entries if e["domain"] == DSMR and e["unique_id"] == meter_serial), None)
    if dsmr is None:
        data = {
            CONF_PORT: p1_url,
            CONF_DSMR_VERSION: P1Version.DSMR_5B.value,
            CONF_SERIAL_ID: meter_serial,
            CONF_SERIAL_ID_GAS: None,  # Belgian meters name the gas meter on its M-Bus channel, not here
            CONF_PROTOCOL: DSMR_PROTOCOL,
        }
        versions = {"version": DSMRFlowHandler.VERSION, "minor_version": DSMRFlowHandler.MINOR_VERSION}
        entries.append(_entry(DSMR, p1_url, meter_serial, data, {CONF_TIME_BETWEEN_UPDATE: 0}, **versions))
        done.append(f"DSMR 5B meter on {p1_url}")
    elif dsmr["data"].get(CONF_PORT) != p1_url:
        dsmr["data"] = {key: value for key, value in dsmr["data"].items() if key != CONF_HOST} | {CONF_PORT: p1_url}
        dsmr["title"] = p1_url
        done.append(f"DSMR meter moved to {p1_url}")

    first = Identity().serial_number
    for number in range(1, args.chargers + 1):
        # The simulator's --chargers: the others single-port, their serials counted up, on the ports after the first.
        serial = nth_serial(first, number)
        port = args.charger_port + number - 1
        _add_charger(entries, storage, done, serial, port, dual_port=args.dual_port and number == 1)

    if done:
        _save(entries_store, content)
        print(f"{entries_store}: {'; '.join(done)}")


if __name__ == "__main__":
    main()
