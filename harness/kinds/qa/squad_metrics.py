"""Exact match and token F1 of extractive answers, computed exactly as the official SQuAD v2.0 evaluation script
(evaluate-v2.0.py, https://rajpurkar.github.io/SQuAD-explorer/) computes them, so that a score here is the score
SQuAD papers and leaderboards report:

- Both sides are normalised (`normalize_answer`): lowercased, ASCII punctuation (`string.punctuation`) removed,
  the articles "a", "an", "the" removed as whole words, whitespace collapsed.
- Exact match: 1 when the normalised prediction equals a normalised gold answer. F1: the harmonic mean of the
  precision and recall of the prediction's tokens against a gold answer's, a token counted as often as both sides
  have it (a multiset overlap); when either side has no token, 1 if both have none and 0 otherwise.
- A question's score is its best over its gold answers. Gold answers that normalise to nothing are dropped; a
  question left without any (an unanswerable SQuAD 2.0 question, gold list [] or [""]) has the single gold answer
  "": predicting "" (abstaining) scores 1 on both metrics, predicting anything else 0.

Unlike the official script, which prints percentages (0-100), the metrics are shares (0-1) like every other metric
of the harness. Exact match is a yes/no outcome per question, so it gets a Wilson interval like accuracy; F1 and
the per-question means get a percentile bootstrap over questions (harness.core.statistics explains the choice).
"""

from __future__ import annotations

import collections
import re
import string
from typing import Iterable, Mapping, Sequence

from harness.core.statistics import bootstrap_metric, proportion_metric
from harness.core.types import Metric

_ARTICLES = re.compile(r"\b(a|an|the)\b", re.UNICODE)
_PUNCTUATION = frozenset(string.punctuation)


def normalize_answer(text: str) -> str:
    """The official normalisation: lowercase, drop punctuation, drop the articles a/an/the, collapse whitespace.

    The order matters and is the script's: punctuation goes before articles, so "the-cat" becomes "thecat" and keeps
    its article, and only ASCII punctuation is removed (a Unicode dash or quote stays part of its word)."""
    lowered = text.lower()
    without_punctuation = "".join(character for character in lowered if character not in _PUNCTUATION)
    without_articles = _ARTICLES.sub(" ", without_punctuation)
    return " ".join(without_articles.split())


def _tokens(text: str) -> list[str]:
    return normalize_answer(text).split() if text else []


def _exact(gold: str, prediction: str) -> int:
    return int(normalize_answer(gold) == normalize_answer(prediction))


def _f1(gold: str, prediction: str) -> float:
    gold_tokens, predicted_tokens = _tokens(gold), _tokens(prediction)
    if not gold_tokens or not predicted_tokens:
        # An empty side is an abstention (or an unanswerable gold): right only when both abstain.
        return float(gold_tokens == predicted_tokens)
    overlap = sum((collections.Counter(gold_tokens) & collections.Counter(predicted_tokens)).values())
    if overlap == 0:
        return 0.0
    precision = overlap / len(predicted_tokens)
    recall = overlap / len(gold_tokens)
    return 2 * precision * recall / (precision + recall)


def scored_golds(golds: Iterable[str]) -> list[str]:
    """The gold answers a prediction is scored against: those that normalise to something, or [""] when none does
    (an unanswerable question), as the official script's get_raw_scores does."""
    kept = [gold for gold in golds if normalize_answer(gold)]
    return kept or [""]


def exact_match(prediction: str, golds: Sequence[str]) -> int:
    """1 when the normalised `prediction` equals one of the normalised `golds`, else 0 (an empty or all-blank
    `golds` is an unanswerable question: only "" matches)."""
    return max(_exact(gold, prediction) for gold in scored_golds(golds))


def f1(prediction: str, golds: Sequence[str]) -> float:
    """The best token F1 of `prediction` against any of `golds` (see the module docstring), in [0, 1]."""
    return max(_f1(gold, prediction) for gold in scored_golds(golds))


def has_answer(golds: Sequence[str]) -> bool:
    """Whether a question has an answer: any gold text that is not blank. The official script asks whether the
    question's answer list is non-empty; here an unanswerable question may also spell its golds [""]."""
    return any(gold.strip() for gold in golds)


def squad_metrics(predictions: Mapping[str, str], golds: Mapping[str, Sequence[str]], seed: int = 0) -> list[Metric]:
    """`exact_match` and `f1` over the questions of `golds` (question id -> gold answer texts), shares in [0, 1]
    with 95% intervals, and when any question is unanswerable the SQuAD 2.0 breakdown: `has_answer_exact_match`,
    `has_answer_f1`, `no_answer_exact_match`, `no_answer_f1` and the counts `has_answer_examples`,
    `no_answer_examples` (no interval).

    Every gold question needs a prediction ("" to abstain): a missing one is an error, not a silent skip, because
    a score over fewer questions than the split is not comparable with anyone's. Predictions for ids outside
    `golds` are ignored, as the official script ignores them."""
    missing = [question for question in golds if question not in predictions]
    if missing:
        raise ValueError(f"no prediction for {len(missing)} of {len(golds)} questions, e.g. {missing[:3]}")
    questions = list(golds)
    exact = {question: exact_match(predictions[question], golds[question]) for question in questions}
    overlap = {question: f1(predictions[question], golds[question]) for question in questions}
    metrics = _pair("", questions, exact, overlap, seed)
    answerable = [question for question in questions if has_answer(golds[question])]
    unanswerable = [question for question in questions if not has_answer(golds[question])]
    if unanswerable:
        metrics += _pair("has_answer_", answerable, exact, overlap, seed)
        metrics += _pair("no_answer_", unanswerable, exact, overlap, seed)
        metrics += [Metric("has_answer_examples", float(len(answerable)), None, None, len(answerable)),
                    Metric("no_answer_examples", float(len(unanswerable)), None, None, len(unanswerable))]
    return metrics


def _pair(prefix: str, questions: Sequence[str], exact: Mapping[str, int], overlap: Mapping[str, float],
          seed: int) -> list[Metric]:
    return [proportion_metric(prefix + "exact_match", [exact[question] for question in questions]),
            bootstrap_metric(prefix + "f1", [overlap[question] for question in questions], seed=seed)]
