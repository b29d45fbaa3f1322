"""Every stage kind and metric name the built-in task kinds write to a run's results table: what each means,
which way is better, its unit, which confidence interval it has (Wilson or bootstrap); and the per-example record
files reporters read. docs/metrics.md is rendered from this table (and from the results.json schema shipped beside
it): `python -m harness.report.metric_catalog`.

This module declares, it does not import the kinds (the report layer sits below them):
tests/test_metric_catalog.py checks the table against what the code emits, in both directions, and fails when
docs/metrics.md is out of date. A name with `<TYPE>` stands for one name per entity type (`entity_f1/PER`).
"""

from __future__ import annotations

import json
import re
import sys
import textwrap
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Optional, Sequence

from harness.core.files import atomic_write_text

SEQUENCE = "sequence"
TOKEN = "token"
QA = "qa"
BOTH = (SEQUENCE, TOKEN)
"""The classification kinds: what attacks, perturbations and explanations serve so far."""
ALL = (SEQUENCE, TOKEN, QA)
KIND_TITLES = {
    SEQUENCE: "Sequence classification (single texts and sentence pairs)",
    TOKEN: "Token classification (named-entity recognition)",
    QA: "Extractive question answering (SQuAD 1.1 and 2.0)",
}
"""The built-in task kinds, by their subpackage of harness.kinds."""

HIGHER, LOWER, NEITHER = "higher", "lower", "neither"
"""Which way is better: for the model measured (or, for cost metrics, the cheaper run); neither for counts and
settings' effects, which are read, not ranked."""

SHARE = "share (0-1)"
PERCENT = "percent (0-100)"
COUNT = "count"
SECONDS = "seconds"
CORRELATION = "Spearman's rho (-1 to 1)"
PROBABILITY = "probability difference"
TYPE = "<TYPE>"

WILSON, BOOTSTRAP, NO_INTERVAL = "wilson", "bootstrap", "none"
INTERVALS = (WILSON, BOOTSTRAP, NO_INTERVAL)
"""Which 95% interval a row has: a Wilson score interval (proportions of examples or entities), a percentile
bootstrap (every other statistic), or none (counts, settings, costs without a sample to resample)."""

RESULTS_SCHEMA = "schemas/results.schema.json"
"""The JSON Schema of the json reporter's results.json, package data of harness.report."""


@dataclass(frozen=True)
class StageKind:
    name: str
    """A result row's `stage` (and a stage record's `kind`)."""
    component: str
    """What a result row's `component` holds for this stage."""
    what: str
    kinds: tuple[str, ...] = ALL
    in_cells: bool = True
    """False for a stage added to a finished run (human ratings), not run in its cells."""


@dataclass(frozen=True)
class MetricInfo:
    stage: str
    name: str
    meaning: str
    direction: str
    unit: str
    kinds: tuple[str, ...] = ALL
    interval: str = NO_INTERVAL
    """The row's 95% interval (ci_low, ci_high): WILSON (a proportion), BOOTSTRAP or NO_INTERVAL."""
    when: str = ""
    """When the row is written; empty: always."""


@dataclass(frozen=True)
class RecordFile:
    stage: str
    name: str
    """`run.records(stage_id, name)`; the file is records/<stage id>.<name>.jsonl."""
    line: str
    """What one line holds."""
    kinds: tuple[str, ...]
    when: str = ""


STAGE_KINDS = (
    StageKind("task", "the task's label", "loads the task's splits; its rows have an empty method and seed 0"),
    StageKind("augment", "the augmenter's label", "augmented copies of the training split, for a method with "
              "`augment:`", (SEQUENCE,)),
    StageKind("finetune", "empty", "trains the cell's method (or hands on a model tested as is)"),
    StageKind("evaluate", "empty", "the trained model on the test split"),
    StageKind("attack", "the attack's label", "one per entry of `attacks:`, on the attack sample of the test split",
              BOTH),
    StageKind("judge", "the attack's label", "one per attack when the suite has `judges:`: the judges' verdicts on "
              "its successful adversarial examples (docs/validity.md)", (SEQUENCE,)),
    StageKind("perturb", "the perturbation's label", "one per entry of `perturbations:`, on the test split", BOTH),
    StageKind("explain", "the explainer's label", "one per entry of `explainers:`, on the explain sample", BOTH),
    StageKind("rating", "the attack's label", "added to a finished run by `harness ratings import`: people's "
              "ratings of a sample of its adversarial examples (docs/validity.md)", (SEQUENCE,), in_cells=False),
)

_CHANGED = "the attack changed"
_HARNESS_LOOP = "trained by the harness's loop (every built-in finetuner but as-is)"
_ATTACKED = "at least one sentence was attacked"
_FAITHFULNESS = "the explainer's `faithfulness` is on"

METRICS = (
    # ------------------------------------------------------------------------------------------------ task
    MetricInfo("task", "train_examples", "Examples (sentences, for NER; questions, for QA) in the training split, "
               "after the budgets.",
               NEITHER, COUNT),
    MetricInfo("task", "validation_examples", "Examples in the validation split (held out of the training split "
               "when the task has none).", NEITHER, COUNT),
    MetricInfo("task", "test_examples", "Examples in the test split, after the budgets.", NEITHER, COUNT),
    # --------------------------------------------------------------------------------------------- augment
    MetricInfo("augment", "augmented_examples", "New training examples the augmenter added (unchanged and repeated "
               "texts dropped); n: texts augmented (sample x copies).", NEITHER, COUNT, (SEQUENCE,)),
    MetricInfo("augment", "augmented_share", "Share of the augmented training split that is augmented copies.",
               NEITHER, SHARE, (SEQUENCE,)),
    # -------------------------------------------------------------------------------------------- finetune
    MetricInfo("finetune", "trainable_parameters", "Parameters the method trained.", LOWER, COUNT),
    MetricInfo("finetune", "total_parameters", "Parameters of the trained model, adapter included.", NEITHER, COUNT),
    MetricInfo("finetune", "trainable_percentage", "trainable_parameters as a percentage of total_parameters.",
               LOWER, PERCENT),
    MetricInfo("finetune", "train_seconds", "Training time the finetuner reports.", LOWER, SECONDS),
    MetricInfo("finetune", "train_examples", "Examples trained on (augmented copies included).", NEITHER, COUNT),
    MetricInfo("finetune", "peak_rss_mb", "Peak resident memory of the process while training.", LOWER, "MB",
               when="the run is on a CPU"),
    MetricInfo("finetune", "peak_gpu_memory_mb", "Peak GPU memory allocated while training.", LOWER, "MB",
               when="the run is on a GPU"),
    MetricInfo("finetune", "final_train_loss", "Training loss of the last point of the training curve.", NEITHER,
               "loss", when="the finetuner returned a training history"),
    MetricInfo("finetune", "best_validation_accuracy", "Best validation accuracy over the epochs.", HIGHER, SHARE,
               (SEQUENCE,), when="a validation split was scored"),
    MetricInfo("finetune", "best_validation_entity_f1", "Best validation entity F1 (micro) over the epochs.",
               HIGHER, SHARE, (TOKEN,), when="a validation split was scored"),
    MetricInfo("finetune", "best_validation_f1", "Best validation SQuAD F1 over the epochs (abstaining allowed where "
               "the validation split has unanswerable questions).", HIGHER, SHARE, (QA,),
               when="a validation split was scored"),
    MetricInfo("finetune", "samples_per_second", "Training throughput: examples processed per second.", HIGHER,
               "examples/s", when=_HARNESS_LOOP),
    MetricInfo("finetune", "optimizer_steps", "Optimizer steps taken.", NEITHER, COUNT, when=_HARNESS_LOOP),
    MetricInfo("finetune", "best_epoch", "Epoch of the kept weights (the best validation score).", NEITHER, "epoch",
               when=_HARNESS_LOOP + " and validation chose the weights"),
    MetricInfo("finetune", "train_accuracy", "Accuracy of the kept weights on a sample of the training split.",
               NEITHER, SHARE, (SEQUENCE,), when=_HARNESS_LOOP),
    MetricInfo("finetune", "train_entity_f1", "Entity F1 of the kept weights on a sample of the training split.",
               NEITHER, SHARE, (TOKEN,), when=_HARNESS_LOOP),
    MetricInfo("finetune", "train_f1", "SQuAD F1 of the kept weights on a sample of the training split.", NEITHER,
               SHARE, (QA,), when=_HARNESS_LOOP),
    MetricInfo("finetune", "train_validation_gap", "Training minus validation score of the kept weights: the "
               "overfitting signal.", LOWER, "score difference", when=_HARNESS_LOOP + " with a validation split"),
    MetricInfo("finetune", "adversarial_rounds", "Epochs in which the attack made adversarial training examples.",
               NEITHER, COUNT, (SEQUENCE,), when="the method has `adversarial:`"),
    MetricInfo("finetune", "adversarial_examples", "Adversarial examples trained on, all rounds.", NEITHER, COUNT,
               (SEQUENCE,), when="the method has `adversarial:`"),
    MetricInfo("finetune", "adversarial_train_success_rate", "Share of the attacked training examples the attack "
               "turned; n: examples attacked.", NEITHER, SHARE, (SEQUENCE,), when="the method has `adversarial:`"),
    MetricInfo("finetune", "adversarial_seconds", "Time spent making adversarial examples.", LOWER, SECONDS,
               (SEQUENCE,), when="the method has `adversarial:`"),
    # -------------------------------------------------------------------------------------------- evaluate
    MetricInfo("evaluate", "accuracy", "Share of the test examples predicted right.", HIGHER, SHARE, (SEQUENCE,),
               WILSON),
    MetricInfo("evaluate", "macro_f1", "F1 of each label, averaged with equal weights.", HIGHER, SHARE, (SEQUENCE,),
               BOOTSTRAP),
    MetricInfo("evaluate", "entity_precision", "Micro precision of the predicted entities (span and type exact, as "
               "seqeval reads IOB2); intervals resample sentences, n: gold entities.", HIGHER, SHARE, (TOKEN,),
               BOOTSTRAP),
    MetricInfo("evaluate", "entity_recall", "Micro recall of the gold entities.", HIGHER, SHARE, (TOKEN,), BOOTSTRAP),
    MetricInfo("evaluate", "entity_f1", "Micro entity F1: the headline NER score.", HIGHER, SHARE, (TOKEN,), BOOTSTRAP),
    MetricInfo("evaluate", "entity_macro_f1", "Entity F1 of each type, averaged with equal weights.", HIGHER, SHARE,
               (TOKEN,)),
    MetricInfo("evaluate", f"entity_f1/{TYPE}", "Entity F1 of one entity type (PER, LOC, ...); n: its gold "
               "entities.", HIGHER, SHARE, (TOKEN,), BOOTSTRAP),
    MetricInfo("evaluate", "token_accuracy", "Share of the words whose predicted tag is the gold tag (resampled by "
               "sentence).", HIGHER, SHARE, (TOKEN,), BOOTSTRAP),
    MetricInfo("evaluate", "truncated_word_rate", "Share of the test words past the model's window, which it never "
               "saw (predicted O).", LOWER, SHARE, (TOKEN,)),
    MetricInfo("evaluate", "exact_match", "Share of the test questions whose answer equals a gold answer after "
               "SQuAD's normalisation (lowercase, no punctuation or articles); an unanswerable question counts when "
               "the model abstains.", HIGHER, SHARE, (QA,), WILSON),
    MetricInfo("evaluate", "f1", "SQuAD's token F1 of the answer against its best gold answer, mean over the test "
               "questions: the headline QA score.", HIGHER, SHARE, (QA,), BOOTSTRAP),
    MetricInfo("evaluate", "has_answer_exact_match", "exact_match over the answerable questions.", HIGHER, SHARE,
               (QA,), WILSON, "the test split has unanswerable questions"),
    MetricInfo("evaluate", "has_answer_f1", "f1 over the answerable questions.", HIGHER, SHARE, (QA,), BOOTSTRAP,
               "the test split has unanswerable questions"),
    MetricInfo("evaluate", "no_answer_exact_match", "Share of the unanswerable questions the model abstains on "
               "(equal to their f1).", HIGHER, SHARE, (QA,), WILSON, "the test split has unanswerable questions"),
    MetricInfo("evaluate", "no_answer_f1", "f1 over the unanswerable questions (1 where the model abstains).",
               HIGHER, SHARE, (QA,), BOOTSTRAP, "the test split has unanswerable questions"),
    MetricInfo("evaluate", "has_answer_examples", "Answerable test questions.", NEITHER, COUNT, (QA,),
               when="the test split has unanswerable questions"),
    MetricInfo("evaluate", "no_answer_examples", "Unanswerable test questions.", NEITHER, COUNT, (QA,),
               when="the test split has unanswerable questions"),
    # ---------------------------------------------------------------------------------------------- attack
    MetricInfo("attack", "clean_accuracy", "Accuracy on the attack sample before the attack.", HIGHER, SHARE,
               (SEQUENCE,), WILSON),
    MetricInfo("attack", "accuracy_under_attack", "Share of the examples the model got right and the attack failed "
               "to turn (TextAttack's definition); examples a time cap stopped are left out.", HIGHER, SHARE,
               (SEQUENCE,), WILSON),
    MetricInfo("attack", "attack_success_rate", "Share of the attacked examples (those predicted right) the attack "
               "turned.", LOWER, SHARE, (SEQUENCE,), WILSON),
    MetricInfo("attack", "attack_success_rate", "Share of the attacked sentences whose entity F1 the attack lowered "
               "(to its success_f1 or below); n: sentences attacked.", LOWER, SHARE, (TOKEN,), WILSON, _ATTACKED),
    MetricInfo("attack", "attacked_examples", "Examples attacked: those the model got right.", NEITHER, COUNT,
               (SEQUENCE,)),
    MetricInfo("attack", "skipped_examples", "Examples not attacked: already wrong, or stopped by a time cap "
               "(capped_examples).", NEITHER, COUNT, (SEQUENCE,)),
    MetricInfo("attack", "attacked_examples", "Sentences attacked: those with gold entities the model found some "
               "of.", NEITHER, COUNT, (TOKEN,)),
    MetricInfo("attack", "skipped_examples", "Sentences not attacked: no gold entity, or entity F1 already 0.",
               NEITHER, COUNT, (TOKEN,)),
    MetricInfo("attack", "capped_examples", "Examples a time cap stopped before the search decided: they have no "
               "outcome and count in no rate.", NEITHER, COUNT, (SEQUENCE,)),
    MetricInfo("attack", "cut_examples", "Examples (sentences, for NER) longer than the model's window, of "
               "which only the part the model reads was attacked.", NEITHER, COUNT, BOTH),
    MetricInfo("attack", "perturbed_word_percentage", f"Words {_CHANGED} in a successful example, as a percentage "
               "of its words (mean over the successful examples).", NEITHER, PERCENT, (SEQUENCE,), BOOTSTRAP),
    MetricInfo("attack", "mean_queries", "Model queries per attacked example, cache hits included (TextAttack's "
               "count): the attack's cost.", LOWER, "queries", (SEQUENCE,), BOOTSTRAP),
    MetricInfo("attack", "model_forwards", "Inputs that went through the model (after the prediction cache).", LOWER,
               COUNT, BOTH),
    MetricInfo("attack", "seconds_per_example", "Attack time per example.", LOWER, SECONDS, BOTH),
    MetricInfo("attack", "reused_examples", "Examples whose attack record came from the per-example cache of an "
               "earlier run.", NEITHER, COUNT, (SEQUENCE,)),
    MetricInfo("attack", "entity_f1", "Entity F1 on the attack sample before the attack.", HIGHER, SHARE, (TOKEN,),
               BOOTSTRAP),
    MetricInfo("attack", "entity_f1_under_attack", "Entity F1 on the attack sample after the attack (the sentences "
               "it failed on as they were).", HIGHER, SHARE, (TOKEN,), BOOTSTRAP),
    MetricInfo("attack", "words_perturbed", f"Words {_CHANGED} plus entities it swapped, per attacked sentence "
               "(mean).", NEITHER, "words", (TOKEN,), when=_ATTACKED),
    MetricInfo("attack", "queries", "Model queries per attacked sentence (mean): the attack's cost.", LOWER,
               "queries", (TOKEN,), when=_ATTACKED),
    MetricInfo("attack", "entity_flip_rate", "Of the gold entities predicted right before the attack, the share "
               "predicted wrong after it; n: those entities.", LOWER, SHARE, (TOKEN,), WILSON),
    MetricInfo("attack", f"entity_flip_rate/{TYPE}", "The entity flip rate of one entity type.", LOWER, SHARE,
               (TOKEN,), WILSON),
    # ----------------------------------------------------------------------------------------------- judge
    MetricInfo("judge", "judged_examples", "Successful adversarial examples of the attack the judges judged.",
               NEITHER, COUNT, (SEQUENCE,)),
    MetricInfo("judge", f"judge_acceptance/{TYPE}", "Share of the judged adversarial examples one judge (named after "
               "the slash) accepts as valid.", NEITHER, SHARE, (SEQUENCE,), WILSON),
    MetricInfo("judge", "valid_adversarial_share", "Share of the judged adversarial examples every required judge "
               "accepts (for the model, lower is better: fewer valid attacks).", LOWER, SHARE, (SEQUENCE,), WILSON),
    MetricInfo("judge", "valid_success_rate", "Valid successes over attacked examples: the attack success rate "
               "counting only adversarial examples every required judge accepts.", LOWER, SHARE, (SEQUENCE,),
               WILSON),
    MetricInfo("judge", "valid_accuracy_under_attack", "Share of the decided examples the model got right and the "
               "attack found no valid adversarial example for.", HIGHER, SHARE, (SEQUENCE,), WILSON),
    # ---------------------------------------------------------------------------------------------- rating
    MetricInfo("rating", "rated_examples", "Adversarial examples people rated (blank ratings left out).", NEITHER,
               COUNT, (SEQUENCE,)),
    MetricInfo("rating", "human_acceptance", "Share of the rated adversarial examples people found valid (same "
               "meaning, acceptable language); for the model, lower is better.", LOWER, SHARE, (SEQUENCE,), WILSON),
    MetricInfo("rating", f"judge_agreement/{TYPE}", "Share of the rated examples on which one judge's verdict (named "
               "after the slash) agrees with people's.", HIGHER, SHARE, (SEQUENCE,), WILSON,
               "the run judged the attack"),
    MetricInfo("rating", "valid_agreement", "Share of the rated examples on which the combined verdict (valid or "
               "not) agrees with people's.", HIGHER, SHARE, (SEQUENCE,), WILSON, "the run judged the attack"),
    # --------------------------------------------------------------------------------------------- perturb
    MetricInfo("perturb", "perturbed_accuracy", "Accuracy on the perturbed test split.", HIGHER, SHARE, (SEQUENCE,),
               WILSON),
    MetricInfo("perturb", "flip_rate", "Share of the test examples whose prediction the perturbation changed.",
               LOWER, SHARE, (SEQUENCE,), WILSON),
    MetricInfo("perturb", "changed_text_rate", "Share of the test examples the augmenter changed at all (a pair: "
               "its perturbed segment).", NEITHER, SHARE, (SEQUENCE,)),
    MetricInfo("perturb", "entity_f1", "Entity F1 on the test split before the perturbation.", HIGHER, SHARE,
               (TOKEN,), BOOTSTRAP),
    MetricInfo("perturb", "perturbed_entity_precision", "Micro entity precision on the perturbed test split.",
               HIGHER, SHARE, (TOKEN,), BOOTSTRAP),
    MetricInfo("perturb", "perturbed_entity_recall", "Micro entity recall on the perturbed test split.", HIGHER,
               SHARE, (TOKEN,), BOOTSTRAP),
    MetricInfo("perturb", "perturbed_entity_f1", "Micro entity F1 on the perturbed test split.", HIGHER, SHARE,
               (TOKEN,), BOOTSTRAP),
    MetricInfo("perturb", "perturbed_entity_macro_f1", "Entity F1 of each type on the perturbed test split, "
               "averaged with equal weights.", HIGHER, SHARE, (TOKEN,)),
    MetricInfo("perturb", f"perturbed_entity_f1/{TYPE}", "Entity F1 of one type on the perturbed test split.",
               HIGHER, SHARE, (TOKEN,), BOOTSTRAP),
    MetricInfo("perturb", "entity_flip_rate", "Of the gold entities predicted right before the perturbation, the "
               "share predicted wrong after it (entities paired in order).", LOWER, SHARE, (TOKEN,), WILSON),
    MetricInfo("perturb", f"entity_flip_rate/{TYPE}", "The entity flip rate of one entity type.", LOWER, SHARE,
               (TOKEN,), WILSON),
    MetricInfo("perturb", "changed_sentence_rate", "Share of the test sentences the perturbation changed.", NEITHER,
               SHARE, (TOKEN,)),
    MetricInfo("perturb", "unpaired_sentences", "Sentences whose entities the perturbation changed in number or "
               "type: left out of the flip rates.", NEITHER, COUNT, (TOKEN,), when="there is one"),
    # --------------------------------------------------------------------------------------------- explain
    MetricInfo("explain", "explained_examples", "Examples (sentences, for NER) explained.", NEITHER, COUNT, BOTH),
    MetricInfo("explain", "explained_entities", "Predicted entities explained, one attribution each.", NEITHER,
               COUNT, (TOKEN,)),
    MetricInfo("explain", "mean_abs_convergence_delta", "Mean |completeness error| of the attributions (their sum "
               "minus the output's change from the baseline).", LOWER, "model output", BOTH,
               when="the explainer has a convergence delta (integrated gradients, DeepLift, GradientSHAP)"),
    MetricInfo("explain", "mean_infidelity", "Captum's infidelity (Yeh et al. 2019) of the attributions, mean over "
               "the examples.", LOWER, "squared error", (SEQUENCE,),
               when="a gradient explainer with `infidelity_samples` > 0"),
    MetricInfo("explain", "mean_sensitivity_max", "Largest relative change of the attributions under small input "
               "noise (max-sensitivity), mean over the examples.", LOWER, "ratio", (SEQUENCE,),
               when="a gradient explainer with `sensitivity_samples` > 0"),
    MetricInfo("explain", "comprehensiveness_aopc", "Drop of the explained class's probability when the top-scored "
               "words are deleted, averaged over the top 1, 5, 10, 20 and 50% (AOPC, ERASER).", HIGHER, PROBABILITY,
               (SEQUENCE,), BOOTSTRAP, _FAITHFULNESS),
    MetricInfo("explain", "sufficiency_aopc", "Drop of that probability when only the top-scored words are kept "
               "(AOPC).", LOWER, PROBABILITY, (SEQUENCE,), BOOTSTRAP, _FAITHFULNESS),
    MetricInfo("explain", "log_odds_drop", "Drop of the explained class's log-odds when the top 20% of the words "
               "are deleted.", HIGHER, "log-odds", (SEQUENCE,), BOOTSTRAP, _FAITHFULNESS),
    MetricInfo("explain", "loo_correlation", "Correlation of the scores with the probability drop of deleting each "
               "word alone (leave-one-out).", HIGHER, CORRELATION, (SEQUENCE,), BOOTSTRAP, _FAITHFULNESS),
    MetricInfo("explain", "token_f1", "F1 of the top-k words (k: the rationale's size) against the human "
               "rationale's words.", HIGHER, SHARE, (SEQUENCE,), BOOTSTRAP, "the task has rationales"),
    MetricInfo("explain", "iou_f1", "ERASER's IOU F1: rationale spans matched at IOU >= 0.5.", HIGHER, SHARE,
               (SEQUENCE,), BOOTSTRAP, "the task has rationales"),
    MetricInfo("explain", "auprc", "Area under the precision-recall curve of the scores against the rationale's "
               "words.", HIGHER, SHARE, (SEQUENCE,), BOOTSTRAP, "the task has rationales"),
    MetricInfo("explain", "attribution_rank_correlation", "Correlation of the |scores| of an example and of its "
               "successful adversarial version, on the words they share.", HIGHER, CORRELATION, (SEQUENCE,), BOOTSTRAP,
               "the explainer's `stability` is on and an attack of the cell succeeded"),
    MetricInfo("explain", "top_k_overlap", "Share of the top 5 words (by |score|) the two explanations share.",
               HIGHER, SHARE, (SEQUENCE,), BOOTSTRAP,
               "the explainer's `stability` is on and an attack of the cell succeeded"),
    MetricInfo("explain", "stability_pairs", "Adversarial pairs compared by the two metrics above.", NEITHER, COUNT,
               (SEQUENCE,), when="the explainer's `stability` is on and an attack of the cell succeeded"),
    MetricInfo("explain", "randomization_rank_correlation", "Correlation of the |scores| for the trained model and "
               "for a copy with re-initialised weights (Adebayo et al. 2018): high means the explanation does not "
               "depend on what the model learned.", LOWER, CORRELATION, (SEQUENCE,), BOOTSTRAP,
               "the explainer's `randomization_check` is on"),
    MetricInfo("explain", "stability_meaningful", "1 when the stability under attack can be read as the model's "
               "(randomization_rank_correlation at most 0.5), 0 when the attributions barely depend on the model and "
               "reports strike the stability out.", HIGHER, "flag (0 or 1)", (SEQUENCE,),
               when="attribution_rank_correlation and randomization_rank_correlation were both measured"),
    MetricInfo("explain", "entity_topk_probability_drop", "Drop of the entity's tag probability when its 2 "
               "top-scored context words are masked.", HIGHER, PROBABILITY, (TOKEN,), BOOTSTRAP, _FAITHFULNESS),
    MetricInfo("explain", "entity_random_probability_drop", "The same drop when 2 random context words are masked: "
               "the chance level.", NEITHER, PROBABILITY, (TOKEN,), BOOTSTRAP, _FAITHFULNESS),
    MetricInfo("explain", "entity_faithfulness_gain", "Top-scored drop minus random drop: how much better than "
               "chance the attributions find the words the model uses.", HIGHER, PROBABILITY, (TOKEN,), BOOTSTRAP,
               _FAITHFULNESS),
)

RECORD_FILES = (
    RecordFile("augment", "augmented", "an augmented training example (`Example` fields)", (SEQUENCE,)),
    RecordFile("finetune", "history", "a point of the training curve (`EpochRecord` fields)", ALL,
               "the finetuner returned a history"),
    RecordFile("finetune", "adversarial-rounds", "an adversarial round: epoch, attacked, successful, trained_on, "
               "seconds", (SEQUENCE,), "the method has `adversarial:`"),
    RecordFile("evaluate", "predictions", "a test example: example_id, text (text_pair), label, prediction, "
               "confidence", (SEQUENCE,)),
    RecordFile("evaluate", "predictions", "a test sentence: example_id, tokens, gold_tags, predicted_tags, "
               "words_missing", (TOKEN,)),
    RecordFile("evaluate", "predictions", "a test question: example_id, question, gold_answers (text, start), "
               "predicted_answer, predicted_start, predicted_end, score, null_score, exact_match, f1", (QA,)),
    RecordFile("attack", "attack", "an attacked example (`AttackRecord` fields)", (SEQUENCE,)),
    RecordFile("attack", "ner-attack", "an attacked sentence (`NerAttackRecord` fields)", (TOKEN,)),
    RecordFile("judge", "verdicts", "a successful adversarial example: example_id, verdicts (judge -> accepted, "
               "score, detail) and valid", (SEQUENCE,)),
    RecordFile("rating", "ratings", "a rated adversarial example: example_id, valid, comment and, where judged, the "
               "judges' verdicts", (SEQUENCE,)),
    RecordFile("perturb", "perturb", "a test example: example_id, original_text, perturbed_text (and the pair's "
               "original_text_pair, perturbed_text_pair), label, original_prediction, perturbed_prediction",
               (SEQUENCE,)),
    RecordFile("perturb", "ner-perturb", "a test sentence: original and perturbed tokens, gold tags and predicted "
               "tags, and its entities before and after", (TOKEN,)),
    RecordFile("explain", "attributions", "an explained example (`WordAttribution` fields)", (SEQUENCE,)),
    RecordFile("explain", "stability", "an example and its adversarial version: attack, texts, words, scores and "
               "targets of both explanations", (SEQUENCE,), "stability pairs were compared"),
    RecordFile("explain", "entity-attributions", "an explained entity (`EntityAttribution` fields)", (TOKEN,)),
    RecordFile("explain", "entity-faithfulness", "a scored entity: the words masked and the probabilities",
               (TOKEN,), "the explainer's `faithfulness` is on"),
)


def _pattern(name: str) -> re.Pattern[str]:
    return re.compile(re.escape(name).replace(re.escape(TYPE), r"[^/]+") + r"\Z")


def find_metric(stage: str, metric: str, kind: Optional[str] = None) -> Optional[MetricInfo]:
    """The catalog's entry for a result row's stage and metric (an entity type's name matching `<TYPE>`), of one
    built-in kind (SEQUENCE, TOKEN, QA) or of any; None for a name the built-ins do not write (a plugin's)."""
    for info in METRICS:
        if info.stage == stage and (kind is None or kind in info.kinds) and _pattern(info.name).match(metric):
            return info
    return None


def stage_kinds(kind: str) -> tuple[str, ...]:
    """The stage kinds of a built-in task kind, in the order its cells run them."""
    return tuple(stage.name for stage in STAGE_KINDS if kind in stage.kinds and stage.in_cells)


def results_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of results.json."""
    return json.loads(resources.files("harness.report").joinpath(RESULTS_SCHEMA).read_text(encoding="utf-8"))


# ----------------------------------------------------------------------------------------------- docs


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header),
            *("| " + " | ".join(_cell(value) for value in row) + " |" for row in rows), ""]


def _paragraph(text: str) -> list[str]:
    return [textwrap.fill(text, width=116, break_long_words=False, break_on_hyphens=False), ""]


BETTER = {HIGHER: "higher", LOWER: "lower", NEITHER: "–"}

INTRODUCTION = """\
# Metrics, stages and results.json

<!-- Generated by `python -m harness.report.metric_catalog` from harness/report/metric_catalog.py and
harness/report/schemas/results.schema.json. Do not edit: tests/test_metric_catalog.py fails when this page differs
from what they render, and when the code writes a metric the catalog lacks. -->

Every number a run measures is one row of its results table (`results.csv`, the `results` of `results.json`,
`run.results` in a reporter, `harness.results_frame(run_dir)` in pandas), named by three columns: `stage` (the stage
kind below), `component` (the attack, perturbation or explainer label; empty for finetune and evaluate) and
`metric`. A gate selects rows by the same names: `{metric: accuracy_under_attack, attack: deepwordbug, op: ">=",
threshold: 0.4}` (`attack:`, `perturbation:` and `explainer:` are short for `stage:` + `component:`), and a reporter
by `row.stage == "attack" and row.metric == "accuracy_under_attack"`.

This page lists what the built-in task kinds write. **Better** says which way a gate or a comparison should
prefer (higher, lower, or – for counts and settings' effects, which are read rather than ranked); cost metrics
(time, memory, queries) prefer the cheaper run. **Interval**: the row's 95% confidence interval (`ci_low`,
`ci_high`): `wilson` for a proportion, `bootstrap` for any other statistic, empty for none (see [Confidence
intervals](#confidence-intervals)); `n` is the number of examples (or sentences, entities, pairs) the value is
computed over. A value is NaN (null in results.json) where it is undefined, e.g. a rate over no examples (then `n`
is 0). Components may add rows of their own (`TrainedModel.metrics`, `ExplainOutcome.metrics`), and a plugin's task
kind declares its own stages: those are not listed here.
"""


def _stage_section() -> list[str]:
    rows = [(f"`{stage.name}`", ", ".join(stage.kinds), stage.component, stage.what) for stage in STAGE_KINDS]
    return ["## Stage kinds", "",
            *_paragraph("A cell (model x method x seed x train size) runs these stages in this order; a stage "
                        "whose needed stage failed is recorded as skipped. `stages.jsonl` (the `stages` of "
                        "results.json) also holds records of kind `cell` (a cell whose worker died), `report` (a "
                        "reporter) and `hook` (a lifecycle hook), which write no rows."),
            *_table(("stage", "task kinds", "component column", "what it runs"), rows)]


INTERVALS_TEXT = (
    "A row whose value is a proportion (the share of examples, or entities, with a yes/no outcome: accuracy, "
    "accuracy under attack, attack success rate, flip rates) has a 95% Wilson score interval (Wilson 1927, "
    "\"Probable inference, the law of succession, and statistical inference\", JASA 22). Brown, Cai & DasGupta "
    "(2001, \"Interval Estimation for a Binomial Proportion\", Statistical Science 16(2)) show that the textbook "
    "Wald interval covers far less than 95% when n is small or the proportion is near 0 or 1, and recommend "
    "Wilson's. A percentile bootstrap of a proportion does no better, since it can only end at values k/n: on 12 "
    "examples all predicted right it gives [1, 1] and on 11 of 12 [0.75, 1.00], where Wilson gives [0.76, 1.00] "
    "and [0.65, 0.99]; on 12 of 15 [0.60, 1.00] against Wilson's [0.55, 0.93]. Wilson's interval is defined for "
    "any n >= 1, 0 of n and n of n included. (The NER entity flip rates count each entity as one outcome.)",
    "Every other interval (F1 scores, AOPC, correlations, means of per-example values such as queries, token "
    "accuracy pooled over words) is a 95% percentile bootstrap: 1,000 resamples of the examples (of the "
    "sentences, for NER: the words and entities of a sentence are not independent), seeded with the cell's "
    "seed; a sample of one has none. `harness.core.statistics` computes both (`proportion_metric` and "
    "`wilson_interval`, `bootstrap_metric`).",
)


def _intervals_section() -> list[str]:
    return ["## Confidence intervals", "", *(line for text in INTERVALS_TEXT for line in _paragraph(text))]


def _metric_sections(kind: str) -> list[str]:
    lines = [f"## {KIND_TITLES[kind]}", ""]
    # Every stage the kind's runs can hold, those added after a run (ratings) included.
    for stage in [stage.name for stage in STAGE_KINDS if kind in stage.kinds]:
        infos = [info for info in METRICS if info.stage == stage and kind in info.kinds]
        rows = [(f"`{info.name}`", info.meaning, BETTER[info.direction], info.unit,
                 "" if info.interval == NO_INTERVAL else info.interval, info.when or "always") for info in infos]
        lines += [f"### {stage}", "",
                  *_table(("metric", "meaning", "better", "unit", "interval", "written when"), rows)]
    return lines


def _records_section() -> list[str]:
    rows = [(f"`{record.stage}`", ", ".join(record.kinds), f"`{record.name}`", record.line, record.when or "always")
            for record in RECORD_FILES]
    return ["## Per-example records", "",
            *_paragraph("Each stage's per-example records are JSON lines in `records/<stage id>.<name>.jsonl` of "
                        "the run directory (in the stage id, characters other than letters, digits, `_`, `.` and "
                        "`-` become `_`); a reporter reads them with `run.records(stage_id, name)`. The sequence "
                        "and token kinds name their files apart, so a reader of one never meets a record of the "
                        "other's shape."),
            *_table(("stage", "task kinds", "name", "one line holds", "written when"), rows)]


def _schema_type(spec: dict[str, Any], definitions: dict[str, Any]) -> str:
    if "$ref" in spec:
        name = spec["$ref"].rsplit("/", 1)[1]
        target = definitions[name]
        return f"`{name}`" if target.get("type") == "object" else _schema_type(target, definitions)
    if "const" in spec:
        return f"the {type(spec['const']).__name__.replace('int', 'integer')} {json.dumps(spec['const'])}"
    if "enum" in spec:
        return " or ".join(json.dumps(value) for value in spec["enum"])
    types = spec["type"] if isinstance(spec["type"], list) else [spec["type"]]
    if "array" in types and "items" in spec:
        return f"array of {_schema_type(spec['items'], definitions)}"
    return " or ".join(types)


def _schema_table(definition: dict[str, Any], definitions: dict[str, Any]) -> list[str]:
    required = set(definition.get("required", ()))
    rows = [(f"`{name}`", _schema_type(spec, definitions), "yes" if name in required else "",
             spec.get("description", "")) for name, spec in definition["properties"].items()]
    return _table(("field", "type", "required", "what it holds"), rows)


def _results_json_section() -> list[str]:
    schema = results_schema()
    definitions = schema["$defs"]
    lines = ["## results.json", "",
             *_paragraph(f"{schema['description']} Its JSON Schema (draft 2020-12) ships with the harness: "
                         f"`harness/report/{RESULTS_SCHEMA}` (`harness.report.metric_catalog.results_schema()`)."),
             *_schema_table(schema, definitions)]
    for name in ("result_row", "stage", "gate", "manifest"):
        definition = definitions[name]
        lines += [f"### `{name}`", "", *_paragraph(definition["description"]),
                  *_schema_table(definition, definitions)]
    return lines


def render_markdown() -> str:
    """docs/metrics.md as the catalog and the results.json schema say it."""
    lines = [INTRODUCTION, *_stage_section(), *_intervals_section()]
    for kind in KIND_TITLES:
        lines += _metric_sections(kind)
    lines += [*_records_section(), *_results_json_section()]
    return "\n".join(lines).rstrip("\n") + "\n"


DOCS_PAGE = Path("docs") / "metrics.md"


def main(argv: Optional[Sequence[str]] = None) -> int:
    """`python -m harness.report.metric_catalog [--check] [PATH]`: write docs/metrics.md (default: in the current
    directory), or with --check exit 1 when it differs from what the catalog renders."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    check = "--check" in arguments
    paths = [argument for argument in arguments if argument != "--check"]
    path = Path(paths[0]) if paths else DOCS_PAGE
    text = render_markdown()
    if check:
        current = path.read_text(encoding="utf-8") if path.is_file() else ""
        if current != text:
            print(f"{path} is out of date: run python -m harness.report.metric_catalog {path}", file=sys.stderr)
            return 1
        return 0
    atomic_write_text(path, text)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
