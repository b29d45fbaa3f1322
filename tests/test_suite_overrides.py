"""`--set KEY.PATH=VALUE` overrides a suite value before validation; errors point at the flag."""

from __future__ import annotations

import json

import pytest
from conftest import dump_suite, tiny_suite

from harness.cli import main
from harness.core.plugin_manager import make_plugin_manager
from harness.core.registry import Registry
from harness.core.suite import load_suite


@pytest.mark.textattack
def test_overrides_reach_the_validated_suite(tmp_path, tiny_model_dir, sst2_files):
    suite = tiny_suite(tiny_model_dir, sst2_files, tmp_path, methods=["full", {"use": "lora", "r": 4}])
    path = dump_suite(suite, tmp_path / "suite.yaml")
    loaded = load_suite(path, Registry(make_plugin_manager()), overrides=[
        "budgets.max_train_examples=0.25", "methods.0.epochs=2", "methods.1.r=8", "seeds=[1, 2]",
        "budgets.stratify=false"])
    assert loaded.budgets.max_train_examples == 0.25 and loaded.budgets.stratify is False
    assert loaded.methods[0].config.epochs == 2 and loaded.methods[1].config.r == 8
    assert loaded.seeds == (1, 2)
    assert loaded.document["methods"][0] == {"use": "full", "epochs": 2}  # what the run records


def test_a_bad_override_names_the_flag(tmp_path, tiny_model_dir, sst2_files, capsys):
    path = dump_suite(tiny_suite(tiny_model_dir, sst2_files, tmp_path), tmp_path / "suite.yaml")
    for override, message in (("methods.0.epochz=2", "has no parameter 'epochz'; did you mean 'epochs'?"),
                              ("methods.7.epochs=2", "methods.7: the list has 2 item(s)"),
                              ("budgets.max_train_examples=-3", "must be positive"),
                              ("nonsense", "--set takes KEY.PATH=VALUE")):
        assert main(["validate", str(path), "--set", override]) == 2
        error = capsys.readouterr().err
        assert f"--set {override}:1:1:" in error and message in error, error


def test_the_run_records_the_overridden_suite(tmp_path, tiny_model_dir, sst2_files):
    path = dump_suite(tiny_suite(tiny_model_dir, sst2_files, tmp_path, attacks=[], explainers=[]),
                      tmp_path / "suite.yaml")
    assert main(["run", str(path), "--no-progress", "--set", "methods.1.epochs=2", "--set", "seeds=[3]"]) == 0
    (run_dir,) = [p for p in (tmp_path / "tiny").iterdir() if (p / "manifest.json").exists()]
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["seeds"] == [3] and manifest["suite_document"]["methods"][1]["epochs"] == 2
