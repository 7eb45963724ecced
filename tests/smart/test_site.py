"""A site (issue 24): several chargers on one grid meter, one controller for all their ports.

Days of the simulator's chargers and a household (multi_day.py) check the issue's figures: the surplus used and
never counted twice, every quarter under the peak limit, the contactors' budget; the site's own rules are checked
on single seconds.
"""

from __future__ import annotations

from dataclasses import replace
from functools import cache

import pytest

from custom_components.enovates.smart.controller import (
    ChargingMode,
    Inputs,
    PortDecision,
    PortInput,
    Reason,
    Settings,
    SmartController,
)
from custom_components.enovates.smart.model import PlanWish
from custom_components.enovates.smart.sharing import give_way_order
from custom_components.enovates.smart.site import GridReading, Site
from enovates_simulator.household import Household

from .multi_day import SiteDay, Station, run_site_day
from .simulated_day import jumping_house_w

SUN = (8 * 3600, 19 * 3600)
MINIMUM_W = 6 * 3 * 230.0  # a car's minimum on three phases
TWO_SINGLE = (Station("a"), Station("b"))
DUAL_AND_SINGLE = (Station("a", dual_port=True), Station("b"))
ALONE = (Station("a"),)


@cache
def solar_day(stations: tuple[Station, ...], *, pv_peak_w: float = 15_000.0, independent: bool = False) -> SiteDay:
    """Return a day of clouds (the default household's) under panels of `pv_peak_w`, every port in Solar.

    From 8:00 to 19:00; each day is run once for the tests that compare with it (none changes a day).
    """
    return run_site_day(Household(pv_peak_w=pv_peak_w), stations, start_s=SUN[0], end_s=SUN[1], independent=independent)


@pytest.mark.parametrize("stations", [TWO_SINGLE, DUAL_AND_SINGLE], ids=["two single-port", "dual and single"])
def test_the_surplus_is_shared_once(stations: tuple[Station, ...]) -> None:
    # 15 kWp: more surplus than one car takes (11 kW), so the other cars get a share of it.
    day = solar_day(stations)
    alone = solar_day(ALONE)
    assert day.solar_share >= 0.90
    assert day.surplus_used(MINIMUM_W) >= 0.90
    assert day.surplus_used(MINIMUM_W) > alone.surplus_used(MINIMUM_W) + 0.1  # the second car takes the rest
    for port in day.cars_w:
        assert day.energy_wh(port) > 10_000, port  # every car has its share
        assert day.worst_moves_per_hour(port) <= 6, port
    # Never counted twice: while every car is on surplus, the grid gives them no more than it gives one car
    # alone (a second's delay of the meter); two controllers on the same meter take the same surplus twice.
    assert day.import_on_surplus_wh() <= alone.import_on_surplus_wh()
    assert solar_day(stations, independent=True).import_on_surplus_wh() > 5 * alone.import_on_surplus_wh()


def test_a_second_charger_takes_nothing_the_first_needs() -> None:
    # 8 kWp: the surplus never covers two cars' minimums: the second car waits all day, and the grid's import is
    # what the first charger alone takes, to the watt-hour. Two controllers on the meter both start and stop.
    day = solar_day(TWO_SINGLE, pv_peak_w=8000.0)
    alone = solar_day(ALONE, pv_peak_w=8000.0)
    assert day.energy_wh(("b", 1)) == 0
    assert set(day.reasons["b", 1][3600:]) <= {Reason.NO_SURPLUS, Reason.WAITING_TO_START}
    assert day.cars_import_wh == pytest.approx(alone.cars_import_wh)
    assert day.solar_share >= 0.90
    independent = solar_day(TWO_SINGLE, pv_peak_w=8000.0, independent=True)
    assert independent.solar_share < 0.80
    assert independent.cars_import_wh > 1.3 * alone.cars_import_wh


@pytest.mark.parametrize("stations", [TWO_SINGLE, DUAL_AND_SINGLE], ids=["two single-port", "dual and single"])
def test_one_peak_limit_for_the_site(stations: tuple[Station, ...]) -> None:
    # Every car in Fast under a 9 kW limit while the house load jumps by 3.5 kW every 20 minutes.
    fast = [replace(station, mode=ChargingMode.FAST) for station in stations]
    day = run_site_day(
        Household(pv_peak_w=0.0),
        fast,
        start_s=18 * 3600,
        end_s=22 * 3600,
        peak_limit_w=9000.0,
        house_w=jumping_house_w,
    )
    quarters = list(day.quarters_w.values())
    assert len(quarters) == 16
    assert max(quarters) <= 9000.0 * 1.02
    assert min(quarters) >= 9000.0 * 0.7  # the headroom is used
    for port in day.cars_w:
        assert day.worst_moves_per_hour(port) <= 6, port
    # The first charger's car gives way last: it charges longest.
    first = day.energy_wh(("a", 1))
    assert all(first >= day.energy_wh(port) for port in day.cars_w)


def car(mode: ChargingMode = ChargingMode.FAST, *, power_w: float = 0.0, limit_a: int = 0) -> PortInput:
    """Return a plugged-in three-phase port in `mode`."""
    return PortInput(
        mode=mode,
        plugged=True,
        power_w=power_w,
        currents_a=(power_w / 690,) * 3,
        voltage_v=230.0,
        charger_phases=3,
        max_current_a=16,
        limit_a=limit_a,
        contactor_closed=power_w > 0,
    )


CHARGING = car(power_w=11_040.0, limit_a=16)


def test_the_first_charger_keeps_its_minimum_the_last_gives_way() -> None:
    # 10 kW of headroom: two cars' minimum (8.3 kW) fit, not three; the later charger's port pauses, then port 2
    # of the first before its port 1.
    site = Site()
    reading = GridReading(now=1000.0, grid_w=500.0 + 3 * 11_040.0, peak_limit_w=10_500.0)
    members = {"first": {1: CHARGING, 2: CHARGING}, "second": {1: CHARGING}}
    decisions, _ = site.step(reading, members)
    site.step(replace(reading, now=1001.0, grid_at=1001.0), members)
    decisions, _ = site.step(replace(reading, now=1002.0, grid_at=1002.0), members)
    assert decisions["second"][1].target_a == 0
    assert (decisions["first"][1].target_a or 0) >= 6
    assert (decisions["first"][2].target_a or 0) >= 6
    assert give_way_order([1, 2, 3], [], {1: 0, 2: 1, 3: 2}) == [3, 2, 1]
    assert give_way_order([1, 2, 3], [], {1: 2, 2: 1, 3: 0}) == [1, 2, 3]


def test_a_charger_without_readings_is_load_and_keeps_its_decisions() -> None:
    site = Site()
    reading = GridReading(now=1000.0, grid_w=2000.0)
    decisions, _ = site.step(reading, {"a": {1: car()}, "b": None})
    assert set(decisions) == {"a"}
    assert decisions["a"][1].reason is Reason.FAST
    # Nothing to follow at all: the quarter goes on with the meter alone.
    decisions, _ = site.step(replace(reading, now=1001.0), {"b": None})
    assert decisions == {}
    assert site.controller.quarter.average_w == pytest.approx(2000.0)


def test_every_port_manual_decides_nothing() -> None:
    site = Site()
    manual = car(ChargingMode.MANUAL)
    decisions, _ = site.step(GridReading(now=1000.0, grid_w=0.0), {"a": {1: manual}, "b": {1: manual}})
    assert decisions == {"a": {}, "b": {}}


def test_a_charger_that_comes_back_finds_its_ports_history() -> None:
    # Its contactor's moves count still: a charger reloaded does not get a fresh budget.
    site = Site(SmartController(Settings()))
    assert site.settings == Settings()
    site.settings = Settings(start_delay_s=10)
    assert site.controller.settings.start_delay_s == 10
    assert site.key("a", 1) == 1
    assert site.key("b", 1) == 2
    assert site.key("a", 1) == 1
    site.step(GridReading(now=1000.0, grid_w=0.0), {"b": {1: car()}})
    assert site.key("b", 1) == 2


def test_a_site_of_one_decides_as_the_charger_alone() -> None:
    # The single charger's path: the same decisions as its controller alone, second by second.
    site = Site()
    alone = SmartController()
    ports = {1: car(ChargingMode.SOLAR, power_w=4140.0, limit_a=6), 2: car(power_w=0.0, limit_a=0)}
    for second in range(30):
        now = 1000.0 + second
        grid = -3000.0 + 100 * second
        decided, _ = site.step(GridReading(now=now, grid_w=grid, peak_limit_w=8000.0), {"a": ports})
        expected, _ = alone.step(Inputs(now=now, grid_w=grid, peak_limit_w=8000.0, ports=ports))
        assert decided["a"] == expected


def test_each_chargers_plan_goes_to_its_own_port() -> None:
    # Two chargers, both port 1, both in Planned: only the second's plan says charge now. The plans are keyed by
    # charger, so the first's port stays paused and the second's gets the plan's current, not the other way round.
    site = Site()
    planned = car(ChargingMode.PLANNED)
    members = {"first": {1: planned}, "second": {1: planned}}
    plans = {
        "first": {1: PlanWish(0, Reason.PLAN_WAITING)},
        "second": {1: PlanWish(10, Reason.PLANNED)},
    }
    decisions, _ = site.step(GridReading(now=1000.0, grid_w=500.0), members, lambda: plans)
    assert decisions["first"][1] == PortDecision(Reason.PLAN_WAITING, 0)
    assert decisions["second"][1].reason is Reason.PLANNED
    assert decisions["second"][1].target_a == 10
    # A charger whose plans are not given (no price sensor) plans nothing: Planned without a plan holds it paused.
    decisions, _ = site.step(GridReading(now=1001.0, grid_w=500.0), members, lambda: {"second": plans["second"]})
    assert decisions["first"][1].target_a == 0
    assert decisions["second"][1].target_a == 10
    # Every port Manual: nothing is decided, and the plans are not asked for (Manual is not followed).
    asked: list[bool] = []

    def plans_asked() -> dict[str, dict[int, PlanWish]]:
        asked.append(True)
        return plans

    manual = {"first": {1: car(ChargingMode.MANUAL)}, "second": {1: car(ChargingMode.MANUAL)}}
    decisions, _ = site.step(GridReading(now=1002.0, grid_w=500.0), manual, plans_asked)
    assert decisions == {"first": {}, "second": {}}
    assert asked == []
