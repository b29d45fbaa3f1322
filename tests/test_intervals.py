"""Confidence intervals (issue 23): proportions get Wilson score intervals, checked against scipy's and against the
issue's numbers; every other statistic keeps its percentile bootstrap. The stages' metrics (sequence evaluate,
attack and perturb; token evaluate, attack and perturb; the sample run of harness.testing) must carry the interval
the metric catalog (harness/report/metric_catalog.py, docs/metrics.md) declares for them."""

from __future__ import annotations

import math
from types import SimpleNamespace
from typing import Sequence

import numpy as np
import pytest

from harness.core.statistics import bootstrap_metric, proportion_metric, wilson_interval
from harness.core.types import AttackRecord, Example, Metric
from harness.report import metric_catalog as catalog
from harness.report.metric_catalog import SEQUENCE, TOKEN

CASES = [(k, n) for n in (1, 2, 3, 4, 5, 7, 10, 12, 15, 20, 33, 50, 99) for k in range(n + 1)] + [
    (0, 1000), (1, 1000), (500, 1000), (999, 1000), (1000, 1000), (3, 10_000)]


def rounded(interval: tuple[float, float]) -> tuple[float, float]:
    return round(interval[0], 2), round(interval[1], 2)


# ------------------------------------------------------------------------------------------- the interval


@pytest.mark.parametrize("confidence", [0.95, 0.9, 0.99])
def test_wilson_interval_matches_scipy(confidence):
    from scipy.stats import binomtest

    for successes, n in CASES:
        reference = binomtest(successes, n).proportion_ci(confidence_level=confidence, method="wilson")
        low, high = wilson_interval(successes, n, confidence)
        assert low == pytest.approx(reference.low, abs=1e-10), (successes, n)
        assert high == pytest.approx(reference.high, abs=1e-10), (successes, n)
        assert 0.0 <= low <= successes / n <= high <= 1.0


def test_the_issues_numbers_where_the_bootstrap_is_degenerate():
    assert rounded(wilson_interval(11, 12)) == (0.65, 0.99)
    assert rounded(wilson_interval(12, 15)) == (0.55, 0.93)
    assert rounded(wilson_interval(12, 12)) == (0.76, 1.0) and wilson_interval(12, 12)[1] == 1.0
    assert wilson_interval(0, 12)[0] == 0.0
    # The percentile bootstrap these replace: it can only end at k/n, and says nothing at n/n.
    for outcomes, interval in (([1] * 11 + [0], (0.75, 1.0)), ([1] * 12 + [0] * 3, (0.6, 1.0)), ([1] * 12, (1, 1))):
        bootstrap = bootstrap_metric("accuracy", outcomes)
        assert rounded((bootstrap.ci_low, bootstrap.ci_high)) == interval
    accuracy = proportion_metric("accuracy", [True] * 11 + [False])
    assert (accuracy.value, accuracy.n) == (11 / 12, 12)
    assert rounded((accuracy.ci_low, accuracy.ci_high)) == (0.65, 0.99)


def test_proportion_metric_edges():
    empty = proportion_metric("flip_rate", [])
    assert math.isnan(empty.value) and (empty.ci_low, empty.ci_high, empty.n) == (None, None, 0)
    one = proportion_metric("flip_rate", [1])  # well defined for n = 1, unlike the bootstrap
    assert (one.value, one.n) == (1.0, 1) and (one.ci_low, one.ci_high) == wilson_interval(1, 1)
    assert 0.2 < one.ci_low < 0.21 and one.ci_high == 1.0
    mixed = proportion_metric("x", [True, False, 1, 0, 1.0, np.bool_(True), np.int64(0)])
    assert mixed.value == 4 / 7 and (mixed.ci_low, mixed.ci_high) == wilson_interval(4, 7)
    narrow = proportion_metric("x", [True, False] * 500)
    assert narrow.ci_high - narrow.ci_low < (mixed.ci_high - mixed.ci_low) / 5
    with pytest.raises(ValueError, match="^x: a proportion's outcomes are True/False or 1/0, got \\[0.5\\]"):
        proportion_metric("x", [0.5, 1])
    for successes, n in ((0, 0), (-1, 3), (4, 3)):
        with pytest.raises(ValueError, match="a Wilson interval needs"):
            wilson_interval(successes, n)


# ------------------------------------------------------------------------- the stages against the catalog


def assert_intervals_as_declared(metrics: Sequence[Metric], stage: str, kind: str) -> set[str]:
    """Each metric has the interval its catalog entry declares; returns the kinds of interval seen."""
    seen = set()
    for metric in metrics:
        info = catalog.find_metric(stage, metric.name, kind)
        assert info is not None, (stage, metric.name)
        seen.add(info.interval)
        interval = (metric.ci_low, metric.ci_high)
        if info.interval == catalog.WILSON and metric.n:
            successes = round(metric.value * metric.n)
            assert math.isclose(successes / metric.n, metric.value), metric
            assert interval == pytest.approx(wilson_interval(successes, metric.n), abs=1e-12), metric
        elif info.interval == catalog.BOOTSTRAP and (metric.n is None or metric.n >= 2) and math.isfinite(
                metric.value):
            assert metric.ci_low is not None and metric.ci_low <= metric.ci_high, metric
        else:
            assert interval == (None, None), metric
    return seen


def attack_record(number: int, status: str, label: int = 1, original: int = 1, stopped_by: str = "") -> AttackRecord:
    perturbed = original if status != "successful" else 1 - original
    return AttackRecord(f"e{number}", "a b c d", "a b x d", label, original, perturbed, 0.9, 0.6, status,
                        10 + number, 1 + number % 2, 4, 0.1, stopped_by=stopped_by)


def test_attack_metrics_give_proportions_wilson_intervals():
    from harness.attack.metrics import attack_metrics

    records = [attack_record(0, "skipped", label=0), *(attack_record(n, "successful") for n in range(1, 4)),
               *(attack_record(n, "failed") for n in range(4, 12))]
    metrics = attack_metrics(records, model_forwards=40)
    by_name = {metric.name: metric for metric in metrics}
    assert rounded((by_name["clean_accuracy"].ci_low, by_name["clean_accuracy"].ci_high)) == (0.65, 0.99)
    assert by_name["attack_success_rate"].value == 3 / 11 and by_name["attack_success_rate"].n == 11
    assert assert_intervals_as_declared(metrics, "attack", SEQUENCE) == set(catalog.INTERVALS)
    capped = attack_metrics([*records, attack_record(12, "skipped", stopped_by="time cap")], model_forwards=40)
    under_attack = next(metric for metric in capped if metric.name == "accuracy_under_attack")
    assert (under_attack.value, under_attack.n) == (8 / 12, 12)  # the capped example has no outcome
    assert_intervals_as_declared(capped, "attack", SEQUENCE)
    empty = attack_metrics([], model_forwards=0)
    assert_intervals_as_declared(empty, "attack", SEQUENCE)
    assert all(metric.n == 0 and math.isnan(metric.value) for metric in empty if metric.name.endswith(("accuracy",
                                                                                                         "rate")))


class SentimentPredictor:
    """Positive when the text says "good"."""

    def probabilities(self, texts: Sequence[str]) -> np.ndarray:
        return np.array([[0.2, 0.8] if "good" in text else [0.7, 0.3] for text in texts])

    def predict(self, texts: Sequence[str]) -> list[int]:
        return [int("good" in text) for text in texts]


class Misspell:
    """Turns the first three "good"s into "goood"."""

    def augment(self, texts: list[str], env: object) -> list[str]:
        return [text.replace("good", "goood") if number < 3 else text for number, text in enumerate(texts)]


def sequence_context(examples: Sequence[Example]) -> SimpleNamespace:
    classifier = SimpleNamespace(predictor=SentimentPredictor())
    return SimpleNamespace(classifier=lambda: classifier, build=lambda ref: Misspell(), cell=SimpleNamespace(seed=0),
                           task=SimpleNamespace(test=tuple(examples), label_names=("negative", "positive")))


def payload_metrics(payload: dict) -> list[Metric]:
    return [Metric(**metric) for metric in payload["metrics"]]


def test_the_sequence_evaluate_and_perturb_stages_give_proportions_wilson_intervals(tmp_path):
    from harness.kinds.sequence.stages import evaluate, perturb

    examples = [Example(f"p{number}", f"a good film {number}", 1) for number in range(6)] + [
        Example(f"n{number}", f"a dull film {number}", 0) for number in range(5)] + [Example("x", "not good", 0)]
    context = sequence_context(examples)
    evaluated = payload_metrics(evaluate(context, None, tmp_path / "evaluate", None))
    accuracy = next(metric for metric in evaluated if metric.name == "accuracy")
    assert (accuracy.value, accuracy.n) == (11 / 12, 12)
    assert rounded((accuracy.ci_low, accuracy.ci_high)) == (0.65, 0.99)
    assert assert_intervals_as_declared(evaluated, "evaluate", SEQUENCE) == {catalog.WILSON, catalog.BOOTSTRAP}
    ref = SimpleNamespace(name="misspell", plugin="test", config=SimpleNamespace())
    perturbed = payload_metrics(perturb(context, ref, tmp_path / "perturb", None))
    flips = next(metric for metric in perturbed if metric.name == "flip_rate")
    assert (flips.value, flips.n) == (3 / 12, 12)
    assert assert_intervals_as_declared(perturbed, "perturb", SEQUENCE) == {catalog.WILSON, catalog.NO_INTERVAL}


LABELS = ("O", "B-PER", "I-PER", "B-LOC", "I-LOC")
NAMES = {"Ann": 1, "Bob": 1, "Cid": 1, "Dan": 1, "Paris": 3, "Rome": 3}


def gazetteer(sentences: Sequence[Sequence[str]]) -> list:
    """Tags the names it knows; misses Eve and any misspelled name."""
    from harness.kinds.token.encoding import TokenPrediction

    return [TokenPrediction(tuple(NAMES.get(word, 0) for word in sentence)) for sentence in sentences]


def token_examples() -> list:
    from harness.kinds.token.examples import TokenExample

    sentences = [("Ann met Bob in Paris", (1, 0, 1, 0, 3)), ("Cid saw Rome", (1, 0, 3)), ("Dan ran home", (1, 0, 0)),
                 ("Eve left", (1, 0)), ("it rained", (0, 0))]
    return [TokenExample(f"s{number}", tuple(text.split()), tags) for number, (text, tags) in enumerate(sentences)]


def test_the_token_stages_give_flip_and_success_rates_wilson_intervals(tmp_path):
    from harness.kinds.token import stages
    from harness.kinds.token.examples import TokenExample

    classifier = SimpleNamespace(label_names=LABELS, predictor=SimpleNamespace(tag=gazetteer))
    examples = token_examples()
    evaluated = stages.evaluate(classifier, examples, tmp_path / "evaluate", seed=0)
    assert catalog.WILSON not in assert_intervals_as_declared(evaluated, "evaluate", TOKEN)
    token_accuracy = next(metric for metric in evaluated if metric.name == "token_accuracy")
    assert token_accuracy.ci_low is not None  # words pooled, resampled by sentence: stays a bootstrap

    typos = {"Bob": "Bobb", "Rome": "Rom"}
    augmenter = SimpleNamespace(perturb_tokens=lambda examples, task, env: [
        TokenExample(example.id, tuple(typos.get(word, word) for word in example.tokens), example.tags)
        for example in examples])
    ref = SimpleNamespace(name="typos", plugin="test")
    perturbed = stages.perturb(augmenter, ref, classifier, examples, SimpleNamespace(label_names=LABELS),
                               tmp_path / "perturb", None, seed=0)
    by_name = {metric.name: metric for metric in perturbed}
    assert (by_name["entity_flip_rate"].value, by_name["entity_flip_rate"].n) == (2 / 6, 6)
    assert (by_name["entity_flip_rate/PER"].value, by_name["entity_flip_rate/LOC"].value) == (1 / 4, 1 / 2)
    assert catalog.WILSON in assert_intervals_as_declared(perturbed, "perturb", TOKEN)


def test_the_token_attack_metrics_give_flip_and_success_rates_wilson_intervals():
    from harness.kinds.token.attack import EntityOutcome, NerAttackRecord, entity_attack_metrics

    def record(number: int, tags: tuple, after: tuple, status: str) -> NerAttackRecord:
        words = tuple(f"w{index}" for index in range(len(tags)))
        entities = tuple(EntityOutcome(LABELS[tag][2:], (index, index + 1), (index, index + 1), True,
                                       after[index] == tag, False) for index, tag in enumerate(tags) if tag)
        return NerAttackRecord(f"s{number}", words, words, tags, tags, tags, after, 1.0,
                               0.0 if after != tags else 1.0, status, 5 + number, 1, 0, entities, 0.1)

    records = [record(0, (1, 0, 3), (0, 0, 3), "successful"), record(1, (1, 0, 1), (1, 0, 0), "successful"),
               record(2, (3, 0, 1), (3, 0, 1), "failed"), record(3, (0, 0), (0, 0), "skipped")]
    metrics = entity_attack_metrics(records, LABELS, resamples=50)
    by_name = {metric.name: metric for metric in metrics}
    assert (by_name["attack_success_rate"].value, by_name["attack_success_rate"].n) == (2 / 3, 3)
    assert (by_name["entity_flip_rate"].value, by_name["entity_flip_rate"].n) == (2 / 6, 6)
    assert (by_name["entity_flip_rate/PER"].value, by_name["entity_flip_rate/PER"].n) == (2 / 4, 4)
    assert assert_intervals_as_declared(metrics, "attack", TOKEN) == set(catalog.INTERVALS)
    skipped_only = entity_attack_metrics(records[3:], LABELS, resamples=10)
    flip_rate = next(metric for metric in skipped_only if metric.name == "entity_flip_rate")
    assert flip_rate.n == 0 and (flip_rate.ci_low, flip_rate.ci_high) == (None, None)


def test_the_sample_runs_rows_have_the_declared_intervals(tmp_path):
    from harness.core.store import read_run
    from harness.testing import sample_run_dir

    run = read_run(sample_run_dir(tmp_path))
    seen = set()
    for stage in {row.stage for row in run.results}:
        rows = [Metric(row.metric, row.value, row.ci_low, row.ci_high, row.n) for row in run.results
                if row.stage == stage]
        seen |= assert_intervals_as_declared(rows, stage, SEQUENCE)
    assert seen == set(catalog.INTERVALS)
