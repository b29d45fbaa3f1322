"""The `local` task reads Parquet as it reads CSV/TSV/JSON lines: same examples, same row-located errors."""

from __future__ import annotations

import pytest

from harness.core.errors import HarnessError


def _parquet(path, rows: dict) -> None:
    import pyarrow
    import pyarrow.parquet as parquet

    parquet.write_table(pyarrow.table(rows), path)


def test_parquet_reads_like_jsonl(tmp_path):
    from harness_plugins.local_task import LocalTask, LocalTaskConfig

    rows = {"sentence": ["a fine film", "a dull film", "superb acting", "tedious"], "label": [1, 0, 1, 0]}
    _parquet(tmp_path / "train.parquet", rows)
    (tmp_path / "train.jsonl").write_text("".join(
        f'{{"sentence": "{text}", "label": {label}}}\n' for text, label in zip(rows["sentence"], rows["label"])),
        encoding="utf-8")
    from_parquet = LocalTask(LocalTaskConfig(train=str(tmp_path / "train.parquet"),
                                             test=str(tmp_path / "train.parquet"))).load(None)
    from_jsonl = LocalTask(LocalTaskConfig(train=str(tmp_path / "train.jsonl"),
                                           test=str(tmp_path / "train.jsonl"))).load(None)
    assert from_parquet.train == from_jsonl.train and from_parquet.label_names == ("0", "1")


def test_parquet_problems_name_the_file_and_row(tmp_path):
    from harness_plugins.local_task import LocalTaskConfig

    _parquet(tmp_path / "bad.parquet", {"text": ["fine", " "], "label": [1, 0]})
    with pytest.raises((ValueError, HarnessError),
                       match=r"bad\.parquet row 2: the text \(column 'text'\) is only whitespace"):
        LocalTaskConfig(train=str(tmp_path / "bad.parquet"), test=str(tmp_path / "bad.parquet"))
    (tmp_path / "broken.parquet").write_bytes(b"not parquet at all")
    with pytest.raises((ValueError, HarnessError), match="is not a readable Parquet file"):
        LocalTaskConfig(train=str(tmp_path / "broken.parquet"), test=str(tmp_path / "broken.parquet"))
