"""Print benchmarks/results.json (and slow_link_results.json, if given) as Markdown tables.

docs/development.md quotes them under "Performance", the README (`--readme`: the figures a user asks about) under
"What it costs"; tests/test_docs.py checks that both quote the committed results.
"""

from __future__ import annotations

import json
from pathlib import Path
import sys
from typing import Any

ACTIVITIES = ("idle", "charging")
WITHOUT_SMART = " without smart charging"
ROWS = [
    ("Modbus requests/s per charger (minimum for the tiers)", "requests_per_s_per_charger", "{:.2f}"),
    ("", "minimum_requests_per_s_per_charger", "({:.2f})"),
    ("Modbus bytes/s per charger", "bytes_per_s_per_charger", "{:.0f}"),
    ("event-loop CPU per charger, ms per s", "loop_cpu_ms_per_charger_per_s", "{:.2f}"),
    ("event loop busy, % of one core", "loop_busy_percent", "{:.1f}"),
    ("state writes/s per charger (of which changed nothing)", "state_writes_per_s_per_charger", "{:.2f}"),
    ("", "unchanged_state_writes_per_s_per_charger", "({:.2f})"),
    ("largest event-loop stall, ms", "max_loop_stall_ms", "{:.1f}"),
    ("1 s tick late, p95 / max, ms", "tick_late_ms_p95", "{:.1f}"),
    ("", "tick_late_ms_max", "{:.1f}"),
    ("setup per charger, median / max, ms", "setup_ms_median", "{:.0f}"),
    ("", "setup_ms_max", "{:.0f}"),
    ("EMS write to register, median / p95, ms", "ems_write_ms_median", "{:.1f}"),
    ("", "ems_write_ms_p95", "{:.1f}"),
    ("EMS write to entity state, median / p95, ms", "ems_state_ms_median", "{:.1f}"),
    ("", "ems_state_ms_p95", "{:.1f}"),
    ("memory per charger, KiB (traced)", "memory_kib_per_charger", "{:.0f}"),
]
COST_ROWS = [
    ("event-loop CPU per charger, ms per s", "loop_cpu_ms_per_charger_per_s", "{:.2f}"),
    ("state writes/s per charger", "state_writes_per_s_per_charger", "{:.2f}"),
    ("Modbus requests/s per charger", "requests_per_s_per_charger", "{:.2f}"),
]

# (label, key while charging, key while idle or None, format); a pair is shown "charging / idle".
SLOW_LINK_COLUMNS: list[tuple[str, str, str | None, str]] = [
    ("bound: 2*r* + 1 (3*r*), s", "bound_s", None, "{:.1f}"),
    ("", "one_request_between_polls_s", None, "({:.1f})"),
    ("charging: worst age of power / current offered, s", "worst_measurements_age_s", None, "{:.1f}"),
    ("", "worst_current_offered_age_s", None, "{:.1f}"),
    ("charging: worst age of state / EMS limit, s", "worst_state_age_s", None, "{:.1f}"),
    ("", "worst_ems_limit_age_s", None, "{:.1f}"),
    ("idle: worst age of state / EMS limit, s", "", "worst_state_age_s", "{:.1f}"),
    ("", "", "worst_ems_limit_age_s", "{:.1f}"),
    ("requests/s, charging / idle", "requests_per_s", "requests_per_s", "{:.2f}"),
    ("event-loop CPU, ms per s, charging / idle", "loop_cpu_ms_per_s", "loop_cpu_ms_per_s", "{:.2f}"),
    ("unavailable, % of the time", "unavailable_percent", None, "{:.1f}"),
    ("connections opened (after the first)", "connections_opened", None, "{:d}"),
    ("a 30 s stall: new connections", "stall_connections_opened", None, "{:d}"),
    ("back after the stall, s", "stall_recovery_s", None, "{:.1f}"),
    ("setup, s", "setup_s", None, "{:.1f}"),
]


def _merge(rows: list[tuple[str, list[str]]], label: str, cells: list[str]) -> None:
    """Add a row, or (no label) put the cells next to the last row's: "a / b", or "a (b)" for a bracketed one."""
    if label:
        rows.append((label, cells))
        return
    last_label, last_cells = rows[-1]
    rows[-1] = (
        last_label,
        [f"{a} / {b}" if not b.startswith("(") else f"{a} {b}" for a, b in zip(last_cells, cells, strict=True)],
    )


def _print(header: list[str], rows: list[tuple[str, list[str]]]) -> None:
    print("| " + " | ".join(header) + " |")
    print("|---|" + "---|" * (len(header) - 1))
    for label, cells in rows:
        print(f"| {label} | " + " | ".join(cells) + " |")


def scale_tables(results: dict[str, Any]) -> None:
    """One column per number of chargers and activity, with smart charging on; then what smart charging costs."""
    runs = [key for key in results if not key.endswith(WITHOUT_SMART)]
    runs.sort(key=lambda key: (int(key.split()[0]), ACTIVITIES.index(key.split()[1])))
    rows: list[tuple[str, list[str]]] = []
    for label, key, fmt in ROWS:
        _merge(rows, label, [fmt.format(results[run][key]) for run in runs])
    _print(["", *(f"N = {run.replace(' ', ', ')}" for run in runs)], rows)
    first = results[runs[0]]
    print(f"\n{first['seconds']:.0f} s at the real polling rates per run; {first['machine']}.")
    compared = sorted((key for key in results if key.endswith(WITHOUT_SMART)), key=lambda key: int(key.split()[0]))
    if compared:
        print()
        cost: list[tuple[str, list[str]]] = []
        for label, key, fmt in COST_ROWS:
            cells = []
            for without in compared:
                with_smart = results[without.removesuffix(WITHOUT_SMART)]
                cells.append(f"{fmt.format(results[without][key])} / {fmt.format(with_smart[key])}")
            cost.append((f"{label}, smart charging off / on", cells))
        _print(["charging", *(f"N = {key.split()[0]}" for key in compared)], cost)


def slow_link_table(path: Path) -> None:
    """Print one row per link: how late the charger answers; charging and idle side by side."""
    results = json.loads(path.read_text())
    links = list(dict.fromkeys(result["link"] for result in results.values()))
    rows: list[tuple[str, list[str]]] = []
    for link in links:
        charging, idle = results.get(f"{link} charging", {}), results.get(f"{link} idle", {})
        cells: list[tuple[str, str]] = []
        for label, charging_key, idle_key, fmt in SLOW_LINK_COLUMNS:
            values = [
                fmt.format(run[key]) if key in run else "-"
                for run, key in ((charging, charging_key), (idle, idle_key))
                if key
            ]
            cell = " / ".join(values)
            if label:
                cells.append((label, cell))
            else:
                joint = " " if cell.startswith("(") else " / "
                cells[-1] = (cells[-1][0], f"{cells[-1][1]}{joint}{cell}")
        rows.append((link, [cell for _, cell in cells]))
    labels = [label for label, *_ in SLOW_LINK_COLUMNS if label]
    print()
    _print(["answers (*r*)", *labels], rows)
    first = next(iter(results.values()))
    print(
        f"\n{first['seconds']:.0f} s watched per link and activity after setup (ages sampled every 50 ms), then a 30 s"
        " stall while charging; one single-port charger, smart charging on."
    )


def readme_tables(results: dict[str, Any], slow: dict[str, Any]) -> None:
    """The user's figures: load while idle and charging, then freshness on a slow link against its bound."""
    counts = sorted({int(key.split()[0]) for key in results if not key.endswith(WITHOUT_SMART)})
    rows = []
    for label, key, fmt in (
        ("Modbus requests/s per charger", "requests_per_s_per_charger", "{:.2f}"),
        ("Home Assistant's CPU per charger, ms per s", "loop_cpu_ms_per_charger_per_s", "{:.2f}"),
        ("state writes/s per charger", "state_writes_per_s_per_charger", "{:.2f}"),
    ):
        cells = [" / ".join(fmt.format(results[f"{n} {activity}"][key]) for activity in ACTIVITIES) for n in counts]
        rows.append((f"{label}, idle / charging", cells))
    _print(["", *(f"{n} charger{'s' * (n > 1)}" for n in counts)], rows)
    print()
    rows = []
    for result in slow.values():
        if result["activity"] != "charging" or result["answer_s"] < 0.5 or result["link"].startswith("5%"):
            continue
        idle = slow.get(f"{result['link']} idle", {})
        rows.append(
            (
                result["link"],
                [
                    f"{result['worst_measurements_age_s']:.1f} / {result['worst_current_offered_age_s']:.1f}",
                    f"{result['bound_s']:.1f}",
                    f"{result['one_request_between_polls_s']:.1f}",
                    f"{idle['worst_state_age_s']:.1f}" if idle else "-",
                ],
            )
        )
    _print(
        [
            "answers take (*r*)",
            "power / current offered at most, s old",
            "2*r* + 1, s",
            "3*r*, s",
            "idle: state (a car arriving) at most, s old",
        ],
        rows,
    )


def main() -> None:
    """Print the scale tables, then the slow-link table; or, with --readme first, the README's tables."""
    arguments = sys.argv[1:]
    if arguments[0] == "--readme":
        readme_tables(json.loads(Path(arguments[1]).read_text()), json.loads(Path(arguments[2]).read_text()))
        return
    scale_tables(json.loads(Path(arguments[0]).read_text()))
    if len(arguments) > 1 and Path(arguments[1]).exists():
        slow_link_table(Path(arguments[1]))


if __name__ == "__main__":
    main()
