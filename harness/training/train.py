"""What finetuners call to train: `fit` (one process, or several through harness.training.data_parallel),
`train_and_save` (fit, then save in Hugging Face format) and `train_with_peft` (a PEFT-wrapped base model). The
loop itself is harness.training.loop."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Optional, Sequence

from harness.core.types import AdversarialTraining, Budgets, Example
from harness.training.loop import (
    ONE_PROCESS,
    FitResult,
    TrainingJob,
    TrainingSettings,
    planned_steps,
    run_training,
)

if TYPE_CHECKING:
    from harness.kinds.base import TaskKind


def fit(
    model: Any,
    tokenizer: Any,
    train: Sequence[Example],
    validation: Sequence[Example],
    settings: TrainingSettings,
    budgets: Budgets,
    device: str,
    seed: int,
    max_length: int,
    progress: Callable[..., Any],
    after_optimizer_step: Optional[Callable[[int], None]] = None,
    adversarial: Optional[AdversarialTraining] = None,
    *,
    task_kind: Optional[TaskKind | str] = None,
) -> FitResult:
    """Train `model` in place on `train`; keep the weights of the best validation epoch.

    :param after_optimizer_step: called with the global step after each optimizer step, before gradients are
        cleared (AdaLoRA reallocates its ranks there).
    :param adversarial: adversarial training rounds (see harness.AdversarialTraining).
    :param task_kind: the task kind (harness.TaskKind, or a built-in kind's name) whose training encoding the loop
        uses; None: the built-in kind whose examples `train` holds.
    """
    if not train:
        raise ValueError("the training split is empty")
    from harness.kinds import resolve_kind
    from harness.training.data_parallel import fit_in_processes, resolve_processes

    kind = resolve_kind(task_kind, train)
    encoding = kind.training
    if encoding is None:
        raise ValueError(f"task kind {kind.name or type(kind).__name__!r} has no training encoding "
                         f"(TaskKind.training), so the shared training loop cannot train it")
    for_model = getattr(encoding, "for_model", None)
    if for_model is not None:  # an encoding that depends on the model's architecture (text generation's families)
        encoding = for_model(model)
    encoding.check_settings(settings, adversarial)
    processes = (resolve_processes(settings, device, model, after_optimizer_step, adversarial)
                 if encoding.data_parallel else 1)
    job = TrainingJob(model, tokenizer, train, validation, settings, budgets, device, seed, max_length, encoding,
                      after_optimizer_step, adversarial)
    if processes > 1:
        return fit_in_processes(job, progress, processes)
    bar = progress(total=planned_steps(len(train), settings, budgets, adversarial), desc="train", unit="step")
    return run_training(job, bar, ONE_PROCESS)


def request_kind(request: Any) -> "TaskKind":
    """The task kind of a TrainRequest: its `task_kind`, else the built-in kind its data's `kind` names."""
    from harness.kinds import resolve_kind

    return resolve_kind(request.kind)


def train_and_save(model: Any, tokenizer: Any, request: Any, settings: TrainingSettings, is_adapter: bool,
                   after_optimizer_step: Optional[Callable[[int], None]] = None) -> Any:
    """Run `fit` on the request's data, save the result in Hugging Face format, describe it as TrainedModel.

    Full models are saved whole (safetensors); PEFT models save only their adapter, which
    `PeftModel.from_pretrained(base, request.output_dir)` reloads.
    """
    from harness.core.types import TrainedModel
    from harness.modeling.models import count_parameters

    kind = request_kind(request)
    trainable, total = count_parameters(model)
    result = fit(model, tokenizer, request.data.train, request.data.validation, settings, request.budgets,
                 request.env.device, request.env.seed, request.base.max_length, request.env.progress,
                 after_optimizer_step, adversarial=request.adversarial, task_kind=kind)
    request.output_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(request.output_dir), safe_serialization=True)
    tokenizer.save_pretrained(str(request.output_dir))
    return TrainedModel(
        model_dir=request.output_dir,
        adapter_of=request.base if is_adapter else None,
        trainable_parameters=trainable,
        total_parameters=total,
        train_seconds=result.train_seconds,
        train_examples=len(request.data.train),
        history=result.history,
        metrics=tuple(_metric(name, value) for name, value in (
            ("samples_per_second", result.samples_seen / max(result.train_seconds, 1e-9)),
            ("optimizer_steps", float(result.steps)),
            ("best_epoch", result.best.epoch if result.best else None),
            # The kept weights are scored as the validation split is (accuracy; entity F1 for NER).
            (kind.training.train_score_metric, result.kept_train_accuracy),
            ("train_validation_gap", _gap(result)),
        ) if value is not None),
    )


def _gap(result: FitResult) -> Optional[float]:
    """Train minus validation accuracy of the kept weights: the overfitting signal."""
    best = result.best
    if best is None or best.validation_accuracy is None or result.kept_train_accuracy is None:
        return None
    return result.kept_train_accuracy - best.validation_accuracy


def _metric(name: str, value: float) -> Any:
    from harness.core.types import Metric

    return Metric(name, value)


def train_with_peft(request: Any, settings: TrainingSettings, make_peft_config: Callable[[Any], Any],
                    quantization: Optional[str] = None,
                    make_step_callback: Optional[Callable[[Any], Callable[[int], None]]] = None) -> Any:
    """Load the base model, wrap it with the PEFT config `make_peft_config(base_model)` returns, train, save
    the adapter. `make_step_callback(peft_model)` may return a per-step hook (AdaLoRA's rank allocation)."""
    from peft import get_peft_model

    from harness.modeling.models import load_pretrained_classifier
    from harness.modeling.virtual_tokens import accept_prefix_key_values

    kind = request_kind(request)
    model, tokenizer = load_pretrained_classifier(request.base, request.data.label_names, kind, quantization)
    model = get_peft_model(accept_prefix_key_values(model), make_peft_config(model))
    model = kind.adapt_peft_model(model)
    callback = make_step_callback(model) if make_step_callback is not None else None
    return train_and_save(model, tokenizer, request, settings, is_adapter=True, after_optimizer_step=callback)
