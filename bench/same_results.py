"""Do two trees of stored runs hold the same results? For refactors that must not change behaviour.

    python bench/same_results.py BEFORE_DIR AFTER_DIR

Every stored run under BEFORE_DIR is paired with one under AFTER_DIR: the run at the same relative path, or, where
run ids differ (a timestamp and random suffix: tests run under `pytest --basetemp DIR` twice), the run of the same
suite directory in the same position when each directory's runs are ordered by when they were written. Rows are
compared on every column, stage keys
included; metrics that measure time, memory or speed (which no two runs share) are compared on presence only. The
per-example records (records/*.jsonl) are compared too, minus their timing fields. Prints each difference and a
summary; exits 1 when anything differs.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

# Metrics that differ between any two runs of the same computation.
MEASURED = ("seconds", "memory", "_mb", "samples_per_second", "forwards", "queries_per_second", "rss")
TIMING_FIELDS = {"seconds", "train_seconds", "created_at"}


def measured(metric: str) -> bool:
    return any(part in metric for part in MEASURED)


def rows(path: Path) -> dict[tuple[str, ...], dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        table = list(csv.DictReader(handle))
    keyed = {}
    for row in table:
        key = tuple(row[column] for column in ("task", "model", "method", "seed", "stage", "component", "metric",
                                               "train_size"))
        keyed[key] = row
    return keyed


def record_lines(path: Path) -> list[dict]:
    lines = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            record = json.loads(line)
            lines.append({key: value for key, value in record.items() if key not in TIMING_FIELDS}
                         if isinstance(record, dict) else record)
    return lines


def compare_results(before: Path, after: Path) -> list[str]:
    problems = []
    old, new = rows(before), rows(after)
    for key in sorted(set(old) | set(new)):
        if key not in new or key not in old:
            problems.append(f"{after}: row {key} only {'before' if key in old else 'after'}")
            continue
        if measured(key[6]):
            continue
        differing = [column for column in old[key] if old[key][column] != new[key].get(column)]
        if differing:
            problems.append(f"{after}: {key}: " + ", ".join(f"{column} {old[key][column]!r} -> "
                                                            f"{new[key].get(column)!r}" for column in differing))
    return problems


def compare_records(before_run: Path, after_run: Path) -> list[str]:
    problems = []
    for path in sorted((before_run / "records").glob("*.jsonl")):
        twin = after_run / "records" / path.name
        if not twin.exists():
            problems.append(f"{twin}: missing")
        elif record_lines(path) != record_lines(twin):
            problems.append(f"{twin}: records differ")
    for path in sorted((after_run / "records").glob("*.jsonl")):
        if not (before_run / "records" / path.name).exists():
            problems.append(f"{path}: only after")
    return problems


def runs_by_suite(root: Path) -> dict[Path, list[Path]]:
    """Run directories by their suite directory (relative to root), in the order they were written."""
    runs: dict[Path, list[Path]] = {}
    for results in root.rglob("results.csv"):
        runs.setdefault(results.parent.parent.relative_to(root), []).append(results.parent)
    return {suite: sorted(found, key=lambda run: ((run / "manifest.json").stat().st_mtime_ns
                                                    if (run / "manifest.json").exists() else 0, run.name))
            for suite, found in runs.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    arguments = parser.parse_args()
    problems: list[str] = []
    compared = 0
    before, after = runs_by_suite(arguments.before), runs_by_suite(arguments.after)
    for suite in sorted(set(before) | set(after)):
        old_runs, new_runs = before.get(suite, []), after.get(suite, [])
        if len(old_runs) != len(new_runs):
            problems.append(f"{suite}: {len(old_runs)} run(s) before, {len(new_runs)} after")
        for old_run, new_run in zip(old_runs, new_runs):
            compared += 1
            problems += compare_results(old_run / "results.csv", new_run / "results.csv")
            problems += compare_records(old_run, new_run)
    for problem in problems:
        print(problem)
    print(f"{compared} stored runs compared: {len(problems)} difference(s)")
    return 1 if problems or not compared else 0


if __name__ == "__main__":
    sys.exit(main())
