"""Gating in CI: absolute and baseline gates, significance, exit codes, JUnit, and `harness gate` on stored runs.

The baseline is MiniLM fine-tuned on 400 SST-2-style sentences written by the tests (the test sentences carry
sentiment words the training sentences never use); the deliberately worse run is a randomly initialised tiny BERT
trained the same way, which cannot carry what it learns over to unseen words; a run one point worse comes from the
same (cached) model tested on the same sentences with one label flipped.
"""

from __future__ import annotations

import json
from pathlib import Path
from xml.etree import ElementTree

import pytest
from conftest import dump_suite, minilm_dir, tiny_suite

from harness.cli import main

ACCURACY_MAY_NOT_FALL = {"metric": "accuracy", "stage": "evaluate", "baseline": {"max_decrease": 0.0},
                         "name": "accuracy may not fall"}
ACCURACY_MAY_NOT_FALL_SIGNIFICANTLY = {"metric": "accuracy", "stage": "evaluate",
                                       "baseline": {"max_decrease": 0.0, "significant": True, "alpha": 0.05},
                                       "name": "accuracy may not fall significantly"}
FLIPS_MAY_RISE_TWO_POINTS = {"metric": "flip_rate", "perturbation": "keyboard-typos",
                             "baseline": {"max_increase": 0.02}, "name": "typo flip rate rises at most 2 points"}


@pytest.fixture(scope="module")
def data(tmp_path_factory, release_data, sst2_files) -> dict[str, Path]:
    directory = tmp_path_factory.mktemp("gating-data")
    lines = (release_data / "sst2" / "train.tsv").read_text(encoding="utf-8").splitlines()
    sentences = [line for line in lines[1:] if len(line.split()) >= 6][:400]  # sentences, not phrases
    train = directory / "train.tsv"
    train.write_text("\n".join([lines[0], *sentences]) + "\n", encoding="utf-8")
    test_lines = sst2_files["test"].read_text(encoding="utf-8").splitlines()
    flipped = directory / "test-one-label-flipped.tsv"
    text, label = test_lines[1].rsplit("\t", 1)
    flipped.write_text("\n".join([test_lines[0], f"{text}\t{1 - int(label)}", *test_lines[2:]]) + "\n",
                       encoding="utf-8")
    return {"train": train, "test": sst2_files["test"], "flipped": flipped}


def run(tmp_path: Path, name: str, model: Path, data: dict[str, Path], gates: list, test: str = "test",
        baseline: Path | None = None, output: Path | None = None) -> tuple[int, Path]:
    output = output or tmp_path / "reports"
    suite = tiny_suite(model, {"train": data["train"], "test": data[test]}, output, name="gating",
                       methods=[{"use": "full", "epochs": 2, "learning_rate": 1e-4}], attacks=[], explainers=[],
                       perturbations=[{"use": "keyboard-typos"}], gates=gates,
                       reports=["json", "junit", "markdown"])
    arguments = ["run", str(dump_suite(suite, tmp_path / f"{name}.yaml")), "--no-progress", "--run-id", name]
    if baseline is not None:
        arguments += ["--baseline", str(baseline)]
    code = main(arguments)
    return code, output / "gating" / name


@pytest.fixture(scope="module")
def baseline(tmp_path_factory, data) -> Path:
    directory = tmp_path_factory.mktemp("gating")
    code, run_dir = run(directory, "baseline", minilm_dir(), data, [ACCURACY_MAY_NOT_FALL])
    assert code == 0  # no baseline given: the baseline gate is skipped, not failed
    gates = json.loads((run_dir / "gates.json").read_text())
    assert gates[0]["skipped"] and "no baseline" in gates[0]["detail"]
    return run_dir


def junit_failures(run_dir: Path) -> dict[str, str]:
    suite = ElementTree.parse(run_dir / "junit.xml").getroot()
    return {case.get("name"): case.find("failure").get("message")
            for case in suite.findall("testcase") if case.find("failure") is not None}


def test_absolute_gates_pass_and_fail_with_exit_codes_and_junit(tmp_path, data, tiny_model_dir):
    passing = {"metric": "accuracy", "stage": "evaluate", "op": ">=", "threshold": 0.0, "name": "any accuracy"}
    failing = {"metric": "accuracy", "stage": "evaluate", "op": ">=", "threshold": 0.99, "name": "near perfect"}
    code, run_dir = run(tmp_path, "absolute-pass", tiny_model_dir, data, [passing])
    assert code == 0 and junit_failures(run_dir) == {}
    code, run_dir = run(tmp_path, "absolute-fail", tiny_model_dir, data, [passing, failing])
    assert code == 1
    failures = junit_failures(run_dir)
    assert list(failures) == ["near perfect"] and "required >= 0.99" in failures["near perfect"]


def test_baseline_gate_fails_on_a_worse_run_and_passes_on_an_equal_one(tmp_path, data, baseline, tiny_model_dir):
    gates = [ACCURACY_MAY_NOT_FALL, ACCURACY_MAY_NOT_FALL_SIGNIFICANTLY, FLIPS_MAY_RISE_TWO_POINTS]
    code, worse = run(tmp_path, "worse", tiny_model_dir, data, gates, baseline=baseline)
    assert code == 1
    failures = junit_failures(worse)
    assert {"accuracy may not fall", "accuracy may not fall significantly"} <= set(failures)
    assert "McNemar p = " in failures["accuracy may not fall significantly"]
    # The same suite and model as the baseline: identical results, every gate holds.
    code, equal = run(tmp_path, "equal", minilm_dir(), data, gates, baseline=baseline,
                      output=baseline.parent.parent)
    assert code == 0 and junit_failures(equal) == {}
    outcomes = json.loads((equal / "gates.json").read_text())
    assert all(outcome["passed"] and not outcome["skipped"] and outcome["measured"] == 0 for outcome in outcomes)


def test_a_non_significant_drop_does_not_fail_a_gate_that_requires_significance(tmp_path, data, baseline):
    code, one_worse = run(tmp_path, "one-worse", minilm_dir(), data,
                          [ACCURACY_MAY_NOT_FALL, ACCURACY_MAY_NOT_FALL_SIGNIFICANTLY], test="flipped",
                          baseline=baseline, output=baseline.parent.parent)
    outcomes = {outcome["description"]: outcome for outcome in json.loads((one_worse / "gates.json").read_text())}
    plain, significant = outcomes["accuracy may not fall"], outcomes["accuracy may not fall significantly"]
    assert plain["measured"] == pytest.approx(-1 / 40) and not plain["passed"]
    assert significant["passed"] and significant["p_value"] == 1.0 and "not significant" in significant["detail"]
    assert code == 1


def test_harness_gate_on_stored_results_gives_the_runs_verdict_without_recomputing(tmp_path, data, baseline,
                                                                                     tiny_model_dir):
    gates = [ACCURACY_MAY_NOT_FALL, FLIPS_MAY_RISE_TWO_POINTS]
    code, worse = run(tmp_path, "worse-again", tiny_model_dir, data, gates, baseline=baseline)
    verdict = json.loads((worse / "gates.json").read_text())
    stages_before = (worse / "stages.jsonl").read_text()
    cache = tmp_path / "reports" / ".stage-cache"
    cached_before = sorted(path.name for path in cache.rglob("stage.json"))
    assert main(["gate", str(worse), "--baseline", str(baseline)]) == code == 1
    assert json.loads((worse / "gates.json").read_text()) == verdict
    assert (worse / "stages.jsonl").read_text() == stages_before
    assert sorted(path.name for path in cache.rglob("stage.json")) == cached_before
    # The same verdict from the baseline's results.json (no per-example records there).
    assert main(["gate", str(worse), "--baseline", str(baseline / "results.json")]) == 1
    # Against itself nothing moved; without a baseline the baseline gates are skipped.
    assert main(["gate", str(worse), "--baseline", str(worse)]) == 0
    assert main(["gate", str(worse)]) == 0
    assert "⏭ skipped" in (worse / "summary.md").read_text()
    # The gates of another suite file, evaluated on the same stored results.
    stricter = tmp_path / "stricter.yaml"
    stricter.write_text("gates:\n  - {metric: accuracy, stage: evaluate, op: '>=', threshold: 0.99}\n")
    assert main(["gate", str(worse), "--suite", str(stricter)]) == 1


def test_gate_errors_name_the_file_and_line(tmp_path, capsys, data, tiny_model_dir):
    bad = [{"metric": "accuracy", "baseline": {"max_increase": 0.1, "max_decrease": 0.1}},
           {"metric": "accuracy", "op": ">=", "threshold": 0.5, "baseline": {"max_decrease": 0.1}},
           {"metric": "flip_rate", "perturbation": "typos", "baseline": {"max_increase": 0.1}},
           {"metric": "accuracy", "baseline": {"max_decrease": 0.1, "alpha": 2}}]
    suite = tiny_suite(tiny_model_dir, {"train": data["train"], "test": data["test"]}, tmp_path, gates=bad,
                       perturbations=[{"use": "keyboard-typos"}])
    path = dump_suite(suite, tmp_path / "bad.yaml")
    assert main(["validate", str(path)]) == 2
    error = capsys.readouterr().err
    for message in ("exactly one of `max_increase` and `max_decrease`", "not both", "'typos' is not an attack",
                    "`alpha` must be a number in (0, 1)"):
        assert message in error, error
    assert error.count(f"{path}:") >= 4
    assert main(["run", str(path.with_name("missing.yaml")), "--baseline", str(tmp_path)]) == 2
    code = main(["gate", str(tmp_path), "--baseline", str(tmp_path)])
    assert code == 2 and "not a run directory" in capsys.readouterr().err

