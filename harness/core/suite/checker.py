"""Validation of suite entries: `Checker` collects every problem with its location; components (`{use: NAME,
...params}`) are checked against the registry and the plugin's config dataclass, with their `augment:` and
`adversarial:` training strategies.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
from typing import Any, Mapping, Optional

from harness.core.config import build_config
from harness.core.errors import SourceLocation, SuiteError
from harness.core.names import name_problem
from harness.core.registry import Registry
from harness.core.suite.spec import (
    ADVERSARIAL_KEYS,
    LIST_SECTIONS,
    AdversarialSpec,
    AugmentSpec,
    ComponentRef,
)
from harness.core.suite.yaml_loading import LocatedDict, plain
from harness.core.types import Budgets


class Checker:
    def __init__(self, file: str, registry: Registry):
        self.file = file
        self.registry = registry
        self.errors: list[SuiteError] = []
        self.refused_labels: dict[str, set[str]] = {}
        """Suite section -> labels of entries that were refused (an error was reported for each): other checks that
        name them (a gate's scope) do not report a second, false error about the same mistake."""

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
                problem = name_problem(value["name"])
                if problem is not None:
                    self.error(f"`name` {problem}", locations["name"])
                    return None
                label = value["name"]
        else:
            self.error(f"a {kind} entry must be a name or a mapping with `use:`, got {kind_of(value)}", location)
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
        return ComponentRef(kind, name, label, component.plugin, config, plain(params), location, augment,
                            adversarial)

    def adversarial_spec(self, value: Any, location: SourceLocation) -> Optional[AdversarialSpec]:
        """`adversarial: ATTACK` or `adversarial: {use: ATTACK, clean_epochs, attack_epoch_interval, examples,
        alpha, ...attack params}`."""
        settings: dict[str, Any] = {}
        if isinstance(value, dict):
            locations = value.value_locations
            checks = {
                "clean_epochs": (lambda v: is_int(v) and v >= 0, "a non-negative integer"),
                "attack_epoch_interval": (lambda v: is_int(v) and v >= 1, "a positive integer"),
                "examples": (lambda v: (is_int(v) and (v >= 1 or v == -1))
                             or (isinstance(v, float) and 0 < v <= 1),
                             "a positive count of adversarial examples, a fraction in (0, 1] of the training "
                             "split, or -1 (attack the whole split)"),
                "alpha": (lambda v: finite_number(v) and v >= 0,
                          "a non-negative number (the weight of the adversarial loss)"),
            }
            for key, (valid, expected) in checks.items():
                if key in value:
                    if not valid(value[key]):
                        self.error(f"adversarial `{key}` must be {expected}, got {kind_of(value[key])}",
                                   locations[key])
                        return None
                    settings[key] = value[key]
            stripped = LocatedDict({key: item for key, item in value.items() if key not in ADVERSARIAL_KEYS})
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
            stripped = LocatedDict({key: item for key, item in value.items() if key not in ("pct", "n")})
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
            self.error(f"`{key}` must be a list of {kind}s, got {kind_of(value)}", location)
            return ()
        refs = []
        seen: dict[str, SourceLocation] = {}
        for item, item_location in zip(value, value.item_locations):
            ref = self.component(kind, item, item_location, allow_label=key != "reports")
            if ref is None:
                label = item if isinstance(item, str) else item.get("name", item.get("use")) \
                    if isinstance(item, dict) else None
                if isinstance(label, str):
                    self.refused_labels.setdefault(key, set()).add(label)
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


def is_int(value: Any) -> bool:
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


def finite_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def kind_of(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return f"{type(value).__name__} {value!r}"


def check_adversarial_epochs(checker: Checker, method: ComponentRef, budgets: Budgets) -> None:
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


def unknown_key_message(section: str, key: str, allowed: tuple[str, ...]) -> str:
    message = f"unknown key {key!r} in {section}"
    close = difflib.get_close_matches(key, allowed, n=1)
    if close:
        message += f"; did you mean {close[0]!r}?"
    return message + f" Allowed keys: {', '.join(allowed)}."
