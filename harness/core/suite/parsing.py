"""Suites: strict YAML in, a validated `Suite` out, every problem reported as file:line:col.

`parse_suite` checks a suite's sections in turn (each helper adds its problems to one `Checker`) and reports all
problems found in one pass together, sorted by position.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Optional, Sequence

from harness.core.config import build_config, resolve_suite_path
from harness.core.errors import SourceLocation, SuiteError, SuiteErrors
from harness.core.names import path_component_problem
from harness.core.registry import Registry
from harness.core.suite.checker import Checker, check_adversarial_epochs, kind_of, unknown_key_message
from harness.core.suite.gate_checks import check_gates
from harness.core.suite.kind_checks import declared_kind_problems
from harness.core.suite.model_checks import check_models
from harness.core.suite.overrides import apply_override
from harness.core.suite.spec import (
    AS_IS_METHOD,
    DEFAULT_REPORTS,
    LIST_SECTIONS,
    MAX_SEED,
    PACKAGED_MODELS,
    REQUIRED_KEYS,
    TOP_LEVEL_KEYS,
    ComponentRef,
    ModelSpec,
    Suite,
)
from harness.core.suite.yaml_loading import LocatedDict, load_yaml_with_locations, plain
from harness.core.types import Budgets


def parse_suite(text: str, file: str, registry: Registry, output_override: Optional[Path] = None,
                overrides: Sequence[str] = ()) -> Suite:
    """Validate a suite's text against the registry; raise SuiteErrors listing every problem.

    :param overrides: `KEY.PATH=VALUE` settings from the command line (`--set budgets.max_train_examples=4000`,
        `--set methods.0.epochs=1`), applied before validation; VALUE is read as YAML."""
    document = load_yaml_with_locations(text, file)
    start = SourceLocation(file, 1, 1)
    if not isinstance(document, dict):
        raise SuiteErrors([SuiteError(f"a suite must be a mapping of keys, got {kind_of(document)}", start)])
    for override in overrides:
        apply_override(document, override)
    checker = Checker(file, registry)
    _check_keys(checker, document, start)
    name = _check_name(checker, document, file, start)
    description = _check_description(checker, document)
    task, models, lists = _check_components(checker, document, registry, start)
    seeds = _check_seeds(checker, document)
    train_sizes = _check_train_sizes(checker, document)
    budgets = _check_budgets(checker, document)
    for method in lists["methods"]:
        check_adversarial_epochs(checker, method, budgets)
    method_labels = {ref.label for ref in lists["methods"]} | checker.refused_labels.get("methods", set())
    if any(model.as_is for model in models):
        method_labels.add(AS_IS_METHOD)
    if len(models) > 1:  # a gate may name a model, a method, or one "model / method"
        method_labels |= {model.name for model in models}
        method_labels |= {f"{model.name} / {method}" for model in models
                          for method in ([AS_IS_METHOD] if model.as_is else [ref.label for ref in lists["methods"]])}
    component_labels = {ref.label for key in ("attacks", "explainers", "perturbations") for ref in lists[key]}
    component_labels |= {label for key in ("attacks", "explainers", "perturbations")
                         for label in checker.refused_labels.get(key, set())}
    gates = check_gates(checker, document.get("gates"), document.value_locations.get("gates", start),
                        method_labels, component_labels)
    output = _check_output(checker, document, output_override)

    if checker.errors:
        raise SuiteErrors(_in_order(checker.errors))
    suite = Suite(
        name=name,
        description=description,
        path=Path(file),
        task=task,
        models=models,
        as_is_method=_as_is_method(registry, models, start),
        methods=lists["methods"],
        attacks=lists["attacks"],
        perturbations=lists["perturbations"],
        explainers=lists["explainers"],
        judges=lists["judges"],
        seeds=seeds,
        train_sizes=train_sizes,
        budgets=budgets,
        gates=gates,
        reports=lists["reports"],
        output=output,
        document=plain(document),
    )
    problems = declared_kind_problems(suite, registry)
    if problems:
        raise SuiteErrors(_in_order(problems))
    return suite


def _in_order(problems: Sequence[SuiteError]) -> list[SuiteError]:
    return sorted(problems, key=lambda e: (e.location.line, e.location.column) if e.location else (0, 0))


def _as_is_method(registry: Registry, models: Sequence[ModelSpec], start: SourceLocation) -> Optional[ComponentRef]:
    """The method of the suite's as-is models: the registered `as-is` finetuner with its default config."""
    if not any(model.as_is for model in models):
        return None
    component = registry.get("finetuner", AS_IS_METHOD)
    if component is None:
        raise SuiteErrors([SuiteError(f"no `{AS_IS_METHOD}` finetuner is registered (it ships with the harness's "
                                      f"built-in plugins; is the package installed whole?)", start)])
    return ComponentRef("finetuner", AS_IS_METHOD, AS_IS_METHOD, component.plugin,
                        component.config_class() if component.config_class else None, {}, start)


def _check_keys(checker: Checker, document: LocatedDict, start: SourceLocation) -> None:
    for key in document:
        if key not in TOP_LEVEL_KEYS:
            checker.error(unknown_key_message("the suite", key, TOP_LEVEL_KEYS), document.value_locations[key])
    for key in REQUIRED_KEYS:
        if key not in document:
            checker.error(f"the suite needs `{key}:`", start)


def _check_name(checker: Checker, document: LocatedDict, file: str, start: SourceLocation) -> Any:
    """The suite's `name:` (it names the run's directory), the file's stem by default."""
    name = document.get("name", Path(file).stem)
    problem = path_component_problem(name)
    if problem is not None:
        shown = repr(name) if len(repr(name)) <= 60 else repr(name)[:60] + "..."
        checker.error(f"`name` {problem} (it names the run's directory: a simple string of at most 128 characters, "
                      f"without / or \\), got {shown}", document.value_locations.get("name", start))
    return name


def _check_description(checker: Checker, document: LocatedDict) -> Any:
    description = document.get("description", "")
    if not isinstance(description, str):
        checker.error("`description` must be a string", document.value_locations["description"])
    return description


def _check_components(checker: Checker, document: LocatedDict, registry: Registry, start: SourceLocation
                      ) -> tuple[Optional[ComponentRef], tuple[ModelSpec, ...], dict[str, tuple[ComponentRef, ...]]]:
    """The task, the models and the component lists (methods, attacks, ...; the default reporters if none)."""
    task = None
    if "task" in document:
        task = checker.component("task", document["task"], document.value_locations["task"], allow_label=False)
    models = check_models(checker, document, start)
    lists = {key: checker.component_list(key, document) for key in LIST_SECTIONS}
    if "methods" in document and not document["methods"]:
        checker.error("`methods` must list at least one fine-tuning method", document.value_locations["methods"])
    elif "methods" not in document and not (models and all(model.as_is for model in models)):
        checker.error("the suite needs `methods:` (how to fine-tune its model), unless every model is evaluated as "
                      "it is (`as_is: true`)", start)
    if "reports" not in document:
        lists["reports"] = tuple(
            ComponentRef("reporter", name_, name_, component.plugin,
                         component.config_class() if component.config_class else None, {}, start)
            for name_ in DEFAULT_REPORTS
            if (component := registry.get("reporter", name_)) is not None
        )
    return task, models, lists


def _check_seeds(checker: Checker, document: LocatedDict) -> tuple[int, ...]:
    seeds: tuple[int, ...] = (0,)
    if "seeds" in document:
        seeds_value, seeds_location = document["seeds"], document.value_locations["seeds"]
        if isinstance(seeds_value, int) and not isinstance(seeds_value, bool):
            seeds_value = [seeds_value]
        if (isinstance(seeds_value, list) and seeds_value
                and all(isinstance(s, int) and not isinstance(s, bool) for s in seeds_value)):
            if len(set(seeds_value)) != len(seeds_value):
                checker.error("`seeds` lists a seed twice", seeds_location)
            elif not all(0 <= s <= MAX_SEED for s in seeds_value):
                # numpy and torch take seeds in 0..2**32-1; outside it every stage would fail at its start
                checker.error(f"`seeds` must be integers from 0 to {MAX_SEED}, got "
                              f"{next(s for s in seeds_value if not 0 <= s <= MAX_SEED)}", seeds_location)
            else:
                seeds = tuple(seeds_value)
        else:
            checker.error(f"`seeds` must be a non-empty list of integers, got {kind_of(seeds_value)}", seeds_location)
    return seeds


def _check_train_sizes(checker: Checker, document: LocatedDict) -> tuple:
    train_sizes: tuple = (None,)
    if "train_sizes" in document:
        sizes, sizes_location = document["train_sizes"], document.value_locations["train_sizes"]
        valid = isinstance(sizes, list) and sizes and all(
            (isinstance(size, int) and not isinstance(size, bool) and size >= 1)
            or (isinstance(size, float) and 0 < size <= 1) for size in sizes)
        if not valid:
            checker.error("`train_sizes` must be a non-empty list of fractions in (0, 1] (e.g. 0.1) or example "
                          f"counts (e.g. 500), got {kind_of(sizes)}", sizes_location)
        elif len(set(sizes)) != len(sizes):
            checker.error("`train_sizes` lists a size twice", sizes_location)
        else:
            train_sizes = tuple(sizes)
    return train_sizes


def _check_budgets(checker: Checker, document: LocatedDict) -> Budgets:
    budgets = Budgets()
    if "budgets" in document:
        budgets_value, budgets_location = document["budgets"], document.value_locations["budgets"]
        if not isinstance(budgets_value, dict):
            checker.error(f"`budgets` must be a mapping, got {kind_of(budgets_value)}", budgets_location)
        else:
            built, errors = build_config(Budgets, budgets_value, budgets_value.value_locations, budgets_location,
                                         "section", "budgets", "harness")
            # Budgets checks its own values (sizes positive, fractions in (0, 1]); coerce refuses nan and inf.
            checker.errors.extend(SuiteError(e.message.replace(" (plugin 'harness')", ""), e.location) for e in errors)
            budgets = built or budgets
    return budgets


def _check_output(checker: Checker, document: LocatedDict, output_override: Optional[Path]) -> Optional[Path]:
    # Written in the suite, `output:` is relative to the suite file like every other path; the default is the
    # current directory's reports/ (the command-line flag --out overrides both).
    output_value = document.get("output", "reports")
    output = Path(output_value) if isinstance(output_value, str) and output_value and "\0" not in output_value else None
    if output is None:
        checker.error(f"`output` must be a directory path, got {kind_of(output_value)}",
                      document.value_locations["output"])
    elif "output" in document:
        output = Path(resolve_suite_path(output_value, document.value_locations["output"]))
    if output_override is not None:
        output = output_override
    problem = output_location_problem(output) if output is not None else None
    if problem is not None:
        where = "--out" if output_override is not None else "`output`"
        checker.error(f"{where} {str(output)!r:.200}: {problem}",
                      document.value_locations.get("output", SourceLocation(checker.file, 1, 1)))
    return output


def output_location_problem(output: Path) -> Optional[str]:
    """Why runs cannot be written under `output` (checked at validation, before anything runs), or None."""
    try:
        for part in output.parts:
            if len(part.encode("utf-8", "surrogatepass")) > 255:
                return f"the name {part[:40]!r}... is longer than a file system allows (255 bytes)"
        existing = output
        while not existing.exists():
            if existing.is_symlink():
                return f"{existing} is a symbolic link to nothing (dangling)"
            if existing.parent == existing:
                return "no part of it exists"
            existing = existing.parent
        if not existing.is_dir():
            return f"{existing} is a file, not a directory"
        if not os.access(existing, os.W_OK | os.X_OK):
            return f"{existing} is not writable by this user"
    except OSError as error:
        return f"cannot be checked: {error.strerror or error}"
    return None


def hub_downloads(suite: Suite, registry: Registry) -> list[tuple[SourceLocation, str]]:
    """What running the suite downloads from the Hugging Face Hub, where the suite asks for it: the model when it
    is a hub id, and what each component's optional `hub_downloads()` lists (a task without `path:`, ...)."""
    downloads = []
    for spec in suite.models:
        model = spec.source
        if model.name not in PACKAGED_MODELS and not os.path.isdir(model.location):
            revision = f" @ {model.revision}" if model.revision else ""
            downloads.append((spec.location, f"model {model.name}{revision}"))
    refs = [suite.task, *suite.methods, *suite.attacks, *suite.perturbations, *suite.explainers, *suite.judges]
    refs += [method.augment.augmenter for method in suite.methods if method.augment is not None]
    refs += [method.adversarial.attack for method in suite.methods if method.adversarial is not None]
    for ref in refs:
        listed = getattr(registry.get(ref.kind, ref.name).build(ref.config), "hub_downloads", None)
        for what in (listed() if callable(listed) else ()):
            downloads.append((ref.location, f"{ref.kind} {ref.label!r}: {what}"))
    return downloads


def load_suite(path: Path | str, registry: Registry, output_override: Optional[Path] = None,
               overrides: Sequence[str] = ()) -> Suite:
    return parse_suite(read_suite_text(path), str(Path(path)), registry, output_override, overrides)


def read_suite_text(path: Path | str) -> str:
    """A suite file's text. A missing, unreadable or non-UTF-8 file is a SuiteErrors naming it (and the line)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError as error:
        raise SuiteErrors([SuiteError(f"suite file not found: {path}")]) from error
    except OSError as error:
        raise SuiteErrors([SuiteError(f"cannot read suite {path}: {error.strerror or error}")]) from error
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line_start = data.rfind(b"\n", 0, error.start) + 1
        location = SourceLocation(str(path), data.count(b"\n", 0, error.start) + 1, error.start - line_start + 1)
        raise SuiteErrors([SuiteError(f"the suite is not UTF-8 text: byte 0x{data[error.start]:02x} (byte offset "
                                      f"{error.start}) cannot be decoded; save the file as UTF-8",
                                      location)]) from error
    return text.removeprefix("\ufeff")
