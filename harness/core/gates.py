"""Gates: structured thresholds on the results table, absolute or against a baseline run (never eval'd).

An absolute gate holds when every result row it selects satisfies `op threshold`. A baseline gate compares each
selected method x stage x component (seeds averaged) with the same one in the baseline run: the metric may rise
at most `max_increase` or fall at most `max_decrease`; with `significant: true` a larger move fails only if a
paired test on the examples both runs saw (McNemar's exact test) finds it significant at `alpha`. A gate that
selects nothing fails: a typo in a gate must not pass silently.

Multiple comparisons. Each scope of a significant gate is one test, and a run may hold many: the family of every
McNemar test that the run's significant baseline gates ran (on every scope, whether or not it moved beyond its
allowance) is adjusted with Holm-Bonferroni (`correction="holm"`, the default; `"none"` turns it off), and a
scope fails only when its adjusted p-value is below its gate's alpha. The 95%-CI stand-in used without per-example
records is no paired test: it is neither adjusted nor counted in the family.

Power. A significant gate on a 0/1 metric (a rate: accuracy, attack success, flip rate, ...) also says how small a
change its sample could detect. The model: the paired exact McNemar test on n paired examples (the test's pairs,
seeds pooled; without per-example records, the n of the result rows), in the case most favourable to detection:
every example that changes moves in the direction of the change, so the discordant count D ~ Binomial(n, delta),
all one way, and the test rejects iff D >= k_min, the smallest k with mcnemar_exact(0, k) < alpha (6 at 0.05).
Power(n, delta) = P(Binomial(n, delta) >= k_min). The detectable change is the smallest delta with power >= 80%,
within what the baseline's rate allows (a fall of at most the rate, a rise of at most 1 - rate; if even that is
not detectable, nothing is); the sufficient sample is the smallest n with power(n, allowance) >= 80%. A gate that
held but allows a move smaller than its detectable change is "underpowered" (`GateOutcome.underpowered`, verdict
"underpowered", with the sufficient sample): it could not have failed at the size it allows. Being the best case,
the verdict is conservative: real power is lower (changes in both directions cancel; Holm lowers it further). An
underpowered gate does not fail the run (nothing failed): the exit code stays 0, and every reporter flags it. A
gate that allows no move (allowance 0) asks only for significance, so it is never underpowered; its detectable
change is still reported. An allowance the rate cannot exceed (a fall larger than the baseline's rate) makes the
gate vacuous, not underpowered.
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
from harness.explain.significance import corrected, detectable_change, is_binary, sufficient_sample

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
                   baseline: Optional[Baseline] = None, correction: str = "holm") -> tuple[GateOutcome, ...]:
    """Every gate's outcome. `run` (the current run, for its per-example records) and `baseline` are needed by
    baseline gates; without a baseline they are skipped. `correction` ("holm" or "none") adjusts the p-values of
    the family of every paired test the significant baseline gates ran."""
    gates = list(gates)
    outcomes: list[Optional[GateOutcome]] = []
    measured: dict[int, list[_Scope]] = {}
    for index, gate in enumerate(gates):
        selected = [row for row in rows if _selects(gate, row)]
        if gate.baseline is None:
            outcomes.append(_absolute_gate(gate, selected))
        elif baseline is None or not selected:
            outcomes.append(_unmeasured_baseline_gate(gate, baseline))
        else:
            measured[index] = _measure_scopes(gate, selected, run, baseline)
            outcomes.append(None)
    family = [(index, position) for index, scopes in measured.items()
              for position, scope in enumerate(scopes) if scope.paired]
    adjusted = corrected([measured[index][position].p_value for index, position in family], correction)
    for (index, position), value in zip(family, adjusted):
        measured[index][position] = dataclasses.replace(measured[index][position], adjusted=value)
    for index, scopes in measured.items():
        outcomes[index] = _judge_baseline_gate(gates[index], scopes, len(family), baseline.different_data)
    return tuple(outcome for outcome in outcomes if outcome is not None)


def _absolute_gate(gate, selected: Sequence[ResultRow]) -> GateOutcome:
    if not selected:
        return GateOutcome(gate.name, gate.metric, gate.op, gate.threshold, False, None,
                           "no result matched this gate (did the stage run or fail?)")
    compare = OPERATORS[gate.op]
    failing = [row for row in selected if not compare(row.value, gate.threshold)]
    worst = failing[0] if failing else min(
        selected, key=lambda row: row.value if gate.op in (">=", ">") else -row.value)
    ci = (f" (95% CI {worst.ci_low:.4g}-{worst.ci_high:.4g})"
          if worst.ci_low is not None and worst.ci_high is not None else "")
    detail = f"{_where(worst)}: {worst.metric} = {worst.value:.4g}{ci}, required {gate.op} {gate.threshold:g}"
    return GateOutcome(gate.name, gate.metric, gate.op, gate.threshold, not failing, worst.value, detail)


def _selects(gate, row: ResultRow) -> bool:
    return (row.metric == gate.metric
            # In a suite of several models a row's method is "model / method": `method:` may name either part.
            and (gate.method is None or gate.method in (row.method, *row.method.split(" / ")))
            # `attack: NAME` scopes the attack's judge stage too (its valid success rate is about the attack).
            and (gate.stage is None or row.stage == gate.stage or (gate.stage, row.stage) == ("attack", "judge"))
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


def _rule(gate) -> tuple[str, float]:
    """("max_increase" or "max_decrease", the allowed change) of a baseline gate."""
    rule = gate.baseline
    return ("max_increase", rule.max_increase) if rule.max_increase is not None else ("max_decrease",
                                                                                      rule.max_decrease)


def _unmeasured_baseline_gate(gate, baseline: Optional[Baseline]) -> GateOutcome:
    """A baseline gate with no baseline (skipped) or that selects no result (failed)."""
    op, allowance = _rule(gate)
    if baseline is None:
        return GateOutcome(gate.name, gate.metric, op, allowance, True, None,
                           "skipped: no baseline given (harness run/gate --baseline RUN_DIR|results.json)",
                           skipped=True)
    return GateOutcome(gate.name, gate.metric, op, allowance, False, None,
                       "no result matched this gate (did the stage run or fail?)")


@dataclass(frozen=True)
class _Scope:
    """One method x stage x component of a baseline gate, measured before the family's p-values are adjusted."""

    where: str
    stage: str
    change: Optional[float] = None
    reference: Optional[float] = None
    current: Optional[float] = None
    missing: str = ""
    """Why it could not be compared (the baseline lacks it); such a scope fails."""
    p_value: Optional[float] = None
    paired: bool = False
    """The p-value is McNemar's on paired examples (one of the family Holm adjusts), not the CI stand-in."""
    test_text: str = ""
    """How the p-value was obtained, where it is not McNemar's."""
    pairs: Optional[int] = None
    """The paired examples of the test, else the examples the rows say they measured (seeds pooled)."""
    adjusted: Optional[float] = None


def _measure_scopes(gate, selected: Sequence[ResultRow], run: Optional[StoredRun], baseline: Baseline) -> list[_Scope]:
    """Each selected scope's change against the baseline and, for a significant gate, its test (on every scope: the
    family the correction adjusts must not depend on which changes happened to be large)."""
    baseline_groups = _mean_by_scope(row for row in baseline.rows if _selects(gate, row))
    scopes = []
    for scope, group in _mean_by_scope(selected).items():
        where = _where(group[0], with_seed=False)
        reference_rows = baseline_groups.get(scope)
        if not reference_rows:
            scopes.append(_Scope(where, scope[1], missing=f"{where}: the baseline ({baseline.source}) has no "
                                                             f"{gate.metric} for it"))
            continue
        current = sum(row.value for row in group) / len(group)
        reference = sum(row.value for row in reference_rows) / len(reference_rows)
        measure = _Scope(where, scope[1], current - reference, reference, current, pairs=_sample_size(group))
        if gate.baseline.significant and not baseline.different_data:
            measure = _significance(gate, scope, group, reference_rows, run, baseline, measure)
        scopes.append(measure)
    return scopes


def _sample_size(rows: Sequence[ResultRow]) -> Optional[int]:
    """The examples a scope's rows measured, seeds pooled as the paired test pools them; None if unknown."""
    sizes = {row.seed: row.n for row in rows if row.n}
    return sum(sizes.values()) if sizes else None


def _judge_baseline_gate(gate, scopes: Sequence[_Scope], family_size: int, different_data: bool) -> GateOutcome:
    rule = gate.baseline
    op, allowance = _rule(gate)
    verdicts = [_judge_scope(gate, scope, family_size, different_data) for scope in scopes]
    failing = [index for index, (passed, _) in enumerate(verdicts) if not passed]
    shown = failing[0] if failing else max(
        range(len(scopes)), key=lambda index: abs(scopes[index].change) if scopes[index].change is not None else -1)
    scope, detail = scopes[shown], verdicts[shown][1]
    if len(verdicts) > 1:
        detail += f" ({len(failing)} of {len(verdicts)} failing)" if failing else f" (worst of {len(verdicts)})"
    powers = ([(candidate, _power(gate, candidate)) for candidate in scopes]
              if rule.significant and not different_data else [])
    powers = [(candidate, power) for candidate, power in powers if power is not None]
    underpowered = not failing and any(power[0] for _, power in powers)
    if underpowered:
        powers = [(candidate, power) for candidate, power in powers if power[0]]
    weakest = max(powers, key=lambda item: math.inf if item[1][1] is None else item[1][1], default=None)
    sufficient = sufficient_sample(allowance, rule.alpha) if powers else None
    if weakest is not None:
        where = f"{weakest[0].where}: " if len(scopes) > 1 else ""
        detail += _power_text(gate, weakest[0].pairs, where, weakest[1][1], underpowered, sufficient)
    return GateOutcome(gate.name, gate.metric, op, allowance, not failing, scope.change, detail,
                       baseline_value=scope.reference, p_value=scope.p_value, adjusted_p_value=scope.adjusted,
                       underpowered=underpowered, detectable_change=weakest[1][1] if weakest else None,
                       sufficient_sample=sufficient)


def _judge_scope(gate, scope: _Scope, family_size: int, different_data: bool) -> tuple[bool, str]:
    """(passed, detail) of one scope: a move beyond the allowance fails, unless the gate asks for significance and
    the test (its Holm-adjusted p-value, where adjusted) does not find the move real at the gate's alpha."""
    rule = gate.baseline
    op, allowance = _rule(gate)
    if scope.missing:
        return False, scope.missing
    beyond = _beyond(op, allowance, scope.change)
    failed, how = beyond, ""
    if rule.significant and different_data:
        how = "; no paired test: the runs used different test sets" if beyond else ""
    elif rule.significant:
        if scope.paired:
            holm = (f", Holm-adjusted p = {scope.adjusted:.3g} over {family_size} paired "
                    f"test{'s' if family_size != 1 else ''}"
                    if scope.adjusted is not None else " (no multiple-comparison correction)")
            how = f"; McNemar p = {scope.p_value:.3g}{holm} on {scope.pairs} paired examples"
            decisive = scope.adjusted if scope.adjusted is not None else scope.p_value
        else:
            how = f"; {scope.test_text}" if beyond else ""
            decisive = scope.p_value
        failed = beyond and decisive is not None and decisive < rule.alpha
        if beyond and not failed:
            how += f", not significant at alpha {rule.alpha:g}"
    detail = (f"{scope.where}: {gate.metric} {scope.reference:.4g} -> {scope.current:.4g} ({scope.change:+.4g}; "
              f"allowed {'+' if op == 'max_increase' else '-'}{allowance:g}){how}")
    return not failed, detail


def _beyond(op: str, allowance: float, change: float) -> bool:
    return change > allowance if op == "max_increase" else -change > allowance


def _power(gate, scope: _Scope) -> Optional[tuple[bool, Optional[float]]]:
    """(underpowered, detectable change) of one scope of a significant gate on a 0/1 metric (a rate), under the
    best-case McNemar model of the module's docstring; None where the model does not apply (another metric, an
    unknown sample, a scope the baseline lacks)."""
    op, allowance = _rule(gate)
    if scope.missing or scope.pairs is None or scope.reference is None or not is_binary(scope.stage, gate.metric):
        return None
    largest = min(1.0, max(0.0, scope.reference if op == "max_decrease" else 1.0 - scope.reference))
    detectable = detectable_change(scope.pairs, gate.baseline.alpha, largest)
    underpowered = 0 < allowance < largest and (detectable is None or allowance < detectable)
    return underpowered, detectable


def _power_text(gate, pairs: int, where: str, detectable: Optional[float], underpowered: bool,
                sufficient: Optional[int]) -> str:
    op, allowance = _rule(gate)
    move = "rise" if op == "max_increase" else "fall"
    alpha = gate.baseline.alpha
    detects = (f"detect a {move} of {detectable:.3g} or more" if detectable is not None
               else f"detect no {move} the rate can make")
    if not underpowered:
        return f"; {where}{pairs} paired examples {detects} (80% power at alpha {alpha:g}, best case)"
    short = "more than" if detectable is not None else "not even"
    return (f"; UNDERPOWERED: {where}{pairs} paired examples {detects} (80% power at alpha {alpha:g}, best case), "
            f"{short} the {allowance:g} allowed; {sufficient} paired examples (seeds pooled) would suffice")


def _significance(gate, scope: tuple[str, str, str], current: Sequence[ResultRow], reference: Sequence[ResultRow],
                  run: Optional[StoredRun], baseline: Baseline, measure: _Scope) -> _Scope:
    """The scope with its test: McNemar on paired per-example outcomes where both runs kept them, else a
    conservative check that the two 95% CIs do not overlap (p reported as 0 or 1; not adjusted, not a paired test)."""
    from harness.report.compare import paired_test

    method, stage, component = scope
    if run is not None and baseline.run is not None:
        test = paired_test(baseline.run, run, method, stage, component, gate.metric)
        if test is not None:
            return dataclasses.replace(measure, p_value=test.p_value, paired=True, pairs=test.pairs)
    intervals = [(row.ci_low, row.ci_high) for row in (*current, *reference)]
    if any(low is None or high is None for low, high in intervals):
        return dataclasses.replace(measure, test_text="no per-example outcomes or confidence intervals to test "
                                                      "significance")
    current_low = min(row.ci_low for row in current)
    current_high = max(row.ci_high for row in current)
    reference_low = min(row.ci_low for row in reference)
    reference_high = max(row.ci_high for row in reference)
    separate = current_low > reference_high or current_high < reference_low
    text = ("95% CIs do not overlap" if separate else "95% CIs overlap") + \
        " (no per-example records in the baseline; McNemar needs a baseline run directory)"
    return dataclasses.replace(measure, p_value=0.0 if separate else 1.0, test_text=text)
