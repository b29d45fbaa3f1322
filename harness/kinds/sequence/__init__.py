"""The built-in task kind "sequence-classification": one label per text or sentence pair (harness.Example).

Its stages are harness.kinds.sequence.stages, its training encoding harness.kinds.sequence.training, its predictor
harness.modeling.predict.Predictor; adversarial training attacks the model being trained
(harness.kinds.sequence.adversarial).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from harness.core.errors import SuiteError
from harness.core.files import content_key
from harness.core.types import AdversarialRound, AdversarialTraining, Example, StageEnvironment, TaskData
from harness.kinds.base import StageContext, StageSpec, TaskKind, declared_kinds
from harness.kinds.sequence.training import SequenceTraining

NAME = "sequence-classification"


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


class SequenceClassification(TaskKind):
    """One label per text or sentence pair: topic, sentiment, NLI, paraphrase."""

    name = NAME
    example_type = Example
    training = SequenceTraining()

    def fingerprint(self, examples: Sequence[Any]) -> str:
        # A rationale counts only where there is one, so examples without rationales keep their old keys.
        # So does a second segment: single-text examples keep the keys they had before pairs existed. Its tag names
        # the pair encoding: stages computed while models still read only `text` of a pair are not reused.
        return content_key({"examples": [(example.id, example.text, example.label)
                                         + ((example.rationale,) if example.rationale else ())
                                         + (("pair-encoded", example.text_pair)
                                            if example.text_pair is not None else ())
                                         for example in examples]})

    def check_example(self, example: Example, data: TaskData, where: str) -> None:
        names, segments = data.label_names, len(data.text_fields)
        if not isinstance(example.text, str):
            raise AssertionError(f"{where}: example {example.id!r} has text {example.text!r}, not a string")
        if (example.text_pair is not None) != (segments == 2):
            raise AssertionError(f"{where}: example {example.id!r} has text_pair {example.text_pair!r}, but the task "
                                 f"names {segments} text field(s); a pair task sets text_pair on every example and "
                                 f"names two text_fields")
        if example.text_pair is not None and not isinstance(example.text_pair, str):
            raise AssertionError(f"{where}: example {example.id!r} has text_pair {example.text_pair!r}, not a string")
        if not is_int(example.label) or not 0 <= example.label < len(names):
            raise AssertionError(f"{where}: example {example.id!r} has label {example.label!r}; labels are "
                                 f"integers in 0..{len(names) - 1} (indexes of label_names)")
        for span in example.rationale or ():
            if (len(span) != 2 or not all(is_int(offset) for offset in span)
                    or not 0 <= span[0] < span[1] <= len(example.text)):
                raise AssertionError(f"{where}: example {example.id!r} has rationale span {span!r} outside its "
                                     f"text ({len(example.text)} characters)")

    def model_class(self) -> Any:
        from transformers import AutoModelForSequenceClassification

        return AutoModelForSequenceClassification

    def peft_task_type(self, model: Any = None) -> Any:
        from peft import TaskType

        return TaskType.SEQ_CLS

    def make_predictor(self, model: Any, tokenizer: Any, device: str, max_length: int, batch_size: int,
                       label_names: tuple[str, ...]) -> Any:
        from harness.modeling.predict import Predictor

        return Predictor(model, tokenizer, device, max_length=max_length, batch_size=batch_size)

    def adversarial_training(self, context: StageContext, building: Path, env: StageEnvironment,
                             rounds: list[AdversarialRound]) -> AdversarialTraining:
        from harness.kinds.sequence.adversarial import adversarial_training

        return adversarial_training(context, building, env, rounds)

    def check_components(self, suite: Any, registry: Any, task: TaskData) -> list[SuiteError]:
        """Refuse components built only for another kind: those declaring other `task_kinds`, and those of
        token classification (`supports_sequence_classification = False`)."""
        problems: list[SuiteError] = []

        def refuse_other_kind(ref: Any, noun: str, only_for: str) -> None:
            component = registry.get(ref.kind, ref.name)
            kinds = declared_kinds(component)
            if kinds is not None:
                if NAME not in kinds:
                    problems.append(SuiteError(f"{noun} {ref.name!r} serves task kinds {', '.join(kinds)}; task "
                                               f"{task.name!r} is {NAME}", ref.location, ref.plugin))
            elif getattr(component.factory, "supports_sequence_classification", True) is False:
                problems.append(SuiteError(f"{noun} {ref.name!r} {only_for}; task {task.name!r} classifies texts",
                                           ref.location, ref.plugin))

        for method in suite.methods:
            if method.augment is not None:
                refuse_other_kind(method.augment.augmenter, "augmenter",
                                  "perturbs token classification (NER) sentences only")
            if method.adversarial is not None:
                refuse_other_kind(method.adversarial.attack, "attack", "supports token classification (NER) only")
        for refs, noun, only_for in ((suite.attacks, "attack", "supports token classification (NER) only"),
                                     (suite.perturbations, "perturbation",
                                      "perturbs token classification (NER) sentences only"),
                                     (suite.explainers, "explainer", "explains token classification (NER) only")):
            for ref in refs:
                refuse_other_kind(ref, noun, only_for)
        return problems

    def stages(self) -> tuple[StageSpec, ...]:
        from harness.kinds.sequence.stages import STAGES

        return STAGES
