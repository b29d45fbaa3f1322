"""Numbers you can defend: Holm-Bonferroni across a run's significant baseline gates and across `harness compare`,
the power of a significant gate (its detectable change, the "underpowered" verdict, the sample that would suffice),
and the warning `harness validate` gives when a suite's budgets make a significant gate underpowered.

Runs are written by hand (evaluate stages with per-example predictions), so nothing here trains a model.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from types import SimpleNamespace
from xml.etree import ElementTree

import pytest
from scipy.stats import binom

from harness.core.errors import SourceLocation
from harness.core.files import atomic_write_json, safe_file_name, write_jsonl
from harness.core.gates import Baseline, evaluate_gates
from harness.core.store import RunStore, read_run
from harness.core.suite import BaselineRule, GateSpec, underpowered_gate_warnings
from harness.core.types import Budgets, GateOutcome, ResultRow, StageRecord, StoredRun
from harness.explain.significance import (
    detectable_change,
    holm_adjusted,
    mcnemar_critical_count,
    mcnemar_exact,
    mcnemar_power,
    sufficient_sample,
)
from harness.report.compare import compare_runs, write_comparison

# ------------------------------------------------------------------------------------------------------ helpers


def write_run(directory: Path, outcomes: dict[str, list[int]]) -> StoredRun:
    """A stored run of evaluate stages: for each method, whether it got each test example right (label 1)."""
    store = RunStore(directory)
    store.write_manifest({"run_id": directory.name, "suite": "stats", "task": "t", "model": "m",
                          "methods": list(outcomes), "seeds": [0], "started_at": "2025-01-01", "git_sha": None,
                          "dataset_fingerprints": {"test_inputs": f"{len(next(iter(outcomes.values())))}-examples"}})
    for method, correct in outcomes.items():
        stage_id = f"{method}/seed0/evaluate"
        write_jsonl(directory / "records" / f"{safe_file_name(stage_id)}.predictions.jsonl",
                    [{"example_id": f"e{number}", "label": 1, "prediction": int(right)}
                     for number, right in enumerate(correct)])
        store.add_stage(StageRecord(stage_id, "evaluate", method, method, f"key-{method}", "computed", 0.1, method, 0),
                        [ResultRow("t", "m", method, 0, "evaluate", "", "accuracy", sum(correct) / len(correct),
                                   n=len(correct))])
    return read_run(directory)


def significant_gate(method: str, max_decrease: float, significant: bool = True, name: str = "") -> GateSpec:
    return GateSpec("accuracy", None, None, method, "evaluate", None, name or f"{method} accuracy",
                    SourceLocation("suite.yaml", 7, 5), BaselineRule(max_decrease=max_decrease,
                                                                     significant=significant))


def gates_against(baseline: StoredRun, current: StoredRun, gates: list[GateSpec],
                  correction: str = "holm") -> dict[str, GateOutcome]:
    outcomes = evaluate_gates(gates, current.results, run=current,
                              baseline=Baseline(str(baseline.run_dir), baseline.results, baseline),
                              correction=correction)
    return {outcome.description: outcome for outcome in outcomes}


# ------------------------------------------------------------------------------------------------------ Holm


def test_holm_adjusted_p_values_of_a_known_family():
    assert holm_adjusted([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm_adjusted([]) == [] and holm_adjusted([0.2]) == [0.2]
    assert holm_adjusted([0.5, 0.6, 0.01]) == pytest.approx([1.0, 1.0, 0.03])  # capped at 1, monotone


@pytest.mark.parametrize("seed", range(5))
def test_holm_matches_the_step_down_definition(seed):
    import numpy as np

    p_values = list(np.random.default_rng(seed).uniform(0, 0.2, size=7))
    ranked = sorted(p_values)
    by_definition = [max(min(1.0, (len(ranked) - j) * ranked[j]) for j in range(i + 1)) for i in range(len(ranked))]
    adjusted = holm_adjusted(p_values)
    assert [adjusted[p_values.index(p)] for p in ranked] == pytest.approx(by_definition)


def test_a_raw_significant_gate_is_not_significant_after_holm_across_the_runs_gates(tmp_path):
    forty = [1] * 40
    six_broken = [0] * 6 + [1] * 34  # six discordant pairs, all one way: McNemar p = 2 / 2**6
    baseline = write_run(tmp_path / "baseline", {"m1": forty, "m2": forty, "m3": forty})
    current = write_run(tmp_path / "current", {"m1": six_broken, "m2": forty, "m3": six_broken})
    gates = [significant_gate("m1", 0.0), significant_gate("m2", 0.0),
             significant_gate("m3", 0.05, significant=False)]  # not significant: no test, not in the family

    raw = gates_against(baseline, current, gates, correction="none")
    assert not raw["m1 accuracy"].passed and raw["m1 accuracy"].p_value == pytest.approx(mcnemar_exact(0, 6))
    assert raw["m1 accuracy"].adjusted_p_value is None
    assert "no multiple-comparison correction" in raw["m1 accuracy"].detail

    holm = gates_against(baseline, current, gates)
    m1, m2, m3 = holm["m1 accuracy"], holm["m2 accuracy"], holm["m3 accuracy"]
    assert m1.passed and m1.verdict == "passed"
    assert m1.p_value == pytest.approx(0.03125) and m1.adjusted_p_value == pytest.approx(0.0625)
    assert "McNemar p = 0.0312, Holm-adjusted p = 0.0625 over 2 paired tests on 40 paired examples" in m1.detail
    assert "not significant at alpha 0.05" in m1.detail
    # m2 did not move, yet its test is one of the family (which must not depend on which changes were large).
    assert m2.passed and m2.p_value == 1.0 and m2.adjusted_p_value == 1.0
    assert not m3.passed and m3.p_value is None and m3.adjusted_p_value is None


def test_the_family_spans_every_scope_of_a_gate(tmp_path):
    forty = [1] * 40
    baseline = write_run(tmp_path / "baseline", {"m1": forty, "m2": forty})
    current = write_run(tmp_path / "current", {"m1": [0] * 7 + [1] * 33, "m2": forty})
    every_method = GateSpec("accuracy", None, None, None, "evaluate", None, "accuracy", None,
                            BaselineRule(max_decrease=0.0, significant=True))
    [outcome] = gates_against(baseline, current, [every_method]).values()
    assert outcome.p_value == pytest.approx(mcnemar_exact(0, 7))
    assert outcome.adjusted_p_value == pytest.approx(2 * mcnemar_exact(0, 7))  # 0.03125: still below 0.05
    assert not outcome.passed and "over 2 paired tests" in outcome.detail and "(1 of 2 failing)" in outcome.detail


# ------------------------------------------------------------------------------------------------------ power


@pytest.mark.parametrize("pairs, change", [(12, 0.1), (40, 0.1), (78, 0.1), (200, 0.02), (100, 0.05), (6, 0.9)])
def test_power_is_the_binomial_tail_beyond_mcnemars_critical_count(pairs, change):
    assert mcnemar_critical_count(0.05) == 6 and mcnemar_critical_count(0.01) == 8
    assert mcnemar_exact(0, 6) < 0.05 <= mcnemar_exact(0, 5)
    assert mcnemar_power(pairs, change, 0.05) == pytest.approx(binom.sf(5, pairs, change), abs=1e-12)
    assert mcnemar_power(pairs, change, 0.01) == pytest.approx(binom.sf(7, pairs, change), abs=1e-12)


def test_detectable_change_and_sufficient_sample_are_the_80_percent_power_boundaries():
    for pairs in (12, 40, 200, 1000):
        change = detectable_change(pairs, 0.05)
        assert binom.sf(5, pairs, change) >= 0.8 > binom.sf(5, pairs, change - 1e-6)
    assert detectable_change(5, 0.05) is None  # fewer examples than the test needs to reject
    assert detectable_change(12, 0.05, largest=0.5) is None  # the 0.578 it needs is more than the rate can fall
    for change in (0.1, 0.05, 0.02):
        needed = sufficient_sample(change, 0.05)
        assert binom.sf(5, needed, change) >= 0.8 > binom.sf(5, needed - 1, change)
    assert sufficient_sample(0.1, 0.05) == 78 and sufficient_sample(0.0, 0.05) is None


def test_a_gate_on_twelve_examples_allowing_ten_points_is_underpowered(tmp_path):
    twelve = [1] * 9 + [0] * 3
    baseline = write_run(tmp_path / "baseline", {"full": twelve})
    current = write_run(tmp_path / "current", {"full": twelve})
    [outcome] = gates_against(baseline, current, [significant_gate("full", 0.10)]).values()
    assert outcome.passed and outcome.underpowered and outcome.verdict == "underpowered"
    assert outcome.sufficient_sample == 78 and outcome.detectable_change == pytest.approx(detectable_change(12, 0.05))
    assert "UNDERPOWERED: 12 paired examples detect a fall of 0.578 or more" in outcome.detail
    assert "78 paired examples (seeds pooled) would suffice" in outcome.detail
    # The same gate on enough examples is not underpowered, and says what it can detect.
    many = [1] * 150 + [0] * 50
    baseline = write_run(tmp_path / "baseline-200", {"full": many})
    current = write_run(tmp_path / "current-200", {"full": many})
    [outcome] = gates_against(baseline, current, [significant_gate("full", 0.10)]).values()
    assert outcome.passed and not outcome.underpowered and outcome.verdict == "passed"
    assert outcome.detectable_change == pytest.approx(detectable_change(200, 0.05)) and outcome.detectable_change < 0.1
    assert "200 paired examples detect a fall of 0.0392 or more" in outcome.detail


def test_a_failed_or_zero_allowance_gate_is_not_underpowered(tmp_path):
    twelve = [1] * 9 + [0] * 3
    baseline = write_run(tmp_path / "baseline", {"full": twelve, "lora": twelve})
    current = write_run(tmp_path / "current", {"full": [0] * 7 + [1] * 2 + [0] * 3, "lora": twelve})
    outcomes = gates_against(baseline, current, [significant_gate("full", 0.10), significant_gate("lora", 0.0)])
    failed, strict = outcomes["full accuracy"], outcomes["lora accuracy"]
    assert failed.verdict == "failed" and not failed.underpowered
    assert failed.adjusted_p_value == pytest.approx(0.03125)  # lora's p = 1 makes a family of 2: 2 x 0.0156
    # An allowance of 0 asks for significance alone: no sample detects a change of 0, so it is never underpowered.
    assert strict.verdict == "passed" and strict.sufficient_sample is None and strict.detectable_change is not None


def test_a_results_json_baseline_takes_the_sample_from_the_rows(tmp_path):
    twelve = [1] * 9 + [0] * 3
    baseline = write_run(tmp_path / "baseline", {"full": twelve})
    current = write_run(tmp_path / "current", {"full": twelve})
    rows = tuple(dataclasses.replace(row, ci_low=0.5, ci_high=0.9) for row in baseline.results)
    current = dataclasses.replace(current, results=tuple(dataclasses.replace(row, ci_low=0.5, ci_high=0.9)
                                                         for row in current.results))
    [outcome] = evaluate_gates([significant_gate("full", 0.10)], current.results, run=current,
                               baseline=Baseline("results.json", rows))  # no per-example records: the CI stand-in
    assert outcome.underpowered and outcome.sufficient_sample == 78
    assert outcome.p_value == 1.0 and outcome.adjusted_p_value is None  # not a paired test: not adjusted


# ------------------------------------------------------------------------------------------------------ reports


def test_reporters_show_both_p_values_and_the_underpowered_verdict(tmp_path):
    import jsonschema

    from harness.report.metric_catalog import results_schema
    from harness.testing import check_reporter, sample_run_dir

    twelve = [1] * 9 + [0] * 3
    baseline = write_run(tmp_path / "baseline", {"full": twelve})
    current = write_run(tmp_path / "current", {"full": twelve})
    outcomes = evaluate_gates([significant_gate("full", 0.10, name="accuracy holds")], current.results, run=current,
                              baseline=Baseline(str(baseline.run_dir), baseline.results, baseline))
    run_dir = sample_run_dir(tmp_path / "sample")
    atomic_write_json(run_dir / "gates.json", list(outcomes))
    assert read_run(run_dir).gates == outcomes  # gates.json reads back with the new fields

    [results] = check_reporter("json", run_dir)
    document = json.loads(results.read_text(encoding="utf-8"))
    assert not list(jsonschema.Draft202012Validator(results_schema()).iter_errors(document))
    [gate] = document["gates"]
    assert gate["underpowered"] is True and gate["sufficient_sample"] == 78
    assert gate["p_value"] == 1.0 and gate["adjusted_p_value"] == 1.0

    [junit] = check_reporter("junit", run_dir)
    suite = ElementTree.parse(junit).getroot()
    [case] = suite.findall("testcase[@name='accuracy holds']")
    assert case.find("skipped").get("message").startswith("underpowered: ") and case.find("failure") is None
    assert suite.get("skipped") == "1" and suite.get("failures") == "0"
    properties = {item.get("name"): item.get("value") for item in case.iter("property")}
    assert properties["sufficient_sample"] == "78" and properties["adjusted_p_value"] == "1"

    [summary] = check_reporter("markdown", run_dir)
    markdown = summary.read_text(encoding="utf-8")
    assert "### Gates: all passed, 1 underpowered" in markdown and "⚠️ underpowered" in markdown
    assert "| gate | result | measured | p | p (Holm) | detail |" in markdown

    html = next(path for path in check_reporter("html", run_dir) if path.suffix == ".html").read_text(encoding="utf-8")
    assert "UNDERPOWERED</td>" in html and "<th>p (Holm)</th>" in html and "78 paired examples" in html


def test_compare_adjusts_every_test_of_the_comparison_with_holm(tmp_path):
    forty = [1] * 40
    run_a = write_run(tmp_path / "a", {"m1": forty, "m2": forty, "m3": forty})
    run_b = write_run(tmp_path / "b", {"m1": [0] * 6 + [1] * 34, "m2": forty, "m3": [0] * 10 + [1] * 30})
    changes = {change.method: change for change in compare_runs(run_a, run_b)}
    raw = [changes[method].test.p_value for method in ("m1", "m2", "m3")]
    assert [changes[method].adjusted_p_value for method in ("m1", "m2", "m3")] == pytest.approx(holm_adjusted(raw))
    assert changes["m1"].test.p_value < 0.05 and changes["m1"].verdict == "no significant change"
    assert changes["m3"].verdict == "worse"
    uncorrected = {change.method: change for change in compare_runs(run_a, run_b, correction="none")}
    assert uncorrected["m1"].verdict == "worse" and uncorrected["m1"].adjusted_p_value is None

    write_comparison(run_a.run_dir, run_b.run_dir, tmp_path / "holm")
    markdown = (tmp_path / "holm" / "compare.md").read_text(encoding="utf-8")
    assert "| method | metric | A | B | B - A | p | p (Holm) | verdict |" in markdown
    assert "after Holm-Bonferroni adjustment over the 3 paired tests" in markdown
    assert "| 0.0312 | 0.0625 | no significant change |" in markdown
    html = (tmp_path / "holm" / "compare.html").read_text(encoding="utf-8")
    assert "<th>p (Holm)</th>" in html and "<td>0.0625</td>" in html
    write_comparison(run_a.run_dir, run_b.run_dir, tmp_path / "none", correction="none")
    markdown = (tmp_path / "none" / "compare.md").read_text(encoding="utf-8")
    assert "p (Holm)" not in markdown and "no multiple-comparison correction" in markdown
    assert "| 0.0312 | ❌ worse |" in markdown


# ------------------------------------------------------------------------------------------------------ validate


def suite_with(gates: list[GateSpec], seeds: int = 1, **budgets) -> SimpleNamespace:
    return SimpleNamespace(gates=tuple(gates), budgets=Budgets(**budgets), seeds=tuple(range(seeds)))


def test_budget_warnings_name_the_gates_line_and_the_sample_that_would_suffice():
    gate = significant_gate("full", 0.10)
    [warning] = underpowered_gate_warnings(suite_with([gate], max_eval_examples=12))
    assert warning.startswith("suite.yaml:7:5: warning: underpowered: gate 'full accuracy' (evaluate) needs 78 "
                              "paired examples to detect a fall of 0.1"), warning
    assert "the budgets give at most 12 (12 from budgets.max_eval_examples)" in warning
    assert "at least 78 examples per seed" in warning
    # Several seeds pool their pairs; a budget large enough says nothing.
    [pooled] = underpowered_gate_warnings(suite_with([gate], seeds=3, max_eval_examples=20))
    assert "(seeds pooled)" in pooled and "at most 60 (3 seeds x 20" in pooled and "at least 26 examples" in pooled
    assert underpowered_gate_warnings(suite_with([gate], max_eval_examples=78)) == []
    # Not significant, or no allowance: nothing to say.
    assert underpowered_gate_warnings(suite_with([significant_gate("full", 0.10, significant=False),
                                                  significant_gate("full", 0.0)], max_eval_examples=12)) == []


def test_budget_warnings_for_attacks_and_unknown_samples():
    success = GateSpec("attack_success_rate", None, None, None, "attack", "deepwordbug", "attack success",
                       SourceLocation("suite.yaml", 9, 5), BaselineRule(max_increase=0.05, significant=True))
    [warning] = underpowered_gate_warnings(suite_with([success]))  # max_attack_examples 50 by default
    assert f"needs {sufficient_sample(0.05, 0.05)} paired examples to detect a rise of 0.05" in warning
    assert "at most 50 (50 from budgets.max_attack_examples; fewer, as attack_success_rate counts only" in warning
    [capped] = underpowered_gate_warnings(suite_with([success], max_eval_examples=30, max_attack_examples=100))
    assert "at most 30 (30 from budgets.max_eval_examples" in capped
    [note] = underpowered_gate_warnings(suite_with([significant_gate("full", 0.10)]))
    assert note.startswith("suite.yaml:7:5: note: gate 'full accuracy'") and "not known before the data" in note


def test_harness_validate_prints_the_warning_at_the_gates_file_and_line(tmp_path, capsys, tiny_model_dir, sst2_files):
    from conftest import dump_suite, tiny_suite

    from harness.cli import main

    suite = tiny_suite(tiny_model_dir, sst2_files, tmp_path / "reports", attacks=[], explainers=[],
                       budgets={"max_eval_examples": 12},
                       gates=[{"metric": "accuracy", "stage": "evaluate", "name": "accuracy holds",
                               "baseline": {"max_decrease": 0.1, "significant": True}}])
    path = dump_suite(suite, tmp_path / "suite.yaml")
    assert main(["validate", str(path)]) == 0
    error = capsys.readouterr().err
    line = next(number for number, text in enumerate(path.read_text().splitlines(), 1) if "- metric: accuracy" in text)
    assert f"{path}:{line}:" in error and "warning: underpowered: gate 'accuracy holds'" in error, error
    assert "needs 78 paired examples" in error


def test_harness_run_warns_first_and_reports_an_underpowered_gate_without_failing(tmp_path, capsys, tiny_model_dir,
                                                                                   sst2_files):
    from conftest import dump_suite, tiny_suite

    from harness.cli import main

    output = tmp_path / "reports"
    suite = tiny_suite(tiny_model_dir, sst2_files, output, methods=[{"use": "full", "epochs": 1}], attacks=[],
                       explainers=[], budgets={"max_eval_examples": 40}, reports=["json", "junit", "markdown"],
                       gates=[{"metric": "accuracy", "stage": "evaluate", "name": "accuracy holds",
                               "baseline": {"max_decrease": 0.1, "significant": True}}])
    path = dump_suite(suite, tmp_path / "suite.yaml")
    assert main(["run", str(path), "--no-progress", "--run-id", "baseline"]) == 0
    assert "warning: underpowered: gate 'accuracy holds' (evaluate) needs 78" in capsys.readouterr().err
    baseline = output / "tiny" / "baseline"
    # The same suite again (every stage from the cache): nothing moved, and 40 examples cannot detect 10 points.
    assert main(["run", str(path), "--no-progress", "--run-id", "again", "--baseline", str(baseline)]) == 0
    printed = capsys.readouterr().out
    assert "gate UNDERPOWERED: accuracy holds: " in printed
    assert "78 paired examples (seeds pooled) would suffice" in printed
    [gate] = json.loads((output / "tiny" / "again" / "gates.json").read_text(encoding="utf-8"))
    assert gate["passed"] and gate["underpowered"] and gate["adjusted_p_value"] == 1.0
    skipped = ElementTree.parse(output / "tiny" / "again" / "junit.xml").getroot().find("testcase/skipped")
    assert skipped.get("message").startswith("underpowered: ")
    # `harness gate --correction none` judges the stored run again, without the adjustment.
    assert main(["gate", str(output / "tiny" / "again"), "--baseline", str(baseline), "--correction", "none"]) == 0
    [gate] = json.loads((output / "tiny" / "again" / "gates.json").read_text(encoding="utf-8"))
    assert gate["adjusted_p_value"] is None and gate["underpowered"]
