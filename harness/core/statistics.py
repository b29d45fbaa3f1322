"""Point estimates with bootstrap confidence intervals, the way every metric in the results table is reported."""

from __future__ import annotations

from typing import Callable, Optional, Sequence

import numpy as np

from harness.core.types import Metric

BOOTSTRAP_RESAMPLES = 1000
CONFIDENCE = 0.95


def bootstrap_metric(name: str, values: Sequence[float], statistic: Callable[[np.ndarray], float] = np.mean,
                     seed: int = 0) -> Metric:
    """`statistic` of `values` with a percentile bootstrap CI (resampling examples)."""
    array = np.asarray(values, dtype=np.float64)
    if array.size == 0:
        return Metric(name, float("nan"), None, None, 0)
    point = float(statistic(array))
    if array.size == 1:
        return Metric(name, point, None, None, 1)
    rng = np.random.default_rng(seed)
    samples = rng.integers(0, array.size, size=(BOOTSTRAP_RESAMPLES, array.size))
    estimates = np.array([statistic(array[row]) for row in samples])
    low, high = np.nanpercentile(estimates, [(1 - CONFIDENCE) / 2 * 100, (1 + CONFIDENCE) / 2 * 100])
    return Metric(name, point, float(low), float(high), int(array.size))


def macro_f1(labels: np.ndarray, predictions: np.ndarray, num_labels: Optional[int] = None) -> float:
    classes = range(num_labels) if num_labels else np.unique(np.concatenate([labels, predictions]))
    scores = []
    for cls in classes:
        true_positive = np.sum((predictions == cls) & (labels == cls))
        predicted = np.sum(predictions == cls)
        actual = np.sum(labels == cls)
        if actual == 0 and predicted == 0:
            continue
        scores.append(2 * true_positive / (predicted + actual))
    return float(np.mean(scores)) if scores else 0.0


def bootstrap_macro_f1(labels: Sequence[int], predictions: Sequence[int], num_labels: int, seed: int = 0) -> Metric:
    labels_array = np.asarray(labels)
    predictions_array = np.asarray(predictions)
    return bootstrap_metric(
        "macro_f1",
        np.arange(len(labels_array)),
        statistic=lambda rows: macro_f1(labels_array[rows.astype(int)], predictions_array[rows.astype(int)],
                                        num_labels),
        seed=seed,
    )
