"""What a component's factory must return, one Protocol per kind.

A plugin registers `register(name, factory, config=ConfigDataclass)`; the harness calls
`factory(config_instance)` and uses the returned object through the Protocol of its kind. Plain data in and
out is defined in harness.core.types.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol, Sequence, runtime_checkable

from harness.core.types import (
    AttackOutcome,
    AttackRecord,
    Example,
    ExecutionPlan,
    ExplainOutcome,
    ReportRequest,
    StageEnvironment,
    TaskData,
    TrainedModel,
    TrainRequest,
    Verdict,
)

COMPONENT_KINDS = ("task", "finetuner", "attack", "augmenter", "explainer", "reporter", "executor", "task-kind",
                   "judge")
AUTHORING_KINDS = ("task", "finetuner", "attack", "augmenter", "explainer", "reporter")
"""Kinds `harness new-plugin` writes a package for and harness.testing checks (executors and task kinds: see
docs/plugins.md)."""


@runtime_checkable
class Classifier(Protocol):
    """A loaded text classifier, as attacks and explainers receive it.

    `model` and `tokenizer` are the Hugging Face objects (a PeftModel for adapters); `predictor` is the
    harness's fast batched inference path (harness.modeling.predict.Predictor) that every stage should use.
    """

    model: Any
    tokenizer: Any
    predictor: Any
    label_names: tuple[str, ...]
    device: str
    max_length: int


class Task(Protocol):
    def load(self, env: StageEnvironment) -> TaskData: ...


class Finetuner(Protocol):
    def train(self, request: TrainRequest) -> TrainedModel: ...


class Attack(Protocol):
    def attack(self, classifier: Classifier, examples: Sequence[Example], env: StageEnvironment) -> AttackOutcome: ...


class Augmenter(Protocol):
    def augment(self, texts: Sequence[str], env: StageEnvironment) -> list[str]: ...


class Explainer(Protocol):
    def explain(self, classifier: Classifier, examples: Sequence[Example], env: StageEnvironment) -> ExplainOutcome: ...


class Judge(Protocol):
    def judge(self, records: Sequence[AttackRecord], env: StageEnvironment) -> Sequence[Verdict]:
        """One verdict per record (successful adversarial examples: `original_text` vs `perturbed_text`, and the
        `_pair` fields of sentence pairs), in order."""


class Reporter(Protocol):
    def render(self, request: ReportRequest) -> list[Path]: ...


class Executor(Protocol):
    ships_cells: bool
    """Optional (default False): True when cells run in other processes through `plan.compute_cell`, so the
    runner refuses plugins that cannot be rebuilt there before anything runs."""

    def run(self, plan: ExecutionPlan) -> None:
        """Compute every cell of `plan`; each must end in `plan.record` or `plan.record_failure`.

        Raise HarnessError before computing anything when the executor cannot run this plan (e.g. a cluster
        it cannot reach, or `plan.not_shippable` for an executor that ships cells to other processes)."""
