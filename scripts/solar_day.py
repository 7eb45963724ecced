"""A simulated day of solar charging: the README's figures, and its picture drawn with Pillow.

Runs the same day as tests/smart/test_scenarios.py (the pure controller in Solar mode, the simulator's charger and
car, a household with panels under passing clouds), then plots the power of the panels, the house and the car.
"""

from __future__ import annotations

import argparse
from pathlib import Path
import sys

from PIL import Image, ImageDraw, ImageFont

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.smart.simulated_day import (  # noqa: E402
    PEAK_LIMIT_W,
    SUNNY_DAY,
    DayResult,
    peak_guarded_evening,
    sunny_day_with_clouds,
)

START_H, END_H = SUNNY_DAY[0] // 3600, SUNNY_DAY[1] // 3600
WIDTH, HEIGHT = 1200, 520
LEFT, RIGHT, TOP, BOTTOM = 70, 30, 60, 60
MAX_KW = 9
COLOURS = {"Solar panels": (242, 163, 0), "House": (110, 110, 110), "Car": (30, 110, 220)}
STEP_S = 60  # one point a minute (the mean of its seconds)


def series(day: DayResult, values: list[float], start_s: int) -> list[tuple[float, float]]:
    """Return (hour, kW) points, one per minute."""
    points = []
    for index in range(0, len(values) - STEP_S + 1, STEP_S):
        chunk = values[index : index + STEP_S]
        points.append(((start_s + index + STEP_S / 2) / 3600, sum(chunk) / len(chunk) / 1000))
    return points


def draw(day: DayResult, path: Path, start_s: int) -> None:
    """Plot the day's power of the panels, the house and the car."""
    image = Image.new("RGB", (WIDTH, HEIGHT), "white")
    pen = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=15)
    title = ImageFont.load_default(size=18)

    def x(hour: float) -> float:
        return LEFT + (hour - START_H) / (END_H - START_H) * (WIDTH - LEFT - RIGHT)

    def y(kw: float) -> float:
        return HEIGHT - BOTTOM - kw / MAX_KW * (HEIGHT - TOP - BOTTOM)

    for kw in range(MAX_KW + 1):
        pen.line([(LEFT, y(kw)), (WIDTH - RIGHT, y(kw))], fill=(230, 230, 230))
        pen.text((LEFT - 10, y(kw)), f"{kw}", fill="black", font=font, anchor="rm")
    for hour in range(START_H, END_H + 1):
        pen.line([(x(hour), HEIGHT - BOTTOM), (x(hour), HEIGHT - BOTTOM + 5)], fill="black")
        pen.text((x(hour), HEIGHT - BOTTOM + 8), f"{hour}:00", fill="black", font=font, anchor="mt")
    pen.line([(LEFT, TOP), (LEFT, HEIGHT - BOTTOM), (WIDTH - RIGHT, HEIGHT - BOTTOM)], fill="black")
    pen.text((LEFT - 10, TOP - 18), "kW", fill="black", font=font, anchor="rm")

    car = series(day, day.car_w, start_s)
    pen.polygon([(x(car[0][0]), y(0)), *((x(h), y(kw)) for h, kw in car), (x(car[-1][0]), y(0))], fill=(205, 222, 247))
    for name, values in (("Solar panels", day.pv_w), ("House", day.house_w), ("Car", day.car_w)):
        pen.line([(x(h), y(kw)) for h, kw in series(day, values, start_s)], fill=COLOURS[name], width=2)
    legend_x = LEFT + 20
    for name, colour in COLOURS.items():
        pen.line([(legend_x, TOP + 12), (legend_x + 30, TOP + 12)], fill=colour, width=4)
        pen.text((legend_x + 38, TOP + 12), name, fill="black", font=font, anchor="lm")
        legend_x += 170
    pen.text(
        (WIDTH / 2, 25),
        f"Solar mode on a day with clouds: {day.car_energy_wh / 1000:.1f} kWh into the car, "
        f"{day.solar_share:.0%} from surplus, at most {day.worst_switches_per_hour} contactor moves an hour",
        fill="black",
        font=title,
        anchor="mm",
    )
    image.save(path, optimize=True)


def main() -> None:
    """Print the figures; draw the picture unless --no-picture."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--no-picture", action="store_true", help="only print the figures")
    parser.add_argument("--output", type=Path, default=ROOT / "docs" / "images" / "solar-day.png")
    args = parser.parse_args()
    day = sunny_day_with_clouds()
    print(
        f"Solar mode, a sunny day with clouds (tests/smart/test_scenarios.py): {day.car_energy_wh / 1000:.1f} kWh "
        f"into the car, {day.solar_share:.1%} of it from surplus; at most {day.worst_switches_per_hour} contactor "
        f"moves in any hour; {day.writes} limit writes"
    )
    evening = peak_guarded_evening()
    quarters = list(evening.quarters_w.values())
    free = evening.quarters_running_free_w()
    print(
        f"Peak guard at {PEAK_LIMIT_W / 1000:g} kW, the house load jumping by 3.5 kW every 20 minutes: "
        f"worst quarter {max(quarters):.0f} W ({max(quarters) / PEAK_LIMIT_W - 1:+.2%} of the limit), "
        f"{len(quarters)} quarters; {len(quarters) - len(free)} in which a start waited for the contactor "
        f"(at most {evening.worst_switches_per_hour} moves in any hour); the others from {min(free):.0f} W, "
        f"{sum(1 for average in free if average >= PEAK_LIMIT_W * 0.99)} of them at 99% of the limit or more"
    )
    if not args.no_picture:
        draw(day, args.output, SUNNY_DAY[0])
        print(f"drew {args.output.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
