"""The one training loop every finetuner uses, so methods differ only in what they train.

Dynamic padding, length-grouped batches (shuffled megabatches sorted by length), bf16 autocast on CUDA,
fused AdamW where available, linear warm-up and decay, gradient clipping, seeded data order, evaluation
on the validation split each epoch, early stopping, and the best epoch's weights restored at the end.

With `data_parallel_processes` above one the same loop runs in several processes under Hugging Face
Accelerate (harness.training.data_parallel): each global batch is split across them, so the weights follow the
single-process run up to floating-point rounding.

What differs between kinds of task (how examples are encoded and their batches labelled, what the validation
score is, which settings work) is the task kind's training encoding (harness.kinds.base.TrainingEncoding): the
loop never branches on the kind. Token classification (NER): see harness.kinds.token.training; extractive QA
(several rows per example, start and end positions as the model's label arguments): harness.kinds.qa.training.
"""

from __future__ import annotations

import math
import random
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Literal, Optional, Sequence

from harness.core.seeding import set_seed
from harness.core.types import AdversarialTraining, Budgets, EpochRecord
from harness.modeling.batching import pad_batch

if TYPE_CHECKING:
    from harness.kinds.base import TrainingEncoding


@dataclass(frozen=True)
class TrainingSettings:
    """Hyper-parameters of the shared loop; finetuner configs extend this dataclass."""

    epochs: float = 3.0
    learning_rate: float = 5e-5
    batch_size: int = 16
    weight_decay: float = 0.01
    warmup_ratio: float = 0.1
    max_grad_norm: float = 1.0
    early_stopping_patience: Optional[int] = None
    """Stop after this many epochs without a better validation score; None trains every epoch."""
    early_stopping_metric: Literal["accuracy", "loss"] = "accuracy"
    """Validation metric that picks the best epoch (whose weights are kept) and drives early stopping. "accuracy"
    is the task kind's validation score: e.g. the validation entity F1 of a NER task."""
    gradient_checkpointing: bool = False
    """Recompute activations in the backward pass: less memory, about 30% slower."""
    group_by_length: bool = True
    """Batch texts of similar length together (less padding); False shuffles plainly."""
    data_parallel_processes: Optional[int] = None
    """Processes that train one model together (data parallelism with Hugging Face Accelerate): each takes an
    equal slice of every batch and gradients are averaged, so `batch_size` stays the global batch and results
    match one process up to rounding. None: one process per visible CUDA GPU when more than one is visible
    (one process where that is unsupported: per-step callbacks such as AdaLoRA's, adversarial training,
    quantized models), else 1. N >= 2: N processes, one per GPU over NCCL on CUDA (at most the visible GPUs;
    restrict them with CUDA_VISIBLE_DEVICES), or on CPU over gloo."""

    def __post_init__(self):
        if self.epochs <= 0 or self.learning_rate <= 0 or self.batch_size < 1:
            raise ValueError("epochs, learning_rate and batch_size must be positive")
        if not 0 <= self.warmup_ratio < 1:
            raise ValueError("warmup_ratio must be in [0, 1)")
        if self.data_parallel_processes is not None and self.data_parallel_processes < 1:
            raise ValueError("data_parallel_processes must be at least 1 (or None to use every visible GPU)")


TRAIN_ACCURACY_EXAMPLES = 512
"""Size of the fixed training subset scored each epoch for the train-vs-validation gap."""


@dataclass(frozen=True)
class FitResult:
    history: tuple[EpochRecord, ...]
    best_epoch_index: Optional[int]
    train_seconds: float
    steps: int
    samples_seen: int
    kept_train_accuracy: Optional[float] = None
    """Accuracy of the kept (best) weights on a fixed training subset of up to 512 examples (entity F1 for a
    NER task, to compare with the validation entity F1)."""

    @property
    def best(self) -> Optional[EpochRecord]:
        return self.history[self.best_epoch_index] if self.best_epoch_index is not None else None


def planned_steps(train_examples: int, settings: TrainingSettings, budgets: Budgets,
                  adversarial: Optional[AdversarialTraining] = None) -> int:
    """Optimizer steps `fit` will take (methods with step-dependent schedules, such as AdaLoRA, need it).

    With adversarial training the epochs after the clean ones are counted with the adversarial examples a
    round aims for, as TextAttack's Trainer does; a round that finds fewer ends training a little early.
    """
    epochs = training_epochs(settings, budgets)
    clean_batches = math.ceil(train_examples / settings.batch_size)
    if adversarial is None or epochs <= adversarial.clean_epochs:
        steps = math.ceil(clean_batches * epochs)
    else:
        adversarial_batches = math.ceil((train_examples + adversarial.expected_examples) / settings.batch_size)
        steps = clean_batches * adversarial.clean_epochs + math.ceil(
            adversarial_batches * (epochs - adversarial.clean_epochs))
    steps = max(1, steps)
    return steps if budgets.max_steps is None else min(steps, budgets.max_steps)


def training_epochs(settings: TrainingSettings, budgets: Budgets) -> float:
    """The method's epochs, capped by the suite's `max_epochs` budget."""
    return settings.epochs if budgets.max_epochs is None else min(settings.epochs, budgets.max_epochs)


def length_grouped_batches(lengths: Sequence[int], batch_size: int, rng: random.Random,
                           group_by_length: bool = True) -> list[list[int]]:
    """Indices in batches of similar length, in a seeded random order (like HF's group_by_length)."""
    indices = list(range(len(lengths)))
    rng.shuffle(indices)
    if not group_by_length:
        return [indices[offset:offset + batch_size] for offset in range(0, len(indices), batch_size)]
    megabatch = batch_size * 50
    batches: list[list[int]] = []
    for start in range(0, len(indices), megabatch):
        chunk = sorted(indices[start:start + megabatch], key=lambda index: lengths[index], reverse=True)
        batches.extend(chunk[offset:offset + batch_size] for offset in range(0, len(chunk), batch_size))
    rng.shuffle(batches)
    return batches


@dataclass(frozen=True)
class TrainingJob:
    """What one run of the shared loop trains, on what, and how: `fit`'s arguments with the task kind's training
    encoding. harness.training.data_parallel saves it for its worker processes, so it must pickle (a third-party kind's
    encoding must be importable there)."""

    model: Any
    tokenizer: Any
    train: Sequence[Any]
    validation: Sequence[Any]
    settings: TrainingSettings
    budgets: Budgets
    device: str
    seed: int
    max_length: int
    encoding: "TrainingEncoding"
    after_optimizer_step: Optional[Callable[[int], None]] = None
    """Called with the global step after each optimizer step, before gradients are cleared."""
    adversarial: Optional[AdversarialTraining] = None


class OneProcess:
    """How `run_training` shards, back-propagates and reduces in a single process: it does not.

    harness.training.data_parallel.AcceleratedReplica is the same protocol for one of several processes.
    """

    processes = 1
    is_main = True

    @staticmethod
    def prepare(model: Any, optimizer: Any) -> tuple[Any, Any]:
        return model, optimizer

    @staticmethod
    def shard(batch_indices: list[int]) -> tuple[list[int], int]:
        """(indices this process runs forward, how many of them count); here the whole batch."""
        return batch_indices, len(batch_indices)

    @staticmethod
    def backward(loss: Any, counted: int, batch_size: int) -> None:
        loss.backward()

    @staticmethod
    def clip_grad_norm_(parameters: list[Any], max_norm: float) -> None:
        import torch

        torch.nn.utils.clip_grad_norm_(parameters, max_norm)

    @staticmethod
    def batch_totals(loss_sum: float, correct: int) -> tuple[float, int]:
        """The batch's summed loss and correct predictions over every process."""
        return loss_sum, correct

    @staticmethod
    def agree(values: tuple[Any, ...]) -> tuple[Any, ...]:
        """The main process's values, on every process."""
        return values


ONE_PROCESS = OneProcess()


@dataclass(frozen=True)
class _TrainingData:
    """The encoded training examples of the current epoch: the clean split, then (after an adversarial round)
    that round's adversarial examples."""

    clean_encoded: dict[str, list[Any]]
    clean_labels: list[Any]
    encoded: dict[str, list[Any]]
    labels: list[Any]
    lengths: list[int]
    adversarial_count: int = 0
    """How many adversarial examples follow the clean ones in `encoded`."""

    @classmethod
    def clean(cls, job: TrainingJob) -> "_TrainingData":
        encoded, labels = job.encoding.encode(job.tokenizer, job.train, job.max_length)
        return cls(encoded, labels, encoded, labels, [len(ids) for ids in encoded["input_ids"]])


@dataclass(frozen=True)
class _Optimization:
    """The optimizer, its schedule and what it updates. With several processes `train_model` is the
    DistributedDataParallel wrapper that averages gradients; evaluation and checkpoints use the job's model
    itself (the same parameters) so they need no communication."""

    train_model: Any
    optimizer: Any
    scheduler: Any
    trainable: list[Any]
    frozen_names: set[str]
    total_steps: int


@dataclass
class _Progress:
    """What the epochs have done so far: their records, the best one and its weights, the steps taken."""

    history: list[EpochRecord] = field(default_factory=list)
    best_index: Optional[int] = None
    best_state: Optional[dict[str, Any]] = None
    epochs_without_improvement: int = 0
    step: int = 0
    samples_seen: int = 0


@dataclass
class _EpochRun:
    """One epoch's running statistics."""

    batches: list[list[int]]
    batches_done: int = 0
    loss: float = 0.0
    count: int = 0
    correct: int = 0
    scored: int = 0
    """What train_accuracy divides by: examples, or whatever the encoding scores (a tagger's labelled words)."""


def run_training(job: TrainingJob, bar: Any, replica: Any = ONE_PROCESS) -> FitResult:
    """The loop behind `fit`, in this process. `replica` (OneProcess, or one of several processes'
    harness.training.data_parallel.AcceleratedReplica) says which slice of each batch this process runs and how
    gradients and batch statistics are combined; `bar` is a tqdm-like progress bar, closed at the end."""
    from harness.modeling.models import is_quantized

    model, settings = job.model, job.settings
    set_seed(job.seed)
    if not is_quantized(model):  # bitsandbytes models are placed on the GPU when loaded and cannot move
        model.to(job.device)
    if settings.gradient_checkpointing:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        if hasattr(model, "enable_input_require_grads"):
            model.enable_input_require_grads()  # PEFT models have frozen embeddings; checkpointing needs a grad path
    data = _TrainingData.clean(job)
    # Rows, not examples: a kind may encode an example as several rows (extractive QA's windows of a long context).
    total_steps = planned_steps(len(data.labels), settings, job.budgets, job.adversarial)
    if getattr(bar, "total", total_steps) != total_steps:  # the bar was sized by examples
        bar.total = total_steps
    max_epochs = math.ceil(training_epochs(settings, job.budgets))
    train_probe = list(job.train)
    random.Random(job.seed).shuffle(train_probe)
    train_probe = train_probe[:TRAIN_ACCURACY_EXAMPLES]
    optimization = _build_optimization(job, replica, total_steps)
    rng = random.Random(job.seed)  # the same seed in every process: every process sees the same global batches
    progress = _Progress()
    started = time.perf_counter()
    epoch = 0
    try:
        while progress.step < total_steps and epoch < max_epochs:
            epoch += 1
            if job.adversarial is not None and job.adversarial.attacks_in(epoch):
                data = _adversarial_round(job, data, epoch)
            run = _train_epoch(job, data, optimization, progress, rng, epoch, bar, replica)
            if _end_epoch(job, optimization, progress, run, epoch, data, replica):
                break
    finally:
        bar.close()
    if progress.best_state is not None and progress.best_index != len(progress.history) - 1:
        model.load_state_dict(progress.best_state, strict=False)
    if settings.gradient_checkpointing:
        model.gradient_checkpointing_disable()
    model.eval()
    seconds = time.perf_counter() - started
    # The gap is measured on the kept weights, not the running accuracy of an epoch in which they changed.
    kept_train_accuracy = None
    if replica.is_main:  # only the main process's result is returned
        kept_train_accuracy, _ = evaluate_split(job.encoding, model, job.tokenizer, train_probe, job.device,
                                                job.max_length, settings.batch_size * 2)
    return FitResult(tuple(progress.history), progress.best_index, seconds, progress.step, progress.samples_seen,
                     kept_train_accuracy)


def _build_optimization(job: TrainingJob, replica: Any, total_steps: int) -> _Optimization:
    """AdamW over the trainable parameters (no weight decay on biases and norms), linear warm-up and decay."""
    import torch

    model, settings = job.model, job.settings
    trainable = [parameter for parameter in model.parameters() if parameter.requires_grad]
    if not trainable:
        raise ValueError("the model has no trainable parameters")
    # Only trainable tensors change; copying the frozen rest for the best checkpoint would double memory for PEFT.
    frozen_names = {name for name, parameter in model.named_parameters() if not parameter.requires_grad}
    decay = [p for p in trainable if p.ndim >= 2]
    no_decay = [p for p in trainable if p.ndim < 2]
    parameter_groups = [{"params": decay, "weight_decay": settings.weight_decay},
                        {"params": no_decay, "weight_decay": 0.0}]
    try:
        # The fused kernel (CPU and CUDA since torch 2.4) updates every tensor in one pass: the fastest AdamW.
        optimizer = torch.optim.AdamW(parameter_groups, lr=settings.learning_rate, fused=True)
    except (RuntimeError, TypeError):  # older torch, or parameters on a device without the kernel
        optimizer = torch.optim.AdamW(parameter_groups, lr=settings.learning_rate)
    train_model, optimizer = replica.prepare(model, optimizer)
    warmup_steps = int(settings.warmup_ratio * total_steps)

    def learning_rate_factor(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / max(1, warmup_steps)
        return max(0.0, (total_steps - step) / max(1, total_steps - warmup_steps))

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, learning_rate_factor)
    return _Optimization(train_model, optimizer, scheduler, trainable, frozen_names, total_steps)


def _adversarial_round(job: TrainingJob, data: _TrainingData, epoch: int) -> _TrainingData:
    """Attack the model as it is now; the next epochs train on the clean split and this round's examples."""
    job.model.eval()
    adversarial_examples = job.adversarial.generate(epoch, job.model, job.tokenizer).examples
    added, added_labels = job.encoding.encode(job.tokenizer, adversarial_examples, job.max_length)
    encoded = {name: data.clean_encoded[name] + added.get(name, []) for name in data.clean_encoded}
    return _TrainingData(data.clean_encoded, data.clean_labels, encoded, data.clean_labels + list(added_labels),
                         [len(ids) for ids in encoded["input_ids"]], len(adversarial_examples))


def _train_epoch(job: TrainingJob, data: _TrainingData, optimization: _Optimization, progress: _Progress,
                 rng: random.Random, epoch: int, bar: Any, replica: Any) -> _EpochRun:
    """One epoch's batches (fewer when the step budget ends inside it)."""
    settings = job.settings
    optimization.train_model.train()
    run = _EpochRun(length_grouped_batches(data.lengths, settings.batch_size, rng, settings.group_by_length))
    for batch_indices in run.batches:
        if progress.step >= optimization.total_steps:
            break
        run.batches_done += 1
        loss_sum, correct, scored = _forward_backward(job, data, optimization, batch_indices, replica)
        run.scored += scored
        if not math.isfinite(loss_sum):
            # Every process sees the same total, so all stop here together (none waits in a collective).
            raise FloatingPointError(
                f"training loss became {loss_sum / len(batch_indices)} at epoch {epoch}, step {progress.step + 1} "
                f"(learning rate {optimization.scheduler.get_last_lr()[0]:.3g}): lower learning_rate, raise "
                f"warmup_ratio, keep gradient clipping on (max_grad_norm > 0), or check the training data")
        run.correct += correct
        if settings.max_grad_norm > 0:
            replica.clip_grad_norm_(optimization.trainable, settings.max_grad_norm)
        optimization.optimizer.step()
        optimization.scheduler.step()
        progress.step += 1
        if job.after_optimizer_step is not None:
            job.after_optimizer_step(progress.step)
        optimization.optimizer.zero_grad(set_to_none=True)
        progress.samples_seen += len(batch_indices)
        run.loss += loss_sum
        run.count += len(batch_indices)
        bar.update(1)
        bar.set_postfix(loss=f"{loss_sum / len(batch_indices):.3f}", epoch=epoch, refresh=False)
    return run


def _forward_backward(job: TrainingJob, data: _TrainingData, optimization: _Optimization,
                      batch_indices: list[int], replica: Any) -> tuple[float, int, int]:
    """Forward and backward of this process's slice of one batch: (the batch's summed loss and correct
    predictions over every process, what this process scored)."""
    import torch

    shard, counted = replica.shard(batch_indices)
    batch = pad_batch(data.encoded, shard, job.tokenizer, job.device)
    batch_labels = job.encoding.batch_labels([data.labels[index] for index in shard], batch["input_ids"],
                                             job.tokenizer, job.device)
    with torch.autocast("cuda", dtype=torch.bfloat16, enabled=job.device.startswith("cuda")):
        # The model computes the loss so that methods which add a regulariser to it (AdaLoRA's
        # orthogonality penalty) train as their authors intended.
        outputs = optimization.train_model(**batch, **label_arguments(job.encoding, batch_labels))
        loss = outputs.loss.float()
        if data.adversarial_count and job.adversarial.alpha != 1.0:
            loss = _weight_adversarial_loss(loss, outputs.logits, batch_labels, shard, len(job.train),
                                            job.adversarial.alpha)
    replica.backward(loss, counted, len(batch_indices))
    correct, scored = job.encoding.count_correct(counted_logits(job.encoding, outputs), batch_labels, counted,
                                                 len(batch_indices))
    loss_sum, correct = replica.batch_totals(loss.item() * counted, correct)
    return loss_sum, correct, scored


def label_arguments(encoding: "TrainingEncoding", batch_labels: Any) -> dict[str, Any]:
    """The model's keyword arguments for a batch's labels: the encoding's `label_arguments` where it has one
    (extractive QA: start_positions and end_positions), else `labels`."""
    arguments = getattr(encoding, "label_arguments", None)
    return arguments(batch_labels) if arguments is not None else {"labels": batch_labels}


def counted_logits(encoding: "TrainingEncoding", outputs: Any) -> Any:
    """What the encoding's count_correct reads from the model's outputs: its `counted_logits(outputs)` where it has
    one (extractive QA: the start and end logits), else `outputs.logits`."""
    read = getattr(encoding, "counted_logits", None)
    return read(outputs) if read is not None else outputs.logits


def _end_epoch(job: TrainingJob, optimization: _Optimization, progress: _Progress, run: _EpochRun, epoch: int,
               data: _TrainingData, replica: Any) -> bool:
    """Validate, record the epoch, keep the weights of the best one; True when early stopping ends training."""
    settings, adversarial = job.settings, job.adversarial
    # Every process evaluates the whole validation split with the same weights; agreeing on the main
    # process's numbers keeps early stopping identical everywhere even if the hardware rounds differently.
    validation_accuracy, validation_loss = replica.agree(evaluate_split(
        job.encoding, job.model, job.tokenizer, job.validation, job.device, job.max_length, settings.batch_size * 2))
    progress.history.append(EpochRecord(
        # Fractional when a step budget ends training inside an epoch.
        epoch=round(epoch - 1 + run.batches_done / len(run.batches), 4),
        step=progress.step,
        train_loss=run.loss / max(1, run.count),
        validation_accuracy=validation_accuracy,
        validation_loss=validation_loss,
        train_accuracy=run.correct / max(1, run.scored),
        learning_rate=optimization.scheduler.get_last_lr()[0],
        adversarial_examples=data.adversarial_count if adversarial is not None else None,
    ))
    score = _score(progress.history[-1], settings.early_stopping_metric)
    if score is None or (adversarial is not None and epoch <= adversarial.clean_epochs):
        # A clean epoch usually scores best on clean validation data; keeping its weights would
        # silently undo the adversarial training the method is about.
        return False
    if progress.best_index is None or score > _score(progress.history[progress.best_index],
                                                     settings.early_stopping_metric):
        progress.best_index = len(progress.history) - 1
        progress.best_state = {name: tensor.detach().clone() for name, tensor in job.model.state_dict().items()
                               if name not in optimization.frozen_names}
        progress.epochs_without_improvement = 0
        return False
    progress.epochs_without_improvement += 1
    return (settings.early_stopping_patience is not None
            and progress.epochs_without_improvement >= settings.early_stopping_patience)


def _weight_adversarial_loss(loss: Any, logits: Any, labels: Any, batch_indices: Sequence[int], clean_count: int,
                             alpha: float) -> Any:
    """The batch loss with adversarial examples' cross-entropy weighted by alpha, as TextAttack's Trainer does
    (mean of per-example loss x weight). Swapping only the cross-entropy term keeps anything the model adds
    to its own loss (AdaLoRA's orthogonality penalty)."""
    import torch

    per_example = torch.nn.functional.cross_entropy(logits.float(), labels, reduction="none")
    weights = torch.tensor([alpha if index >= clean_count else 1.0 for index in batch_indices],
                           device=per_example.device)
    return loss - per_example.mean() + (per_example * weights).mean()


def _score(record: EpochRecord, metric: str) -> Optional[float]:
    """Higher is better."""
    if metric == "loss":
        return None if record.validation_loss is None else -record.validation_loss
    return record.validation_accuracy


def evaluate_split(encoding: "TrainingEncoding", model: Any, tokenizer: Any, examples: Sequence[Any], device: str,
                   max_length: int, batch_size: int) -> tuple[Optional[float], Optional[float]]:
    """(score, mean loss) of the model in its current state on `examples`, as the kind's training encoding
    scores them (accuracy, or a tagger's entity F1); (None, None) if there are none."""
    if not examples:
        return None, None
    model.eval()
    return encoding.evaluate(model, tokenizer, examples, device, max_length, batch_size)


