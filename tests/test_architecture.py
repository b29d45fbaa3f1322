"""The shape of harness/ (docs/architecture.md): layers that import downwards only, no import cycles, no branch on a
task kind's name outside the kinds, and modules and functions of a readable size.

Every import counts, at module level or inside a function (a function-level import is still a dependency).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

HARNESS = Path(__file__).resolve().parent.parent / "harness"
PLUGINS = HARNESS.parent / "plugins"

# The layers, lowest first: a module may import modules of its own layer or a lower one, never a higher one.
CONTRACT = ("harness.core.types", "harness.core.errors", "harness.core.components", "harness.core.hookspecs",
            "harness.core.config", "harness.core.files", "harness.core.names", "harness.core.suite.spec")
FOUNDATION = ("harness.core.store", "harness.core.artifacts", "harness.core.statistics", "harness.core.sampling",
              "harness.core.pairs", "harness.core.resources", "harness.core.seeding", "harness.core.text_metrics")
LAYERS = (
    ("contract", CONTRACT),
    ("foundation", FOUNDATION),
    ("modeling", ("harness.modeling",)),
    ("attack, explain, tasks, report", ("harness.attack", "harness.explain", "harness.tasks", "harness.report")),
    ("kinds", ("harness.kinds",)),
    ("training", ("harness.training",)),
    ("engine", ("harness.core",)),
    ("authoring", ("harness.authoring",)),
    ("entry points", ("harness.api", "harness.python_api", "harness.cli", "harness.testing", "harness.plugins",
                      "harness.plugin_template", "harness.__main__", "harness")),
)


def module_name(path: Path) -> str:
    parts = path.relative_to(HARNESS.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in HARNESS.rglob("*.py")}


def layer_of(module: str) -> int:
    """The first layer with a prefix of the module (the most specific prefixes come first)."""
    for number, (_, prefixes) in enumerate(LAYERS):
        if any(module == prefix or module.startswith(prefix + ".") for prefix in prefixes):
            return number
    raise AssertionError(f"{module} is in no layer of tests/test_architecture.py (and docs/architecture.md)")


def imported_modules(module: str) -> set[str]:
    """The harness modules `module` imports (the deepest existing module of each imported name)."""
    found = set()
    for node in ast.walk(ast.parse(MODULES[module].read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # `from package import module` depends on the module; `from module import name` on the module.
            names = [f"{node.module}.{alias.name}" if f"{node.module}.{alias.name}" in MODULES else node.module
                     for alias in node.names]
        else:
            continue
        for name in names:
            while name and name not in MODULES:
                name = name.rpartition(".")[0]
            # A package's own __init__ runs before its modules: importing one's parent package is not a dependency.
            if name and name != module and not module.startswith(name + "."):
                found.add(name)
    return found


GRAPH = {module: imported_modules(module) for module in MODULES}


def test_every_module_imports_only_its_own_layer_or_lower_ones():
    upward = [f"{module} ({LAYERS[layer_of(module)][0]}) imports {target} ({LAYERS[layer_of(target)][0]})"
              for module, targets in GRAPH.items() for target in targets if layer_of(target) > layer_of(module)]
    assert not upward, "\n".join(sorted(upward))


def test_there_are_no_import_cycles():
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles = []

    def visit(module: str) -> None:  # Tarjan's strongly connected components
        index[module] = low[module] = len(index)
        stack.append(module)
        for target in GRAPH[module]:
            if target not in index:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in stack:
                low[module] = min(low[module], index[target])
        if low[module] == index[module]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == module:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for module in GRAPH:
        if module not in index:
            visit(module)
    assert not cycles, cycles


def kind_names() -> list[str]:
    """The registered names of the built-in kinds, read from their registration plugins."""
    return [re.search(r'register\("([a-z-]+)"', path.read_text(encoding="utf-8")).group(1)
            for path in (PLUGINS / "sequence_classification.py", PLUGINS / "token_classification.py",
                         PLUGINS / "extractive_qa.py", PLUGINS / "text_generation.py")]


def test_no_code_outside_the_kinds_names_a_kind():
    """Outside harness/kinds/ and the plugins made for one kind, nothing names a kind: the runner, the training loop,
    the store and the reporters call the kind. One exception: the contract's default kind (TaskData.kind)."""
    names = kind_names()
    assert names == ["sequence-classification", "token-classification", "extractive-qa", "text-generation"]
    token_plugins = {"token_classification.py", "sequence_classification.py", "conll2003_task.py",
                     "local_conll_task.py", "ner_typos.py", "ner_synonyms.py", "entity_swap.py",
                     "ner_greedy_attack.py", "extractive_qa.py", "add_sent.py", "add_any.py",
                     "text_generation.py"}
    found = []
    for path in [*HARNESS.rglob("*.py"), *HARNESS.rglob("*.html"), *PLUGINS.glob("*.py")]:
        if HARNESS / "kinds" in path.parents or path.name in token_plugins:
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if any(name in line for name in names) or re.search(r"\b_?(is_)?token_task\b", line):
                found.append(f"{path.relative_to(HARNESS.parent)}: {line.strip()}")
    assert found == ['harness/core/types.py: DEFAULT_TASK_KIND = "sequence-classification"'], "\n".join(found)


@pytest.mark.parametrize("limit_lines, limit_function_lines", [(600, 80)])
def test_modules_and_functions_stay_readable(limit_lines, limit_function_lines):
    long_modules = [f"{module}: {len(path.read_text(encoding='utf-8').splitlines())} lines"
                    for module, path in MODULES.items()
                    if len(path.read_text(encoding="utf-8").splitlines()) > limit_lines]
    long_functions = []
    for module, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno + 1
                if length > limit_function_lines:
                    long_functions.append(f"{module}.{node.name}: {length} lines")
    assert not long_modules and not long_functions, long_modules + long_functions


def test_the_public_api_is_explicit_and_documented():
    """`import harness` is harness/api.py's `__all__`, each name importable and named in the docs."""
    import harness
    import harness.api

    assert harness.__all__ == harness.api.__all__ and not hasattr(harness, "__getattr__")
    docs = "".join((HARNESS.parent / "docs" / name).read_text(encoding="utf-8")
                   for name in ("plugins.md", "ner.md", "qa.md", "generation.md", "api.md"))
    undocumented = [name for name in harness.__all__
                    if not re.search(r"(?<![\w])" + re.escape(name) + r"(?![\w])", docs)]
    assert not undocumented
    assert all(getattr(harness, name) is getattr(harness.api, name) for name in harness.__all__)


def test_import_paths_of_earlier_docs_keep_working():
    """Code written against earlier docs imported these; the aliases name the new homes."""
    from harness.authoring.plugin_template import write_plugin_package
    from harness.core.plugin_manager import make_plugin_manager
    from harness.plugin_template import write_plugin_package as old_write_plugin_package
    from harness.plugins import make_plugin_manager as old_make_plugin_manager
    from harness.testing import make_plugin_manager as testing_make_plugin_manager

    assert old_make_plugin_manager is make_plugin_manager is testing_make_plugin_manager
    assert old_write_plugin_package is write_plugin_package
