"""Seeded, stratified samples: label proportions kept, larger budgets keep smaller ones' examples, fractions or
counts, and the run stores the ids and fingerprints of the examples it used."""

from __future__ import annotations

import json
import re
from collections import Counter

import pytest
from conftest import dump_suite, tiny_suite

from harness.cli import main
from harness.core.sampling import resolve_count, sample, stratified_order
from harness.core.types import Budgets, Example


def _examples(counts: dict[int, int]) -> list[Example]:
    # Sorted by label, as many dataset files are: a first-N sample would hold one class only.
    return [Example(f"{label}-{index}", f"text {label} {index}", label)
            for label, count in counts.items() for index in range(count)]


def test_every_prefix_keeps_the_label_proportions():
    examples = _examples({0: 600, 1: 300, 2: 100})
    order = stratified_order(examples, seed=3)
    assert sorted(example.id for example in order) == sorted(example.id for example in examples)
    for size in (10, 50, 137, 500):
        counts = Counter(example.label for example in order[:size])
        for label, share in ((0, 0.6), (1, 0.3), (2, 0.1)):
            assert abs(counts[label] - share * size) <= 1, (size, counts)


def test_samples_are_nested_seeded_and_take_fractions():
    examples = _examples({0: 50, 1: 50})
    small, large = sample(examples, 10, seed=0), sample(examples, 40, seed=0)
    assert large[:10] == small
    assert sample(examples, 10, seed=0) == small and sample(examples, 10, seed=1) != small
    assert len(sample(examples, 0.25, seed=0)) == 25 and resolve_count(0.001, 100) == 1
    assert resolve_count(None, 7) == 7 and resolve_count(500, 7) == 7
    unstratified = sample(examples, 100, seed=0, stratify=False)
    assert sorted(e.id for e in unstratified) == sorted(e.id for e in examples)


@pytest.mark.parametrize("field, value, message", [
    ("max_train_examples", 1.5, "a fraction in (0, 1]"),
    ("max_eval_examples", 0, "must be positive"),
    ("max_attack_examples", -1, "must be positive"),
])
def test_budgets_refuse_impossible_sizes(field, value, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        Budgets(**{field: value})


def test_a_run_stores_the_ids_and_fingerprints_of_its_samples(tmp_path, tiny_model_dir, sst2_files):
    suite = tiny_suite(tiny_model_dir, sst2_files, tmp_path, methods=[{"use": "lora", "epochs": 1}], attacks=[],
                       explainers=[], budgets={"max_train_examples": 0.5, "max_eval_examples": 20,
                                               "max_attack_examples": 6, "max_explain_examples": 4, "sample_seed": 7})
    path = dump_suite(suite, tmp_path / "suite.yaml")
    assert main(["run", str(path), "--no-progress"]) == 0
    (run_dir,) = [p for p in (tmp_path / "tiny").iterdir() if (p / "manifest.json").exists()]
    samples = json.loads((run_dir / "samples.json").read_text())
    assert samples["seed"] == 7 and samples["stratified"] is True
    assert len(samples["test"]) == 20 and len(samples["attack"]) == 6 and len(samples["explain"]) == 4
    assert samples["explain"] == samples["attack"][:4]  # one stratified order of the test split, cut twice
    assert set(samples["attack"]) <= set(samples["test"])
    # 160 training lines; 10% held out for validation (the task has none), half of the rest kept.
    assert len(samples["train"]) == 72 and not set(samples["train"]) & set(samples["validation"])
    fingerprints = json.loads((run_dir / "manifest.json").read_text())["dataset_fingerprints"]
    assert set(fingerprints) == {"loaded", "used", "attack", "explain", "test_inputs"}
    # The test set's inputs without their labels (what paired tests pair): not the labelled test set's key.
    assert fingerprints["test_inputs"] != fingerprints["used"]["test"]
    assert fingerprints["loaded"]["train"] != fingerprints["used"]["train"]
