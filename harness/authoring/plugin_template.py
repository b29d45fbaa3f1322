"""A new plugin package from a template: `write_plugin_package(kind, name, directory)`.

It writes a small installable package with one working component of `kind`, named `name`:

    <directory>/pyproject.toml                 harness-<name> 0.1.0, the `harness` entry point <name>
    <directory>/harness_<module>.py            the component, its frozen config dataclass, the hook implementation
    <directory>/tests/test_<module>.py         contract tests through harness.testing, and test_what_it_does

(<module> is the name with dashes as underscores.) The generated code imports only `harness` (its public API) and
the standard library; whatever needs torch runs inside methods, so `harness plugins` stays fast.

The name is the author's, the behaviour the template's: a `random-deletion` augmenter written from the augmenter
template swaps characters. So nothing generated claims to know what the component does: its registered description
(what `harness plugins` lists), its class docstring and the first line of its module say "TODO: describe what NAME
does", and test_what_it_does fails with "TODO: assert something about what NAME does" until the author writes a
real assertion (the contract tests pass as generated; the test's comment holds assertions true of the starting
code). Each component runs as generated (in a suite too), so the author changes working code. The starting code:

- task: labelled texts from small local CSV, TSV or JSON-lines files (standard library readers);
- finetuner: full fine-tuning through the harness's training loop, a lower default learning rate, an option to
  freeze the input embeddings;
- attack: greedy word deletion through classifier.predictor, one AttackRecord per example;
- augmenter: swaps two adjacent characters in a seeded share of the words (harness.text_rng);
- explainer: leave-one-word-out occlusion through classifier.predictor, with character spans;
- reporter: a plain-text summary of the results table (summary.txt).

The texts of the files are in harness.authoring.template_texts (pyproject.toml, the modules) and
harness.authoring.template_tests (the tests).
"""

from __future__ import annotations

import importlib.metadata
import re
import string
from pathlib import Path

from harness.authoring.template_tests import TESTS
from harness.authoring.template_texts import MODULES, PYPROJECT
from harness.core.components import AUTHORING_KINDS
from harness.core.plugin_manager import ENTRY_POINT_GROUP

PLUGIN_NAME = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
"""Lowercase letters, digits and single dashes; starting with a letter, not ending with a dash."""


def validate_plugin_name(name: str) -> None:
    """Raise ValueError unless `name` can be a component name, a distribution name and (as harness_<module>)
    a module name, and is not already an installed plugin's name."""
    if not isinstance(name, str) or not PLUGIN_NAME.match(name):
        raise ValueError(f"plugin name {name!r} is not valid: use lowercase letters, digits and single dashes, "
                         f"starting with a letter (e.g. 'vowel-drop' or 'my-attack2')")
    for entry_point in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        if entry_point.name == name:
            owner = entry_point.dist.name if entry_point.dist else entry_point.value
            # Two plugins registering one name stop every harness command (the registry refuses duplicates).
            raise ValueError(f"plugin name {name!r} is already taken by {owner}; choose another name")


def module_name(name: str) -> str:
    """The Python module of plugin `name`: harness_<name with dashes as underscores>."""
    return "harness_" + name.replace("-", "_")


def class_prefix(name: str) -> str:
    """CamelCase of the name ('vowel-drop' -> 'VowelDrop'), for the generated class names."""
    return "".join(part.capitalize() for part in name.split("-"))


def write_plugin_package(kind: str, name: str, directory: Path) -> Path:
    """Write an installable plugin package with one working `kind` component named `name` into `directory`.

    :param kind: one of task, finetuner, attack, augmenter, explainer, reporter.
    :param name: the component's name in suites (also the entry point's): lowercase letters, digits, dashes.
    :param directory: where the package goes; created if missing, refused if it exists and is not empty.
    :returns: the package directory. `next_steps(directory)` is the line to print after it.
    """
    if kind not in AUTHORING_KINDS:
        raise ValueError(f"kind must be one of {', '.join(AUTHORING_KINDS)}; got {kind!r}")
    validate_plugin_name(name)
    directory = Path(directory)
    if directory.exists() and (not directory.is_dir() or any(directory.iterdir())):
        raise ValueError(f"{directory} already exists and is not an empty directory; choose a new directory")
    module = module_name(name)
    values = {"name": name, "module": module, "Class": class_prefix(name), "kind": kind}
    files = {
        directory / "pyproject.toml": PYPROJECT,
        directory / f"{module}.py": MODULES[kind],
        directory / "tests" / f"test_{name.replace('-', '_')}.py": TESTS[kind],
    }
    for path, template in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(string.Template(template).substitute(values), encoding="utf-8")
    return directory


def next_steps(directory: Path) -> str:
    """What the author does with a package written by write_plugin_package."""
    return (f"next: pip install -e {directory} && pytest {Path(directory) / 'tests'} && harness plugins\n"
            f"then: make {Path(directory)}/harness_*.py do what its name says and replace its 'TODO: describe' "
            f"texts; replace test_what_it_does (it fails until you do) with assertions about what it does")
