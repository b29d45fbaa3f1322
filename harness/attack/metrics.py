"""Robustness metrics computed the same way for every attack plugin, from its per-example records.

Definitions follow TextAttack's attack summary so numbers are comparable with the literature:
accuracy under attack counts an example as correct only if the model was right and the attack failed;
the success rate is over attacked examples (skipped = already misclassified, not attacked).

An example a time cap stopped before its search decided (`stopped_by`, status "skipped") has no outcome: it is
left out of accuracy under attack and the success rate and counted in `capped_examples`. One a query budget
stopped failed, as in TextAttack: the attacker had no queries left. `cut_examples` counts examples longer than the
model's window, of which only the part the model reads was attacked.

The three rates are proportions of examples and get Wilson score intervals; the means (perturbed words,
queries) get bootstrap intervals (harness.core.statistics says why).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from harness.core.statistics import bootstrap_metric, proportion_metric
from harness.core.types import AttackRecord, Metric


def attack_metrics(records: Sequence[AttackRecord], model_forwards: int, seed: int = 0) -> list[Metric]:
    total = len(records)
    capped = [record for record in records if is_capped(record)]
    decided = [record for record in records if not is_capped(record)]
    attacked = [record for record in records if record.status != "skipped"]
    successful = [record for record in records if record.status == "successful"]
    metrics = [
        proportion_metric("clean_accuracy", [record.original_prediction == record.label for record in records]),
        proportion_metric("accuracy_under_attack", [record.status == "failed" for record in decided]),
        proportion_metric("attack_success_rate", [record.status == "successful" for record in attacked]),
        Metric("attacked_examples", float(len(attacked)), n=total),
        Metric("skipped_examples", float(total - len(attacked)), n=total),
        Metric("capped_examples", float(len(capped)), n=total),
        Metric("cut_examples", float(sum(record.characters_cut > 0 for record in records)), n=total),
        bootstrap_metric(
            "perturbed_word_percentage",
            [100.0 * record.words_perturbed / max(1, record.words_total) for record in successful],
            seed=seed,
        ),
        bootstrap_metric("mean_queries", [record.num_queries for record in attacked], seed=seed),
        Metric("model_forwards", float(model_forwards), n=total),
        Metric("seconds_per_example",
               float(np.mean([record.seconds for record in records])) if records else float("nan"),
               n=total),
    ]
    return metrics


def is_capped(record: AttackRecord) -> bool:
    """Whether a time cap stopped the example's search before it decided (it has no outcome)."""
    return record.status == "skipped" and bool(record.stopped_by)
