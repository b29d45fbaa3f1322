"""The stage cache mirrored to an fsspec URL (`--artifacts`): two machines that share no filesystem share finished
stages; an upload cut short is never trusted; a missing filesystem driver is a clear error."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import dump_suite, tiny_suite

from harness.cli import main
from harness.core.artifacts import ArtifactMirror, fetch_into
from harness.core.errors import HarnessError
from harness.core.store import StageCache, read_run


def _stages(run_root: Path) -> list:
    (run_dir,) = [path for path in (run_root / "tiny").iterdir() if (path / "manifest.json").exists()]
    return read_run(run_dir)


@pytest.mark.textattack
def test_a_second_machine_takes_every_stage_from_the_mirror(tmp_path, tiny_model_dir, sst2_files):
    suite = tiny_suite(tiny_model_dir, sst2_files, tmp_path, methods=[{"use": "lora", "epochs": 1, "batch_size": 16}])
    path = dump_suite(suite, tmp_path / "suite.yaml")
    mirror_url = (tmp_path / "bucket").as_uri()  # file:///...: the same code path as s3://, through fsspec
    # Two separate caches stand for two machines; only the mirror connects them.
    assert main(["run", str(path), "--no-progress", "--out", str(tmp_path / "first"), "--artifacts", mirror_url,
                 "--cache-dir", str(tmp_path / "machine-a")]) == 0
    assert main(["run", str(path), "--no-progress", "--out", str(tmp_path / "second"), "--artifacts", mirror_url,
                 "--cache-dir", str(tmp_path / "machine-b")]) == 0
    first, second = _stages(tmp_path / "first"), _stages(tmp_path / "second")
    cell_stages = [stage for stage in second.stages if stage.kind not in ("task", "report")]  # those always run
    assert len(cell_stages) == 4
    assert {stage.status for stage in cell_stages} == {"cached"}, "machine B recomputed a stage the mirror had"
    assert [(r.stage, r.metric, repr(r.value)) for r in first.results] == \
        [(r.stage, r.metric, repr(r.value)) for r in second.results]  # repr: nan equals nan
    # Per-example records (adversarial texts) reached the second run through the mirror too.
    assert sorted(p.name for p in (second.run_dir / "records").iterdir()) == \
        sorted(p.name for p in (first.run_dir / "records").iterdir())
    markers = list((tmp_path / "bucket").rglob("stage.json"))
    assert len(markers) == len(cell_stages)
    assert first.manifest["artifacts"] == mirror_url


def test_an_upload_cut_short_is_ignored_and_overwritten(tmp_path):
    mirror = ArtifactMirror("memory://harness-test-cut-short")
    built = tmp_path / "built"
    (built / "model").mkdir(parents=True)
    (built / "model" / "weights.bin").write_bytes(b"12345")
    (built / "stage.json").write_text(json.dumps({"key": "k1"}))
    # A killed upload: files without the completion marker.
    mirror.filesystem.pipe(f"{mirror.root}/finetune/k1/model/weights.bin", b"half")
    assert not mirror.has("finetune", "k1")
    cache = StageCache(tmp_path / "cache", mirror)
    assert cache.lookup("finetune", "k1") is None
    assert not (tmp_path / "cache" / "finetune" / "k1").exists()
    mirror.upload("finetune", "k1", built)
    assert mirror.has("finetune", "k1")
    assert fetch_into(tmp_path / "cache", mirror, "finetune", "k1")
    assert (tmp_path / "cache" / "finetune" / "k1" / "model" / "weights.bin").read_bytes() == b"12345"
    assert cache.lookup("finetune", "k1") == {"key": "k1"}


def test_commit_uploads_with_the_marker_last(tmp_path):
    mirror = ArtifactMirror("memory://harness-test-order")
    order = []
    original = mirror.filesystem.put_file
    mirror.filesystem.put_file = lambda local, remote, **kw: (order.append(remote.rsplit("/", 1)[1]),
                                                              original(local, remote, **kw))
    cache = StageCache(tmp_path / "cache", mirror)
    building = cache.begin("attack", "k2")
    (building / "records").mkdir()
    (building / "records" / "attack.jsonl").write_text("{}\n")
    cache.commit(building, "attack", "k2", {"key": "k2"})
    assert order == ["attack.jsonl", "stage.json"]


def test_a_damaged_cache_entry_is_replaced_not_stuck(tmp_path):
    cache = StageCache(tmp_path / "cache")
    damaged = cache.path("evaluate", "k3")
    damaged.mkdir(parents=True)
    (damaged / "stage.json").write_text("{not json")
    assert cache.lookup("evaluate", "k3") is None
    cache.commit(cache.begin("evaluate", "k3"), "evaluate", "k3", {"key": "k3"})
    assert cache.lookup("evaluate", "k3") == {"key": "k3"}


def test_a_missing_filesystem_driver_is_a_clear_error():
    pytest.importorskip("fsspec")
    try:
        import s3fs  # noqa: F401
        pytest.skip("s3fs is installed")
    except ImportError:
        pass
    with pytest.raises(HarnessError, match="s3fs"):
        ArtifactMirror("s3://bucket/prefix")
