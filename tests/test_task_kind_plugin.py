"""A third task kind, text regression, added by a plugin defined here: no core module knows it.

The plugin registers a kind (`register_task_kinds`) and a task whose TaskData names it; a suite then runs it
through validate -> finetune (the built-in `full` finetuner) -> evaluate -> perturb (a built-in augmenter) ->
reports (json, csv, html, markdown, junit), and the kind's own report section reaches the scorecard.
"""

from __future__ import annotations

import dataclasses
import json
import math
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Sequence

import pytest
from conftest import dump_suite

from harness import (
    Metric,
    ReportView,
    StageEnvironment,
    StageSpec,
    SuiteError,
    TaskData,
    TaskKind,
    hookimpl,
)
from harness.cli import main
from harness.core.store import read_run

KIND = "text-regression"


@dataclass(frozen=True)
class ScoredText:
    """One text and the number the model should read off it."""

    id: str
    text: str
    score: float


class RegressionTraining:
    """The shared training loop on a one-output head trained with mean squared error (transformers computes it for
    problem_type "regression"); the validation score is minus the mean squared error."""

    score_name = "validation -MSE"
    best_validation_metric = "best_validation_negative_mse"
    train_score_metric = "train_negative_mse"
    data_parallel = False

    def check_settings(self, settings: Any, adversarial: Any) -> None:
        if adversarial is not None:
            raise ValueError("text regression has no adversarial training")

    def encode(self, tokenizer: Any, examples: Sequence[ScoredText], max_length: int) -> tuple[dict, list[float]]:
        from harness.modeling.batching import encode_inputs

        return (encode_inputs(tokenizer, [example.text for example in examples], max_length),
                [example.score for example in examples])

    def batch_labels(self, labels: Sequence[float], input_ids: Any, tokenizer: Any, device: str) -> Any:
        import torch

        return torch.tensor(list(labels), dtype=torch.float32, device=device)

    def count_correct(self, logits: Any, labels: Any, counted: int, batch_size: int) -> tuple[int, int]:
        """Predictions within 0.25 of the target count as right."""
        return int(((logits.detach().squeeze(-1) - labels).abs() < 0.25).sum().item()), batch_size

    def evaluate(self, model: Any, tokenizer: Any, examples: Sequence[ScoredText], device: str, max_length: int,
                 batch_size: int) -> tuple[Optional[float], Optional[float]]:
        predictions = predict_scores(model, tokenizer, [example.text for example in examples], device, max_length)
        mse = sum((p - e.score) ** 2 for p, e in zip(predictions, examples)) / len(examples)
        return -mse, mse


def predict_scores(model: Any, tokenizer: Any, texts: Sequence[str], device: str, max_length: int) -> list[float]:
    import torch

    with torch.inference_mode():
        batch = tokenizer(list(texts), padding=True, truncation=True, max_length=max_length, return_tensors="pt")
        return model(**batch.to(device)).logits.squeeze(-1).float().tolist()


class ScorePredictor:
    def __init__(self, model: Any, tokenizer: Any, device: str, max_length: int):
        self.model, self.tokenizer, self.device, self.max_length = model, tokenizer, device, max_length
        self.forwards = 0

    def scores(self, texts: Sequence[str]) -> list[float]:
        self.forwards += len(texts)
        return predict_scores(self.model, self.tokenizer, texts, self.device, self.max_length)


def evaluate_stage(context: Any, ref: Any, building: Path, env: StageEnvironment) -> dict[str, Any]:
    examples = context.task.test
    predictions = context.classifier().predictor.scores([example.text for example in examples])
    errors = [prediction - example.score for prediction, example in zip(predictions, examples)]
    records = building / "records"
    records.mkdir(parents=True, exist_ok=True)
    (records / "scores.jsonl").write_text("".join(json.dumps({"example_id": example.id, "score": example.score,
                                                              "prediction": prediction}) + "\n"
                                                  for example, prediction in zip(examples, predictions)))
    rmse = math.sqrt(sum(error * error for error in errors) / len(errors))
    return {"metrics": [dataclasses.asdict(Metric("rmse", rmse, n=len(errors)))]}


def perturb_stage(context: Any, ref: Any, building: Path, env: StageEnvironment) -> dict[str, Any]:
    texts = [example.text for example in context.task.test]
    perturbed = context.build(ref).augment(texts, env)
    predictor = context.classifier().predictor
    shifts = [abs(after - before) for before, after in zip(predictor.scores(texts), predictor.scores(perturbed))]
    return {"metrics": [dataclasses.asdict(Metric("mean_score_shift", sum(shifts) / len(shifts), n=len(shifts))),
                        dataclasses.asdict(Metric("changed_text_rate", sum(p != t for p, t in zip(perturbed, texts))
                                                  / len(texts)))]}


class TextRegression(TaskKind):
    example_type = ScoredText
    stratified_sampling = False
    training = RegressionTraining()

    def model_class(self) -> Any:
        from transformers import AutoModelForSequenceClassification

        return AutoModelForSequenceClassification

    def model_options(self, label_names: tuple[str, ...]) -> dict[str, Any]:
        return {"num_labels": 1, "problem_type": "regression"}

    def peft_task_type(self) -> Any:
        from peft import TaskType

        return TaskType.SEQ_CLS

    def make_predictor(self, model: Any, tokenizer: Any, device: str, max_length: int, batch_size: int,
                       label_names: tuple[str, ...]) -> Any:
        return ScorePredictor(model, tokenizer, device, max_length)

    def check_components(self, suite: Any, registry: Any, task: TaskData) -> list[SuiteError]:
        return [SuiteError(f"attack {ref.name!r}: text regression has no attacks", ref.location, ref.plugin)
                for ref in suite.attacks]

    def stages(self) -> tuple[StageSpec, ...]:
        from harness.kinds import standard

        return (
            standard.FINETUNE,
            StageSpec("evaluate", components=standard.the_method, key_parts=standard.evaluate_key,
                      compute=evaluate_stage, needs=("finetune",), per_component=False, rows_name_component=False),
            StageSpec("perturb", components=lambda context: context.suite.perturbations,
                      key_parts=standard.perturb_key, compute=perturb_stage, needs=("finetune",)),
        )

    def report_view(self, run: Any) -> ReportView:
        rmse = [row.value for row in run.results if row.metric == "rmse"]
        return ReportView(html_sections=(f'<section id="regression"><h2>Regression</h2><p>best RMSE '
                                         f'{min(rmse):.3f}</p></section>',),
                          markdown_sections=(f"## Regression\n\nbest RMSE {min(rmse):.3f}\n",),
                          training_score_name="validation -MSE")


class ToyRegressionTask:
    """Texts whose target is the share of the word "good" among their words."""

    def load(self, env: StageEnvironment) -> TaskData:
        rng = random.Random(0)
        words = ["good", "film", "plot", "actor", "scene", "music"]

        def split(prefix: str, count: int) -> tuple[ScoredText, ...]:
            examples = []
            for number in range(count):
                text = [rng.choice(words) for _ in range(rng.randint(3, 8))]
                examples.append(ScoredText(f"{prefix}{number}", " ".join(text), text.count("good") / len(text)))
            return tuple(examples)

        return TaskData("toy-regression", ("score",), split("train", 96), split("validation", 16),
                        split("test", 24), kind=KIND)


class TextRegressionPlugin:
    name = "text-regression-plugin"

    @hookimpl
    def register_task_kinds(self, register):
        register(KIND, TextRegression, description="a number per text")

    @hookimpl
    def register_tasks(self, register):
        register("toy-regression", lambda config: ToyRegressionTask())


def regression_suite(tiny_model_dir: Path, output: Path, **overrides: Any) -> dict:
    suite = {
        "name": "regression",
        "task": "toy-regression",
        "model": {"source": str(tiny_model_dir), "max_length": 16},
        "methods": [{"use": "full", "epochs": 2, "batch_size": 16, "learning_rate": 1e-3}],
        "perturbations": [{"use": "keyboard-typos"}],
        "reports": ["json", "csv", "html", "markdown", "junit"],
        "output": str(output),
    }
    suite.update(overrides)
    return suite


def test_a_task_kind_from_a_plugin_runs_through_every_stage_and_report(tmp_path, tiny_model_dir):
    path = dump_suite(regression_suite(tiny_model_dir, tmp_path / "reports"), tmp_path / "suite.yaml")
    plugins = [TextRegressionPlugin()]
    assert main(["validate", str(path)], extra_plugins=plugins) == 0
    assert main(["run", str(path), "--no-progress", "--run-id", "one"], extra_plugins=plugins) == 0
    run_dir = tmp_path / "reports" / "regression" / "one"
    run = read_run(run_dir)
    assert {stage.stage_id: stage.status for stage in run.stages} == {
        "task": "computed", "full/seed0/finetune": "computed", "full/seed0/evaluate": "computed",
        "full/seed0/perturb/keyboard-typos": "computed", **{f"report/{name}": "computed" for name in
                                                           ("json", "csv", "html", "markdown", "junit")}}
    values = {(row.stage, row.metric): row.value for row in run.results}
    assert 0 <= values[("evaluate", "rmse")] < 1
    assert values[("perturb", "changed_text_rate")] > 0 and values[("perturb", "mean_score_shift")] >= 0
    assert "best_validation_negative_mse" in {metric for _, metric in values}
    # The kind's own records, sections and training-curve label.
    assert len(run.records("full/seed0/evaluate", "scores")) == 24
    scorecard = (run_dir / "scorecard.html").read_text()
    assert '<section id="regression">' in scorecard and "validation -MSE" in scorecard
    assert "## Regression" in (run_dir / "summary.md").read_text()
    assert run.manifest["task_kind"] == KIND
    # A rerun takes every stage from the cache.
    assert main(["run", str(path), "--no-progress", "--run-id", "two"], extra_plugins=plugins) == 0
    again = read_run(tmp_path / "reports" / "regression" / "two")
    assert {stage.status for stage in again.stages if stage.kind in ("finetune", "evaluate", "perturb")} == {"cached"}


def test_the_kind_refuses_what_it_cannot_serve_at_the_suite_line(tmp_path, tiny_model_dir, capsys):
    suite = regression_suite(tiny_model_dir, tmp_path / "reports", attacks=[{"use": "gradient-swap"}])
    path = dump_suite(suite, tmp_path / "suite.yaml")
    assert main(["run", str(path), "--no-progress"], extra_plugins=[TextRegressionPlugin()]) == 2
    error = capsys.readouterr().err
    assert "text regression has no attacks" in error and "suite.yaml" in error


def test_a_training_strategy_the_kind_has_no_stage_for_is_refused_at_its_line(tmp_path, tiny_model_dir, capsys):
    """The kind declares no augment stage and no adversarial training: methods asking for them are refused before
    anything trains, not silently trained without."""
    suite = regression_suite(tiny_model_dir, tmp_path / "reports", methods=[
        {"use": "full", "epochs": 1, "augment": {"use": "keyboard-typos", "pct": 0.5}},
        {"use": "lora", "epochs": 2, "adversarial": {"use": "gradient-swap"}}])
    path = dump_suite(suite, tmp_path / "suite.yaml")
    assert main(["run", str(path), "--no-progress"], extra_plugins=[TextRegressionPlugin()]) == 2
    error = capsys.readouterr().err
    assert "`augment:` (training on augmented copies) is not supported by task kind 'text-regression'" in error
    assert "adversarial training is not supported by task kind 'text-regression'" in error
    assert not (tmp_path / "reports" / ".stage-cache" / "finetune").exists()


def test_a_task_naming_an_unregistered_kind_fails_its_task_stage(tmp_path, tiny_model_dir, capsys):
    class UnknownKindPlugin:
        name = "unknown-kind"

        @hookimpl
        def register_tasks(self, register):
            register("toy-regression", lambda config: ToyRegressionTask())

    path = dump_suite(regression_suite(tiny_model_dir, tmp_path / "reports"), tmp_path / "suite.yaml")
    assert main(["run", str(path), "--no-progress"], extra_plugins=[UnknownKindPlugin()]) == 3
    error = capsys.readouterr().err
    assert "TaskData.kind 'text-regression'" in error and "unknown task-kind" in error


@pytest.mark.parametrize("name", ["sequence-classification", "token-classification", "extractive-qa"])
def test_the_built_in_kinds_are_registered_like_any_plugin(name):
    from harness.core.plugin_manager import make_plugin_manager
    from harness.core.registry import Registry

    component = Registry(make_plugin_manager()).get("task-kind", name)
    assert component is not None and component.plugin == name and component.build(None).name == name
