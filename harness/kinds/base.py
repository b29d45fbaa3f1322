"""The task-kind contract: everything that differs between kinds of task (sequence classification, token
classification, and kinds a plugin adds), and the declared stages a kind's cells run.

A task plugin's `TaskData.kind` names a task kind; the kind was registered through the `register_task_kinds`
hook, like any component. The runner, the training loop, the store and the reporters call the kind and never
branch on its name: a third kind is a plugin, not a change to the core.

A stage is data (`StageSpec`): its name, the stages it needs, the parts of its cache key, and what it computes.
The runner schedules a cell's stages in the order the kind declares them; a stage whose needed stage failed or
was skipped is recorded as skipped. Stages receive a `StageContext`, never the runner.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Optional, Protocol, Sequence

from harness.core.errors import SuiteError
from harness.core.files import content_key
from harness.core.types import StageEnvironment, TaskData, TrainedModel

if TYPE_CHECKING:
    from harness.core.suite.spec import ComponentRef, ModelSpec, Suite


@dataclass
class CellState:
    """One model x method x seed x train size while its stages run: its training data, the stages it finished
    and the model its finetune stage produced (loaded on first use)."""

    method: "ComponentRef"
    seed: int
    train: tuple[Any, ...]
    in_sweep: bool
    model: Optional["ModelSpec"] = None
    """The suite's model the cell starts from (set by the runner)."""
    model_identity: Optional[dict[str, Any]] = None
    """What the model is, for cache keys: its content hash or hub commit (harness.modeling.fingerprint)."""
    several_models: bool = False
    """Whether the suite compares several models: then the cell's names say which model it is."""
    train_size: int = 0
    """Training examples before augmentation: what a data-efficiency sweep varies."""
    finetune_key: Optional[str] = None
    trained: Optional[TrainedModel] = None
    classifier: Any = None
    finished: dict[str, list["FinishedStage"]] = field(default_factory=dict)
    """Stage name -> the stages of that name this cell finished (in order), with their keys and payloads."""
    failed: set[str] = field(default_factory=set)
    """Names of the stages that failed or were skipped in this cell."""

    def __post_init__(self) -> None:
        self.train_size = self.train_size or len(self.train)

    @property
    def prefix(self) -> str:
        model = f"{self.model.name.replace('/', '_')}/" if self.several_models and self.model else ""
        return f"{model}{self.method.label}/seed{self.seed}" + (f"/n{self.train_size}" if self.in_sweep else "")

    @property
    def method_label(self) -> str:
        """What reports call the cell's method: "model / method" in a suite of several models."""
        if self.several_models and self.model:
            return f"{self.model.name} / {self.method.label}"
        return self.method.label


@dataclass(frozen=True)
class FinishedStage:
    label: str
    """The component's label (the suite's `name:` or the plugin name)."""
    key: str
    payload: dict[str, Any]


@dataclass(frozen=True)
class StageContext:
    """What a stage's functions get: the suite, the task's data, the cell, and the services of the run (building
    components, loading the cell's model, reading finished stages from the cache). Never the runner itself."""

    suite: "Suite"
    task: TaskData
    kind: "TaskKind"
    cell: CellState
    device: str
    libraries: dict[str, str]
    build: Callable[["ComponentRef"], Any]
    """The component object of a suite entry (its plugin's factory called with the entry's config)."""
    component_info: Callable[["ComponentRef"], Any]
    """The registry's record of a suite entry's component (its plugin, version and factory)."""
    stage_path: Callable[[str, str], Path]
    """The cache directory of a finished stage, by stage name and key (its records/ are read from there)."""
    cache_root: Path
    load_classifier: Callable[[CellState], Any]
    attack_examples: tuple[Any, ...]
    explain_examples: tuple[Any, ...]

    def classifier(self) -> Any:
        """The cell's trained model, loaded once per cell."""
        if self.cell.classifier is None:
            self.cell.classifier = self.load_classifier(self.cell)
        return self.cell.classifier

    def cell_task(self) -> TaskData:
        """The task as the cell's model saw it (its training split, e.g. the pool entity swaps draw from)."""
        return dataclasses.replace(self.task, train=self.cell.train)

    def fingerprint(self, examples: Sequence[Any]) -> str:
        return self.kind.fingerprint(examples)


@dataclass(frozen=True)
class StageSpec:
    """One declared stage of a cell.

    `components(context)` lists the suite entries the stage runs once each (a suite's attacks; or the cell's
    method alone). `key_parts(context, ref)` is what the stage's cache key hashes besides what every key has (the
    stage name, the component, its plugin and version, its config, library and schema versions): include a
    `stage_version` and bump it when what the stage computes changes. `compute(context, ref, building, env)` returns
    the stage's payload ({"metrics": [...], ...}) and writes per-example records under `building/records/`.
    `finished(context, ref, payload)` runs after the stage succeeded (computed or cached), e.g. to hand the trained
    model to later stages.
    """

    name: str
    components: Callable[[StageContext], Sequence["ComponentRef"]]
    key_parts: Callable[[StageContext, "ComponentRef"], dict[str, Any]]
    compute: Callable[[StageContext, "ComponentRef", Path, StageEnvironment], dict[str, Any]]
    needs: tuple[str, ...] = ()
    """Stages whose failure (in this cell) skips this one."""
    per_component: bool = True
    """The stage id names the component (`<cell>/attack/<label>`); False for one-per-cell stages (`<cell>/evaluate`)."""
    rows_name_component: bool = True
    """Whether the results rows carry the component's label (the finetune and evaluate rows leave it empty)."""
    finished: Optional[Callable[[StageContext, "ComponentRef", dict[str, Any]], None]] = None

    def stage_id(self, cell: CellState, ref: "ComponentRef") -> str:
        return f"{cell.prefix}/{self.name}" + (f"/{ref.label}" if self.per_component else "")


class TrainingEncoding(Protocol):
    """How the shared training loop (harness.training.loop) encodes a kind's examples, labels its batches and scores
    a model on a validation split.

    Two optional methods let a kind whose models take their labels under other names train in the same loop; an
    encoding without them trains as the sequence and token kinds do:

    - `label_arguments(batch_labels) -> dict`: the model's keyword arguments for a batch's labels (the value of
      `batch_labels`); default `{"labels": batch_labels}`. Extractive QA: `start_positions` and `end_positions`.
    - `counted_logits(outputs) -> Any`: what `count_correct` reads from the model's outputs; default
      `outputs.logits`. Extractive QA: the start and end logits.
    - `for_model(model) -> TrainingEncoding`: the encoding for this model, where it depends on the architecture;
      `fit` calls it first. Text generation: an encoder-decoder's labels are the decoder's targets, a decoder-only
      LM's the prompt and target's positions.

    The model computes its loss from those arguments (`outputs.loss`) either way.
    """

    score_name: str
    """What the validation score is, for charts ("validation accuracy", "validation entity F1")."""
    best_validation_metric: str
    """The metric name of the best validation score ("best_validation_accuracy")."""
    train_score_metric: str
    """The metric name of the kept weights' score on a training subset ("train_accuracy")."""
    data_parallel: bool
    """Whether several processes may train one model together (harness.training.data_parallel)."""

    def check_settings(self, settings: Any, adversarial: Any) -> None:
        """Raise ValueError for settings this kind cannot train with (e.g. several processes)."""

    def encode(self, tokenizer: Any, examples: Sequence[Any], max_length: int) -> tuple[dict[str, list[Any]],
                                                                                          list[Any]]:
        """(token ids and other model inputs per training row, the label of each row): one row per example, or
        several (extractive QA's windows of a long context); the loop plans its steps from the rows."""

    def batch_labels(self, labels: Sequence[Any], input_ids: Any, tokenizer: Any, device: str) -> Any:
        """The labels tensor of one padded batch whose ids are `input_ids`."""

    def count_correct(self, logits: Any, labels: Any, counted: int, batch_size: int) -> tuple[int, int]:
        """(correct predictions of this process's slice of a training batch, predictions the epoch's accuracy
        divides them by); `counted` of the slice count, `batch_size` is the whole batch's."""

    def evaluate(self, model: Any, tokenizer: Any, examples: Sequence[Any], device: str, max_length: int,
                 batch_size: int) -> tuple[Optional[float], Optional[float]]:
        """(score, mean loss) of the model in its current state; higher scores are better."""


@dataclass(frozen=True)
class ReportView:
    """What a kind adds to reports: charts (harness.report.charts), HTML sections of the scorecard, markdown
    sections."""

    charts: tuple[Any, ...] = ()
    html_sections: tuple[str, ...] = ()
    """Rendered HTML placed after the results table, before the charts (summary tables)."""
    html_drilldowns: tuple[str, ...] = ()
    """Rendered HTML placed after the scorecard's adversarial examples, before its attributions (example
    drill-downs)."""
    html_styles: tuple[str, ...] = ()
    """CSS rules added to the scorecard's stylesheet (for the classes the sections use)."""
    markdown_sections: tuple[str, ...] = ()
    training_score_name: str = "validation accuracy"
    """The y axis of the training curves."""


class TaskKind:
    """A kind of task. Subclass it, set the class attributes and override what differs; register the class (or
    a factory of instances) with `register_task_kinds`.

    The defaults describe nothing: a kind must at least give its example type, its model class, its training
    encoding, its predictor and its stages.
    """

    name: str = ""
    """What `TaskData.kind` says; set by the registry from the registered name."""
    example_type: type = object
    """The type of the examples in the splits of its TaskData."""
    stratified_sampling: bool = True
    """Whether budgets sample each label's share (examples need a `label`); False: plain seeded samples."""
    labelled: bool = True
    """Whether its tasks name labels (TaskData.label_names: at least two); False for a kind whose answers are no
    labels, whose tasks' label_names is () (extractive QA: spans of the context)."""

    # ------------------------------------------------------------------------------------------------ data

    def fingerprint(self, examples: Sequence[Any]) -> str:
        """The content key of a list of examples: it keys every stage that reads them."""
        return content_key({self.name: [dataclasses.asdict(example) for example in examples]})

    label_fields: tuple[str, ...] = ("label",)
    """The fields of an example that hold its gold answer (not part of what the model reads)."""

    def inputs_fingerprint(self, examples: Sequence[Any]) -> str:
        """The content key of the examples without their labels: two runs whose test sets share it saw the same
        inputs in the same order, so their per-example outcomes can be paired (harness compare, baseline gates)."""
        return content_key({"inputs": [{name: value for name, value in dataclasses.asdict(example).items()
                                        if name not in self.label_fields} for example in examples]})

    def check_example(self, example: Any, data: TaskData, where: str) -> None:
        """Raise AssertionError naming `where` when an example (already of `example_type`) is malformed: the plugin
        contract kit (harness.testing.check_task) calls it for every example of a task."""

    # ----------------------------------------------------------------------------------------------- model

    def model_class(self) -> Any:
        """The transformers auto class of the kind's models."""
        raise NotImplementedError

    def model_options(self, label_names: tuple[str, ...]) -> dict[str, Any]:
        """from_pretrained options that size the new head."""
        return {"num_labels": len(label_names), "id2label": dict(enumerate(label_names)),
                "label2id": {name: index for index, name in enumerate(label_names)}}

    def peft_task_type(self, model: Any = None) -> Any:
        """PEFT's TaskType, so that PEFT wraps the model in the class whose forward and saved head fit the kind.
        `model` is the base model PEFT wraps: a kind whose PEFT class depends on the architecture (text generation:
        SEQ_2_SEQ_LM or CAUSAL_LM) needs it."""
        raise NotImplementedError

    def adapt_peft_model(self, model: Any) -> Any:
        """The PEFT model as the kind's predictor and training loop use it (unchanged by default)."""
        return model

    def make_predictor(self, model: Any, tokenizer: Any, device: str, max_length: int, batch_size: int,
                       label_names: tuple[str, ...]) -> Any:
        raise NotImplementedError

    training: Optional[TrainingEncoding] = None

    def adversarial_training(self, context: StageContext, building: Path, env: StageEnvironment,
                             rounds: list[Any]) -> Any:
        """The harness.AdversarialTraining of a method with `adversarial:` (its rounds appended to `rounds`). A kind
        without it refuses such methods before anything trains (`unsupported_strategies`)."""
        raise NotImplementedError

    # ----------------------------------------------------------------------------------------------- suite

    def check_components(self, suite: "Suite", registry: Any, task: TaskData) -> list[SuiteError]:
        """The suite entries this kind cannot serve, each at its suite line (nothing has trained yet)."""
        return []

    def stages(self) -> tuple[StageSpec, ...]:
        raise NotImplementedError

    # --------------------------------------------------------------------------------------------- reports

    def report_view(self, run: Any) -> ReportView:
        return ReportView()


def unsupported_strategies(kind: TaskKind, suite: "Suite", task: TaskData,
                           already: Sequence[SuiteError] = ()) -> list[SuiteError]:
    """Methods whose training strategy the kind cannot run, each at its suite line: `augment:` where the kind
    declares no augment stage, `adversarial:` where it has no adversarial training. Entries a problem in `already`
    (the kind's own check) points at are left to it."""
    reported = {problem.location for problem in already}
    has_augment = any(spec.name == "augment" for spec in kind.stages())
    has_adversarial = type(kind).adversarial_training is not TaskKind.adversarial_training
    problems = []
    for method in suite.methods:
        for ref, supported, what in ((method.augment.augmenter if method.augment else None, has_augment,
                                      "`augment:` (training on augmented copies)"),
                                     (method.adversarial.attack if method.adversarial else None, has_adversarial,
                                      "adversarial training")):
            if ref is not None and not supported and ref.location not in reported:
                problems.append(SuiteError(f"method {method.label!r}: {what} is not supported by task kind "
                                           f"{kind.name!r} (task {task.name!r})", ref.location, ref.plugin))
    return problems


def declared_kinds(component: Any) -> Optional[tuple[str, ...]]:
    """The task kinds a component's factory declares it serves (`task_kinds = ("my-kind",)`), or None when it
    declares none (then each kind decides from the methods it has)."""
    kinds = getattr(component.factory, "task_kinds", None)
    return tuple(kinds) if kinds is not None else None


@dataclass(frozen=True)
class ComponentSection:
    """One of a suite's component lists as a kind checks it: `refs` (suite.attacks ...), what an entry is called
    ("attack"), why a component that cannot serve the kind cannot (for the error), whether one can
    (`serves(factory)`, for components that declare no task kinds), and what to use instead."""

    refs: Sequence[Any]
    noun: str
    reason: str
    serves: Callable[[Any], bool]
    use_instead: str


def unserved_components(sections: Sequence[ComponentSection], registry: Any, kind_name: str,
                        what: str) -> list[SuiteError]:
    """An error at its suite line for each entry of `sections` that cannot serve the kind `kind_name`: a component
    declaring task kinds without it, or declaring none and lacking what the kind calls (`serves`). `what` says what
    the task is ("task 'x' is token classification (NER)")."""
    problems = []
    for section in sections:
        for ref in section.refs:
            component = registry.get(ref.kind, ref.name)
            kinds = declared_kinds(component)
            if kinds is not None and kind_name not in kinds:
                problems.append(SuiteError(f"{section.noun} {ref.name!r} serves task kinds {', '.join(kinds)}; "
                                           f"{what}: use {section.use_instead}", ref.location, ref.plugin))
            elif kinds is None and not section.serves(component.factory):
                problems.append(SuiteError(f"{section.noun} {ref.name!r} {section.reason}; {what}: use "
                                           f"{section.use_instead}", ref.location, ref.plugin))
    return problems


def has_method(name: str) -> Callable[[Any], bool]:
    """`serves` for a ComponentSection: whether a component's factory has the method `name` the kind calls."""
    return lambda factory: callable(getattr(factory, name, None))
