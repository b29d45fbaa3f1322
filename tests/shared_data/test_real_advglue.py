"""The advglue attack on the real AdvGLUE dev set (opt-in: HARNESS_SHARED_DATA): all 148 sst2 sentences and 148
qnli pairs. The same checks run on a written dev.json in tests/test_advglue.py."""

from __future__ import annotations

import pytest
from real_copies import shared
from test_advglue import check_pair_records, check_sst2_records, two_label_classifier

from harness.core.runner import make_progress
from harness.core.types import StageEnvironment


@pytest.fixture(scope="module")
def environment(tmp_path_factory) -> StageEnvironment:
    return StageEnvironment("cpu", 0, tmp_path_factory.mktemp("advglue-env"), make_progress(False))


@pytest.fixture(scope="module")
def classifier(tiny_model_dir, tmp_path_factory):
    return two_label_classifier(tiny_model_dir, tmp_path_factory.mktemp("advglue-model"))


def test_sst2_records_of_the_real_dev_set(classifier, environment):
    records = check_sst2_records(classifier, environment, str(shared("advglue/dev.json")))
    assert len(records) == 148


def test_qnli_pairs_of_the_real_dev_set(classifier, environment):
    records = check_pair_records(classifier, environment, str(shared("advglue/dev.json")))
    assert len(records) == 148
