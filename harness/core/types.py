"""Frozen, typed dataclasses that cross the plugin boundary.

Everything a plugin receives from the harness or hands back to it is defined here, so that a plugin
author reads one module to know the whole contract. Live objects (a loaded model) are described by
Protocols in harness.core.components; plain data is frozen here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Optional, Union

# Bumped whenever a dataclass below or the on-disk layout of a run changes incompatibly; stored in every
# manifest and stage record, and part of every stage's cache key.
SCHEMA_VERSION = 1


@dataclass(frozen=True)
class Example:
    """One labelled text. `id` is stable across runs (it keys per-example records and caches)."""

    id: str
    text: str
    label: int
    rationale: Optional[tuple[tuple[int, int], ...]] = None
    """Human rationale, if the task has one: (start, end) character spans of the words that justify the label.
    Explanations are scored against it (plausibility)."""
    text_pair: Optional[str] = None
    """The second segment of a sentence-pair task (the hypothesis of NLI, the second question of QQP, the
    sentence of QNLI); None for single-text tasks. Models read `text` and `text_pair` as one pair input."""


DEFAULT_TASK_KIND = "sequence-classification"
"""The kind of a TaskData that names none (and of runs stored before runs recorded their kind)."""


@dataclass(frozen=True)
class TaskData:
    """What a task plugin returns: labelled splits and the names of the labels."""

    name: str
    label_names: tuple[str, ...]
    train: tuple[Example, ...]
    validation: tuple[Example, ...]
    test: tuple[Example, ...]
    description: str = ""
    text_fields: tuple[str, ...] = ("text",)
    """What the segments are called, e.g. ("premise", "hypothesis"); two names for a sentence-pair task."""
    kind: str = DEFAULT_TASK_KIND
    """The task kind (harness.TaskKind, registered with `register_task_kinds`) whose examples the splits hold: the
    default, classification of texts and pairs (Example), the built-in kinds of harness.kinds (NER: TokenExample),
    or a plugin's."""


@dataclass(frozen=True)
class ModelSource:
    """A pretrained model to start from, resolved to something `from_pretrained` can open offline or online.

    `location` is a local directory or a hub id; `name` is what the suite called it (e.g. "minilm").
    """

    name: str
    location: str
    max_length: int = 128
    revision: Optional[str] = None
    trust_remote_code: bool = False
    """Run Python code that ships with the model (auto_map). Off unless the suite opts in and the command line
    confirms (`harness run --trust-remote-code`)."""
    allow_pickle: bool = False
    """Load pickle checkpoints (pytorch_model.bin), which can run arbitrary code; off: safetensors only."""
    label_map: tuple[tuple[str, str], ...] = ()
    """A model trained elsewhere: (its label, the task's label) for each of its labels whose name differs from the
    task's (`label_map:` in the suite); labels with the task's names (case aside) map by name."""
    adapter_base: Optional[str] = None
    """A PEFT adapter evaluated as is: the location of the model it adapts (`base:`); None: its adapter_config.json's
    base_model_name_or_path."""


@dataclass(frozen=True)
class Budgets:
    """Caps that keep a suite inside a time budget. None means no cap.

    Example budgets are a count (500) or a fraction of the split (0.1). The kept examples are a seeded sample,
    stratified by label unless `stratify: false`; their ids are stored in the run's samples.json so that two runs
    can be checked to compare the same examples (see harness.core.sampling)."""

    max_train_examples: Optional[Union[int, float]] = None
    max_eval_examples: Optional[Union[int, float]] = None
    """Caps the validation and the test split."""
    max_attack_examples: Optional[Union[int, float]] = 50
    """Test examples each attack runs on."""
    max_explain_examples: Optional[Union[int, float]] = 20
    """Test examples each explainer explains."""
    max_epochs: Optional[float] = None
    max_steps: Optional[int] = None
    sample_seed: int = 0
    """Seed of every example sample (the same in every cell, whatever the cell's training seed)."""
    stratify: bool = True
    """Keep each label's share in every sample. Ignored for task kinds whose examples have no single label (a NER
    sentence: harness.TaskKind.stratified_sampling)."""

    def __post_init__(self):
        for name in ("max_train_examples", "max_eval_examples", "max_attack_examples", "max_explain_examples"):
            value = getattr(self, name)
            if isinstance(value, float) and not 0 < value <= 1:
                raise ValueError(f"{name} must be a count (an integer) or a fraction in (0, 1], got {value}")
            if isinstance(value, int) and value < 1:  # to attack or explain nothing, list no attacks or explainers
                raise ValueError(f"{name} must be positive, got {value}")
        if self.max_epochs is not None and self.max_epochs <= 0:
            raise ValueError(f"max_epochs must be positive, got {self.max_epochs}")
        if self.max_steps is not None and self.max_steps < 1:
            raise ValueError(f"max_steps must be positive, got {self.max_steps}")


@dataclass(frozen=True)
class Metric:
    """One measured number, with a confidence interval where one is meaningful."""

    name: str
    value: float
    ci_low: Optional[float] = None
    ci_high: Optional[float] = None
    n: Optional[int] = None


@dataclass(frozen=True)
class EpochRecord:
    """One point of a training curve."""

    epoch: float
    step: int
    train_loss: float
    validation_accuracy: Optional[float] = None
    validation_loss: Optional[float] = None
    train_accuracy: Optional[float] = None
    """Running accuracy on the training batches of this epoch (as the model learned)."""
    learning_rate: Optional[float] = None
    adversarial_examples: Optional[int] = None
    """Adversarial examples trained on in this epoch (adversarial training only)."""


@dataclass(frozen=True)
class StageEnvironment:
    """What every stage gets from the runner besides its inputs."""

    device: str
    seed: int
    work_dir: Path
    progress: Callable[..., Any]
    """progress(iterable=None, total=None, desc=...) -> a tqdm-like object; honours --no-progress."""


@dataclass(frozen=True)
class AdversarialRound:
    """What one round of adversarial training produced (a finetuner passes it on; the harness records it)."""

    epoch: int
    attacked: int
    """Examples attacked (those the model already got wrong, which attacks skip, not counted)."""
    successful: int
    """Attacks that succeeded; a round may find more than it trains on."""
    examples: tuple[Example, ...]
    """The adversarial texts with their original labels: the round's adversarial training set."""
    seconds: float


@dataclass(frozen=True)
class AdversarialTraining:
    """Adversarial training asked of the shared training loop, with TextAttack Trainer semantics.

    Epochs 1..clean_epochs train on the clean data. From then on, every `attack_epoch_interval` epochs (the
    first adversarial epoch included) `generate(epoch, model, tokenizer)` attacks the current model on a
    sample of the training split, and the successful adversarial examples join the clean data, their loss
    weighted by `alpha`. Unlike TextAttack, whose Trainer drops the adversarial set in the epochs between two
    attack rounds, a round's set stays in training until the next round replaces it.
    """

    clean_epochs: int
    attack_epoch_interval: int
    alpha: float
    expected_examples: int
    """Adversarial examples a round aims for (sizes the learning-rate schedule)."""
    generate: Callable[[int, Any, Any], AdversarialRound]

    def attacks_in(self, epoch: int) -> bool:
        """Whether a new adversarial set is generated at the start of `epoch` (1-based)."""
        return epoch > self.clean_epochs and (epoch - self.clean_epochs - 1) % self.attack_epoch_interval == 0


@dataclass(frozen=True)
class TrainRequest:
    """Input of a finetuner: start from `base`, learn `data`, write the model into `output_dir`."""

    base: ModelSource
    data: TaskData
    budgets: Budgets
    output_dir: Path
    env: StageEnvironment
    adversarial: Optional[AdversarialTraining] = None
    """Set when the suite asks for adversarial training (`adversarial:` on a method). Finetuners built on
    harness.train_and_save / train_with_peft honour it; a finetuner with its own loop must, or the run fails."""
    task_kind: Any = None
    """The task kind (harness.TaskKind) of `data`: its model class, encoding and predictor. The runner sets it;
    None means the built-in kind `data.kind` names (see `kind`)."""

    @property
    def kind(self) -> Any:
        """The kind to train for, as load_base_classifier, peft_task_type and fit take it: `task_kind`, or the name
        of a built-in kind (`data.kind`) when the request was built without one."""
        return self.task_kind if self.task_kind is not None else self.data.kind


@dataclass(frozen=True)
class TrainedModel:
    """Output of a finetuner. `model_dir` holds Hugging Face files; for adapters, `adapter_of` names the base."""

    model_dir: Path
    adapter_of: Optional[ModelSource]
    trainable_parameters: int
    total_parameters: int
    train_seconds: float
    train_examples: int
    history: tuple[EpochRecord, ...] = ()
    metrics: tuple[Metric, ...] = ()
    loaded_as: Optional[ModelSource] = None
    """A model tested as it is (no training): the suite's model it is (its trust_remote_code and allow_pickle
    apply when it loads). `model_dir` is then that model's own directory, not one in the stage cache."""
    label_order: tuple[int, ...] = ()
    """The model's output index of each of the task's labels, where they differ (a model trained elsewhere whose
    labels come in another order); (): the task's order."""


@dataclass(frozen=True)
class AttackRecord:
    """One attacked example. `status` is "successful", "failed" or "skipped": already misclassified, or stopped
    by a time cap before the search decided (then `stopped_by` says so)."""

    example_id: str
    original_text: str
    perturbed_text: str
    label: int
    original_prediction: int
    perturbed_prediction: int
    original_confidence: float
    perturbed_confidence: float
    status: str
    num_queries: int
    words_perturbed: int
    words_total: int
    seconds: float
    original_text_pair: Optional[str] = None
    """Sentence pairs: the second segment before the attack (original_text is then the first, as in Example)."""
    perturbed_text_pair: Optional[str] = None
    """Sentence pairs: the second segment after the attack."""
    characters_cut: int = 0
    """Characters beyond what the model reads (its first max_length tokens), cut from the example before the
    attack: the texts above are the part that was attacked. 0: the whole example was attacked."""
    stopped_by: Optional[str] = None
    """The cap that ended the search early, e.g. "query budget of 200 queries" (the example then counts as
    failed, as in TextAttack) or "time cap of 30 s" (it counts as skipped: its outcome is unknown)."""
    seed: Optional[int] = None
    """The integer Python's random, numpy and torch were seeded with just before this example's search (TextAttack
    recipes: harness.attack.perturbation.text_seed(cell seed, "attack", example_id)); seeding them with it and
    running the same search replays the example. None: the attack draws nothing at random (a static set, a
    deterministic search), or the record was written before seeds were recorded."""
    library_versions: tuple[tuple[str, str], ...] = ()
    """(distribution, version) of the libraries whose code ran the search and its model queries, e.g.
    (("textattack", "0.3.11"), ("transformers", "4.57.6"), ("torch", "2.13.0")). (): nothing was searched (a
    static set), or the record was written before versions were recorded."""

    def __post_init__(self):
        # A JSON round trip (the per-example cache, records/attack.jsonl) gives lists; the record keeps tuples.
        if not isinstance(self.library_versions, tuple) or not all(
                isinstance(pair, tuple) for pair in self.library_versions):
            object.__setattr__(self, "library_versions", tuple(tuple(pair) for pair in self.library_versions))


ATTACK_STATUSES = ("successful", "failed", "skipped")


@dataclass(frozen=True)
class AttackOutcome:
    records: tuple[AttackRecord, ...]
    model_forwards: int = 0
    """Texts the model actually ran on (after the predictor's cache), for the speed-up accounting."""


@dataclass(frozen=True)
class Verdict:
    """A judge's verdict on one adversarial example: is it still a valid example of its label (meaning kept,
    grammatical)?"""

    accepted: bool
    score: Optional[float] = None
    """What the judge measured (a similarity, an entailment probability, new grammar errors), for reports."""
    detail: str = ""
    """Why, in a few words, where the score alone does not say (e.g. "entails one way only")."""


@dataclass(frozen=True)
class WordAttribution:
    """Attributions of one example aggregated to words (subword scores summed)."""

    example_id: str
    words: tuple[str, ...]
    scores: tuple[float, ...]
    target: int
    label: int
    convergence_delta: Optional[float] = None
    spans: tuple[tuple[int, int], ...] = ()
    """(start, end) character offsets of each word in the example's text: what metrics delete or align."""
    segments: tuple[int, ...] = ()
    """Sentence pairs: the segment of each word (0 = text, 1 = text_pair); its span is relative to that segment."""


@dataclass(frozen=True)
class ExplainOutcome:
    attributions: tuple[WordAttribution, ...]
    metrics: tuple[Metric, ...] = ()


@dataclass(frozen=True)
class ResultRow:
    """One row of a run's tidy results table: a cell x stage x metric."""

    task: str
    model: str
    method: str
    seed: int
    stage: str
    component: str
    metric: str
    value: float
    ci_low: Optional[float] = None
    ci_high: Optional[float] = None
    n: Optional[int] = None
    stage_key: str = ""
    train_size: Optional[int] = None
    """Training examples of the cell (data-efficiency sweeps compare methods at several sizes)."""


RESULT_COLUMNS = tuple(ResultRow.__dataclass_fields__)


@dataclass(frozen=True)
class StageRecord:
    """What the store remembers about one stage of one run (also one line of stages.jsonl)."""

    stage_id: str
    kind: str
    component: str
    plugin: str
    key: str
    status: str
    """"computed", "cached" or "error"."""
    seconds: float
    method: str = ""
    seed: int = 0
    error: str = ""
    traceback: str = ""


@dataclass(frozen=True)
class StoredRun:
    """A finished or partial run as read back from disk; reporters render from this alone."""

    run_dir: Path
    manifest: Mapping[str, Any]
    results: tuple[ResultRow, ...]
    stages: tuple[StageRecord, ...]
    gates: tuple["GateOutcome", ...] = ()

    def records(self, stage_id: str, name: str) -> list[dict[str, Any]]:
        """Per-example JSONL records a stage wrote (e.g. name="attack" or "attributions")."""
        from harness.core.files import read_stage_records

        return read_stage_records(self.run_dir, stage_id, name)


@dataclass(frozen=True)
class GateOutcome:
    """One evaluated gate: what was measured against what threshold, and whether it held."""

    description: str
    metric: str
    op: Optional[str]
    """The comparison, or "max_increase" / "max_decrease" for a gate against a baseline run."""
    threshold: Optional[float]
    """The threshold, or the allowed change against the baseline."""
    passed: bool
    measured: Optional[float]
    """The value judged: the metric, or its change against the baseline."""
    detail: str = ""
    skipped: bool = False
    """A baseline gate in a run given no baseline: not evaluated (counts as passed)."""
    baseline_value: Optional[float] = None
    p_value: Optional[float] = None
    """Of the paired significance test, when the gate asks for one."""
    adjusted_p_value: Optional[float] = None
    """`p_value` adjusted (Holm-Bonferroni) for every paired test of the run's significant baseline gates; the gate
    fails only when this is below its alpha. None without a paired test or with the correction turned off."""
    underpowered: bool = False
    """A significant baseline gate that held only because its sample is too small to detect a move of its allowance
    (best case, see harness.core.gates): nothing failed, but the gate cannot fail at the size it allows."""
    detectable_change: Optional[float] = None
    """The smallest change its sample detects with 80% power at its alpha (significant baseline gates on a 0/1
    metric); None when not computed, or for an underpowered gate when no change the rate can make is detectable."""
    sufficient_sample: Optional[int] = None
    """The paired examples that would detect a move of the allowance with 80% power at its alpha."""

    @property
    def verdict(self) -> str:
        """"passed", "failed", "skipped" or "underpowered" (passed, but too small a sample to fail at its allowance)."""
        if self.skipped:
            return "skipped"
        if not self.passed:
            return "failed"
        return "underpowered" if self.underpowered else "passed"


@dataclass(frozen=True)
class ReportRequest:
    run: StoredRun
    output_dir: Path
    view: Any = None
    """What the run's task kind adds to reports (harness.ReportView: charts, HTML and markdown sections); None
    for a run whose kind adds nothing."""


@dataclass(frozen=True)
class ComponentInfo:
    """One registered component as `harness plugins` lists it."""

    name: str
    kind: str
    plugin: str
    distribution: str
    version: str
    config_fields: tuple[tuple[str, str, str], ...] = field(default=())
    """(field name, type, default) for each config field."""
    description: str = ""
    unavailable: str = ""
    """Why the component cannot run in this environment (e.g. "needs TextAttack: pip install ..."); "" if it can."""


@dataclass(frozen=True)
class CellJob:
    """One cell of a suite (a method trained with one seed on one training size): what an executor schedules.

    Small and picklable; `label` is how progress lines and failure records name it.
    """

    index: int
    """Position in the suite's cell order (the order the run's store records cells in)."""
    label: str
    """E.g. "lora/seed0" (or "lora/seed0/n500" in a data-efficiency sweep)."""
    method: str
    seed: int
    method_index: int
    """Position of the method among its model's methods (Suite.methods_of)."""
    train_size_index: int = 0
    model_index: int = 0
    """Position of the model in the suite's models."""


@dataclass(frozen=True)
class CellResult:
    """A computed cell's finished stages as the driver records them. Executors pass it on without looking
    inside; it pickles, so it can travel back from another process or node."""

    cell: CellJob
    stages: tuple[Any, ...]


@dataclass(frozen=True)
class ExecutionPlan:
    """What the runner hands an executor: the cells and the three ways to deal with one.

    An executor either runs a cell here (`run_in_process`) or ships `compute_cell` (a picklable callable) and
    the cell to a worker, and gives the `CellResult` it returns to `record`. A worker that died or raised goes to
    `record_failure`. Results may be recorded in any order and from one thread; the driver writes them into
    the store in cell order, so the results table does not depend on the executor.
    """

    cells: tuple[CellJob, ...]
    run_in_process: Callable[[CellJob], None]
    """Computes a cell in this process, recording each stage as it finishes (live progress bars and hooks)."""
    compute_cell: Callable[[CellJob], CellResult]
    """Picklable: computes a cell in any process that has the harness and the suite's plugins installed (it
    rebuilds the plugins by module name) and writes artifacts to the shared stage cache."""
    record: Callable[[CellResult], None]
    record_failure: Callable[[CellJob, str], None]
    """Records the cell as failed with this message (exit code 3); other cells go on."""
    cache_dir: str
    """The stage cache every worker must reach (a shared filesystem path)."""
    not_shippable: str = ""
    """Why `compute_cell` cannot run in another process (plugins registered as live objects in this one), or ""."""
