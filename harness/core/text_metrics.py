"""The metrics of generated text (the text generation kind's, and `harness compare`'s paired tests of it): BLEU and
chrF exactly as sacreBLEU computes them, ROUGE as Google's rouge-score computes it, exact match, and for a
classification task posed as a prompt the share of right choices; each with a 95% interval, and a paired test of two
systems on the same examples.

Why these implementations and not our own: a BLEU of 27.3 means something only when it is sacreBLEU's BLEU with
its signature (Post 2018, "A Call for Clarity in Reporting BLEU Scores"), so the scores come from sacreBLEU's own
statistics functions, and every score's signature is returned beside it.

- `bleu` and `chrf` are corpus scores on sacreBLEU's 0-100 scale (the scale every paper, leaderboard and signature
  uses; unlike the rest of the harness's shares in [0, 1]), with sacreBLEU's defaults (`BLEU()`, `CHRF()`).
  Examples may have different numbers of references: sacreBLEU takes references as streams (stream j holds every
  example's j-th reference) and drops a `None` in a stream as "no j-th reference here", which is how its API is
  documented to take a variable count (mjpost/sacrebleu#132). An empty string is not dropped: it is a real, empty
  reference (mjpost/sacrebleu#161) that BLEU's brevity penalty may pick as the closest length, so the streams here
  are padded with `None`, never "". The signature then says `nrefs:var`.
- Their intervals are sacreBLEU's bootstrap (`corpus_score(n_bootstrap=...)`): resample the examples with
  replacement, recompute the corpus score from the resampled sentence statistics (float32, as sacreBLEU sums them),
  and take the 1/40-th order statistics from either end of the sorted scores. The indices come from
  `numpy.random.default_rng(seed).choice`, as sacreBLEU draws them from `SACREBLEU_SEED`, so an interval here is the
  one sacreBLEU computes with `SACREBLEU_SEED=seed`; the signature then carries `bs:` and `seed:` as sacreBLEU's does.
- `rouge1`, `rouge2`, `rougeL` are the mean over examples of rouge-score's F-measure (`use_stemmer=True`; with
  several references the best one, `score_multi`), in [0, 1]. rouge-score's default tokenizer keeps only the ASCII
  letters and digits of lower-cased text, so outputs in a non-Latin script score 0: use chrF for them. Their
  intervals are the harness's percentile bootstrap of a mean (harness.core.statistics.bootstrap_metric), drawn from
  the same resampled examples as BLEU's, so for the default 1000 resamples they equal bootstrap_metric's.
- `exact_match`, `accuracy` and `unparsed_rate` are yes/no outcomes per example and get Wilson intervals.

`paired_significance` is sacreBLEU's paired bootstrap test (`PairedTest(test_type="bs")`, after Koehn 2004): both
systems are scored on the same resamples; the statistic is the absolute difference of the resampled scores, shifted
to mean zero (the null hypothesis), and the p-value is (1 + the resamples whose shifted statistic exceeds the observed
absolute difference) / (1 + resamples). One deliberate departure: when the two systems' per-example statistics are
identical, every resample's difference is 0, the observed one too, and sacreBLEU's strict "exceeds" makes p =
1 / (resamples + 1), the smallest p-value the test can give, for a system compared with itself; here p = 1 there.
sacreBLEU's PairedTest seeds its generator with `SACREBLEU_SEED` but treats 0 as "no seed" (fresh entropy), so its
p-values equal these for any seed but 0.
"""

from __future__ import annotations

import importlib.metadata
import string
from dataclasses import dataclass
from typing import TYPE_CHECKING, Optional, Sequence

import numpy as np

from harness.core.statistics import CONFIDENCE, proportion_metric
from harness.core.types import Metric

if TYPE_CHECKING:
    from sacrebleu.metrics.base import Metric as SacreMetric

METRICS = ("bleu", "chrf", "rouge1", "rouge2", "rougeL", "exact_match", "accuracy")
"""The headline metrics a task may choose: what the validation score that picks the best epoch is, and what an
adversarial prompt attacks. Every evaluation reports all that apply (accuracy only for a task with choices)."""
SACREBLEU_METRICS = ("bleu", "chrf")
ROUGE_TYPES = ("rouge1", "rouge2", "rougeL")
PAIRED_METHOD = "paired bootstrap resampling (Koehn 2004), as sacreBLEU"


@dataclass(frozen=True)
class PairedResult:
    """Two systems compared on the same examples: is system b's score different from system a's by more than the
    choice of test examples explains?"""

    metric: str
    score_a: float
    score_b: float
    difference: float
    """score_b - score_a."""
    ci_low: float
    ci_high: float
    """The 95% bootstrap interval of the difference (b - a), order statistics as sacreBLEU takes them."""
    p_value: float
    """Two-sided: the chance of a difference at least this large if the systems were equally good."""
    n: int
    """Examples compared."""
    resamples: int
    method: str = PAIRED_METHOD


def generation_metrics(outputs: Sequence[str], references: Sequence[Sequence[str]], choices: tuple[str, ...] = (),
                       seed: int = 0, n_bootstrap: int = 1000) -> tuple[list[Metric], dict[str, str]]:
    """The metrics of a corpus of `outputs` against their `references` (each example's acceptable outputs, one or
    more), and the signature of each sacreBLEU and ROUGE metric (metric name -> signature string).

    `bleu`, `chrf`, `rouge1`, `rouge2`, `rougeL` and `exact_match` always; `accuracy` and `unparsed_rate` (outputs
    read as none of the choices) when `choices` are given (see the module docstring for how each is computed). An
    empty corpus gives NaN metrics with n = 0 and no signature (nothing was scored); a single example gives no
    bootstrap interval."""
    checked = checked_references(outputs, references)
    _check_resamples(n_bootstrap)
    names = list(SACREBLEU_METRICS + ROUGE_TYPES) + ["exact_match"] + (["accuracy", "unparsed_rate"] if choices else [])
    if not outputs:
        return [Metric(name, float("nan"), None, None, 0) for name in names], {}
    resamples = _resample_indices(len(outputs), seed, n_bootstrap)
    metrics: list[Metric] = []
    signatures: dict[str, str] = {}
    for name, scorer in _sacrebleu_scorers().items():
        stats = scorer._extract_corpus_statistics(list(outputs), reference_streams(checked))
        low, high = (None, None) if resamples is None else _order_interval(_resampled_scores(scorer, stats, resamples))
        metrics.append(Metric(name, float(scorer._aggregate_and_compute(stats).score), low, high, len(outputs)))
        signature = scorer.get_signature()
        if resamples is not None:
            signature.update("bs", n_bootstrap)
            signature.update("seed", str(seed).lower())
        signatures[name] = signature.format()
    scores = _example_scores(outputs, checked, choices)
    for name in ROUGE_TYPES:
        metrics.append(_mean_metric(name, scores[name], resamples))
        signatures[name] = rouge_signature(checked)
    metrics.append(proportion_metric("exact_match", scores["exact_match"].astype(int).tolist()))
    if choices:
        metrics.append(proportion_metric("accuracy", scores["accuracy"].astype(int).tolist()))
        metrics.append(proportion_metric("unparsed_rate", scores["unparsed"].astype(int).tolist()))
    return metrics, signatures


def corpus_score(metric: str, outputs: Sequence[str], references: Sequence[Sequence[str]],
                 choices: tuple[str, ...] = ()) -> float:
    """One corpus-level score without an interval, as generation_metrics computes it: what the training loop's
    validation and an attack's goal need, many times over (no resampling)."""
    checked = checked_references(outputs, references)
    if not outputs:
        return float("nan")
    if metric in SACREBLEU_METRICS:
        scorer = _sacrebleu_scorers()[metric]
        return float(scorer.corpus_score(list(outputs), reference_streams(checked)).score)
    if metric == "accuracy" and not choices:
        raise ValueError("metric 'accuracy' needs choices")
    if metric not in ROUGE_TYPES + ("exact_match", "accuracy"):
        raise ValueError(f"unknown metric {metric!r}")
    return float(_example_scores(outputs, checked, choices)[metric].mean())


def sentence_scores(outputs: Sequence[str], references: Sequence[Sequence[str]],
                    choices: tuple[str, ...] = ()) -> list[dict[str, float]]:
    """Each example's own scores, for the per-example records: `chrf` (sacreBLEU's sentence chrF), `bleu`
    (sacreBLEU's sentence BLEU, with effective order as sacreBLEU recommends for single sentences), `rouge1`,
    `rouge2`, `rougeL` (F-measures, best reference), `exact_match` (0/1) and, with `choices`, `correct` (0/1).

    Sentence BLEU and chrF are for reading single examples: their mean is not the corpus score."""
    from sacrebleu.metrics import BLEU, CHRF

    checked = checked_references(outputs, references)
    bleu, chrf = BLEU(effective_order=True), CHRF()
    scores = _example_scores(outputs, checked, choices)
    records = []
    for index, (output, refs) in enumerate(zip(outputs, checked)):
        record = {"bleu": float(bleu.sentence_score(output, list(refs)).score),
                  "chrf": float(chrf.sentence_score(output, list(refs)).score)}
        record.update({name: float(scores[name][index]) for name in ROUGE_TYPES})
        record["exact_match"] = float(scores["exact_match"][index])
        if choices:
            record["correct"] = float(scores["accuracy"][index])
        records.append(record)
    return records


def paired_significance(outputs_a: Sequence[str], outputs_b: Sequence[str], references: Sequence[Sequence[str]],
                        metric: str, seed: int = 0, n_bootstrap: int = 1000,
                        choices: tuple[str, ...] = ()) -> PairedResult:
    """Whether system b's `metric` differs from system a's on the same examples (b - a), by sacreBLEU's paired
    bootstrap test (see the module docstring). `metric` is one of METRICS; `accuracy` needs `choices`.

    BLEU and chrF are recomputed from each resample's sentence statistics, as sacreBLEU does; the other metrics are
    means of per-example scores, resampled the same way and tested with the same p-value."""
    if metric not in METRICS:
        raise ValueError(f"metric {metric!r} is not one of {', '.join(METRICS)}")
    if metric == "accuracy" and not choices:
        raise ValueError("metric 'accuracy' needs choices (the label words the outputs are read as)")
    if len(outputs_a) != len(outputs_b):
        raise ValueError(f"system a has {len(outputs_a)} outputs and system b {len(outputs_b)}: a paired test "
                         f"compares the two systems' outputs for the same examples")
    checked = checked_references(outputs_a, references)
    checked_references(outputs_b, references)
    _check_resamples(n_bootstrap)
    if not outputs_a:
        raise ValueError("no outputs to compare: a paired test needs at least one example")
    indices = np.random.default_rng(seed).choice(len(outputs_a), size=(n_bootstrap, len(outputs_a)), replace=True)
    if metric in SACREBLEU_METRICS:
        scorer = _sacrebleu_scorers()[metric]
        streams = reference_streams(checked)
        stats_a = scorer._extract_corpus_statistics(list(outputs_a), streams)
        stats_b = scorer._extract_corpus_statistics(list(outputs_b), streams)
        score_a = float(scorer._aggregate_and_compute(stats_a).score)
        score_b = float(scorer._aggregate_and_compute(stats_b).score)
        resampled_a = _resampled_scores(scorer, stats_a, indices)
        resampled_b = _resampled_scores(scorer, stats_b, indices)
        identical = np.array_equal(np.asarray(stats_a), np.asarray(stats_b))
    else:
        values_a = _example_scores(outputs_a, checked, choices)[metric]
        values_b = _example_scores(outputs_b, checked, choices)[metric]
        score_a, score_b = float(values_a.mean()), float(values_b.mean())
        resampled_a, resampled_b = values_a[indices].mean(axis=1), values_b[indices].mean(axis=1)
        identical = np.array_equal(values_a, values_b)
    low, high = _order_interval(resampled_b - resampled_a)
    p_value = 1.0 if identical else paired_bootstrap_p_value(resampled_a, resampled_b, abs(score_a - score_b))
    return PairedResult(metric, score_a, score_b, score_b - score_a, low, high, p_value, len(outputs_a),
                        n_bootstrap)


def paired_bootstrap_p_value(resampled_a: np.ndarray, resampled_b: np.ndarray, observed: float) -> float:
    """sacreBLEU's p-value of a paired bootstrap (significance._paired_bs_test and _compute_p_value): the resampled
    absolute differences, shifted to mean zero so that they sample the null hypothesis, exceed the `observed`
    absolute difference in c of the n resamples; p = (c + 1) / (n + 1), the +1 keeping the test's false rejections
    within its level for few resamples."""
    sample = np.abs(np.asarray(resampled_b) - np.asarray(resampled_a))
    exceeding = int(np.sum(sample - sample.mean() > observed))
    return (exceeding + 1) / (len(sample) + 1)


def checked_references(outputs: Sequence[str], references: Sequence[Sequence[str]]) -> list[tuple[str, ...]]:
    """Each example's references as a tuple, after checking that the corpus is one: an output per example, every
    example with at least one reference, and texts everywhere (sacreBLEU would silently zip away extra examples, and
    a string given as an example's references would be read as one reference per character)."""
    if isinstance(outputs, str) or isinstance(references, str):
        raise TypeError("outputs and references are sequences (one entry per example), not a single string")
    if len(outputs) != len(references):
        raise ValueError(f"{len(outputs)} outputs but {len(references)} examples' references: every output is "
                         f"scored against the references of its own example, so the two must have the same length")
    checked = []
    for index, (output, refs) in enumerate(zip(outputs, references)):
        if not isinstance(output, str):
            raise TypeError(f"output {index} is {type(output).__name__}, not a text (an empty output is '')")
        if isinstance(refs, str):
            raise TypeError(f"the references of example {index} are a string ({refs[:40]!r}); give each example's "
                            f"references as a sequence of texts, e.g. [{refs[:20]!r}]")
        refs = tuple(refs)
        if not refs:
            raise ValueError(f"example {index} has no reference: every output is scored against at least one")
        bad = [position for position, ref in enumerate(refs) if not isinstance(ref, str)]
        if bad:
            raise TypeError(f"reference {bad[0]} of example {index} is {type(refs[bad[0]]).__name__}, not a text")
        checked.append(refs)
    return checked


def reference_streams(references: Sequence[tuple[str, ...]]) -> list[list[Optional[str]]]:
    """The references as sacreBLEU takes them: stream j holds every example's j-th reference, None where an example
    has fewer than j + 1 (sacreBLEU drops None and keeps "" as a real empty reference)."""
    width = max(len(refs) for refs in references)
    return [[refs[j] if j < len(refs) else None for refs in references] for j in range(width)]


def rouge_signature(references: Sequence[tuple[str, ...]]) -> str:
    """How the ROUGE scores were computed, in sacreBLEU's signature style, so that a ROUGE score can be reproduced:
    the reference count (`var` when it varies), rouge-score's version and settings, how several references and the
    examples are combined."""
    counts = {len(refs) for refs in references}
    nrefs = str(counts.pop()) if len(counts) == 1 else "var"
    version = importlib.metadata.version("rouge-score")
    return (f"nrefs:{nrefs}|stemmer:yes|tokenizer:default|multiref:max-fmeasure|agg:mean-fmeasure|"
            f"version:rouge-score-{version}")


def normalized_text(text: str) -> str:
    """An output or reference as exact match compares it: surrounding blanks stripped, inner runs of blanks
    collapsed to one space, case kept (a generation task's casing is part of its answer)."""
    return " ".join(text.split())


def _sacrebleu_scorers() -> dict[str, SacreMetric]:
    # sacreBLEU's defaults, fresh per call: a scorer keeps state (its reference count) that its signature reads.
    from sacrebleu.metrics import BLEU, CHRF

    return {"bleu": BLEU(), "chrf": CHRF()}


def _example_scores(outputs: Sequence[str], references: Sequence[tuple[str, ...]],
                    choices: tuple[str, ...]) -> dict[str, np.ndarray]:
    """Per-example ROUGE F-measures (best reference), exact match and, with choices, right and unparsed choices."""
    from rouge_score import rouge_scorer

    scorer = rouge_scorer.RougeScorer(list(ROUGE_TYPES), use_stemmer=True)
    rouge = [scorer.score_multi(list(refs), output) for output, refs in zip(outputs, references)]
    scores = {name: np.array([row[name].fmeasure for row in rouge], dtype=np.float64) for name in ROUGE_TYPES}
    scores["exact_match"] = np.array(
        [any(normalized_text(output) == normalized_text(ref) for ref in refs)
         for output, refs in zip(outputs, references)], dtype=np.float64)
    if choices:
        read = [read_choice(output, choices) for output in outputs]
        scores["accuracy"] = np.array(
            [choice is not None and choice.strip().lower() == refs[0].strip().lower()
             for choice, refs in zip(read, references)], dtype=np.float64)
        scores["unparsed"] = np.array([choice is None for choice in read], dtype=np.float64)
    return scores


def _check_resamples(n_bootstrap: int) -> None:
    if isinstance(n_bootstrap, bool) or not isinstance(n_bootstrap, int) or n_bootstrap < 1:
        raise ValueError(f"n_bootstrap must be a positive number of resamples, got {n_bootstrap!r}")


def _resample_indices(size: int, seed: int, n_bootstrap: int) -> Optional[np.ndarray]:
    """The examples of every bootstrap resample (one row each), drawn as sacreBLEU's _bootstrap_resample draws them;
    None for a single example, whose resamples are all the same."""
    if size < 2:
        return None
    return np.random.default_rng(seed).choice(size, size=(n_bootstrap, size), replace=True)


def _resampled_scores(scorer: SacreMetric, stats: Sequence[Sequence[float]], indices: np.ndarray) -> np.ndarray:
    """The corpus score of each resample, from the summed sentence statistics, summed in float32 as sacreBLEU sums
    them (so that the scores, and the intervals taken from them, are sacreBLEU's to the last bit)."""
    stats_array = np.array(stats, dtype="float32")
    return np.array([scorer._compute_score_from_stats(stats_array[row].sum(0)).score for row in indices],
                    dtype=np.float64)


def _order_interval(scores: np.ndarray) -> tuple[float, float]:
    """sacreBLEU's 95% interval of bootstrap scores (Score.estimate_ci): the (n // 40)-th smallest and largest."""
    ordered = np.sort(np.asarray(scores, dtype=np.float64))
    lower = len(ordered) // 40
    return float(ordered[lower]), float(ordered[len(ordered) - lower - 1])


def _mean_metric(name: str, values: np.ndarray, indices: Optional[np.ndarray]) -> Metric:
    """The mean of per-example scores with bootstrap_metric's percentile interval, over the given resamples."""
    if indices is None:
        return Metric(name, float(values.mean()), None, None, len(values))
    estimates = values[indices].mean(axis=1)
    low, high = np.nanpercentile(estimates, [(1 - CONFIDENCE) / 2 * 100, (1 + CONFIDENCE) / 2 * 100])
    return Metric(name, float(values.mean()), float(low), float(high), len(values))


def read_choice(output: str, choices: tuple[str, ...]) -> Optional[str]:
    """The choice an output gives (a classification task posed as a prompt), or None when it gives none.

    The output is read as PromptBench reads it: lower-cased and stripped of surrounding blanks and punctuation, it
    must start with the choice's word (so "Positive." and "positive, clearly" read as "positive"); where choices
    share a prefix the longest that fits wins."""
    said = output.strip().strip(string.punctuation + " \n\t").lower()
    fitting = [choice for choice in choices if _starts_with_word(said, choice.strip().lower())]
    return max(fitting, key=len) if fitting else None


def _starts_with_word(text: str, word: str) -> bool:
    return text.startswith(word) and (len(text) == len(word) or not text[len(word)].isalnum())
