"""Plugin system: third-party plugins, broken and blocked plugins, duplicates, and the project's own contract."""

from __future__ import annotations

import inspect
import json
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest

from harness import hookimpl
from harness.cli import main
from harness.core import hookspecs
from harness.core.plugin_manager import make_plugin_manager
from harness.core.registry import Registry

REPO = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class ShoutConfig:
    volume: int = 3


class ShoutPlugin:
    """A third-party plugin defined in the test: an augmenter and a reporter."""

    name = "shout-plugin"

    @hookimpl
    def register_augmenters(self, register):
        register("shout", lambda config: None, config=ShoutConfig, description="upper-cases text")


def plugins_json(capsys, argv=(), extra_plugins=()):
    assert main([*argv, "plugins", "--json"], extra_plugins=extra_plugins) == 0
    return json.loads(capsys.readouterr().out)


def test_builtin_plugins_come_from_entry_points(capsys):
    listing = plugins_json(capsys)
    # Names are unique within a kind: `local` is both a task and an executor.
    by_kind_and_name = {(component["kind"], component["name"]): component for component in listing["components"]}
    for name, kind in (("bbc-news", "task"), ("local", "task"), ("full", "finetuner"), ("lora", "finetuner"),
                       ("deepwordbug", "attack"), ("integrated-gradients", "explainer"), ("json", "reporter"),
                       ("html", "reporter"), ("local", "executor"), ("ray", "executor")):
        assert by_kind_and_name[kind, name]["distribution"] == "nlp-robustness-harness"
        assert by_kind_and_name[kind, name]["version"]
    lora_fields = {field[0] for field in by_kind_and_name["finetuner", "lora"]["config_fields"]}
    assert {"r", "alpha", "dropout", "target_modules", "learning_rate"} <= lora_fields
    assert listing["broken"] == []


def test_plugin_defined_in_test_appears_in_listing(capsys):
    listing = plugins_json(capsys, extra_plugins=[ShoutPlugin()])
    shout = next(component for component in listing["components"] if component["name"] == "shout")
    assert shout["kind"] == "augmenter" and shout["plugin"] == "shout-plugin"
    assert shout["config_fields"] == [["volume", "int", "3"]]


def test_plugin_text_listing_shows_fields(capsys):
    assert main(["plugins"], extra_plugins=[ShoutPlugin()]) == 0
    output = capsys.readouterr().out
    assert "shout" in output and "volume: int = 3" in output


def test_each_run_gets_a_fresh_manager():
    with_plugin = Registry(make_plugin_manager(extra_plugins=[ShoutPlugin()]))
    without = Registry(make_plugin_manager())
    assert with_plugin.get("augmenter", "shout") is not None
    assert without.get("augmenter", "shout") is None


@pytest.fixture
def broken_module(tmp_path, monkeypatch):
    (tmp_path / "broken_plugin_module.py").write_text(
        "raise RuntimeError('this plugin is broken on purpose')\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    return "broken_plugin_module"


def test_plugin_that_raises_at_import_is_listed_as_broken(capsys, broken_module):
    listing = plugins_json(capsys, argv=["--plugin", broken_module])
    broken = {plugin["name"]: plugin for plugin in listing["broken"]}
    assert "broken on purpose" in broken[broken_module]["error"]
    assert any(component["name"] == "full" for component in listing["components"])  # the rest still loads


def test_broken_plugin_fails_only_suites_that_use_it(tmp_path, capsys, broken_module):
    suite = tmp_path / "suite.yaml"
    suite.write_text("task: bbc-news\nmodel: minilm\nmethods: [full]\n", encoding="utf-8")
    assert main(["--plugin", broken_module, "validate", str(suite)]) == 0
    suite.write_text(f"task: bbc-news\nmodel: minilm\nmethods: [full]\nattacks: [{broken_module}]\n", encoding="utf-8")
    assert main(["--plugin", broken_module, "validate", str(suite)]) == 2
    error = capsys.readouterr().err
    assert f"{suite}:4:" in error and "failed to load" in error and "broken on purpose" in error


def test_blocked_plugin_is_never_imported(capsys, broken_module, monkeypatch):
    monkeypatch.setenv("HARNESS_BLOCK_PLUGINS", f"{broken_module},deepwordbug")
    listing = plugins_json(capsys, argv=["--plugin", broken_module])
    assert listing["broken"] == []
    assert sorted(listing["blocked"]) == sorted([broken_module, "deepwordbug"])
    assert not any(component["name"] == "deepwordbug" for component in listing["components"])


def test_duplicate_component_name_names_both_plugins():
    """The built-in keeps the name, the newcomer is broken, everything else still loads (issue 22)."""
    class Imposter:
        name = "imposter"

        @hookimpl
        def register_finetuners(self, register):
            register("lora", lambda config: None)

    registry = Registry(make_plugin_manager(extra_plugins=[Imposter()]))
    error = registry.broken["imposter"].error
    assert "finetuner 'lora'" in error and "plugin 'imposter'" in error and "plugin 'lora' (built-in" in error
    assert registry.get("finetuner", "lora") is None
    assert "HARNESS_BLOCK_PLUGINS=imposter" in registry.unknown_name_message("finetuner", "lora")
    assert registry.get("finetuner", "full") is not None


def test_hook_that_raises_marks_plugin_broken():
    class Faulty:
        name = "faulty"

        @hookimpl
        def register_attacks(self, register):
            raise ValueError("cannot register")

    registry = Registry(make_plugin_manager(extra_plugins=[Faulty()]))
    assert "cannot register" in registry.broken["faulty"].error
    assert registry.get("attack", "deepwordbug") is not None


def test_every_plugin_module_is_declared_as_an_entry_point():
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    declared = set(pyproject["project"]["entry-points"]["harness"].values())
    modules = {f"harness_plugins.{path.stem}" for path in (REPO / "plugins").glob("*.py") if path.stem != "__init__"}
    assert modules == declared


def test_builtin_plugins_import_only_the_public_api():
    """Built-ins are written like third-party plugins: `from harness import ...`, never harness's internal modules
    (which may move); every name of the public API resolves."""
    import ast

    import harness

    for path in sorted((REPO / "plugins").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([alias.name for alias in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            internal = [name for name in names if name.startswith("harness.")]
            assert not internal, f"{path.name}:{node.lineno} imports {internal[0]}; use `from harness import ...`"
    from harness.core.resources import textattack_unavailable

    for name in harness.__all__:
        try:
            assert getattr(harness, name) is not None, name
        except ModuleNotFoundError as error:  # the TextAttack bridge's names need the `textattack` extra
            assert error.name == "textattack" and textattack_unavailable(), (name, error)


def test_entry_point_names_match_component_names():
    # One plugin = one module = one entry point, named as users see it in suites. Executor plugins carry a
    # suffix: the executor `local` would otherwise share its plugin name with the task `local`.
    registry = Registry(make_plugin_manager())
    for component in registry.all_components():
        expected = f"{component.name}-executor" if component.kind == "executor" else component.name
        assert component.plugin == expected


def test_every_hook_and_argument_is_documented():
    specs = [obj for name, obj in inspect.getmembers(hookspecs, inspect.isfunction)
             if hasattr(obj, "harness_spec")]
    assert {spec.__name__ for spec in specs} >= {
        "register_tasks", "register_finetuners", "register_attacks", "register_augmenters", "register_explainers",
        "register_reporters", "register_executors", "before_suite", "after_stage", "on_stage_error", "after_suite"}
    for spec in specs:
        doc = inspect.getdoc(spec) or ""
        assert doc, f"{spec.__name__} has no docstring"
        for parameter in inspect.signature(spec).parameters:
            assert f":param {parameter}:" in doc, f"{spec.__name__}: argument {parameter!r} undocumented"


def test_importing_plugins_and_the_public_api_does_not_import_torch():
    modules = ", ".join(f"harness_plugins.{path.stem}" for path in (REPO / "plugins").glob("*.py"))
    code = f"import sys, harness, {modules}; print('torch' in sys.modules, 'textattack' in sys.modules)"
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert output.strip() == "False False"
