"""Adversarial training of a text classifier: the rounds of attacks on the model being trained that give the
shared training loop its adversarial examples (harness.AdversarialTraining)."""

from __future__ import annotations

import dataclasses
import math
import random
import time
from pathlib import Path
from typing import Any

from harness.core.errors import PluginError
from harness.core.files import write_jsonl
from harness.core.types import (
    AdversarialRound,
    AdversarialTraining,
    AttackOutcome,
    AttackRecord,
    Example,
    StageEnvironment,
)
from harness.kinds.base import StageContext
from harness.modeling.batching import example_in_model_window


def adversarial_training(context: StageContext, building: Path, env: StageEnvironment,
                         rounds: list[AdversarialRound]) -> AdversarialTraining:
    """The `generate` callback of adversarial training: attack the model being trained on a seeded shuffle
    of the training split until a round has its target of successful adversarial examples.

    Like TextAttack's Trainer (num_successful_examples with shuffle), examples are attacked in order until
    enough attacks succeed or the split runs out. Each round's attack records are kept under
    records/adversarial-epoch<N>.jsonl of the finetune stage.
    """
    cell = context.cell
    spec = cell.method.adversarial
    train = list(cell.train)
    target = spec.target_examples(len(train))

    def generate(epoch: int, model: Any, tokenizer: Any) -> AdversarialRound:
        started = time.perf_counter()
        order = train[:]
        random.Random(cell.seed * 100_003 + epoch).shuffle(order)
        records = attack_until(context, spec, classifier_in_training(context, model, tokenizer), order, target,
                               dataclasses.replace(env, seed=cell.seed * 1000 + epoch))
        successful = [record for record in records if record.status == "successful"]
        write_jsonl(building / "records" / f"adversarial-epoch{epoch}.jsonl",
                    (dataclasses.asdict(record) for record in records))
        result = AdversarialRound(
            epoch=epoch, attacked=sum(record.status != "skipped" for record in records),
            successful=len(successful),
            examples=tuple(Example(f"{record.example_id}~adv{epoch}", record.perturbed_text, record.label,
                                   text_pair=getattr(record, "perturbed_text_pair", None))
                           for record in (successful if spec.examples == -1 else successful[:target])),
            seconds=time.perf_counter() - started)
        rounds.append(result)
        return result

    return AdversarialTraining(clean_epochs=spec.clean_epochs, attack_epoch_interval=spec.attack_epoch_interval,
                               alpha=spec.alpha, expected_examples=target, generate=generate)


def classifier_in_training(context: StageContext, model: Any, tokenizer: Any) -> Any:
    from harness.modeling.models import LoadedClassifier

    source = context.cell.model.source
    predictor = context.kind.make_predictor(model, tokenizer, context.device, source.max_length,
                                            context.cell.model.batch_size, context.task.label_names)
    return LoadedClassifier(model, tokenizer, predictor, context.task.label_names, context.device, source.max_length)


def attack_until(context: StageContext, spec: Any, classifier: Any, order: list[Example], target: int,
                 env: StageEnvironment) -> list[AttackRecord]:
    """Attack `order` a chunk at a time until `target` attacks succeeded (all of it when spec.examples is -1)."""
    attack_ref = spec.attack
    attacker = context.build(attack_ref)
    attack_everything = spec.examples == -1
    records: list[AttackRecord] = []
    successes = 0
    position = 0
    while position < len(order) and (attack_everything or successes < target):
        # Attack a chunk at a time: big enough to batch well, small enough not to overshoot much
        # (a quarter more than the successes still missing, as most attacks on a trained model succeed).
        size = len(order) if attack_everything else max(8, math.ceil(1.25 * (target - successes)))
        chunk = order[position:position + size]
        position += len(chunk)
        # Cut to the model's window, as the attack stage does: training reads no further either.
        outcome = attacker.attack(classifier, [example_in_model_window(example, classifier.tokenizer,
                                                                   classifier.max_length)[0]
                                           for example in chunk], env)
        if (not isinstance(outcome, AttackOutcome)
                or [record.example_id for record in outcome.records] != [example.id for example in chunk]):
            raise PluginError(attack_ref.plugin, f"attack {attack_ref.name!r} cannot generate adversarial "
                                                 f"training examples: it must return one AttackRecord per "
                                                 f"given example, in order (a static adversarial set brings "
                                                 f"its own inputs instead)")
        records.extend(outcome.records)
        successes += sum(record.status == "successful" for record in outcome.records)
    return records
