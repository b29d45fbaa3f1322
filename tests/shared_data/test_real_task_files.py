"""The task plugins on the full real copies (opt-in: HARNESS_SHARED_DATA): the exact sizes and contents of the
real SST-2, rt-polarity, AG News and AdvGLUE files. Each has a twin in tests/test_tasks.py on written copies."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fixture_data import write_glue_pair_tasks
from real_copies import shared
from test_tasks import examples, sizes, task

from harness.testing import check_task


@pytest.fixture(scope="module")
def glue_pairs(tmp_path_factory) -> Path:
    """Tiny GLUE-format train.tsv files for the pair tasks that the shared copies lack: QNLI/ and MNLI/."""
    return write_glue_pair_tasks(tmp_path_factory.mktemp("glue"), rows=20)


def test_sst2_from_the_shared_resplit():
    folder = shared("sst2")
    data = check_task(task("sst2", path=str(folder)))  # the contract kit: also loads twice, same data
    # README: train.tsv 60,614 + dev.tsv 6,735 = GLUE train (held out again: 10%), test.tsv = GLUE dev, 872.
    assert sizes(data) == (60614, 6735, 872)
    assert data.label_names == ("negative", "positive") and data.text_fields == ("sentence",)
    test_rows = (folder / "test.tsv").read_text(encoding="utf-8").splitlines()[1:]
    assert sorted((e.text, e.label) for e in data.test) == sorted(
        (line.rsplit("\t", 1)[0], int(line.rsplit("\t", 1)[1])) for line in test_rows)
    assert all(e.id.startswith("sst2-") and e.text_pair is None for e in data.test)


def test_rotten_tomatoes_from_the_rt_polarity_release():
    folder = shared("rt-polarity")
    data = check_task(task("rotten-tomatoes", path=str(folder)))
    assert sizes(data) == (8530, 1066, 1066)  # the hub's split, made as its loading script makes it
    assert data.label_names == ("neg", "pos") and data.text_fields == ("text",)
    for split, per_class in zip(examples(data), (4265, 533, 533)):
        assert sum(e.label for e in split) == per_class  # balanced
    positive = (folder / "rt-polarity.pos").read_text(encoding="utf-8").splitlines()
    assert [e.text for e in data.train if e.label == 1] != positive[:4265]  # seeded order, not file order
    assert sorted(e.text for e in data.train if e.label == 1) == sorted(line.strip() for line in positive[:4265])
    assert any("é" in e.text for e in data.train)  # UTF-8 decoded


def test_ag_news_from_the_shared_tsv_files():
    data = check_task(task("ag-news", path=str(shared("agnews"))))
    # README: dev 10,000 / test 7,600; the dev file actually holds 10,001 rows. dev.tsv is the train split
    # (10% held out as validation); test.tsv the test split.
    assert len(data.train) + len(data.validation) == 10001 and len(data.validation) == 1000
    assert len(data.test) == 7600
    assert data.label_names == ("World", "Sports", "Business", "Sci/Tech")
    assert {e.label for e in data.test} == {0, 1, 2, 3}


def test_advglue_task_from_the_shared_dev_json(glue_pairs):
    dev_json = shared("advglue/dev.json")
    items = json.loads(dev_json.read_text(encoding="utf-8"))
    sst2 = check_task(task("advglue", subset="sst2", path=str(dev_json), glue_path=str(shared("sst2"))))
    assert sizes(sst2) == (60614, 6735, 148) and sst2.label_names == ("negative", "positive")
    assert sorted(e.id for e in sst2.test) == sorted(f"advglue-sst2-{item['idx']}" for item in items["sst2"])
    assert sst2.name == "advglue-sst2" and sst2.text_fields == ("sentence",)

    qnli = check_task(task("advglue", subset="qnli", path=str(dev_json.parent), glue_path=str(glue_pairs / "QNLI")))
    assert len(qnli.test) == 148 and qnli.text_fields == ("question", "sentence")
    assert qnli.label_names == ("entailment", "not_entailment") and sizes(qnli)[:2] == (18, 2)
    by_id = {e.id: e for e in qnli.test}
    for item in items["qnli"]:
        example = by_id[f"advglue-qnli-{item['idx']}"]
        assert (example.text, example.text_pair, example.label) == (item["question"], item["sentence"], item["label"])
    assert any('"' in e.text_pair for e in qnli.train)  # GLUE's TSVs are read unquoted

    mismatched = check_task(task("advglue", subset="mnli-mm", path=str(dev_json), glue_path=str(glue_pairs / "MNLI")))
    assert len(mismatched.test) == 162 and mismatched.label_names == ("entailment", "neutral", "contradiction")
    assert mismatched.text_fields == ("premise", "hypothesis") and all(e.text_pair for e in mismatched.test)


def test_advglue_task_ids_match_the_attack_records():
    from harness.task_sources import load_splits
    from harness_plugins.advglue import AdvGlueAttack, AdvGlueConfig, advglue_source

    dev_json = shared("advglue/dev.json")
    attack_items = AdvGlueAttack(AdvGlueConfig(task="rte", path=str(dev_json))).items()
    test, _ = load_splits(advglue_source("rte"), path=str(dev_json))
    assert [e.id for e in test["validation"]] == [f"advglue-rte-{item.idx}" for item in attack_items]
    assert len(attack_items) == 81
