"""The checks of the plugin contract kit (public as harness.testing): each raises AssertionError with a message that
names the component and the rule it broke, and returns what it checked (the built config, the outcome, ...) for
further assertions.

Where a component comes from (`source` below) is a plugin module (or any object with hook implementations:
checked alone, without the installed plugins), a harness.core.registry.Registry, or one of its Components. The
inputs the checks use by default are harness.authoring.samples'.
"""

from __future__ import annotations

import dataclasses
import json
import math
import subprocess
import sys
import tempfile
import typing
from pathlib import Path
from typing import Any, Mapping, Optional, Sequence, Union

from harness.authoring.samples import SAMPLE_TEXTS, sample_examples, stage_environment
from harness.core.components import AUTHORING_KINDS
from harness.core.config import build_config, coerce
from harness.core.errors import SourceLocation
from harness.core.plugin_manager import make_plugin_manager, plugin_name_of
from harness.core.registry import Component, Registry
from harness.core.types import (
    ATTACK_STATUSES,
    AttackOutcome,
    AttackRecord,
    EpochRecord,
    Example,
    ExplainOutcome,
    Metric,
    ModelSource,
    ReportRequest,
    StageEnvironment,
    TaskData,
    TrainedModel,
    TrainRequest,
    WordAttribution,
)

__all__ = [
    "HEAVY_MODULES", "build_component", "check_alongside_installed", "check_attack", "check_augmenter", "check_config",
    "check_explainer", "check_finetuner", "check_import_is_light", "check_reporter", "check_task", "component_from",
]

PluginSource = Union[Registry, Component, object]
"""A plugin module (or object with hook implementations), a Registry, or one registered Component."""

METHOD_FOR_KIND = {
    "task": "load",
    "finetuner": "train",
    "attack": "attack",
    "augmenter": "augment",
    "explainer": "explain",
    "reporter": "render",
}
"""The method each kind's Protocol (harness.core.components) requires."""

HEAVY_MODULES = ("torch", "transformers", "textattack", "captum", "peft", "datasets", "tensorflow")
"""Libraries a plugin module must not import at its top (`harness plugins` imports every plugin)."""


# Values a suite (YAML) can hold; one a field's type rejects is used to check that bad types are refused.
_WRONG_VALUES: tuple[Any, ...] = ({"not": "valid"}, ["not", "valid"], "not valid", 12345, True)


# ------------------------------------------------------------------------------------------ components


def component_from(source: PluginSource, kind: str, name: str) -> Component:
    """The registered component `name` of `kind` from `source`; AssertionError if it is not there.

    A plugin module is registered on its own (installed plugins are not loaded), exactly as the harness would
    register it from its entry point, so registration errors show up here.
    """
    if kind not in AUTHORING_KINDS:
        raise ValueError(f"kind must be one of {', '.join(AUTHORING_KINDS)}; got {kind!r}")
    if isinstance(source, Component):
        if (source.kind, source.name) != (kind, name):
            raise AssertionError(f"the component given is the {source.kind} {source.name!r}, not the {kind} {name!r}")
        return source
    if isinstance(source, Registry):
        registry = source
    else:
        try:
            registry = Registry(make_plugin_manager(extra_plugins=[source], load_entry_points=False))
        except Exception as error:  # pluggy rejects malformed hook implementations; a duplicate name raises
            raise AssertionError(f"plugin {_plugin_label(source)} cannot be registered: "
                                 f"{type(error).__name__}: {error}") from error
        if registry.broken:  # a contribution hook raised
            broken = next(iter(registry.broken.values()))
            raise AssertionError(f"plugin {broken.name!r} failed to register its components: {broken.error}\n"
                                 f"{broken.traceback}")
    component = registry.get(kind, name)
    if component is None:
        raise AssertionError(registry.unknown_name_message(kind, name))
    return component


def check_alongside_installed(plugin: object) -> list[Component]:
    """Load `plugin` (a module or object with hook implementations) together with every installed plugin (the whole
    `harness` entry-point group), as every harness command loads it, and check that it is not broken there: each
    hook implementation names a harness hook, and neither its entry point nor its components take a name another
    plugin has. Returns its components. (`component_from` registers a plugin alone, so it cannot see a clash.)"""
    if isinstance(plugin, (Registry, Component)):
        raise ValueError("check_alongside_installed takes a plugin module or object, not a Registry or a Component")
    try:
        manager = make_plugin_manager(extra_plugins=[plugin])
        registry = Registry(manager)
    except Exception as error:  # pluggy rejects malformed hook implementations; an invalid register() call raises
        raise AssertionError(f"plugin {_plugin_label(plugin)} cannot be registered with the installed plugins: "
                             f"{type(error).__name__}: {error}") from error
    # Its name is its entry point's when an installed entry point loaded it; a broken one is found by its module.
    names = {manager.get_name(plugin) if manager.is_registered(plugin) else plugin_name_of(plugin)}
    module = getattr(plugin, "__name__", None)
    problems = [f"plugin {broken.name!r} ({broken.module}) is broken: {broken.error}"
                for broken in registry.broken.values()
                if broken.name in names or (module is not None and broken.module.split(":")[0] == module)]
    components = [component for component in registry.all_components() if component.plugin in names]
    problems += [registry.collisions[component.kind, component.name] for component in components
                 if (component.kind, component.name) in registry.collisions]
    if problems:
        raise AssertionError(f"plugin {_plugin_label(plugin)}, loaded with the installed plugins:\n  "
                             + "\n  ".join(dict.fromkeys(problems)))
    return components


def _plugin_label(source: object) -> str:
    return repr(getattr(source, "name", None) or getattr(source, "__name__", None) or type(source).__name__)


def _build_config_or_fail(component: Component, params: Mapping[str, Any]) -> Any:
    """The component's config built from suite-like `params`, as `harness validate` builds it."""
    where = SourceLocation("<check>", 1, 1)
    config, errors = build_config(component.config_class, params, {}, where, component.kind, component.name,
                                  component.plugin)
    if errors:
        raise AssertionError(f"{component.kind} {component.name!r}: parameters {dict(params)!r} are rejected:\n"
                             + "\n".join(f"  {error.message}" for error in errors))
    return config


def build_component(source: PluginSource, kind: str, name: str, params: Optional[Mapping[str, Any]] = None) -> Any:
    """Build a component the way a run does: its config from `params` (what a suite writes under `use:`),
    checked like `harness validate` checks it, then `factory(config)`."""
    component = component_from(source, kind, name)
    config = _build_config_or_fail(component, params or {})
    instance = component.factory(config)
    method = METHOD_FOR_KIND[kind]
    if not callable(getattr(instance, method, None)):
        raise AssertionError(f"{kind} {name!r}: the factory returned {type(instance).__name__}, which has no "
                             f"`{method}` method (see the {kind} Protocol in harness.core.components)")
    return instance


def _resolve(kind: str, component: Any) -> tuple[Any, str]:
    """(instance, label for messages): a name is built with its default config from the installed plugins."""
    if isinstance(component, str):
        return build_component(Registry(make_plugin_manager()), kind, component), f"{kind} {component!r}"
    return component, f"{kind} {type(component).__name__} ({type(component).__module__})"


# ------------------------------------------------------------------------------------------ checks


def check_config(source: PluginSource, kind: str, name: str, params: Optional[Mapping[str, Any]] = None,
                 rejects: Sequence[Mapping[str, Any]] = ()) -> Any:
    """Check a component's registration and config dataclass; return the config built from `params`.

    - `name` is registered as a `kind` with a description (what `harness plugins` shows);
    - the config is a frozen dataclass whose fields all have types `harness validate` can read;
    - it builds from `params` (the required fields, if any) and the defaults, and a built config is immutable;
    - its values are JSON values, so the stage cache key is the same in every run;
    - a value of the wrong type is refused for every typed field, and so is an unknown parameter;
    - each mapping in `rejects` is refused too (the config's own __post_init__ checks, raising ValueError).
    """
    params = dict(params or {})
    component = component_from(source, kind, name)
    subject = f"{kind} {name!r}"
    if not component.description:
        raise AssertionError(f"{subject} has no description: pass register(..., description='...')")
    config_class = component.config_class
    if config_class is None:
        if params:
            raise AssertionError(f"{subject} has no config class, yet parameters {params!r} were given")
        return None
    if not dataclasses.is_dataclass(config_class) or not config_class.__dataclass_params__.frozen:
        raise AssertionError(f"{subject}: config {config_class.__name__} must be a frozen dataclass "
                             f"(@dataclass(frozen=True)): configs are hashed into cache keys and shared between stages")
    try:
        hints = typing.get_type_hints(config_class)
    except Exception as error:
        raise AssertionError(f"{subject}: the field types of {config_class.__name__} cannot be resolved "
                             f"({type(error).__name__}: {error}); import every name used in an annotation") from error
    config = _build_config_or_fail(component, params)
    first_field = next(iter(dataclasses.fields(config_class)), None)
    if first_field is not None:
        try:
            setattr(config, first_field.name, getattr(config, first_field.name))
        except dataclasses.FrozenInstanceError:
            pass
        else:
            raise AssertionError(f"{subject}: a built {config_class.__name__} could be changed")
    try:
        json.dumps(dataclasses.asdict(config))
    except (TypeError, ValueError) as error:
        raise AssertionError(f"{subject}: config values must be JSON values (strings, numbers, booleans, null, "
                             f"lists, mappings) so cache keys are stable; {error}") from error
    where = SourceLocation("<check>", 1, 1)
    for field in dataclasses.fields(config_class):
        if not field.init:
            continue
        wrong = next((value for value in _WRONG_VALUES if not _accepts(hints[field.name], value)), None)
        if wrong is None:  # an `Any` field takes everything: nothing to refuse
            continue
        _, errors = build_config(config_class, {**params, field.name: wrong}, {}, where, kind, name, component.plugin)
        if not any(repr(field.name) in error.message for error in errors):
            raise AssertionError(f"{subject}: parameter {field.name!r} = {wrong!r} was not refused")
    _, errors = build_config(config_class, {**params, "no_such_parameter": 1}, {}, where, kind, name, component.plugin)
    if not errors:
        raise AssertionError(f"{subject}: an unknown parameter was accepted")
    for bad in rejects:
        _, errors = build_config(config_class, {**params, **bad}, {}, where, kind, name, component.plugin)
        if not errors:
            raise AssertionError(f"{subject}: parameters {dict(bad)!r} should be refused (raise ValueError in "
                                 f"{config_class.__name__}.__post_init__), but the config was built")
    return config


def _accepts(annotation: Any, value: Any) -> bool:
    try:
        coerce(value, annotation)
    except TypeError:
        return False
    return True


def _installed_task_kind(subject: str, name: Any) -> Any:
    registry = Registry(make_plugin_manager())
    component = registry.get("task-kind", name) if isinstance(name, str) else None
    if component is None:
        raise AssertionError(f"{subject}: TaskData.kind must name a registered task kind "
                             f"({', '.join(registry.names('task-kind'))}), got {name!r}")
    return component.build(None)


def check_task(task: Any, env: Optional[StageEnvironment] = None, task_kind: Any = None) -> TaskData:
    """Check a task: `load(env)` returns TaskData with labelled, uniquely identified examples, the same twice.

    `task_kind` is the harness.TaskKind its TaskData.kind names; by default the one an installed plugin registers
    under that name (pass the object for a kind registered in this process only)."""
    task, subject = _resolve("task", task)
    with _environment(env) as environment:
        data = task.load(environment)
        again = task.load(environment)
    if not isinstance(data, TaskData):
        raise AssertionError(f"{subject}: load() returned {type(data).__name__}, expected harness.TaskData")
    if not isinstance(data.name, str) or not data.name:
        raise AssertionError(f"{subject}: TaskData.name must be a non-empty string, got {data.name!r}")
    kind = task_kind if task_kind is not None else _installed_task_kind(subject, data.kind)
    names = data.label_names
    if not kind.labelled and names != ():
        raise AssertionError(f"{subject}: label_names must be () for task kind {data.kind!r}, whose answers are not "
                             f"labels, got {names!r}")
    if kind.labelled and (not isinstance(names, tuple) or len(names) < 2 or len(set(names)) != len(names)
                          or not all(isinstance(n, str) and n for n in names)):
        raise AssertionError(f"{subject}: label_names must be a tuple of at least two distinct non-empty strings, "
                             f"got {names!r}")
    for split in ("train", "test"):
        if not getattr(data, split):
            raise AssertionError(f"{subject}: the {split} split is empty")
    expected = kind.example_type
    seen: dict[str, str] = {}
    for split in ("train", "validation", "test"):
        examples = getattr(data, split)
        if not isinstance(examples, tuple):
            raise AssertionError(f"{subject}: TaskData.{split} must be a tuple of {expected.__name__}, got "
                                 f"{type(examples).__name__}")
        for example in examples:
            where = f"{subject}, {split} split"
            if not isinstance(example, expected):
                raise AssertionError(f"{where}: {example!r} is not a harness.{expected.__name__} (TaskData.kind "
                                     f"is {data.kind!r})")
            if not isinstance(example.id, str) or not example.id:
                raise AssertionError(f"{where}: example ids must be non-empty strings, got {example.id!r}")
            if example.id in seen:
                raise AssertionError(f"{where}: example id {example.id!r} is also used in the {seen[example.id]} "
                                     f"split; ids key per-example records and caches, so they must be unique")
            seen[example.id] = split
            kind.check_example(example, data, where)
    if again != data:
        raise AssertionError(f"{subject}: two loads gave different data; a task must be deterministic (its content "
                             f"keys every downstream stage's cache entry)")
    return data


def check_finetuner(finetuner: Any, request: TrainRequest) -> TrainedModel:
    """Check a finetuner: `train(request)` returns TrainedModel whose files, inside request.output_dir, reload
    as a classifier that predicts every label (see tiny_train_request for a small offline request)."""
    finetuner, subject = _resolve("finetuner", finetuner)
    trained = finetuner.train(request)
    if not isinstance(trained, TrainedModel):
        raise AssertionError(f"{subject}: train() returned {type(trained).__name__}, "
                             f"expected harness.TrainedModel")
    model_dir = Path(trained.model_dir).resolve()
    output_dir = Path(request.output_dir).resolve()
    if model_dir != output_dir and output_dir not in model_dir.parents:
        raise AssertionError(f"{subject}: model_dir {model_dir} is outside request.output_dir {output_dir}; the "
                             f"stage cache keeps only what is inside it")
    if not model_dir.is_dir() or not any(model_dir.iterdir()):
        raise AssertionError(f"{subject}: model_dir {model_dir} holds no files")
    if trained.adapter_of is not None and not isinstance(trained.adapter_of, ModelSource):
        raise AssertionError(f"{subject}: adapter_of must be None or the base ModelSource, got {trained.adapter_of!r}")
    if not (_is_int(trained.trainable_parameters) and _is_int(trained.total_parameters)
            and 0 < trained.trainable_parameters <= trained.total_parameters):
        raise AssertionError(f"{subject}: parameter counts must be integers with 0 < trainable <= total, got "
                             f"{trained.trainable_parameters!r} of {trained.total_parameters!r}")
    if not _is_finite(trained.train_seconds) or trained.train_seconds < 0:
        raise AssertionError(f"{subject}: train_seconds must be a non-negative number, got {trained.train_seconds!r}")
    if not _is_int(trained.train_examples) or trained.train_examples < 0:
        raise AssertionError(f"{subject}: train_examples must be a non-negative integer, "
                             f"got {trained.train_examples!r}")
    if not all(isinstance(record, EpochRecord) for record in trained.history):
        raise AssertionError(f"{subject}: history must hold harness.EpochRecord")
    if not all(isinstance(metric, Metric) for metric in trained.metrics):
        raise AssertionError(f"{subject}: metrics must hold harness.Metric")
    _serialisable(subject, "the training history", [dataclasses.asdict(record) for record in trained.history])
    from harness.kinds.loading import load_trained_classifier

    classifier = load_trained_classifier(trained, request.data.label_names, request.env.device,
                                         max_length=request.base.max_length, batch_size=16)
    texts = [example.text for example in request.data.test] or ["a text"]
    probabilities = classifier.predictor.probabilities(texts)
    if probabilities.shape != (len(texts), len(request.data.label_names)):
        raise AssertionError(f"{subject}: the reloaded model gives outputs of shape {probabilities.shape}, expected "
                             f"({len(texts)}, {len(request.data.label_names)})")
    if not all(_is_finite(float(value)) for value in probabilities.reshape(-1)):
        raise AssertionError(f"{subject}: the reloaded model gives non-finite probabilities")
    return trained


def check_augmenter(augmenter: Any, texts: Sequence[str] = SAMPLE_TEXTS, seeds: Sequence[int] = (0, 1),
                    env: Optional[StageEnvironment] = None) -> dict[int, list[str]]:
    """Check an augmenter (an instance, or the name of an installed one built with its defaults).

    For each seed: one string per input text, in a list; the same output when called again with the same seed;
    the empty text and an empty batch handled. Returns the outputs per seed.
    """
    augmenter, subject = _resolve("augmenter", augmenter)
    texts = list(texts)
    outputs: dict[int, list[str]] = {}
    with _environment(env) as environment:
        for seed in seeds:
            seeded = dataclasses.replace(environment, seed=seed)
            first = augmenter.augment(list(texts), seeded)
            if not isinstance(first, list) or len(first) != len(texts) or not all(isinstance(t, str) for t in first):
                raise AssertionError(f"{subject}: augment() must return a list of {len(texts)} strings, one per input "
                                     f"text; got {_describe(first)}")
            second = augmenter.augment(list(texts), seeded)
            if second != first:
                changed = next(index for index, (a, b) in enumerate(zip(first, second)) if a != b)
                raise AssertionError(f"{subject}: not deterministic under seed {seed}: {texts[changed]!r} became "
                                     f"{first[changed]!r}, then {second[changed]!r}; draw randomness from "
                                     f"harness.text_rng(env.seed, NAME, text)")
            outputs[seed] = first
        empty = augmenter.augment([""], environment)
        if not isinstance(empty, list) or len(empty) != 1 or not isinstance(empty[0], str):
            raise AssertionError(f"{subject}: the empty text must give one string, got {_describe(empty)}")
        nothing = augmenter.augment([], environment)
        if nothing != []:
            raise AssertionError(f"{subject}: an empty batch must give [], got {_describe(nothing)}")
    return outputs


def check_attack(attack: Any, classifier: Any, examples: Sequence[Example] = (),
                 env: Optional[StageEnvironment] = None) -> AttackOutcome:
    """Check an attack on `classifier` (e.g. tiny_classifier) and `examples` (default sample_examples()).

    One AttackRecord per example, in order, for that example; a valid status ("successful", "failed",
    "skipped": already misclassified, so not attacked); predictions that are labels and agree with the
    classifier on the original and the perturbed text; confidences in [0, 1]; non-negative counts and seconds;
    records that survive the JSON round trip of the per-example cache. Attacks that bring their own inputs (a
    static adversarial set such as `advglue`) do not fit this check.
    """
    attack, subject = _resolve("attack", attack)
    examples = list(examples or sample_examples())
    with _environment(env) as environment:
        outcome = attack.attack(classifier, examples, environment)
    if not isinstance(outcome, AttackOutcome):
        raise AssertionError(f"{subject}: attack() returned {type(outcome).__name__}, "
                             f"expected harness.AttackOutcome")
    records = list(outcome.records)
    if [getattr(record, "example_id", None) for record in records] != [example.id for example in examples]:
        raise AssertionError(f"{subject}: expected one AttackRecord per example, in order "
                             f"{[example.id for example in examples]}, got "
                             f"{[getattr(record, 'example_id', record) for record in records]}")
    labels = range(len(classifier.label_names))
    for example, record in zip(examples, records):
        where = f"{subject}, example {example.id!r}"
        if not isinstance(record, AttackRecord):
            raise AssertionError(f"{where}: {type(record).__name__} is not a harness.AttackRecord")
        if record.original_text != example.text or record.label != example.label:
            raise AssertionError(f"{where}: original_text and label must be the example's own")
        if record.status not in ATTACK_STATUSES:
            raise AssertionError(f"{where}: status {record.status!r} is not one of {', '.join(ATTACK_STATUSES)}")
        for field in ("original_prediction", "perturbed_prediction"):
            if getattr(record, field) not in labels or not _is_int(getattr(record, field)):
                raise AssertionError(f"{where}: {field} {getattr(record, field)!r} is not a label index in "
                                     f"0..{len(labels) - 1}")
        for field in ("original_confidence", "perturbed_confidence"):
            value = getattr(record, field)
            if not _is_finite(value) or not -1e-6 <= value <= 1 + 1e-6:
                raise AssertionError(f"{where}: {field} {value!r} is not a probability in [0, 1]")
        for field in ("num_queries", "words_perturbed", "words_total"):
            if not _is_int(getattr(record, field)) or getattr(record, field) < 0:
                raise AssertionError(f"{where}: {field} must be a non-negative integer, got {getattr(record, field)!r}")
        if not _is_finite(record.seconds) or record.seconds < 0:
            raise AssertionError(f"{where}: seconds must be a non-negative number, got {record.seconds!r}")
        if (record.status == "skipped") != (record.original_prediction != record.label):
            raise AssertionError(f"{where}: status {record.status!r} with original_prediction "
                                 f"{record.original_prediction} and label {record.label}; an example is skipped "
                                 f"exactly when the model already gets it wrong")
        if record.status == "skipped" and record.perturbed_text != record.original_text:
            raise AssertionError(f"{where}: a skipped example is not attacked, so perturbed_text must be the original")
        if record.status == "successful" and record.perturbed_text == record.original_text:
            raise AssertionError(f"{where}: a successful attack must change the text")
        predicted = classifier.predictor.predict([record.original_text, record.perturbed_text])
        if (int(predicted[0]), int(predicted[1])) != (record.original_prediction, record.perturbed_prediction):
            raise AssertionError(f"{where}: the classifier predicts {int(predicted[0])} for the original and "
                                 f"{int(predicted[1])} for the perturbed text, the record says "
                                 f"{record.original_prediction} and {record.perturbed_prediction}")
        stored = _serialisable(where, "the AttackRecord", dataclasses.asdict(record))
        if AttackRecord(**stored) != record:
            raise AssertionError(f"{where}: the record changes in a JSON round trip (use int and float, not numpy "
                                 f"scalars)")
    if not _is_int(outcome.model_forwards) or outcome.model_forwards < 0:
        raise AssertionError(f"{subject}: model_forwards must be a non-negative integer, "
                             f"got {outcome.model_forwards!r}")
    return outcome


def check_explainer(explainer: Any, classifier: Any, examples: Sequence[Example] = (),
                    env: Optional[StageEnvironment] = None) -> ExplainOutcome:
    """Check an explainer on `classifier` (e.g. tiny_classifier) and `examples` (default sample_examples()).

    One WordAttribution per example; as many scores as words, all finite; spans (when given) one per word and
    equal to the word in the text (when not given, the words must occur in order in the text: the harness then
    finds the spans); a target that is a label; the example's label; records that are JSON-serialisable.
    """
    explainer, subject = _resolve("explainer", explainer)
    examples = list(examples or sample_examples())
    with _environment(env) as environment:
        outcome = explainer.explain(classifier, examples, environment)
    if not isinstance(outcome, ExplainOutcome):
        raise AssertionError(f"{subject}: explain() returned {type(outcome).__name__}, expected "
                             f"harness.ExplainOutcome")
    by_id: dict[str, WordAttribution] = {}
    for attribution in outcome.attributions:
        if not isinstance(attribution, WordAttribution):
            raise AssertionError(f"{subject}: {type(attribution).__name__} is not a harness.WordAttribution")
        if attribution.example_id in by_id:
            raise AssertionError(f"{subject}: two attributions for example {attribution.example_id!r}")
        by_id[attribution.example_id] = attribution
    expected = [example.id for example in examples]
    if sorted(by_id) != sorted(expected):
        raise AssertionError(f"{subject}: expected one WordAttribution per example {expected}, got {list(by_id)}")
    from harness.explain.quality import word_spans

    for example in examples:
        attribution = by_id[example.id]
        where = f"{subject}, example {example.id!r}"
        words, scores = attribution.words, attribution.scores
        if not all(isinstance(word, str) for word in words):
            raise AssertionError(f"{where}: words must be strings, got {words!r}")
        if len(words) != len(scores):
            raise AssertionError(f"{where}: {len(words)} words but {len(scores)} scores")
        if not all(_is_finite(score) for score in scores):
            raise AssertionError(f"{where}: scores must be finite numbers, got {scores!r}")
        if attribution.spans:
            if len(attribution.spans) != len(words):
                raise AssertionError(f"{where}: {len(attribution.spans)} spans for {len(words)} words")
            for word, (start, end) in zip(words, attribution.spans):
                if not 0 <= start <= end <= len(example.text) or example.text[start:end] != word:
                    raise AssertionError(f"{where}: span ({start}, {end}) of word {word!r} is "
                                         f"{example.text[start:end]!r} in the text {example.text!r}")
        else:
            try:
                word_spans(example.text, words)
            except ValueError as error:
                raise AssertionError(f"{where}: no spans were given and {error}") from error
        if not _is_int(attribution.target) or not 0 <= attribution.target < len(classifier.label_names):
            raise AssertionError(f"{where}: target {attribution.target!r} is not a label index")
        if attribution.label != example.label:
            raise AssertionError(f"{where}: label {attribution.label!r} is not the example's label {example.label}")
        if attribution.convergence_delta is not None and not _is_finite(attribution.convergence_delta):
            raise AssertionError(f"{where}: convergence_delta must be None or finite, "
                                 f"got {attribution.convergence_delta!r}")
        _serialisable(where, "the WordAttribution", dataclasses.asdict(attribution))
    for metric in outcome.metrics:
        if not isinstance(metric, Metric):
            raise AssertionError(f"{subject}: ExplainOutcome.metrics must hold harness.Metric, got {metric!r}")
        _serialisable(subject, f"metric {metric.name!r}", dataclasses.asdict(metric))
    return outcome


def check_reporter(reporter: Any, run_dir: Path) -> list[Path]:
    """Check a reporter on a stored run directory (e.g. sample_run_dir, or a real run's directory).

    `render` returns a list of the files it wrote: existing, non-empty, inside the run directory; and it can
    render again over them (what `harness report` and `harness gate` do). Returns the paths.
    """
    from harness.core.store import read_run

    reporter, subject = _resolve("reporter", reporter)
    run_dir = Path(run_dir)
    paths = None
    for _ in range(2):
        produced = reporter.render(ReportRequest(run=read_run(run_dir), output_dir=run_dir))
        if not isinstance(produced, list) or not all(isinstance(path, (str, Path)) for path in produced):
            raise AssertionError(f"{subject}: render() must return a list of the paths it wrote, got "
                                 f"{_describe(produced)}")
        produced = [Path(path) for path in produced]
        if paths is not None and produced != paths:
            raise AssertionError(f"{subject}: rendering again wrote {produced}, the first time {paths}")
        paths = produced
    for path in paths:
        resolved = path.resolve()
        if run_dir.resolve() not in resolved.parents:
            raise AssertionError(f"{subject}: {path} is outside the output directory {run_dir}")
        if not resolved.is_file() or resolved.stat().st_size == 0:
            raise AssertionError(f"{subject}: {path} is missing or empty")
    return paths


def check_import_is_light(module_names: Sequence[str]) -> None:
    """Import the modules in a fresh interpreter and fail if that imports a heavy library (HEAVY_MODULES):
    `harness plugins` imports every installed plugin, so imports of torch & co. belong in factories or methods."""
    code = ("import importlib, json, sys\n"
            f"for name in {list(module_names)!r}: importlib.import_module(name)\n"
            f"print(json.dumps(sorted(set({list(HEAVY_MODULES)!r}) & set(sys.modules))))\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    if result.returncode != 0:
        raise AssertionError(f"importing {', '.join(module_names)} failed:\n{result.stderr}")
    heavy = json.loads(result.stdout.strip().splitlines()[-1])
    if heavy:
        raise AssertionError(f"importing {', '.join(module_names)} imports {', '.join(heavy)}; import them inside "
                             f"the component's factory or methods instead")


# ------------------------------------------------------------------------------------------ sample run




# ------------------------------------------------------------------------------------------ helpers


class _environment:
    """`env` if given, else a StageEnvironment in a temporary directory removed afterwards."""

    def __init__(self, env: Optional[StageEnvironment]):
        self.env = env
        self.temporary: Optional[tempfile.TemporaryDirectory] = None

    def __enter__(self) -> StageEnvironment:
        if self.env is not None:
            return self.env
        self.temporary = tempfile.TemporaryDirectory(prefix="harness-check-")
        return stage_environment(Path(self.temporary.name))

    def __exit__(self, *exc_info: Any) -> None:
        if self.temporary is not None:
            self.temporary.cleanup()


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _serialisable(where: str, what: str, value: Any) -> Any:
    """`value` after a JSON round trip, as the runner stores it; AssertionError if it is not JSON."""
    try:
        return json.loads(json.dumps(value))
    except (TypeError, ValueError) as error:
        raise AssertionError(f"{where}: {what} is not JSON-serialisable ({error}); use str, int, float, bool, "
                             f"None, lists and tuples (numpy scalars: int(...) / float(...))") from error


def _describe(value: Any) -> str:
    if isinstance(value, list):
        return f"a list of {len(value)} ({', '.join(sorted({type(item).__name__ for item in value})) or 'empty'})"
    return type(value).__name__
