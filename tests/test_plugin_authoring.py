"""Plugin authoring: the template packages, the contract test kit, the example third-party package and the guide.

The packages are installed into this interpreter's environment with pip (offline: --no-index, no build isolation,
no dependencies), and uninstalled afterwards. Everything that must discover their entry points (`harness plugins`,
`harness run`, their own tests) runs in a subprocess, where importlib.metadata sees the new installation.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import json
import os
import random
import re
import shutil
import subprocess
import sys
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np
import pytest
from conftest import dump_suite, tiny_suite

from harness import AttackOutcome, AttackRecord, ExplainOutcome, WordAttribution, hookimpl
from harness.authoring.plugin_template import module_name, next_steps, write_plugin_package
from harness.authoring.template_tests import TODO_EXAMPLE, todo_failure
from harness.core import hookspecs
from harness.core.components import AUTHORING_KINDS
from harness.core.plugin_manager import make_plugin_manager
from harness.core.registry import Registry
from harness.testing import (
    build_component,
    check_attack,
    check_augmenter,
    check_config,
    check_explainer,
    check_finetuner,
    check_import_is_light,
    check_reporter,
    check_task,
    sample_examples,
    sample_run_dir,
    tiny_classifier,
    tiny_train_request,
)

REPO = Path(__file__).resolve().parents[1]
EXAMPLE_PACKAGE = REPO / "examples" / "harness-example-plugins"
EXAMPLE_DISTRIBUTION = "harness-example-plugins"
EXAMPLE_MODULES = ("harness_example_plugins.vowel_drop", "harness_example_plugins.leave_one_out")
TEMPLATE_NAMES = {kind: f"authoring-{kind}" for kind in AUTHORING_KINDS}
"""One generated package per kind; the names are not built-in names."""
DISTRIBUTIONS = [f"harness-{name}" for name in TEMPLATE_NAMES.values()] + [EXAMPLE_DISTRIBUTION]


# ------------------------------------------------------------------------------------------ installation


def pip(*arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pip", *arguments, "--disable-pip-version-check", "--no-input"],
                          capture_output=True, text=True, timeout=300)


def install(directories: list[Path]) -> None:
    """Editable installs, offline; a regular install where the editable one fails."""
    offline = ["install", "--no-deps", "--no-build-isolation", "--no-index", "--quiet"]
    editable = pip(*offline, *[argument for directory in directories for argument in ("-e", str(directory))])
    if editable.returncode != 0:
        regular = pip(*offline, *map(str, directories))
        assert regular.returncode == 0, f"pip install failed:\n{editable.stderr}\n{regular.stderr}"


def uninstall() -> None:
    result = pip("uninstall", "--yes", "--quiet", *DISTRIBUTIONS)  # not installed: a warning, exit code 0
    assert result.returncode == 0, result.stderr


@dataclass(frozen=True)
class Installed:
    root: Path
    packages: dict[str, Path]
    """kind -> generated package directory."""
    example: Path
    """A copy of examples/harness-example-plugins (installing from a copy leaves the repository untouched)."""


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Iterator[Installed]:
    uninstall()  # leftovers of an interrupted run would also make the template refuse the names as taken
    root = tmp_path_factory.mktemp("plugin-packages")
    packages = {kind: write_plugin_package(kind, name, root / name) for kind, name in TEMPLATE_NAMES.items()}
    example = root / EXAMPLE_DISTRIBUTION
    shutil.copytree(EXAMPLE_PACKAGE, example, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "build"))
    try:
        install([*packages.values(), example])
        yield Installed(root, packages, example)
    finally:
        uninstall()


def run_harness(*arguments: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "harness", *arguments], capture_output=True, text=True, cwd=cwd,
                          timeout=600)


def run_suite(suite: dict, directory: Path) -> dict:
    """Run a suite with `harness run` in a fresh interpreter; return its results.json."""
    path = dump_suite(suite, directory / "suite.yaml")
    result = run_harness("run", str(path), "--no-progress", "--run-id", "run", cwd=directory)
    assert result.returncode == 0, f"exit code {result.returncode}\n{result.stdout}\n{result.stderr}"
    return json.loads((Path(suite["output"]) / suite["name"] / "run" / "results.json").read_text(encoding="utf-8"))


def stage_rows(results: dict, stage: str, component: str) -> dict[str, float]:
    return {row["metric"]: row["value"] for row in results["results"]
            if row["stage"] == stage and row["component"] == component}


def generated_test_file(package: Path) -> Path:
    [path] = (package / "tests").glob("test_*.py")
    return path


def write_the_real_assertion(test_path: Path, name: str) -> None:
    """What the author of a generated package does with test_what_it_does: the failure replaced by assertions
    about the component (here the example assertions of its comment, true of the template's starting code)."""
    lines = test_path.read_text(encoding="utf-8").splitlines()
    start = lines.index("    " + TODO_EXAMPLE)
    end = lines.index(f'    pytest.fail("{todo_failure(name)}")')
    assertions = [line.replace("    # ", "    ", 1) for line in lines[start + 1:end]]
    assert assertions and all(line.startswith("    ") for line in assertions), assertions
    test_path.write_text("\n".join(lines[:start] + assertions + lines[end + 1:]) + "\n", encoding="utf-8")


def run_pytest(*arguments: str, cwd: Path) -> subprocess.CompletedProcess:
    # A wide terminal: pytest cuts the failure messages of its summary lines to the terminal's width.
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-rf", "-p", "no:cacheprovider", *arguments],
                          capture_output=True, text=True, cwd=cwd, timeout=600, env={**os.environ, "COLUMNS": "400"})


# ------------------------------------------------------------------------------------------ the template


def test_template_refuses_bad_names_kinds_and_directories(tmp_path):
    for name in ("", "Upper", "under_score", "9lives", "trailing-", "double--dash", "with space"):
        with pytest.raises(ValueError, match="lowercase letters, digits"):
            write_plugin_package("augmenter", name, tmp_path / "package")
    with pytest.raises(ValueError, match="already taken by nlp-robustness-harness"):
        write_plugin_package("augmenter", "keyboard-typos", tmp_path / "package")
    with pytest.raises(ValueError, match="kind must be one of"):
        write_plugin_package("metric", "my-metric", tmp_path / "package")
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(ValueError, match="not an empty directory"):
        write_plugin_package("augmenter", "my-augmenter", tmp_path / "busy")
    (tmp_path / "empty").mkdir()
    assert write_plugin_package("augmenter", "my-augmenter", tmp_path / "empty") == tmp_path / "empty"
    assert str(tmp_path / "empty") in next_steps(tmp_path / "empty")


def test_template_layout_and_imports(tmp_path):
    allowed = set(sys.stdlib_module_names) | {"harness", "__future__"}
    for kind in AUTHORING_KINDS:
        name = f"my-{kind}-2"
        directory = write_plugin_package(kind, name, tmp_path / kind)
        module = module_name(name)
        assert module == f"harness_my_{kind}_2"
        assert sorted(str(path.relative_to(directory)) for path in directory.rglob("*") if path.is_file()) == [
            f"{module}.py", "pyproject.toml", f"tests/test_{module[len('harness_'):]}.py"]
        pyproject = (directory / "pyproject.toml").read_text(encoding="utf-8")
        assert f'name = "harness-{name}"' in pyproject and 'version = "0.1.0"' in pyproject
        assert f'{name} = "{module}"' in pyproject and '"nlp-robustness-harness"' in pyproject
        source = (directory / f"{module}.py").read_text(encoding="utf-8")
        tree = ast.parse(source)
        # Nothing claims to know what the author's component does: the template's behaviour is not the name's.
        todo = f"TODO: describe what {name} does"
        assert f'description="{todo}"' in source
        assert "TODO: describe" in ast.get_docstring(tree).splitlines()[0]
        [component_class] = [node for node in tree.body if isinstance(node, ast.ClassDef)
                             and not node.name.endswith("Config")]
        assert ast.get_docstring(component_class) == todo + "."
        tests = (directory / "tests" / f"test_{module[len('harness_'):]}.py").read_text(encoding="utf-8")
        assert f'pytest.fail("{todo_failure(name)}")' in tests and "def test_what_it_does(" in tests
        for node in ast.walk(tree):  # top-level and lazy imports alike: the public API and the standard library
            roots = ([alias.name.split(".")[0] for alias in node.names] if isinstance(node, ast.Import)
                     else [(node.module or "").split(".")[0]] if isinstance(node, ast.ImportFrom) else [])
            assert set(roots) <= allowed, f"{kind} template imports {roots}"
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("harness."):
                pytest.fail(f"{kind} template imports {node.module}: plugins import the public `harness` API only")


def test_installed_packages_are_listed_with_their_distributions(installed):
    result = run_harness("plugins", "--json", cwd=installed.root)
    assert result.returncode == 0, result.stderr
    listing = json.loads(result.stdout)
    assert listing["broken"] == []
    by_name = {component["name"]: component for component in listing["components"]}
    for kind, name in TEMPLATE_NAMES.items():
        component = by_name[name]
        assert (component["kind"], component["plugin"]) == (kind, name)
        assert (component["distribution"], component["version"]) == (f"harness-{name}", "0.1.0")
        assert component["description"] == f"TODO: describe what {name} does"
    for name, kind in (("vowel-drop", "augmenter"), ("leave-one-out", "explainer")):
        assert (by_name[name]["kind"], by_name[name]["distribution"]) == (kind, EXAMPLE_DISTRIBUTION)
    assert ["rate", "float", "0.25"] in by_name["vowel-drop"]["config_fields"]
    check_import_is_light([*(module_name(name) for name in TEMPLATE_NAMES.values()), *EXAMPLE_MODULES])


def test_generated_tests_fail_until_the_author_says_what_the_component_does(installed, tmp_path):
    """As generated, every contract test passes and test_what_it_does fails with its TODO; once the author writes a
    real assertion there (here: the example of its comment), the package's tests pass. The example package's pass."""
    test_dirs = [str(directory / "tests") for directory in (*installed.packages.values(), installed.example)]
    result = run_pytest(*test_dirs, cwd=installed.root)
    output = result.stdout[-8000:] + result.stderr[-2000:]
    failed = sorted(line for line in result.stdout.splitlines() if line.startswith("FAILED "))
    assert result.returncode == 1 and len(failed) == len(TEMPLATE_NAMES), output
    for kind, name in TEMPLATE_NAMES.items():
        path = generated_test_file(installed.packages[kind])
        assert any(f"{path.name}::test_what_it_does - Failed: {todo_failure(name)}" in line for line in failed), output
    assert re.search(rf"\b{len(TEMPLATE_NAMES)} failed, \d+ passed", result.stdout), output
    assert "error" not in result.stdout.splitlines()[-1], output

    # Edited copies: the installed packages stay as generated for the other tests of this module.
    for kind, name in TEMPLATE_NAMES.items():
        shutil.copytree(installed.packages[kind] / "tests", tmp_path / kind / "tests")
        write_the_real_assertion(generated_test_file(tmp_path / kind), name)
    result = run_pytest(*(str(tmp_path / kind / "tests") for kind in TEMPLATE_NAMES), "-k", "test_what_it_does",
                        cwd=tmp_path)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert f"{len(TEMPLATE_NAMES)} passed" in result.stdout and "failed" not in result.stdout


def test_template_components_run_together_in_a_suite(installed, tiny_model_dir, sst2_files, tmp_path):
    names = TEMPLATE_NAMES
    suite = tiny_suite(
        tiny_model_dir, sst2_files, tmp_path / "reports", name="authoring",
        task={"use": names["task"], "train": str(sst2_files["train"]), "test": str(sst2_files["test"]),
              "text_column": "sentence", "label_names": ["negative", "positive"]},
        methods=[{"use": names["finetuner"], "epochs": 1, "batch_size": 16}],
        attacks=[{"use": names["attack"], "max_deleted_words": 2}],
        perturbations=[names["augmenter"]],
        explainers=[names["explainer"]],
        reports=[names["reporter"], "json"])
    results = run_suite(suite, tmp_path)
    assert all(stage["status"] == "computed" for stage in results["stages"]), results["stages"]
    assert stage_rows(results, "task", names["task"])["test_examples"] == 40
    assert {row["method"] for row in results["results"] if row["stage"] == "evaluate"} == {names["finetuner"]}
    attack = stage_rows(results, "attack", names["attack"])
    assert attack["attacked_examples"] + attack["skipped_examples"] == 3
    assert 0 <= stage_rows(results, "perturb", names["augmenter"])["flip_rate"] <= 1
    assert stage_rows(results, "perturb", names["augmenter"])["changed_text_rate"] > 0.9
    explain = stage_rows(results, "explain", names["explainer"])
    assert explain["explained_examples"] == 3 and "comprehensiveness_aopc" in explain
    summary = (tmp_path / "reports" / "authoring" / "run" / "summary.txt").read_text(encoding="utf-8")
    assert "comprehensiveness_aopc" in summary and "failed stages: 0" in summary


def test_example_plugins_pass_the_contract_kit(installed, tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(installed.example))  # the editable install's path hook is not active here
    from harness_example_plugins import leave_one_out, vowel_drop

    check_config(vowel_drop, "augmenter", "vowel-drop", {"rate": 0.5}, rejects=[{"rate": -1.0}])
    outputs = check_augmenter(build_component(vowel_drop, "augmenter", "vowel-drop", {"rate": 1.0}))
    assert outputs[0][0] == "a wrm , fnny and btflly actd flm ."
    check_config(leave_one_out, "explainer", "leave-one-out", {"replacement": "unk"}, rejects=[{"replacement": "x"}])
    classifier = tiny_classifier(tmp_path)
    outcome = check_explainer(build_component(leave_one_out, "explainer", "leave-one-out"), classifier,
                              sample_examples())
    assert all(attribution.spans for attribution in outcome.attributions)


def test_example_plugins_run_in_a_suite(installed, tiny_model_dir, sst2_files, tmp_path):
    suite = tiny_suite(tiny_model_dir, sst2_files, tmp_path / "reports", name="example-plugins",
                       methods=[{"use": "full", "epochs": 1, "batch_size": 16}], attacks=[],
                       perturbations=[{"use": "vowel-drop", "rate": 0.5}],
                       explainers=[{"use": "leave-one-out", "score": "log-odds"}], reports=["json"])
    results = run_suite(suite, tmp_path)
    perturb = stage_rows(results, "perturb", "vowel-drop")
    assert perturb["changed_text_rate"] > 0.9 and 0 <= perturb["flip_rate"] <= 1
    explain = stage_rows(results, "explain", "leave-one-out")
    assert explain["explained_examples"] == 3
    assert {"comprehensiveness_aopc", "loo_correlation", "randomization_rank_correlation"} <= set(explain)


def test_example_suite_validates(installed):
    result = run_harness("validate", str(EXAMPLE_PACKAGE / "suite.yaml"), cwd=REPO)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 perturbations, 1 explainers" in result.stdout


# ------------------------------------------------------------------------------------------ the kit catches bugs


class KeywordPredictor:
    """Positive exactly when a text contains "good": a model stand-in for fast checks."""

    def probabilities(self, texts):
        return np.array([[0.2, 0.8] if "good" in text else [0.8, 0.2] for text in texts]).reshape(len(texts), 2)

    def predict(self, texts):
        return self.probabilities(texts).argmax(axis=1)


KEYWORD_CLASSIFIER = types.SimpleNamespace(predictor=KeywordPredictor(), label_names=("negative", "positive"),
                                           model=None, tokenizer=None, device="cpu", max_length=64)


@dataclass
class MutableConfig:
    rate: float = 0.1


class MutableConfigPlugin:
    name = "mutable-config-plugin"

    @hookimpl
    def register_augmenters(self, register):
        register("mutable", lambda config: None, config=MutableConfig, description="a config that is not frozen")


def test_kit_refuses_a_mutable_config():
    with pytest.raises(AssertionError, match="must be a frozen dataclass"):
        check_config(MutableConfigPlugin(), "augmenter", "mutable")
    with pytest.raises(AssertionError, match="unknown augmenter 'other'"):
        check_config(MutableConfigPlugin(), "augmenter", "other")


class RandomAugmenter:
    def augment(self, texts, env):
        return [text + random.choice("abcdefghij") * 8 for text in texts]


class ForgetfulAugmenter:
    def augment(self, texts, env):
        return list(texts[:-1])


def test_kit_catches_augmenter_bugs():
    with pytest.raises(AssertionError, match="not deterministic under seed 0"):
        check_augmenter(RandomAugmenter())
    with pytest.raises(AssertionError, match="one per input text"):
        check_augmenter(ForgetfulAugmenter())


def record(example, perturbed_text, perturbed_prediction, status):
    return AttackRecord(example.id, example.text, perturbed_text, example.label, 0, perturbed_prediction, 0.8, 0.8,
                        status, 1, 1, len(example.text.split()), 0.0)


class SkippingAttack:
    def attack(self, classifier, examples, env):
        return AttackOutcome(tuple(record(example, example.text, 0, "failed") for example in examples[1:]))


class BoastingAttack:
    """Claims to flip every prediction with a change the model does not care about."""

    def attack(self, classifier, examples, env):
        return AttackOutcome(tuple(record(example, example.text + " !", 1, "successful") for example in examples))


class ShiftedSpansExplainer:
    def explain(self, classifier, examples, env):
        return ExplainOutcome(tuple(
            WordAttribution(example.id, tuple(example.text.split()), tuple(1.0 for _ in example.text.split()), 0,
                            example.label, spans=tuple((i, i + 1) for i, _ in enumerate(example.text.split())))
            for example in examples))


def load_template_module(kind: str, name: str, directory: Path, monkeypatch):
    """The module a template package holds, imported from its file (the package is not installed)."""
    package = write_plugin_package(kind, name, directory)
    monkeypatch.syspath_prepend(str(package))
    return importlib.import_module(module_name(name))


def test_kit_catches_attack_and_explainer_bugs(tmp_path, monkeypatch):
    examples = [example for example in sample_examples() if example.label == 0]  # what the keyword model gets right
    deletion = load_template_module("attack", "kit-deletion", tmp_path / "package", monkeypatch)
    check_attack(build_component(deletion, "attack", "kit-deletion"), KEYWORD_CLASSIFIER, examples)
    with pytest.raises(AssertionError, match="one AttackRecord per example, in order"):
        check_attack(SkippingAttack(), KEYWORD_CLASSIFIER, examples)
    with pytest.raises(AssertionError, match="the classifier predicts 0 for the original and 0 for the perturbed"):
        check_attack(BoastingAttack(), KEYWORD_CLASSIFIER, examples)
    with pytest.raises(AssertionError, match="span"):
        check_explainer(ShiftedSpansExplainer(), KEYWORD_CLASSIFIER, examples)


# ------------------------------------------------------------------------------------------ the guide


def test_guide_documents_every_hook_and_argument():
    guide = (REPO / "docs" / "plugins.md").read_text(encoding="utf-8")
    specs = [function for _, function in inspect.getmembers(hookspecs, inspect.isfunction)
             if hasattr(function, "harness_spec")]
    assert len(specs) >= 10
    for spec in specs:
        arguments = list(inspect.signature(spec).parameters)
        assert f"{spec.__name__}({', '.join(arguments)})" in guide, f"{spec.__name__} is not documented"
        for argument in arguments:
            assert f"`{argument}`" in guide, f"argument {argument!r} of {spec.__name__} is not documented"
    for kind in AUTHORING_KINDS:
        assert f"### {kind}" in guide.lower(), f"the {kind} protocol is not documented"


def test_guide_examples_pass_the_contract_kit(tmp_path, monkeypatch):
    """Every worked example of the guide is a working plugin (the TextAttack one is left out: importing
    textattack takes seconds; it passes check_attack too)."""
    section = (REPO / "docs" / "plugins.md").read_text(encoding="utf-8").split("## Worked examples", 1)[1]
    blocks = [block for block in re.findall(r"```python\n(.*?)```", section, re.DOTALL)
              if "@hookimpl" in block and "textattack" not in block]
    assert len(blocks) == 6
    classifier = tiny_classifier(tmp_path / "classifier")
    checked = set()
    for index, code in enumerate(blocks):
        module = types.ModuleType(f"guide_example_{index}")
        monkeypatch.setitem(sys.modules, module.__name__, module)
        exec(compile(code, f"docs/plugins.md example {index}", "exec"), module.__dict__)
        [component] = Registry(make_plugin_manager(extra_plugins=[module], load_entry_points=False)).all_components()
        params = {}
        if component.kind == "task":
            data = tmp_path / "reviews.jsonl"
            data.write_text("".join(json.dumps({"text": f"review {row}", "label": row % 2,
                                                "split": "train" if row < 8 else "test"}) + "\n"
                                    for row in range(10)), encoding="utf-8")
            params = {"path": str(data)}
        check_config(module, component.kind, component.name, params)
        built = build_component(module, component.kind, component.name, params)
        if component.kind == "task":
            check_task(built)
        elif component.kind == "finetuner":
            check_finetuner(built, tiny_train_request(tmp_path / "finetune"))
        elif component.kind == "attack":
            check_attack(built, classifier)
        elif component.kind == "augmenter":
            check_augmenter(built)
        elif component.kind == "explainer":
            check_explainer(built, classifier)
        else:
            check_reporter(built, sample_run_dir(tmp_path / "runs"))
        checked.add(component.kind)
    assert checked == set(AUTHORING_KINDS)


def test_new_plugin_command(tmp_path, capsys):
    from harness.cli import main

    assert main(["new-plugin", "explainer", "my-occlusion", "--dir", str(tmp_path / "pkg")]) == 0
    assert (tmp_path / "pkg" / "harness_my_occlusion.py").is_file()
    assert "next: pip install -e" in capsys.readouterr().out
    assert main(["new-plugin", "explainer", "My Occlusion", "--dir", str(tmp_path / "bad")]) == 2
    assert main(["new-plugin", "attack", "deepwordbug", "--dir", str(tmp_path / "taken")]) == 2
    assert "already taken" in capsys.readouterr().err
