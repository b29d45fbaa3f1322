"""TextAttack is an optional extra: without it (or next to transformers 5, which its flair dependency cannot import
under) every recipe and TextAttack augmenter is refused at its suite line and listed as unavailable, and everything
else runs without importing textattack. These tests simulate its absence, so they run in every environment."""

from __future__ import annotations

import json
import sys

import pytest
from conftest import dump_suite, tiny_suite

import harness.attack.textattack_recipes as recipes
import harness.core.resources as resources
from harness.cli import main

INSTALL = "pip install 'nlp-robustness-harness[textattack]'"


@pytest.fixture
def without_textattack(monkeypatch):
    """TextAttack as if not installed: the check says so, and any import of it fails."""
    monkeypatch.setattr(resources, "_installed", lambda module: module != "textattack" and resources.importlib.util
                        .find_spec(module) is not None)
    for name in [name for name in sys.modules if name == "textattack" or name.startswith("textattack.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "textattack", None)  # `import textattack` raises ImportError


def test_the_reason_says_how_to_install_it_or_which_transformers_breaks_it(monkeypatch):
    monkeypatch.setattr(resources, "_installed", lambda module: False)
    assert resources.textattack_unavailable() == f"needs TextAttack: {INSTALL}"
    monkeypatch.setattr(resources, "_installed", lambda module: True)
    monkeypatch.setattr(resources, "_distribution_version", lambda name: "5.2.0")
    reason = resources.textattack_unavailable()
    assert reason.startswith("needs TextAttack") and "transformers 5.2.0" in reason and reason.endswith(INSTALL)
    monkeypatch.setattr(resources, "_distribution_version", lambda name: "4.57.6")
    assert resources.textattack_unavailable() is None


def test_recipes_and_augmenters_are_refused_at_their_suite_line(without_textattack, write_suite, capsys):
    path = write_suite("""
        name: no-textattack
        task: {use: local, train: train.tsv, test: test.tsv}
        model: {source: bert-base-uncased}
        methods:
          - use: full
            augment: {use: eda}
        attacks:
          - gradient-swap
          - use: deepwordbug
            query_budget: 10
          - pwws
        perturbations: [keyboard-typos, char-edits]
    """)
    assert main(["validate", str(path)]) == 2
    errors = capsys.readouterr().err
    for line, column, kind, name in ((6, 14, "augmenter", "eda"), (9, 5, "attack", "deepwordbug"),
                                     (11, 5, "attack", "pwws"), (12, 33, "augmenter", "char-edits")):
        assert f"{path}:{line}:{column}: {kind} {name!r} (plugin {name!r}): needs TextAttack: {INSTALL}" in errors, \
            errors
    assert "gradient-swap" not in errors and "keyboard-typos" not in errors


def test_plugins_and_doctor_list_them_as_unavailable_with_the_reason(without_textattack, capsys):
    assert main(["plugins", "--json"]) == 0
    components = {(info["kind"], info["name"]): info for info in json.loads(capsys.readouterr().out)["components"]}
    needing = {key for key, info in components.items() if info["unavailable"]}
    assert {("attack", name) for name in recipes.RECIPES} | {("augmenter", "eda"), ("augmenter", "char-edits"),
                                                             ("augmenter", "back-translation")} <= needing
    assert all(components[key]["unavailable"] == f"needs TextAttack: {INSTALL}" for key in needing)
    assert not {("attack", "gradient-swap"), ("task", "advglue"), ("augmenter", "keyboard-typos"),
                ("explainer", "integrated-gradients"), ("reporter", "junit")} & needing
    assert main(["plugins"]) == 0
    listing = capsys.readouterr().out
    assert "  deepwordbug " in listing and f"      unavailable: needs TextAttack: {INSTALL}" in listing
    assert main(["doctor"]) == 0
    assert f"--  TextAttack (extra `textattack`): needs TextAttack: {INSTALL}" in capsys.readouterr().out


def test_a_suite_without_textattack_components_runs_without_importing_it(without_textattack, tiny_model_dir,
                                                                          sst2_files, tmp_path, capsys):
    suite = tiny_suite(tiny_model_dir, sst2_files, tmp_path / "reports", methods=[{"use": "full", "epochs": 1}],
                       attacks=["gradient-swap"],
                       perturbations=[{"use": "keyboard-typos", "rate": 0.1}],
                       explainers=[{"use": "saliency"}], reports=["json", "html", "markdown", "junit", "csv"],
                       gates=[{"metric": "accuracy", "stage": "evaluate", "op": ">=", "threshold": 0.0}])
    path = dump_suite(suite, tmp_path / "suite.yaml")
    assert main(["run", str(path), "--no-progress", "--run-id", "r"]) == 0, capsys.readouterr()
    assert sys.modules.get("textattack") is None and not any(name.startswith("textattack.") for name in sys.modules)
    run_dir = tmp_path / "reports" / "tiny" / "r"
    for name in ("results.json", "scorecard.html", "summary.md", "junit.xml", "comparison.csv"):
        assert (run_dir / name).is_file(), name
    import harness

    frame = harness.results_frame(run_dir)
    assert {"evaluate", "attack", "perturb", "explain"} <= set(frame["stage"])
