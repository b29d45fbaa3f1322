"""The tests `harness new-plugin KIND NAME` writes with each component (tests/test_<module>.py), one
string.Template text per kind (TESTS); the component modules are in harness.authoring.template_texts.
Placeholders: $name (component name), $module (Python module), $kind.

Each file holds contract tests through harness.testing, which pass for any well-formed component of the kind, and
`test_what_it_does`, which fails with "TODO: assert something about what NAME does" until the author replaces it:
the contract kit cannot know what the component is for, and a package whose tests pass as generated would pass
whatever the author's code did. Its comment holds assertions that are true of the template's starting code (the
lines between TODO_EXAMPLE and the failure): uncommented, they pass, which tests/test_plugin_authoring.py checks.
Assertions about that starting code live there only, so the contract tests keep passing when the author changes
what the component does."""

TODO_EXAMPLE = "# For example, true of the template's starting code (uncomment; change as the code changes):"
"""The line that opens the example assertions in `test_what_it_does`."""


def todo_failure(name: str) -> str:
    """The message `test_what_it_does` fails with until the author replaces it."""
    return f"TODO: assert something about what {name} does"


TEST_HEADER = '''\
"""Tests of the $kind `$name`: contract tests (harness.testing, the plugin test kit) and
test_what_it_does, which fails until you write what `$name` does.

Run with `pytest tests` after `pip install -e .`; harness.testing documents every check.
"""

from __future__ import annotations
'''

WHAT_IT_DOES_DOC = '''\
    """TODO: the test of what `$name` is for. The contract tests above check that it is a well-formed
    $kind; only this one can say what it does. Replace the failure with assertions about its behaviour."""
''' + "    " + TODO_EXAMPLE + "\n"
WHAT_IT_DOES_FAILURE = '''    pytest.fail("''' + todo_failure("$name") + '''")
'''

TASK_TEST = TEST_HEADER + '''
import pytest
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
    check_task(build_component(plugin, "task", plugin.NAME, write_files(tmp_path)))


def test_importing_the_plugin_is_cheap():
    check_import_is_light([plugin.__name__])


def test_what_it_does(tmp_path):
''' + WHAT_IT_DOES_DOC + '''\
    # data = check_task(build_component(plugin, "task", plugin.NAME, write_files(tmp_path)))
    # assert data.label_names == ("negative", "positive")
    # assert (len(data.train), len(data.test)) == (10, 2)
    # assert data.test[1].text == "another, with a comma" and data.test[1].label == 0
''' + WHAT_IT_DOES_FAILURE

FINETUNER_TEST = TEST_HEADER + '''
import pytest
from harness.testing import (build_component, check_config, check_finetuner, check_import_is_light,
                             tiny_train_request)

import $module as plugin


def test_config_follows_the_conventions():
    check_config(plugin, "finetuner", plugin.NAME, rejects=[{"learning_rate": 0.0}, {"epochs": -1}])


def test_finetuner_meets_the_contract(tmp_path):
    check_finetuner(build_component(plugin, "finetuner", plugin.NAME, {"epochs": 1, "batch_size": 4}),
                    tiny_train_request(tmp_path))


def test_importing_the_plugin_is_cheap():
    check_import_is_light([plugin.__name__])


def test_what_it_does(tmp_path):
''' + WHAT_IT_DOES_DOC + '''\
    # assert check_config(plugin, "finetuner", plugin.NAME).learning_rate == 3e-5
    # params = {"epochs": 1, "batch_size": 4}
    # full = check_finetuner(build_component(plugin, "finetuner", plugin.NAME, params),
    #                        tiny_train_request(tmp_path / "full"))
    # frozen = check_finetuner(build_component(plugin, "finetuner", plugin.NAME, {**params, "freeze_embeddings": True}),
    #                          tiny_train_request(tmp_path / "frozen"))
    # assert frozen.trainable_parameters < full.trainable_parameters == full.total_parameters
''' + WHAT_IT_DOES_FAILURE

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
    check_attack(build_component(plugin, "attack", plugin.NAME), classifier, sample_examples(),
                 stage_environment(tmp_path))


def test_query_budget_is_respected(classifier, tmp_path):
    attack = build_component(plugin, "attack", plugin.NAME, {"query_budget": 5})
    outcome = check_attack(attack, classifier, sample_examples(), stage_environment(tmp_path))
    assert all(record.num_queries <= 5 for record in outcome.records)


def test_importing_the_plugin_is_cheap():
    check_import_is_light([plugin.__name__])


def test_what_it_does(classifier, tmp_path):
''' + WHAT_IT_DOES_DOC + '''\
    # attack = build_component(plugin, "attack", plugin.NAME, {"max_deleted_words": 2})
    # outcome = check_attack(attack, classifier, sample_examples(), stage_environment(tmp_path))
    # assert all(record.words_perturbed <= 2 for record in outcome.records)
    # assert all(len(record.perturbed_text.split()) == record.words_total - record.words_perturbed  # deletes words
    #            for record in outcome.records)
''' + WHAT_IT_DOES_FAILURE

AUGMENTER_TEST = TEST_HEADER + '''
import pytest
from harness.testing import (SAMPLE_TEXTS, build_component, check_augmenter, check_config, check_import_is_light,
                             stage_environment)

import $module as plugin


def test_config_follows_the_conventions():
    check_config(plugin, "augmenter", plugin.NAME, {"rate": 0.5}, rejects=[{"rate": 1.5}, {"rate": -0.1}])


def test_augmenter_meets_the_contract():
    check_augmenter(build_component(plugin, "augmenter", plugin.NAME, {"rate": 0.5}), SAMPLE_TEXTS)


def test_rate_zero_changes_nothing(tmp_path):
    augmenter = build_component(plugin, "augmenter", plugin.NAME, {"rate": 0.0})
    assert augmenter.augment(list(SAMPLE_TEXTS), stage_environment(tmp_path)) == list(SAMPLE_TEXTS)


def test_importing_the_plugin_is_cheap():
    check_import_is_light([plugin.__name__])


def test_what_it_does():
''' + WHAT_IT_DOES_DOC + '''\
    # outputs = check_augmenter(build_component(plugin, "augmenter", plugin.NAME, {"rate": 0.5}), SAMPLE_TEXTS)
    # assert outputs[0] != list(SAMPLE_TEXTS)  # it does change texts
    # assert all(sorted(out) == sorted(text) for out, text in zip(outputs[0], SAMPLE_TEXTS))  # by swapping only
''' + WHAT_IT_DOES_FAILURE

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
    check_explainer(build_component(plugin, "explainer", plugin.NAME, {"batch_size": 3}), classifier,
                    sample_examples(), stage_environment(tmp_path))


def test_importing_the_plugin_is_cheap():
    check_import_is_light([plugin.__name__])


def test_what_it_does(classifier, tmp_path):
''' + WHAT_IT_DOES_DOC + '''\
    # explainer = build_component(plugin, "explainer", plugin.NAME, {"batch_size": 3})
    # outcome = check_explainer(explainer, classifier, sample_examples(), stage_environment(tmp_path))
    # first, text = outcome.attributions[0], sample_examples()[0].text
    # assert first.words == tuple(text.split())
    # start, end = first.spans[0]  # a word's score: the probability the prediction loses without it
    # probabilities = classifier.predictor.probabilities([text, text[:start] + text[end:]])
    # assert abs(first.scores[0] - (probabilities[0, first.target] - probabilities[1, first.target])) < 1e-4
''' + WHAT_IT_DOES_FAILURE

REPORTER_TEST = TEST_HEADER + '''
import pytest
from harness.testing import build_component, check_config, check_import_is_light, check_reporter, sample_run_dir

import $module as plugin


def test_config_follows_the_conventions():
    check_config(plugin, "reporter", plugin.NAME, rejects=[{"filename": "../escape.txt"}, {"filename": ""}])


def test_reporter_meets_the_contract(tmp_path):
    check_reporter(build_component(plugin, "reporter", plugin.NAME), sample_run_dir(tmp_path))


def test_importing_the_plugin_is_cheap():
    check_import_is_light([plugin.__name__])


def test_what_it_does(tmp_path):
''' + WHAT_IT_DOES_DOC + '''\
    # [path] = check_reporter(build_component(plugin, "reporter", plugin.NAME), sample_run_dir(tmp_path))
    # text = path.read_text(encoding="utf-8")
    # assert path.name == "summary.txt"
    # assert "accuracy" in text and "failed stages: 1" in text and "PASS" in text
''' + WHAT_IT_DOES_FAILURE

TESTS = {
    "task": TASK_TEST,
    "finetuner": FINETUNER_TEST,
    "attack": ATTACK_TEST,
    "augmenter": AUGMENTER_TEST,
    "explainer": EXPLAINER_TEST,
    "reporter": REPORTER_TEST,
}
