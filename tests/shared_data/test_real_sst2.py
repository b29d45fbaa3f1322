"""MiniLM and the shipped suites on the real SST-2 (opt-in: HARNESS_SHARED_DATA). The default set checks the same
on SST-2-style sentences written by the tests (tests/test_explainers.py, tests/test_suite_validation.py)."""

from __future__ import annotations

import pytest
from fixture_data import read_sst2_tsv
from real_copies import shared
from test_explainers import (
    accuracy,
    check_faithful_explainer_beats_random,
    fine_tuned_minilm,
)
from test_suite_validation import validate_sst2_suites_on_local_copies

from harness.core.plugin_manager import make_plugin_manager
from harness.core.registry import Registry
from harness.core.types import Example


def read_sst2(split: str, count: int) -> list[Example]:
    """The first `count` sentences of six words or more of a real SST-2 file (its train split is mostly phrases)."""
    rows = [(text, label) for text, label in read_sst2_tsv(shared(f"sst2/{split}.tsv")) if len(text.split()) >= 6]
    return [Example(f"{split}-{index}", text, label) for index, (text, label) in enumerate(rows[:count])]


@pytest.fixture(scope="module")
def classifier():
    """MiniLM fine-tuned on 400 real SST-2 training sentences (about 30 s on two CPU cores)."""
    return fine_tuned_minilm(read_sst2("train", 400), read_sst2("dev", 32))


def test_minilm_learns_real_sst2(classifier):
    assert accuracy(classifier, read_sst2("test", 40)) >= 0.7


@pytest.mark.parametrize("name", ["integrated-gradients", "feature-ablation"])
def test_faithful_explainers_beat_random_attributions_on_real_sentences(name, classifier):
    check_faithful_explainer_beats_random(name, classifier, Registry(make_plugin_manager()), read_sst2("test", 12))


@pytest.mark.textattack  # the SST-2 suites use TextAttack recipes
def test_shipped_sst2_suites_validate_on_the_real_copies(capsys):
    validate_sst2_suites_on_local_copies(shared("."), capsys)
