"""Is a difference between two runs real? Paired tests on per-example outcomes.

Two runs of the same suite evaluate, attack and perturb the same examples (ids are stable), so their per-example
outcomes pair up: McNemar's exact test for 0/1 outcomes (correct, attack succeeded, prediction flipped), a paired
bootstrap of the mean difference for continuous ones. Used by `harness compare` and by baseline gates, with
Holm-Bonferroni adjusted p-values for a family of tests (`holm_adjusted`) and the best-case power of McNemar's
test (`mcnemar_power`, `detectable_change`, `sufficient_sample`; the model is described in harness.core.gates).

Text generation's corpus metrics (BLEU, chrF: not means of per-example outcomes) are compared on the stored outputs
of the examples both runs saw, with sacreBLEU's paired bootstrap test (harness.core.text_metrics.paired_significance),
and so are its ROUGE and exact match (`GENERATED_OUTPUTS`, `paired_generations`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional, Sequence

import numpy as np

from harness.core.files import read_stage_records
from harness.core.statistics import BOOTSTRAP_RESAMPLES
from harness.core.types import StageRecord, StoredRun


@dataclass(frozen=True)
class PairedTest:
    test: str
    """"mcnemar" or "paired-bootstrap"."""
    p_value: float
    pairs: int
    """Examples present in both runs."""


def mcnemar_exact(only_a: int, only_b: int) -> float:
    """Two-sided exact McNemar p-value from the discordant pairs (binomial test of only_a vs only_b at 1/2)."""
    discordant = only_a + only_b
    if discordant == 0:
        return 1.0
    smaller = min(only_a, only_b)
    tail = sum(math.comb(discordant, k) for k in range(smaller + 1)) / 2 ** discordant
    return min(1.0, 2 * tail)


def holm_adjusted(p_values: Sequence[float]) -> list[float]:
    """Holm-Bonferroni step-down adjusted p-values, in the order given: with the m p-values sorted ascending,
    adjusted p_(i) = max over j <= i of min(1, (m - j + 1) p_(j)). Rejecting where adjusted p < alpha keeps the
    chance of any false rejection in the family at most alpha, whatever the dependence between the tests."""
    order = sorted(range(len(p_values)), key=lambda index: p_values[index])
    adjusted = [1.0] * len(p_values)
    running = 0.0
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (len(p_values) - rank) * p_values[index]))
        adjusted[index] = running
    return adjusted


CORRECTIONS = ("holm", "none")
"""Multiple-comparison corrections of a family of paired tests: Holm-Bonferroni (the default) or none."""


def corrected(p_values: Sequence[float], correction: str) -> list[Optional[float]]:
    """The family's adjusted p-values under `correction` ("holm"), or None for each with "none"."""
    if correction not in CORRECTIONS:
        raise ValueError(f"unknown multiple-comparison correction {correction!r}; choose one of "
                         f"{', '.join(CORRECTIONS)}")
    return list(holm_adjusted(p_values)) if correction == "holm" else [None] * len(p_values)


POWER = 0.8
"""The power a sample must have to detect a change: the usual 80%."""


def mcnemar_critical_count(alpha: float) -> int:
    """The fewest discordant pairs, all one way, that McNemar's exact test finds significant at `alpha` (6 at
    0.05)."""
    count = 1
    while mcnemar_exact(0, count) >= alpha:
        count += 1
    return count


def mcnemar_power(pairs: int, change: float, alpha: float) -> float:
    """The best-case power of McNemar's exact test on `pairs` paired 0/1 outcomes to detect a change of the rate by
    `change`: every example that changes moves the same way, so the discordant count is Binomial(pairs, change), all
    one way, and the test rejects when it reaches `mcnemar_critical_count(alpha)`."""
    needed = mcnemar_critical_count(alpha)
    if pairs < needed or change <= 0:
        return 0.0
    if change >= 1:
        return 1.0
    fewer = sum(math.comb(pairs, k) * change ** k * (1 - change) ** (pairs - k) for k in range(needed))
    return min(1.0, max(0.0, 1.0 - fewer))


def detectable_change(pairs: int, alpha: float, largest: float = 1.0) -> Optional[float]:
    """The smallest change of a rate that `pairs` paired examples detect with 80% power at `alpha` (best case, see
    `mcnemar_power`); None when not even `largest` (the most the rate can move) is detectable."""
    if largest <= 0 or mcnemar_power(pairs, largest, alpha) < POWER:
        return None
    low, high = 0.0, largest
    while high - low > 1e-9:
        middle = (low + high) / 2
        low, high = (middle, high) if mcnemar_power(pairs, middle, alpha) < POWER else (low, middle)
    return high


def sufficient_sample(change: float, alpha: float) -> Optional[int]:
    """The fewest paired examples that detect a change of `change` with 80% power at `alpha` (best case); None for
    a change of 0, which no sample detects."""
    if change <= 0:
        return None
    high = mcnemar_critical_count(alpha)
    while mcnemar_power(high, change, alpha) < POWER:
        high *= 2
    low = high // 2  # power(low) < POWER, or low is below the critical count
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (middle, high) if mcnemar_power(middle, change, alpha) < POWER else (low, middle)
    return high


def paired_bootstrap_p(a: Sequence[float], b: Sequence[float], seed: int = 0) -> float:
    """Two-sided p-value that the mean of b - a is zero, from the bootstrap distribution of the mean difference
    (centred under the null)."""
    differences = np.asarray(b, dtype=np.float64) - np.asarray(a, dtype=np.float64)
    if differences.size < 2 or np.allclose(differences, differences[0]):
        return 1.0 if differences.size == 0 or differences[0] == 0 else 0.0
    rng = np.random.default_rng(seed)
    observed = differences.mean()
    centred = differences - observed
    means = centred[rng.integers(0, differences.size, size=(BOOTSTRAP_RESAMPLES, differences.size))].mean(axis=1)
    return float(min(1.0, (np.sum(np.abs(means) >= abs(observed)) + 1) / (BOOTSTRAP_RESAMPLES + 1)))


def paired_outcomes(a: dict[str, float], b: dict[str, float], binary: bool) -> Optional[PairedTest]:
    """The paired test of per-example outcomes keyed by example id; None when no example is in both."""
    common = sorted(set(a) & set(b))
    if not common:
        return None
    if binary:
        only_a = sum(1 for key in common if a[key] and not b[key])
        only_b = sum(1 for key in common if b[key] and not a[key])
        return PairedTest("mcnemar", mcnemar_exact(only_a, only_b), len(common))
    return PairedTest("paired-bootstrap", paired_bootstrap_p([a[key] for key in common], [b[key] for key in common]),
                      len(common))


# metric -> (stage record file, per-example outcome, binary?): the metrics whose per-example outcomes are stored.
OutcomeOf = Callable[[dict], Optional[float]]
PER_EXAMPLE_OUTCOMES: dict[tuple[str, str], tuple[str, OutcomeOf, bool]] = {
    ("evaluate", "accuracy"): ("predictions", lambda r: float(r["prediction"] == r["label"]), True),
    ("attack", "accuracy_under_attack"): ("attack", lambda r: float(r["status"] == "failed"), True),
    ("attack", "attack_success_rate"): ("attack", lambda r: None if r["status"] == "skipped"
                                        else float(r["status"] == "successful"), True),
    ("perturb", "perturbed_accuracy"): ("perturb", lambda r: float(r["perturbed_prediction"] == r["label"]), True),
    ("perturb", "flip_rate"): ("perturb", lambda r: float(r["perturbed_prediction"] != r["original_prediction"]),
                               True),
}

GENERATED_OUTCOMES: dict[tuple[str, str], tuple[str, OutcomeOf, bool]] = {
    ("evaluate", "accuracy"): ("generations", lambda r: r.get("correct"), True),
}
"""The same for a text generation stage whose records differ (a classification task posed as a prompt: `correct`
per output), tried when the stage has no records of PER_EXAMPLE_OUTCOMES' file."""


def stage_outcomes(run: StoredRun, stage: StageRecord, metric: str) -> Optional[dict[str, float]]:
    """Per-example outcomes of `metric` in one stage of a run, keyed by example id; None if not stored."""
    for specs in (PER_EXAMPLE_OUTCOMES, GENERATED_OUTCOMES):
        spec = specs.get((stage.kind, metric))
        if spec is None:
            continue
        name, outcome_of, _ = spec
        records = read_stage_records(Path(run.run_dir), stage.stage_id, name)
        if records:
            break
    else:
        return None
    outcomes = {}
    for record in records:
        value = outcome_of(record)
        if value is not None:
            outcomes[record["example_id"]] = value
    return outcomes


def is_binary(stage_kind: str, metric: str) -> bool:
    return PER_EXAMPLE_OUTCOMES.get((stage_kind, metric), ("", None, False))[2]


SCORED_TEXT_METRICS = ("bleu", "chrf", "rouge1", "rouge2", "rougeL", "exact_match")
GENERATED_OUTPUTS: dict[tuple[str, str], tuple[str, str, str]] = {
    **{("evaluate", metric): ("generations", "output", metric) for metric in SCORED_TEXT_METRICS},
    **{("perturb", f"perturbed_{metric}"): ("generation-perturb", "output_after", metric)
       for metric in SCORED_TEXT_METRICS},
    **{("attack", f"attacked_{metric}"): ("prompt-attack-outputs", "output_after", metric)
       for metric in SCORED_TEXT_METRICS},
}
"""(stage kind, metric) -> (stage record file, the output's field, the text metric scoring it): the text generation
metrics `harness compare` tests on the stored outputs."""


def stage_generations(run: StoredRun, stage: StageRecord, metric: str) -> Optional[dict[str, tuple[str, tuple]]]:
    """Example id -> (output, references) of a generation stage for `metric`; None if not stored."""
    spec = GENERATED_OUTPUTS.get((stage.kind, metric))
    if spec is None:
        return None
    name, field, _ = spec
    records = read_stage_records(Path(run.run_dir), stage.stage_id, name)
    if not records:
        return None
    return {record["example_id"]: (record.get(field) or "", tuple(record.get("references") or ()))
            for record in records if record.get("references")}


def paired_generations(stage_kind: str, metric: str, a: dict[str, tuple[str, tuple]],
                       b: dict[str, tuple[str, tuple]]) -> Optional[PairedTest]:
    """sacreBLEU's paired bootstrap test of `metric` on the outputs of the examples in both (same references)."""
    from harness.core.text_metrics import paired_significance

    common = sorted(key for key in set(a) & set(b) if a[key][1] == b[key][1])
    if len(common) < 2:
        return None
    result = paired_significance([a[key][0] for key in common], [b[key][0] for key in common],
                                 [a[key][1] for key in common], GENERATED_OUTPUTS[(stage_kind, metric)][2])
    return PairedTest("paired-bootstrap (sacreBLEU)", result.p_value, len(common))
