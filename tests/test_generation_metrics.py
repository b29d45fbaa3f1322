"""The text-generation metrics (harness.core.text_metrics) against sacreBLEU and rouge-score called
directly, the documented way, on small corpora written here."""

from __future__ import annotations

import importlib.metadata
import math

import numpy as np
import pytest
import sacrebleu
from sacrebleu.metrics import BLEU, CHRF
from sacrebleu.significance import PairedTest, _bootstrap_resample

from harness.core.statistics import bootstrap_metric, proportion_metric
from harness.core.text_metrics import (
    PAIRED_METHOD,
    PairedResult,
    generation_metrics,
    paired_significance,
    reference_streams,
    sentence_scores,
)

# Thirty examples: each with its references (one to three), system A's output and system B's output. Overlaps
# range from a copy to nothing; there are empty outputs, non-ASCII text and a CJK sentence.
CORPUS = [
    (("The cat sat on the mat.",), "The cat sat on the mat.", "A cat was sitting on the mat."),
    (("It is raining heavily in London today.", "Today it rains hard in London."),
     "It rains heavily in London today.", "London is rainy."),
    (("She bought three apples at the market.",), "She bought apples at the market.",
     "She bought three apples at the market."),
    (("The meeting was postponed until next week.",), "", "The meeting is postponed to next week."),
    (("Café prices in Zürich have risen by 5 %.", "Coffee in Zürich costs 5 % more.", "Zürich cafés are dearer."),
     "Café prices in Zürich rose by 5 %.", "Coffee prices rose."),
    (("He plays the violin every evening.",), "He plays violin each evening.", "He plays the violin every evening."),
    (("東京は日本の首都です。",), "東京は日本の首都です。", "東京は首都です。"),
    (("The train to Paris leaves at nine.",), "The train leaves for Paris at nine.", ""),
    (("Our team won the championship after a long season.",), "Our team won the championship.",
     "The team won the championship after a long season."),
    (("Please close the window before you leave.", "Close the window before leaving, please."),
     "Please shut the window before you go.", "Please close the window before you leave."),
    (("The museum opens at ten on Sundays.",), "The museum is open at ten on Sunday.", "Museum opens Sundays."),
    (("Water boils at one hundred degrees Celsius.",), "Water boils at 100 degrees Celsius.",
     "Water boils at one hundred degrees Celsius."),
    (("The children were playing in the garden.",), "Children played in the garden.",
     "The kids were playing outside."),
    (("I forgot my umbrella at the office.",), "I left my umbrella at work.", "I forgot my umbrella at the office."),
    (("The river flooded the village last spring.", "Last spring the village was flooded by the river."),
     "Last spring the river flooded the village.", "The village flooded."),
    (("Naïve résumé writers often overstate their skills.",), "Naïve résumé writers overstate skills.",
     "Résumé writers often exaggerate."),
    (("The bakery sells fresh bread every morning.",), "The bakery sells bread every morning.",
     "Fresh bread is sold every morning at the bakery."),
    (("Scientists discovered a new species of frog.",), "Scientists found a new frog species.",
     "Scientists discovered a new species of frog."),
    (("The concert was cancelled because of the storm.",), "The storm cancelled the concert.", ""),
    (("My brother lives in a small town near the coast.",), "My brother lives near the coast.",
     "My brother lives in a small town near the coast."),
    (("The library will be closed on Monday.", "On Monday the library is closed.", "Library closed Monday."),
     "The library is closed on Monday.", "The library will be closed on Monday."),
    (("She speaks four languages fluently.",), "She speaks four languages.", "She is fluent in four languages."),
    (("The price of oil fell sharply yesterday.",), "Oil prices fell sharply yesterday.",
     "The price of oil dropped yesterday."),
    (("We watched the sunset from the hill.",), "", "We watched the sunset from the hill."),
    (("The doctor told him to rest for a week.",), "The doctor said he should rest a week.",
     "The doctor told him to rest."),
    (("The old bridge was repaired last year.",), "The old bridge was repaired last year.",
     "Last year they fixed the bridge."),
    (("Birds migrate south in the autumn.", "In autumn, birds fly south."), "Birds fly south in autumn.",
     "Birds migrate south in the autumn."),
    (("The company hired twenty new engineers.",), "The company hired 20 engineers.",
     "Twenty new engineers were hired by the company."),
    (("He apologised for being late.",), "He said sorry for being late.", "He apologised for being late."),
    (("The garden is full of roses and tulips.",), "The garden is full of roses.",
     "Roses and tulips fill the garden."),
]
REFERENCES = [refs for refs, _, _ in CORPUS]
OUTPUTS_A = [a for _, a, _ in CORPUS]
OUTPUTS_B = [b for _, _, b in CORPUS]
SINGLE_REFERENCES = [refs[:1] for refs in REFERENCES]


def by_name(metrics):
    return {metric.name: metric for metric in metrics}


def none_padded(references):
    """The reference streams as sacreBLEU's API documents a variable count (mjpost/sacrebleu#132), built here
    independently of the module's reference_streams."""
    width = max(len(refs) for refs in references)
    streams = [[] for _ in range(width)]
    for refs in references:
        for j in range(width):
            streams[j].append(refs[j] if j < len(refs) else None)
    return streams


# --- BLEU and chrF: sacreBLEU's corpus scores --------------------------------------------------------------------

@pytest.mark.parametrize("references", [SINGLE_REFERENCES, REFERENCES], ids=["one-reference", "variable-references"])
@pytest.mark.parametrize("outputs", [OUTPUTS_A, OUTPUTS_B], ids=["system-a", "system-b"])
def test_bleu_and_chrf_are_sacrebleus_corpus_scores(outputs, references):
    metrics, _ = generation_metrics(outputs, references)
    streams = none_padded(references)
    assert by_name(metrics)["bleu"].value == pytest.approx(sacrebleu.corpus_bleu(outputs, streams).score, abs=1e-9)
    assert by_name(metrics)["chrf"].value == pytest.approx(sacrebleu.corpus_chrf(outputs, streams).score, abs=1e-9)
    assert all(by_name(metrics)[name].n == len(outputs) for name in ("bleu", "chrf"))


def test_all_empty_outputs_score_zero_as_sacrebleu_does():
    outputs = [""] * 4
    metrics, _ = generation_metrics(outputs, REFERENCES[:4])
    assert by_name(metrics)["bleu"].value == sacrebleu.corpus_bleu(outputs, none_padded(REFERENCES[:4])).score == 0
    assert by_name(metrics)["chrf"].value == pytest.approx(
        sacrebleu.corpus_chrf(outputs, none_padded(REFERENCES[:4])).score, abs=1e-9)


def test_missing_references_are_none_not_empty_strings():
    """sacreBLEU keeps "" as a real (empty) reference: padding with "" would let BLEU's brevity penalty pick a
    length of 0 for an empty output. The metrics pad with None, as sacreBLEU's API asks."""
    outputs = ["", "the cat sat on the mat", "a dog barked loudly"]
    references = [("the weather is fine",), ("the cat sat on a mat", "a cat sat on the mat"), ("a dog barked",)]
    empty_padded = [[refs[j] if j < len(refs) else "" for refs in references] for j in range(2)]
    metrics, signatures = generation_metrics(outputs, references)
    assert reference_streams(references) == none_padded(references)
    assert by_name(metrics)["bleu"].value == pytest.approx(
        sacrebleu.corpus_bleu(outputs, none_padded(references)).score, abs=1e-9)
    assert sacrebleu.corpus_bleu(outputs, empty_padded).score != pytest.approx(by_name(metrics)["bleu"].value)
    assert signatures["bleu"].startswith("nrefs:var|")


def test_signatures_are_sacrebleus(monkeypatch):
    monkeypatch.setenv("SACREBLEU_SEED", "3")
    metrics, signatures = generation_metrics(OUTPUTS_A, REFERENCES, seed=3, n_bootstrap=200)
    for name, scorer in (("bleu", BLEU()), ("chrf", CHRF())):
        score = scorer.corpus_score(OUTPUTS_A, none_padded(REFERENCES), n_bootstrap=200)
        assert signatures[name] == str(scorer.get_signature())
        # sacreBLEU reports its interval as half its width; the bounds are the same order statistics.
        metric = by_name(metrics)[name]
        assert score._ci == pytest.approx(0.5 * (metric.ci_high - metric.ci_low), abs=1e-9)
    version = sacrebleu.__version__
    assert signatures["bleu"] == f"nrefs:var|bs:200|seed:3|case:mixed|eff:no|tok:13a|smooth:exp|version:{version}"
    assert signatures["chrf"] == f"nrefs:var|bs:200|seed:3|case:mixed|eff:yes|nc:6|nw:0|space:no|version:{version}"
    assert signatures["rouge1"] == signatures["rougeL"]
    assert signatures["rouge1"].startswith("nrefs:var|stemmer:yes|tokenizer:default|multiref:max-fmeasure")
    assert signatures["rouge1"].endswith(f"|version:rouge-score-{importlib.metadata.version('rouge-score')}")


def test_a_single_example_has_no_interval_and_sacrebleus_plain_signature():
    metrics, signatures = generation_metrics(OUTPUTS_A[:1], SINGLE_REFERENCES[:1])
    scorer = BLEU()
    scorer.corpus_score(OUTPUTS_A[:1], none_padded(SINGLE_REFERENCES[:1]))
    assert signatures["bleu"] == str(scorer.get_signature())
    assert all(metric.ci_low is None and metric.ci_high is None and metric.n == 1
               for metric in metrics if metric.name != "exact_match")


# --- Intervals ---------------------------------------------------------------------------------------------------

def test_sacrebleu_intervals_are_sacrebleus_own_bootstrap(monkeypatch):
    """The bounds are the order statistics of sacreBLEU's own _bootstrap_resample under SACREBLEU_SEED=seed."""
    monkeypatch.setenv("SACREBLEU_SEED", "11")
    metrics, _ = generation_metrics(OUTPUTS_B, REFERENCES, seed=11, n_bootstrap=400)
    for name, scorer in (("bleu", BLEU()), ("chrf", CHRF())):
        stats = scorer._extract_corpus_statistics(OUTPUTS_B, none_padded(REFERENCES))
        _, scores = _bootstrap_resample(stats, scorer, 400)
        ordered = sorted(score.score for score in scores)
        assert (by_name(metrics)[name].ci_low, by_name(metrics)[name].ci_high) == (ordered[10], ordered[389])


def test_intervals_contain_the_score_and_follow_the_seed():
    first, _ = generation_metrics(OUTPUTS_A, REFERENCES, seed=5)
    again, _ = generation_metrics(OUTPUTS_A, REFERENCES, seed=5)
    other, _ = generation_metrics(OUTPUTS_A, REFERENCES, seed=6)
    for name in ("bleu", "chrf", "rouge1", "rouge2", "rougeL"):
        metric = by_name(first)[name]
        assert metric.ci_low <= metric.value <= metric.ci_high, name
        assert (by_name(again)[name].ci_low, by_name(again)[name].ci_high) == (metric.ci_low, metric.ci_high)
        assert (by_name(other)[name].ci_low, by_name(other)[name].ci_high) != (metric.ci_low, metric.ci_high)


def test_rouge_intervals_are_bootstrap_metrics():
    metrics, _ = generation_metrics(OUTPUTS_A, REFERENCES, seed=9)
    scores = sentence_scores(OUTPUTS_A, REFERENCES)
    for name in ("rouge1", "rouge2", "rougeL"):
        expected = bootstrap_metric(name, [row[name] for row in scores], seed=9)
        assert by_name(metrics)[name].ci_low == pytest.approx(expected.ci_low, abs=1e-12)
        assert by_name(metrics)[name].ci_high == pytest.approx(expected.ci_high, abs=1e-12)


# --- ROUGE -------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("outputs", [OUTPUTS_A, OUTPUTS_B], ids=["system-a", "system-b"])
def test_rouge_is_the_mean_of_rouge_scores_best_reference(outputs):
    # Imported here, not at collection: rouge-score imports absl, whose logging set up while pytest collects broke
    # a later TextAttack test's output capture (tests/test_adversarial_training.py) in the full run.
    from rouge_score import rouge_scorer

    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=True)
    metrics, _ = generation_metrics(outputs, REFERENCES)
    for name in ("rouge1", "rouge2", "rougeL"):
        best = [max(scorer.score(ref, output)[name].fmeasure for ref in refs)
                for output, refs in zip(outputs, REFERENCES)]
        assert by_name(metrics)[name].value == pytest.approx(sum(best) / len(best), abs=1e-12)
        assert 0 <= by_name(metrics)[name].value <= 1


# --- Exact match, accuracy, unparsed outputs ---------------------------------------------------------------------

def test_exact_match_strips_and_collapses_blanks_but_keeps_case():
    outputs = ["  The cat  sat.\n", "the cat sat.", "Paris", "", "Rome"]
    references = [("The cat sat.",), ("The cat sat.",), ("London", "Paris"), ("Nothing",), ("Rome ",)]
    metrics, _ = generation_metrics(outputs, references)
    assert by_name(metrics)["exact_match"] == proportion_metric("exact_match", [1, 0, 1, 0, 1])
    assert [row["exact_match"] for row in sentence_scores(outputs, references)] == [1.0, 0.0, 1.0, 0.0, 1.0]


def test_accuracy_and_unparsed_rate_read_the_choices():
    choices = ("positive", "negative")
    outputs = ["Positive.", "negative, clearly", "I think it is positive", "NEGATIVE", "", "positive"]
    references = [("positive",), ("negative",), ("positive",), ("Negative",), ("negative",), ("negative",)]
    metrics, _ = generation_metrics(outputs, references, choices=choices)
    # right: 1, 2, 4; unparsed: 3 (does not start with a choice) and 5 (empty); 6 is parsed but wrong.
    assert by_name(metrics)["accuracy"] == proportion_metric("accuracy", [1, 1, 0, 1, 0, 0])
    assert by_name(metrics)["unparsed_rate"] == proportion_metric("unparsed_rate", [0, 0, 1, 0, 1, 0])
    assert [row["correct"] for row in sentence_scores(outputs, references, choices)] == [1, 1, 0, 1, 0, 0]
    without, _ = generation_metrics(outputs, references)
    assert "accuracy" not in by_name(without) and "unparsed_rate" not in by_name(without)


def test_an_empty_corpus_gives_nan_and_no_signature():
    metrics, signatures = generation_metrics([], [], choices=("yes", "no"))
    assert [metric.name for metric in metrics] == ["bleu", "chrf", "rouge1", "rouge2", "rougeL", "exact_match",
                                                   "accuracy", "unparsed_rate"]
    assert all(math.isnan(metric.value) and metric.n == 0 for metric in metrics)
    assert signatures == {}


def test_sentence_scores_are_sacrebleus_sentence_scores():
    rows = sentence_scores(OUTPUTS_A, REFERENCES)
    for row, output, refs in zip(rows, OUTPUTS_A, REFERENCES):
        assert set(row) == {"bleu", "chrf", "rouge1", "rouge2", "rougeL", "exact_match"}
        assert row["bleu"] == pytest.approx(sacrebleu.sentence_bleu(output, list(refs)).score, abs=1e-9)
        assert row["chrf"] == pytest.approx(sacrebleu.sentence_chrf(output, list(refs)).score, abs=1e-9)


# --- Paired significance -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("references", [SINGLE_REFERENCES, REFERENCES], ids=["one-reference", "variable-references"])
def test_paired_p_values_are_sacrebleus(monkeypatch, references):
    monkeypatch.setenv("SACREBLEU_SEED", "12345")
    _, results = PairedTest([("a", OUTPUTS_A), ("b", OUTPUTS_B)], {"bleu": BLEU(), "chrf": CHRF()},
                            none_padded(references), test_type="bs", n_samples=1000)()
    for metric, column in (("bleu", "BLEU"), ("chrf", "chrF2")):
        ours = paired_significance(OUTPUTS_A, OUTPUTS_B, references, metric, seed=12345)
        baseline, system = results[column]
        assert (ours.score_a, ours.score_b) == (pytest.approx(baseline.score), pytest.approx(system.score))
        assert ours.p_value == system.p_value
        assert ours.difference == pytest.approx(system.score - baseline.score)
        assert ours.ci_low <= ours.difference <= ours.ci_high
        assert (ours.n, ours.resamples, ours.method) == (30, 1000, PAIRED_METHOD)


def test_a_system_compared_with_itself_has_p_value_one(monkeypatch):
    """sacreBLEU's strict "exceeds" gives 1 / (resamples + 1) here, its smallest p-value; ours is 1."""
    monkeypatch.setenv("SACREBLEU_SEED", "7")
    _, results = PairedTest([("a", OUTPUTS_A), ("a again", list(OUTPUTS_A))], {"bleu": BLEU()},
                            none_padded(REFERENCES), test_type="bs", n_samples=500)()
    assert results["BLEU"][1].p_value == 1 / 501
    for metric in ("bleu", "chrf", "rouge1", "exact_match"):
        result = paired_significance(OUTPUTS_A, list(OUTPUTS_A), REFERENCES, metric, seed=7, n_bootstrap=500)
        assert (result.difference, result.ci_low, result.ci_high, result.p_value) == (0, 0, 0, 1.0), metric


@pytest.mark.parametrize("metric", ["rouge1", "rouge2", "rougeL", "exact_match"])
def test_paired_test_of_per_example_means_resamples_as_sacrebleu(metric):
    """The same resamples and p-value as sacreBLEU's test, over the mean of per-example scores."""
    values_a = np.array([row[metric] for row in sentence_scores(OUTPUTS_A, REFERENCES)])
    values_b = np.array([row[metric] for row in sentence_scores(OUTPUTS_B, REFERENCES)])
    indices = np.random.default_rng(4).choice(30, size=(1000, 30), replace=True)
    sample = np.abs(values_b[indices].mean(axis=1) - values_a[indices].mean(axis=1))
    expected = (np.sum(sample - sample.mean() > abs(values_b.mean() - values_a.mean())) + 1) / 1001
    result = paired_significance(OUTPUTS_A, OUTPUTS_B, REFERENCES, metric, seed=4)
    assert isinstance(result, PairedResult)
    assert result.p_value == pytest.approx(expected, abs=1e-15)
    assert result.difference == pytest.approx(values_b.mean() - values_a.mean(), abs=1e-12)


def test_paired_accuracy_and_a_clear_difference():
    choices = ("yes", "no")
    references = [("yes",), ("no",)] * 20
    right = [refs[0] for refs in references]
    wrong = ["no" if label == "yes" else "yes" for label in right]
    result = paired_significance(wrong, right, references, "accuracy", choices=choices)
    assert (result.score_a, result.score_b, result.difference) == (0.0, 1.0, 1.0)
    assert result.p_value == 1 / 1001


# --- Errors ------------------------------------------------------------------------------------------------------

def test_mismatched_lengths_and_missing_references_are_errors():
    with pytest.raises(ValueError, match="3 outputs but 2 examples' references"):
        generation_metrics(["a", "b", "c"], [("a",), ("b",)])
    with pytest.raises(ValueError, match="example 1 has no reference"):
        generation_metrics(["a", "b"], [("a",), ()])
    with pytest.raises(ValueError, match="example 0 has no reference"):
        sentence_scores(["a"], [[]])
    with pytest.raises(TypeError, match="references of example 0 are a string"):
        generation_metrics(["a"], ["a"])
    with pytest.raises(TypeError, match="output 1 is NoneType"):
        generation_metrics(["a", None], [("a",), ("b",)])
    with pytest.raises(ValueError, match="system a has 2 outputs and system b 1"):
        paired_significance(["a", "b"], ["a"], [("a",), ("b",)], "bleu")
    with pytest.raises(ValueError, match="2 outputs but 1 examples' references"):
        paired_significance(["a", "b"], ["a", "b"], [("a",)], "chrf")
    with pytest.raises(ValueError, match="not one of"):
        paired_significance(["a"], ["b"], [("a",)], "meteor")
    with pytest.raises(ValueError, match="needs choices"):
        paired_significance(["a"], ["b"], [("a",)], "accuracy")
    with pytest.raises(ValueError, match="n_bootstrap"):
        generation_metrics(["a"], [("a",)], n_bootstrap=0)
