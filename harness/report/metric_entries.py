"""The entries of the metric catalog (harness.report.metric_catalog): every stage kind, metric and record file the
built-in task kinds write, as data. harness.report.metric_catalog looks names up in them and renders docs/metrics.md
from them; this module only declares.
"""

from __future__ import annotations

from dataclasses import dataclass

SEQUENCE = "sequence"
TOKEN = "token"
QA = "qa"
GENERATION = "generation"
BOTH = (SEQUENCE, TOKEN)
"""The classification kinds, whose attack, perturbation and explanation metrics are alike."""
ALL = (SEQUENCE, TOKEN, QA, GENERATION)
CLASSIFIERS_AND_QA = (SEQUENCE, TOKEN, QA)
"""The kinds whose attacks query examples one by one (text generation attacks the prompt of a whole sample)."""
KIND_TITLES = {
    SEQUENCE: "Sequence classification (single texts and sentence pairs)",
    TOKEN: "Token classification (named-entity recognition)",
    QA: "Extractive question answering (SQuAD 1.1 and 2.0)",
    GENERATION: "Text generation (translation, summarisation, classification posed as a prompt)",
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
ATTACK = "<ATTACK>"
PLACEHOLDERS = (TYPE, ATTACK)
"""What a computed name holds after its slash: an entity type or a judge (`<TYPE>`), an attack's label."""

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
    StageKind("attack", "the attack's label", "one per entry of `attacks:`, on the attack sample of the test split"),
    StageKind("judge", "the attack's label", "one per attack when the suite has `judges:`: the judges' verdicts on "
              "its successful adversarial examples (docs/validity.md)", (SEQUENCE,)),
    StageKind("perturb", "the perturbation's label", "one per entry of `perturbations:`, on the test split"),
    StageKind("explain", "the explainer's label", "one per entry of `explainers:`, on the explain sample"),
    StageKind("rating", "the attack's label", "added to a finished run by `harness ratings import`: people's "
              "ratings of a sample of its adversarial examples (docs/validity.md)", (SEQUENCE,), in_cells=False),
)

_CHANGED = "the attack changed"
_HARNESS_LOOP = "trained by the harness's loop (every built-in finetuner but as-is)"
_ATTACKED = "at least one sentence was attacked"
_FAITHFULNESS = "the explainer's `faithfulness` is on"
_QA_STABILITY = ("the explainer's `stability` is on and an attack of the cell inserted a distractor into an explained "
                 "question (one row per attack)")

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
               COUNT, CLASSIFIERS_AND_QA),
    MetricInfo("attack", "seconds_per_example", "Attack time per example.", LOWER, SECONDS, CLASSIFIERS_AND_QA),
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
    MetricInfo("attack", "original_exact_match", "Share of the attacked questions answered right (SQuAD exact match) "
               "without the distractor.", HIGHER, SHARE, (QA,), WILSON),
    MetricInfo("attack", "original_f1", "SQuAD F1 of the attacked questions' answers without the distractor (mean).",
               HIGHER, SHARE, (QA,), BOOTSTRAP),
    MetricInfo("attack", "exact_match_under_attack", "Share of the attacked questions answered right with the "
               "distractor inserted into their context.", HIGHER, SHARE, (QA,), WILSON),
    MetricInfo("attack", "f1_under_attack", "SQuAD F1 of the attacked questions' answers with the distractor inserted "
               "(mean): the headline QA robustness score.", HIGHER, SHARE, (QA,), BOOTSTRAP),
    MetricInfo("attack", "f1_drop", "original_f1 minus f1_under_attack, question by question (mean of the paired "
               "differences).", LOWER, "score difference", (QA,), BOOTSTRAP),
    MetricInfo("attack", "answer_in_distractor_rate", "Share of the attacked questions whose answer under attack "
               "overlaps the inserted distractor: the model took the bait.", LOWER, SHARE, (QA,), WILSON),
    MetricInfo("attack", "answer_change_rate", "Share of the attacked questions whose answer the distractor changed "
               "(compared after SQuAD's normalisation).", LOWER, SHARE, (QA,), WILSON),
    MetricInfo("attack", "has_answer_f1_under_attack", "f1_under_attack over the attacked answerable questions.",
               HIGHER, SHARE, (QA,), BOOTSTRAP, "the attacked questions include unanswerable ones"),
    MetricInfo("attack", "no_answer_f1_under_attack", "f1_under_attack over the attacked unanswerable questions (1 "
               "where the model still abstains).", HIGHER, SHARE, (QA,), BOOTSTRAP,
               "the attacked questions include unanswerable ones"),
    MetricInfo("attack", "attacked_examples", "Questions attacked: those the attack made a distractor for; n: "
               "questions in the attack sample.", NEITHER, COUNT, (QA,)),
    MetricInfo("attack", "skipped_examples", "Questions the attack could not serve (add-any: an unanswerable one, "
               "with no gold span to lower): they count in no rate.", NEITHER, COUNT, (QA,)),
    MetricInfo("attack", "attack_queries", "Model inputs the attack scored to build its distractors, all questions "
               "together (0 for a model-free attack such as add-sent): the attack's cost.", LOWER, "queries", (QA,)),
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
    MetricInfo("perturb", "original_f1", "SQuAD F1 on the test split before the perturbation (mean over the "
               "questions).", HIGHER, SHARE, (QA,), BOOTSTRAP),
    MetricInfo("perturb", "perturbed_exact_match", "Share of the perturbed test questions answered right (SQuAD "
               "exact match against the gold answers, which the perturbation never touches).", HIGHER, SHARE, (QA,),
               WILSON),
    MetricInfo("perturb", "perturbed_f1", "SQuAD F1 on the perturbed test split (mean over the questions).", HIGHER,
               SHARE, (QA,), BOOTSTRAP),
    MetricInfo("perturb", "f1_drop", "original_f1 minus perturbed_f1, question by question (mean of the paired "
               "differences).", LOWER, "score difference", (QA,), BOOTSTRAP),
    MetricInfo("perturb", "answer_change_rate", "Share of the test questions whose answer the perturbation changed "
               "(compared after SQuAD's normalisation).", LOWER, SHARE, (QA,), WILSON),
    MetricInfo("perturb", "changed_example_rate", "Share of the test questions the augmenter changed at all (the "
               "question, the context or both, as the augmenter's `pair_target` says).", NEITHER, SHARE, (QA,)),
    # --------------------------------------------------------------------------------------------- explain
    MetricInfo("explain", "explained_examples", "Examples (sentences, for NER; questions, for QA) explained.", NEITHER,
               COUNT),
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
    MetricInfo("explain", "mean_abs_convergence_delta", "Mean |completeness error| of the answers' attributions "
               "(their sum minus the change of the explained start + end logit from the all-pad baseline).", LOWER,
               "model output", (QA,), when="the explainer is integrated-gradients"),
    MetricInfo("explain", "answer_faithfulness_top_drop", "Drop of the explained score (the answer's start + end "
               "logit; the null score where the model abstains) when the k top-scored words outside the answer are "
               "masked, question and context words alike (k: 20% of the words, at least 1); mean over the "
               "questions.", HIGHER, "logit difference", (QA,), BOOTSTRAP, _FAITHFULNESS),
    MetricInfo("explain", "answer_faithfulness_random_drop", "The same drop when k random words outside the answer "
               "are masked: the chance level.", NEITHER, "logit difference", (QA,), BOOTSTRAP, _FAITHFULNESS),
    MetricInfo("explain", "answer_faithfulness_gain", "Top-scored drop minus random drop: how much better than chance "
               "the attributions find the words the answer rests on.", HIGHER, "logit difference", (QA,), BOOTSTRAP,
               _FAITHFULNESS),
    MetricInfo("explain", f"attribution_rank_stability/{ATTACK}", "Correlation of the scores of the context words "
               "a question's explanation shares with its explanation under the attack's (named after the slash) "
               "distractor, mean over the questions (those with fewer than 2 shared words or constant scores left "
               "out).", HIGHER, CORRELATION, (QA,), BOOTSTRAP, _QA_STABILITY),
    MetricInfo("explain", f"distractor_attribution_share/{ATTACK}", "Share of the absolute attribution mass of the "
               "explanation under the attack's (named after the slash) distractor that falls on the distractor's "
               "words, mean over the questions: a model the distractor fools tends to attend to it.", LOWER, SHARE,
               (QA,), BOOTSTRAP, _QA_STABILITY),
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
    RecordFile("evaluate", "predictions", "a test question: example_id, question, context, gold_answers (text, "
               "start), "
               "predicted_answer, predicted_start, predicted_end, score, null_score, exact_match, f1", (QA,)),
    RecordFile("attack", "attack", "an attacked example (`AttackRecord` fields)", (SEQUENCE,)),
    RecordFile("attack", "ner-attack", "an attacked sentence (`NerAttackRecord` fields)", (TOKEN,)),
    RecordFile("attack", "qa-attack", "a question of the attack sample: strategy, example_id, status (attacked or "
               "skipped) and reason, question, context (with the distractor where attacked); an attacked one also "
               "distractor, distractor_start, distractor_end, fake_answer, gold_answers (offsets in the attacked "
               "context), answer_before and answer_after with their characters in the attacked context, "
               "exact_match_before, f1_before, exact_match_after, f1_after, in_distractor, answer_changed", (QA,)),
    RecordFile("judge", "verdicts", "a successful adversarial example: example_id, verdicts (judge -> accepted, "
               "score, detail) and valid", (SEQUENCE,)),
    RecordFile("rating", "ratings", "a rated adversarial example: example_id, valid, comment and, where judged, the "
               "judges' verdicts", (SEQUENCE,)),
    RecordFile("perturb", "perturb", "a test example: example_id, original_text, perturbed_text (and the pair's "
               "original_text_pair, perturbed_text_pair), label, original_prediction, perturbed_prediction",
               (SEQUENCE,)),
    RecordFile("perturb", "ner-perturb", "a test sentence: original and perturbed tokens, gold tags and predicted "
               "tags, and its entities before and after", (TOKEN,)),
    RecordFile("perturb", "qa-perturb", "a test question: example_id, target (question, context or both), changed, "
               "original and perturbed question and context, gold_answers and perturbed_gold_answers (text, start), "
               "answer_before and answer_after with their characters, exact_match_before, f1_before, "
               "exact_match_after, f1_after, answer_changed", (QA,)),
    RecordFile("explain", "attributions", "an explained example (`WordAttribution` fields)", (SEQUENCE,)),
    RecordFile("explain", "stability", "an example and its adversarial version: attack, texts, words, scores and "
               "targets of both explanations", (SEQUENCE,), "stability pairs were compared"),
    RecordFile("explain", "entity-attributions", "an explained entity (`EntityAttribution` fields)", (TOKEN,)),
    RecordFile("explain", "entity-faithfulness", "a scored entity: the words masked and the probabilities",
               (TOKEN,), "the explainer's `faithfulness` is on"),
    RecordFile("explain", "qa-attributions", "an explained question (`AnswerAttribution` fields)", (QA,)),
    RecordFile("explain", "qa-faithfulness", "a scored question: example_id, answer, k, the top-scored and the "
               "random words masked (top_words, top_positions, random_words, random_positions), score, "
               "score_without_top, score_without_random, top_drop, random_drop", (QA,),
               "the explainer's `faithfulness` is on"),
    RecordFile("explain", "qa-stability", "a question explained with and without an attack's distractor: attack, "
               "example_id, inserted (the distractor's characters), paired_words, rank_stability, "
               "distractor_share, clean_answer, attacked_answer", (QA,),
               "the explainer's `stability` is on and an attack of the cell inserted a distractor into an explained "
               "question"),
)
