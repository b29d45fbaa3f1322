"""Attack worker processes: several processes attack contiguous slices of the examples at once, results merged
in example order.

Why: a TextAttack search spends much of its time in Python (transformations, constraints, goal bookkeeping) that
one process runs on one core, while the model's forward passes are short; N processes keep N cores (or one GPU)
busy. Each worker loads its own copy of the stored model (on a GPU they share the device) and answers its queries
through its own harness predictor; processes are spawned, not forked, because a forked torch runtime is unsafe.
"""

from __future__ import annotations

import dataclasses
import math
import os
from pathlib import Path
from typing import Any, Sequence

from harness.core.types import AttackOutcome, Example, StageEnvironment


@dataclasses.dataclass(frozen=True)
class ClassifierSpec:
    """What a worker needs to load the same classifier (picklable)."""

    trained: Any
    label_names: tuple[str, ...]
    device: str
    max_length: int
    batch_size: int
    kind: Any
    """The classifier's task kind (harness.TaskKind): its model class and predictor."""


def can_use_workers(classifier: Any) -> bool:
    """Workers reload the model from disk: only a stored model (not one still in training) of a known kind
    qualifies."""
    return getattr(classifier, "trained", None) is not None and getattr(classifier, "kind", None) is not None


def attack_in_workers(attack_class: type, config: Any, classifier: Any, examples: Sequence[Example],
                      env: StageEnvironment, workers: int) -> AttackOutcome:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    spec = ClassifierSpec(classifier.trained, tuple(classifier.label_names), str(classifier.device),
                          classifier.max_length, classifier.predictor.batch_size, classifier.kind)
    size = math.ceil(len(examples) / workers)
    slices = [list(examples[start:start + size]) for start in range(0, len(examples), size)]
    threads = max(1, (os.cpu_count() or 1) // len(slices))
    single = dataclasses.replace(config, workers=1)
    bar = env.progress(total=len(examples), desc=f"attack ({len(slices)} workers)", unit="example")
    try:
        with ProcessPoolExecutor(len(slices), mp_context=multiprocessing.get_context("spawn")) as pool:
            futures = [pool.submit(_attack_slice, attack_class, single, spec, part, env.seed, str(env.work_dir),
                                   threads) for part in slices]
            outcomes = []
            for future, part in zip(futures, slices):
                outcomes.append(future.result())
                bar.update(len(part))
    finally:
        bar.close()
    return AttackOutcome(tuple(record for outcome in outcomes for record in outcome.records),
                         sum(outcome.model_forwards for outcome in outcomes))


def _attack_slice(attack_class: type, config: Any, spec: ClassifierSpec, examples: list[Example], seed: int,
                  work_dir: str, threads: int) -> AttackOutcome:
    import torch

    from harness.core.resources import prepare_offline_resources
    from harness.core.seeding import set_seed
    from harness.modeling.models import load_saved_classifier

    torch.set_num_threads(threads)
    prepare_offline_resources(needs_hub=False)
    classifier = load_saved_classifier(spec.trained, spec.label_names, spec.device, spec.max_length, spec.batch_size,
                                       spec.kind)
    set_seed(seed)

    def silent(iterable=None, **kwargs):
        from tqdm import tqdm

        return tqdm(iterable, disable=True, **kwargs)

    outcome = attack_class(config).attack(classifier, examples, StageEnvironment(spec.device, seed, Path(work_dir),
                                                                                  silent))
    forwards = outcome.model_forwards or classifier.predictor.forwards
    return AttackOutcome(outcome.records, forwards)
