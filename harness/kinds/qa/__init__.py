"""The built-in task kind "extractive-qa": a question about a context, answered by a span of the context (SQuAD 1.1
and 2.0; harness.kinds.qa.examples.QAExample).

Its examples, readers, windows and metrics: harness.kinds.qa.examples, .reading, .windows, .squad_metrics; its
training encoding harness.kinds.qa.training, its predictor harness.kinds.qa.predictor.QAPredictor, its stages
harness.kinds.qa.stages (finetune -> evaluate -> attack -> perturb -> explain), its task sources
harness.kinds.qa.tasks, its robustness tests harness.kinds.qa.attacking (adversarial distractors: .distractors for
AddSent, .add_any for AddAny) and .perturbing (span-aligned perturbations), its explanations
harness.kinds.qa.explaining, its report sections harness.kinds.qa.report. A QA task has no label names
(TaskData.label_names is ()): the answers are spans, and the model's head (AutoModelForQuestionAnswering) has two
outputs per token, start and end. Classification attacks (TextAttack's recipes), judges, augmentation and
adversarial training cannot serve it: each is refused at its suite line before anything trains.
"""

from __future__ import annotations

from typing import Any, Sequence

from harness.core.errors import SuiteError
from harness.core.files import content_key
from harness.core.types import TaskData
from harness.kinds.base import (
    ComponentSection,
    ReportView,
    StageSpec,
    TaskKind,
    has_method,
    unserved_components,
)
from harness.kinds.qa.examples import QAExample, answer_problem
from harness.kinds.qa.training import QATraining

NAME = "extractive-qa"
NOT_YET = "not supported for extractive QA yet"
QA_ATTACKS = "add-sent or add-any (adversarial distractors)"
QA_EXPLAINERS = "integrated-gradients or feature-ablation"
QA_PERTURBATIONS = "a text perturbation (keyboard-typos, char-swap, a TextAttack augmenter ...)"


class ExtractiveQA(TaskKind):
    """A question about a context, answered by a span of it (or, SQuAD 2.0, by no answer)."""

    name = NAME
    example_type = QAExample
    # A question has no label whose share a sample could keep.
    stratified_sampling = False
    labelled = False
    label_fields = ("answers",)
    training = QATraining()

    def fingerprint(self, examples: Sequence[Any]) -> str:
        if not examples:  # the key an empty split always had
            return content_key({"examples": []})
        # Its own tag, so that no key of another kind's examples can ever equal one of a QA split.
        return content_key({"qa_examples": [(example.id, example.question, example.context, example.title,
                                             [(answer.text, answer.start) for answer in example.answers])
                                            for example in examples]})

    def check_example(self, example: QAExample, data: TaskData, where: str) -> None:
        if not isinstance(example.answers, tuple):
            raise AssertionError(f"{where}: example {example.id!r} has answers {example.answers!r}; answers are a "
                                 f"tuple of harness.Answer (empty for an unanswerable question)")
        problem = answer_problem(example)
        if problem is not None:
            raise AssertionError(f"{where}: example {example.id!r}: {problem}")

    def model_class(self) -> Any:
        from transformers import AutoModelForQuestionAnswering

        return AutoModelForQuestionAnswering

    def model_options(self, label_names: tuple[str, ...]) -> dict[str, Any]:
        """Two outputs per token (start, end): a base model's config may say otherwise (an NLI checkpoint's three
        labels), and the question-answering heads split their output in two."""
        return {"num_labels": 2}

    def peft_task_type(self, model: Any = None) -> Any:
        from peft import TaskType

        return TaskType.QUESTION_ANS

    def adapt_peft_model(self, model: Any) -> Any:
        """PEFT's QA models drop token type ids, and prompt tuning's virtual tokens shift the answer positions:
        harness.kinds.qa.peft_models mends both."""
        from harness.kinds.qa.peft_models import adapt_qa_peft_model

        return adapt_qa_peft_model(model)

    def make_predictor(self, model: Any, tokenizer: Any, device: str, max_length: int, batch_size: int,
                       label_names: tuple[str, ...]) -> Any:
        from harness.kinds.qa.predictor import QAPredictor

        return QAPredictor(model, tokenizer, device, max_length=max_length, batch_size=batch_size)

    def check_components(self, suite: Any, registry: Any, task: TaskData) -> list[SuiteError]:
        """Refuse what cannot serve extractive QA, each at its suite line: attacks without `insert_distractors`
        (TextAttack's recipes attack a classifier's label), perturbations without `augment` (NER's token
        perturbations), explainers without `explain_answers`, judges, and augmentation and adversarial training."""
        what = f"task {task.name!r} is extractive question answering (QA)"
        problems: list[SuiteError] = []
        for method in suite.methods:
            for ref, strategy in ((method.augment.augmenter if method.augment else None,
                                   "`augment:` (training on augmented copies)"),
                                  (method.adversarial.attack if method.adversarial else None,
                                   "adversarial training")):
                if ref is not None:
                    problems.append(SuiteError(f"method {method.label!r}: {strategy} is {NOT_YET}; {what}",
                                               ref.location, ref.plugin))
        problems += unserved_components((
            ComponentSection(suite.attacks, "attack", "attacks a classifier's label (it changes words until the "
                             "predicted class flips), and an extractive QA model has no class: it answers with a "
                             "span of the context", has_method("insert_distractors"), QA_ATTACKS),
            ComponentSection(suite.perturbations, "perturbation", "does not perturb plain texts (it has no `augment`)",
                             has_method("augment"), QA_PERTURBATIONS),
            ComponentSection(suite.explainers, "explainer", "explains classification only",
                             has_method("explain_answers"), QA_EXPLAINERS),
        ), registry, NAME, what)
        for ref in suite.judges:
            problems.append(SuiteError(f"judge {ref.name!r}: judges of adversarial examples judge text attacks on "
                                       f"classifiers; {what}, whose distractors are not judged: remove it from the "
                                       f"suite's `judges:`", ref.location, ref.plugin))
        return problems

    def stages(self) -> tuple[StageSpec, ...]:
        from harness.kinds.qa.stages import STAGES

        return STAGES

    def report_view(self, run: Any) -> ReportView:
        from harness.kinds.qa.report import report_view

        return report_view(run)
