"""Adversarial training: the shared loop's round schedule and loss weighting, and adversarially trained full and
LoRA models recorded as their own methods in a real run (tiny BERT, SST-2-style sentences, real DeepWordBug)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import dump_suite, minilm_dir, tiny_suite

from harness import AdversarialRound, AdversarialTraining, Budgets, Example, TrainedModel, hookimpl
from harness.cli import main
from harness.core.files import read_jsonl
from harness.core.store import read_run
from harness.core.suite import parse_suite
from harness.training.loop import TrainingSettings, _weight_adversarial_loss, planned_steps
from harness.training.train import fit


def run_suite(path: Path, plugins=()) -> int:
    return main(["run", str(path), "--no-progress"], extra_plugins=plugins)


def latest_run(output: Path) -> Path:
    runs = [path for path in (output / "tiny").iterdir() if (path / "manifest.json").exists()]
    return max(runs, key=lambda path: (path / "manifest.json").stat().st_mtime_ns)


def no_progress(iterable=None, **kwargs):
    from tqdm import tqdm

    return tqdm(iterable, disable=True, **kwargs)


def test_rounds_follow_textattack_trainer_schedule_and_keep_their_set_between_rounds(tiny_model_dir):
    from harness.core.types import ModelSource
    from harness.kinds.loading import load_base_classifier

    model, tokenizer = load_base_classifier(ModelSource("tiny", str(tiny_model_dir), 32), ("negative", "positive"))
    train = tuple(Example(f"t{i}", f"a {'good' if i % 2 else 'bad'} film number {i}", i % 2) for i in range(24))
    calls = []

    def generate(epoch, model_, tokenizer_):
        assert not model_.training, "the model is attacked in eval mode"
        calls.append(epoch)
        examples = tuple(Example(f"{e.id}~adv{epoch}", e.text.upper(), e.label) for e in train[: 4 * len(calls)])
        return AdversarialRound(epoch, attacked=10, successful=len(examples), examples=examples, seconds=0.0)

    adversarial = AdversarialTraining(clean_epochs=1, attack_epoch_interval=2, alpha=0.5, expected_examples=4,
                                      generate=generate)
    settings = TrainingSettings(epochs=5, batch_size=8, learning_rate=1e-3)
    result = fit(model, tokenizer, train, train[:8], settings, Budgets(), "cpu", 0, 32, no_progress,
                 adversarial=adversarial)
    assert calls == [2, 4]  # first adversarial epoch, then every attack_epoch_interval epochs
    assert [record.adversarial_examples for record in result.history] == [0, 4, 4, 8, 8]
    assert [record.epoch for record in result.history] == [1, 2, 3, 4, 5]
    # Clean epochs never provide the kept weights: that would undo the adversarial training.
    assert result.best_epoch_index >= 1
    # The schedule was sized for the expected adversarial examples (4 per round): 3 + 4 x 4 batches.
    assert result.steps == planned_steps(len(train), settings, Budgets(), adversarial) == 3 + 4 * 4


def test_adversarial_loss_is_weighted_by_alpha_like_textattack():
    import torch

    logits = torch.tensor([[2.0, 0.0], [0.0, 1.0], [1.0, 1.0], [0.5, -0.5]])
    labels = torch.tensor([0, 0, 1, 1])
    per_example = torch.nn.functional.cross_entropy(logits, labels, reduction="none")
    model_loss = per_example.mean() + 0.25  # a model-side regulariser (AdaLoRA) must survive the reweighting
    # Indices 0..1 are clean, 5 and 7 adversarial (clean_count=4).
    weighted = _weight_adversarial_loss(model_loss, logits, labels, [0, 1, 5, 7], clean_count=4, alpha=0.3)
    expected = (per_example * torch.tensor([1.0, 1.0, 0.3, 0.3])).mean() + 0.25
    assert torch.isclose(weighted, expected)
    unweighted = _weight_adversarial_loss(model_loss, logits, labels, [0, 1, 5, 7], clean_count=4, alpha=1.0)
    assert torch.isclose(unweighted, model_loss)


@pytest.fixture
def output(tmp_path) -> Path:
    return tmp_path / "reports"


@pytest.mark.textattack
def test_adversarially_trained_full_and_lora_models_are_their_own_methods(tmp_path, output, tiny_model_dir,
                                                                           sst2_files, capsys):
    # The real MiniLM, trained long enough to tell the classes apart: a model that predicts one class for
    # everything (random weights, or LoRA after too few steps) cannot be flipped, so a round would find no
    # adversarial example to train on.
    adversarial = {"use": "deepwordbug", "query_budget": 40, "clean_epochs": 3, "examples": 6, "alpha": 1.0}
    suite = tiny_suite(minilm_dir(), sst2_files, output, explainers=[], methods=[
        {"use": "lora", "epochs": 4, "learning_rate": 5e-3, "batch_size": 8},
        {"use": "lora", "epochs": 4, "learning_rate": 5e-3, "batch_size": 8, "adversarial": adversarial},
        {"use": "full", "epochs": 4, "learning_rate": 1e-4, "adversarial": {**adversarial, "examples": 0.05}},
    ])
    path = dump_suite(suite, tmp_path / "suite.yaml")
    assert run_suite(path) == 0, capsys.readouterr().err
    run_dir = latest_run(output)
    run = read_run(run_dir)
    value = {(row.method, row.stage, row.metric): row.value for row in run.results}
    assert read_run(run_dir).manifest["methods"] == ["lora", "lora+adv-deepwordbug", "full+adv-deepwordbug"]
    for method, target in (("lora+adv-deepwordbug", 6), ("full+adv-deepwordbug", 8)):  # 0.05 x 144 -> 8
        assert value[(method, "finetune", "adversarial_rounds")] == 1
        found = value[(method, "finetune", "adversarial_examples")]
        assert 0 < found <= target
        assert 0 < value[(method, "finetune", "adversarial_train_success_rate")] <= 1
        assert (method, "attack", "attack_success_rate") in value
        stage = method.replace("+", "_")
        attacked = read_jsonl(run_dir / "records" / f"{stage}_seed0_finetune.adversarial-epoch4.jsonl")
        assert sum(record["status"] == "successful" for record in attacked) >= found
        assert all(record["perturbed_text"] for record in attacked)
        history = read_jsonl(run_dir / "records" / f"{stage}_seed0_finetune.history.jsonl")
        assert [record["adversarial_examples"] for record in history] == [0, 0, 0, found]
    assert ("lora", "finetune", "adversarial_rounds") not in value
    # A rerun finds every adversarially trained model in the cache.
    assert run_suite(path) == 0
    stages = {stage["stage_id"]: stage["status"] for stage in read_jsonl(latest_run(output) / "stages.jsonl")}
    assert stages["lora+adv-deepwordbug/seed0/finetune"] == "cached"


@pytest.mark.textattack
def test_adversarial_settings_are_validated_at_their_line(tmp_path, capsys, tiny_model_dir, sst2_files):
    from harness.core.plugin_manager import make_plugin_manager
    from harness.core.registry import Registry

    registry = Registry(make_plugin_manager())
    cases = [
        ({"use": "lora", "epochs": 1, "adversarial": {"use": "deepwordbug"}}, "adversarial training of method",
         "use: deepwordbug"),
        ({"use": "lora", "epochs": 3, "adversarial": {"use": "deepwordbug", "examples": 0}}, "adversarial `examples`",
         "examples:"),
        ({"use": "lora", "epochs": 3, "adversarial": {"use": "deepwordbug", "alpha": -1}}, "adversarial `alpha`",
         "alpha:"),
        ({"use": "lora", "epochs": 3, "adversarial": {"use": "deepwordbgu"}}, "did you mean 'deepwordbug'",
         "use: deepwordbgu"),
        ({"use": "lora", "epochs": 3, "adversarial": {"use": "deepwordbug", "query_budjet": 5}}, "query_budget",
         "query_budjet"),
    ]
    for method, message, marker in cases:
        suite = tiny_suite(tiny_model_dir, sst2_files, tmp_path, attacks=[], explainers=[], methods=[method])
        path = dump_suite(suite, tmp_path / "suite.yaml")
        assert main(["validate", str(path)]) == 2
        error = capsys.readouterr().err
        line = next(number for number, text in enumerate(path.read_text().splitlines(), 1) if marker in text)
        assert f"{path}:{line}:" in error and message in error, error
    suite = tiny_suite(tiny_model_dir, sst2_files, tmp_path, explainers=[],
                       attacks=[{"use": "deepwordbug", "adversarial": "deepwordbug"}])
    path = dump_suite(suite, tmp_path / "suite.yaml")
    assert main(["validate", str(path)]) == 2
    assert "`adversarial` is only allowed on methods" in capsys.readouterr().err
    ok = tiny_suite(tiny_model_dir, sst2_files, tmp_path, methods=[
        {"use": "ia3", "epochs": 3, "adversarial": {"use": "pwws", "clean_epochs": 2, "attack_epoch_interval": 1,
                                                    "examples": -1, "alpha": 0.5}}])
    parsed = parse_suite(dump_suite(ok, tmp_path / "ok.yaml").read_text(), "ok.yaml", registry)
    spec = parsed.methods[0].adversarial
    assert parsed.methods[0].label == "ia3+adv-pwws"
    assert (spec.clean_epochs, spec.examples, spec.alpha, spec.target_examples(50)) == (2, -1, 0.5, 50)


@dataclass(frozen=True)
class IgnoringConfig:
    epochs: float = 2.0


class IgnoresAdversarialFinetuner:
    """A third-party finetuner with its own (here: no) training loop that never looks at request.adversarial."""

    def __init__(self, config):
        self.config = config

    def train(self, request):
        from harness import count_parameters, load_base_classifier

        model, tokenizer = load_base_classifier(request.base, request.data.label_names)
        model.save_pretrained(str(request.output_dir))
        tokenizer.save_pretrained(str(request.output_dir))
        trainable, total = count_parameters(model)
        return TrainedModel(request.output_dir, None, trainable, total, 0.0, len(request.data.train))


class IgnoringPlugin:
    @hookimpl
    def register_finetuners(self, register):
        register("ignores-adversarial", IgnoresAdversarialFinetuner, config=IgnoringConfig)


@pytest.mark.textattack
def test_a_finetuner_that_ignores_adversarial_training_fails_its_stage(tmp_path, output, tiny_model_dir, sst2_files,
                                                                       capsys):
    suite = tiny_suite(tiny_model_dir, sst2_files, output, attacks=[], explainers=[], methods=[
        {"use": "ignores-adversarial", "adversarial": {"use": "deepwordbug", "examples": 2}}])
    path = dump_suite(suite, tmp_path / "suite.yaml")
    assert run_suite(path, plugins=[IgnoringPlugin()]) == 3
    error = capsys.readouterr().err
    assert "ignored the adversarial training" in error and "ignores-adversarial" in error
