"""Contract tests of the example plugins through the harness's plugin test kit (harness.testing).

Run with `pytest tests` after `pip install -e .` in this directory.
"""

from __future__ import annotations

from harness_example_plugins import leave_one_out, vowel_drop

from harness.testing import (
    SAMPLE_TEXTS,
    build_component,
    check_augmenter,
    check_config,
    check_explainer,
    check_import_is_light,
    sample_examples,
)

# The fixtures harness_tiny_classifier and harness_environment come from harness.testing through conftest.py.


def test_vowel_drop_config():
    check_config(vowel_drop, "augmenter", "vowel-drop", {"rate": 0.5},
                 rejects=[{"rate": 2.0}, {"min_word_length": 1}])


def test_vowel_drop_meets_the_augmenter_contract():
    augmenter = build_component(vowel_drop, "augmenter", "vowel-drop", {"rate": 1.0})
    outputs = check_augmenter(augmenter, SAMPLE_TEXTS)
    assert outputs[0][1] == "th plt is thn and th jks fll flt ."  # rate 1: every candidate word
    assert all(len(out.split()) == len(text.split()) for out, text in zip(outputs[0], SAMPLE_TEXTS))


def test_leave_one_out_config():
    check_config(leave_one_out, "explainer", "leave-one-out", {"score": "log-odds"},
                 rejects=[{"score": "logit"}, {"batch_size": 0}])


def test_leave_one_out_meets_the_explainer_contract(harness_tiny_classifier, harness_environment):
    for params in ({}, {"replacement": "unk", "score": "log-odds", "batch_size": 3}):
        explainer = build_component(leave_one_out, "explainer", "leave-one-out", params)
        check_explainer(explainer, harness_tiny_classifier, sample_examples(), harness_environment)


def test_importing_the_plugins_is_cheap():
    check_import_is_light([vowel_drop.__name__, leave_one_out.__name__])
