"""The stages of a sequence-classification cell (single texts and sentence pairs):

    augment (methods with `augment:`) -> finetune -> evaluate -> attack (each) -> judge (each attack, with
    `judges:`) -> perturb (each) -> explain (each)

- augment: augmented copies of a seeded share of the training split (records/augmented.jsonl), trained on.
- evaluate: accuracy (Wilson interval) and macro F1 (bootstrap interval); records/predictions.jsonl.
- attack: harness.attack.metrics metrics; records/attack.jsonl. Per-example results are cached across runs.
- judge: the suite's judges' verdicts on the attack's successful adversarial examples and the valid success rate
  (harness.attack.judging); records/verdicts.jsonl. Verdicts are cached per judge and pair across runs.
- perturb: invariance to an augmenter: accuracy on the perturbed test set, flip rate; records/perturb.jsonl.
- explain: attributions and their quality (faithfulness, plausibility, stability on the successful adversarial
  examples of the cell's attacks); records/attributions.jsonl, records/stability.jsonl.
"""

from __future__ import annotations

import dataclasses
import json
import random
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional, Sequence

from harness.attack.judging import SuiteJudge, judge_examples, judge_metrics, verdict_records
from harness.attack.metrics import attack_metrics
from harness.core.errors import PluginError
from harness.core.files import atomic_write_json, content_key, read_jsonl, write_jsonl
from harness.core.pairs import attack_record_from_dict, model_input, pair_target_of, perturb_inputs, with_input
from harness.core.statistics import bootstrap_macro_f1, proportion_metric
from harness.core.types import (
    SCHEMA_VERSION,
    AttackOutcome,
    AttackRecord,
    Example,
    ExplainOutcome,
    Metric,
    StageEnvironment,
    WordAttribution,
)
from harness.explain.quality import AdversarialPair, quality_settings, round_robin, score_explanations
from harness.kinds import standard
from harness.kinds.base import StageContext, StageSpec
from harness.modeling.batching import example_in_model_window

if TYPE_CHECKING:
    from harness.core.suite.spec import ComponentRef


def example_key(example: Example) -> str:
    """Content key of one example (the per-example attack cache); a second segment counts only where there is one."""
    values = dataclasses.asdict(example)
    if values.get("text_pair") is None:
        values.pop("text_pair", None)
    return content_key(values)


def cached_attack_record(path: Path) -> Optional[AttackRecord]:
    """An example's cached attack record, or None when there is none or it is damaged (truncated by a kill, edited):
    a damaged one is named and attacked again, and the new record replaces it."""
    if not path.exists():
        return None
    try:
        return attack_record_from_dict(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, TypeError) as error:
        print(f"warning: cached attack record {path} is damaged ({type(error).__name__}); the example is attacked "
              f"again", file=sys.stderr)
        return None


def checked_augmentation(ref: "ComponentRef", augmenter: Any, texts: list[Any], env: StageEnvironment) -> list[str]:
    """augmenter.augment(texts, env), checked to be one string per text."""
    augmented = augmenter.augment(texts, env)
    if (not isinstance(augmented, list) or len(augmented) != len(texts)
            or not all(isinstance(t, str) for t in augmented)):
        raise PluginError(ref.plugin, f"augmenter {ref.name!r} must return a list of {len(texts)} strings, "
                                      f"one per input text")
    return augmented


# ----------------------------------------------------------------------------------------------- augment


def augment_key(context: StageContext, ref: "ComponentRef") -> dict[str, Any]:
    spec = context.cell.method.augment
    return {"train": context.fingerprint(context.cell.train), "pct": spec.pct, "n": spec.n,
            "seed": context.cell.seed}


def augment(context: StageContext, ref: "ComponentRef", building: Path, env: StageEnvironment) -> dict[str, Any]:
    """Augmented copies of a seeded `pct` sample of the training split, `n` per example (recorded, cached).
    Sentence pairs: the segment the augmenter's `pair_target` names ("second" by default) is augmented."""
    spec, train = context.cell.method.augment, context.cell.train
    augmenter = context.build(spec.augmenter)
    chosen = list(train)
    random.Random(context.cell.seed).shuffle(chosen)
    chosen = chosen[: max(1, round(spec.pct * len(chosen)))]
    seen = {model_input(example) for example in train}
    added: list[Example] = []
    for copy in range(spec.n):
        # Each copy draws with its own seed, so n copies of a text can differ.
        copy_env = dataclasses.replace(env, seed=env.seed * 1000 + copy)
        texts = perturb_inputs(chosen,
                               lambda strings: checked_augmentation(spec.augmenter, augmenter, strings, copy_env),
                               pair_target_of(spec.augmenter.config))
        for example, text in zip(chosen, texts):
            if text not in seen:  # an unchanged or repeated text adds nothing to learn from
                seen.add(text)
                added.append(with_input(Example(f"{example.id}~{spec.augmenter.name}{copy}", example.text,
                                                example.label), text))
    write_jsonl(building / "records" / "augmented.jsonl", (dataclasses.asdict(example) for example in added))
    metrics = [Metric("augmented_examples", float(len(added)), n=len(chosen) * spec.n),
               Metric("augmented_share", len(added) / max(1, len(train) + len(added)))]
    return standard.as_payload(metrics)


def train_on_augmented(context: StageContext, ref: "ComponentRef", payload: dict[str, Any]) -> None:
    records = read_jsonl(context.stage_path("augment", payload["key"]) / "records" / "augmented.jsonl")
    context.cell.train = context.cell.train + tuple(Example(**record) for record in records)


def the_augmenter(context: StageContext) -> list["ComponentRef"]:
    augment_spec = context.cell.method.augment
    return [augment_spec.augmenter] if augment_spec is not None else []


# ---------------------------------------------------------------------------------------------- evaluate


def evaluate(context: StageContext, ref: "ComponentRef", building: Path, env: StageEnvironment) -> dict[str, Any]:
    classifier = context.classifier()
    examples = context.task.test
    probabilities = classifier.predictor.probabilities([model_input(example) for example in examples])
    predictions = probabilities.argmax(axis=1)
    labels = [example.label for example in examples]
    write_jsonl(building / "records" / "predictions.jsonl", (
        {"example_id": example.id, "text": example.text,
         **({"text_pair": example.text_pair} if example.text_pair is not None else {}),
         "label": example.label, "prediction": int(prediction), "confidence": float(row[prediction])}
        for example, prediction, row in zip(examples, predictions, probabilities)))
    seed = context.cell.seed
    accuracy = proportion_metric("accuracy", [int(p == label) for p, label in zip(predictions, labels)])
    f1 = bootstrap_macro_f1(labels, predictions, len(context.task.label_names), seed=seed)
    return standard.as_payload([accuracy, f1])


# ------------------------------------------------------------------------------------------------ attack


def attack(context: StageContext, ref: "ComponentRef", building: Path, env: StageEnvironment) -> dict[str, Any]:
    """Attack the examples no earlier run attacked with this model and configuration; reuse the rest.

    Per-example results persist under <cache>/attack-examples/<model+attack key>/, so growing
    max_attack_examples or adding test examples attacks only the new ones.
    """
    examples, cell = context.attack_examples, context.cell
    component = context.component_info(ref)
    example_cache = context.cache_root / "attack-examples" / content_key({
        "model": cell.finetune_key, "attack": ref.name, "plugin_version": component.version,
        "config": standard.config_key(ref.config),
        "seed": cell.seed, "libraries": context.libraries, "schema_version": SCHEMA_VERSION,
        # Results made independent of the other examples (older ones are not), of examples cut to the window.
        "seeding": "per-example", "input": "model window"})
    paths = {example.id: example_cache / f"{example_key(example)}.json" for example in examples}
    reused = {example.id: record for example in examples
              if (record := cached_attack_record(paths[example.id])) is not None}
    todo = [example for example in examples if example.id not in reused]
    forwards = 0
    new_records: list[AttackRecord] = []
    if todo or not examples:
        attacker = context.build(ref)
        classifier = context.classifier()
        windows = [example_in_model_window(example, classifier.tokenizer, classifier.max_length)
                   for example in todo]
        forwards_before = classifier.predictor.forwards
        outcome = attacker.attack(classifier, [example for example, _ in windows], env)
        if not isinstance(outcome, AttackOutcome) or not all(isinstance(r, AttackRecord) for r in outcome.records):
            raise PluginError(ref.plugin, f"attack {ref.name!r} must return AttackOutcome of AttackRecord")
        forwards = outcome.model_forwards or classifier.predictor.forwards - forwards_before
        new_records = list(outcome.records)
    if [record.example_id for record in new_records] == [example.id for example in todo]:
        new_records = [dataclasses.replace(record, characters_cut=cut) if cut else record
                       for record, (_, cut) in zip(new_records, windows)]
        for record in new_records:
            atomic_write_json(paths[record.example_id], dataclasses.asdict(record))
        by_id = {**reused, **{record.example_id: record for record in new_records}}
        records = [by_id[example.id] for example in examples]
    else:
        # The attack brings its own inputs (a static adversarial set such as AdvGLUE): nothing to reuse.
        records = new_records
        reused = {}
    write_jsonl(building / "records" / "attack.jsonl", (dataclasses.asdict(record) for record in records))
    metrics = attack_metrics(records, forwards, seed=cell.seed)
    metrics.append(Metric("reused_examples", float(len(reused)), n=len(records)))
    return standard.as_payload(metrics)


# ------------------------------------------------------------------------------------------------- judge


def judged_attacks(context: StageContext) -> list["ComponentRef"]:
    """The attacks whose adversarial examples the suite's judges judge: every attack this cell finished."""
    if not context.suite.judges:
        return []
    finished = {stage.label for stage in context.cell.finished.get("attack", [])}
    return [ref for ref in context.suite.attacks if ref.label in finished]


def _finished_attack_key(context: StageContext, ref: "ComponentRef") -> str:
    return next(stage.key for stage in context.cell.finished["attack"] if stage.label == ref.label)


def _judge_identity(context: StageContext, judge_ref: "ComponentRef") -> dict[str, Any]:
    component = context.component_info(judge_ref)
    return {"judge": judge_ref.name, "plugin": component.plugin, "version": component.version,
            "config": standard.config_key(judge_ref.config), "libraries": context.libraries}


def judge_key(context: StageContext, ref: "ComponentRef") -> dict[str, Any]:
    return {"attack": _finished_attack_key(context, ref), "stage_version": 1,
            "judges": [{"label": judge_ref.label, **_judge_identity(context, judge_ref)}
                       for judge_ref in context.suite.judges]}


def judge(context: StageContext, ref: "ComponentRef", building: Path, env: StageEnvironment) -> dict[str, Any]:
    """Every judge's verdict on each successful adversarial example of the attack `ref`; the valid success rate."""
    attack_dir = context.stage_path("attack", _finished_attack_key(context, ref))
    records = [attack_record_from_dict(record) for record in read_jsonl(attack_dir / "records" / "attack.jsonl")]
    judges = [SuiteJudge(judge_ref.label, judge_ref.plugin, context.build(judge_ref),
                         bool(getattr(judge_ref.config, "required", True)),
                         content_key(_judge_identity(context, judge_ref)))
              for judge_ref in context.suite.judges]
    verdicts = judge_examples(judges, records, env, context.cache_root / "judge-verdicts")
    required = [suite_judge.label for suite_judge in judges if suite_judge.required]
    write_jsonl(building / "records" / "verdicts.jsonl", verdict_records(records, verdicts, required))
    return standard.as_payload(judge_metrics(records, verdicts, required))


# ----------------------------------------------------------------------------------------------- perturb


def perturb(context: StageContext, ref: "ComponentRef", building: Path, env: StageEnvironment) -> dict[str, Any]:
    """Invariance test: accuracy on the perturbed test set and how often the prediction flips.

    A sentence pair has the segment its augmenter's `pair_target` names perturbed (harness.core.pairs; "second"
    when the config has no such field), and is predicted as the pair."""
    augmenter = context.build(ref)
    examples = context.task.test
    texts = [model_input(example) for example in examples]
    perturbed = perturb_inputs(examples, lambda strings: checked_augmentation(ref, augmenter, strings, env),
                               pair_target_of(ref.config))
    classifier = context.classifier()
    before = classifier.predictor.predict(texts)
    after = classifier.predictor.predict(perturbed)
    write_jsonl(building / "records" / "perturb.jsonl", (
        {"example_id": example.id, "original_text": example.text,
         "perturbed_text": text if isinstance(text, str) else text[0],
         **({} if isinstance(text, str) else {"original_text_pair": example.text_pair,
                                               "perturbed_text_pair": text[1]}),
         "label": example.label, "original_prediction": int(b), "perturbed_prediction": int(a)}
        for example, text, b, a in zip(examples, perturbed, before, after)))
    labels = [example.label for example in examples]
    metrics = [
        proportion_metric("perturbed_accuracy", [int(a == label) for a, label in zip(after, labels)]),
        proportion_metric("flip_rate", [int(a != b) for a, b in zip(after, before)]),
        Metric("changed_text_rate", sum(p != t for p, t in zip(perturbed, texts)) / max(1, len(texts)),
               n=len(texts)),
    ]
    return standard.as_payload(metrics)


# ----------------------------------------------------------------------------------------------- explain


def stability_attacks(context: StageContext, ref: "ComponentRef") -> list[tuple[str, str]]:
    """(attack label, stage key) of the cell's finished attacks whose adversarial examples the explainer's
    stability metrics explain; none when the explainer's config turns stability off."""
    if not quality_settings(ref.config).stability:
        return []
    return [(finished.label, finished.key) for finished in context.cell.finished.get("attack", [])]


def explain_key(context: StageContext, ref: "ComponentRef") -> dict[str, Any]:
    return standard.explain_key(context, ref, [key for _, key in stability_attacks(context, ref)])


def explain(context: StageContext, ref: "ComponentRef", building: Path, env: StageEnvironment) -> dict[str, Any]:
    """Explain the examples, then score the explanations (harness.explain.quality)."""
    explainer = context.build(ref)
    classifier = context.classifier()
    examples = context.explain_examples

    def explain_examples(target_classifier: Any, to_explain: Sequence[Example]) -> ExplainOutcome:
        outcome = explainer.explain(target_classifier, to_explain, env)
        if not isinstance(outcome, ExplainOutcome) or not all(
                isinstance(attribution, WordAttribution) for attribution in outcome.attributions):
            raise PluginError(ref.plugin, f"explainer {ref.name!r} returned {type(outcome).__name__}, "
                                          f"expected ExplainOutcome of WordAttribution")
        explained = {attribution.example_id for attribution in outcome.attributions}
        missing = [example.id for example in to_explain if example.id not in explained]
        if missing:
            raise PluginError(ref.plugin, f"explainer {ref.name!r} returned no attribution for "
                                          f"{len(missing)} of {len(to_explain)} examples (e.g. {missing[0]!r})")
        return outcome

    outcome = explain_examples(classifier, examples)
    # Attack records of examples outside the test split (a static set such as AdvGLUE) have no original here.
    test_by_id = {example.id: example for example in context.task.test}
    write_jsonl(building / "records" / "attributions.jsonl",
                (dataclasses.asdict(attribution) for attribution in outcome.attributions))
    adversarial = round_robin([
        [AdversarialPair(label, example, record["perturbed_text"], record.get("perturbed_text_pair"))
         for record in read_jsonl(context.stage_path("attack", key) / "records" / "attack.jsonl")
         if record["status"] == "successful" and (example := test_by_id.get(record["example_id"])) is not None]
        for label, key in stability_attacks(context, ref)], len(examples))
    quality = score_explanations(explain_examples, classifier, examples, outcome, adversarial,
                                 quality_settings(ref.config), env)
    if quality.stability_records:
        write_jsonl(building / "records" / "stability.jsonl", quality.stability_records)
    metrics = [Metric("explained_examples", float(len(outcome.attributions))), *outcome.metrics, *quality.metrics]
    return standard.as_payload(metrics)


STAGES = (
    StageSpec("augment", components=the_augmenter, key_parts=augment_key, compute=augment, per_component=False,
              finished=train_on_augmented),
    standard.FINETUNE,
    *standard.model_stages(evaluate, attack, perturb, explain, explain_key,
                           judge=StageSpec("judge", components=judged_attacks, key_parts=judge_key, compute=judge,
                                           needs=("finetune",))),
)
