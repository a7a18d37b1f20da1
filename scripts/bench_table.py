#!/usr/bin/env python3
"""Prints the medians in Google Benchmark JSON files as a Markdown table, for docs/benchmarks.md.

    scripts/bench_table.py build/bench/base_bench.json [more.json ...]

Each row is one benchmark: its median real time and, when reported, its median throughput.
Baseline rows (names ending in Baseline) are printed like any other; ratios are written by hand
next to the figures they compare, so that each says what it compares.
"""
import json
import sys


def human(value, unit):
    for scale, prefix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if value >= scale:
            return f"{value / scale:.3g} {prefix}{unit}"
    return f"{value:.3g} {unit}"


def main(paths):
    print("| benchmark | median time | throughput |")
    print("|---|---|---|")
    for path in paths:
        with open(path) as f:
            data = json.load(f)
        for b in data["benchmarks"]:
            if b.get("aggregate_name") != "median":
                continue
            name = b["run_name"]
            time = f'{b["real_time"]:.3g} {b["time_unit"]}'
            rates = []
            if "bytes_per_second" in b:
                rates.append(human(b["bytes_per_second"], "B/s"))
            if "items_per_second" in b:
                rates.append(human(b["items_per_second"], "items/s"))
            print(f"| {name} | {time} | {', '.join(rates)} |")


if __name__ == "__main__":
    main(sys.argv[1:])
