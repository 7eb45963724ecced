"""Smart charging on a real P1 meter: Home Assistant's own DSMR integration reads the simulator's P1 port.

The whole chain of a Belgian home: the simulated meter streams DSMR 5B telegrams over TCP (a P1-over-TCP adapter),
Home Assistant's `dsmr` integration parses them with dsmr-parser into its power sensors (kW), the Enovates entry's
options point at those sensors, and smart charging writes the limits the simulated charger really gets; a limit
shows in the meter's next telegram, as in a house. Then what a meter does wrong: a telegram with a bad CRC, a meter
that stops, an adapter that reboots, a sensor shown in W instead of kW, an import line that goes negative.

Time is driven by hand, second by second: the simulator's ManualClock (the home, the car) and Home Assistant's
clock move together, a telegram is published at each second and the test waits (bounded) until the DSMR sensors
have it before Home Assistant's second runs. The README promises checked: a reading missing or not reported for
60 s never raises a limit, the limit holds for 60 s, then Solar pauses; nothing is written that the charger would
not take.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from dsmr_parser.clients.protocol import DSMRProtocol
from freezegun.api import TickingDateTimeFactory
from homeassistant.components.dsmr.const import (
    CONF_DSMR_VERSION,
    CONF_SERIAL_ID,
    CONF_SERIAL_ID_GAS,
    CONF_TIME_BETWEEN_UPDATE,
    DOMAIN as DSMR,
    DSMR_PROTOCOL,
)
from homeassistant.components.sensor import DOMAIN as SENSOR_DOMAIN
from homeassistant.const import (
    ATTR_UNIT_OF_MEASUREMENT,
    CONF_HOST,
    CONF_PORT,
    CONF_PROTOCOL,
    EVENT_STATE_CHANGED,
    EVENT_STATE_REPORTED,
    STATE_UNAVAILABLE,
    STATE_UNKNOWN,
    UnitOfPower,
)
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.helpers import entity_registry as er
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, mock_component

from custom_components.enovates.const import DOMAIN
from custom_components.enovates.smart import meter_entities
from custom_components.enovates.smart.const import (
    CONF_GRID_EXPORT_SENSOR,
    CONF_GRID_SENSOR,
    CONF_HYSTERESIS,
    CONF_START_DELAY,
    CONF_STOP_DELAY,
)
from custom_components.enovates.smart.meter_quarter import QuarterSource
from custom_components.enovates.smart.quarter import QUARTER_S, quarter_start
from enovates_simulator import Car, Charger, Home, Household, ManualClock, MeterIdentity, P1Server, P1Version, Simulator
from enovates_simulator.meter import MeterReading
from enovates_simulator.p1 import crc16

from ..helpers import MODE, PEAK, QUARTER, REASON, advance, limit_ma, select_mode, set_number, state

# The DSMR integration's power sensors: its device "Electricity Meter", their translated names.
IMPORT = "sensor.electricity_meter_power_consumption"
EXPORT = "sensor.electricity_meter_power_production"
METER_SERIAL = MeterIdentity().equipment_id.encode("ascii").hex().upper()  # what the telegrams carry
# A clear day at solar noon: the panels make this much, steady, over the minutes a test lasts.
PV_W = 9000.0
BASE_LOAD_W = 350.0
# One ampere of a car charging on three phases, roughly: how close Solar can bring the export to 0.
WATTS_PER_AMP = 3 * 230
# How long the test waits, in real seconds, for a telegram to reach the DSMR sensors (a few ms on an idle machine).
DELIVERY_TIMEOUT_S = 10
# The README's rule for a missing reading: stale after 60 s, held 60 s more, then Solar pauses.
STALE_S = 60
HOLD_S = 60
# Home Assistant's clock runs a little faster than the simulated seconds (the real time each one takes on top).
SLACK_S = 5


@pytest.fixture
def paused() -> bool:
    """Whether the car starts paused (an EMS limit of 0) rather than charging without a limit."""
    return False


@pytest.fixture
def charger(charger: Charger, paused: bool) -> Charger:
    """A car that takes 16 A on three phases (11 kW), plugged in."""
    charger.port(1).plug_in(Car(max_current_a=16, energy_wanted_wh=100_000))
    if paused:
        charger.set_ems_limit(1, 0)
    return charger


@pytest.fixture
def household() -> Household:
    """A clear day (no clouds, no appliances switching on): every change of the figures is the test's."""
    household = Household(seed=1, pv_peak_w=PV_W, base_load_w=BASE_LOAD_W)
    household.clouds.clear()
    household.appliances.clear()
    return household


@pytest.fixture
def home_class() -> type[Home]:
    """The home the meter measures (override to make its meter misbehave)."""
    return Home


@pytest.fixture
def home(charger: Charger, household: Household, home_class: type[Home]) -> Home:
    """The charger in the home, the sun at its highest (13:30 on a day from 6:00 to 21:00)."""
    return home_class(charger, household, sun_hour=13.5)


@pytest.fixture
def options() -> dict[str, object]:
    """Smart charging on the meter's import and export sensors, short delays so that a run takes simulated minutes."""
    return {
        CONF_GRID_SENSOR: IMPORT,
        CONF_GRID_EXPORT_SENSOR: EXPORT,
        CONF_START_DELAY: 10,
        CONF_STOP_DELAY: 30,
        CONF_HYSTERESIS: 500,
    }


@pytest.fixture
def mock_config_entry(mock_config_entry: MockConfigEntry, options: dict[str, object]) -> MockConfigEntry:
    """The charger's entry, with smart charging's options."""
    return MockConfigEntry(
        domain=DOMAIN,
        title=mock_config_entry.title,
        unique_id=mock_config_entry.unique_id,
        minor_version=mock_config_entry.minor_version,
        data=mock_config_entry.data,
        options=options,
    )


def intact(telegram: bytes) -> bool:
    """Return whether a telegram's CRC matches (what dsmr-parser checks before it hands a telegram on)."""
    end = telegram.index(b"!") + 1
    return crc16(telegram[:end]) == int(telegram[end : end + 4], 16)


def power_kw(hass: HomeAssistant, entity_id: str) -> float:
    """Return a power sensor's value in kW, whatever unit it is shown in."""
    found = hass.states.get(entity_id)
    assert found is not None, entity_id
    value = float(found.state)
    return value / 1000 if found.attributes.get(ATTR_UNIT_OF_MEASUREMENT) == UnitOfPower.WATT else value


def writes_accepted(simulator: Simulator) -> None:
    """Assert that every limit written was one the charger takes as it is: no limit, a pause, or 6 A to its maximum."""
    maximum = simulator.charger.max_amp_per_phase * 1000
    bad = [limit for _unit, limit in simulator.stats.writes if not (limit in (-1, 0) or 6000 <= limit <= maximum)]
    assert bad == []


class MeteredHome:
    """The home, its meter on the P1 port, Home Assistant's DSMR entry reading it, and the clocks of both."""

    def __init__(
        self,
        hass: HomeAssistant,
        hands: TickingDateTimeFactory,
        clock: ManualClock,
        home: Home,
        meter: P1Server,
        simulator: Simulator,
    ) -> None:
        self.hass, self.hands, self.clock, self.home, self.meter = hass, hands, clock, home, meter
        self.simulator = simulator
        self.entry = MockConfigEntry(
            domain=DSMR,
            title=f"127.0.0.1:{meter.port}",
            unique_id=METER_SERIAL,
            # A network meter as both tested releases read it: host and port apart (the newest joins them into a
            # socket:// address, the oldest opens a TCP reader), DSMR 5B, every telegram (no 30 s throttle).
            data={
                CONF_HOST: "127.0.0.1",
                CONF_PORT: meter.port,
                CONF_DSMR_VERSION: P1Version.DSMR_5B.value,
                CONF_SERIAL_ID: METER_SERIAL,
                CONF_SERIAL_ID_GAS: None,
                CONF_PROTOCOL: DSMR_PROTOCOL,
            },
            options={CONF_TIME_BETWEEN_UPDATE: 0},
        )
        self.delivered = 0  # telegrams the import sensor has shown (a number, reported or changed)
        # Whether the home's clock keeps to Home Assistant's (which runs a little faster, by the real time each second
        # takes): a quarter hour then starts at the same instant on the meter and in Home Assistant.
        self.in_step = False
        self._delivery = asyncio.Event()
        self._listeners: list[Callable[[], None]] = []

    @staticmethod
    @callback
    def _about_import(data: Any) -> bool:
        return bool(data["entity_id"] == IMPORT)

    @callback
    def _import_shown(self, event: Event[Any]) -> None:
        new = event.data.get("new_state")
        if new is not None and new.state not in (STATE_UNAVAILABLE, STATE_UNKNOWN):
            self.delivered += 1
            self._delivery.set()

    async def start(self) -> None:
        """Set up the DSMR entry on the meter's port and wait until its sensors show the first telegram."""
        self._listeners = [
            self.hass.bus.async_listen(event, self._import_shown, self._about_import)
            for event in (EVENT_STATE_CHANGED, EVENT_STATE_REPORTED)
        ]
        # usb, a dependency of dsmr for serial ports, needs USB libraries the test environment does not install; a
        # network meter uses none of it.
        mock_component(self.hass, "usb")
        self.entry.add_to_hass(self.hass)
        assert await self.hass.config_entries.async_setup(self.entry.entry_id)
        await self.hass.async_block_till_done()
        await asyncio.wait_for(self.meter.wait_connections(1), DELIVERY_TIMEOUT_S)
        await self.run(1)  # the first telegram creates the sensors
        power_kw(self.hass, IMPORT)

    async def stop(self) -> None:
        """Unload the DSMR entry (it closes its connection)."""
        for remove in self._listeners:
            remove()
        await self.hass.config_entries.async_unload(self.entry.entry_id)
        await self.hass.async_block_till_done()
        # dsmr-parser's keep-alive watchdog leaves its next check scheduled after the connection closed.
        for handle in self.hass.loop._scheduled:  # type: ignore[attr-defined]
            if getattr(handle._callback, "__func__", None) is DSMRProtocol.keep_alive:
                handle.cancel()

    async def telegram(self) -> bytes | None:
        """Publish the meter's telegram now; when one goes out whole to a reader, wait until the sensors show it."""
        delivered = self.delivered
        self._delivery.clear()
        sent = await self.meter.publish()
        if sent is not None and intact(sent) and self.meter.connection_count:
            async with asyncio.timeout(DELIVERY_TIMEOUT_S):
                while self.delivered == delivered:
                    await self._delivery.wait()
                    self._delivery.clear()
        return sent

    async def run(self, seconds: int) -> None:
        """Let `seconds` pass in the home and in Home Assistant: each second a telegram, then Home Assistant's turn."""
        for _ in range(seconds):
            ahead = dt_util.utcnow().timestamp() - self.home.wall_ts() if self.in_step else 0.0
            self.clock.advance(1 + max(ahead, 0.0) if self.in_step else 1)
            await self.telegram()
            await advance(self.hass, self.hands, 1)

    async def jump(self, seconds: int) -> None:
        """Move the home and Home Assistant `seconds` ahead at once (no telegram meanwhile), then a second as usual."""
        self.clock.advance(seconds)
        await advance(self.hass, self.hands, seconds, step=seconds)
        await self.run(1)

    async def run_until(self, condition: Callable[[], bool], seconds: int) -> datetime:
        """Run second by second until `condition` holds, at most `seconds`; return Home Assistant's time then."""
        for _ in range(seconds + 1):
            if condition():
                return dt_util.utcnow()
            await self.run(1)
        pytest.fail(f"not within {seconds} s")

    def last_reading(self) -> datetime:
        """Return when the import sensor last showed a telegram."""
        found = self.hass.states.get(IMPORT)
        assert found is not None
        return found.last_reported

    def grid_w(self) -> float:
        """Return the grid power the meter's sensors show, import positive, in W."""
        return (power_kw(self.hass, IMPORT) - power_kw(self.hass, EXPORT)) * 1000


@pytest.fixture
async def meter(socket_enabled: None, home: Home) -> AsyncIterator[P1Server]:
    """The home's P1 port on a free port of 127.0.0.1; a telegram only when the test publishes one."""
    server = P1Server(home, host="127.0.0.1")
    await server.start(periodic=False)
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
async def metered(
    hass: HomeAssistant,
    clock_hands: TickingDateTimeFactory,
    clock: ManualClock,
    home: Home,
    meter: P1Server,
    simulator: Simulator,
    init_integration: MockConfigEntry,
) -> AsyncIterator[MeteredHome]:
    """The charger's entry and Home Assistant's DSMR entry, both reading the simulated home."""
    metered = MeteredHome(hass, clock_hands, clock, home, meter, simulator)
    try:
        await metered.start()
        yield metered
    finally:
        await metered.stop()


@pytest.mark.parametrize("unit", [UnitOfPower.KILO_WATT, UnitOfPower.WATT])
async def test_solar_follows_the_meter(
    hass: HomeAssistant,
    metered: MeteredHome,
    simulator: Simulator,
    household: Household,
    entity_registry: er.EntityRegistry,
    unit: UnitOfPower,
) -> None:
    if unit is UnitOfPower.WATT:
        # Shown in W, as a user picks in the sensors' settings: the same readings, a thousand times larger.
        for entity_id in (IMPORT, EXPORT):
            entity_registry.async_update_entity_options(entity_id, SENSOR_DOMAIN, {"unit_of_measurement": unit})
        await hass.async_block_till_done()
    await metered.run(2)
    assert hass.states.get(IMPORT).attributes[ATTR_UNIT_OF_MEASUREMENT] == unit  # type: ignore[union-attr]
    # The car takes its 11 kW: the house imports what the panels do not cover.
    car_w = sum(simulator.charger.read_port(1).powers_w)
    assert car_w > 10_500
    assert metered.grid_w() == pytest.approx(BASE_LOAD_W + car_w - PV_W, abs=20)
    shown = float(state(hass, IMPORT))
    assert shown == pytest.approx((BASE_LOAD_W + car_w - PV_W) / (1 if unit is UnitOfPower.WATT else 1000), rel=0.01)
    assert state(hass, REASON) == "manual"

    await select_mode(hass, "solar")
    await metered.run_until(lambda: limit_ma(simulator) == 12000, 20)
    await metered.run(10)
    # The car takes the surplus, less than an ampere of it is left over: the meter's export went towards 0.
    assert (limit_ma(simulator), state(hass, REASON), state(hass, MODE)) == (12000, "surplus", "solar")
    assert power_kw(hass, IMPORT) == 0
    assert 0 <= power_kw(hass, EXPORT) * 1000 < WATTS_PER_AMP
    assert float(state(hass, QUARTER)) > 0  # the quarter so far, from the meter's readings

    # A thin haze: 3 kW less from the panels, the car gives it back within seconds.
    household.pv_peak_w = PV_W - 3000
    await metered.run_until(lambda: limit_ma(simulator) == 8000, 15)
    await metered.run(10)
    assert limit_ma(simulator) == 8000
    assert state(hass, REASON) == "surplus"
    assert -WATTS_PER_AMP < metered.grid_w() <= 0
    writes_accepted(simulator)


def seconds(since: datetime, until: datetime) -> float:
    return (until - since).total_seconds()


async def held_then_safe(
    hass: HomeAssistant, metered: MeteredHome, simulator: Simulator, since: datetime, held_ma: int, safe_ma: int
) -> None:
    """The README's rule for a reading missing since `since`: the limit holds 60 s, then goes to the mode's safe
    side (Solar pauses, Solar + minimum and the peak guard the minimum), and nothing else is written meanwhile."""
    changed_at = await metered.run_until(lambda: limit_ma(simulator) != held_ma, HOLD_S + SLACK_S)
    assert HOLD_S - 2 <= seconds(since, changed_at) <= HOLD_S + SLACK_S
    assert (limit_ma(simulator), state(hass, REASON)) == (safe_ma, "grid_missing")
    assert simulator.stats.writes == [(1, safe_ma)]


async def goes_stale(hass: HomeAssistant, metered: MeteredHome, simulator: Simulator, held_ma: int) -> datetime:
    """Run until the last reading is stale (60 s without a report); return when the controller saw it so."""
    last = metered.last_reading()
    missing_at = await metered.run_until(lambda: state(hass, REASON) == "grid_missing", STALE_S + SLACK_S)
    assert STALE_S <= seconds(last, missing_at) <= STALE_S + SLACK_S
    assert limit_ma(simulator) == held_ma  # held
    return missing_at


async def test_a_telegram_with_a_bad_crc_is_dropped(
    hass: HomeAssistant,
    metered: MeteredHome,
    simulator: Simulator,
    household: Household,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await select_mode(hass, "solar")
    await metered.run_until(lambda: limit_ma(simulator) == 12000, 20)
    await metered.run(5)
    assert state(hass, IMPORT) == "0.0"

    # A cloud as a telegram is garbled on the line: its figures never reach Home Assistant.
    household.pv_peak_w = PV_W - 3000
    metered.meter.corrupt_next()
    delivered, last = metered.delivered, metered.last_reading()
    sent = await metered.telegram()
    assert sent is not None
    assert not intact(sent)
    # The next telegram, whole, arrives after it on the same connection: the garbled one was read and dropped.
    metered.clock.advance(1)
    await metered.telegram()
    assert metered.delivered == delivered + 1
    assert metered.last_reading() > last
    assert "checksum" in caplog.text.lower()
    assert power_kw(hass, IMPORT) > 2  # the cloud, from the whole telegram
    await advance(hass, metered.hands, 1)
    await metered.run_until(lambda: limit_ma(simulator) == 8000, 15)
    await metered.run(3)
    assert state(hass, REASON) == "surplus"

    # Every telegram garbled (a bad cable): as good as a meter that stopped. The connection stays up (bytes come),
    # the sensors keep their last reading, which goes stale after 60 s.
    simulator.stats.reset()
    metered.meter.corrupt_next(times=10_000)
    missing_at = await goes_stale(hass, metered, simulator, 8000)
    await held_then_safe(hass, metered, simulator, missing_at, 8000, 0)
    assert state(hass, IMPORT) != STATE_UNAVAILABLE
    writes_accepted(simulator)


@pytest.mark.parametrize(
    ("mode", "peak_limit_kw", "steady_ma", "safe_ma"),
    [
        ("solar", 0, 12000, 0),  # Solar pauses
        ("solar_minimum", 0, 12000, 6000),  # Solar + minimum goes to the minimum
        ("fast", 20, -1, 6000),  # the peak guard (not binding: 2.4 kW imported) holds the car at the minimum
    ],
)
async def test_a_meter_that_stops(
    hass: HomeAssistant,
    metered: MeteredHome,
    simulator: Simulator,
    mode: str,
    peak_limit_kw: float,
    steady_ma: int,
    safe_ma: int,
) -> None:
    await set_number(hass, PEAK, peak_limit_kw)
    await select_mode(hass, mode)
    await metered.run_until(lambda: limit_ma(simulator) == steady_ma, 20)
    await metered.run(5)
    assert limit_ma(simulator) == steady_ma
    simulator.stats.reset()

    # The meter stops sending; its adapter keeps the connection open.
    metered.meter.silence()
    last = metered.last_reading()
    if mode == "fast":
        # Fast does not rest on the reading: only the peak guard's fallback shows, once the hold is over.
        missing_at = await metered.run_until(lambda: dt_util.utcnow() - last > timedelta(seconds=STALE_S), STALE_S)
        assert (limit_ma(simulator), state(hass, REASON)) == (steady_ma, "fast")
    else:
        missing_at = await goes_stale(hass, metered, simulator, steady_ma)
    await held_then_safe(hass, metered, simulator, missing_at, steady_ma, safe_ma)
    # Meanwhile DSMR's keep-alive watchdog gave up on the silent connection (a minute without bytes, checked once a
    # minute): its sensors went unavailable.
    await metered.run_until(lambda: state(hass, IMPORT) in (STATE_UNAVAILABLE, STATE_UNKNOWN), 60)

    # The meter speaks again; DSMR reconnects by itself, and the mode takes over again (Solar after its start delay).
    delivered = metered.delivered
    metered.meter.resume()
    await metered.run_until(lambda: metered.delivered > delivered, 90)
    if mode == "solar":
        await metered.run_until(lambda: state(hass, REASON) == "waiting_to_start", 3)
        assert limit_ma(simulator) == 0
    await metered.run_until(lambda: limit_ma(simulator) == steady_ma, 30)
    assert state(hass, REASON) == {"solar": "surplus", "solar_minimum": "surplus", "fast": "fast"}[mode]
    writes_accepted(simulator)


@pytest.mark.parametrize(
    ("down_s", "paused"),
    [
        (10, False),  # back within the 60 s bound (DSMR retries after 30 s): the limit held all along
        (100, True),  # down for longer: Solar pauses, and starts again once the meter is back
    ],
)
async def test_an_adapter_that_reboots(
    hass: HomeAssistant, metered: MeteredHome, simulator: Simulator, down_s: int, paused: bool
) -> None:
    await select_mode(hass, "solar")
    await metered.run_until(lambda: limit_ma(simulator) == 12000, 20)
    await metered.run(5)
    simulator.stats.reset()

    # Every connection drops and none is accepted for a while: the sensors are unavailable at once.
    await metered.meter.reboot(down_s)
    delivered = metered.delivered
    lost_at = await metered.run_until(lambda: state(hass, REASON) == "grid_missing", 3)
    assert state(hass, IMPORT) == STATE_UNAVAILABLE
    if paused:
        await held_then_safe(hass, metered, simulator, lost_at, 12000, 0)
    # DSMR retries every 30 s; the meter's readings come back on a new connection.
    await metered.run_until(lambda: metered.delivered > delivered, down_s + 40)
    if paused:
        await metered.run_until(lambda: state(hass, REASON) == "waiting_to_start", 3)
    else:
        assert simulator.stats.writes == []  # held: never raised, never paused
    await metered.run_until(lambda: limit_ma(simulator) == 12000 and state(hass, REASON) == "surplus", 30)
    writes_accepted(simulator)


class SignedImportHome(Home):
    """A meter (or adapter) that puts the signed net power on its import line: negative while exporting."""

    def reading(self) -> MeterReading:
        """Return the reading with the export folded into the import line."""
        reading = super().reading()
        net = reading.total_import_w - reading.total_export_w
        return replace(reading, total_import_w=net, total_export_w=0.0)


@pytest.mark.parametrize(("home_class", "paused"), [(SignedImportHome, True)])
@pytest.mark.parametrize(
    "options",
    [
        {CONF_GRID_SENSOR: IMPORT, CONF_START_DELAY: 10},  # the one grid sensor, import positive, export negative
        {CONF_GRID_SENSOR: IMPORT, CONF_GRID_EXPORT_SENSOR: EXPORT, CONF_START_DELAY: 10},
    ],
    ids=["grid-sensor", "with-export-sensor"],
)
@pytest.mark.usefixtures("home_class", "paused", "options")
async def test_a_negative_import_is_export(
    hass: HomeAssistant, simulator: Simulator, home: Home, meter: P1Server, metered: MeteredHome
) -> None:
    # The car paused from the start: the home exports all along, the car too once it charges on the surplus.
    await metered.run(2)
    assert power_kw(hass, IMPORT) == pytest.approx((BASE_LOAD_W - PV_W) / 1000, abs=0.02)
    assert power_kw(hass, EXPORT) == 0
    await select_mode(hass, "solar")
    await metered.run_until(lambda: state(hass, REASON) == "waiting_to_start", 10)
    await metered.run_until(lambda: limit_ma(simulator) == 12000, 20)
    await metered.run(3)  # the car takes it: the meter's next telegrams show the house exporting less than an ampere
    assert state(hass, REASON) == "surplus"
    assert -WATTS_PER_AMP < power_kw(hass, IMPORT) * 1000 <= 0
    # Export counts as no import in the quarter: never a negative average.
    assert float(state(hass, QUARTER)) == 0
    writes_accepted(simulator)


# The DSMR integration's sensors of the meter's own quarter figures (1-0:1.4.0 and 1-0:1.6.0, kW).
AVERAGE = "sensor.electricity_meter_current_average_demand"
MONTH = "sensor.eno_one_monthly_peak"
LIMIT_KW = 5.0
# A kettle and a hob for the middle five minutes of the quarter: with the car's minimum, over the limit.
KETTLE_W = 3500.0


@pytest.fixture
def source() -> QuarterSource:
    """Whose count of the quarter the peak guard goes by: the meter's own, found beside the grid sensor."""
    return QuarterSource.METER


@pytest.fixture
def figures_found(monkeypatch: pytest.MonkeyPatch, source: QuarterSource) -> None:
    """With our own count: a meter whose integration reports no quarter figures (a Dutch meter, say)."""
    if source is QuarterSource.OWN:
        monkeypatch.setattr(meter_entities, "FIGURES", {})


async def run_to(metered: MeteredHome, at: float) -> None:
    """Run second by second until Home Assistant's clock is at `at` (seconds since the epoch) or past it."""
    await metered.run_until(lambda: dt_util.utcnow().timestamp() >= at, int(at - dt_util.utcnow().timestamp()) + 5)


@pytest.mark.parametrize("paused", [True])
@pytest.mark.parametrize("source", [QuarterSource.METER, QuarterSource.OWN])
@pytest.mark.usefixtures("figures_found", "paused")
async def test_the_peak_guard_and_the_meter_agree_over_a_quarter(
    hass: HomeAssistant,
    metered: MeteredHome,
    simulator: Simulator,
    household: Household,
    init_integration: MockConfigEntry,
    source: QuarterSource,
) -> None:
    household.pv_peak_w = 0.0  # an evening: the house and the car alone
    smart = init_integration.runtime_data.smart
    # The home's clock keeps to Home Assistant's: a quarter starts at the same instant on both. To 20 s before the
    # next quarter, the car paused (the quarter so far light: the house alone).
    metered.in_step = True
    to_next = QUARTER_S - dt_util.utcnow().timestamp() % QUARTER_S
    await metered.jump(int(to_next - 20 if to_next > 30 else to_next + QUARTER_S - 20))
    start = quarter_start(dt_util.utcnow().timestamp()) + QUARTER_S
    await set_number(hass, PEAK, LIMIT_KW)
    await select_mode(hass, "fast")
    await run_to(metered, start + 1)
    assert smart.quarter_source is source
    # The quarter: the car takes what the limit leaves; the kettle for the middle five minutes pauses it.
    await run_to(metered, start + 300)
    assert (state(hass, REASON), limit_ma(simulator) >= 6000) == ("peak_guard", True)
    household.base_load_w = BASE_LOAD_W + KETTLE_W
    await run_to(metered, start + 600)
    assert (state(hass, REASON), limit_ma(simulator)) == ("peak_guard", 0)
    household.base_load_w = BASE_LOAD_W
    await run_to(metered, start + QUARTER_S - 2)
    assert smart.quarter_source is source
    # The quarter hour's average so far: ours and the meter's (as the meter counts it now, and as DSMR shows it).
    meter = metered.home.meter
    ours_kw = float(state(hass, QUARTER))
    assert ours_kw == pytest.approx(meter.average_demand_w(metered.home.wall_ts()) / 1000, rel=0.01)
    assert ours_kw == pytest.approx(power_kw(hass, AVERAGE), rel=0.01)
    # The quarter ends: by the meter's count, under the limit, the headroom used; the month's peak agrees.
    await run_to(metered, start + QUARTER_S + 3)
    peak_kw = meter.month_peak.average_w / 1000
    assert 0.9 * LIMIT_KW < peak_kw <= LIMIT_KW
    assert float(state(hass, MONTH)) == pytest.approx(peak_kw, rel=0.01)
    writes_accepted(simulator)
