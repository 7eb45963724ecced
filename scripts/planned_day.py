"""An evening and night of planned charging through the controller: the README's picture and its figures.

The wired path (tests/smart/site.py: the pure controller fed each second by plan_rule.py's PlanBook, as the manager
feeds it; a car that takes 16 A; a house with a heat pump under a peak limit), on a winter weekday's quarter-hour
prices (tests/smart/price_days.py), beside the same car charged at once (Fast). Draws the prices, the car's power
and the house's, with Pillow.
"""

from __future__ import annotations

import argparse
from pathlib import Path
import sys

from PIL import Image, ImageDraw, ImageFont

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from custom_components.enovates.smart.controller import ChargingMode  # noqa: E402
from custom_components.enovates.smart.plan_rule import PlanInputs  # noqa: E402
from custom_components.enovates.smart.prices import Prices, PriceSource  # noqa: E402
from tests.smart.price_days import WINTER_WEEKDAY, day_prices  # noqa: E402
from tests.smart.site import MIDNIGHT, SitePlan, Trace, run_site  # noqa: E402

START_H, END_H = 17, 31  # 17:00 to 07:00 the next morning
PLUGGED_H, READY_H = 18, 31
ENERGY_KWH = 30.0
PEAK_LIMIT_W = 9000.0
WIDTH, HEIGHT = 1200, 620
LEFT, RIGHT, TOP, BOTTOM = 70, 70, 60, 60
MAX_KW = 12
MAX_CENTS = 25
COLOURS = {"Price": (200, 60, 60), "House (quarter hour)": (110, 110, 110), "Car": (30, 110, 220)}
STEP_S = 60


def prices() -> Prices:
    """Return two winter weekdays of quarter-hour prices (EUR per kWh) from the site's first midnight."""
    slots = [*day_prices(MIDNIGHT, WINTER_WEEKDAY, seed=1), *day_prices(MIDNIGHT + 86400, WINTER_WEEKDAY, seed=2)]
    return Prices(PriceSource.ENTSOE, "EUR", tuple(slots))


def house(seconds: int) -> list[float]:
    """Return a house of 500 W, 1.5 kW more in the evening (cooking, washing), a heat pump of 3 kW 3 minutes in 7."""
    values = []
    for second in range(seconds):
        hour = START_H + second / 3600
        evening = 1500.0 if hour < 22 else 0.0
        values.append(500.0 + evening + (3000.0 if second % 420 < 180 else 0.0))
    return values


def night(mode: ChargingMode) -> Trace:
    """Run the night in `mode` (Planned, or Fast: at once)."""
    seconds = (END_H - START_H) * 3600
    planned = mode is ChargingMode.PLANNED
    return run_site(
        SitePlan(
            start_s=START_H * 3600,
            pv_w=[0.0] * seconds,
            house_w=house(seconds),
            modes=((0, mode),),
            plugged=((PLUGGED_H * 3600, 10**9),),
            peak_limits=((0, PEAK_LIMIT_W),),
            prices=prices() if planned else None,
            ask=PlanInputs(ready_by=MIDNIGHT + READY_H * 3600, energy_kwh=ENERGY_KWH) if planned else None,
        )
    )


def cost(trace: Trace, until_kwh: float | None = None) -> tuple[float, float]:
    """Return the car's energy (kWh) and what it cost (EUR), up to `until_kwh` if given."""
    per_quarter = {slot.start: slot.price for slot in prices().slots}
    start = MIDNIGHT + trace.plan.start_s
    energy = euros = 0.0
    for index, watts in enumerate(trace.car_w):
        if until_kwh is not None and energy >= until_kwh:
            break
        moment = start + index
        energy += watts / 3_600_000
        euros += watts / 3_600_000 * per_quarter[moment - moment % 900]
    return energy, euros


def draw(trace: Trace, path: Path, title: str) -> None:
    """Plot the prices (right axis), the car's and the house's power (left axis)."""
    image = Image.new("RGB", (WIDTH, HEIGHT), "white")
    pen = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=15)
    heading = ImageFont.load_default(size=18)

    def x(hour: float) -> float:
        return LEFT + (hour - START_H) / (END_H - START_H) * (WIDTH - LEFT - RIGHT)

    def y(kw: float) -> float:
        return HEIGHT - BOTTOM - kw / MAX_KW * (HEIGHT - TOP - BOTTOM)

    def y_cents(cents: float) -> float:
        return HEIGHT - BOTTOM - cents / MAX_CENTS * (HEIGHT - TOP - BOTTOM)

    for kw in range(0, MAX_KW + 1, 2):
        pen.line([(LEFT, y(kw)), (WIDTH - RIGHT, y(kw))], fill=(230, 230, 230))
        pen.text((LEFT - 10, y(kw)), f"{kw}", fill="black", font=font, anchor="rm")
    for cents in range(0, MAX_CENTS + 1, 5):
        pen.text((WIDTH - RIGHT + 10, y_cents(cents)), f"{cents}", fill=COLOURS["Price"], font=font, anchor="lm")
    for hour in range(START_H, END_H + 1):
        pen.line([(x(hour), HEIGHT - BOTTOM), (x(hour), HEIGHT - BOTTOM + 5)], fill="black")
        pen.text((x(hour), HEIGHT - BOTTOM + 8), f"{hour % 24}:00", fill="black", font=font, anchor="mt")
    pen.line(
        [(LEFT, TOP), (LEFT, HEIGHT - BOTTOM), (WIDTH - RIGHT, HEIGHT - BOTTOM), (WIDTH - RIGHT, TOP)], fill="black"
    )
    pen.text((LEFT - 10, TOP - 18), "kW", fill="black", font=font, anchor="rm")
    # the default font has no euro sign
    pen.text((WIDTH - RIGHT + 10, TOP - 18), "ct/kWh", fill=COLOURS["Price"], font=font, anchor="lm")
    # the ready-by time, and the peak limit
    pen.line([(x(READY_H), TOP), (x(READY_H), HEIGHT - BOTTOM)], fill=(40, 160, 60), width=2)
    pen.text((x(READY_H) - 6, TOP + 40), "ready by", fill=(40, 160, 60), font=font, anchor="rm")
    pen.line([(x(START_H), y(PEAK_LIMIT_W / 1000)), (x(END_H), y(PEAK_LIMIT_W / 1000))], fill=(200, 200, 200), width=2)
    pen.text((x(START_H) + 6, y(PEAK_LIMIT_W / 1000) - 4), "peak limit", fill=(150, 150, 150), font=font, anchor="lb")

    start_s = trace.plan.start_s
    points = []
    for index in range(0, len(trace.car_w) - STEP_S + 1, STEP_S):
        hour = (start_s + index + STEP_S / 2) / 3600
        points.append((hour, sum(trace.car_w[index : index + STEP_S]) / STEP_S / 1000))
    pen.polygon(
        [(x(points[0][0]), y(0)), *((x(h), y(kw)) for h, kw in points), (x(points[-1][0]), y(0))], fill=(205, 222, 247)
    )
    pen.line([(x(h), y(kw)) for h, kw in points], fill=COLOURS["Car"], width=2)
    house_points = []  # quarter-hour averages: the heat pump's cycles would hide the rest
    for index in range(0, len(trace.plan.house_w) - 900 + 1, 900):
        hour = (start_s + index) / 3600
        average = sum(trace.plan.house_w[index : index + 900]) / 900 / 1000
        house_points += [(hour, average), (hour + 0.25, average)]
    pen.line([(x(h), y(kw)) for h, kw in house_points], fill=COLOURS["House (quarter hour)"], width=2)
    steps = []
    for slot in prices().slots:
        hour = (slot.start - MIDNIGHT) / 3600
        if START_H <= hour < END_H:
            steps += [(x(hour), y_cents(slot.price * 100)), (x(hour + 0.25), y_cents(slot.price * 100))]
    pen.line(steps, fill=COLOURS["Price"], width=2)
    legend_x = LEFT + 20
    for name, colour in COLOURS.items():
        pen.line([(legend_x, TOP + 12), (legend_x + 30, TOP + 12)], fill=colour, width=4)
        pen.text((legend_x + 38, TOP + 12), name, fill="black", font=font, anchor="lm")
        legend_x += 200
    pen.text((WIDTH / 2, 25), title, fill="black", font=heading, anchor="mm")
    image.save(path, optimize=True)


def main() -> None:
    """Print the figures; draw the picture unless --no-picture."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--no-picture", action="store_true", help="only print the figures")
    parser.add_argument("--output", type=Path, default=ROOT / "docs" / "images" / "planned-night.png")
    args = parser.parse_args()
    planned = night(ChargingMode.PLANNED)
    ready = planned.index(READY_H * 3600)
    energy, euros = cost(planned)
    by_ready = sum(planned.car_w[:ready]) / 3_600_000
    at_once_energy, at_once = cost(night(ChargingMode.FAST), until_kwh=ENERGY_KWH)
    starts = sum(1 for move in planned.moves if move.closing)
    print(
        f"Planned, a winter weekday (home {PLUGGED_H}:00, {ENERGY_KWH:g} kWh by {READY_H % 24:02d}:00, a "
        f"{PEAK_LIMIT_W / 1000:g} kW peak limit with a heat pump): {by_ready:.1f} kWh in by the time for "
        f"€{euros:.2f} ({energy:.1f} kWh), {starts} start(s); at once (Fast): €{at_once:.2f} for {at_once_energy:.1f} "
        f"kWh; saved €{at_once - euros:.2f} ({1 - euros / at_once:.0%})"
    )
    if not args.no_picture:
        draw(
            planned,
            args.output,
            f"Planned: {by_ready:.0f} kWh by 7:00 for EUR {euros:.2f} in the cheapest hours, "
            f"EUR {at_once:.2f} at once ({1 - euros / at_once:.0%} saved)",
        )
        print(f"drew {args.output.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
