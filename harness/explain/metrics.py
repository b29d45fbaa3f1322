"""Metrics that judge word-level explanations: faithfulness, plausibility and stability under attack.

Faithfulness (does the model actually rely on the words the explanation ranks highest?):
  * comprehensiveness and sufficiency, averaged over several top-k fractions (AOPC), as in ERASER
    (DeYoung et al., 2020, "ERASER: A Benchmark to Evaluate Rationalized NLP Models"):
    comprehensiveness = p(target|x) - p(target|x without the top-k words)  (higher = more faithful);
    sufficiency       = p(target|x) - p(target|only the top-k words)       (lower = more faithful).
  * log-odds drop when the top 20% of words are removed (Shrikumar et al., 2017, "Learning Important Features
    Through Propagating Activation Differences"; Chen et al., 2019, "L-Shapley and C-Shapley").
  * leave-one-out agreement: the Spearman correlation between the attribution scores and the effect of
    occluding each single word, p(target|x) - p(target|x without word i).

Plausibility (do the scores agree with human rationales?), from ERASER: token-level F1, IOU F1 over contiguous
spans, and the area under the precision-recall curve (average precision) of the scores against the rationale.

Stability: how much an explanation changes between an example and its adversarial version, on the words
the two texts share (rank correlation and top-k overlap).

Functions take plain sequences (text, character spans, scores, target), not harness dataclasses, so they can
be used on attributions from any source. Every per-example average is reported with a bootstrap CI.

Sentence pairs: a text may be a (text, text_pair) tuple, with the segment of each word (0 or 1) and spans
relative to that segment; words are then removed from (or kept in) the segment they belong to, and a segment
with no word removed is passed on verbatim.
"""

from __future__ import annotations

import difflib
import math
from typing import Optional, Protocol, Sequence, Union

import numpy as np
from scipy.stats import spearmanr

from harness.core.statistics import bootstrap_metric
from harness.core.types import Metric

Span = tuple[int, int]
Text = Union[str, tuple[str, str]]
"""A single text, or a (text, text_pair) sentence pair."""
DEFAULT_BINS = (0.01, 0.05, 0.1, 0.2, 0.5)
LOG_ODDS_FRACTION = 0.2
PROBABILITY_CLIP = 1e-6
IOU_MATCH_THRESHOLD = 0.5


class Predictor(Protocol):
    def probabilities(self, texts: Sequence[Text]) -> np.ndarray: ...


def _check_indices(indices: set[int], word_count: int) -> None:
    bad = sorted(index for index in indices if not 0 <= index < word_count)
    if bad:
        raise ValueError(f"word indices {bad} out of range for {word_count} words")


def text_without_words(text: str, spans: Sequence[Span], drop: set[int]) -> str:
    """`text` with the words at `drop` deleted. Everything else, text outside every span (e.g. a tail the
    explainer truncated) included, is kept as it was apart from the whitespace around each deletion, so the
    model sees the deletion and nothing more."""
    _check_indices(drop, len(spans))
    pieces: list[str] = []
    position = 0
    for start, end in sorted(spans[index] for index in drop):
        pieces.append(text[position:start])
        position = end
    pieces.append(text[position:])
    result = pieces[0]
    for piece in pieces[1:]:
        # A deleted word leaves exactly one space, so its neighbours never fuse into a new word ("x,y" -> "x y")
        # and the whitespace on both sides of it does not add up to a double space.
        result = result.rstrip() + " " + piece.lstrip()
    return result.strip()


def text_with_only_words(text: str, spans: Sequence[Span], keep: set[int]) -> str:
    """Only the words at `keep`, in text order; "" when nothing is kept."""
    _check_indices(keep, len(spans))
    result = ""
    previous: Optional[int] = None
    for index in sorted(keep):
        start, end = spans[index]
        if previous is not None:
            # Words that touched in the text ("bad" + ".") stay touching; anything else is one space apart.
            touching = index == previous + 1 and not any(c.isspace() for c in text[spans[previous][1]:start])
            result += "" if touching else " "
        result += text[start:end]
        previous = index
    return result


def pair_without_words(texts: Sequence[str], spans: Sequence[Span], segments: Sequence[int],
                       drop: set[int]) -> tuple[str, ...]:
    """`text_without_words` on each segment of a pair: word i (of any segment) is removed from segment
    segments[i]; a segment that loses no word is kept verbatim."""
    return _per_segment(texts, spans, segments, drop, text_without_words, keep_untouched=True)


def pair_with_only_words(texts: Sequence[str], spans: Sequence[Span], segments: Sequence[int],
                         keep: set[int]) -> tuple[str, ...]:
    """`text_with_only_words` on each segment of a pair ("" for a segment none of whose words is kept)."""
    return _per_segment(texts, spans, segments, keep, text_with_only_words, keep_untouched=False)


def _per_segment(texts: Sequence[str], spans: Sequence[Span], segments: Sequence[int], chosen: set[int], edit,
                 keep_untouched: bool) -> tuple[str, ...]:
    if len(segments) != len(spans):
        raise ValueError(f"{len(spans)} spans but {len(segments)} segment indices")
    _check_indices(chosen, len(spans))
    results = []
    for segment, text in enumerate(texts):
        members = [index for index in range(len(spans)) if segments[index] == segment]
        local = {position for position, index in enumerate(members) if index in chosen}
        if keep_untouched and not local:
            results.append(text)
        else:
            results.append(edit(text, [spans[index] for index in members], local))
    return tuple(results)


def _without(text: Text, spans: Sequence[Span], segments: Optional[Sequence[int]], drop: set[int]) -> Text:
    if isinstance(text, str):
        return text_without_words(text, spans, drop)
    return pair_without_words(text, spans, segments, drop)


def _with_only(text: Text, spans: Sequence[Span], segments: Optional[Sequence[int]], keep: set[int]) -> Text:
    if isinstance(text, str):
        return text_with_only_words(text, spans, keep)
    return pair_with_only_words(text, spans, segments, keep)


def _top_k_by_count(scores: Sequence[float], k: int) -> list[int]:
    """Indices of the k highest scores, highest first; ties go to the earlier word so results are deterministic."""
    order = sorted(range(len(scores)), key=lambda index: (-float(scores[index]), index))
    return order[:max(0, k)]


def top_k_indices(scores: Sequence[float], fraction: float) -> list[int]:
    """Indices of the ceil(fraction * n) highest (most supportive of the target) scores; at least one word."""
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction must be in (0, 1], got {fraction}")
    n = len(scores)
    if n == 0:
        return []
    # The small epsilon keeps float noise from adding a word: 0.07 * 100 is 7.000000000000001, not 7.
    k = min(n, max(1, math.ceil(fraction * n - 1e-9)))
    return _top_k_by_count(scores, k)


def rank_correlation_between(scores_a: Sequence[float], scores_b: Sequence[float]) -> Optional[float]:
    """Spearman correlation of two equal-length score vectors; None when undefined (< 2 values or a constant one)."""
    a = np.asarray(scores_a, dtype=np.float64)
    b = np.asarray(scores_b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"score vectors differ in length: {a.size} vs {b.size}")
    # Checked up front rather than letting spearmanr warn and return nan.
    if a.size < 2 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return None
    value = float(spearmanr(a, b).statistic)
    return None if math.isnan(value) else value


def _log_odds(probability: float) -> float:
    clipped = min(max(probability, PROBABILITY_CLIP), 1 - PROBABILITY_CLIP)
    return math.log(clipped / (1 - clipped))


def faithfulness_metrics(texts: Sequence[Text], spans_per_example: Sequence[Sequence[Span]],
                         scores_per_example: Sequence[Sequence[float]], targets: Sequence[int],
                         predictor: Predictor, bins: Sequence[float] = DEFAULT_BINS, seed: int = 0,
                         segments_per_example: Optional[Sequence[Sequence[int]]] = None) -> list[Metric]:
    """comprehensiveness_aopc, sufficiency_aopc, log_odds_drop and loo_correlation, each averaged over examples.

    A text may be a sentence pair (a (text, text_pair) tuple); its entry of `segments_per_example` then gives
    the segment of each word, whose span is relative to that segment."""
    if not len(texts) == len(spans_per_example) == len(scores_per_example) == len(targets):
        raise ValueError("texts, spans, scores and targets must have one entry per example")
    if segments_per_example is None:
        segments_per_example = [()] * len(texts)
    if len(segments_per_example) != len(texts):
        raise ValueError("segments must have one entry per example")
    if any(not isinstance(text, str) and len(segments) != len(spans)
           for text, spans, segments in zip(texts, spans_per_example, segments_per_example)):
        raise ValueError("a sentence pair needs the segment of each word")
    if not bins:
        raise ValueError("at least one bin is needed")
    # Every text any metric needs is collected first (deduplicated) so the model is queried in a single call.
    unique_texts: dict[Text, int] = {}

    def row_of(text: Text) -> int:
        return unique_texts.setdefault(text, len(unique_texts))

    plans = []
    for text, spans, scores, segments in zip(texts, spans_per_example, scores_per_example, segments_per_example):
        if len(spans) != len(scores):
            raise ValueError(f"{len(spans)} spans but {len(scores)} scores for text {str(text)[:40]!r}")
        if not spans:
            plans.append(None)  # nothing to remove or keep: the example cannot be scored
            continue
        top_sets = [set(top_k_indices(scores, fraction)) for fraction in bins]
        log_odds_set = set(top_k_indices(scores, LOG_ODDS_FRACTION))
        plans.append({
            "full": row_of(text),
            "without": [row_of(_without(text, spans, segments, top)) for top in top_sets],
            "only": [row_of(_with_only(text, spans, segments, top)) for top in top_sets],
            "log_odds": row_of(_without(text, spans, segments, log_odds_set)),
            "leave_one_out": [row_of(_without(text, spans, segments, {index})) for index in range(len(spans))],
        })
    probabilities = np.asarray(predictor.probabilities(list(unique_texts)), dtype=np.float64) if unique_texts else None
    if probabilities is not None and (probabilities.ndim != 2 or probabilities.shape[0] != len(unique_texts)):
        raise ValueError(f"predictor returned shape {probabilities.shape} for {len(unique_texts)} texts")

    comprehensiveness, sufficiency, log_odds_drops, loo_correlations = [], [], [], []
    for plan, scores, target in zip(plans, scores_per_example, targets):
        if plan is None:
            continue
        target_probability = probabilities[:, target]
        full = target_probability[plan["full"]]
        comprehensiveness.append(float(np.mean([full - target_probability[row] for row in plan["without"]])))
        sufficiency.append(float(np.mean([full - target_probability[row] for row in plan["only"]])))
        log_odds_drops.append(_log_odds(full) - _log_odds(target_probability[plan["log_odds"]]))
        occlusion = [full - target_probability[row] for row in plan["leave_one_out"]]
        correlation = rank_correlation_between(scores, occlusion)
        if correlation is not None:  # undefined for one word or constant vectors: left out of the average
            loo_correlations.append(correlation)
    return [
        bootstrap_metric("comprehensiveness_aopc", comprehensiveness, seed=seed),
        bootstrap_metric("sufficiency_aopc", sufficiency, seed=seed),
        bootstrap_metric("log_odds_drop", log_odds_drops, seed=seed),
        bootstrap_metric("loo_correlation", loo_correlations, seed=seed),
    ]


def _runs(indices: set[int]) -> list[Span]:
    """Maximal runs of consecutive word indices as half-open (start, end) spans."""
    runs: list[Span] = []
    for index in sorted(indices):
        if runs and runs[-1][1] == index:
            runs[-1] = (runs[-1][0], index + 1)
        else:
            runs.append((index, index + 1))
    return runs


def _iou(a: Span, b: Span) -> float:
    intersection = max(0, min(a[1], b[1]) - max(a[0], b[0]))
    union = (a[1] - a[0]) + (b[1] - b[0]) - intersection
    return intersection / union if union else 0.0


def _iou_f1(predicted: set[int], human: set[int]) -> float:
    predicted_spans, human_spans = _runs(predicted), _runs(human)
    if not predicted_spans or not human_spans:
        return 0.0
    # Runs on each side are disjoint and maximal, so a match is effectively one-to-one and these counts equal
    # ERASER's matched-prediction count used for both precision and recall.
    matched_predicted = sum(any(_iou(p, h) >= IOU_MATCH_THRESHOLD for h in human_spans) for p in predicted_spans)
    matched_human = sum(any(_iou(p, h) >= IOU_MATCH_THRESHOLD for p in predicted_spans) for h in human_spans)
    precision = matched_predicted / len(predicted_spans)
    recall = matched_human / len(human_spans)
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def average_precision(scores: Sequence[float], relevant: Sequence[bool]) -> float:
    """Area under the precision-recall curve as sklearn's average_precision_score computes it (ties grouped)."""
    score_array = np.asarray(scores, dtype=np.float64)
    relevant_array = np.asarray(relevant, dtype=bool)
    positives = int(relevant_array.sum())
    if positives == 0:
        return float("nan")
    order = np.argsort(-score_array, kind="stable")
    sorted_scores, sorted_relevant = score_array[order], relevant_array[order]
    # Equal scores form one threshold: only the last position of each run of equal scores is a PR-curve point.
    threshold_ends = np.r_[np.flatnonzero(np.diff(sorted_scores) != 0), sorted_scores.size - 1]
    true_positives = np.cumsum(sorted_relevant)[threshold_ends]
    precision = true_positives / (threshold_ends + 1)
    recall = true_positives / positives
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def plausibility_metrics(scores_per_example: Sequence[Sequence[float]],
                         rationales_per_example: Sequence[Sequence[bool]], seed: int = 0) -> list[Metric]:
    """token_f1, iou_f1 and auprc of the scores against human word rationales, averaged over examples."""
    if len(scores_per_example) != len(rationales_per_example):
        raise ValueError("scores and rationales must have one entry per example")
    token_f1s, iou_f1s, auprcs = [], [], []
    for scores, rationale in zip(scores_per_example, rationales_per_example):
        if len(scores) != len(rationale):
            raise ValueError(f"{len(scores)} scores but {len(rationale)} rationale flags")
        human = {index for index, flag in enumerate(rationale) if flag}
        if not human:
            # No human rationale: precision/recall and AP are undefined, so the example is skipped.
            continue
        # Predicting as many words as the human marked makes a perfect ranking score exactly 1.0.
        predicted = set(_top_k_by_count(scores, len(human)))
        overlap = len(predicted & human)
        token_f1s.append(2 * overlap / (len(predicted) + len(human)))
        iou_f1s.append(_iou_f1(predicted, human))
        auprcs.append(average_precision(scores, rationale))
    return [
        bootstrap_metric("token_f1", token_f1s, seed=seed),
        bootstrap_metric("iou_f1", iou_f1s, seed=seed),
        bootstrap_metric("auprc", auprcs, seed=seed),
    ]


def align_words(original_words: Sequence[str], adversarial_words: Sequence[str]) -> list[tuple[int, int]]:
    """(original index, adversarial index) of words that correspond between a text and its attacked version."""
    # autojunk=False: the default heuristic ignores frequent words in long texts, which would drop alignments.
    matcher = difflib.SequenceMatcher(a=list(original_words), b=list(adversarial_words), autojunk=False)
    pairs: list[tuple[int, int]] = []
    for tag, a_start, a_end, b_start, b_end in matcher.get_opcodes():
        # Equal blocks align trivially; a same-length replace block is an in-place change (a character-level
        # edit or a word substitution), so its words still correspond one to one. Insertions/deletions do not.
        if tag == "equal" or (tag == "replace" and a_end - a_start == b_end - b_start):
            pairs.extend(zip(range(a_start, a_end), range(b_start, b_end)))
    return pairs


def stability_metrics(pairs: Sequence[tuple[Sequence[str], Sequence[float], Sequence[str], Sequence[float]]],
                      top_k: int = 5, seed: int = 0) -> list[Metric]:
    """attribution_rank_correlation and top_k_overlap between original and adversarial explanations."""
    if top_k < 1:
        raise ValueError(f"top_k must be at least 1, got {top_k}")
    correlations, overlaps = [], []
    for original_words, original_scores, adversarial_words, adversarial_scores in pairs:
        if len(original_words) != len(original_scores) or len(adversarial_words) != len(adversarial_scores):
            raise ValueError("each side of a pair needs one score per word")
        aligned = align_words(original_words, adversarial_words)
        if not aligned:
            continue
        original = [float(original_scores[i]) for i, _ in aligned]
        adversarial = [float(adversarial_scores[j]) for _, j in aligned]
        correlation = rank_correlation_between(original, adversarial)
        if correlation is not None:  # undefined for one aligned word or constant scores: skipped
            correlations.append(correlation)
        k = min(top_k, len(aligned))
        # Positions here index the aligned list, so the same word on both sides has the same position.
        shared = set(_top_k_by_count(original, k)) & set(_top_k_by_count(adversarial, k))
        overlaps.append(len(shared) / k)
    return [
        bootstrap_metric("attribution_rank_correlation", correlations, seed=seed),
        bootstrap_metric("top_k_overlap", overlaps, seed=seed),
        Metric("stability_pairs", float(len(pairs))),
    ]
