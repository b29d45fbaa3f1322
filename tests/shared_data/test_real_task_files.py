"""The task plugins on the full real copies (opt-in: HARNESS_SHARED_DATA): the exact sizes and contents of the
real SST-2, rt-polarity, AG News and AdvGLUE files. Each has a twin in tests/test_tasks.py on written copies."""

from __future__ import annotations

from pathlib import Path

import pytest
from fixture_data import write_glue_pair_tasks
from real_copies import shared
from test_tasks import check_advglue_task_files, examples, sizes, task

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
    # The real dev.json: 148 sst2, 148 qnli and 162 mnli-mm items; SST-2's GLUE train is 60,614 + 6,735 phrases.
    check_advglue_task_files(shared("advglue/dev.json"), shared("sst2"), glue_pairs,
                             sst2_train_validation=(60614, 6735), test_sizes={"sst2": 148, "qnli": 148, "mnli-mm": 162})


def test_advglue_task_ids_match_the_attack_records():
    from harness.tasks.sources import load_splits
    from harness_plugins.advglue import AdvGlueAttack, AdvGlueConfig, advglue_source

    dev_json = shared("advglue/dev.json")
    attack_items = AdvGlueAttack(AdvGlueConfig(task="rte", path=str(dev_json))).items()
    test, _ = load_splits(advglue_source("rte"), path=str(dev_json))
    assert [e.id for e in test["validation"]] == [f"advglue-rte-{item.idx}" for item in attack_items]
    assert len(attack_items) == 81
