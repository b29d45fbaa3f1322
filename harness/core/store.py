"""The on-disk store: a content-addressed stage cache and one directory per run.

Layout:
    <output>/.stage-cache/<kind>/<key>/    one finished stage: stage.json, records/*.jsonl, model/
    <output>/<suite>/<run-id>/             manifest.json, stages.jsonl, results.csv, gates.json,
                                           records/<stage>.<name>.jsonl, reports
A stage directory is built under a temporary name and renamed into place when complete, so a killed run
leaves either a finished stage or nothing; a rerun recomputes only stages whose key has no directory.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import os
import re
import shutil
import socket
import sys
import time
from pathlib import Path
from typing import Any, Iterable, Mapping, Optional

from harness.core.errors import HarnessError
from harness.core.files import (
    atomic_write_json,
    atomic_write_text,
    canonical_json,
    jsonable,
    read_jsonl,
    safe_file_name,
    unique_directory,
)
from harness.core.names import escape_csv_text, unescape_csv_text
from harness.core.types import RESULT_COLUMNS, SCHEMA_VERSION, GateOutcome, ResultRow, StageRecord, StoredRun

CACHE_DIR_NAME = ".stage-cache"
FILE_SIZES = "file_sizes"
"""The stage.json entry, written by StageCache.commit, with the bytes of each file the stage wrote."""


class StageCache:
    """Finished stages by content key. A directory exists only once its stage completed.

    With a mirror (harness.core.artifacts.ArtifactMirror), committed stages are also uploaded to object storage and
    a stage missing here is downloaded from there before anyone recomputes it.
    """

    def __init__(self, root: Path, mirror: Any = None):
        self.root = Path(root)
        self.mirror = mirror

    def path(self, kind: str, key: str) -> Path:
        return self.root / kind / key

    def lookup(self, kind: str, key: str, quiet: bool = False) -> Optional[dict[str, Any]]:
        stage_file = self.path(kind, key) / "stage.json"
        if not stage_file.exists() and not self._fetch(kind, key):
            return None
        try:
            payload = json.loads(stage_file.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError, UnicodeDecodeError):
            payload = None
        damage = ("its stage.json is damaged" if payload is None or not _well_formed(payload, key)
                  else _damaged_file(stage_file.parent, payload))
        if damage is not None:
            # A damaged entry (a truncated or reshaped stage.json, truncated weights or records) is recomputed, not
            # trusted; commit sets it aside when the stage is built again.
            if not quiet and stage_file.exists():
                print(f"warning: stage cache entry {stage_file.parent}: {damage}; the stage is computed again",
                      file=sys.stderr)
            return None
        return {name: value for name, value in payload.items() if name != FILE_SIZES}

    def ensure_local(self, directory: Path) -> None:
        """Make a stage directory of this cache present here (a worker on another machine may have built it)."""
        if not directory.exists() and directory.parent.parent == self.root:
            self._fetch(directory.parent.name, directory.name)

    def _fetch(self, kind: str, key: str) -> bool:
        if self.mirror is None:
            return False
        from harness.core.artifacts import fetch_into

        return fetch_into(self.root, self.mirror, kind, key)

    def begin(self, kind: str, key: str) -> Path:
        """A fresh temporary directory to build the stage in, named after this host and process so that a later
        run can tell a killed run's leftovers from a live run's work (see remove_abandoned)."""
        parent = self.root / kind
        parent.mkdir(parents=True, exist_ok=True)
        return unique_directory(parent, f".{key}.{_HOST}.{os.getpid()}.", ".partial")

    def remove_abandoned(self) -> int:
        """Delete half-built stages of processes of this host that are gone (killed mid-stage); return how many.

        Partial directories of live processes (another run sharing the cache) and of other hosts (a shared
        filesystem) are left alone: their owners may still be building them."""
        removed = 0
        if not self.root.is_dir():
            return removed
        for partial in self.root.glob("*/.*.partial"):
            parts = partial.name.split(".")
            # .{key}.{host}.{pid}.{random}.partial -> ["", key, host..., pid, random, "partial"]
            if len(parts) < 6 or not parts[-3].isdigit() or ".".join(parts[2:-3]) != _HOST:
                continue
            if not _process_alive(int(parts[-3])):
                shutil.rmtree(partial, ignore_errors=True)
                removed += 1
        return removed

    def commit(self, building: Path, kind: str, key: str, stage: Mapping[str, Any]) -> Path:
        atomic_write_json(building / "stage.json", {**stage, FILE_SIZES: _file_sizes(building)})
        final = self.path(kind, key)
        if final.exists() and self.lookup(kind, key, quiet=True) is None:
            # A damaged entry (its stage.json unreadable) would block the rename forever: set it aside.
            os.rename(final, final.with_name(f".{key}.damaged-{os.getpid()}-{time.time_ns()}"))
        try:
            os.rename(building, final)
        except OSError:
            # Someone (another process) committed the same key first; theirs is as good as ours.
            shutil.rmtree(building, ignore_errors=True)
        if self.mirror is not None:
            self.mirror.upload(kind, key, final)
        return final

    def abandon(self, building: Path) -> None:
        shutil.rmtree(building, ignore_errors=True)


def _well_formed(payload: Any, key: str) -> bool:
    """Whether a stage.json holds what every stage writes: its own key and a list of metrics (name, value)."""
    if not isinstance(payload, dict) or payload.get("key") != key:
        return False
    metrics = payload.get("metrics", [])
    return isinstance(metrics, list) and all(
        isinstance(metric, dict) and isinstance(metric.get("name"), str)
        and (metric.get("value") is None or (isinstance(metric.get("value"), (int, float))
                                             and not isinstance(metric.get("value"), bool)))
        for metric in metrics)


def _file_sizes(directory: Path) -> dict[str, int]:
    """Bytes of every file a stage wrote (stage.json aside), by path relative to its directory."""
    return {path.relative_to(directory).as_posix(): path.stat().st_size
            for path in sorted(directory.rglob("*")) if path.is_file() and path != directory / "stage.json"}


def _damaged_file(directory: Path, payload: Mapping[str, Any]) -> Optional[str]:
    """What is wrong with the files a stage.json lists (missing, or not the size written), or None.

    Sizes catch what kills leave behind, truncated weights and records, at the cost of a stat per file; entries
    written before sizes were recorded are trusted as before."""
    files = payload.get(FILE_SIZES)
    if not isinstance(files, dict):
        return None
    for name, size in files.items():
        path = directory / name
        if not path.is_file():
            return f"{name} is missing"
        if path.stat().st_size != size:
            return f"{name} has {path.stat().st_size} bytes, {size} were written"
    return None


_HOST = re.sub(r"[^A-Za-z0-9_-]+", "-", socket.gethostname()) or "host"


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by someone else
        return True
    return True


class RunLock:
    """An exclusive lock on a run directory for the life of the run: two `harness run` processes writing the same
    run directory (the same --run-id) would interleave their stage lists. The operating system releases the lock
    when the process ends however it ends, so a killed run never leaves a stale lock."""

    def __init__(self, run_dir: Path):
        self.path = Path(run_dir) / ".lock"
        self.handle = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self.path, "a+", encoding="utf-8")
        try:
            import fcntl
        except ImportError:  # Windows: no advisory locks; run ids are unique unless --run-id repeats one
            self.handle = handle
            return
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as error:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            raise HarnessError(f"run directory {self.path.parent} is being written by {holder}; wait for it to "
                               f"finish or choose another --run-id") from error
        handle.seek(0)
        handle.truncate()
        handle.write(f"harness run (pid {os.getpid()} on {socket.gethostname()})\n")
        handle.flush()
        self.handle = handle

    def release(self) -> None:
        if self.handle is not None:
            self.handle.close()  # closing the file releases the lock
            self.handle = None


class RunStore:
    """Writes one run's directory; every file is replaced atomically so a kill never leaves half a file."""

    def __init__(self, run_dir: Path, lock: bool = False):
        self.run_dir = Path(run_dir)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.lock = RunLock(self.run_dir) if lock else None
        if self.lock is not None:
            self.lock.acquire()
        self.rows: list[ResultRow] = []
        self.stages: list[StageRecord] = []

    def write_manifest(self, manifest: Mapping[str, Any]) -> None:
        atomic_write_json(self.run_dir / "manifest.json", {"schema_version": SCHEMA_VERSION, **manifest})

    def update_manifest(self, **fields: Any) -> None:
        manifest = json.loads((self.run_dir / "manifest.json").read_text(encoding="utf-8"))
        manifest.update(jsonable(fields))
        atomic_write_json(self.run_dir / "manifest.json", manifest)

    def add_stage(self, record: StageRecord, rows: Iterable[ResultRow]) -> None:
        self.stages.append(record)
        self.rows.extend(rows)
        atomic_write_text(self.run_dir / "stages.jsonl",
                          "".join(canonical_json(stage) + "\n" for stage in self.stages))
        atomic_write_text(self.run_dir / "results.csv", results_csv(self.rows))

    def copy_records(self, stage_id: str, source_dir: Path) -> None:
        """Per-example records of a stage, copied so the run directory is self-contained."""
        records_dir = source_dir / "records"
        if not records_dir.is_dir():
            return
        target = self.run_dir / "records"
        target.mkdir(exist_ok=True)
        for path in records_dir.glob("*.jsonl"):
            destination = target / f"{safe_file_name(stage_id)}.{path.name}"
            shutil.copyfile(path, destination.with_suffix(".tmp"))
            os.replace(destination.with_suffix(".tmp"), destination)

    def write_samples(self, samples: Mapping[str, Any]) -> None:
        atomic_write_json(self.run_dir / "samples.json", samples)

    def write_gates(self, gates: Iterable[GateOutcome]) -> None:
        atomic_write_json(self.run_dir / "gates.json", list(gates))

    def close(self) -> None:
        if self.lock is not None:
            self.lock.release()


TEXT_RESULT_COLUMNS = ("task", "model", "method", "stage", "component", "metric", "stage_key")
"""Columns of results.csv holding names (escaped against spreadsheet formulas; read back exactly)."""


def results_csv(rows: Iterable[ResultRow]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(RESULT_COLUMNS)
    for row in rows:
        values = {column: getattr(row, column) for column in RESULT_COLUMNS}
        writer.writerow(["" if values[column] is None
                         else escape_csv_text(values[column]) if column in TEXT_RESULT_COLUMNS else values[column]
                         for column in RESULT_COLUMNS])
    return buffer.getvalue()


def _parse_optional_float(text: str) -> Optional[float]:
    return None if text == "" else float(text)


class DamagedRunError(HarnessError):
    """A stored run's file that cannot be read as the harness wrote it (edited by hand, truncated, tampered)."""


def read_results(path: Path) -> list[ResultRow]:
    if not path.exists():
        return []
    rows = []
    with path.open(encoding="utf-8", newline="") as stream:
        reader = csv.DictReader(stream)
        for raw in reader:
            field = ""
            try:
                field = "seed"
                seed = int(raw["seed"])
                field = "value"
                value = float(raw["value"]) if raw["value"] != "" else float("nan")
                field = "ci_low"
                ci_low = _parse_optional_float(raw["ci_low"])
                field = "ci_high"
                ci_high = _parse_optional_float(raw["ci_high"])
                field = "n"
                n = int(raw["n"]) if raw["n"] else None
                field = "train_size"
                train_size = int(raw["train_size"]) if raw.get("train_size") else None
                field = "task, model, method, stage, component, metric, stage_key"
                names = {column: unescape_csv_text(raw[column]) for column in TEXT_RESULT_COLUMNS}
                rows.append(ResultRow(**names, seed=seed, value=value, ci_low=ci_low, ci_high=ci_high, n=n,
                                      train_size=train_size))
            except (KeyError, ValueError, TypeError, AttributeError) as error:
                raise DamagedRunError(f"{path} line {reader.line_num}: field {field} cannot be read "
                                      f"({type(error).__name__}: {error}); the file was changed after the run wrote "
                                      f"it") from error
    return rows


def read_run(run_dir: Path) -> StoredRun:
    """Load a run from disk alone (what reporters and `harness report` use). A file that is not as the harness wrote
    it is a DamagedRunError naming the file (and the line and field where there is one)."""
    run_dir = Path(run_dir)
    manifest_path = run_dir / "manifest.json"
    if not manifest_path.exists():
        raise FileNotFoundError(f"{run_dir} is not a run directory (no manifest.json)")
    manifest = _read_json_document(manifest_path, dict)
    stage_fields = {field.name for field in dataclasses.fields(StageRecord)}
    stages = []
    for number, record in enumerate(_read_records(run_dir / "stages.jsonl"), 1):
        try:
            stages.append(StageRecord(**{k: v for k, v in record.items() if k in stage_fields}))
        except (TypeError, AttributeError) as error:
            raise DamagedRunError(f"{run_dir / 'stages.jsonl'} line {number}: not a stage record ({error})") from error
    gates_path = run_dir / "gates.json"
    gates = []
    for number, gate in enumerate(_read_json_document(gates_path, list) if gates_path.exists() else [], 1):
        try:
            gates.append(GateOutcome(**gate))
        except (TypeError, AttributeError) as error:
            raise DamagedRunError(f"{gates_path}: gate {number} is not a gate outcome ({error})") from error
    return StoredRun(run_dir, manifest, tuple(read_results(run_dir / "results.csv")), tuple(stages), tuple(gates))


def _read_json_document(path: Path, expected: type) -> Any:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as error:
        raise DamagedRunError(f"{path}: not valid JSON ({error})") from error
    if not isinstance(document, expected):
        raise DamagedRunError(f"{path}: expected a JSON {expected.__name__.replace('dict', 'object')}, got "
                              f"{type(document).__name__}")
    return document


def _read_records(path: Path) -> list[dict[str, Any]]:
    try:
        records = read_jsonl(path)
    except (ValueError, UnicodeDecodeError) as error:
        raise DamagedRunError(f"{path}: not valid JSON lines ({error})") from error
    for number, record in enumerate(records, 1):
        if not isinstance(record, dict):
            raise DamagedRunError(f"{path} line {number}: expected a JSON object, got {type(record).__name__}")
    return records


def data_mismatch(reference: Mapping[str, Any], current: Mapping[str, Any], reference_name: str,
                  current_name: str) -> Optional[str]:
    """Why two runs did not see the same data: a different task, or a different test set by the fingerprints
    their manifests store (harness.core.runner); None when both name the same task and test set."""
    if reference.get("task") != current.get("task"):
        return f"{reference_name} ran task {reference.get('task')!r} and {current_name} task {current.get('task')!r}"
    fingerprints = [manifest.get("dataset_fingerprints") or {} for manifest in (reference, current)]
    # The test set's inputs (not its labels) where both runs recorded them: a relabelled test set can be paired.
    tests = ([prints.get("test_inputs") for prints in fingerprints]
             if all("test_inputs" in prints for prints in fingerprints)
             else [prints.get("used", {}).get("test") for prints in fingerprints])
    if None in tests:
        missing = reference_name if tests[0] is None else current_name
        return (f"{missing} records no test-set fingerprint (stored by an older version), so the test sets cannot "
                f"be matched")
    if tests[0] != tests[1]:
        return (f"{reference_name} and {current_name} used different test sets (fingerprints {tests[0]} and "
                f"{tests[1]})")
    return None
