"""Print benchmarks/results.json (and slow_link_results.json, if given) as Markdown tables.

docs/development.md quotes them under "Performance"; tests/test_docs.py checks that it quotes the committed results.
"""

from __future__ import annotations

import json
from pathlib import Path
import sys

ROWS = [
    ("Modbus requests/s per charger (minimum for the tiers)", "requests_per_s_per_charger", "{:.2f}"),
    ("", "minimum_requests_per_s_per_charger", "({:.2f})"),
    ("Modbus bytes/s per charger", "bytes_per_s_per_charger", "{:.0f}"),
    ("event-loop CPU per charger, ms per s", "loop_cpu_ms_per_charger_per_s", "{:.2f}"),
    ("event loop busy, % of one core", "loop_busy_percent", "{:.1f}"),
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


SLOW_LINK_COLUMNS = [
    ("unavailable, % of the time", "unavailable_percent", "{:.1f}"),
    ("connections opened (after the first)", "connections_opened", "{:d}"),
    ("worst age of the power value, s", "worst_power_age_s", "{:.1f}"),
    ("requests/s", "requests_per_s", "{:.2f}"),
    ("event-loop CPU, ms per s", "loop_cpu_ms_per_s", "{:.2f}"),
    ("a 30 s stall: new connections", "stall_connections_opened", "{:d}"),
    ("back after the stall, s", "stall_recovery_s", "{:.1f}"),
    ("setup, s", "setup_s", "{:.1f}"),
]


def slow_link_table(path: Path) -> None:
    """Print one row per link: how late the charger answers."""
    results = json.loads(path.read_text())
    print("\n| answers | " + " | ".join(label for label, _, _ in SLOW_LINK_COLUMNS) + " |")
    print("|---|" + "---|" * len(SLOW_LINK_COLUMNS))
    for link, result in results.items():
        print(f"| {link} | " + " | ".join(fmt.format(result[key]) for _, key, fmt in SLOW_LINK_COLUMNS) + " |")
    first = next(iter(results.values()))
    print(f"\n{first['seconds']:.0f} s watched per link after setup, then a 30 s stall; one single-port charger.")


def main() -> None:
    """Print one column per number of chargers, then the slow-link table."""
    results = json.loads(Path(sys.argv[1]).read_text())
    counts = sorted(results, key=int)
    print("| | " + " | ".join(f"N = {n}" for n in counts) + " |")
    print("|---|" + "---|" * len(counts))
    rows: list[tuple[str, list[str]]] = []
    for label, key, fmt in ROWS:
        cells = [fmt.format(results[n][key]) for n in counts]
        if label:
            rows.append((label, cells))
        else:
            rows[-1] = (
                rows[-1][0],
                [
                    f"{a} / {b}" if not b.startswith("(") else f"{a} {b}"
                    for a, b in zip(rows[-1][1], cells, strict=True)
                ],
            )
    for label, cells in rows:
        print(f"| {label} | " + " | ".join(cells) + " |")
    first = results[counts[0]]
    print(f"\n{first['seconds']:.0f} s at the real polling rates per run; {first['machine']}.")
    if len(sys.argv) > 2 and Path(sys.argv[2]).exists():
        slow_link_table(Path(sys.argv[2]))


if __name__ == "__main__":
    main()
