"""SQuAD exact match and F1 (harness.kinds.qa.squad_metrics) against the official SQuAD v2.0 evaluation script."""

from __future__ import annotations

import collections
import math
import re
import string

import pytest

from harness.kinds.qa.squad_metrics import exact_match, f1, has_answer, normalize_answer, scored_golds, squad_metrics

# --- Reference: the official SQuAD v2.0 evaluation (evaluate-v2.0.py, https://rajpurkar.github.io/SQuAD-explorer/).
# It cannot be downloaded here, so these functions are reproduced from memory, keeping the script's logic statement
# by statement (names and structure as in the script; only its Python 2 idioms such as `1.0 *` are kept as they are).


def official_normalize_answer(s):
    """Lower text and remove punctuation, articles and extra whitespace."""
    def remove_articles(text):
        regex = re.compile(r'\b(a|an|the)\b', re.UNICODE)
        return re.sub(regex, ' ', text)

    def white_space_fix(text):
        return ' '.join(text.split())

    def remove_punc(text):
        exclude = set(string.punctuation)
        return ''.join(ch for ch in text if ch not in exclude)

    def lower(text):
        return text.lower()
    return white_space_fix(remove_articles(remove_punc(lower(s))))


def official_get_tokens(s):
    if not s:
        return []
    return official_normalize_answer(s).split()


def official_compute_exact(a_gold, a_pred):
    return int(official_normalize_answer(a_gold) == official_normalize_answer(a_pred))


def official_compute_f1(a_gold, a_pred):
    gold_toks = official_get_tokens(a_gold)
    pred_toks = official_get_tokens(a_pred)
    common = collections.Counter(gold_toks) & collections.Counter(pred_toks)
    num_same = sum(common.values())
    if len(gold_toks) == 0 or len(pred_toks) == 0:
        # If either is no-answer, then F1 is 1 if they agree, 0 otherwise
        return int(gold_toks == pred_toks)
    if num_same == 0:
        return 0
    precision = 1.0 * num_same / len(pred_toks)
    recall = 1.0 * num_same / len(gold_toks)
    f1 = (2 * precision * recall) / (precision + recall)
    return f1


def official_scores(answers, a_pred):
    """get_raw_scores for one question: `answers` are the texts of qa['answers'] (empty when unanswerable)."""
    gold_answers = [a for a in answers if official_normalize_answer(a)]
    if not gold_answers:
        # For unanswerable questions, only correct answer is empty string
        gold_answers = ['']
    return (max(official_compute_exact(a, a_pred) for a in gold_answers),
            max(official_compute_f1(a, a_pred) for a in gold_answers))

# --- end of the reference


CASES = [
    # (prediction, gold answers)
    ("Denver Broncos", ["Denver Broncos", "Denver Broncos", "Broncos"]),
    ("denver broncos!", ["Denver Broncos"]),
    ("The Broncos", ["Broncos"]),
    ("the cat sat", ["a cat sat on the mat"]),
    ("cat", ["a cat sat on the mat", "the cat"]),
    ("An apple a day", ["apple day"]),
    ("theory", ["the theory"]),
    ("thereby", ["the reby"]),
    ("the-cat", ["cat"]),
    ("A.B.C.", ["abc"]),
    ("U.S.", ["US", "United States"]),
    ("1,000", ["1000"]),
    ("$ 5 million", ["5 million dollars"]),
    ("  spaced\tout\nanswer  ", ["spaced out answer"]),
    ("new york new york", ["new york"]),
    ("york new", ["new york"]),
    ("the the the", ["the"]),
    ("", ["Denver Broncos"]),
    ("", []),
    ("", [""]),
    ("Broncos", []),
    ("Broncos", [""]),
    ("the", []),
    ("the", ["a"]),
    ("a", ["the"]),
    ("!!!", []),
    ("", ["the"]),
    ("Broncos", ["the", "Broncos"]),
    ("Café au lait", ["café au lait"]),
    ("CAFÉ", ["café"]),
    ("Straße", ["strasse"]),
    ("naïve “quoted” answer", ["naive quoted answer"]),
    ("«Les Misérables»", ["Les Misérables"]),
    ("東京 タワー", ["東京 タワー", "東京"]),
    ("Beyoncé's album", ["Beyonce's album", "Beyoncé’s album"]),
    ("résumé — CV", ["résumé CV"]),
    ("Ωmega", ["ωmega"]),
    ("1920s–1930s", ["1920s-1930s"]),
    ("Martin Luther King, Jr.", ["Martin Luther King Jr", "King"]),
    ("an", ["an"]),
    ("The Beatles", ["Beatles", "The Rolling Stones"]),
    ("in the late 1990s", ["late 1990s", "1990s", "the late nineties"]),
]


@pytest.mark.parametrize("prediction, golds", CASES)
def test_every_case_scores_as_the_official_script_scores_it(prediction, golds):
    official_exact, official_f1 = official_scores(golds, prediction)
    assert exact_match(prediction, golds) == official_exact
    assert f1(prediction, golds) == pytest.approx(official_f1, abs=1e-12)


@pytest.mark.parametrize("text", [case[0] for case in CASES] + [gold for case in CASES for gold in case[1]])
def test_normalisation_is_the_official_one(text):
    assert normalize_answer(text) == official_normalize_answer(text)


def test_hand_computed_values():
    # ["cat", "sat"] against ["cat", "sat", "on", "mat"]: precision 1, recall 1/2.
    assert f1("the cat sat", ["a cat sat on the mat"]) == pytest.approx(2 / 3)
    assert exact_match("the cat sat", ["a cat sat on the mat"]) == 0
    # A repeated token counts only as often as the gold has it: ["new", "york", "new", "york"] vs ["new", "york"]:
    # overlap 2, precision 1/2, recall 1.
    assert f1("new york new york", ["new york"]) == pytest.approx(2 / 3)
    # Order does not matter to F1, it does to exact match.
    assert f1("york new", ["new york"]) == 1.0
    assert exact_match("york new", ["new york"]) == 0
    # The best gold answer counts: 1/3 token of "a b c" vs exact "b".
    assert f1("b", ["x b y", "b"]) == 1.0
    assert f1("b", ["x b y"]) == pytest.approx(2 * (1 * 1 / 3) / (1 + 1 / 3))
    # Punctuation is removed before articles, so "the-cat" keeps its article.
    assert normalize_answer("The-Cat!") == "thecat"
    assert normalize_answer("  The  quick,  brown fox. ") == "quick brown fox"


def test_unanswerable_questions_score_only_an_abstention():
    for golds in ([], [""], ["", "   "], ["!?"]):
        assert scored_golds(golds) == [""]
        assert (exact_match("", golds), f1("", golds)) == (1, 1.0)
        assert (exact_match("something", golds), f1("something", golds)) == (0, 0.0)
    # An answerable question's gold never matches an abstention.
    assert (exact_match("", ["Broncos"]), f1("", ["Broncos"])) == (0, 0.0)
    # A prediction that normalises to nothing ("the") abstains as far as scores go (the official script does so).
    assert (exact_match("the", []), f1("the", [])) == (1, 1.0)
    assert has_answer(["Broncos"]) and has_answer(["", "the"])
    assert not has_answer([]) and not has_answer([""]) and not has_answer([" "])


def official_corpus(predictions, golds):
    """The official script's overall and HasAns / NoAns numbers (percentages) for a corpus. SQuAD's files give an
    unanswerable question no answers (qa['answers'] == []), never a blank one, so blank golds are dropped first."""
    golds = {question: [answer for answer in answers if answer.strip()] for question, answers in golds.items()}
    scores = {question: official_scores(golds[question], predictions[question]) for question in golds}
    def mean(questions, part):
        return 100.0 * sum(scores[question][part] for question in questions) / len(questions)
    answerable = [question for question in golds if golds[question]]
    unanswerable = [question for question in golds if not golds[question]]
    return {"exact_match": mean(golds, 0), "f1": mean(golds, 1),
            "has_answer_exact_match": mean(answerable, 0), "has_answer_f1": mean(answerable, 1),
            "no_answer_exact_match": mean(unanswerable, 0), "no_answer_f1": mean(unanswerable, 1)}


def test_corpus_metrics_are_the_official_numbers_as_shares_with_intervals():
    golds = {f"q{number}": list(answers) for number, (_, answers) in enumerate(CASES)}
    predictions = {f"q{number}": prediction for number, (prediction, _) in enumerate(CASES)}
    predictions["not-a-question"] = "ignored"
    metrics = {metric.name: metric for metric in squad_metrics(predictions, golds, seed=3)}
    official = official_corpus(predictions, golds)
    for name, percentage in official.items():
        assert metrics[name].value == pytest.approx(percentage / 100), name
        assert metrics[name].ci_low <= metrics[name].value <= metrics[name].ci_high, name
        assert 0 <= metrics[name].ci_low and metrics[name].ci_high <= 1, name
    unanswerable = sum(1 for answers in golds.values() if not any(answer.strip() for answer in answers))
    assert metrics["exact_match"].n == metrics["f1"].n == len(CASES)
    assert metrics["no_answer_examples"].value == metrics["no_answer_f1"].n == unanswerable
    assert metrics["has_answer_examples"].value == metrics["has_answer_exact_match"].n == len(CASES) - unanswerable
    assert metrics["has_answer_examples"].ci_low is None and metrics["no_answer_examples"].ci_high is None
    # Seeded: the same intervals again.
    assert squad_metrics(predictions, golds, seed=3) == list(metrics.values())


def test_squad_1_style_golds_have_no_breakdown():
    metrics = squad_metrics({"a": "Denver Broncos", "b": "cat"}, {"a": ["Broncos", "Denver Broncos"], "b": ["dog"]})
    assert [metric.name for metric in metrics] == ["exact_match", "f1"]
    assert metrics[0].value == 0.5 and metrics[1].value == 0.5


def test_a_missing_prediction_is_an_error():
    with pytest.raises(ValueError, match="no prediction for 1 of 2 questions"):
        squad_metrics({"a": "x"}, {"a": ["x"], "b": ["y"]})


def test_no_questions_give_nan_without_an_interval():
    metrics = squad_metrics({}, {})
    assert [metric.name for metric in metrics] == ["exact_match", "f1"]
    assert all(math.isnan(metric.value) and metric.n == 0 and metric.ci_low is None for metric in metrics)
