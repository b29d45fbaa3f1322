"""What every kind's stages share: the finetune stage, the key parts of the evaluation stages, and the checks of
what a stage's component returned.

The finetune stage is the same for every kind: the kind only says what its validation score is called and how
adversarial training attacks its models (`TaskKind.adversarial_training`).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Optional

from harness.core.errors import PluginError
from harness.core.files import write_jsonl
from harness.core.types import (
    AdversarialRound,
    EpochRecord,
    Metric,
    ModelSource,
    StageEnvironment,
    TrainedModel,
    TrainRequest,
)
from harness.kinds.base import StageContext, StageSpec

if TYPE_CHECKING:
    from harness.core.suite.spec import ComponentRef


def config_key(config: Any) -> Any:
    """A component config as stage keys hash it. `pair_target` (harness.core.pairs), added to configs after keys were
    first computed, counts only when it differs from its default, so the configs of existing suites keep their
    keys."""
    if (dataclasses.is_dataclass(config) and not isinstance(config, type)
            and getattr(config, "pair_target", "second") == "second"
            and any(field.name == "pair_target" for field in dataclasses.fields(config))):
        return {field.name: getattr(config, field.name) for field in dataclasses.fields(config)
                if field.name != "pair_target"}
    return config


def as_payload(metrics: Any) -> dict[str, Any]:
    return {"metrics": [dataclasses.asdict(metric) for metric in metrics]}


# ---------------------------------------------------------------------------------------------- finetune


def adversarial_key(context: StageContext, method: "ComponentRef") -> dict[str, Any]:
    """What of a method's adversarial training changes the trained model (nothing if it has none)."""
    spec = method.adversarial
    if spec is None:
        return {}
    component = context.component_info(spec.attack)
    return {"adversarial": {
        "attack": spec.attack.name, "plugin": component.plugin, "plugin_version": component.version,
        "config": config_key(spec.attack.config), "clean_epochs": spec.clean_epochs,
        "attack_epoch_interval": spec.attack_epoch_interval, "examples": spec.examples, "alpha": spec.alpha,
    }}


def finetune_key(context: StageContext, method: "ComponentRef") -> dict[str, Any]:
    suite, cell = context.suite, context.cell
    source = cell.model.source
    return {
        # What the model is (its content hash or hub commit), not what it is called: a directory retrained in
        # place or a hub model updated upstream is a new model. Its location and name do not count.
        "base": {**dataclasses.asdict(source), "name": None, "location": None, "adapter_base": None,
                 "identity": cell.model_identity},
        "train": context.fingerprint(cell.train),
        "validation": context.fingerprint(context.task.validation),
        "label_names": context.task.label_names,
        # Only the budgets that change training; the data budgets are in the fingerprints above, and the
        # attack/explain budgets must not retrain the model.
        "training_budgets": (suite.budgets.max_epochs, suite.budgets.max_steps),
        "seed": cell.seed,
        **adversarial_key(context, method),
    }


def finetune(context: StageContext, method: "ComponentRef", building: Path, env: StageEnvironment) -> dict[str, Any]:
    from harness.modeling.memory import PeakMemory

    finetuner = context.build(method)
    rounds: list[AdversarialRound] = []
    adversarial = (context.kind.adversarial_training(context, building, env, rounds)
                   if method.adversarial else None)
    request = TrainRequest(base=context.cell.model.source, data=context.cell_task(), budgets=context.suite.budgets,
                           output_dir=building / "model", env=env, adversarial=adversarial, task_kind=context.kind)
    with PeakMemory(context.device) as peak_memory:
        trained = finetuner.train(request)
    check_trained(method, trained, building, adversarial is not None and not rounds)
    model_dir = Path(trained.model_dir).resolve()
    # A model tested as is stays where it is (its content is in the stage key); a trained one is in the stage.
    stored_dir = str(model_dir) if trained.loaded_as is not None else str(model_dir.relative_to(building.resolve()))
    metrics = [
        Metric("trainable_parameters", float(trained.trainable_parameters)),
        Metric("total_parameters", float(trained.total_parameters)),
        Metric("trainable_percentage", 100.0 * trained.trainable_parameters / max(1, trained.total_parameters)),
        Metric("train_seconds", trained.train_seconds),
        Metric("train_examples", float(trained.train_examples)),
        Metric(peak_memory.metric_name, peak_memory.megabytes),
        *history_metrics(context, trained),
        *trained.metrics,
        *adversarial_metrics(rounds, building),
    ]
    # The training curve, for the report's charts.
    write_jsonl(building / "records" / "history.jsonl", (dataclasses.asdict(record) for record in trained.history))
    return {
        "trained": {
            "model_dir": stored_dir,
            "loaded_as": dataclasses.asdict(trained.loaded_as) if trained.loaded_as else None,
            "label_order": list(trained.label_order),
            "adapter_of": dataclasses.asdict(trained.adapter_of) if trained.adapter_of else None,
            "trainable_parameters": trained.trainable_parameters,
            "total_parameters": trained.total_parameters,
            "train_seconds": trained.train_seconds,
            "train_examples": trained.train_examples,
            "history": [dataclasses.asdict(record) for record in trained.history],
        },
        "metrics": [dataclasses.asdict(metric) for metric in metrics],
    }


def check_trained(method: "ComponentRef", trained: Any, building: Path, ignored_adversarial: bool) -> None:
    if not isinstance(trained, TrainedModel):
        raise PluginError(method.plugin, f"finetuner {method.name!r} returned {type(trained).__name__}, "
                                         f"expected TrainedModel")
    if ignored_adversarial:
        raise PluginError(method.plugin, f"finetuner {method.name!r} ignored the adversarial training the suite "
                                         f"asks for (TrainRequest.adversarial); train it through "
                                         f"harness.train_and_save or call request.adversarial.generate")
    model_dir = Path(trained.model_dir).resolve()
    if trained.loaded_as is None and building.resolve() not in model_dir.parents and model_dir != building.resolve():
        raise PluginError(method.plugin, f"finetuner {method.name!r} saved its model outside "
                                         f"request.output_dir ({model_dir})")


def history_metrics(context: StageContext, trained: TrainedModel) -> list[Metric]:
    last = trained.history[-1] if trained.history else None
    if last is None:
        return []
    metrics = [Metric("final_train_loss", last.train_loss)]
    best = max((record.validation_accuracy for record in trained.history
                if record.validation_accuracy is not None), default=None)
    if best is not None:
        # What the validation score is depends on the kind (accuracy; entity F1 for NER).
        metrics.append(Metric(context.kind.training.best_validation_metric, best))
    return metrics


def adversarial_metrics(rounds: list[AdversarialRound], building: Path) -> list[Metric]:
    if not rounds:
        return []
    attacked = sum(round_.attacked for round_ in rounds)
    successful = sum(round_.successful for round_ in rounds)
    write_jsonl(building / "records" / "adversarial-rounds.jsonl", (
        {"epoch": round_.epoch, "attacked": round_.attacked, "successful": round_.successful,
         "trained_on": len(round_.examples), "seconds": round_.seconds} for round_ in rounds))
    return [
        Metric("adversarial_rounds", float(len(rounds))),
        Metric("adversarial_examples", float(sum(len(round_.examples) for round_ in rounds))),
        Metric("adversarial_train_success_rate", successful / max(1, attacked), n=attacked),
        Metric("adversarial_seconds", sum(round_.seconds for round_ in rounds)),
    ]


def trained_from_payload(payload: dict[str, Any], stage_dir: Path) -> TrainedModel:
    trained = payload["trained"]
    return TrainedModel(
        model_dir=stage_dir / trained["model_dir"],
        adapter_of=_model_source(trained["adapter_of"]),
        trainable_parameters=trained["trainable_parameters"],
        total_parameters=trained["total_parameters"],
        train_seconds=trained["train_seconds"],
        train_examples=trained["train_examples"],
        history=tuple(EpochRecord(**record) for record in trained["history"]),
        loaded_as=_model_source(trained.get("loaded_as")),
        label_order=tuple(trained.get("label_order", ())),
    )


def _model_source(values: Optional[dict[str, Any]]) -> Optional[ModelSource]:
    if not values:
        return None
    return ModelSource(**{**values, "label_map": tuple(tuple(pair) for pair in values.get("label_map", ()))})


def keep_trained_model(context: StageContext, method: "ComponentRef", payload: dict[str, Any]) -> None:
    context.cell.finetune_key = payload["key"]
    context.cell.trained = trained_from_payload(payload, context.stage_path("finetune", payload["key"]))


FINETUNE = StageSpec("finetune", components=lambda context: [context.cell.method], key_parts=finetune_key,
                     compute=finetune, needs=("augment",), per_component=False, rows_name_component=False,
                     finished=keep_trained_model)


# ------------------------------------------------------------------------------- key parts of model stages


def evaluate_key(context: StageContext, ref: "ComponentRef") -> dict[str, Any]:
    # stage_version 2: Wilson score intervals for proportions (accuracy) instead of the percentile bootstrap.
    return {"model": context.cell.finetune_key, "test": context.fingerprint(context.task.test), "stage_version": 2}


def attack_key(context: StageContext, ref: "ComponentRef") -> dict[str, Any]:
    # stage_version 2: examples cut to the model's window before the attack; cut_examples and capped_examples.
    # stage_version 3: Wilson score intervals for proportions (accuracies, success and flip rates). The
    # per-example attack cache has its own key: a re-run recomputes the metrics from the cached records.
    return {"model": context.cell.finetune_key, "examples": context.fingerprint(context.attack_examples),
            "seed": context.cell.seed, "seeding": "per-example", "stage_version": 3}


def perturb_key(context: StageContext, ref: "ComponentRef") -> dict[str, Any]:
    # stage_version 2: Wilson score intervals for proportions (perturbed accuracy, flip rates).
    return {"model": context.cell.finetune_key, "test": context.fingerprint(context.task.test),
            "seed": context.cell.seed, "stage_version": 2}


def explain_key(context: StageContext, ref: "ComponentRef", attack_keys: list[str]) -> dict[str, Any]:
    return {"model": context.cell.finetune_key, "examples": context.fingerprint(context.explain_examples),
            "seed": context.cell.seed,
            # The adversarial examples it explains for the stability metrics are part of its input.
            # stage_version 3: the stability_meaningful row beside the randomisation check.
            "attacks": attack_keys, "stage_version": 3}


def the_method(context: StageContext) -> list["ComponentRef"]:
    """The evaluate stage's component: the cell's method, as a finetuner."""
    return [dataclasses.replace(context.cell.method, kind="finetuner")]


StageCompute = Callable[[StageContext, "ComponentRef", Path, StageEnvironment], dict[str, Any]]


def model_stages(evaluate: StageCompute, attack: StageCompute, perturb: StageCompute, explain: StageCompute,
                 explain_key: Callable[[StageContext, "ComponentRef"], dict[str, Any]],
                 judge: Optional[StageSpec] = None) -> tuple[StageSpec, ...]:
    """The stages that test a cell's trained model, as the built-in kinds declare them: evaluate (once), then
    each of the suite's attacks (and, for a kind that judges adversarial examples, the `judge` stage of each),
    perturbations and explainers; all need the finetune stage."""
    return (
        StageSpec("evaluate", components=the_method, key_parts=evaluate_key, compute=evaluate, needs=("finetune",),
                  per_component=False, rows_name_component=False),
        StageSpec("attack", components=lambda context: context.suite.attacks, key_parts=attack_key, compute=attack,
                  needs=("finetune",)),
        *((judge,) if judge is not None else ()),
        StageSpec("perturb", components=lambda context: context.suite.perturbations, key_parts=perturb_key,
                  compute=perturb, needs=("finetune",)),
        StageSpec("explain", components=lambda context: context.suite.explainers, key_parts=explain_key,
                  compute=explain, needs=("finetune",)),
    )
