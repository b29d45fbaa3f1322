"""The comparison table behind the scorecard: grouping, best-in-column, sweeps."""

from __future__ import annotations

from harness.core.types import ResultRow
from harness.report.reporting import comparison_table


def row(method, metric, value, stage="evaluate", component="", train_size=100, seed=0):
    return ResultRow("task", "model", method, seed, stage, component, metric, value, value - 0.1, value + 0.1, 50,
                     "key", train_size)


def test_best_in_column_respects_direction():
    rows = [row("full", "accuracy", 0.9), row("lora", "accuracy", 0.8),
            row("full", "attack_success_rate", 0.7, "attack", "deepwordbug"),
            row("lora", "attack_success_rate", 0.4, "attack", "deepwordbug")]
    table = comparison_table(rows, ["full", "lora"])
    columns = {column.key: column for column in table.columns}
    assert table.best(columns[("evaluate", "", "accuracy")]) == "full"
    assert table.best(columns[("attack", "deepwordbug", "attack_success_rate")]) == "lora"


def test_seeds_are_averaged():
    table = comparison_table([row("full", "accuracy", 0.8, seed=0), row("full", "accuracy", 0.9, seed=1)], ["full"])
    cell = table.cell("full", table.columns[0])
    assert abs(cell.value - 0.85) < 1e-9 and cell.seeds == 2


def test_sweep_rows_are_method_and_size():
    rows = [row("lora", "accuracy", 0.7, train_size=10), row("lora", "accuracy", 0.9, train_size=100)]
    table = comparison_table(rows, ["lora"])
    assert table.methods == ["lora (n=10)", "lora (n=100)"]
    assert table.cell("lora (n=10)", table.columns[0]).value == 0.7
