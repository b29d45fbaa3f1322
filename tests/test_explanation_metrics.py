"""Explanation metrics on synthetic data where the right answer is known (no model, no torch)."""

from __future__ import annotations

import math
import random
import re
from typing import Sequence

import numpy as np
import pytest
from scipy.stats import spearmanr

from harness.explain.metrics import (
    align_words,
    average_precision,
    faithfulness_metrics,
    plausibility_metrics,
    rank_correlation_between,
    stability_metrics,
    text_with_only_words,
    text_without_words,
    top_k_indices,
)

POSITIVE = ("great", "wonderful", "moving", "brilliant", "fun")
NEGATIVE = ("dull", "awful", "boring", "weak")
NEUTRAL = ("the", "film", "was", "a", "story", "and", "with", "cast", "plot", "it", "this", "of")


def whitespace_spans(text: str) -> list[tuple[int, int]]:
    return [match.span() for match in re.finditer(r"\S+", text)]


def sigmoid(value: float) -> float:
    return 1.0 / (1.0 + math.exp(-value))


class KeywordPredictor:
    """p(positive) = sigmoid(2 * (#positive words - #negative words)); counts its calls and texts."""

    def __init__(self) -> None:
        self.calls = 0
        self.texts_seen = 0

    def probabilities(self, texts: Sequence[str]) -> np.ndarray:
        self.calls += 1
        self.texts_seen += len(texts)
        rows = []
        for text in texts:
            words = [word.strip(".,!?;:").lower() for word in text.split()]
            balance = sum(word in POSITIVE for word in words) - sum(word in NEGATIVE for word in words)
            positive = sigmoid(2.0 * balance)
            rows.append([1.0 - positive, positive])
        return np.array(rows)


def oracle_scores(words: Sequence[str]) -> list[float]:
    scores = []
    for word in words:
        bare = word.strip(".,!?;:").lower()
        scores.append(1.0 if bare in POSITIVE else -1.0 if bare in NEGATIVE else 0.0)
    return scores


def generated_sentences(count: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    sentences = []
    for _ in range(count):
        words = rng.sample(POSITIVE, 2) + rng.sample(NEGATIVE, 1) + rng.sample(NEUTRAL, rng.randint(4, 7))
        rng.shuffle(words)
        words[rng.randrange(len(words) - 1)] += ","  # punctuation glued to words, as in real text
        sentences.append(" ".join(words).capitalize() + ".")
    return sentences


def by_name(metrics) -> dict:
    return {metric.name: metric for metric in metrics}


def faithfulness_for(texts: list[str], scores: list[list[float]], **kwargs) -> dict:
    spans = [whitespace_spans(text) for text in texts]
    return by_name(faithfulness_metrics(texts, spans, scores, [1] * len(texts), KeywordPredictor(), **kwargs))


# ---- word removal / keeping -------------------------------------------------------------------------------------

def test_text_without_and_with_only_words_on_whitespace_spans():
    text = "The film, sadly, was dull."
    spans = whitespace_spans(text)
    assert [text[start:end] for start, end in spans] == ["The", "film,", "sadly,", "was", "dull."]
    assert text_without_words(text, spans, {1}) == "The sadly, was dull."
    assert text_without_words(text, spans, {0}) == "film, sadly, was dull."
    assert text_without_words(text, spans, {4}) == "The film, sadly, was"
    assert text_without_words(text, spans, {1, 2}) == "The was dull."
    assert text_without_words(text, spans, {0, 2, 4}) == "film, was"
    assert text_without_words(text, spans, set()) == text
    assert text_without_words(text, spans, set(range(5))) == ""
    assert text_with_only_words(text, spans, {1, 4}) == "film, dull."
    assert text_with_only_words(text, spans, {4, 0}) == "The dull."
    assert text_with_only_words(text, spans, set(range(5))) == text
    assert text_with_only_words(text, spans, set()) == ""
    with pytest.raises(ValueError):
        text_without_words(text, spans, {5})


def test_word_removal_with_punctuation_as_separate_words_and_odd_whitespace():
    text = "The film,  sadly. Dull"
    spans = [match.span() for match in re.finditer(r"\w+|[^\w\s]", text)]
    assert [text[start:end] for start, end in spans] == ["The", "film", ",", "sadly", ".", "Dull"]
    # Punctuation that touched its word keeps touching it; a deletion never leaves two spaces or fuses words.
    assert text_with_only_words(text, spans, {1, 2}) == "film,"
    assert text_with_only_words(text, spans, {1, 3}) == "film sadly"
    assert text_with_only_words(text, spans, {0, 3, 4}) == "The sadly."
    assert text_without_words(text, spans, {2}) == "The film sadly. Dull"
    assert text_without_words(text, spans, {3}) == "The film, . Dull"
    assert text_without_words(text, spans, {4}) == "The film,  sadly Dull"  # untouched whitespace stays as given
    result = text_without_words(text, spans, {0, 2, 5})
    assert result == "film sadly."
    assert "  " not in text_without_words(text, spans, {2, 3})
    # Words that only touched through a removed word are not fused into a new word.
    glued = "good,bad"
    glued_spans = [(0, 4), (4, 5), (5, 8)]
    assert text_with_only_words(glued, glued_spans, {0, 2}) == "good bad"
    assert text_without_words(glued, glued_spans, {1}) == "good bad"


def test_top_k_indices_rounds_up_breaks_ties_by_position_and_keeps_one_word():
    assert top_k_indices([0.1, 0.9, -2.0, 0.9, 0.3], 0.4) == [1, 3]
    assert top_k_indices([0.5, 0.5, 0.5], 0.5) == [0, 1]  # ceil(1.5) = 2, ties by position
    assert top_k_indices([-3.0, -1.0, -2.0], 0.01) == [1]  # at least one word; signed: -1 is the highest
    assert len(top_k_indices(list(range(100)), 0.07)) == 7  # 0.07 * 100 is 7.000000000000001 in floats
    assert top_k_indices([], 0.5) == []
    assert top_k_indices([1.0, 2.0], 1.0) == [1, 0]


# ---- faithfulness ----------------------------------------------------------------------------------------------

def test_faithfulness_exact_values_on_one_example():
    text = "great fun but dull plot"
    scores = [3.0, 2.0, 0.0, -1.0, 0.5]
    metrics = faithfulness_for([text], [scores], bins=(0.2, 0.4))
    full = sigmoid(2)
    # Top 20% = {great}; top 40% = {great, fun}.
    expected_comprehensiveness = ((full - 0.5) + (full - sigmoid(-2))) / 2
    expected_sufficiency = ((full - sigmoid(2)) + (full - sigmoid(4))) / 2
    assert metrics["comprehensiveness_aopc"].value == pytest.approx(expected_comprehensiveness)
    assert metrics["sufficiency_aopc"].value == pytest.approx(expected_sufficiency)
    assert metrics["log_odds_drop"].value == pytest.approx(2.0 - 0.0, abs=1e-9)  # logit(sigmoid(2)) - logit(0.5)
    occlusion = [full - 0.5, full - 0.5, 0.0, full - sigmoid(4), 0.0]
    assert metrics["loo_correlation"].value == pytest.approx(spearmanr(scores, occlusion).statistic)
    assert all(metric.n == 1 for metric in metrics.values())


def test_oracle_explanations_are_more_faithful_than_random_and_reversed_ones():
    texts = generated_sentences(20)
    words = [text.split() for text in texts]
    rng = np.random.default_rng(0)
    oracle = faithfulness_for(texts, [oracle_scores(w) for w in words])
    random_ = faithfulness_for(texts, [list(rng.normal(size=len(w))) for w in words])
    reversed_ = faithfulness_for(texts, [[-s for s in oracle_scores(w)] for w in words])

    assert oracle["comprehensiveness_aopc"].value > random_["comprehensiveness_aopc"].value + 0.1
    assert oracle["sufficiency_aopc"].value < random_["sufficiency_aopc"].value - 0.1
    assert reversed_["comprehensiveness_aopc"].value < oracle["comprehensiveness_aopc"].value
    assert reversed_["comprehensiveness_aopc"].value < 0  # removing the negative words raises p(positive)
    assert oracle["log_odds_drop"].value > random_["log_odds_drop"].value
    assert oracle["loo_correlation"].value > 0.8
    assert reversed_["loo_correlation"].value < -0.8
    assert oracle["comprehensiveness_aopc"].n == 20
    assert oracle["comprehensiveness_aopc"].ci_low <= oracle["comprehensiveness_aopc"].value \
        <= oracle["comprehensiveness_aopc"].ci_high


def test_loo_correlation_skips_undefined_examples():
    texts = ["great", "the film was it", "great film dull"]
    scores = [[1.0], [0.0, 0.0, 0.0, 0.0], [1.0, 0.0, -1.0]]
    metrics = faithfulness_for(texts, scores)
    # One word, then constant scores (and constant occlusion): only the last example has a defined correlation.
    assert metrics["loo_correlation"].n == 1
    assert metrics["loo_correlation"].value == pytest.approx(1.0)
    assert metrics["comprehensiveness_aopc"].n == 3


@pytest.mark.parametrize("count", [3, 40])
def test_faithfulness_queries_the_predictor_a_bounded_number_of_times(count):
    texts = generated_sentences(count, seed=1)
    predictor = KeywordPredictor()
    faithfulness_metrics(texts, [whitespace_spans(t) for t in texts], [oracle_scores(t.split()) for t in texts],
                         [1] * count, predictor)
    assert 1 <= predictor.calls <= 4
    assert predictor.texts_seen > count  # the perturbed texts went through those few calls


# ---- plausibility ----------------------------------------------------------------------------------------------

RATIONALES = [
    [False, True, True, False, False, True, False],
    [True, True, True, False, False, False],
    [False, False, False, False, True],
]


def ranking_first(rationale: Sequence[bool]) -> list[float]:
    return [2.0 + index * 0.1 if flag else -1.0 - index * 0.1 for index, flag in enumerate(rationale)]


def test_plausibility_is_exactly_one_when_rationale_words_rank_first():
    metrics = by_name(plausibility_metrics([ranking_first(r) for r in RATIONALES], RATIONALES))
    for name in ("token_f1", "iou_f1", "auprc"):
        assert metrics[name].value == 1.0, name
        assert metrics[name].n == 3


def test_plausibility_is_low_for_reversed_scores():
    perfect = by_name(plausibility_metrics([ranking_first(r) for r in RATIONALES], RATIONALES))
    reversed_ = by_name(plausibility_metrics([[-s for s in ranking_first(r)] for r in RATIONALES], RATIONALES))
    assert reversed_["token_f1"].value < 0.3
    assert reversed_["iou_f1"].value < 0.3
    assert reversed_["auprc"].value < perfect["auprc"].value - 0.3


def test_partial_overlap_token_and_iou_f1_and_skipped_empty_rationale():
    rationale = [True, True, True, True, False, False]
    scores = [0.9, 0.8, 0.7, 0.1, 0.0, 0.6]  # top 4 = {0, 1, 2, 5}: runs [0, 3) and [5, 6)
    metrics = by_name(plausibility_metrics([scores, [1.0, 2.0]], [rationale, [False, False]]))
    assert metrics["token_f1"].value == pytest.approx(3 / 4)
    # [0, 3) matches the human run [0, 4) (IOU 3/4); [5, 6) matches nothing: P = 1/2, R = 1.
    assert metrics["iou_f1"].value == pytest.approx(2 / 3)
    assert metrics["token_f1"].n == 1  # the example without any rationale word is skipped

    # Every predicted run matches, but one of the two human runs is missed: P = 1, R = 1/2.
    missed_run = [True, True, False, False, False, True]
    two_runs = by_name(plausibility_metrics([[0.9, 0.8, 0.7, 0.1, 0.0, 0.2]], [missed_run]))
    assert two_runs["iou_f1"].value == pytest.approx(2 / 3)


def test_auprc_matches_sklearn_average_precision():
    from sklearn.metrics import average_precision_score

    rng = np.random.default_rng(0)
    for _ in range(60):
        size = int(rng.integers(2, 30))
        relevant = rng.random(size) < 0.3
        relevant[rng.integers(size)] = True
        scores = np.round(rng.normal(size=size), 1)  # rounding makes ties, which AP must group like sklearn
        expected = average_precision_score(relevant, scores)
        assert average_precision(scores, relevant) == pytest.approx(expected)
        assert by_name(plausibility_metrics([scores], [relevant]))["auprc"].value == pytest.approx(expected)


# ---- stability ---------------------------------------------------------------------------------------------------

def test_align_words_pairs_equal_and_same_length_replacements():
    original = "the movie was great fun".split()
    assert align_words(original, original) == [(i, i) for i in range(5)]
    assert align_words(original, "the film was great fun".split()) == [(i, i) for i in range(5)]
    assert align_words(original, "the movie was grеat fun".split()) == [(i, i) for i in range(5)]
    # An inserted word shifts the alignment instead of pairing unrelated words.
    assert align_words(original, "the movie really was great fun".split()) == [(0, 0), (1, 1), (2, 3), (3, 4), (4, 5)]


def test_stability_identical_substituted_and_reversed_pairs():
    words = "the movie was great fun and moving".split()
    scores = [0.1, 0.4, -0.2, 0.9, 0.7, 0.0, 0.5]
    identical = by_name(stability_metrics([(words, scores, words, scores)], top_k=3))
    assert identical["attribution_rank_correlation"].value == pytest.approx(1.0)
    assert identical["top_k_overlap"].value == 1.0
    assert identical["stability_pairs"].value == 1.0
    short = by_name(stability_metrics([(words[:3], scores[:3], words[:3], scores[:3])], top_k=5))
    assert short["top_k_overlap"].value == 1.0  # k shrinks to the 3 aligned words

    substituted = ["the", "film"] + words[2:]
    same_scores = by_name(stability_metrics([(words, scores, substituted, scores)], top_k=3))
    assert same_scores["attribution_rank_correlation"].value == pytest.approx(1.0)

    reversed_ = by_name(stability_metrics([(words, scores, substituted, [-s for s in scores])], top_k=3))
    assert reversed_["attribution_rank_correlation"].value == pytest.approx(-1.0)
    assert reversed_["top_k_overlap"].value == 0.0  # top 3 {3, 4, 6} vs bottom 3 {2, 5, 0}

    shifted = [0.1, 0.4, -0.2, 0.9, 0.0, 0.7, 0.5]  # "fun" drops out of the top 3, "and" comes in
    partial = by_name(stability_metrics([(words, scores, words, shifted)] * 2, top_k=3))
    assert partial["top_k_overlap"].value == pytest.approx(2 / 3)
    assert partial["stability_pairs"].value == 2.0


def test_rank_correlation_between_is_none_when_undefined():
    assert rank_correlation_between([1.0, 2.0, 3.0], [3.0, 5.0, 9.0]) == pytest.approx(1.0)
    assert rank_correlation_between([1.0, 2.0, 3.0], [3.0, 2.0, 1.0]) == pytest.approx(-1.0)
    assert rank_correlation_between([1.0, 1.0, 1.0], [1.0, 2.0, 3.0]) is None
    assert rank_correlation_between([1.0], [2.0]) is None
    with pytest.raises(ValueError):
        rank_correlation_between([1.0, 2.0], [1.0])
