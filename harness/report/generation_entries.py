"""The metric catalog's entries for the text generation kind (harness.kinds.generation): its evaluate, attack
(adversarial prompts), perturb and explain metrics and record files. harness.report.metric_catalog adds them to the
entries of harness.report.metric_entries; this module only declares."""

from __future__ import annotations

from harness.report.metric_entries import (
    BOOTSTRAP,
    COUNT,
    GENERATION,
    HIGHER,
    LOWER,
    NEITHER,
    SHARE,
    WILSON,
    MetricInfo,
    RecordFile,
)

KINDS = (GENERATION,)
SACREBLEU_POINTS = "sacreBLEU points (0-100)"
HEADLINE = "headline metric's unit (the task's `metric`)"
_CHOICES = "the task has choices (a classification task posed as a prompt)"
_HARNESS_LOOP = "trained by the harness's loop"
_FAITHFULNESS = "the explainer's `faithfulness` is on"

_SCORES = (
    ("bleu", "Corpus BLEU of the outputs against their references, exactly as sacreBLEU computes it with its "
     "defaults (13a tokenisation, exponential smoothing; several references where an example has them); the "
     "signature is in the stage's metric-signatures records.", SACREBLEU_POINTS, BOOTSTRAP, ""),
    ("chrf", "Corpus chrF (character 6-grams, beta 2) as sacreBLEU computes it.", SACREBLEU_POINTS, BOOTSTRAP, ""),
    ("rouge1", "ROUGE-1 F-measure as rouge-score computes it (Porter stemmer; best reference), mean over the "
     "examples.", SHARE, BOOTSTRAP, ""),
    ("rouge2", "ROUGE-2 F-measure as rouge-score computes it, mean over the examples.", SHARE, BOOTSTRAP, ""),
    ("rougeL", "ROUGE-L (longest common subsequence) F-measure as rouge-score computes it, mean over the examples.",
     SHARE, BOOTSTRAP, ""),
    ("exact_match", "Share of the outputs equal to a reference (surrounding blanks stripped, inner runs of blanks "
     "collapsed; case counts).", SHARE, WILSON, ""),
    ("accuracy", "Share of the outputs read as the example's label word (verbaliser accuracy: the output, "
     "lower-cased and stripped of punctuation, starts with the word).", SHARE, WILSON, _CHOICES),
    ("unparsed_rate", "Share of the outputs read as none of the label words.", SHARE, WILSON, _CHOICES),
)
"""(name, meaning, unit, interval, when) of what harness.core.text_metrics.generation_metrics writes."""


def _directed(name: str) -> str:
    return LOWER if name == "unparsed_rate" else HIGHER


METRICS = (
    MetricInfo("finetune", "best_validation_score", "Best validation score over the epochs, in the task's headline "
               "metric (`metric`: chrf, bleu, rouge*, exact_match or accuracy) of greedy outputs.", HIGHER, HEADLINE,
               KINDS, when="a validation split was scored"),
    MetricInfo("finetune", "train_score", "The headline metric of the kept weights on a sample of the training "
               "split.", NEITHER, HEADLINE, KINDS, when=_HARNESS_LOOP),
    *(MetricInfo("evaluate", name, meaning, _directed(name), unit, KINDS, interval, when)
      for name, meaning, unit, interval, when in _SCORES),
    MetricInfo("evaluate", "mean_output_tokens", "Tokens generated per output (EOS not counted), mean over the test "
               "split.", NEITHER, "tokens", KINDS),
    MetricInfo("evaluate", "cut_output_rate", "Share of the outputs that reached `max_new_tokens` without ending: "
               "raise it if this is not 0.", LOWER, SHARE, KINDS, WILSON),
    *(MetricInfo("attack", f"attacked_{name}", f"{name} of the attack sample's outputs under the adversarial "
                 f"instruction.", _directed(name), unit, KINDS, interval, when)
      for name, _, unit, interval, when in _SCORES),
    MetricInfo("attack", "original_score", "The headline metric of the attack sample's outputs under the task's "
               "instruction.", HIGHER, HEADLINE, KINDS),
    MetricInfo("attack", "score_drop", "original_score minus the headline metric under the adversarial instruction, "
               "on the examples the search optimised over (PromptBench's protocol); paired bootstrap interval.",
               LOWER, HEADLINE, KINDS, BOOTSTRAP),
    MetricInfo("attack", "score_drop_p_value", "p-value of the paired bootstrap test that the adversarial "
               "instruction changes the headline metric.", NEITHER, "p-value", KINDS),
    MetricInfo("attack", "performance_drop_rate", "PromptBench's performance drop rate (PDR): score_drop / "
               "original_score, the headline robustness number of an adversarial prompt.", LOWER, SHARE, KINDS,
               when="original_score is not 0"),
    MetricInfo("attack", "output_change_rate", "Share of the attack sample whose output the adversarial instruction "
               "changed.", LOWER, SHARE, KINDS, WILSON),
    MetricInfo("attack", "candidate_instructions", "Instructions the search scored (each costs one generation per "
               "example of the attack sample, less what the cache holds): the attack's cost.", LOWER, COUNT, KINDS),
    MetricInfo("attack", "instruction_changed", "1 when the search found an instruction that lowers the score, else "
               "0 (the original instruction is kept).", NEITHER, COUNT, KINDS),
    *(MetricInfo("perturb", f"perturbed_{name}", f"{name} of the outputs for the perturbed inputs (or instructions), "
                 f"against the same references.", _directed(name), unit, KINDS, interval, when)
      for name, _, unit, interval, when in _SCORES),
    MetricInfo("explain", "mean_abs_convergence_delta", "Mean |completeness error| of the outputs' attributions (their "
               "sum minus the change of the output's log-probability from the all-pad baseline).", LOWER,
               "log-probability", KINDS, when="the explainer is integrated-gradients"),
    MetricInfo("explain", "instruction_attribution_share", "Share of the attributions' absolute mass on the "
               "instruction's words (the rest on the input and the template), mean over the explained outputs.",
               NEITHER, SHARE, KINDS, BOOTSTRAP, "the task has an instruction"),
    MetricInfo("explain", "output_faithfulness_top_drop", "Drop of the explained output's log-probability when the "
               "top 20% of the prompt's words by attribution are replaced by padding, mean over the outputs.", HIGHER,
               "log-probability", KINDS, BOOTSTRAP, _FAITHFULNESS),
    MetricInfo("explain", "output_faithfulness_random_drop", "The same drop for as many random words (seeded): the "
               "chance level.", NEITHER, "log-probability", KINDS, BOOTSTRAP, _FAITHFULNESS),
    MetricInfo("explain", "output_faithfulness_gain", "output_faithfulness_top_drop minus the random drop: above 0 "
               "when the attributions find the words the output rests on.", HIGHER, "log-probability", KINDS,
               BOOTSTRAP, _FAITHFULNESS),
    MetricInfo("perturb", "original_score", "The headline metric of the outputs for the original test split.",
               HIGHER, HEADLINE, KINDS),
    MetricInfo("perturb", "score_drop", "original_score minus the headline metric of the perturbed outputs; its "
               "interval is sacreBLEU's paired bootstrap (both systems scored on the same resamples).", LOWER,
               HEADLINE, KINDS, BOOTSTRAP),
    MetricInfo("perturb", "score_drop_p_value", "p-value of the paired bootstrap test (sacreBLEU's PairedTest, "
               "Koehn 2004) that the perturbation changes the headline metric.", NEITHER, "p-value", KINDS),
    MetricInfo("perturb", "performance_drop_rate", "PromptBench's performance drop rate: score_drop / "
               "original_score.", LOWER, SHARE, KINDS, when="original_score is not 0"),
    MetricInfo("perturb", "output_change_rate", "Share of the examples whose output changed (compared after "
               "collapsing blanks).", LOWER, SHARE, KINDS, WILSON),
    MetricInfo("perturb", "changed_example_rate", "Share of the test examples the perturbation changed (input or "
               "instruction, as its `pair_target` says).", NEITHER, SHARE, KINDS),
)

RECORD_FILES = (
    RecordFile("explain", "generation-attributions", "an explained output (`OutputAttribution`): example_id, output, "
               "the prompt's words, their segments (instruction, input, template), scores, target_log_prob, method, "
               "convergence_delta", KINDS),
    RecordFile("explain", "generation-faithfulness", "an explained output: its top and random words, log_prob, "
               "top_drop, random_drop", KINDS, "the explainer's `faithfulness` is on"),
    RecordFile("attack", "prompt-attack", "an instruction the search scored, in order: instruction, score, step (why "
               "it was tried), kept", KINDS),
    RecordFile("attack", "prompt-attack-outputs", "an example of the attack sample: input, references, original and "
               "adversarial instruction, output before and after, output_changed", KINDS),
    RecordFile("evaluate", "generations", "an example: id, input, prompt (as the model read it, chat template "
               "included), references, output, output_tokens, sentence-level bleu, chrf, rouge1, rouge2, rougeL, "
               "exact_match (and correct, with choices)", KINDS),
    RecordFile("evaluate", "metric-signatures", "a metric and its signature (sacreBLEU's, or rouge-score's settings "
               "and version)", KINDS),
    RecordFile("perturb", "generation-perturb", "an example: what was perturbed (input or instruction), whether it "
               "changed, original and perturbed input and instruction, references, output before and after, "
               "output_changed", KINDS),
)
