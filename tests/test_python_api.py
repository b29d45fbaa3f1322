"""The Python API (issue 21): harness.run takes a path, YAML text or a dict and returns a Run; errors are
exceptions at their line or key path; harness.evaluate tests one trained model as it is."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import dump_suite, tiny_suite

import harness
from harness.cli import main


def test_a_dict_suite_runs_and_returns_its_results_records_and_reports(tmp_path, tiny_model_dir, sst2_files):
    suite = tiny_suite(tiny_model_dir, sst2_files, tmp_path / "reports", methods=[{"use": "full", "epochs": 1}],
                       attacks=[], explainers=[], perturbations=["keyboard-typos"],
                       gates=[{"metric": "accuracy", "op": ">=", "threshold": 0.0}])
    run = harness.run(suite)
    assert run.passed and run.exit_code == 0 and run.failed_stages == ()
    assert [gate.passed for gate in run.gates] == [True]
    accuracy = run.results.query("stage == 'evaluate' and metric == 'accuracy'")
    assert list(accuracy.method) == ["full"] and 0 <= accuracy.value.iloc[0] <= 1
    assert len(run.records("full/seed0/evaluate", "predictions")) == 40
    assert run.scorecard is not None and run.scorecard.is_file()


def test_yaml_text_and_a_path_give_the_same_results_as_the_command_line(tmp_path, tiny_model_dir, sst2_files):
    suite = tiny_suite(tiny_model_dir, sst2_files, tmp_path / "reports", methods=[{"use": "full", "epochs": 1}],
                       attacks=[], explainers=[])
    path = dump_suite(suite, tmp_path / "suite.yaml")
    assert main(["run", str(path), "--no-progress"]) == 0
    by_path = harness.run(path)
    by_text = harness.run(path.read_text(encoding="utf-8"))
    cli_dir = next(run for run in (tmp_path / "reports" / "tiny").iterdir()
                   if run not in (by_path.run_dir, by_text.run_dir))
    for run in (by_path, by_text):
        assert run.results.equals(harness.results_frame(cli_dir))


def test_a_malformed_dict_suite_raises_at_the_key_path(tmp_path, tiny_model_dir, sst2_files):
    suite = tiny_suite(tiny_model_dir, sst2_files, tmp_path / "reports", methods=[{"use": "full", "epochs": -1}])
    suite["attacks"] = [{"use": "no-such-attack"}]
    suite["budgets"] = {"max_attack_examples": "many"}
    with pytest.raises(harness.SuiteErrors) as raised:
        harness.run(suite)
    messages = [str(error) for error in raised.value.errors]
    assert any(message.startswith("suite (dict) at methods[0]: ") and "epochs" in message for message in messages)
    assert any(message.startswith("suite (dict) at attacks[0]") and "no-such-attack" in message
               for message in messages), messages
    assert any(message.startswith("suite (dict) at budgets.max_attack_examples: ") for message in messages), messages
    assert not (tmp_path / "reports").exists()  # nothing ran


def test_a_missing_suite_file_is_an_error_not_yaml(tmp_path):
    with pytest.raises(harness.SuiteErrors, match="suite file not found"):
        harness.run(str(tmp_path / "missing.yaml"))


def test_evaluate_tests_a_trained_model_as_it_is(tmp_path, tiny_model_dir, sst2_files):
    first = harness.run(tiny_suite(tiny_model_dir, sst2_files, tmp_path / "reports",
                                   methods=[{"use": "full", "epochs": 1}], attacks=[], explainers=[]))
    [stage] = [stage for stage in first.stages if stage.stage_id == "full/seed0/finetune"]
    model_dir = shutil.copytree(Path(first.run_dir.parent.parent / ".stage-cache" / "finetune" / stage.key / "model"),
                                tmp_path / "model")
    run = harness.evaluate(model_dir, {"use": "local", "train": str(sst2_files["train"]),
                                       "test": str(sst2_files["test"])},
                           perturbations=["keyboard-typos"], max_length=48, output=tmp_path / "evaluated",
                           gates=[{"metric": "accuracy", "op": ">=", "threshold": 0.0}])
    assert run.passed
    before = first.results.query("stage == 'evaluate' and metric == 'accuracy'").value.iloc[0]
    after = run.results.query("stage == 'evaluate' and metric == 'accuracy'")
    assert list(after.method) == ["as-is"] and after.value.iloc[0] == before
    assert set(run.results.stage) >= {"finetune", "evaluate", "perturb"}
