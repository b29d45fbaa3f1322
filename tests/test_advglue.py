"""Attack `advglue`: a tiny fine-tuned BERT evaluated on an AdvGLUE dev.json written by the tests in the release's
layout (the same checks on the real dev set: tests/shared_data, opt-in)."""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path

import pytest
from fixture_data import ADVGLUE_SIZES

from harness import HarnessError, SourceLocation
from harness.attack.metrics import attack_metrics
from harness.core.config import build_config
from harness.core.plugin_manager import make_plugin_manager
from harness.core.registry import Registry
from harness.core.runner import make_progress
from harness.core.types import Budgets, Example, ModelSource, StageEnvironment, TaskData, TrainRequest
from harness.kinds.loading import load_trained_classifier
from harness_plugins.advglue import AdvGlueAttack, AdvGlueConfig

SENTENCES = ("a charming and often affecting journey", "unflinchingly bleak and desperate", "the acting is superb",
             "it is a dull , lifeless film", "one of the best films of the year", "a waste of time and money",
             "the plot is thin but the performances are great", "i hated every minute of it")


@pytest.fixture(scope="module")
def advglue_path(release_data) -> str:
    return str(release_data / "advglue" / "dev.json")


@pytest.fixture(scope="module")
def environment(tmp_path_factory) -> StageEnvironment:
    return StageEnvironment("cpu", 0, tmp_path_factory.mktemp("advglue-env"), make_progress(False))


@pytest.fixture(scope="module")
def classifier(tiny_model_dir, tmp_path_factory):
    return two_label_classifier(tiny_model_dir, tmp_path_factory.mktemp("advglue-model"))


def two_label_classifier(tiny_model_dir: Path, output: Path):
    """The tiny BERT fine-tuned for one short epoch on two labels (what it learns does not matter here)."""
    examples = tuple(Example(str(index), text, index % 2) for index, text in enumerate(SENTENCES * 4))
    data = TaskData("tiny", ("negative", "positive"), examples, examples[:8], examples[:8])
    finetuner = Registry(make_plugin_manager()).get("finetuner", "full")
    request = TrainRequest(ModelSource("tiny", str(tiny_model_dir), 64), data, Budgets(), output / "model",
                           StageEnvironment("cpu", 0, output, make_progress(False)))
    trained = finetuner.factory(finetuner.config_class(epochs=1, batch_size=16)).train(request)
    return load_trained_classifier(trained, data.label_names, "cpu", 64, 64)


def run(classifier, environment, **config):
    return AdvGlueAttack(AdvGlueConfig(**config)).attack(classifier, [], environment)


def test_sst2_records_agree_with_the_predictor_and_the_metrics(classifier, environment, advglue_path):
    assert len(check_sst2_records(classifier, environment, advglue_path)) == ADVGLUE_SIZES["sst2"] == 48


def check_sst2_records(classifier, environment, advglue_path: str) -> list:
    """The sst2 records of a dev.json agree with its items, the predictor and the attack metrics; returns them."""
    items = json.loads(Path(advglue_path).read_text(encoding="utf-8"))["sst2"]
    calls = []
    original_probabilities = classifier.predictor.probabilities

    class CountingPredictor:
        forwards = 0

        def probabilities(self, texts):
            calls.append(len(texts))
            return original_probabilities(texts)

    counting = types.SimpleNamespace(tokenizer=classifier.tokenizer, predictor=CountingPredictor(),
                                     label_names=classifier.label_names)
    outcome = AdvGlueAttack(AdvGlueConfig(task="sst2", path=advglue_path)).attack(
        counting, [Example("ignored", "ignored", 0)], environment)
    records = outcome.records

    assert calls == [len(items)] and len(records) == len(items)
    assert {record.status for record in records} <= {"successful", "failed"}
    assert [record.example_id for record in records] == [f"advglue-sst2-{item['idx']}" for item in items]
    assert [record.original_text for record in records] == [item["sentence"] for item in items]
    assert [record.label for record in records] == [item["label"] for item in items]
    classifier.predictor.clear_cache()
    predictions = classifier.predictor.predict([item["sentence"] for item in items])
    assert [record.perturbed_prediction for record in records] == predictions.tolist()
    for record in records:
        assert record.original_text == record.perturbed_text
        assert record.original_prediction == record.perturbed_prediction
        assert record.status == ("failed" if record.perturbed_prediction == record.label else "successful")
        assert 0.5 <= record.perturbed_confidence == record.original_confidence <= 1.0
        assert (record.num_queries, record.words_perturbed) == (1, 0)
        assert record.words_total == len(record.original_text.split()) and record.seconds >= 0

    correct = sum(int(prediction) == item["label"] for prediction, item in zip(predictions, items)) / len(items)
    metrics = {metric.name: metric.value for metric in attack_metrics(records, model_forwards=0)}
    assert metrics["accuracy_under_attack"] == pytest.approx(correct)
    assert metrics["clean_accuracy"] == pytest.approx(correct)
    assert metrics["attack_success_rate"] == pytest.approx(1 - correct)
    assert metrics["skipped_examples"] == 0
    return records


def test_pair_task_reads_the_texts_as_a_pair(classifier, environment, advglue_path):
    assert len(check_pair_records(classifier, environment, advglue_path)) == ADVGLUE_SIZES["qnli"] == 30


def check_pair_records(classifier, environment, advglue_path: str) -> list:
    """The qnli records of a dev.json hold each item's two texts as a pair, or joined by pair_separator."""
    items = json.loads(Path(advglue_path).read_text(encoding="utf-8"))["qnli"]
    calls = []
    original_probabilities = classifier.predictor.probabilities
    classifier.predictor.probabilities = lambda texts: calls.append(list(texts)) or original_probabilities(texts)
    try:
        records = run(classifier, environment, task="qnli", path=advglue_path).records
    finally:
        del classifier.predictor.probabilities
    assert calls == [[(item["question"], item["sentence"]) for item in items]]
    assert len(records) == len(items)
    assert [(record.original_text, record.original_text_pair) for record in records] == [
        (item["question"], item["sentence"]) for item in items]
    assert all(record.perturbed_text_pair == record.original_text_pair for record in records)
    assert records[0].example_id == f"advglue-qnli-{items[0]['idx']}"
    assert records[0].words_total == len(items[0]["question"].split()) + len(items[0]["sentence"].split())
    expected = original_probabilities([(items[0]["question"], items[0]["sentence"])])[0]
    assert records[0].original_prediction == int(expected.argmax())

    # A model fine-tuned on joined text gets the texts joined.
    custom = run(classifier, environment, task="qnli", path=advglue_path, pair_separator="|").records
    assert custom[0].original_text == f"{items[0]['question']} | {items[0]['sentence']}"
    assert getattr(custom[0], "original_text_pair", None) is None
    return records


def test_three_label_task_against_a_two_label_model_is_refused(classifier, environment, advglue_path):
    with pytest.raises(HarnessError, match=r"advglue.*'mnli' has 3 labels but the model has 2"):
        run(classifier, environment, task="mnli", path=advglue_path)


def test_label_map_remaps_advglue_labels(classifier, environment, advglue_path):
    identity = run(classifier, environment, task="rte", path=advglue_path).records
    swapped = run(classifier, environment, task="rte", path=advglue_path, label_map=(1, 0)).records
    assert [record.label for record in swapped] == [1 - record.label for record in identity]
    assert [record.perturbed_prediction for record in swapped] == [record.perturbed_prediction for record in identity]
    assert all(a.status != b.status for a, b in zip(identity, swapped))
    with pytest.raises(ValueError, match=r"^label_map must list 3"):
        AdvGlueConfig(task="mnli", path=advglue_path, label_map=(0, 1))


def test_missing_path_is_a_config_error_on_the_suite_line(tmp_path, monkeypatch):
    with pytest.raises(ValueError, match=r"^path '.*nope\.json' does not exist"):
        AdvGlueConfig(path=str(tmp_path / "nope.json"))
    monkeypatch.setenv("ADVGLUE_TEST_DIR", str(tmp_path))
    (tmp_path / "dev.json").write_text("{}", encoding="utf-8")
    assert AdvGlueConfig(path="$ADVGLUE_TEST_DIR/dev.json").path == "$ADVGLUE_TEST_DIR/dev.json"

    line = SourceLocation("suite.yaml", 7, 11)
    config, errors = build_config(AdvGlueConfig, {"path": str(tmp_path / "nope.json")}, {"path": line}, None,
                                  "attack", "advglue", "advglue")
    assert config is None and len(errors) == 1 and errors[0].location == line
    config, errors = build_config(AdvGlueConfig, {"task": "rte", "label_map": [1, 0]}, {}, None,
                                  "attack", "advglue", "advglue")
    assert errors == [] and config.label_map == (1, 0)


def test_hub_path_loads_adv_glue_and_fails_clearly_offline(monkeypatch):
    calls = []

    def fake_load_dataset(name, config_name, split):
        calls.append((name, config_name, split))
        return [{"idx": 4, "premise": "a cat sat", "hypothesis": "an animal sat", "label": 0}]

    monkeypatch.setitem(sys.modules, "datasets", types.SimpleNamespace(load_dataset=fake_load_dataset))
    items = AdvGlueAttack(AdvGlueConfig(task="mnli-mm")).items()
    assert calls == [("AI-Secure/adv_glue", "adv_mnli_mismatched", "validation")]
    assert [(item.idx, item.text, item.text_pair, item.label) for item in items] == [
        (4, "a cat sat", "an animal sat", 0)]
    joined = AdvGlueAttack(AdvGlueConfig(task="mnli-mm")).items("[SEP]")
    assert [(item.text, item.text_pair) for item in joined] == [("a cat sat [SEP] an animal sat", None)]

    def offline(*args, **kwargs):
        raise ConnectionError("Couldn't reach 'adv_glue' on the Hub (LocalEntryNotFoundError)")

    monkeypatch.setitem(sys.modules, "datasets", types.SimpleNamespace(load_dataset=offline))
    with pytest.raises(HarnessError, match=r"advglue.*adv_glue/adv_sst2.*`path:`") as raised:
        AdvGlueAttack(AdvGlueConfig()).items()
    assert isinstance(raised.value.__cause__, ConnectionError)
