"""The stages of an extractive question-answering cell:

    finetune -> evaluate -> attack (each) -> perturb (each) -> explain (each)

Stage keys, caching and records work as for any stage (harness.core.runner); what is computed:

- evaluate: the answers of the trained model to the test split's questions (harness.kinds.qa.predictor: windows
  over long contexts, n-best spans; "" where the null score wins, when the task has unanswerable questions), scored
  as the official SQuAD script scores them (harness.kinds.qa.squad_metrics): `exact_match` (Wilson interval) and
  `f1` (bootstrap over questions), and with unanswerable questions the HasAns / NoAns breakdown.
  records/predictions.jsonl holds per question its id, the question, the context, the gold answers, the predicted
  answer and its characters in the context, the span and null scores, and the question's exact match and F1.
- attack (a QA attack's `insert_distractors`: add-sent, add-any): the attack examples answered with and without
  the adversarial distractor (harness.kinds.qa.attacking); records/qa-attack.jsonl.
- perturb (any text augmenter, span-aligned: harness.kinds.qa.perturbing): the test split with its questions
  and/or contexts perturbed, answers never touched; records/qa-perturb.jsonl.
- explain (an explainer's `explain_answers`: integrated-gradients, occlusion): one attribution of each predicted
  answer over the question's and the context's words (harness.kinds.qa.explaining), records/qa-attributions.jsonl;
  with the explainer's `faithfulness` switch the top-k vs random masking check (records/qa-faithfulness.jsonl),
  with `stability` the same questions explained again under each finished attack's distractor
  (records/qa-stability.jsonl).

Whether a question may go unanswered is the task's fact: SQuAD 2.0 answering (abstaining allowed) when any of the
task's questions is unanswerable; it is in the splits' fingerprints, so the stage keys cover it.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Any, Sequence

from harness.core.errors import PluginError
from harness.core.files import read_jsonl, write_jsonl
from harness.core.pairs import pair_target_of
from harness.core.types import Metric, StageEnvironment
from harness.kinds import standard
from harness.kinds.base import StageContext, StageSpec
from harness.kinds.qa.examples import Answer, QAExample
from harness.kinds.qa.predictor import allows_no_answer
from harness.kinds.qa.squad_metrics import exact_match, f1, squad_metrics


def _finite(value: float) -> Any:
    """A score as JSON can hold it: None for -inf (a context without any token to answer with)."""
    return value if math.isfinite(value) else None


def allow_impossible(context: StageContext) -> bool:
    task = context.task
    return allows_no_answer(context.cell.train, task.validation, task.test)


# ----------------------------------------------------------------------------------------------- evaluate


def evaluate(classifier: Any, examples: Sequence[QAExample], allow_impossible: bool, building: Path,
             seed: int) -> list[Metric]:
    predictions = classifier.predictor.answer_examples(examples, allow_impossible=allow_impossible)
    golds = {example.id: [answer.text for answer in example.answers] for example in examples}
    write_jsonl(building / "records" / "predictions.jsonl", (
        {"example_id": example.id, "question": example.question, "context": example.context,
         "gold_answers": [{"text": answer.text, "start": answer.start} for answer in example.answers],
         "predicted_answer": prediction.text, "predicted_start": prediction.start, "predicted_end": prediction.end,
         "score": _finite(prediction.score), "null_score": _finite(prediction.null_score),
         "exact_match": exact_match(prediction.text, golds[example.id]),
         "f1": f1(prediction.text, golds[example.id])}
        for example, prediction in zip(examples, predictions)))
    return squad_metrics({example.id: prediction.text for example, prediction in zip(examples, predictions)},
                         golds, seed=seed)


def evaluate_stage(context: StageContext, ref: Any, building: Path, env: StageEnvironment) -> dict[str, Any]:
    return standard.as_payload(evaluate(context.classifier(), context.task.test, allow_impossible(context), building,
                                        context.cell.seed))


# ------------------------------------------------------------------------------------------ attack, perturb


def attack_stage(context: StageContext, ref: Any, building: Path, env: StageEnvironment) -> dict[str, Any]:
    from harness.kinds.qa.attacking import attack_metrics

    return standard.as_payload(attack_metrics(context.build(ref), ref, context.classifier(), context.attack_examples,
                                              context.cell_task(), building, env, context.cell.seed,
                                              allow_impossible(context)))


def perturb_stage(context: StageContext, ref: Any, building: Path, env: StageEnvironment) -> dict[str, Any]:
    from harness.kinds.qa.perturbing import perturb_examples, perturb_metrics
    from harness.kinds.sequence.stages import checked_augmentation

    augmenter = context.build(ref)
    examples = context.task.test
    target = pair_target_of(ref.config)
    perturbed = perturb_examples(examples, lambda texts: checked_augmentation(ref, augmenter, texts, env), target)
    return standard.as_payload(perturb_metrics(ref, context.classifier(), examples, perturbed, target, building,
                                               context.cell.seed, allow_impossible(context)))


# ----------------------------------------------------------------------------------------------- explain


def stability_attacks(context: StageContext, ref: Any) -> list[tuple[str, str]]:
    """(attack label, stage key) of the cell's finished attacks whose distractors the stability check explains."""
    if not getattr(ref.config, "stability", True):
        return []
    return [(finished.label, finished.key) for finished in context.cell.finished.get("attack", [])]


def explain_key(context: StageContext, ref: Any) -> dict[str, Any]:
    return standard.explain_key(context, ref, [key for _, key in stability_attacks(context, ref)])


def attacked_examples(context: StageContext, key: str, wanted: set[str]) -> tuple[list[QAExample], dict[str, Any]]:
    """The attacked versions of the `wanted` questions an attack stage recorded, and where each distractor is."""
    examples, inserted = [], {}
    for record in read_jsonl(context.stage_path("attack", key) / "records" / "qa-attack.jsonl"):
        if record["status"] == "attacked" and record["example_id"] in wanted:
            answers = tuple(Answer(answer["text"], answer["start"]) for answer in record["gold_answers"])
            examples.append(QAExample(record["example_id"], record["question"], record["context"], answers))
            inserted[record["example_id"]] = (record["distractor_start"], record["distractor_end"])
    return examples, inserted


def explain_stage(context: StageContext, ref: Any, building: Path, env: StageEnvironment) -> dict[str, Any]:
    from harness.kinds.qa.explaining import answer_faithfulness, attribution_stability

    explainer, classifier, examples = context.build(ref), context.classifier(), list(context.explain_examples)
    abstaining = allow_impossible(context)
    outcome = checked_explanations(ref, examples, explainer.explain_answers(classifier, examples, env, abstaining))
    write_jsonl(building / "records" / "qa-attributions.jsonl",
                (dataclasses.asdict(attribution) for attribution in outcome.attributions))
    metrics = [Metric("explained_examples", float(len(outcome.attributions))), *outcome.metrics]
    if getattr(ref.config, "faithfulness", True):
        faithfulness, records = answer_faithfulness(classifier, examples, outcome.attributions, seed=context.cell.seed)
        write_jsonl(building / "records" / "qa-faithfulness.jsonl", records)
        metrics += faithfulness
    stability_records = []
    for label, key in stability_attacks(context, ref):
        attacked, inserted = attacked_examples(context, key, {example.id for example in examples})
        if not attacked:
            continue
        under_attack = checked_explanations(ref, attacked, explainer.explain_answers(classifier, attacked, env,
                                                                                     abstaining))
        stability, records = attribution_stability(outcome.attributions, under_attack.attributions, inserted)
        metrics += [dataclasses.replace(metric, name=f"{metric.name}/{label}") for metric in stability]
        stability_records += [{"attack": label, **record} for record in records]
    if stability_records:
        write_jsonl(building / "records" / "qa-stability.jsonl", stability_records)
    return standard.as_payload(metrics)


def checked_explanations(ref: Any, examples: Sequence[QAExample], outcome: Any) -> Any:
    from harness.kinds.qa.explaining import AnswerAttribution, QAExplainOutcome

    if not isinstance(outcome, QAExplainOutcome) or not all(
            isinstance(attribution, AnswerAttribution) for attribution in outcome.attributions):
        raise PluginError(ref.plugin, f"explainer {ref.name!r} returned {type(outcome).__name__}, expected "
                                      f"QAExplainOutcome of AnswerAttribution")
    if [attribution.example_id for attribution in outcome.attributions] != [example.id for example in examples]:
        raise PluginError(ref.plugin, f"explainer {ref.name!r} returned {len(outcome.attributions)} answer "
                                      f"attributions for {len(examples)} questions; one per question, in order")
    return outcome


STAGES: tuple[StageSpec, ...] = (
    standard.FINETUNE,
    *standard.model_stages(evaluate_stage, attack_stage, perturb_stage, explain_stage, explain_key),
)
