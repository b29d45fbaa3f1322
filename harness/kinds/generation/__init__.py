"""The built-in task kind "text-generation": an input (a sentence to translate, an article to summarise, a text to
classify through a prompt) and the references a good output matches; the model writes its output
(harness.kinds.generation.examples.GenerationExample).

Its models are encoder-decoders (T5, BART, Marian) and decoder-only LMs (GPT-2, Llama, Qwen2, Mistral):
harness.kinds.generation.models. What it reads and is trained to write: .prompts (the task's template, the
tokenizer's chat template, cutting long inputs); its training encoding .training, its predictor .predictor
(batched, cached generation), its metrics harness.core.text_metrics (sacreBLEU's BLEU and chrF, rouge-score's ROUGE,
exact match, verbaliser accuracy), its stages .stages (evaluate, attack: .prompt_attacks, perturb, explain:
.explaining), its report sections .report, its task sources .tasks, .hub_tasks and .verbalised.
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
from harness.kinds.generation.examples import GenerationExample, example_problem
from harness.kinds.generation.training import GenerationTraining

NAME = "text-generation"
GENERATION_FINETUNERS = "full, lora, ia3, adalora, prompt-tuning, prefix-tuning, or as-is (a model tested untrained)"
GENERATION_ATTACKS = ("an adversarial prompt (prompt-deepwordbug, prompt-textbugger, prompt-textfooler, "
                      "prompt-bertattack, prompt-stresstest, prompt-checklist, prompt-semantic)")
GENERATION_EXPLAINERS = "feature-ablation, shapley-value-sampling or integrated-gradients"
GENERATION_PERTURBATIONS = "a text perturbation (keyboard-typos, char-swap, a TextAttack augmenter ...)"


class TextGeneration(TaskKind):
    """Text in, text out: translation, summarisation, instruction following, classification posed as a prompt."""

    name = NAME
    example_type = GenerationExample
    # An output has no label whose share a sample could keep (a verbalised classification task aside).
    stratified_sampling = False
    labelled = False
    label_fields = ("references",)
    training = GenerationTraining()

    def fingerprint(self, examples: Sequence[Any]) -> str:
        if not examples:  # the key an empty split always had
            return content_key({"examples": []})
        setups: dict[Any, int] = {}
        rows = []
        for example in examples:
            number = setups.setdefault(example.setup, len(setups))
            rows.append((example.id, example.input, list(example.references), number))
        # Its own tag, so that no key of another kind's examples can ever equal one of a generation split.
        return content_key({"generation_examples": rows,
                            "setups": [_setup_key(setup) for setup in setups]})

    def check_example(self, example: GenerationExample, data: TaskData, where: str) -> None:
        problem = example_problem(example)
        if problem is not None:
            raise AssertionError(f"{where}: example {example.id!r}: {problem}")

    def model_class(self) -> Any:
        from harness.kinds.generation.models import GenerationModels

        return GenerationModels

    def model_options(self, label_names: tuple[str, ...]) -> dict[str, Any]:
        """A language model's head is its vocabulary: nothing to size."""
        return {}

    def peft_task_type(self, model: Any = None) -> Any:
        from harness.core.errors import HarnessError
        from harness.kinds.generation.models import peft_task_type_of

        if model is None:
            raise HarnessError("text generation: PEFT's task type depends on the model (SEQ_2_SEQ_LM for an "
                               "encoder-decoder, CAUSAL_LM for a decoder-only LM); call "
                               "harness.peft_task_type(request.kind, model) with the base model")
        return peft_task_type_of(model)

    def make_predictor(self, model: Any, tokenizer: Any, device: str, max_length: int, batch_size: int,
                       label_names: tuple[str, ...]) -> Any:
        from harness.kinds.generation.predictor import GenerationPredictor

        return GenerationPredictor(model, tokenizer, device, max_length=max_length, batch_size=batch_size)

    def check_components(self, suite: Any, registry: Any, task: TaskData) -> list[SuiteError]:
        """Refuse what cannot serve text generation (yet), each at its suite line: attacks without `attack_prompt`
        (TextAttack's recipes attack a classifier's label), explainers without `explain_generations`, judges,
        perturbations without `augment`, and `frozen`."""
        what = f"task {task.name!r} is text generation"
        # `augment:` and `adversarial:` are refused by the core for every kind without them (unsupported_strategies).
        problems: list[SuiteError] = []
        for ref in suite.judges:
            problems.append(SuiteError(f"judge {ref.name!r}: judges of adversarial examples judge text attacks on "
                                       f"classifiers; {what}: remove it from the suite's `judges:`", ref.location,
                                       ref.plugin))
        problems += unserved_components((
            ComponentSection(suite.methods, "finetuner", "trains only a new task head on a frozen model, and a "
                             "language model has none (its head is its vocabulary)",
                             lambda factory: not getattr(factory, "head_only", False), GENERATION_FINETUNERS),
            ComponentSection(suite.attacks, "attack", "attacks a classifier's label (it changes words until the "
                             "predicted class flips), and a generation model has no class: attack its prompt instead",
                             has_method("attack_prompt"), GENERATION_ATTACKS),
            ComponentSection(suite.explainers, "explainer", "explains classification only",
                             has_method("explain_generations"), GENERATION_EXPLAINERS),
            ComponentSection(suite.perturbations, "perturbation", "does not perturb plain texts (it has no `augment`)",
                             has_method("augment"), GENERATION_PERTURBATIONS),
        ), registry, NAME, what)
        return problems

    def stages(self) -> tuple[StageSpec, ...]:
        from harness.kinds.generation.stages import STAGES

        return STAGES

    def report_view(self, run: Any) -> ReportView:
        from harness.kinds.generation.report import report_view

        return report_view(run)


def _setup_key(setup: Any) -> dict[str, Any]:
    import dataclasses

    return {name: (list(value) if isinstance(value, tuple) else value)
            for name, value in dataclasses.asdict(setup).items()}
