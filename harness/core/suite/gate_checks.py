"""The suite's `gates:` section: pass/fail rules on metrics, against a threshold or a baseline run."""

from __future__ import annotations

import difflib
import math
from typing import Any, Mapping, Optional

from harness.core.config import coerce
from harness.core.errors import SourceLocation, SuiteError, SuiteErrors
from harness.core.names import name_problem
from harness.core.suite.checker import Checker, finite_number, kind_of, unknown_key_message
from harness.core.suite.spec import (
    BASELINE_KEYS,
    GATE_KEYS,
    GATE_OPERATORS,
    GATE_SCOPE_ALIASES,
    GATE_STAGES,
    BaselineRule,
    GateSpec,
)
from harness.core.suite.yaml_loading import load_yaml_with_locations


def check_gates(checker: Checker, value: Any, location: SourceLocation, method_labels: set[str],
                component_labels: set[str]) -> tuple[GateSpec, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        checker.error(f"`gates` must be a list, got {kind_of(value)}", location)
        return ()
    gates = []
    for gate, gate_location in zip(value, value.item_locations):
        spec = _check_gate(checker, gate, gate_location, method_labels, component_labels)
        if spec is not None:
            gates.append(spec)
    return tuple(gates)


def _check_gate(checker: Checker, gate: Any, gate_location: SourceLocation, method_labels: set[str],
                component_labels: set[str]) -> Optional[GateSpec]:
    if not isinstance(gate, dict):
        checker.error(f"a gate must be a mapping with metric, op and threshold, got {kind_of(gate)}", gate_location)
        return None
    if not _gate_keys_ok(checker, gate, gate_location):
        return None
    locations = gate.value_locations
    ok = True
    if not isinstance(gate["metric"], str):
        checker.error(f"gate `metric` must be a string, got {kind_of(gate['metric'])}", locations["metric"])
        ok = False
    op, threshold, baseline = gate.get("op"), None, None
    if "baseline" in gate:
        baseline = _check_baseline_rule(checker, gate["baseline"], locations["baseline"])
        ok = ok and baseline is not None
    else:
        if op not in GATE_OPERATORS:
            checker.error(f"gate `op` must be one of {', '.join(GATE_OPERATORS)}, got {op!r}", locations["op"])
            ok = False
        try:
            threshold = coerce(gate["threshold"], float)
            if not math.isfinite(threshold):
                raise TypeError(f"expected a finite number, got {gate['threshold']!r}")
        except (TypeError, ValueError, OverflowError) as error:
            checker.error(f"gate `threshold`: {error}", locations["threshold"])
            ok = False
    scope_ok, method, stage, component = _check_gate_scope(checker, gate, method_labels, component_labels)
    ok = ok and scope_ok
    if "name" in gate and name_problem(gate["name"]) is not None:
        shown = kind_of(gate["name"]) if not isinstance(gate["name"], str) else repr(gate["name"])[:60]
        checker.error(f"gate `name` {name_problem(gate['name'])}, got {shown}", locations["name"])
        ok = False
    if not ok:
        return None
    name = gate.get("name") or _gate_name(gate)
    return GateSpec(gate["metric"], op, threshold, method, stage, component, str(name), gate_location, baseline)


def _gate_keys_ok(checker: Checker, gate: Mapping[str, Any], gate_location: SourceLocation) -> bool:
    """No unknown keys, the required ones present, and a threshold or a baseline rule (not both)."""
    locations = gate.value_locations
    ok = True
    for key in gate:
        if key not in GATE_KEYS:
            checker.error(unknown_key_message("gate", key, GATE_KEYS), locations[key])
            ok = False
    required = ("metric",) if "baseline" in gate else ("metric", "op", "threshold")
    for key in required:
        if key not in gate:
            checker.error(f"gate needs `{key}:` (or `baseline:` for a gate against a baseline run)"
                          if key != "metric" else "gate needs `metric:`", gate_location)
            ok = False
    if "baseline" in gate and ("op" in gate or "threshold" in gate):
        checker.error("a gate compares with a threshold (`op`, `threshold`) or with a baseline run "
                      "(`baseline`), not both; write two gates", gate_location)
        ok = False
    return ok


def _check_gate_scope(checker: Checker, gate: Mapping[str, Any], method_labels: set[str],
                      component_labels: set[str]) -> tuple[bool, Any, Any, Any]:
    """(ok, method, stage, component) of a gate's `method`, `stage` + `component` or `attack`/... scope."""
    locations = gate.value_locations
    ok = True
    method = gate.get("method")
    if method is not None and (not isinstance(method, str) or method not in method_labels):
        close = difflib.get_close_matches(str(method), sorted(method_labels), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        checker.error(f"gate `method` {method!r} is not a method of this suite{hint}", locations["method"])
        ok = False
    stage = gate.get("stage")
    component = gate.get("component")
    aliases = [key for key in GATE_SCOPE_ALIASES if key in gate]
    if len(aliases) > 1 or (aliases and ("stage" in gate or "component" in gate)):
        checker.error("gate scope: use one of `attack`, `perturbation`, `explainer`, or `stage` + `component`",
                      locations[aliases[-1]])
        ok = False
    elif aliases:
        stage, component = GATE_SCOPE_ALIASES[aliases[0]], gate[aliases[0]]
    if stage is not None and (not isinstance(stage, str) or stage not in GATE_STAGES):
        checker.error(f"gate `stage` must be one of {', '.join(GATE_STAGES)}, got {stage!r}", locations["stage"])
        ok = False
    if component is not None and (not isinstance(component, str) or component not in component_labels):
        where = locations[aliases[0]] if aliases else locations["component"]
        checker.error(f"gate scope {component!r} is not an attack, perturbation or explainer of this suite", where)
        ok = False
    return ok, method, stage, component


def parse_gates(text: str, file: str, method_labels: set[str], component_labels: set[str]) -> tuple[GateSpec, ...]:
    """The `gates:` section of a suite's text alone (for `harness gate` on a stored run)."""
    document = load_yaml_with_locations(text, file)
    start = SourceLocation(file, 1, 1)
    if not isinstance(document, dict):
        raise SuiteErrors([SuiteError(f"expected a mapping with `gates:`, got {kind_of(document)}", start)])
    checker = Checker(file, None)
    gates = check_gates(checker, document.get("gates"), document.value_locations.get("gates", start),
                        method_labels, component_labels)
    if checker.errors:
        raise SuiteErrors(checker.errors)
    return gates


def _check_baseline_rule(checker: Checker, value: Any, location: SourceLocation) -> Optional[BaselineRule]:
    if not isinstance(value, dict):
        checker.error("gate `baseline` must be a mapping such as {max_increase: 0.02, significant: true}", location)
        return None
    locations = value.value_locations
    ok = True
    for key in value:
        if key not in BASELINE_KEYS:
            checker.error(unknown_key_message("gate baseline", key, BASELINE_KEYS), locations[key])
            ok = False
    limits = [key for key in ("max_increase", "max_decrease") if key in value]
    if len(limits) != 1:
        checker.error("gate `baseline` needs exactly one of `max_increase` and `max_decrease`", location)
        return None
    limit = value[limits[0]]
    if not finite_number(limit) or limit < 0:
        checker.error(f"`{limits[0]}` must be a non-negative number, got {kind_of(limit)}", locations[limits[0]])
        ok = False
    significant = value.get("significant", False)
    if not isinstance(significant, bool):
        checker.error(f"`significant` must be true or false, got {kind_of(significant)}", locations["significant"])
        ok = False
    alpha = value.get("alpha", 0.05)
    if not finite_number(alpha) or not 0 < alpha < 1:
        checker.error(f"`alpha` must be a number in (0, 1), got {kind_of(alpha)}", locations.get("alpha", location))
        ok = False
    if not ok:
        return None
    return BaselineRule(**{limits[0]: float(limit)}, significant=significant, alpha=float(alpha))


def _gate_name(gate: Mapping[str, Any]) -> str:
    scope = "/".join(str(gate[key]) for key in ("method", "stage", "component", *GATE_SCOPE_ALIASES) if gate.get(key))
    if "baseline" in gate and isinstance(gate["baseline"], dict):
        rule = gate["baseline"]
        limit = (f"rises at most {rule['max_increase']}" if "max_increase" in rule
                 else f"falls at most {rule.get('max_decrease')}")
        return f"{scope + ' ' if scope else ''}{gate['metric']} {limit} vs baseline"
    return f"{scope + ' ' if scope else ''}{gate['metric']} {gate['op']} {gate['threshold']}"


def underpowered_gate_warnings(suite: Any) -> list[str]:
    """Before a run: a warning, at the gate's file:line, for each significant baseline gate on a 0/1 metric whose
    budgets give fewer paired examples than a move of its allowance needs (80% power at its alpha, best case: see
    harness.core.gates), with the sample that would suffice; a note where the sample is unknown until the data is
    loaded. Warnings, not errors: the verdict itself comes after the run, from the examples actually paired."""
    from harness.explain.significance import PER_EXAMPLE_OUTCOMES, sufficient_sample

    messages = []
    for gate in suite.gates:
        rule = gate.baseline
        allowance = None if rule is None else rule.max_increase if rule.max_increase is not None else rule.max_decrease
        if rule is None or not rule.significant or not allowance:
            continue
        stages = [stage for stage, metric in PER_EXAMPLE_OUTCOMES
                  if metric == gate.metric and (gate.stage is None or stage == gate.stage)]
        needed = sufficient_sample(allowance, rule.alpha)
        move = "rise" if rule.max_increase is not None else "fall"
        for stage in stages:
            per_seed, source = _budgeted_examples(suite.budgets, stage)
            seeds = len(suite.seeds)
            pooled = " (seeds pooled)" if seeds > 1 else ""
            what = (f"gate {gate.name!r} ({stage}) needs {needed} paired examples{pooled} to detect a {move} of "
                    f"{allowance:g} with 80% power at alpha {rule.alpha:g} (best case)")
            if per_seed is None:
                messages.append(f"{gate.location}: note: {what}; how many it gets is not known before the data is "
                                f"loaded ({source}): the run's gate says whether it is underpowered")
            elif per_seed * seeds < needed:
                given = f"{seeds} seeds x {per_seed}" if seeds > 1 else f"{per_seed}"
                fewer = ("; fewer, as attack_success_rate counts only the examples attacked"
                         if gate.metric == "attack_success_rate" else "")
                messages.append(f"{gate.location}: warning: underpowered: {what}, but the budgets give at most "
                                f"{per_seed * seeds} ({given} from {source}{fewer}); raise the budget to at least "
                                f"{-(-needed // seeds)} examples per seed, add seeds, or allow a larger move")
    return messages


def _budgeted_examples(budgets: Any, stage: str) -> tuple[Optional[int], str]:
    """(the most test examples a stage of each seed sees under the budgets, or None where that depends on the test
    split's size, and which budget says so)."""
    evaluated = budgets.max_eval_examples if isinstance(budgets.max_eval_examples, int) else None
    if stage != "attack":
        if evaluated is None:
            return None, "budgets.max_eval_examples is not a count: the test split's size decides"
        return evaluated, "budgets.max_eval_examples"
    attacked = budgets.max_attack_examples
    if isinstance(attacked, int):
        return (attacked, "budgets.max_attack_examples") if evaluated is None or attacked <= evaluated else (
            evaluated, "budgets.max_eval_examples")
    if evaluated is None:
        return None, "budgets.max_attack_examples and max_eval_examples are not counts: the test split's size decides"
    if attacked is None:
        return evaluated, "budgets.max_eval_examples"
    return min(evaluated, max(1, round(attacked * evaluated))), "budgets.max_attack_examples of max_eval_examples"
