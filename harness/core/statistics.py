"""Point estimates with 95% confidence intervals, the way every metric in the results table is reported.

Which interval a metric gets depends on what it is:

- A proportion (a share of examples with a yes/no outcome: accuracy, accuracy under attack, attack success rate,
  flip rate) gets a Wilson score interval (`proportion_metric`, `wilson_interval`; Wilson 1927). The percentile
  bootstrap of a proportion is degenerate on the small samples robustness runs use: it can only take values k/n,
  and all-correct samples give [1, 1] (12/12), while 11/12 gives [0.75, 1.00] against Wilson's [0.65, 0.99].
  Brown, Cai & DasGupta (2001, "Interval Estimation for a Binomial Proportion", Statistical Science 16(2))
  show that the Wald interval (and the bootstrap, which behaves like it) covers far less than its nominal level
  for small n or p near 0 or 1, and recommend the Wilson interval. It is well defined for n = 1 and for 0/n
  and n/n, so every non-empty sample gets one.
- Anything else (macro F1, entity F1, AOPC, correlations, means of per-example scores or counts, token accuracy
  pooled over sentences) gets a percentile bootstrap interval (`bootstrap_metric`): resampling the examples needs
  no distributional form and respects a statistic computed over a whole corpus.

An empty sample gives NaN with n = 0 and no interval, either way.
"""

from __future__ import annotations

import math
from statistics import NormalDist
from typing import Callable, Optional, Sequence, Union

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


def wilson_interval(successes: int, n: int, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """The Wilson score interval (Wilson 1927) of a binomial proportion `successes` / `n`, n >= 1."""
    if n < 1 or not 0 <= successes <= n:
        raise ValueError(f"a Wilson interval needs 0 <= successes <= n and n >= 1, got {successes} of {n}")
    z = NormalDist().inv_cdf((1 + confidence) / 2)
    share = successes / n
    denominator = 1 + z * z / n
    centre = (share + z * z / (2 * n)) / denominator
    half_width = z / denominator * math.sqrt(share * (1 - share) / n + z * z / (4 * n * n))
    # Exact at the ends (the formula gives 0 and 1 there, up to rounding).
    low = 0.0 if successes == 0 else max(0.0, centre - half_width)
    high = 1.0 if successes == n else min(1.0, centre + half_width)
    return float(low), float(high)


def proportion_metric(name: str, outcomes: Sequence[Union[bool, int, float]],
                      confidence: float = CONFIDENCE) -> Metric:
    """The share of true `outcomes` (each True/False or 1/0) with its Wilson score interval; n = len(outcomes)."""
    values = list(outcomes)
    if not values:
        return Metric(name, float("nan"), None, None, 0)
    if not all(value in (0, 1) for value in values):
        raise ValueError(f"{name}: a proportion's outcomes are True/False or 1/0, got "
                         f"{sorted({value for value in values if value not in (0, 1)})[:5]}")
    successes = sum(bool(value) for value in values)
    low, high = wilson_interval(successes, len(values), confidence)
    return Metric(name, successes / len(values), low, high, len(values))


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
