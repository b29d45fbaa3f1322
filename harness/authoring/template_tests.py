"""The contract tests `harness new-plugin KIND NAME` writes with each component (tests/test_<module>.py), one
string.Template text per kind (TESTS); the component modules are in harness.authoring.template_texts.
Placeholders: $name (component name), $module (Python module), $kind."""

TEST_HEADER = '''\
"""Contract tests of the $kind `$name`, through the harness's plugin test kit (harness.testing).

Run with `pytest tests` after `pip install -e .`; harness.testing documents every check.
"""

from __future__ import annotations
'''

TASK_TEST = TEST_HEADER + '''
from harness.testing import build_component, check_config, check_import_is_light, check_task

import $module as plugin


def write_files(directory):
    train = directory / "train.csv"
    train.write_text("text,label\\n" + "".join(f"text number {index},{index % 2}\\n" for index in range(10)),
                     encoding="utf-8")
    test = directory / "test.jsonl"
    test.write_text('{"text": "a test text", "label": 1}\\n{"text": "another, with a comma", "label": 0}\\n',
                    encoding="utf-8")
    return {"train": str(train), "test": str(test), "label_names": ["negative", "positive"]}


def test_config_follows_the_conventions(tmp_path):
    files = write_files(tmp_path)
    check_config(plugin, "task", plugin.NAME, files,
                 rejects=[{"train": str(tmp_path / "missing.csv")}, {"test": str(tmp_path / "data.txt")}])


def test_task_meets_the_contract(tmp_path):
    data = check_task(build_component(plugin, "task", plugin.NAME, write_files(tmp_path)))
    assert data.label_names == ("negative", "positive")
    assert (len(data.train), len(data.test)) == (10, 2)
    assert data.test[1].text == "another, with a comma" and data.test[1].label == 0


def test_importing_the_plugin_is_cheap():
    check_import_is_light([plugin.__name__])
'''

FINETUNER_TEST = TEST_HEADER + '''
from harness.testing import (build_component, check_config, check_finetuner, check_import_is_light,
                             tiny_train_request)

import $module as plugin


def test_config_follows_the_conventions():
    config = check_config(plugin, "finetuner", plugin.NAME, rejects=[{"learning_rate": 0.0}, {"epochs": -1}])
    assert config.learning_rate == 3e-5


def test_finetuner_meets_the_contract(tmp_path):
    params = {"epochs": 1, "batch_size": 4}
    full = check_finetuner(build_component(plugin, "finetuner", plugin.NAME, params),
                           tiny_train_request(tmp_path / "full"))
    frozen = check_finetuner(build_component(plugin, "finetuner", plugin.NAME, {**params, "freeze_embeddings": True}),
                             tiny_train_request(tmp_path / "frozen"))
    assert frozen.trainable_parameters < full.trainable_parameters == full.total_parameters


def test_importing_the_plugin_is_cheap():
    check_import_is_light([plugin.__name__])
'''

ATTACK_TEST = TEST_HEADER + '''
import pytest
from harness.testing import (build_component, check_attack, check_config, check_import_is_light, sample_examples,
                             stage_environment, tiny_classifier)

import $module as plugin


@pytest.fixture(scope="module")
def classifier(tmp_path_factory):
    """A small random BERT with a real tokenizer, built once for this module (offline, about a second)."""
    return tiny_classifier(tmp_path_factory.mktemp("classifier"))


def test_config_follows_the_conventions():
    check_config(plugin, "attack", plugin.NAME, rejects=[{"max_deleted_words": 0}, {"query_budget": 0}])


def test_attack_meets_the_contract(classifier, tmp_path):
    attack = build_component(plugin, "attack", plugin.NAME, {"max_deleted_words": 2})
    outcome = check_attack(attack, classifier, sample_examples(), stage_environment(tmp_path))
    assert all(record.words_perturbed <= 2 for record in outcome.records)


def test_query_budget_is_respected(classifier, tmp_path):
    attack = build_component(plugin, "attack", plugin.NAME, {"query_budget": 5})
    outcome = check_attack(attack, classifier, sample_examples(), stage_environment(tmp_path))
    assert all(record.num_queries <= 5 for record in outcome.records)


def test_importing_the_plugin_is_cheap():
    check_import_is_light([plugin.__name__])
'''

AUGMENTER_TEST = TEST_HEADER + '''
from harness.testing import (SAMPLE_TEXTS, build_component, check_augmenter, check_config, check_import_is_light,
                             stage_environment)

import $module as plugin


def test_config_follows_the_conventions():
    check_config(plugin, "augmenter", plugin.NAME, {"rate": 0.5}, rejects=[{"rate": 1.5}, {"rate": -0.1}])


def test_augmenter_meets_the_contract():
    outputs = check_augmenter(build_component(plugin, "augmenter", plugin.NAME, {"rate": 0.5}), SAMPLE_TEXTS)
    assert outputs[0] != list(SAMPLE_TEXTS)  # it does change texts
    assert all(sorted(out) == sorted(text) for out, text in zip(outputs[0], SAMPLE_TEXTS))  # by swapping only


def test_rate_zero_changes_nothing(tmp_path):
    augmenter = build_component(plugin, "augmenter", plugin.NAME, {"rate": 0.0})
    assert augmenter.augment(list(SAMPLE_TEXTS), stage_environment(tmp_path)) == list(SAMPLE_TEXTS)


def test_importing_the_plugin_is_cheap():
    check_import_is_light([plugin.__name__])
'''

EXPLAINER_TEST = TEST_HEADER + '''
import pytest
from harness.testing import (build_component, check_config, check_explainer, check_import_is_light, sample_examples,
                             stage_environment, tiny_classifier)

import $module as plugin


@pytest.fixture(scope="module")
def classifier(tmp_path_factory):
    """A small random BERT with a real tokenizer, built once for this module (offline, about a second)."""
    return tiny_classifier(tmp_path_factory.mktemp("classifier"))


def test_config_follows_the_conventions():
    check_config(plugin, "explainer", plugin.NAME, {"replacement": "[UNK]"}, rejects=[{"batch_size": 0}])


def test_explainer_meets_the_contract(classifier, tmp_path):
    explainer = build_component(plugin, "explainer", plugin.NAME, {"batch_size": 3})
    outcome = check_explainer(explainer, classifier, sample_examples(), stage_environment(tmp_path))
    first = outcome.attributions[0]
    assert first.words == tuple(sample_examples()[0].text.split())


def test_importing_the_plugin_is_cheap():
    check_import_is_light([plugin.__name__])
'''

REPORTER_TEST = TEST_HEADER + '''
from harness.testing import build_component, check_config, check_import_is_light, check_reporter, sample_run_dir

import $module as plugin


def test_config_follows_the_conventions():
    check_config(plugin, "reporter", plugin.NAME, rejects=[{"filename": "../escape.txt"}, {"filename": ""}])


def test_reporter_meets_the_contract(tmp_path):
    run_dir = sample_run_dir(tmp_path)
    [path] = check_reporter(build_component(plugin, "reporter", plugin.NAME), run_dir)
    text = path.read_text(encoding="utf-8")
    assert path.name == "summary.txt"
    assert "accuracy" in text and "failed stages: 1" in text and "PASS" in text


def test_importing_the_plugin_is_cheap():
    check_import_is_light([plugin.__name__])
'''

TESTS = {
    "task": TASK_TEST,
    "finetuner": FINETUNER_TEST,
    "attack": ATTACK_TEST,
    "augmenter": AUGMENTER_TEST,
    "explainer": EXPLAINER_TEST,
    "reporter": REPORTER_TEST,
}
