"""Every fine-tuning method on every architecture family (tiny random models), and on the real MiniLM."""

from __future__ import annotations

import importlib.metadata

import numpy as np
import pytest
from conftest import dump_suite, tiny_suite
from tiny_models import ARCHITECTURES, CORPUS, build_tiny_model

import harness.training.train
from harness import HarnessError
from harness.cli import main
from harness.core.plugin_manager import make_plugin_manager
from harness.core.registry import Registry
from harness.core.runner import make_progress
from harness.core.store import read_run
from harness.core.types import Budgets, Example, ModelSource, StageEnvironment, TaskData, TrainRequest
from harness.kinds.loading import load_trained_classifier
from harness.modeling.predict import Predictor

METHODS = ("full", "lora", "ia3", "adalora", "prompt-tuning", "prefix-tuning", "frozen")
# RoBERTa and ELECTRA reject PEFT's prefixes in transformers 4.x only (plugins/prefix_tuning.py).
PREFIX_TUNING_UNSUPPORTED = {"distilbert", "deberta-v2"} | (
    {"roberta", "electra"} if int(importlib.metadata.version("transformers").split(".")[0]) < 5 else set())
POSITIVE_WORDS = ("best", "great", "superb", "charming")


@pytest.fixture(scope="module")
def registry():
    return Registry(make_plugin_manager())


def tiny_data() -> TaskData:
    examples = tuple(Example(str(index), text, int(any(word in text for word in POSITIVE_WORDS)))
                     for index, text in enumerate(CORPUS[:32]))
    return TaskData("tiny", ("negative", "positive"), examples, examples[:8], examples[:8])


def train(registry, method, model_dir, data, output_dir, max_length=32, **config):
    component = registry.get("finetuner", method)
    settings = component.config_class(**config)
    environment = StageEnvironment("cpu", 0, output_dir, make_progress(False))
    request = TrainRequest(ModelSource("model", str(model_dir), max_length), data, Budgets(), output_dir / "model",
                           environment)
    return component.factory(settings).train(request)


@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_every_method_trains_saves_and_reloads_on_each_architecture(architecture, registry, tmp_path):
    model_dir = build_tiny_model(architecture, tmp_path / architecture)
    data = tiny_data()
    for method in METHODS:
        output = tmp_path / method
        if method == "prefix-tuning" and architecture in PREFIX_TUNING_UNSUPPORTED:
            with pytest.raises(HarnessError, match=f"prefix-tuning: model type '{architecture}'"):
                train(registry, method, model_dir, data, output, epochs=1, batch_size=8)
            continue
        trained = train(registry, method, model_dir, data, output, epochs=1, batch_size=8)
        assert 0 < trained.trainable_parameters <= trained.total_parameters
        if method == "full":
            assert trained.trainable_parameters == trained.total_parameters
        else:
            assert trained.trainable_parameters < trained.total_parameters / 2, method
        assert (trained.adapter_of is None) == (method in ("full", "frozen"))
        classifier = load_trained_classifier(trained, data.label_names, "cpu", 32, 8)
        logits = classifier.predictor.logits(["a fine film", "the worst"])
        assert logits.shape == (2, 2) and np.isfinite(logits).all(), (architecture, method)


@pytest.mark.textattack
@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_attacks_and_explainers_work_on_each_architecture(architecture, registry, tmp_path):
    model_dir = build_tiny_model(architecture, tmp_path / architecture)
    data = tiny_data()
    environment = StageEnvironment("cpu", 0, tmp_path, make_progress(False))
    for method in ("full", "prompt-tuning"):
        trained = train(registry, method, model_dir, data, tmp_path / method, epochs=1, batch_size=8)
        classifier = load_trained_classifier(trained, data.label_names, "cpu", 32, 8)
        explainer = registry.get("explainer", "integrated-gradients")
        outcome = explainer.factory(explainer.config_class(n_steps=4)).explain(classifier, data.test[:3], environment)
        for attribution, example in zip(outcome.attributions, data.test[:3]):
            assert len(attribution.words) == len(attribution.scores) > 0
            assert "".join(attribution.words).replace(" ", "") == example.text.replace(" ", "")
        attack = registry.get("attack", "deepwordbug")
        result = attack.factory(attack.config_class(query_budget=50)).attack(classifier, data.test[:2], environment)
        assert [record.status in ("successful", "failed", "skipped") for record in result.records] == [True, True]


@pytest.fixture(scope="module")
def sst2_data(sst2_files):
    def read(path, limit):
        rows = [line.split("\t") for line in path.read_text(encoding="utf-8").splitlines()[1:limit + 1]]
        return tuple(Example(f"{path.stem}-{index}", text, int(label)) for index, (text, label) in enumerate(rows))

    train_examples = read(sst2_files["train"], 128)
    return TaskData("sst2", ("negative", "positive"), train_examples, read(sst2_files["test"], 32),
                    read(sst2_files["test"], 16))


@pytest.mark.slow
@pytest.mark.parametrize("method", METHODS)
def test_minilm_method_learns_and_reloads_to_identical_logits(method, registry, sst2_data, tmp_path, monkeypatch):
    from conftest import minilm_dir

    fitted = {}
    original_fit = harness.training.train.fit

    def capturing_fit(model, *args, **kwargs):
        fitted["model"], fitted["tokenizer"] = model, args[0]
        return original_fit(model, *args, **kwargs)

    monkeypatch.setattr(harness.training.train, "fit", capturing_fit)
    trained = train(registry, method, minilm_dir(), sst2_data, tmp_path, epochs=3, batch_size=16)

    losses = [record.train_loss for record in trained.history]
    assert losses[-1] < losses[0], f"{method}: training loss did not fall: {losses}"
    metrics = {metric.name: metric.value for metric in trained.metrics}
    assert metrics["samples_per_second"] > 0 and metrics["optimizer_steps"] == 24
    assert "train_validation_gap" in metrics and "best_epoch" in metrics
    assert trained.train_seconds > 0 and trained.train_examples == 128
    assert all(record.validation_accuracy is not None and record.train_accuracy is not None
               for record in trained.history)

    texts = [example.text for example in sst2_data.test]
    in_memory = Predictor(fitted["model"], fitted["tokenizer"], "cpu", max_length=32).logits(texts)
    reloaded = load_trained_classifier(trained, sst2_data.label_names, "cpu", 32, 16).predictor.logits(texts)
    np.testing.assert_allclose(reloaded, in_memory, atol=1e-4, err_msg=method)


def test_adapters_reload_with_plain_peft(registry, tmp_path):
    from peft import PeftModel
    from transformers import AutoModelForSequenceClassification

    model_dir = build_tiny_model("bert", tmp_path / "bert")
    trained = train(registry, "lora", model_dir, tiny_data(), tmp_path / "lora", epochs=1, batch_size=8)
    base = AutoModelForSequenceClassification.from_pretrained(str(model_dir), num_labels=2)
    model = PeftModel.from_pretrained(base, str(trained.model_dir))
    assert (trained.model_dir / "adapter_config.json").exists()
    assert model.peft_config["default"].peft_type.value == "LORA"


def test_quantization_without_gpu_is_a_clear_error(registry, tmp_path):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    model_dir = build_tiny_model("bert", tmp_path / "bert")
    with pytest.raises(HarnessError, match="needs a CUDA GPU"):
        train(registry, "lora", model_dir, tiny_data(), tmp_path / "q", epochs=1, quantization="4bit")


def test_train_size_sweep_records_sizes(tmp_path, tiny_model_dir, sst2_files):
    output = tmp_path / "reports"
    suite = tiny_suite(tiny_model_dir, sst2_files, output, methods=[{"use": "frozen", "epochs": 1}], attacks=[],
                       explainers=[], train_sizes=[0.25, 1.0])
    assert main(["run", str(dump_suite(suite, tmp_path / "suite.yaml")), "--no-progress"]) == 0
    run_dir = next(path for path in (output / "tiny").iterdir() if path.is_dir())
    run = read_run(run_dir)
    sizes = {row.train_size for row in run.results if row.stage == "evaluate" and row.metric == "accuracy"}
    total = next(row.value for row in run.results if row.metric == "train_examples" and row.stage == "task")
    assert sizes == {round(0.25 * total), int(total)}
    assert {stage.stage_id for stage in run.stages if stage.kind == "finetune"} == {
        f"frozen/seed0/n{round(0.25 * total)}/finetune", f"frozen/seed0/n{int(total)}/finetune"}
