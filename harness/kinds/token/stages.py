"""The stages of a token-classification (named-entity recognition) cell:

    finetune -> evaluate -> attack (each) -> perturb (each) -> explain (each)

Stage keys, caching and records work as for any stage (harness.core.runner); what is computed:

- evaluate: entity precision / recall / F1 (seqeval's reading, harness.kinds.token.entity_metrics) with bootstrap
  intervals over sentences, macro F1 and F1 per entity type, token accuracy (words pooled, also bootstrapped over
  sentences: the words of a sentence are not independent); records/predictions.jsonl holds each sentence's words
  with the gold and predicted tags as strings.
- attack (`attack_tokens` of a TokenAttack): entity F1 before and under attack, the success rate, the entity flip
  rate (of the gold entities predicted right before, the share predicted wrong after; overall and per type; these
  two proportions with Wilson score intervals), words perturbed, queries; records/ner-attack.jsonl
  (harness.kinds.token.attack.NerAttackRecord).
- perturb (`perturb_tokens` of a TokenPerturbation): entity F1 on the perturbed test set, the entity flip rate
  (overall and per type, with Wilson score intervals), the share of sentences changed; records/ner-perturb.jsonl.
- explain (`explain_entities` of an EntityExplainer): one attribution per predicted entity,
  records/entity-attributions.jsonl, and the entity faithfulness metrics of harness.kinds.token.explaining.

The record files are named apart from the sequence-classification ones (attack.jsonl, attributions.jsonl) so that
a reporter reading those never meets a record of another shape.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Any, Optional, Sequence

import numpy as np

from harness.core.errors import PluginError
from harness.core.files import write_jsonl
from harness.core.statistics import bootstrap_metric, proportion_metric
from harness.core.types import Metric, StageEnvironment, TaskData
from harness.kinds import standard
from harness.kinds.base import StageContext
from harness.kinds.token.encoding import words_in_window
from harness.kinds.token.entity_metrics import Entity, decode_tags, entity_metrics, extract_entities
from harness.kinds.token.examples import TokenExample

# ----------------------------------------------------------------------------------------------- evaluate


def tag_names(sequences: Sequence[Sequence[int]], label_names: Sequence[str]) -> list[tuple[str, ...]]:
    return [decode_tags(tags, label_names) for tags in sequences]


def evaluate(classifier: Any, examples: Sequence[TokenExample], building: Path, seed: int) -> list[Metric]:
    label_names = classifier.label_names
    predictions = classifier.predictor.tag([example.tokens for example in examples])
    gold = tag_names([example.tags for example in examples], label_names)
    predicted = tag_names([prediction.tags for prediction in predictions], label_names)
    write_jsonl(building / "records" / "predictions.jsonl", (
        {"example_id": example.id, "tokens": list(example.tokens), "gold_tags": list(gold_tags),
         "predicted_tags": list(predicted_tags), "words_missing": prediction.words_missing}
        for example, gold_tags, predicted_tags, prediction in zip(examples, gold, predicted, predictions)))
    correct = np.array([sum(g == p for g, p in zip(example.tags, prediction.tags))
                        for example, prediction in zip(examples, predictions)], dtype=np.float64)
    words = np.array([len(example.tokens) for example in examples], dtype=np.float64)
    # Resampled by sentence, as the entity scores are: the words of a sentence are not independent.
    token_accuracy = bootstrap_metric("token_accuracy", np.arange(len(examples)),
                                      statistic=lambda rows: float(correct[rows.astype(int)].sum()
                                                                   / max(1.0, words[rows.astype(int)].sum())),
                                      seed=seed)
    missing = sum(prediction.words_missing for prediction in predictions)
    return [*entity_metrics(gold, predicted, seed=seed), token_accuracy,
            Metric("truncated_word_rate", missing / max(1.0, float(words.sum())), n=int(words.sum()))]


# ----------------------------------------------------------------------------------------------- attack


def attack(attacker: Any, ref: Any, classifier: Any, examples: Sequence[TokenExample], task: TaskData,
           building: Path, env: StageEnvironment, seed: int) -> list[Metric]:
    from harness.kinds.token.attack import NerAttackRecord, entity_attack_metrics

    started = time.perf_counter()
    windows = [words_in_window(classifier.tokenizer, example, classifier.max_length) for example in examples]
    forwards_before = classifier.predictor.forwards
    records = tuple(attacker.attack_tokens(classifier, [example for example, _ in windows], task, env))
    seconds = time.perf_counter() - started
    if (not all(isinstance(record, NerAttackRecord) for record in records)
            or [record.example_id for record in records] != [example.id for example in examples]):
        raise PluginError(ref.plugin, f"attack {ref.name!r} must return one NerAttackRecord per example, in order")
    records = tuple(dataclasses.replace(record, words_cut=cut) if cut else record
                    for record, (_, cut) in zip(records, windows))
    write_jsonl(building / "records" / "ner-attack.jsonl", (dataclasses.asdict(record) for record in records))
    attacked = sum(record.status != "skipped" for record in records)
    return [*entity_attack_metrics(records, task.label_names, seed=seed),
            Metric("attacked_examples", float(attacked), n=len(records)),
            Metric("skipped_examples", float(len(records) - attacked), n=len(records)),
            Metric("cut_examples", float(sum(record.words_cut > 0 for record in records)), n=len(records)),
            Metric("model_forwards", float(classifier.predictor.forwards - forwards_before), n=len(records)),
            Metric("seconds_per_example", seconds / len(records) if records else float("nan"), n=len(records))]


# ----------------------------------------------------------------------------------------------- perturb


@dataclasses.dataclass(frozen=True)
class EntityChange:
    """One gold entity before and after a perturbation, and whether the model found it each time."""

    type: str
    original_span: tuple[int, int]
    perturbed_span: tuple[int, int]
    correct_before: bool
    correct_after: bool

    @property
    def flipped(self) -> bool:
        return self.correct_before and not self.correct_after


def entity_changes(original_gold: Sequence[str], perturbed_gold: Sequence[str], before: Sequence[str],
                   after: Sequence[str]) -> Optional[list[EntityChange]]:
    """The gold entities of a sentence paired with their perturbed selves, in order; None when the perturbation
    changed the entities' number or types, so that they cannot be paired (no built-in perturbation does: typos
    and synonyms keep every span, entity swaps replace each entity by one of its type)."""
    original_entities, perturbed_entities = extract_entities(original_gold), extract_entities(perturbed_gold)
    if [entity.type for entity in original_entities] != [entity.type for entity in perturbed_entities]:
        return None
    found_before, found_after = set(extract_entities(before)), set(extract_entities(after))
    return [EntityChange(old.type, (old.start, old.end), (new.start, new.end), old in found_before,
                         Entity(new.start, new.end, new.type) in found_after)
            for old, new in zip(original_entities, perturbed_entities)]


def flip_metrics(changes: Sequence[EntityChange], prefix: str = "entity_flip_rate") -> list[Metric]:
    """Of the gold entities predicted right before, the share predicted wrong after: all types, then per type;
    proportions of entities, with Wilson score intervals."""
    def rate(group: Sequence[EntityChange]) -> Metric:
        found = [change for change in group if change.correct_before]
        return proportion_metric(prefix, [change.flipped for change in found])

    metrics = [rate(changes)]
    for entity_type in sorted({change.type for change in changes}):
        metrics.append(dataclasses.replace(rate([c for c in changes if c.type == entity_type]),
                                           name=f"{prefix}/{entity_type}"))
    return metrics


def check_perturbed(ref: Any, examples: Sequence[TokenExample], perturbed: Any, labels: int) -> list[TokenExample]:
    if not isinstance(perturbed, (list, tuple)) or len(perturbed) != len(examples):
        raise PluginError(ref.plugin, f"perturbation {ref.name!r} must return a list of {len(examples)} "
                                      f"TokenExamples, one per example")
    for example, result in zip(examples, perturbed):
        if not isinstance(result, TokenExample) or result.id != example.id:
            raise PluginError(ref.plugin, f"perturbation {ref.name!r} must return TokenExamples with the ids of "
                                          f"the given examples, in order (expected {example.id!r})")
        if len(result.tags) != len(result.tokens) or not all(0 <= tag < labels for tag in result.tags):
            raise PluginError(ref.plugin, f"perturbation {ref.name!r} returned {result.id!r} with "
                                          f"{len(result.tokens)} tokens but tags {list(result.tags)[:20]}: one label "
                                          f"index per token is needed")
    return list(perturbed)


def perturb(augmenter: Any, ref: Any, classifier: Any, examples: Sequence[TokenExample], task: TaskData,
            building: Path, env: StageEnvironment, seed: int) -> list[Metric]:
    label_names = task.label_names
    perturbed = check_perturbed(ref, examples, augmenter.perturb_tokens(examples, task, env), len(label_names))
    before = classifier.predictor.tag([example.tokens for example in examples])
    after = classifier.predictor.tag([example.tokens for example in perturbed])
    gold_before = tag_names([example.tags for example in examples], label_names)
    gold_after = tag_names([example.tags for example in perturbed], label_names)
    predicted_before = tag_names([prediction.tags for prediction in before], label_names)
    predicted_after = tag_names([prediction.tags for prediction in after], label_names)
    all_changes: list[EntityChange] = []
    unpaired = 0
    records = []
    for number, (example, changed) in enumerate(zip(examples, perturbed)):
        changes = entity_changes(gold_before[number], gold_after[number], predicted_before[number],
                                 predicted_after[number])
        if changes is None:
            unpaired += 1
        else:
            all_changes.extend(changes)
        records.append({
            "example_id": example.id, "original_tokens": list(example.tokens), "perturbed_tokens": list(changed.tokens),
            "original_tags": list(gold_before[number]), "perturbed_tags": list(gold_after[number]),
            "original_prediction": list(predicted_before[number]),
            "perturbed_prediction": list(predicted_after[number]),
            "entities": None if changes is None else [dataclasses.asdict(change) for change in changes]})
    write_jsonl(building / "records" / "ner-perturb.jsonl", records)
    clean_f1 = next(metric for metric in entity_metrics(gold_before, predicted_before, seed=seed)
                    if metric.name == "entity_f1")
    metrics = [clean_f1, *entity_metrics(gold_after, predicted_after, prefix="perturbed_entity_", seed=seed),
               *flip_metrics(all_changes),
               Metric("changed_sentence_rate", sum(p.tokens != e.tokens for p, e in zip(perturbed, examples))
                      / max(1, len(examples)), n=len(examples))]
    if unpaired:
        metrics.append(Metric("unpaired_sentences", float(unpaired), n=len(examples)))
    return metrics


# ----------------------------------------------------------------------------------------------- explain


def explain(explainer: Any, ref: Any, classifier: Any, examples: Sequence[TokenExample], building: Path,
            env: StageEnvironment, seed: int) -> list[Metric]:
    from harness.kinds.token.explaining import (
        EntityAttribution,
        EntityExplainOutcome,
        entity_faithfulness,
        predicted_entities,
    )

    outcome = explainer.explain_entities(classifier, examples, env)
    if not isinstance(outcome, EntityExplainOutcome) or not all(
            isinstance(attribution, EntityAttribution) for attribution in outcome.attributions):
        raise PluginError(ref.plugin, f"explainer {ref.name!r} returned {type(outcome).__name__}, expected "
                                      f"EntityExplainOutcome of EntityAttribution")
    expected = [(examples[job.example].id, job.start, job.end) for job in predicted_entities(classifier, examples)]
    explained = [(attribution.example_id, attribution.start, attribution.end) for attribution in outcome.attributions]
    if sorted(explained) != sorted(expected):
        raise PluginError(ref.plugin, f"explainer {ref.name!r} returned {len(explained)} entity attributions for "
                                      f"the {len(expected)} entities the model predicts; one per predicted entity "
                                      f"is expected")
    write_jsonl(building / "records" / "entity-attributions.jsonl",
                (dataclasses.asdict(attribution) for attribution in outcome.attributions))
    metrics = [Metric("explained_examples", float(len(examples))),
               Metric("explained_entities", float(len(outcome.attributions))), *outcome.metrics]
    if getattr(ref.config, "faithfulness", True):
        faithfulness, records = entity_faithfulness(classifier, outcome.attributions, seed=seed)
        write_jsonl(building / "records" / "entity-faithfulness.jsonl", records)
        metrics.extend(faithfulness)
    return metrics


# --------------------------------------------------------------------------------------- declared stages


def evaluate_stage(context: StageContext, ref: Any, building: Path, env: StageEnvironment) -> dict[str, Any]:
    return standard.as_payload(evaluate(context.classifier(), context.task.test, building, context.cell.seed))


def attack_stage(context: StageContext, ref: Any, building: Path, env: StageEnvironment) -> dict[str, Any]:
    return standard.as_payload(attack(context.build(ref), ref, context.classifier(), context.attack_examples,
                                      context.cell_task(), building, env, context.cell.seed))


def perturb_stage(context: StageContext, ref: Any, building: Path, env: StageEnvironment) -> dict[str, Any]:
    return standard.as_payload(perturb(context.build(ref), ref, context.classifier(), context.task.test,
                                       context.cell_task(), building, env, context.cell.seed))


def explain_stage(context: StageContext, ref: Any, building: Path, env: StageEnvironment) -> dict[str, Any]:
    return standard.as_payload(explain(context.build(ref), ref, context.classifier(), context.explain_examples,
                                       building, env, context.cell.seed))


STAGES = (
    standard.FINETUNE,
    # Entity explanations have no stability metrics (yet): no attack's examples are part of their input.
    *standard.model_stages(evaluate_stage, attack_stage, perturb_stage, explain_stage,
                           lambda context, ref: standard.explain_key(context, ref, [])),
)
