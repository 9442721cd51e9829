#!/usr/bin/env python3
"""Prints the median of each figure over the runs in measurements/results/.

Usage: measurements/summarize.py measurements/results
"""
import json
import statistics
import sys
from pathlib import Path

# (scenario, figure, label, unit, scale)
FIGURES = [
    ("A-burst", "deliveries_per_sec", "deliveries/s", "M/s", 1e-6),
    ("A-burst", "latency_p99_us", "p99 latency", "ms", 1e-3),
    ("A-burst", "rss_growth_kib", "RSS growth", "MiB", 1 / 1024),
    ("A-burst", "missing", "lost silently", "", 1),
    ("A-burst", "told_missed", "dropped and told", "", 1),
    ("B-steady", "latency_p50_us", "p50 latency", "ms", 1e-3),
    ("B-steady", "latency_p99_us", "p99 latency", "ms", 1e-3),
    ("B-steady", "cpu_send_secs", "server CPU", "s", 1),
    ("C-crowd", "registered", "clients registered (of 10,000)", "", 1),
    ("C-crowd", "register_secs", "time to register them", "s", 1),
    ("C-crowd", "latency_max_us", "one message reached all in", "ms", 1e-3),
    ("C-crowd", "notices", "notices received", "", 1),
    ("D-idle", "registered", "clients registered (of 10,000)", "", 1),
    ("D-idle", "kib_per_connection", "RSS per idle connection", "KiB", 1),
]


def runs(path):
    """The runs in one .jsonl file, with derived figures added."""
    found = []
    for line in path.read_text().splitlines():
        try:
            run = json.loads(line)
        except json.JSONDecodeError:
            continue
        if run.get("rss_peak_kib") is not None and run.get("rss_connected_kib") is not None:
            run["rss_growth_kib"] = run["rss_peak_kib"] - run["rss_connected_kib"]
        found.append(run)
    return found


def main():
    results = Path(sys.argv[1] if len(sys.argv) > 1 else "measurements/results")
    stages = ["stage5-async", "stage6-shutdown"]
    print(f"{'scenario':10} {'figure':31} {stages[0]:>16} {stages[1]:>16}   (median of runs)")
    for scenario, key, label, unit, scale in FIGURES:
        cells = []
        for stage in stages:
            path = results / f"{stage}-{scenario}.jsonl"
            found = runs(path) if path.exists() else []
            if key == "kib_per_connection":
                # Only a run that registered everyone and then measured is idle.
                found = [r for r in found if r.get("ended") == "idle-measured"]
            values = [r[key] for r in found if r.get(key) is not None]
            if values:
                median = statistics.median(values) * scale
                cells.append(f"{median:,.2f} {unit}".strip() + f" ({len(values)})")
            else:
                cells.append("-")
        print(f"{scenario:10} {label:31} {cells[0]:>16} {cells[1]:>16}")


if __name__ == "__main__":
    main()
