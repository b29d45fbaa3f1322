"""Gates: structured thresholds on the results table, absolute or against a baseline run (never eval'd).

An absolute gate holds when every result row it selects satisfies `op threshold`. A baseline gate compares each
selected method x stage x component (seeds averaged) with the same one in the baseline run: the metric may rise
at most `max_increase` or fall at most `max_decrease`; with `significant: true` a larger move fails only if a
paired test on the examples both runs saw (McNemar's exact test) finds it significant at `alpha`. A gate that
selects nothing fails: a typo in a gate must not pass silently.
"""

from __future__ import annotations

import dataclasses
import json
import math
import operator
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping, Optional, Sequence

from harness.core.errors import HarnessError
from harness.core.store import data_mismatch
from harness.core.types import GateOutcome, ResultRow, StoredRun

OPERATORS = {">=": operator.ge, ">": operator.gt, "<=": operator.le, "<": operator.lt, "==": operator.eq}


@dataclass(frozen=True)
class Baseline:
    """The run gates compare against: its results, and its run directory where per-example records exist."""

    source: str
    rows: tuple[ResultRow, ...]
    run: Optional[StoredRun] = None
    manifest: Optional[Mapping[str, Any]] = None
    different_data: bool = False
    """Set when the runs used different data and the user allowed it: no paired test is run then."""

    def checked_against(self, manifest: Mapping[str, Any], allow_different_data: bool) -> "Baseline":
        """This baseline for a run with `manifest`: HarnessError when the runs used a different task or test set
        (unless allowed; then without paired tests)."""
        problem = data_mismatch(self.manifest or {}, manifest, self.source, "this run")
        if problem is not None and not allow_different_data:
            raise HarnessError(f"{problem}; their per-example outcomes cannot be compared. Pass "
                               f"--allow-different-data to compare the numbers anyway (no paired test is run then)")
        return dataclasses.replace(self, different_data=problem is not None)


def load_baseline(path: Path) -> Baseline:
    """A baseline from a run directory (results and per-example records) or a results.json (results only)."""
    from harness.core.store import read_run

    path = Path(path)
    if path.is_dir():
        if not (path / "manifest.json").is_file():
            raise HarnessError(f"baseline {path} is not a run directory (no manifest.json)")
        run = read_run(path)
        return Baseline(str(path), run.results, run, run.manifest)
    if not path.is_file():
        raise HarnessError(f"baseline {path} does not exist (give a run directory or its results.json)")
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        rows = tuple(ResultRow(**{key: (float("nan") if key == "value" and value is None else value)
                                  for key, value in row.items()}) for row in document["results"])
    except (ValueError, KeyError, TypeError) as error:
        raise HarnessError(f"baseline {path} is not a harness results.json: {error}") from error
    return Baseline(str(path), rows, manifest=document.get("manifest") if isinstance(document, dict) else None)


def evaluate_gates(gates: Iterable, rows: Sequence[ResultRow], run: Optional[StoredRun] = None,
                   baseline: Optional[Baseline] = None) -> tuple[GateOutcome, ...]:
    """Every gate's outcome. `run` (the current run, for its per-example records) and `baseline` are needed by
    baseline gates; without a baseline they are skipped."""
    outcomes = []
    for gate in gates:
        selected = [row for row in rows if _selects(gate, row)]
        if gate.baseline is not None:
            outcomes.append(_baseline_gate(gate, selected, run, baseline))
            continue
        compare = OPERATORS[gate.op]
        if not selected:
            outcomes.append(GateOutcome(gate.name, gate.metric, gate.op, gate.threshold, False, None,
                                        "no result matched this gate (did the stage run or fail?)"))
            continue
        failing = [row for row in selected if not compare(row.value, gate.threshold)]
        worst = failing[0] if failing else min(
            selected, key=lambda row: row.value if gate.op in (">=", ">") else -row.value)
        ci = (f" (95% CI {worst.ci_low:.4g}-{worst.ci_high:.4g})"
              if worst.ci_low is not None and worst.ci_high is not None else "")
        detail = f"{_where(worst)}: {worst.metric} = {worst.value:.4g}{ci}, required {gate.op} {gate.threshold:g}"
        outcomes.append(GateOutcome(gate.name, gate.metric, gate.op, gate.threshold, not failing, worst.value, detail))
    return tuple(outcomes)


def _selects(gate, row: ResultRow) -> bool:
    return (row.metric == gate.metric
            # In a suite of several models a row's method is "model / method": `method:` may name either part.
            and (gate.method is None or gate.method in (row.method, *row.method.split(" / ")))
            and (gate.stage is None or row.stage == gate.stage)
            and (gate.component is None or row.component == gate.component)
            and not math.isnan(row.value))


def _where(row: ResultRow, with_seed: bool = True) -> str:
    seed = f" seed {row.seed}" if with_seed else ""
    return f"{row.method}{seed} {row.stage}{'/' + row.component if row.component else ''}"


def _mean_by_scope(rows: Iterable[ResultRow]) -> dict[tuple[str, str, str], list[ResultRow]]:
    groups: dict[tuple[str, str, str], list[ResultRow]] = defaultdict(list)
    for row in rows:
        groups[(row.method, row.stage, row.component)].append(row)
    return groups


def _baseline_gate(gate, selected: Sequence[ResultRow], run: Optional[StoredRun],
                   baseline: Optional[Baseline]) -> GateOutcome:
    rule = gate.baseline
    op, allowance = ("max_increase", rule.max_increase) if rule.max_increase is not None else ("max_decrease",
                                                                                                rule.max_decrease)
    if baseline is None:
        return GateOutcome(gate.name, gate.metric, op, allowance, True, None,
                           "skipped: no baseline given (harness run/gate --baseline RUN_DIR|results.json)",
                           skipped=True)
    if not selected:
        return GateOutcome(gate.name, gate.metric, op, allowance, False, None,
                           "no result matched this gate (did the stage run or fail?)")
    baseline_groups = _mean_by_scope(row for row in baseline.rows if _selects(gate, row))
    verdicts = []
    for scope, group in _mean_by_scope(selected).items():
        current = sum(row.value for row in group) / len(group)
        reference_rows = baseline_groups.get(scope)
        where = _where(group[0], with_seed=False)
        if not reference_rows:
            verdicts.append((False, None, None, None,
                             f"{where}: the baseline ({baseline.source}) has no {gate.metric} for it"))
            continue
        reference = sum(row.value for row in reference_rows) / len(reference_rows)
        change = current - reference
        too_far = change > allowance if op == "max_increase" else -change > allowance
        p_value, how = None, ""
        if too_far and rule.significant and baseline.different_data:
            how = "; no paired test: the runs used different test sets"
        elif too_far and rule.significant:
            p_value, how = _significance(gate, scope, group, reference_rows, run, baseline)
            too_far = p_value is not None and p_value < rule.alpha
            how = f"; {how}" + ("" if too_far else f", not significant at alpha {rule.alpha:g}")
        detail = (f"{where}: {gate.metric} {reference:.4g} -> {current:.4g} ({change:+.4g}; allowed "
                  f"{'+' if op == 'max_increase' else '-'}{allowance:g}){how}")
        verdicts.append((not too_far, change, reference, p_value, detail))
    failing = [verdict for verdict in verdicts if not verdict[0]]
    passed, change, reference, p_value, detail = failing[0] if failing else max(
        verdicts, key=lambda verdict: abs(verdict[1]) if verdict[1] is not None else -1)
    if len(verdicts) > 1:
        detail += f" ({len(failing)} of {len(verdicts)} failing)" if failing else f" (worst of {len(verdicts)})"
    return GateOutcome(gate.name, gate.metric, op, allowance, passed, change, detail,
                       baseline_value=reference, p_value=p_value)


def _significance(gate, scope: tuple[str, str, str], current: Sequence[ResultRow], reference: Sequence[ResultRow],
                  run: Optional[StoredRun], baseline: Baseline) -> tuple[Optional[float], str]:
    """(p-value, how it was obtained): McNemar on paired per-example outcomes where both runs kept them, else
    a conservative check that the two 95% CIs do not overlap (p reported as 0 or 1)."""
    from harness.report.compare import paired_test

    method, stage, component = scope
    if run is not None and baseline.run is not None:
        test = paired_test(baseline.run, run, method, stage, component, gate.metric)
        if test is not None:
            return test.p_value, f"McNemar p = {test.p_value:.3g} on {test.pairs} paired examples"
    intervals = [(row.ci_low, row.ci_high) for row in (*current, *reference)]
    if any(low is None or high is None for low, high in intervals):
        return None, "no per-example outcomes or confidence intervals to test significance"
    current_low = min(row.ci_low for row in current)
    current_high = max(row.ci_high for row in current)
    reference_low = min(row.ci_low for row in reference)
    reference_high = max(row.ci_high for row in reference)
    separate = current_low > reference_high or current_high < reference_low
    return (0.0 if separate else 1.0), ("95% CIs do not overlap" if separate else "95% CIs overlap") + \
        " (no per-example records in the baseline; McNemar needs a baseline run directory)"
