"""A third-party component that crashes mid-stage (issue 22, item 3): one message naming the plugin's own file and
line and where the traceback is stored; `--debug` prints the traceback itself. And one mistake gives one error: a
wrong-typed parameter does not also make a gate that names the component correctly fail validation."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Iterator

import pytest
from conftest import dump_suite, tiny_suite

from harness.cli import main

DISTRIBUTION = "harness-crashing-typos"
MODULE = "harness_crashing_typos"


def pip(*arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pip", *arguments, "--disable-pip-version-check", "--no-input"],
                          capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def crashing_plugin(tmp_path_factory) -> Iterator[Path]:
    """An installed package whose augmenter raises three calls deep in its own code."""
    root = tmp_path_factory.mktemp("crashing-plugin")
    (root / "pyproject.toml").write_text(textwrap.dedent(f"""\
        [build-system]
        requires = ["setuptools>=64"]
        build-backend = "setuptools.build_meta"

        [project]
        name = "{DISTRIBUTION}"
        version = "0.1.0"

        [project.entry-points.harness]
        crashing-typos = "{MODULE}"

        [tool.setuptools]
        py-modules = ["{MODULE}"]
        """), encoding="utf-8")
    (root / f"{MODULE}.py").write_text(textwrap.dedent('''\
        """An augmenter with a bug."""
        from harness import hookimpl


        def swap(word):
            return word[1] + word[0] + word[2:]  # IndexError on a one-letter word


        class CrashingTypos:
            def __init__(self, config):
                self.config = config

            def augment(self, texts, env):
                return [" ".join(swap(word) for word in text.split()) for text in texts]


        @hookimpl
        def register_augmenters(register):
            register("crashing-typos", CrashingTypos, description="Swaps the first two letters of every word")
        '''), encoding="utf-8")
    pip("uninstall", "--yes", "--quiet", DISTRIBUTION)
    result = pip("install", "--no-deps", "--no-build-isolation", "--no-index", "--quiet", "-e", str(root))
    assert result.returncode == 0, result.stderr
    try:
        yield root
    finally:
        pip("uninstall", "--yes", "--quiet", DISTRIBUTION)


def run_harness(*arguments: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "harness", *arguments], capture_output=True, text=True, cwd=cwd,
                          timeout=600)


def test_a_crashed_stage_names_the_plugins_file_and_line_and_where_its_traceback_is(
        crashing_plugin, tmp_path, tiny_model_dir, sst2_files):
    suite = tiny_suite(tiny_model_dir, sst2_files, tmp_path / "reports", methods=[{"use": "full", "epochs": 1}],
                       attacks=[], explainers=[], perturbations=["crashing-typos"])
    path = dump_suite(suite, tmp_path / "suite.yaml")
    result = run_harness("run", str(path), "--no-progress", "--run-id", "first", cwd=tmp_path)
    assert result.returncode == 3, result.stderr
    module = crashing_plugin / f"{MODULE}.py"
    line = next(number for number, text in enumerate(module.read_text().splitlines(), 1) if "IndexError" in text)
    errors = [text for text in result.stderr.splitlines() if text.startswith("error:")]
    assert errors == [f"error: stage full/seed0/perturb/crashing-typos (plugin 'crashing-typos') failed: "
                      f"IndexError: string index out of range (at {module}:{line} (swap))"]
    run_dir = tmp_path / "reports" / "tiny" / "first"
    assert f"its traceback is in {run_dir / 'stages.jsonl'}" in result.stderr
    assert "Traceback (most recent call last)" not in result.stderr
    stored = [json.loads(text) for text in (run_dir / "stages.jsonl").read_text(encoding="utf-8").splitlines()]
    [crashed] = [stage for stage in stored if stage["status"] == "error"]
    assert crashed["error"] == errors[0].split(" failed: ", 1)[1]
    assert f'File "{module}", line {line}, in swap' in crashed["traceback"]

    debug = run_harness("--debug", "run", str(path), "--no-progress", "--run-id", "second", cwd=tmp_path)
    assert debug.returncode == 3
    assert "Traceback (most recent call last)" in debug.stderr
    assert f'File "{module}", line {line}, in swap' in debug.stderr


def test_a_wrong_typed_parameter_is_one_error_not_two(tmp_path, tiny_model_dir, sst2_files, capsys):
    """Before: also "gate scope 'deepwordbug' is not an attack, perturbation or explainer of this suite"."""
    suite = tiny_suite(tiny_model_dir, sst2_files, tmp_path / "reports", attacks=[], explainers=[],
                       perturbations=[{"use": "keyboard-typos", "rate": "often"}],
                       gates=[{"metric": "flip_rate", "perturbation": "keyboard-typos", "op": "<=", "threshold": 0.5}])
    path = dump_suite(suite, tmp_path / "suite.yaml")
    assert main(["validate", str(path)]) == 2
    errors = [text for text in capsys.readouterr().err.splitlines() if text.strip()]
    assert len(errors) == 1 and "rate" in errors[0], errors
