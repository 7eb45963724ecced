"""The quarter hour by the meter's own count: a Belgian meter's running average, where it reports one."""

from __future__ import annotations

import pytest

from custom_components.enovates.smart.meter_quarter import (
    EDGE_S,
    LATE_S,
    TAKE_WITHIN_S,
    MeteredQuarter,
    QuarterSource,
)
from custom_components.enovates.smart.model import MeterFigures
from custom_components.enovates.smart.quarter import MIN_KNOWN_S, QUARTER_S, QuarterMeter

T0 = 1_800_000_000.0  # a quarter's start (a multiple of 900 s)
assert T0 % QUARTER_S == 0


def figures(average_w: float | None, at: float | None, peak_w: float | None = None) -> MeterFigures:
    return MeterFigures(average_w=average_w, average_at=at, month_peak_w=peak_w)


def test_without_the_meter_s_figures_it_is_our_own_count() -> None:
    quarter = MeteredQuarter()
    for second in range(100):
        quarter.add(T0 + second, 2000, meter=None if second % 2 else figures(None, None))
    assert quarter.source is QuarterSource.OWN
    assert quarter.average_w == pytest.approx(2000)
    assert quarter.known_s == 99


def test_the_meter_counts_the_quarter_before_home_assistant_started() -> None:
    # The house drew 4 kW all quarter; Home Assistant starts 10 minutes in: our own count knows 5 minutes, too
    # little to keep, while the meter's average covers the whole quarter.
    quarter = MeteredQuarter()
    for second in range(600, 900):
        quarter.add(T0 + second, 4000, meter=figures(4000, T0 + second))
    assert quarter.source is QuarterSource.METER
    assert quarter.average_w == pytest.approx(4000)
    # The last 10 s are no figure's (the meter's clock may be in the next quarter): ours, from the last one taken.
    assert quarter.allowed_import_w(T0 + 899, 5000) == pytest.approx((5000 * QUARTER_S - 4000 * 899) / 1)
    closed = quarter.add(T0 + 900, 4000, meter=figures(4000, T0 + 900))
    assert closed == (T0, pytest.approx(4000))
    # Our own count alone would have kept nothing: too little of the quarter known.
    own = QuarterMeter()
    for second in range(600, 901):
        closed = own.add(T0 + second, 4000)
    assert closed is None
    assert MIN_KNOWN_S > 300


def test_the_meter_s_figure_wins_over_our_own_count() -> None:
    # A reading every 10 s missed the house's load between them: the meter's average says 3 kW where we count 2 kW.
    quarter = MeteredQuarter()
    for second in range(300):
        quarter.add(T0 + second, 2000, meter=figures(3000, T0 + second))
    assert quarter.average_w == pytest.approx(3000, rel=0.005)
    # The budget of the rest of the quarter is the meter's: 5 kW for 900 s less its 3 kW for 298 s (and our 1 s).
    spent = 3000 * 298 + 2000 * 1
    assert quarter.allowed_import_w(T0 + 299, 5000) == pytest.approx((5000 * QUARTER_S - spent) / 601, rel=0.001)


@pytest.mark.parametrize(
    ("reported_at", "taken"),
    [
        (T0 + EDGE_S - 1, False),  # just after the start: maybe the quarter before, on the meter's clock
        (T0 - 1, False),  # the quarter before
        (T0 + QUARTER_S - EDGE_S + 1, False),  # just before the end: maybe the next quarter already
        (T0 + 450, True),
    ],
)
def test_a_figure_at_a_quarter_s_edge_is_not_taken(reported_at: float, taken: bool) -> None:
    quarter = MeteredQuarter()
    quarter.add(reported_at - 1 if reported_at > T0 else T0, 1000)
    quarter.add(reported_at + 1 if reported_at > T0 else T0 + 1, 1000, meter=figures(50, reported_at))
    assert quarter.source is QuarterSource.METER
    assert (quarter.average_w == pytest.approx(50, rel=0.01)) is taken


def test_a_meter_that_stops_reporting_leaves_the_quarter_to_our_count_from_its_last_figure() -> None:
    quarter = MeteredQuarter()
    for second in range(100):
        quarter.add(T0 + second, 1000, meter=figures(2000, T0 + second))
    last = T0 + 99
    for second in range(100, 100 + int(LATE_S)):
        quarter.add(T0 + second, 1000, meter=figures(2000, last))
    assert quarter.source is QuarterSource.METER  # not late yet: LATE_S since its last figure
    quarter.add(T0 + 100 + LATE_S, 1000, meter=figures(2000, last))
    assert quarter.source is QuarterSource.OWN
    # The meter's 2 kW for its 99 s, our 1 kW since.
    elapsed = 100 + LATE_S
    assert quarter.average_w == pytest.approx((2000 * 99 + 1000 * (elapsed - 99)) / elapsed, rel=0.01)


def test_a_figure_seen_long_after_its_report_is_not_taken() -> None:
    # Home Assistant was busy: the figure's moment is too far back to join our count.
    quarter = MeteredQuarter()
    quarter.add(T0 + 100, 1000)
    quarter.add(T0 + 101, 1000)
    quarter.add(T0 + 102 + TAKE_WITHIN_S, 1000, meter=figures(3000, T0 + 101))
    assert quarter.source is QuarterSource.METER
    assert quarter.average_w == pytest.approx(1000)


def test_a_negative_average_is_no_figure() -> None:
    quarter = MeteredQuarter()
    quarter.add(T0 + 100, 1000, meter=figures(-500, T0 + 100))
    quarter.add(T0 + 101, 1000, meter=figures(-500, T0 + 101))
    assert quarter.source is QuarterSource.OWN
    assert quarter.average_w == pytest.approx(1000)


def test_a_new_quarter_starts_on_our_count_until_the_meter_s_first_figure_of_it() -> None:
    quarter = MeteredQuarter()
    for second in range(890, 905):
        quarter.add(T0 + second, 1000, meter=figures(3000, T0 + second))
    # The new quarter (from T0 + 900): the meter's figures of its first seconds are not taken yet.
    assert quarter.start == T0 + QUARTER_S
    assert quarter.average_w == pytest.approx(1000)
    for second in range(905, 920):
        quarter.add(T0 + second, 1000, meter=figures(3000, T0 + second))
    assert quarter.average_w == pytest.approx(3000, rel=0.01)
