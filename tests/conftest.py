"""Fixtures shared by every test: a simulated charger on a free loopback port, and the integration set up on it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Generator
import contextlib
from datetime import timedelta
from pathlib import Path
import re
from unittest.mock import PropertyMock, patch

from enovates_modbus import EnoOneClient
from freezegun import freeze_time
from freezegun.api import TickingDateTimeFactory
from homeassistant.const import CONF_HOST, CONF_PORT, Platform, __version__ as ha_version
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed
from pytest_homeassistant_custom_component.syrupy import HomeAssistantSnapshotExtension
from syrupy.assertion import SnapshotAssertion
from syrupy.location import PyTestLocation

from custom_components.enovates.const import CONF_DUAL_PORT, CONF_EMS_CONTROL, DOMAIN
from enovates_simulator import Charger, EmsMode, Identity, ManualClock, Profile, Simulator

# Every Modbus client in the simulator tests: one try, a short timeout, so a fault shows in well under a second.
CLIENT_TIMEOUT_S = 0.5
SERIAL = "SIM0000000001"


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
def charger(clock: ManualClock, dual_port: bool, ems_mode: EmsMode, profile: Profile) -> Charger:
    """An ENO one on the manual clock."""
    return Charger(
        clock=clock,
        dual_port=dual_port,
        ems_mode=ems_mode,
        identity=Identity(serial_number=SERIAL),
        profile=profile,
    )


@pytest.fixture
async def simulator(socket_enabled: None, charger: Charger) -> AsyncIterator[Simulator]:
    """The charger served over Modbus TCP on 127.0.0.1 (sockets enabled for loopback only)."""
    async with Simulator(charger, host="127.0.0.1") as sim:
        yield sim


@contextlib.asynccontextmanager
async def eno_client(simulator: Simulator, unit: int = 1) -> AsyncIterator[EnoOneClient]:
    """The vendor library's client for one unit of the simulator, closed afterwards."""
    client = EnoOneClient("127.0.0.1", simulator.port, device_id=unit, mb_retries=0, mb_timeout=CLIENT_TIMEOUT_S)
    try:
        yield client
    finally:
        client.client.close()


@pytest.fixture
async def client(simulator: Simulator) -> AsyncIterator[EnoOneClient]:
    """The vendor library's client for port 1."""
    async with eno_client(simulator) as eno:
        yield eno


@pytest.fixture
def mock_config_entry(simulator: Simulator, dual_port: bool, ems_control: bool) -> MockConfigEntry:
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
    )


@pytest.fixture
async def init_integration(hass: HomeAssistant, mock_config_entry: MockConfigEntry) -> MockConfigEntry:
    """The integration set up on the simulated charger."""
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
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


async def setup_platform(hass: HomeAssistant, entry: MockConfigEntry, platform: Platform) -> None:
    """Set up the integration with one platform only, as snapshot_platform wants."""
    entry.add_to_hass(hass)
    with patch("custom_components.enovates.PLATFORMS", [platform]):
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done(wait_background_tasks=True)


def _timers_due(hass: HomeAssistant) -> bool:
    loop = hass.loop
    return any(not handle.cancelled() and handle.when() <= loop.time() for handle in loop._scheduled)  # type: ignore[attr-defined]


async def advance(hass: HomeAssistant, hands: TickingDateTimeFactory, seconds: int, *, step: int = 1) -> None:
    """Let `seconds` of Home Assistant time pass, `step` seconds at a time, running every poll that falls due."""
    for _ in range(0, seconds, step):
        # From now, not from the last jump: freezegun's tick() would forget the real time run since then.
        hands.move_to(hands() + timedelta(seconds=step))
        # Until nothing is due: a poll (or a requested refresh) that ends after the jump may leave a timer that is
        # due already, which the jump's own firing did not see.
        for _ in range(10):
            async_fire_time_changed(hass)
            await hass.async_block_till_done(wait_background_tasks=True)
            if not _timers_due(hass):
                break
