"""Data-parallel training (harness.training.data_parallel): two CPU processes over gloo must train the same weights as
one.

The model is a tiny random BERT without dropout, so the two runs differ only in floating-point rounding
(how each process's slice of a batch is padded and summed); the gradients must be averaged exactly as one
process would compute them for the whole batch, including an uneven or single-example last batch.
"""

from __future__ import annotations

import copy
import dataclasses

import pytest

from harness.core.types import AdversarialRound, AdversarialTraining, Budgets, Example
from harness.training.loop import TrainingSettings
from harness.training.train import fit

TEXTS = ["a charming and often affecting journey", "unflinchingly bleak and desperate", "the acting is superb",
         "it is a dull , lifeless film", "one of the best films of the year", "a waste of time and money",
         "the plot is thin but the performances are great", "i hated every minute of it"]
POSITIVE = {0, 2, 4, 6}


def examples(count: int, prefix: str) -> list[Example]:
    # Texts of different lengths, so batches are padded differently in one process and in two.
    return [Example(f"{prefix}{index}", " ".join(TEXTS[(index + step) % 8] for step in range(1 + index % 3)),
                    int(index % 8 in POSITIVE)) for index in range(count)]


def silent(iterable=None, **kwargs):
    from tqdm import tqdm

    return tqdm(iterable, disable=True, **kwargs)


@pytest.fixture(scope="module")
def tokenizer():
    from tiny_models import minilm_dir
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(minilm_dir())


@pytest.fixture(scope="module")
def base_model():
    import torch
    from transformers import BertConfig, BertForSequenceClassification

    torch.manual_seed(0)
    config = BertConfig(vocab_size=30522, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=128, num_labels=2,
                        hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    return BertForSequenceClassification(config).eval()


def train_twice(model, tokenizer, train, settings):
    """(model, FitResult) after one process and after two, from the same weights and seed."""
    runs = []
    for processes in (1, 2):
        copied = copy.deepcopy(model)
        result = fit(copied, tokenizer, train, examples(8, "v"),
                     dataclasses.replace(settings, data_parallel_processes=processes), Budgets(), "cpu", 0, 48, silent)
        runs.append((copied, result))
    return runs


def trainable_state(model):
    return {name: parameter.detach().clone() for name, parameter in model.named_parameters() if parameter.requires_grad}


def max_difference(first, second) -> float:
    assert first.keys() == second.keys()
    return max((first[name] - second[name]).abs().max().item() for name in first)


def test_two_processes_train_the_same_weights_as_one(base_model, tokenizer):
    # 41 examples in batches of 8: the last batch holds one example, so the second process's slice is empty.
    (one, single), (two, double) = train_twice(
        base_model, tokenizer, examples(41, "t"), TrainingSettings(epochs=3, learning_rate=2e-3, batch_size=8))
    initial, after_one, after_two = trainable_state(base_model), trainable_state(one), trainable_state(two)
    assert max_difference(initial, after_one) > 1e-3  # training moved the weights: the comparison means something
    assert max_difference(after_one, after_two) < 1e-5
    assert (double.steps, double.samples_seen, double.best_epoch_index) == (single.steps, single.samples_seen,
                                                                           single.best_epoch_index)
    for record_one, record_two in zip(single.history, double.history, strict=True):
        assert record_two.train_loss == pytest.approx(record_one.train_loss, rel=1e-5)
        assert record_two.train_accuracy == record_one.train_accuracy
        assert record_two.validation_loss == pytest.approx(record_one.validation_loss, rel=1e-5)
        assert record_two.learning_rate == record_one.learning_rate
    assert double.history[-1].train_loss < double.history[0].train_loss
    assert double.kept_train_accuracy == single.kept_train_accuracy
    assert not two.training  # left in eval mode, on the requested device, like one process leaves it


def test_lora_adapter_trains_the_same_in_two_processes(base_model, tokenizer):
    from peft import LoraConfig, TaskType, get_peft_model

    lora = get_peft_model(copy.deepcopy(base_model), LoraConfig(task_type=TaskType.SEQ_CLS, r=4, lora_alpha=8,
                                                                target_modules=["query", "value"]))
    # 37 examples: the last batch of 5 splits 3 + 2.
    (one, single), (two, double) = train_twice(
        lora, tokenizer, examples(37, "t"), TrainingSettings(epochs=2, learning_rate=5e-3, batch_size=8))
    after_one, after_two = trainable_state(one), trainable_state(two)
    assert any("lora_B" in name for name in after_two)
    assert max_difference(trainable_state(lora), after_one) > 1e-3
    assert max_difference(after_one, after_two) < 1e-5
    assert double.history[-1].train_loss == pytest.approx(single.history[-1].train_loss, rel=1e-5)
    frozen_one = {name: tensor for name, tensor in one.state_dict().items() if "lora" not in name}
    frozen_two = {name: tensor for name, tensor in two.state_dict().items() if "lora" not in name}
    assert max_difference(frozen_one, frozen_two) < 1e-5  # the base weights and the trained head alike


def nan_model(base_model):
    model = copy.deepcopy(base_model)
    model.classifier.bias.data[:] = float("nan")  # a state, not a hook: it must pickle into the workers
    return model


@pytest.mark.parametrize("processes", [1, 2])
def test_nan_loss_stops_training_with_a_clear_error(base_model, tokenizer, processes):
    """With two processes this is also how a worker's exception reaches the parent: same type and message,
    the worker's traceback attached as the cause."""
    from harness.training.data_parallel import WorkerTraceback

    settings = TrainingSettings(epochs=1, batch_size=8, data_parallel_processes=processes)
    with pytest.raises(FloatingPointError, match=r"training loss became nan at epoch 1, step 1 \(learning rate "
                                                 r".*\): lower learning_rate") as raised:
        fit(nan_model(base_model), tokenizer, examples(16, "t"), examples(4, "v"), settings, Budgets(), "cpu", 0,
            48, silent)
    if processes == 2:
        assert isinstance(raised.value.__cause__, WorkerTraceback)
        assert "Traceback" in str(raised.value.__cause__) and "run_training" in str(raised.value.__cause__)


def test_unsupported_settings_are_refused_before_any_process_starts(base_model, tokenizer):
    settings = TrainingSettings(epochs=1, batch_size=8, data_parallel_processes=2)
    train = examples(8, "t")

    def run(**kwargs):
        fit(copy.deepcopy(base_model), tokenizer, train, [], settings, Budgets(), "cpu", 0, 48, silent, **kwargs)

    with pytest.raises(ValueError, match=r"data_parallel_processes=2: this method runs a callback after every "
                                         r"optimizer step .*set data_parallel_processes: 1"):
        run(after_optimizer_step=lambda step: None)
    adversarial = AdversarialTraining(clean_epochs=0, attack_epoch_interval=1, alpha=1.0, expected_examples=1,
                                      generate=lambda epoch, model, tokenizer: AdversarialRound(()))
    with pytest.raises(ValueError, match=r"data_parallel_processes=2: adversarial training"):
        run(adversarial=adversarial)
    with pytest.raises(ValueError, match="data_parallel_processes must be at least 1"):
        TrainingSettings(data_parallel_processes=0)


def test_process_count_follows_visible_gpus(base_model, monkeypatch):
    from harness.training import data_parallel

    monkeypatch.setattr(data_parallel, "_visible_gpus", lambda: 4)
    resolve = data_parallel.resolve_processes
    automatic, two, eight = (TrainingSettings(data_parallel_processes=count) for count in (None, 2, 8))
    assert resolve(automatic, "cuda", base_model, None, None) == 4
    assert resolve(automatic, "cpu", base_model, None, None) == 1
    assert resolve(automatic, "cuda:1", base_model, None, None) == 1
    assert resolve(automatic, "cuda", base_model, lambda step: None, None) == 1  # AdaLoRA: one process, no error
    assert resolve(two, "cuda", base_model, None, None) == 2
    assert resolve(two, "cpu", base_model, None, None) == 2
    with pytest.raises(ValueError, match=r"data_parallel_processes=8 asks for one GPU per process, but only 4"):
        resolve(eight, "cuda", base_model, None, None)
    with pytest.raises(ValueError, match="CUDA_VISIBLE_DEVICES"):
        resolve(two, "cuda:1", base_model, None, None)
    monkeypatch.setattr(data_parallel, "_visible_gpus", lambda: 1)
    assert resolve(automatic, "cuda", base_model, None, None) == 1
