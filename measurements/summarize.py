#!/usr/bin/env python3
"""Prints the median of each figure over the runs in measurements/results/.

Usage: measurements/summarize.py measurements/results
"""
import json
import re
import statistics
import sys
from pathlib import Path

# (scenario, figure, label, unit, scale), for stages 5 and 6
FIGURES = [
    ("A-burst", "deliveries_per_sec", "deliveries/s", "M/s", 1e-6),
    ("A-burst", "latency_p99_us", "p99 latency", "ms", 1e-3),
    ("A-burst", "latency_p999_us", "p99.9 latency", "ms", 1e-3),
    ("A-burst", "rss_growth_kib", "RSS growth", "MiB", 1 / 1024),
    ("A-burst", "missing", "lost silently", "", 1),
    ("A-burst", "told_missed", "dropped and told", "", 1),
    ("B-steady", "latency_p50_us", "p50 latency", "ms", 1e-3),
    ("B-steady", "latency_p99_us", "p99 latency", "ms", 1e-3),
    ("B-steady", "latency_p999_us", "p99.9 latency", "ms", 1e-3),
    ("B-steady", "cpu_send_secs", "server CPU", "s", 1),
    ("C-crowd", "registered", "clients registered (of 10,000)", "", 1),
    ("C-crowd", "register_secs", "time to register them", "s", 1),
    ("C-crowd", "latency_max_us", "one message reached all in", "ms", 1e-3),
    ("C-crowd", "notices", "notices received", "", 1),
    ("D-idle", "registered", "clients registered (of 10,000)", "", 1),
    ("D-idle", "kib_per_connection", "RSS per idle connection", "KiB", 1),
]

# The same, for stages 2 and 5: what polling costs while nothing happens.
IDLE_FIGURES = [
    ("E-idle-cpu", "registered", "clients registered (of 100)", "", 1),
    ("E-idle-cpu", "idle_secs", "kept idle for", "s", 1),
    ("E-idle-cpu", "cpu_idle_secs", "server CPU while idle", "s", 1),
    ("E-idle-cpu", "cpu_idle_percent", "share of one core", "%", 1),
]

# Figures that only a run which registered everyone and then sat idle has.
IDLE_MEASURED = {"kib_per_connection", "idle_secs", "cpu_idle_secs", "cpu_idle_percent"}


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


def table(results, stages, figures):
    """Prints one row per figure, one column per stage."""
    print(f"{'scenario':10} {'figure':31} {stages[0]:>16} {stages[1]:>16}   (median of runs)")
    for scenario, key, label, unit, scale in figures:
        cells = []
        for stage in stages:
            path = results / f"{stage}-{scenario}.jsonl"
            found = runs(path) if path.exists() else []
            if key in IDLE_MEASURED:
                found = [r for r in found if r.get("ended") == "idle-measured"]
            values = [r[key] for r in found if r.get(key) is not None]
            if values:
                median = statistics.median(values) * scale
                cells.append(f"{median:,.2f} {unit}".strip() + f" ({len(values)})")
            else:
                cells.append("-")
        print(f"{scenario:10} {label:31} {cells[0]:>16} {cells[1]:>16}")


# Scenario A against stage 6 through each door: (figure, label, unit, scale).
TRANSPORTS = ["tcp", "tls", "websocket"]
TRANSPORT_FIGURES = [
    ("deliveries_per_sec", "deliveries/s", "M/s", 1e-6),
    ("latency_p50_us", "p50 latency", "ms", 1e-3),
    ("latency_p99_us", "p99 latency", "ms", 1e-3),
    ("cpu_send_secs", "server CPU while sending", "s", 1),
    ("missing", "lost silently", "", 1),
    ("told_missed", "dropped and told", "", 1),
]


def transports(results):
    """Prints scenario A's figures over each transport, and their ratios to TCP."""
    setups = [(t, t, results / f"stage6-shutdown-A-transports-{t}.jsonl") for t in TRANSPORTS]
    ratios = [("deliveries_per_sec", "deliveries/s"), ("latency_p99_us", "p99 latency"),
              ("cpu_send_secs", "server CPU")]
    compared(("scenario", "A-transports"), (12, 25), setups, TRANSPORT_FIGURES, ratios, "tcp")


def compared(names, widths, setups, figures, ratios, base):
    """Prints one row per figure and one column per setup, (name, heading,
    file of runs), then the `ratios`' figures of each setup to the first's
    (`base`). `names`: the header's first cell and each row's; `widths`: the
    widths of the first two columns."""
    (corner, scenario), (scenario_width, label_width) = names, widths
    medians = {}
    print(f"{corner:{scenario_width}} "
          f"{'figure (stage6-shutdown)':{label_width}}"
          + "".join(f"{heading:>16}" for _, heading, _ in setups) + "   (median of runs)")
    for key, label, unit, scale in figures:
        cells = []
        for setup, _, path in setups:
            values = [r[key] for r in (runs(path) if path.exists() else []) if r.get(key) is not None]
            if values:
                medians[(key, setup)] = statistics.median(values)
                cells.append(f"{medians[(key, setup)] * scale:,.2f} {unit}".strip() + f" ({len(values)})")
            else:
                cells.append("-")
        print(f"{scenario:{scenario_width}} {label:{label_width}}" + "".join(f"{c:>16}" for c in cells))
    first = setups[0][0]
    for key, label in ratios:
        cells = []
        for setup, _, _ in setups:
            this, by = medians.get((key, setup)), medians.get((key, first))
            cells.append(f"{this / by:.2f} x" if by and this is not None else "-")
        print(f"{scenario:{scenario_width}} {(label + ' / ' + base):{label_width}}"
              + "".join(f"{c:>16}" for c in cells))


# Scenarios A and B against stage 6 alone, then over 1, 2 and 3 servers
# sharing their rooms through Redis: (file suffix, column heading).
REDIS_SETUPS = [("alone", "1, no Redis"), ("redis-1", "1 + Redis"),
                ("redis-2", "2 + Redis"), ("redis-3", "3 + Redis")]
REDIS_FIGURES = [
    ("deliveries_per_sec", "deliveries/s", "M/s", 1e-6),
    ("latency_p50_us", "p50 latency", "ms", 1e-3),
    ("latency_p99_us", "p99 latency", "ms", 1e-3),
    ("latency_same_server_p50_us", "p50 to the sender's server", "ms", 1e-3),
    ("latency_other_server_p50_us", "p50 to another server", "ms", 1e-3),
    ("hop_p50_us", "hop: another - sender's, p50", "ms", 1e-3),
    ("missing", "lost silently", "", 1),
    ("told_missed", "dropped and told", "", 1),
    ("cpu_send_secs", "servers' CPU while sending", "s", 1),
    ("redis_cpu_secs", "Redis CPU, whole run", "s", 1),
]


def redis(results, scenario):
    """Prints a scenario's figures for each Redis setup, and ratios to stage 6 alone."""
    setups = [(setup, heading, results / f"stage6-shutdown-{scenario}-{setup}.jsonl")
              for setup, heading in REDIS_SETUPS]
    ratios = [("deliveries_per_sec", "deliveries/s"), ("latency_p50_us", "p50 latency"),
              ("latency_p99_us", "p99 latency")]
    compared((scenario, scenario), (8, 29), setups, REDIS_FIGURES, ratios, "alone")


# One benchmark's row of divan's table: name, fastest, slowest, median, ...
BENCH_ROW = re.compile(r"(\w+)\s+([\d.]+) (ns|µs|ms|s)\s+│\s+([\d.]+) (ns|µs|ms|s)\s+│\s+([\d.]+) (ns|µs|ms|s)")
TO_MS = {"ns": 1e-6, "µs": 1e-3, "ms": 1, "s": 1e3}


def bench(results):
    """Prints the medians of stage 3's parser benchmark over its runs."""
    path = results / "stage3-protocol-P-parse.txt"
    medians = {"borrowed_frame_iter": [], "allocating_lines": []}
    if path.exists():
        for line in path.read_text().splitlines():
            row = BENCH_ROW.search(line)
            if row and row.group(1) in medians:
                medians[row.group(1)].append(float(row.group(6)) * TO_MS[row.group(7)])
    ratios = [a / b for a, b in zip(medians["allocating_lines"], medians["borrowed_frame_iter"])]
    print(f"{'benchmark':10} {'figure (1 MiB of frames)':31} {'stage3-protocol':>16}   (median of runs)")
    rows = [
        ("borrowed_frame_iter median", medians["borrowed_frame_iter"], "ms"),
        ("allocating_lines median", medians["allocating_lines"], "ms"),
        ("allocating / borrowed", ratios, "x"),
    ]
    for label, values, unit in rows:
        cell = f"{statistics.median(values):,.2f} {unit} ({len(values)})" if values else "-"
        print(f"{'P-parse':10} {label:31} {cell:>16}")


# One mix's line of stage 5's lock benchmark.
LOCK_ROW = re.compile(r"L-lock (1/\d+)-joins mutex (\d+) ns rwlock (\d+) ns")


def lock_bench(results):
    """Prints the medians of stage 5's Mutex-or-RwLock benchmark over its runs."""
    path = results / "stage5-async-L-lock.txt"
    mixes = {}
    if path.exists():
        for line in path.read_text().splitlines():
            row = LOCK_ROW.search(line)
            if row:
                mutex, rwlock = float(row.group(2)), float(row.group(3))
                mixes.setdefault(row.group(1), []).append((mutex, rwlock, rwlock / mutex))
    print(f"{'benchmark':10} {'figure (time per operation)':31} {'stage5-async':>16}   (median of runs)")
    for mix, runs in mixes.items():
        for column, label, unit in [(0, "Mutex", "ns"), (1, "RwLock", "ns"), (2, "RwLock / Mutex", "x")]:
            values = [run[column] for run in runs]
            cell = f"{statistics.median(values):,.2f} {unit} ({len(values)})"
            print(f"{'L-lock':10} {mix + ' writes, ' + label:31} {cell:>16}")


def main():
    results = Path(sys.argv[1] if len(sys.argv) > 1 else "measurements/results")
    table(results, ["stage5-async", "stage6-shutdown"], FIGURES)
    print()
    table(results, ["stage2-rooms", "stage5-async"], IDLE_FIGURES)
    print()
    transports(results)
    print()
    redis(results, "A-redis")
    print()
    redis(results, "B-redis")
    print()
    bench(results)
    print()
    lock_bench(results)


if __name__ == "__main__":
    main()
