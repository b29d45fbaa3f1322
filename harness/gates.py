"""Gates: structured thresholds on the results table (never eval'd)."""

from __future__ import annotations

import math
import operator
from typing import Iterable, Sequence

from harness.types import GateOutcome, ResultRow

OPERATORS = {">=": operator.ge, ">": operator.gt, "<=": operator.le, "<": operator.lt, "==": operator.eq}


def evaluate_gates(gates: Iterable, rows: Sequence[ResultRow]) -> tuple[GateOutcome, ...]:
    """Each gate holds when every result row it selects satisfies it; a gate that selects nothing fails."""
    outcomes = []
    for gate in gates:
        selected = [
            row for row in rows
            if row.metric == gate.metric
            and (gate.method is None or row.method == gate.method)
            and (gate.stage is None or row.stage == gate.stage)
            and (gate.component is None or row.component == gate.component)
            and not math.isnan(row.value)
        ]
        compare = OPERATORS[gate.op]
        if not selected:
            outcomes.append(GateOutcome(gate.name, gate.metric, gate.op, gate.threshold, False, None,
                                        "no result matched this gate (did the stage run or fail?)"))
            continue
        failing = [row for row in selected if not compare(row.value, gate.threshold)]
        worst = failing[0] if failing else min(
            selected, key=lambda row: row.value if gate.op in (">=", ">") else -row.value)
        ci = f" (95% CI {worst.ci_low:.4g}-{worst.ci_high:.4g})" if worst.ci_low is not None and worst.ci_high is not None else ""
        where = f"{worst.method} seed {worst.seed} {worst.stage}{'/' + worst.component if worst.component else ''}"
        detail = f"{where}: {worst.metric} = {worst.value:.4g}{ci}, required {gate.op} {gate.threshold:g}"
        outcomes.append(GateOutcome(gate.name, gate.metric, gate.op, gate.threshold, not failing, worst.value, detail))
    return tuple(outcomes)
