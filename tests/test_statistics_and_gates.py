"""Confidence intervals and gate evaluation on hand-made numbers."""

from __future__ import annotations

import numpy as np

from harness.attack.metrics import attack_metrics
from harness.core.gates import evaluate_gates
from harness.core.statistics import bootstrap_metric, macro_f1
from harness.core.suite import GateSpec
from harness.core.types import AttackRecord, ResultRow


def test_bootstrap_interval_contains_estimate_and_narrows_with_n():
    small = bootstrap_metric("accuracy", [1, 0] * 10)
    large = bootstrap_metric("accuracy", [1, 0] * 500)
    assert small.ci_low <= 0.5 <= small.ci_high
    assert (large.ci_high - large.ci_low) < (small.ci_high - small.ci_low) / 3
    assert bootstrap_metric("accuracy", [1, 1, 1]).ci_low == 1.0


def test_macro_f1():
    labels = np.array([0, 0, 1, 1])
    assert macro_f1(labels, labels, 2) == 1.0
    assert macro_f1(labels, np.array([1, 1, 0, 0]), 2) == 0.0
    assert abs(macro_f1(labels, np.array([0, 0, 0, 1]), 2) - (0.8 + 2 / 3) / 2) < 1e-9


def record(status, label=1, original=1, perturbed=0, words=1):
    return AttackRecord("id", "a b c d", "a b c e", label, original, perturbed, 0.9, 0.6, status, 10, words, 4, 0.1)


def test_attack_metrics_follow_textattack_definitions():
    records = [record("successful"), record("successful", words=2), record("failed", perturbed=1),
               record("skipped", original=0, perturbed=0)]
    metrics = {metric.name: metric for metric in attack_metrics(records, model_forwards=25)}
    assert metrics["clean_accuracy"].value == 0.75
    assert metrics["accuracy_under_attack"].value == 0.25
    assert abs(metrics["attack_success_rate"].value - 2 / 3) < 1e-9
    assert metrics["skipped_examples"].value == 1
    assert metrics["perturbed_word_percentage"].value == 37.5
    assert metrics["model_forwards"].value == 25


def row(method, value, metric="accuracy"):
    return ResultRow("task", "model", method, 0, "evaluate", "", metric, value, value - 0.05, value + 0.05, 100)


def gate(op, threshold, method=None, metric="accuracy"):
    return GateSpec(metric, op, threshold, method, "evaluate", None, f"{metric} {op} {threshold}", None)


def test_gates():
    rows = [row("full", 0.9), row("lora", 0.8)]
    passed, failed, scoped, missing = evaluate_gates(
        [gate(">=", 0.75), gate(">=", 0.85), gate(">=", 0.85, method="full"), gate("<", 0.1, metric="nope")], rows)
    assert passed.passed and passed.measured == 0.8  # the worst row decides
    assert not failed.passed and "lora" in failed.detail and "0.8" in failed.detail
    assert scoped.passed
    assert not missing.passed and "no result matched" in missing.detail
