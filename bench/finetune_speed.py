"""Fine-tuning throughput: the harness's training loop vs the Hugging Face Trainer, same model, data, settings.

Run:  .venv/bin/python bench/finetune_speed.py [--data DIR] [--examples 4000] [--epochs 1]

Both train all-MiniLM-L6-v2 (packaged, offline) on the same SST-2 phrases (from the hub, or --data DIR: see
bench/sst2_data.py) with the same batch size, learning rate, warm-up, weight decay, clipping, seed and one
validation pass per epoch, in one process. Two pairings:
  plain:   no length grouping in either (dynamic padding in both: DataCollatorWithPadding vs the harness)
  grouped: length-grouped batches in both (Trainer group_by_length=True)
On a GPU both use bf16 (Trainer bf16=True, the harness's autocast). Printed: samples/s of each, the ratio
(harness / Trainer; > 1 means the harness is faster) and each model's validation accuracy (same learning).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from sst2_data import add_data_argument, load_sst2  # noqa: E402


def minilm_source(max_length: int):
    from harness.core.suite import resolve_model_location
    from harness.core.types import ModelSource

    return ModelSource("minilm", resolve_model_location("minilm"), max_length)


def run_harness(train, validation, args, device, group_by_length):
    from harness.core.runner import make_progress
    from harness.core.seeding import set_seed
    from harness.core.types import Budgets
    from harness.kinds.loading import load_base_classifier
    from harness.training.loop import TrainingSettings
    from harness.training.train import fit

    set_seed(0)
    model, tokenizer = load_base_classifier(minilm_source(args.max_length), ("negative", "positive"))
    settings = TrainingSettings(epochs=args.epochs, learning_rate=5e-5, batch_size=args.batch_size,
                                group_by_length=group_by_length)
    result = fit(model, tokenizer, train, validation, settings, Budgets(), device, 0, args.max_length,
                 make_progress(False))
    # train_seconds spans training and the per-epoch validation (as the Trainer's train() does), not the
    # one-off train-accuracy probe fit runs afterwards for the overfitting gap.
    return len(train) * args.epochs / result.train_seconds, result.history[-1].validation_accuracy


def run_trainer(train, validation, args, device, group_by_length):
    import numpy as np
    import torch
    from datasets import Dataset
    from transformers import DataCollatorWithPadding, Trainer, TrainingArguments

    from harness.core.seeding import set_seed
    from harness.kinds.loading import load_base_classifier

    set_seed(0)
    model, tokenizer = load_base_classifier(minilm_source(args.max_length), ("negative", "positive"))

    def dataset(examples):
        encoded = tokenizer([e.text for e in examples], truncation=True, max_length=args.max_length)
        return Dataset.from_dict({**encoded, "labels": [e.label for e in examples]})

    def accuracy(prediction):
        return {"accuracy": float((np.argmax(prediction.predictions, axis=1) == prediction.label_ids).mean())}

    with tempfile.TemporaryDirectory() as output_dir:
        arguments = TrainingArguments(
            output_dir=output_dir, per_device_train_batch_size=args.batch_size,
            per_device_eval_batch_size=args.batch_size * 2, learning_rate=5e-5, num_train_epochs=args.epochs,
            warmup_ratio=0.1, weight_decay=0.01, max_grad_norm=1.0, lr_scheduler_type="linear", seed=0,
            eval_strategy="epoch", save_strategy="no", logging_strategy="no", report_to=[],
            dataloader_num_workers=0, group_by_length=group_by_length, use_cpu=device == "cpu",
            bf16=device.startswith("cuda"), disable_tqdm=True)
        trainer = Trainer(model=model, args=arguments, train_dataset=dataset(train), eval_dataset=dataset(validation),
                          data_collator=DataCollatorWithPadding(tokenizer), compute_metrics=accuracy)
        started = time.perf_counter()
        trainer.train()
        seconds = time.perf_counter() - started
        final = trainer.evaluate()
    del torch
    return len(train) * args.epochs / seconds, final["eval_accuracy"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--examples", type=int, default=4000)
    parser.add_argument("--validation", type=int, default=500)
    parser.add_argument("--epochs", type=float, default=1.0)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--max-length", type=int, default=64)
    add_data_argument(parser)
    args = parser.parse_args()
    sst2 = load_sst2(args.data)

    from harness.core.resources import prepare_offline_resources
    from harness.modeling.models import resolve_device

    prepare_offline_resources()
    import torch

    device = resolve_device("auto")
    train = list(sst2.train[:args.examples])
    validation = list(sst2.validation[:args.validation])
    print(f"device: {device} "
          f"({torch.cuda.get_device_name(0) if device == 'cuda' else f'{torch.get_num_threads()} CPU threads'})")
    print(f"data: {len(train)} SST-2 train sentences, {len(validation)} validation; batch {args.batch_size}, "
          f"max_length {args.max_length}, {args.epochs} epoch(s)")
    # warm-up
    run_harness(train[:256], validation[:64], argparse.Namespace(**{**vars(args), "epochs": 1}), device, True)
    print(f"{'pairing':<10}{'Trainer samples/s':>20}{'harness samples/s':>20}{'ratio':>8}"
          f"{'Trainer acc':>13}{'harness acc':>13}")
    for name, grouped in (("plain", False), ("grouped", True)):
        trainer_speed, trainer_accuracy = run_trainer(train, validation, args, device, grouped)
        harness_speed, harness_accuracy = run_harness(train, validation, args, device, grouped)
        print(f"{name:<10}{trainer_speed:>20.1f}{harness_speed:>20.1f}{harness_speed / trainer_speed:>8.2f}"
              f"{trainer_accuracy:>13.3f}{harness_accuracy:>13.3f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
