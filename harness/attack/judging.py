"""The judge stage's logic, shared by every kind whose attacks write `AttackRecord`s: every judge the suite names
gives a verdict on every successful adversarial example of an attack, and the metrics say how many of the attack's
successes are valid.

Why: an attack "succeeds" when the prediction flips, whether or not the perturbed text still means what the
original meant. Morris et al. (2020, "Reevaluating Adversarial Examples in Natural Language") had people rate the
adversarial examples of two synonym-swap attacks and found that many changed the meaning or added grammar errors.
The raw success rate then overstates how fragile the model is; the valid success rate counts only the successes
every *required* judge accepts (a judge with `required: false` is reported, not counted).

Metrics of the judge stage of one attack (component = the attack's label):
- `judged_examples`: successful adversarial examples judged;
- `judge_acceptance/<judge>`: the share of them each judge accepts (Wilson interval);
- `valid_adversarial_share`: the share every required judge accepts;
- `valid_success_rate`: valid successes over attacked examples (the attack's success rate, counting only valid
  adversarial examples);
- `valid_accuracy_under_attack`: the share of decided examples the model got right and the attack found no valid
  adversarial example for.

Verdicts are cached per judge and example (`<cache>/judge-verdicts/`), so adding a judge to a suite or growing the
attacked sample judges only what is new.
"""

from __future__ import annotations

import traceback
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Mapping, Optional, Sequence

from harness.attack.metrics import is_capped
from harness.core.errors import PluginError, code_places, innermost_frame_in
from harness.core.files import atomic_write_json, content_key
from harness.core.statistics import proportion_metric
from harness.core.types import AttackRecord, Metric, StageEnvironment, Verdict


@dataclass(frozen=True)
class JudgeSettings:
    """What every judge's config has; extend it for yours."""

    required: bool = True
    """Whether a rejection makes an adversarial example invalid (it then does not count in `valid_success_rate`);
    false: the judge's verdicts are reported only."""
    batch_size: int = 32

    def __post_init__(self) -> None:
        if self.batch_size < 1:
            raise ValueError("batch_size must be a positive integer")


@dataclass(frozen=True)
class SuiteJudge:
    """One judge of the suite, ready to run: its label (`name:` or the plugin name), plugin, the object its
    factory built, and what its verdicts are cached under (plugin version, config, library versions)."""

    label: str
    plugin: str
    judge: Any
    required: bool
    cache_key: str


def judged_records(records: Sequence[AttackRecord]) -> list[AttackRecord]:
    """The records judges look at: the successful adversarial examples."""
    return [record for record in records if record.status == "successful"]


def judge_examples(judges: Sequence[SuiteJudge], records: Sequence[AttackRecord], env: StageEnvironment,
                   cache_dir: Path) -> dict[str, list[Verdict]]:
    """judge label -> one verdict per successful record (in order), from the cache where a verdict is there."""
    successful = judged_records(records)
    verdicts: dict[str, list[Verdict]] = {}
    for suite_judge in judges:
        folder = cache_dir / suite_judge.cache_key
        paths = [folder / f"{_pair_key(record)}.json" for record in successful]
        found: dict[int, Verdict] = {}
        for index, path in enumerate(paths):
            cached = _cached_verdict(path)
            if cached is not None:
                found[index] = cached
        todo = [index for index in range(len(successful)) if index not in found]
        if todo:
            new = _run_judge(suite_judge, [successful[index] for index in todo], env)
            for index, verdict in zip(todo, new):
                atomic_write_json(paths[index], asdict(verdict))
                found[index] = verdict
        verdicts[suite_judge.label] = [found[index] for index in range(len(successful))]
    return verdicts


def _run_judge(suite_judge: SuiteJudge, records: list[AttackRecord], env: StageEnvironment) -> list[Verdict]:
    try:
        verdicts = list(suite_judge.judge.judge(records, env))
    except PluginError:
        raise
    except Exception as error:
        # The stage is the attack's; the message must point at the judge's own code.
        where = innermost_frame_in(traceback.format_exc(), code_places(type(suite_judge.judge)))
        raise PluginError(suite_judge.plugin, f"judge {suite_judge.label!r} failed: {type(error).__name__}: "
                                              f"{error}" + (f" (at {where})" if where else "")) from error
    if len(verdicts) != len(records) or not all(isinstance(verdict, Verdict) for verdict in verdicts):
        raise PluginError(suite_judge.plugin, f"judge {suite_judge.label!r} must return one harness.Verdict per "
                                              f"record ({len(records)}), got {len(verdicts)} items")
    return verdicts


def _pair_key(record: AttackRecord) -> str:
    """What a verdict depends on: the two texts (and the label, which an entailment judge may read)."""
    return content_key({"original": [record.original_text, record.original_text_pair],
                        "perturbed": [record.perturbed_text, record.perturbed_text_pair], "label": record.label})


def _cached_verdict(path: Path) -> Optional[Verdict]:
    import json

    try:
        return Verdict(**json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        return None  # absent or damaged: judged again


def verdict_records(records: Sequence[AttackRecord], verdicts: Mapping[str, Sequence[Verdict]],
                    required: Sequence[str]) -> list[dict[str, Any]]:
    """records/verdicts.jsonl: per successful adversarial example, each judge's verdict and whether it is valid."""
    rows = []
    for index, record in enumerate(judged_records(records)):
        of_example = {label: asdict(judged[index]) for label, judged in verdicts.items()}
        rows.append({"example_id": record.example_id, "verdicts": of_example,
                     "valid": all(of_example[label]["accepted"] for label in required)})
    return rows


def judge_metrics(records: Sequence[AttackRecord], verdicts: Mapping[str, Sequence[Verdict]],
                  required: Sequence[str]) -> list[Metric]:
    """The judge stage's metrics (see the module docstring)."""
    successful = judged_records(records)
    valid_ids = {record.example_id for index, record in enumerate(successful)
                 if all(verdicts[label][index].accepted for label in required)}
    attacked = [record for record in records if record.status != "skipped"]
    decided = [record for record in records if not is_capped(record)]
    metrics = [Metric("judged_examples", float(len(successful)), n=len(successful))]
    metrics += [proportion_metric(f"judge_acceptance/{label}", [verdict.accepted for verdict in judged])
                for label, judged in verdicts.items()]
    metrics += [
        proportion_metric("valid_adversarial_share", [record.example_id in valid_ids for record in successful]),
        proportion_metric("valid_success_rate", [record.example_id in valid_ids for record in attacked]),
        proportion_metric("valid_accuracy_under_attack",
                          [record.status == "failed" or (record.status == "successful"
                                                         and record.example_id not in valid_ids)
                           for record in decided]),
    ]
    return metrics
