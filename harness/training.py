"""The one training loop every finetuner uses, so methods differ only in what they train.

Dynamic padding, length-grouped batches (shuffled megabatches sorted by length), bf16 autocast on CUDA,
fused AdamW where available, linear warm-up and decay, gradient clipping, seeded data order, evaluation
on the validation split each epoch, early stopping, and the best epoch's weights restored at the end.

With `data_parallel_processes` above one the same loop runs in several processes under Hugging Face
Accelerate (harness.data_parallel): each global batch is split across them, so the weights follow the
single-process run up to floating-point rounding.

Token classification (named-entity recognition): splits of TokenExample train a token-classification model on the
same loop. Words are encoded with harness.token_classification.encode_words (the tag on each word's first
subword, -100 on its other subwords and on special tokens, which the model's cross-entropy skips) and the model
computes the loss. The running `train_accuracy` of an epoch is then the token accuracy over labelled positions,
and the validation score that picks the best epoch is the entity F1 (seqeval's reading,
harness.entity_metrics): `early_stopping_metric: accuracy` means entity F1 for such a task, `loss` the mean
cross-entropy per labelled word. One process only (the data-parallel replicas weight their slices' losses by
examples, not by labelled words), and no adversarial training (the recipes attack sequence classifiers).
"""

from __future__ import annotations

import math
import random
import time
from dataclasses import dataclass
from typing import Any, Callable, Literal, Optional, Sequence

from harness.batching import encode_inputs, pad_batch
from harness.types import AdversarialTraining, Budgets, EpochRecord, Example, TokenExample


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
    """Validation metric that picks the best epoch (whose weights are kept) and drives early stopping. For a
    token-classification (NER) task "accuracy" is the validation entity F1."""
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
    token-classification task, to compare with the validation entity F1)."""

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


def is_token_task(examples: Sequence[Any]) -> bool:
    """Whether a split holds token-classification sentences (TokenExample) rather than labelled texts."""
    return bool(examples) and isinstance(examples[0], TokenExample)


def set_seed(seed: int) -> None:
    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


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
) -> FitResult:
    """Train `model` in place on `train`; keep the weights of the best validation epoch.

    :param after_optimizer_step: called with the global step after each optimizer step, before gradients are
        cleared (AdaLoRA reallocates its ranks there).
    :param adversarial: adversarial training rounds (see harness.types.AdversarialTraining).
    """
    if not train:
        raise ValueError("the training split is empty")
    from harness.data_parallel import fit_in_processes, resolve_processes

    if is_token_task(train):
        # The replicas weight each slice's mean loss by its share of examples; a token task's loss is a mean over
        # labelled words, which slices share unevenly, so several processes would not take one process's step.
        if settings.data_parallel_processes not in (None, 1):
            raise ValueError(f"data_parallel_processes={settings.data_parallel_processes}: token classification "
                             f"(NER) trains in one process; set data_parallel_processes: 1")
        processes = 1
    else:
        processes = resolve_processes(settings, device, model, after_optimizer_step, adversarial)
    if processes > 1:
        return fit_in_processes(model, tokenizer, train, validation, settings, budgets, device, seed, max_length,
                                progress, processes)
    bar = progress(total=planned_steps(len(train), settings, budgets, adversarial), desc="train", unit="step")
    return run_training(model, tokenizer, train, validation, settings, budgets, device, seed, max_length, bar,
                        ONE_PROCESS, after_optimizer_step, adversarial)


class OneProcess:
    """How `run_training` shards, back-propagates and reduces in a single process: it does not.

    harness.data_parallel.AcceleratedReplica is the same protocol for one of several processes.
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


def run_training(
    model: Any,
    tokenizer: Any,
    train: Sequence[Example],
    validation: Sequence[Example],
    settings: TrainingSettings,
    budgets: Budgets,
    device: str,
    seed: int,
    max_length: int,
    bar: Any,
    replica: Any = ONE_PROCESS,
    after_optimizer_step: Optional[Callable[[int], None]] = None,
    adversarial: Optional[AdversarialTraining] = None,
) -> FitResult:
    """The loop behind `fit`, in this process. `replica` (OneProcess, or one of several processes'
    harness.data_parallel.AcceleratedReplica) says which slice of each batch this process runs and how
    gradients and batch statistics are combined; `bar` is a tqdm-like progress bar, closed at the end."""
    import torch

    from harness.models import is_quantized

    set_seed(seed)
    if not is_quantized(model):  # bitsandbytes models are placed on the GPU when loaded and cannot move
        model.to(device)
    if settings.gradient_checkpointing:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        if hasattr(model, "enable_input_require_grads"):
            model.enable_input_require_grads()  # PEFT models have frozen embeddings; checkpointing needs a grad path
    token_task = is_token_task(train)
    if token_task and adversarial is not None:
        raise ValueError("adversarial training is not supported for token classification (NER): the attacks it "
                         "runs target sequence classifiers")
    if token_task:
        clean_encoded, token_labels = _encode_tokens(tokenizer, train, max_length)
        encoded, labels = clean_encoded, token_labels
    else:
        clean_encoded = _encode(tokenizer, train, max_length)
        encoded, labels = clean_encoded, [example.label for example in train]
    lengths = [len(ids) for ids in encoded["input_ids"]]
    adversarial_count = 0  # the adversarial examples sit after the clean ones in `encoded`
    total_steps = planned_steps(len(train), settings, budgets, adversarial)
    max_epochs = math.ceil(training_epochs(settings, budgets))
    train_probe = list(train)
    random.Random(seed).shuffle(train_probe)
    train_probe = train_probe[:TRAIN_ACCURACY_EXAMPLES]

    trainable = [parameter for parameter in model.parameters() if parameter.requires_grad]
    if not trainable:
        raise ValueError("the model has no trainable parameters")
    # Only trainable tensors change; copying the frozen rest for the best checkpoint would double memory for PEFT.
    frozen_names = {name for name, parameter in model.named_parameters() if not parameter.requires_grad}
    decay = [p for p in trainable if p.ndim >= 2]
    no_decay = [p for p in trainable if p.ndim < 2]
    use_cuda = device.startswith("cuda")
    parameter_groups = [{"params": decay, "weight_decay": settings.weight_decay},
                        {"params": no_decay, "weight_decay": 0.0}]
    try:
        # The fused kernel (CPU and CUDA since torch 2.4) updates every tensor in one pass: the fastest AdamW.
        optimizer = torch.optim.AdamW(parameter_groups, lr=settings.learning_rate, fused=True)
    except (RuntimeError, TypeError):  # older torch, or parameters on a device without the kernel
        optimizer = torch.optim.AdamW(parameter_groups, lr=settings.learning_rate)
    # With several processes `train_model` is the DistributedDataParallel wrapper that averages gradients;
    # evaluation and checkpoints use `model` itself (the same parameters) so they need no communication.
    train_model, optimizer = replica.prepare(model, optimizer)
    warmup_steps = int(settings.warmup_ratio * total_steps)

    def learning_rate_factor(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / max(1, warmup_steps)
        return max(0.0, (total_steps - step) / max(1, total_steps - warmup_steps))

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, learning_rate_factor)
    rng = random.Random(seed)  # the same seed in every process: every process sees the same global batches
    history: list[EpochRecord] = []
    best_index: Optional[int] = None
    best_state: Optional[dict[str, Any]] = None
    epochs_without_improvement = 0
    step = 0
    samples_seen = 0
    started = time.perf_counter()
    epoch = 0
    try:
        while step < total_steps and epoch < max_epochs:
            epoch += 1
            if adversarial is not None and adversarial.attacks_in(epoch):
                model.eval()
                adversarial_round = adversarial.generate(epoch, model, tokenizer)
                adversarial_examples = adversarial_round.examples
                adversarial_count = len(adversarial_examples)
                added = _encode(tokenizer, adversarial_examples, max_length)
                encoded = {name: clean_encoded[name] + added.get(name, []) for name in clean_encoded}
                labels = [example.label for example in train] + [example.label for example in adversarial_examples]
                lengths = [len(ids) for ids in encoded["input_ids"]]
            train_model.train()
            running_loss, running_count, running_correct = 0.0, 0, 0
            running_scored = 0  # what train_accuracy divides by: examples, or labelled words of a token task
            batches = length_grouped_batches(lengths, settings.batch_size, rng, settings.group_by_length)
            batches_done = 0
            for batch_indices in batches:
                if step >= total_steps:
                    break
                batches_done += 1
                shard, counted = replica.shard(batch_indices)
                batch = pad_batch(encoded, shard, tokenizer, device)
                if token_task:
                    batch_labels = pad_token_labels([labels[index] for index in shard], batch["input_ids"].shape[1],
                                                    getattr(tokenizer, "padding_side", "right") == "left", device)
                else:
                    batch_labels = torch.tensor([labels[index] for index in shard], device=device)
                with torch.autocast("cuda", dtype=torch.bfloat16, enabled=use_cuda):
                    # The model computes the loss so that methods which add a regulariser to it (AdaLoRA's
                    # orthogonality penalty) train as their authors intended.
                    outputs = train_model(**batch, labels=batch_labels)
                    loss = outputs.loss.float()
                    if adversarial_count and adversarial.alpha != 1.0:
                        loss = _weight_adversarial_loss(loss, outputs.logits, batch_labels, shard,
                                                        len(train), adversarial.alpha)
                replica.backward(loss, counted, len(batch_indices))
                if token_task:
                    labelled = batch_labels != IGNORE_INDEX
                    correct = ((outputs.logits.detach().argmax(dim=-1) == batch_labels) & labelled).sum().item()
                    running_scored += int(labelled.sum().item())
                else:
                    correct = (outputs.logits.detach().argmax(dim=-1) == batch_labels).sum().item() if counted else 0
                    running_scored += len(batch_indices)
                loss_sum, correct = replica.batch_totals(loss.item() * counted, correct)
                if not math.isfinite(loss_sum):
                    # Every process sees the same total, so all stop here together (none waits in a collective).
                    raise FloatingPointError(
                        f"training loss became {loss_sum / len(batch_indices)} at epoch {epoch}, step {step + 1} "
                        f"(learning rate {scheduler.get_last_lr()[0]:.3g}): lower learning_rate, raise warmup_ratio, "
                        f"keep gradient clipping on (max_grad_norm > 0), or check the training data")
                running_correct += correct
                if settings.max_grad_norm > 0:
                    replica.clip_grad_norm_(trainable, settings.max_grad_norm)
                optimizer.step()
                scheduler.step()
                step += 1
                if after_optimizer_step is not None:
                    after_optimizer_step(step)
                optimizer.zero_grad(set_to_none=True)
                samples_seen += len(batch_indices)
                running_loss += loss_sum
                running_count += len(batch_indices)
                bar.update(1)
                bar.set_postfix(loss=f"{loss_sum / len(batch_indices):.3f}", epoch=epoch, refresh=False)
            # Every process evaluates the whole validation split with the same weights; agreeing on the main
            # process's numbers keeps early stopping identical everywhere even if the hardware rounds differently.
            validation_accuracy, validation_loss = replica.agree(evaluate_split(
                model, tokenizer, validation, device, max_length, settings.batch_size * 2))
            history.append(EpochRecord(
                # Fractional when a step budget ends training inside an epoch.
                epoch=round(epoch - 1 + batches_done / len(batches), 4),
                step=step,
                train_loss=running_loss / max(1, running_count),
                validation_accuracy=validation_accuracy,
                validation_loss=validation_loss,
                train_accuracy=running_correct / max(1, running_scored),
                learning_rate=scheduler.get_last_lr()[0],
                adversarial_examples=adversarial_count if adversarial is not None else None,
            ))
            score = _score(history[-1], settings.early_stopping_metric)
            if score is None or (adversarial is not None and epoch <= adversarial.clean_epochs):
                # A clean epoch usually scores best on clean validation data; keeping its weights would
                # silently undo the adversarial training the method is about.
                continue
            if best_index is None or score > _score(history[best_index], settings.early_stopping_metric):
                best_index = len(history) - 1
                best_state = {name: tensor.detach().clone() for name, tensor in model.state_dict().items()
                              if name not in frozen_names}
                epochs_without_improvement = 0
            else:
                epochs_without_improvement += 1
                if (settings.early_stopping_patience is not None
                        and epochs_without_improvement >= settings.early_stopping_patience):
                    break
    finally:
        bar.close()
    if best_state is not None and best_index != len(history) - 1:
        model.load_state_dict(best_state, strict=False)
    if settings.gradient_checkpointing:
        model.gradient_checkpointing_disable()
    model.eval()
    seconds = time.perf_counter() - started
    # The gap is measured on the kept weights, not the running accuracy of an epoch in which they changed.
    kept_train_accuracy = None
    if replica.is_main:  # only the main process's result is returned
        kept_train_accuracy, _ = evaluate_split(model, tokenizer, train_probe, device, max_length,
                                                settings.batch_size * 2)
    return FitResult(tuple(history), best_index, seconds, step, samples_seen, kept_train_accuracy)


def _encode(tokenizer: Any, examples: Sequence[Example], max_length: int) -> dict[str, list[Any]]:
    """Token ids of the examples; sentence pairs with the tokenizer's pair encoding (harness.pairs)."""
    if not examples:
        return {}
    from harness.pairs import model_input

    return encode_inputs(tokenizer, [model_input(example) for example in examples], max_length)


IGNORE_INDEX = -100
"""Label of positions the loss skips (harness.token_classification.IGNORE_INDEX, torch's default)."""


def _encode_tokens(tokenizer: Any, examples: Sequence[TokenExample], max_length: int
                   ) -> tuple[dict[str, list[Any]], list[tuple[int, ...]]]:
    """Subword ids of token-classification sentences, and per sentence its subword labels (the tag on each word's
    first subword, IGNORE_INDEX elsewhere)."""
    from harness.token_classification import encode_words

    sentences = encode_words(tokenizer, [example.tokens for example in examples],
                             [example.tags for example in examples], max_length=max_length)
    return {"input_ids": [list(sentence.input_ids) for sentence in sentences]}, [sentence.labels for sentence in
                                                                                  sentences]


def pad_token_labels(rows: Sequence[Sequence[int]], width: int, left: bool, device: str) -> Any:
    """Subword label rows padded with IGNORE_INDEX to `width`, on the same side as pad_batch pads the ids."""
    import torch

    tensor = torch.full((len(rows), width), IGNORE_INDEX, dtype=torch.long)
    for number, row in enumerate(rows):
        values = torch.as_tensor(list(row), dtype=torch.long)
        if left:
            tensor[number, width - len(row):] = values
        else:
            tensor[number, :len(row)] = values
    return tensor.to(device)


def model_label_names(model: Any) -> tuple[str, ...]:
    """The label names a model was built with (load_base_classifier writes them into config.id2label)."""
    config = model.config
    return tuple(str(config.id2label[index]) for index in range(int(config.num_labels)))


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


def evaluate_split(model: Any, tokenizer: Any, examples: Sequence[Example], device: str, max_length: int,
                   batch_size: int) -> tuple[Optional[float], Optional[float]]:
    """(accuracy, mean loss) on `examples` with the model in its current state; (None, None) if empty."""
    import torch

    if not examples:
        return None, None
    model.eval()
    if is_token_task(examples):
        return evaluate_token_split(model, tokenizer, examples, device, max_length, batch_size)
    from harness.pairs import model_input

    encoded = encode_inputs(tokenizer, [model_input(example) for example in examples], max_length)
    order = sorted(range(len(examples)), key=lambda index: len(encoded["input_ids"][index]))
    correct, total_loss = 0, 0.0
    with torch.inference_mode(), torch.autocast("cuda", dtype=torch.bfloat16, enabled=device.startswith("cuda")):
        for start in range(0, len(order), batch_size):
            batch_indices = order[start:start + batch_size]
            batch = pad_batch(encoded, batch_indices, tokenizer, device)
            batch_labels = torch.tensor([examples[index].label for index in batch_indices], device=device)
            logits = model(**batch).logits.float()
            total_loss += torch.nn.functional.cross_entropy(logits, batch_labels, reduction="sum").item()
            correct += (logits.argmax(dim=1) == batch_labels).sum().item()
    return correct / len(examples), total_loss / len(examples)


def evaluate_token_split(model: Any, tokenizer: Any, examples: Sequence[TokenExample], device: str,
                         max_length: int, batch_size: int) -> tuple[float, float]:
    """(entity F1, mean cross-entropy per labelled word) of a token-classification model on `examples`.

    The loss is over the positions training labels (each word's first subword); the tags are read there too
    (harness.token_classification.word_predictions), a word cut off by max_length counting as "O"."""
    import torch

    from harness.entity_metrics import decode_tags, entity_scores
    from harness.token_classification import encode_words, word_predictions

    label_names = model_label_names(model)
    outside = label_names.index("O") if "O" in label_names else 0
    encoded = encode_words(tokenizer, [example.tokens for example in examples],
                           [example.tags for example in examples], max_length=max_length)
    order = sorted(range(len(examples)), key=lambda index: len(encoded[index].input_ids))
    left = getattr(tokenizer, "padding_side", "right") == "left"
    predicted: list[tuple[int, ...]] = [()] * len(examples)
    total_loss, labelled = 0.0, 0
    with torch.inference_mode(), torch.autocast("cuda", dtype=torch.bfloat16, enabled=device.startswith("cuda")):
        for start in range(0, len(order), batch_size):
            batch_indices = order[start:start + batch_size]
            batch = pad_batch({"input_ids": [encoded[index].input_ids for index in batch_indices]},
                              list(range(len(batch_indices))), tokenizer, device)
            batch_labels = pad_token_labels([encoded[index].labels for index in batch_indices],
                                            batch["input_ids"].shape[1], left, device)
            logits = model(**batch).logits.float()
            total_loss += torch.nn.functional.cross_entropy(
                logits.reshape(-1, logits.shape[-1]), batch_labels.reshape(-1), ignore_index=IGNORE_INDEX,
                reduction="sum").item()
            labelled += int((batch_labels != IGNORE_INDEX).sum().item())
            rows = logits.cpu().numpy()
            for row, index in enumerate(batch_indices):
                length = len(encoded[index].input_ids)
                values = rows[row, rows.shape[1] - length:] if left else rows[row, :length]
                predicted[index] = word_predictions(values, encoded[index].word_ids, encoded[index].words,
                                                    outside_index=outside).tags
    scores = entity_scores([decode_tags(example.tags, label_names) for example in examples],
                           [decode_tags(tags, label_names) for tags in predicted])
    return scores.micro.f1, total_loss / max(1, labelled)


def train_and_save(model: Any, tokenizer: Any, request: Any, settings: TrainingSettings, is_adapter: bool,
                   after_optimizer_step: Optional[Callable[[int], None]] = None) -> Any:
    """Run `fit` on the request's data, save the result in Hugging Face format, describe it as TrainedModel.

    Full models are saved whole (safetensors); PEFT models save only their adapter, which
    `PeftModel.from_pretrained(base, request.output_dir)` reloads.
    """
    from harness.models import count_parameters
    from harness.types import TrainedModel

    trainable, total = count_parameters(model)
    result = fit(model, tokenizer, request.data.train, request.data.validation, settings, request.budgets,
                 request.env.device, request.env.seed, request.base.max_length, request.env.progress,
                 after_optimizer_step, adversarial=request.adversarial)
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
            # For NER the kept weights are scored by entity F1, as the validation split is.
            ("train_entity_f1" if is_token_task(request.data.train) else "train_accuracy",
             result.kept_train_accuracy),
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
    from harness.types import Metric

    return Metric(name, value)


def train_with_peft(request: Any, settings: TrainingSettings, make_peft_config: Callable[[Any], Any],
                    quantization: Optional[str] = None,
                    make_step_callback: Optional[Callable[[Any], Callable[[int], None]]] = None) -> Any:
    """Load the base model, wrap it with the PEFT config `make_peft_config(base_model)` returns, train, save
    the adapter. `make_step_callback(peft_model)` may return a per-step hook (AdaLoRA's rank allocation)."""
    from peft import get_peft_model

    from harness.models import load_base_classifier
    from harness.virtual_tokens import accept_prefix_key_values, trim_virtual_tokens

    model, tokenizer = load_base_classifier(request.base, request.data.label_names, quantization,
                                            kind=request.data.kind)
    model = get_peft_model(accept_prefix_key_values(model), make_peft_config(model))
    model = trim_virtual_tokens(model, request.data.kind)
    callback = make_step_callback(model) if make_step_callback is not None else None
    return train_and_save(model, tokenizer, request, settings, is_adapter=True, after_optimizer_step=callback)
