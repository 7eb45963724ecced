"""The home around the charger and its grid meter: the figures add up, the demand is the meter's."""

from __future__ import annotations

from datetime import datetime, timedelta
import math
from zoneinfo import ZoneInfo

import pytest

from enovates_simulator import CarScenario, Charger, GridMeter, Home, Household, ManualClock, Tariff
from enovates_simulator.home import BRUSSELS, GAS_M3, gas_m3_per_h
from enovates_simulator.meter import HISTORY_MONTHS, Demand

# A June morning in Flanders: day tariff, summer time.
MORNING = datetime(2026, 6, 15, 10, 7, 30, tzinfo=BRUSSELS)


def _home(
    clock: ManualClock,
    start: datetime = MORNING,
    *,
    household: Household | None = None,
    sun_hour: float | None = None,
    gas: bool = False,
) -> Home:
    charger = Charger(clock=clock)
    charger.scenarios[1] = CarScenario.CYCLE  # the car comes, waits, charges and goes: the meter sees it all
    charger.sync()
    household = household if household is not None else Household(seed=7)
    return Home(charger, household, wall_start=start, sun_hour=sun_hour, gas=gas)


def _expected_net(home: Home) -> float:
    """House + cars - panels, from the household and the chargers' own registers (not the home's sums)."""
    for charger in home.chargers:
        charger.sync()
    day_s = home.sun_seconds()
    cars = sum(sum(charger.read_port(number).powers_w) for charger in home.chargers for number in charger.ports)
    return home.household.house_w(day_s) + cars - home.household.pv_w(day_s)


def test_import_minus_export_is_house_plus_cars_minus_panels_every_second() -> None:
    clock = ManualClock()
    home = _home(clock)
    seen_car = seen_export = False
    for _ in range(1800):
        clock.advance(1)
        reading = home.reading()
        expected = _expected_net(home)
        assert reading.total_import_w - reading.total_export_w == pytest.approx(expected, abs=1e-6)
        assert min(reading.total_import_w, reading.total_export_w) == 0
        # the phases add up to the total, each phase either imports or exports
        assert sum(reading.import_w) - sum(reading.export_w) == pytest.approx(expected, abs=1e-6)
        assert all(min(i, e) == 0 for i, e in zip(reading.import_w, reading.export_w, strict=True))
        # currents are the phases' power over their voltage, whichever way it flows
        for amps, watts, volts in zip(
            reading.currents_a,
            (i + e for i, e in zip(reading.import_w, reading.export_w, strict=True)),
            reading.voltages_v,
            strict=True,
        ):
            assert amps == pytest.approx(watts / volts)
        seen_car |= sum(home.charger.read_port(1).powers_w) > 0
        seen_export |= reading.total_export_w > 0
    assert seen_car
    assert seen_export  # between the car's sessions the panels export


def test_energy_registers_count_the_net_power() -> None:
    clock = ManualClock()
    home = _home(clock, start=datetime(2026, 6, 15, 21, 30, tzinfo=BRUSSELS), sun_hour=11.0)
    before = home.reading()
    imported = exported = 0.0
    low_imported = 0.0
    for _ in range(3600):
        net = _expected_net(home)
        tariff = Tariff.NORMAL if home.wall_time().hour < 22 else Tariff.LOW
        imported += max(net, 0) / 3600
        exported += max(-net, 0) / 3600
        low_imported += max(net, 0) / 3600 if tariff is Tariff.LOW else 0
        clock.advance(1)
    after = home.reading()
    assert sum(after.import_wh.values()) - sum(before.import_wh.values()) == pytest.approx(imported)
    assert sum(after.export_wh.values()) - sum(before.export_wh.values()) == pytest.approx(exported)
    # from 22:00 the low tariff counts
    assert after.import_wh[Tariff.LOW] - before.import_wh[Tariff.LOW] == pytest.approx(low_imported)
    assert after.tariff is Tariff.LOW
    assert 0 < low_imported < imported


def test_quarter_average_and_month_peak_as_the_meter_computes_them() -> None:
    clock = ManualClock()
    home = _home(clock)  # starts 7.5 minutes into the 10:00 quarter
    quarters: dict[datetime, list[float]] = {}
    for second in range(3600):
        if second == 1500:
            home.charger.set_ems_limit(1, 8000)  # a limit changes what the car, and so the meter, sees
        net = _expected_net(home)
        start = home.wall_time().replace(second=0, microsecond=0)
        quarter = start.replace(minute=start.minute // 15 * 15)
        quarters.setdefault(quarter, []).append(max(net, 0))
        clock.advance(1)
        if second in (0, 448, 450, 1000):
            # the running average: the quarter's energy so far over the time it lasted (nothing before the meter)
            elapsed = (home.wall_time() - quarter).total_seconds()
            assert home.reading().average_demand_w == pytest.approx(sum(quarters[quarter]) / elapsed)
    assert [len(samples) for samples in quarters.values()] == [450, 900, 900, 900, 450]
    averages = {start: sum(samples) / 900 for start, samples in quarters.items()}
    reading = home.reading()
    *finished, current = averages.items()
    peak_start, peak = max(finished, key=lambda item: item[1])
    assert reading.month_peak.average_w == pytest.approx(peak)
    assert reading.month_peak.time == peak_start + timedelta(minutes=15)  # recorded when the quarter ends
    assert reading.average_demand_w == pytest.approx(current[1] * 2)  # half of the 11:00 quarter has passed
    assert reading.history == ()


def test_a_new_month_keeps_the_last_ones_peak() -> None:
    clock = ManualClock()
    # the house and a car charging all along, in the dark: every quarter draws the same but the first, partial one
    # (the meter counts from 23:40 on)
    household = Household(pv_peak_w=0, appliances_per_hour=1e-9)
    home = _home(clock, start=datetime(2026, 6, 30, 23, 40, tzinfo=BRUSSELS), household=household)
    home.charger.scenarios[1] = CarScenario.CHARGING
    clock.advance(20 * 60)  # through midnight: the last quarter of June ends at 00:00 on July 1st
    june_peak = home.reading()
    assert len(june_peak.history) == 1
    month = june_peak.history[0]
    assert month.month_end == datetime(2026, 7, 1, tzinfo=BRUSSELS)
    assert month.peak.time == datetime(2026, 7, 1, tzinfo=BRUSSELS)  # the 23:45 quarter (the car came at 23:40:01)
    assert month.peak.average_w > 10_000
    assert june_peak.month_peak == Demand(datetime(2026, 7, 1, tzinfo=BRUSSELS), 0.0)  # July has no peak yet
    clock.advance(15 * 60)
    july = home.reading()
    assert july.month_peak.time == datetime(2026, 7, 1, 0, 15, tzinfo=BRUSSELS)
    assert july.month_peak.average_w == pytest.approx(month.peak.average_w, rel=0.001)


def test_the_meter_keeps_thirteen_months() -> None:
    start = datetime(2025, 1, 10, tzinfo=BRUSSELS).timestamp()
    meter = GridMeter(start, BRUSSELS)
    end = datetime(2026, 4, 2, tzinfo=BRUSSELS).timestamp()
    meter.add(start, end, (100.0, 200.0, 300.0), 0.0)
    assert meter.counted_until == end
    assert len(meter.history) == HISTORY_MONTHS
    assert meter.history[0].month_end == datetime(2026, 4, 1, tzinfo=BRUSSELS)
    assert meter.history[-1].month_end == datetime(2025, 4, 1, tzinfo=BRUSSELS)
    assert all(month.peak.average_w == pytest.approx(600) for month in meter.history)
    assert meter.import_wh[Tariff.NORMAL] + meter.import_wh[Tariff.LOW] == pytest.approx(
        4_210_000 + 3_120_000 + 600 * (end - start) / 3600
    )


def test_the_sun_can_be_placed_at_any_hour() -> None:
    night = datetime(2026, 6, 15, 22, 0, tzinfo=BRUSSELS)
    clock = ManualClock()
    assert _home(clock, start=night).flows().pv_w == 0  # the clock's hour: dark
    sunny = _home(clock, start=night, sun_hour=10.0)
    assert sunny.sun_seconds() == 10 * 3600
    assert sunny.flows().pv_w > 0
    assert sunny.wall_time() == night  # the meter's clock is the wall clock still
    clock.advance(12 * 3600)
    assert sunny.sun_seconds() == 22 * 3600
    assert sunny.household.pv_w(sunny.sun_seconds()) == 0


def test_the_charger_sees_the_same_connection_point() -> None:
    clock = ManualClock()
    home = _home(clock)
    home.charger.load_shedding_present = True
    clock.advance(200)  # the car charges
    home.charger.sync()
    flows = home.flows()
    installation = home.charger.read_port(1).installation_currents_ma
    cars = home.charger.read_port(1).currents_ma
    for phase in range(3):
        house_a = (flows.net_w[phase] - flows.cars_w[phase]) / home.charger.nominal_voltages_v[phase]
        # the load-shedding device's currents: the rest of the installation, signed, plus the cars'
        assert installation[phase] == pytest.approx(house_a * 1000 + cars[phase], abs=25)


def test_gas() -> None:
    clock = ManualClock()
    home = _home(clock, start=datetime(2026, 1, 12, 6, 58, tzinfo=BRUSSELS), sun_hour=6.9, gas=True)
    first = home.reading()
    assert first.gas_5min is not None
    assert first.gas_hourly is not None
    assert first.gas_5min.time == datetime(2026, 1, 12, 6, 55, tzinfo=BRUSSELS)
    assert first.gas_hourly.time == datetime(2026, 1, 12, 6, tzinfo=BRUSSELS)
    assert first.gas_5min.m3 == first.gas_hourly.m3 == GAS_M3
    assert first.time.dst() == timedelta(0)  # winter time
    clock.advance(7 * 60)
    reading = home.reading()
    assert reading.gas_5min is not None
    assert reading.gas_hourly is not None
    assert reading.gas_5min.time == datetime(2026, 1, 12, 7, 5, tzinfo=BRUSSELS)
    assert reading.gas_hourly.time == datetime(2026, 1, 12, 7, tzinfo=BRUSSELS)
    # the morning's heating and showers from the start (06:58) up to the capture (07:05)
    expected = sum(gas_m3_per_h(6.9 * 3600 + second) / 3600 for second in range(420))
    assert reading.gas_5min.m3 - GAS_M3 == pytest.approx(expected)
    assert gas_m3_per_h(3 * 3600) == pytest.approx(0.05)
    assert gas_m3_per_h(19 * 3600) == pytest.approx(0.85)
    # without a gas meter nothing of it shows
    assert _home(clock).reading().gas_5min is None


def test_defaults_a_sunny_home_on_the_wall_clock() -> None:
    clock = ManualClock()
    charger = Charger(clock=clock)
    home = Home(charger, tz=ZoneInfo("Europe/Amsterdam"))
    now = datetime.now(home.tz)
    assert abs(home.wall_time() - now) < timedelta(seconds=5)
    assert home.household.pv_peak_w == 8000
    assert math.isclose(home.sun_seconds(), now.hour * 3600 + now.minute * 60 + now.second, abs_tol=5)


def test_several_chargers_share_one_household_and_one_meter() -> None:
    # A dual-port and a single-port charger, a car charging on each port (no sun): the meter counts every car once,
    # and each charger's load-shedding device sees the rest of the connection, the other charger's cars included.
    clock = ManualClock()
    chargers = [Charger(clock=clock, dual_port=True), Charger(clock=clock)]
    for charger in chargers:
        for port in charger.ports.values():
            port.plug_in()
    home = Home(chargers, Household(seed=7, pv_peak_w=0.0), wall_start=MORNING)
    assert home.charger is chargers[0]
    before = home.reading()
    expected_wh = 0.0
    for _ in range(600):
        expected_wh += _expected_net(home) / 3600
        clock.advance(1)
        home.reading()
    after = home.reading()
    cars_w = sum(sum(charger.read_port(n).powers_w) for charger in chargers for n in charger.ports)
    assert cars_w == pytest.approx(3 * 16 * 690, rel=0.01)  # three cars at 16 A
    assert after.total_import_w == pytest.approx(home.household.house_w(home.sun_seconds()) + cars_w)
    assert sum(after.import_wh.values()) - sum(before.import_wh.values()) == pytest.approx(expected_wh)
    single = chargers[1]
    own_ma = single.read_port(1).currents_ma[0]
    rest_w = after.import_w[0] - sum(single.read_port(1).powers_w) / 3
    assert single.house_load_ma[0] == pytest.approx(rest_w / single.nominal_voltages_v[0] * 1000, rel=0.02)
    assert own_ma > 0
