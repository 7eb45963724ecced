"""Fixtures shared by every test: a simulated charger on a free loopback port, and the integration set up on it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Generator
from dataclasses import replace
from pathlib import Path
import re
from typing import Any
from unittest.mock import PropertyMock, patch

from enovates_modbus import EnoOneClient
from freezegun import freeze_time
from freezegun.api import TickingDateTimeFactory
from homeassistant.const import CONF_HOST, CONF_PORT, __version__ as ha_version
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.syrupy import HomeAssistantSnapshotExtension
from syrupy.assertion import SnapshotAssertion
from syrupy.location import PyTestLocation

from custom_components.enovates.const import CONF_DUAL_PORT, CONF_EMS_CONTROL, DOMAIN
from enovates_simulator import Car, CarScenario, Charger, EmsMode, Identity, ManualClock, Profile, Simulator

from .helpers import SERIAL, eno_client, setup_entry

# The release requirements/test.txt pins keeps its snapshots in snapshots/; another release (the oldest supported,
# whose registry entries have other fields) in snapshots-<major>.<minor>/, every one of them asserted in full.
NEWEST_HA_VERSION = re.findall(
    r"^homeassistant==(\S+)$", (Path(__file__).parents[1] / "requirements" / "test.txt").read_text(), re.MULTILINE
)[0]


def _release_snapshot_dirname(cls: type[HomeAssistantSnapshotExtension], *, test_location: PyTestLocation) -> str:
    release = ".".join(ha_version.split(".")[:2])
    return str(Path(test_location.filepath).parent / f"snapshots-{release}")


if ha_version != NEWEST_HA_VERSION:
    # On the extension itself: the harness's own `snapshot` fixture uses it too, and syrupy would take the newest
    # release's snapshots for unused ones of this run.
    HomeAssistantSnapshotExtension.dirname = classmethod(_release_snapshot_dirname)  # type: ignore[method-assign,assignment]


@pytest.fixture
def snapshot(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    """Snapshots in Home Assistant's format: states and registry entries without ids and timestamps."""
    return snapshot.use_extension(HomeAssistantSnapshotExtension)


@pytest.fixture
def entity_registry_enabled_by_default() -> Generator[None]:
    """Create every entity enabled, also those a user would have to enable."""
    with patch(
        "homeassistant.helpers.entity.Entity.entity_registry_enabled_default",
        new_callable=PropertyMock,
        return_value=True,
    ):
        yield


@pytest.fixture
def clock() -> ManualClock:
    """A clock the test moves by hand."""
    return ManualClock()


@pytest.fixture
def dual_port() -> bool:
    """Whether the charger has two ports (override with parametrize)."""
    return False


@pytest.fixture
def ems_mode() -> EmsMode:
    """The EMS mode the installer set on the charger (override with parametrize)."""
    return EmsMode.FULL


@pytest.fixture
def ems_control() -> bool:
    """Whether the user enabled EMS control in the config entry (override with parametrize)."""
    return True


@pytest.fixture
def profile() -> Profile:
    """How the charger behaves where the evidence leaves it open (override with parametrize)."""
    return Profile()


@pytest.fixture
def car() -> Car | None:
    """The car plugged in on port 1 before the test starts; None: no car (override in a module, or parametrize).

    A template: the charger plugs in a copy, so that the energy one test's car takes never shows in another's.
    """
    return None


@pytest.fixture
def car_on_every_port() -> bool:
    """Whether a copy of `car` is plugged in on port 2 of a dual-port charger too (override with parametrize)."""
    return False


@pytest.fixture
def ems_limit_ma() -> int:
    """The EMS limit (mA) another controller set on the ports with a car before the test starts; -1: none."""
    return -1


@pytest.fixture
def scenarios() -> dict[int, CarScenario]:
    """What the car at each port does by itself (override in a module): nothing, the test moves the cars."""
    return {}


@pytest.fixture
def charger(
    clock: ManualClock,
    dual_port: bool,
    ems_mode: EmsMode,
    profile: Profile,
    car: Car | None,
    car_on_every_port: bool,
    ems_limit_ma: int,
    scenarios: dict[int, CarScenario],
) -> Charger:
    """An ENO one on the manual clock, with `car` plugged in (and limited to `ems_limit_ma`)."""
    charger = Charger(
        clock=clock,
        dual_port=dual_port,
        ems_mode=ems_mode,
        identity=Identity(serial_number=SERIAL),
        profile=profile,
        scenarios=scenarios,
    )
    if car is not None:
        for number in charger.ports if car_on_every_port else (1,):
            charger.port(number).plug_in(replace(car))
            if ems_limit_ma != -1:
                charger.set_ems_limit(number, ems_limit_ma)
    return charger


@pytest.fixture
async def simulator(socket_enabled: None, charger: Charger) -> AsyncIterator[Simulator]:
    """The charger served over Modbus TCP on 127.0.0.1 (sockets enabled for loopback only)."""
    async with Simulator(charger, host="127.0.0.1") as sim:
        yield sim


@pytest.fixture
async def client(simulator: Simulator) -> AsyncIterator[EnoOneClient]:
    """The vendor library's client for port 1."""
    async with eno_client(simulator) as eno:
        yield eno


@pytest.fixture
def options() -> dict[str, Any]:
    """The config entry's options (smart charging's): none (override in a module, or parametrize)."""
    return {}


@pytest.fixture
def mock_config_entry(
    simulator: Simulator, dual_port: bool, ems_control: bool, options: dict[str, Any]
) -> MockConfigEntry:
    """A config entry for the simulated charger."""
    return MockConfigEntry(
        domain=DOMAIN,
        title="ENO one",
        unique_id=SERIAL,
        minor_version=2,  # an entry of today, titled "ENO one" (tests read entity ids such as sensor.eno_one_power)
        data={
            CONF_HOST: "127.0.0.1",
            CONF_PORT: simulator.port,
            CONF_DUAL_PORT: dual_port,
            CONF_EMS_CONTROL: ems_control,
        },
        options=options,
    )


@pytest.fixture
async def init_integration(hass: HomeAssistant, mock_config_entry: MockConfigEntry) -> MockConfigEntry:
    """The integration set up on the simulated charger."""
    mock_config_entry.add_to_hass(hass)
    await setup_entry(hass, mock_config_entry)
    return mock_config_entry


@pytest.fixture
def clock_hands() -> Generator[TickingDateTimeFactory]:
    """Time that runs, and that a test can move forward at will.

    Frozen time (the usual `freezer`) would stop the event loop's clock, and pymodbus pauses 0.1 s after each
    connect: with a clock that still runs, connects complete and `advance` can jump ahead. Coordinators poll on
    whole seconds here (no random offset), so each jump of a second runs exactly the polls that fell due.
    """
    with freeze_time(tick=True) as hands, patch("homeassistant.helpers.update_coordinator.randint", return_value=0):
        yield hands
