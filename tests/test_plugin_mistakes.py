"""The mistakes a third-party plugin author makes, seen from the author's side: each is loud and names the plugin.

Each package here is a real distribution, built and installed with pip (offline: --no-index, no build isolation, no
dependencies) into a directory of its own (`pip install --target`) that only the subprocesses of its test put on
PYTHONPATH. So `harness` finds it through its entry points exactly as after `pip install`, while the shared virtual
environment (and every other test running at the same time) never sees a broken or colliding package.

- a misspelt hook (`register_augmenter`): the plugin is broken, with "did you mean" and where the function is;
- a component name that is a built-in's (`saliency`) and an entry-point name that is a built-in's (`lora`): every
  command that does not need the name works, the built-in keeps it, the newcomer is broken, HARNESS_BLOCK_PLUGINS
  chooses; the contract kit's `check_alongside_installed` fails on both;
- a version per component: bumping the distribution's version for a reporter fix keeps the fine-tuned model cached.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import dump_suite, tiny_suite

PIP_OFFLINE = ("install", "--no-deps", "--no-build-isolation", "--no-index", "--quiet", "--disable-pip-version-check",
               "--no-input")

TYPO_HOOK = '''
from harness import hookimpl


class Shout:
    def __init__(self, config):
        self.config = config

    def augment(self, texts, env):
        return [text.upper() for text in texts]


@hookimpl
def register_augmenter(register):  # the hook is register_augmenters
    register("shout", Shout, description="Upper-cases every text")
'''

MY_SALIENCY = '''
from harness import hookimpl


class MySaliency:
    def __init__(self, config):
        self.config = config

    def explain(self, classifier, examples, env):
        raise NotImplementedError


class Whisper:
    def __init__(self, config):
        self.config = config

    def augment(self, texts, env):
        return [text.lower() for text in texts]


@hookimpl
def register_explainers(register):
    register("saliency", MySaliency, description="My own saliency")  # the built-in explainer's name


@hookimpl
def register_augmenters(register):
    register("whisper", Whisper, description="Lower-cases every text")
'''

MY_LORA = '''
from harness import hookimpl


class FastLora:
    def __init__(self, config):
        self.config = config

    def train(self, request):
        raise NotImplementedError


@hookimpl
def register_finetuners(register):
    register("fast-lora", FastLora, description="LoRA, faster")
'''

VERSIONED = '''
from harness import TrainedModel, hookimpl


class Untrained:
    """The base model with a new, untrained head: a finetuner that costs no training."""

    def __init__(self, config):
        self.config = config

    def train(self, request):
        from harness import count_parameters, load_base_classifier

        model, tokenizer = load_base_classifier(request.base, request.data.label_names, kind=request.kind)
        model.save_pretrained(request.output_dir)
        tokenizer.save_pretrained(request.output_dir)
        trainable, total = count_parameters(model)
        return TrainedModel(request.output_dir, None, trainable, total, 0.0, 0)


class UpperCase:
    def __init__(self, config):
        self.config = config

    def augment(self, texts, env):
        return [text.upper() for text in texts]


class Lines:
    def __init__(self, config):
        self.config = config

    def render(self, request):
        from harness import atomic_write_text

        path = request.output_dir / "lines.txt"
        atomic_write_text(path, "".join(f"{row.stage} {row.metric} {row.value}\\n" for row in request.run.results))
        return [path]


@hookimpl
def register_finetuners(register):
    register("untrained", Untrained, description="No training", version="1")


@hookimpl
def register_augmenters(register):
    register("upper-case", UpperCase, description="Upper-cases every text")  # the distribution's version


@hookimpl
def register_reporters(register):
    register("lines", Lines, description="One line per result", version="REPORTER_VERSION")
'''


def write_package(root: Path, name: str, module: str, entry_point: str, code: str, version: str = "0.1.0") -> Path:
    """A one-module distribution `harness-NAME` declaring `entry_point = module` in the `harness` group."""
    directory = root / f"harness-{name}-{version}"
    directory.mkdir(parents=True)
    (directory / "pyproject.toml").write_text(textwrap.dedent(f'''\
        [build-system]
        requires = ["setuptools>=64"]
        build-backend = "setuptools.build_meta"

        [project]
        name = "harness-{name}"
        version = "{version}"
        dependencies = ["nlp-robustness-harness"]

        [project.entry-points.harness]
        {entry_point} = "{module}"

        [tool.setuptools]
        py-modules = ["{module}"]
        '''), encoding="utf-8")
    (directory / f"{module}.py").write_text(code, encoding="utf-8")
    return directory


def install(package: Path, target: Path) -> Path:
    result = subprocess.run([sys.executable, "-m", "pip", *PIP_OFFLINE, "--target", str(target), str(package)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f"pip install {package.name} failed:\n{result.stdout}\n{result.stderr}"
    return target


def environment(target: Path, block: str = "") -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if name != "HARNESS_BLOCK_PLUGINS"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(target), env.get("PYTHONPATH", "")]))
    if block:
        env["HARNESS_BLOCK_PLUGINS"] = block
    return env


def harness(target: Path, *arguments: str, cwd: Path, block: str = "") -> subprocess.CompletedProcess:
    """`harness ARGUMENTS` in a fresh interpreter that sees the packages installed in `target`."""
    return subprocess.run([sys.executable, "-m", "harness", *arguments], capture_output=True, text=True, cwd=cwd,
                          env=environment(target, block), timeout=600)


def listing(target: Path, cwd: Path, block: str = "") -> dict:
    result = harness(target, "plugins", "--json", cwd=cwd, block=block)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def kit(target: Path, code: str, cwd: Path) -> subprocess.CompletedProcess:
    """A plugin's own test, as its author runs it: Python code with the package installed."""
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, cwd=cwd,
                          env=environment(target), timeout=600)


def validate(target: Path, suite: dict, directory: Path, block: str = "") -> subprocess.CompletedProcess:
    return harness(target, "validate", str(dump_suite(suite, directory / "suite.yaml")), cwd=directory, block=block)


def small_suite(tiny_model_dir: Path, sst2_files: dict[str, Path], output: Path, **overrides) -> dict:
    """One method, nothing slow: what validation needs."""
    defaults = {"methods": ["full"], "attacks": [], "explainers": [], "reports": ["json"]}
    return tiny_suite(tiny_model_dir, sst2_files, output, **{**defaults, **overrides})


def broken_by_name(plugins: dict) -> dict[str, dict]:
    return {plugin["name"]: plugin for plugin in plugins["broken"]}


def components(plugins: dict, kind: str) -> dict[str, dict]:
    return {component["name"]: component for component in plugins["components"] if component["kind"] == kind}


# ------------------------------------------------------------------------------------------ 1. a misspelt hook


def test_a_misspelt_hook_is_reported_with_did_you_mean(tmp_path, tiny_model_dir, sst2_files):
    package = write_package(tmp_path / "src", "typo-hook", "harness_typo_hook", "typo-hook", TYPO_HOOK)
    target = install(package, tmp_path / "site")

    plugins = listing(target, tmp_path)
    broken = broken_by_name(plugins)["typo-hook"]
    assert broken["module"] == "harness_typo_hook"
    for expected in ("register_augmenter is not a harness hook", "did you mean register_augmenters?",
                     "harness_typo_hook.register_augmenter", f"{target / 'harness_typo_hook.py'}:"):
        assert expected in broken["error"]
    assert "shout" not in components(plugins, "augmenter")
    text = harness(target, "plugins", cwd=tmp_path)
    assert text.returncode == 0 and "typo-hook (harness_typo_hook): register_augmenter is not" in text.stdout

    # A suite that needs the package fails at the component's line, naming the misspelt hook; others validate.
    assert validate(target, small_suite(tiny_model_dir, sst2_files, tmp_path / "out"), tmp_path).returncode == 0
    result = validate(target, small_suite(tiny_model_dir, sst2_files, tmp_path / "out", perturbations=["shout"]),
                      tmp_path)
    assert result.returncode == 2
    assert "suite.yaml:" in result.stderr and "unknown augmenter 'shout'" in result.stderr
    assert "Plugin 'typo-hook' (harness_typo_hook) might provide it" in result.stderr
    assert "did you mean register_augmenters?" in result.stderr

    # The contract kit fails on it, alone or with everything installed, instead of "Available augmenters: (none)".
    result = kit(target, """
        import harness_typo_hook as plugin
        from harness.testing import check_alongside_installed, component_from

        for check in (lambda: component_from(plugin, "augmenter", "shout"), lambda: check_alongside_installed(plugin)):
            try:
                check()
            except AssertionError as error:
                print("FAILED:", str(error).splitlines()[0] + " " + " ".join(str(error).splitlines()[1:2]))
        """, tmp_path)
    failures = [line for line in result.stdout.splitlines() if line.startswith("FAILED:")]
    assert len(failures) == 2, result.stdout + result.stderr
    assert all("did you mean register_augmenters?" in line for line in failures), failures


# ------------------------------------------------------------------------------------------ 2. name collisions


def test_a_component_named_like_a_builtin_breaks_only_the_newcomer(tmp_path, tiny_model_dir, sst2_files):
    package = write_package(tmp_path / "src", "my-saliency", "harness_my_saliency", "my-saliency", MY_SALIENCY)
    target = install(package, tmp_path / "site")

    plugins = listing(target, tmp_path)
    error = broken_by_name(plugins)["my-saliency"]["error"]
    for expected in ("explainer 'saliency' is registered by 2 plugins",
                     "plugin 'saliency' (built-in, module harness_plugins.saliency, distribution "
                     "nlp-robustness-harness", "plugin 'my-saliency' (module harness_my_saliency, distribution "
                     "harness-my-saliency 0.1.0)", "The built-in keeps the name",
                     "HARNESS_BLOCK_PLUGINS=my-saliency to use the built-in",
                     "HARNESS_BLOCK_PLUGINS=saliency to use the other"):
        assert expected in error
    assert components(plugins, "explainer")["saliency"]["distribution"] == "nlp-robustness-harness"
    assert "whisper" not in components(plugins, "augmenter")  # the newcomer is not loaded at all
    doctor = harness(target, "doctor", cwd=tmp_path)
    assert doctor.returncode == 0, doctor.stderr

    # Suites that do not need the name work; one that names it must choose, and is told how.
    assert validate(target, small_suite(tiny_model_dir, sst2_files, tmp_path / "out"), tmp_path).returncode == 0
    with_saliency = small_suite(tiny_model_dir, sst2_files, tmp_path / "out", explainers=["saliency"])
    result = validate(target, with_saliency, tmp_path)
    assert result.returncode == 2 and "explainer 'saliency' is registered by 2 plugins" in result.stderr
    assert "suite.yaml:" in result.stderr and "HARNESS_BLOCK_PLUGINS=my-saliency" in result.stderr
    assert validate(target, with_saliency, tmp_path, block="my-saliency").returncode == 0
    chosen = listing(target, tmp_path, block="saliency")
    assert chosen["broken"] == []
    assert components(chosen, "explainer")["saliency"]["distribution"] == "harness-my-saliency"

    # The kit registers a plugin alone (no clash there); check_alongside_installed loads everything installed.
    result = kit(target, """
        import harness_my_saliency as plugin
        from harness.testing import check_alongside_installed, component_from

        print("alone:", component_from(plugin, "explainer", "saliency").plugin)
        check_alongside_installed(plugin)
        """, tmp_path)
    assert "alone: harness_my_saliency" in result.stdout
    assert result.returncode != 0 and "AssertionError: plugin 'harness_my_saliency', loaded with the installed" \
        in result.stderr
    assert "explainer 'saliency' is registered by 2 plugins" in result.stderr


def test_an_entry_point_named_like_a_builtins_is_reported(tmp_path, tiny_model_dir, sst2_files):
    package = write_package(tmp_path / "src", "my-lora", "harness_my_lora", "lora", MY_LORA)
    target = install(package, tmp_path / "site")

    plugins = listing(target, tmp_path)
    broken = broken_by_name(plugins)["harness-my-lora:lora"]
    assert broken["module"] == "harness_my_lora"
    for expected in ("entry point 'lora' of harness_my_lora (distribution harness-my-lora 0.1.0)",
                     "harness_plugins.lora (built-in, distribution nlp-robustness-harness",
                     "The built-in keeps the name",
                     "HARNESS_BLOCK_PLUGINS=harness-my-lora:lora hides this one",
                     "HARNESS_BLOCK_PLUGINS=nlp-robustness-harness:lora loads it instead"):
        assert expected in broken["error"]
    finetuners = components(plugins, "finetuner")
    assert finetuners["lora"]["distribution"] == "nlp-robustness-harness" and "fast-lora" not in finetuners

    assert validate(target, small_suite(tiny_model_dir, sst2_files, tmp_path / "out", methods=["lora"]),
                    tmp_path).returncode == 0
    result = validate(target, small_suite(tiny_model_dir, sst2_files, tmp_path / "out", methods=["fast-lora"]),
                      tmp_path)
    assert result.returncode == 2 and "unknown finetuner 'fast-lora'" in result.stderr
    assert "Plugin 'harness-my-lora:lora' (harness_my_lora) might provide it" in result.stderr
    instead = listing(target, tmp_path, block="nlp-robustness-harness:lora")
    assert instead["broken"] == [] and "lora" not in components(instead, "finetuner")
    assert components(instead, "finetuner")["fast-lora"]["distribution"] == "harness-my-lora"

    result = kit(target, """
        import harness_my_lora as plugin
        from harness.testing import check_alongside_installed

        check_alongside_installed(plugin)
        """, tmp_path)
    assert result.returncode != 0 and "entry point 'lora' of harness_my_lora" in result.stderr


# ------------------------------------------------------------------------------------------ 5. versions


def stage_statuses(run_dir: Path) -> dict[str, str]:
    results = json.loads((run_dir / "results.json").read_text(encoding="utf-8"))
    return {stage["kind"]: stage["status"] for stage in results["stages"]}


def test_a_version_per_component_keeps_the_trained_model_cached(tmp_path, tiny_model_dir, sst2_files):
    suite = small_suite(tiny_model_dir, sst2_files, tmp_path / "out", name="versions", methods=["untrained"],
                        perturbations=["upper-case"], reports=["lines", "json"])
    path = dump_suite(suite, tmp_path / "suite.yaml")
    runs = {}
    for release, reporter_version in (("0.1.0", "1"), ("0.2.0", "2")):  # 0.2.0 fixes the reporter only
        code = VERSIONED.replace("REPORTER_VERSION", reporter_version)
        package = write_package(tmp_path / "src", "versioned", "harness_versioned", "versioned", code, release)
        target = install(package, tmp_path / f"site-{release}")
        plugins = listing(target, tmp_path)
        versions = {component["name"]: component["version"] for component in plugins["components"]
                    if component["distribution"] == "harness-versioned"}
        assert versions == {"untrained": "1", "upper-case": release, "lines": reporter_version}
        result = harness(target, "run", str(path), "--no-progress", "--run-id", release, cwd=tmp_path)
        assert result.returncode == 0, result.stdout + result.stderr
        runs[release] = tmp_path / "out" / "versions" / release
    assert set(stage_statuses(runs["0.1.0"]).values()) == {"computed"}
    second = stage_statuses(runs["0.2.0"])
    assert second["finetune"] == "cached" and second["evaluate"] == "cached"  # its version "1" did not change
    assert second["perturb"] == "computed"  # no version of its own: the distribution's, 0.1.0 -> 0.2.0
    assert (runs["0.2.0"] / "lines.txt").is_file()
    text = harness(target, "plugins", cwd=tmp_path).stdout
    assert "plugin versioned (harness-versioned 0.2.0, version 1)" in text


def test_an_invalid_component_version_names_the_plugin():
    from harness import PluginError, hookimpl
    from harness.core.plugin_manager import make_plugin_manager
    from harness.core.registry import Registry

    class NumericVersion:
        name = "numeric-version"

        @hookimpl
        def register_augmenters(self, register):
            register("numbered", lambda config: None, version=2)

    with pytest.raises(PluginError, match="plugin 'numeric-version': augmenter 'numbered': version must be"):
        Registry(make_plugin_manager(extra_plugins=[NumericVersion()], load_entry_points=False))


def test_check_alongside_installed_returns_a_clean_plugins_components():
    from harness import hookimpl
    from harness.testing import check_alongside_installed

    class Clean:
        name = "clean-plugin"

        @hookimpl
        def register_augmenters(self, register):
            register("clean-shout", lambda config: None, description="upper-cases text", version="3")

    [component] = check_alongside_installed(Clean())
    assert (component.name, component.plugin, component.version) == ("clean-shout", "clean-plugin", "3")
