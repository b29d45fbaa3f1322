"""Where the opt-in tests find the full real copies of the datasets: the folder HARNESS_SHARED_DATA names.

tests/conftest.py collects this directory only when the variable is set (.ci/run sets it to ../shared/data when
that folder exists). A copy that is missing there is then a failure, not a skip: whoever enabled these tests
asked for them to run.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

VARIABLE = "HARNESS_SHARED_DATA"
LAYOUT = ("sst2/{train,dev,test}.tsv, rt-polarity/rt-polarity.{pos,neg}, agnews/{dev,test}.tsv and "
          "advglue/dev.json, as in ../shared/data (see its README.md)")


def shared(relative: str) -> Path:
    """A file or folder of the real copies, e.g. "sst2/train.tsv"; the calling test fails when it is missing."""
    value = os.environ.get(VARIABLE, "").strip()
    if not value:
        pytest.fail(f"{VARIABLE} is not set; these tests run on the real datasets it names ({LAYOUT})", pytrace=False)
    path = Path(value).expanduser().resolve() / relative
    if not path.exists():
        pytest.fail(f"{path} does not exist: {VARIABLE}={value!r} enables the tests on the real datasets and must "
                    f"name a folder holding {LAYOUT}; unset it to leave these tests out", pytrace=False)
    return path
