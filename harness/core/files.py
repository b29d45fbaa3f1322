"""Files the harness writes and reads: content keys (a hash of canonical JSON), atomic writes (a kill never
leaves half a file), unique temporary directories, JSON lines, and where a stage's per-example records live in a
run directory. Imports nothing else of the harness, so every layer may use it."""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import re
import secrets
from pathlib import Path
from typing import Any, Iterable, Mapping


def canonical_json(value: Any) -> str:
    return json.dumps(jsonable(value), sort_keys=True, separators=(",", ":"), default=str)


def jsonable(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {field.name: jsonable(getattr(value, field.name)) for field in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(item) for item in value]
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, float) and value != value:  # NaN is not JSON
        return None
    return value


def content_key(parts: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical_json(parts).encode("utf-8")).hexdigest()[:24]


def unique_directory(parent: Path, prefix: str, suffix: str) -> Path:
    """A new, empty, uniquely named directory in `parent`, with the mode the user's umask gives (tempfile.mkdtemp
    would make it 0700: stages in a cache shared with a group would be unreadable to the group)."""
    while True:
        path = parent / f"{prefix}{secrets.token_hex(6)}{suffix}"
        try:
            os.mkdir(path, 0o777)
            return path
        except FileExistsError:
            continue


def atomic_write_text(path: Path, text: str) -> None:
    """Write `text` to `path` in one step (a temporary file renamed over it): a kill never leaves half a file.

    The file gets the mode the user's umask gives a new file (0644 under the usual 022), as `open()` would;
    tempfile.mkstemp would make every run file 0600, unreadable to the user's group and to web servers."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = str(path.parent / f".{path.name}.{secrets.token_hex(8)}.tmp")
    handle = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


_TEMPORARY = re.compile(r"^\..+\.[0-9a-f]{16}\.tmp$")
STALE_TEMPORARY_SECONDS = 600.0
"""A temporary of atomic_write_text older than this was left by a killed writer (a live write takes seconds)."""


def remove_stale_temporaries(directory: Path, older_than: float = STALE_TEMPORARY_SECONDS) -> int:
    """Remove the temporaries killed atomic writes left in `directory` (not below it); how many were removed."""
    import time

    removed = 0
    now = time.time()
    for path in Path(directory).glob(".*.tmp"):
        with contextlib.suppress(OSError):
            if _TEMPORARY.match(path.name) and path.is_file() and now - path.stat().st_mtime > older_than:
                path.unlink()
                removed += 1
    return removed


def atomic_write_json(path: Path, value: Any) -> None:
    atomic_write_text(path, json.dumps(jsonable(value), indent=2, sort_keys=False, default=str) + "\n")


def write_jsonl(path: Path, records: Iterable[Mapping[str, Any]]) -> None:
    atomic_write_text(path, "".join(json.dumps(jsonable(record), ensure_ascii=False) + "\n" for record in records))


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    with path.open(encoding="utf-8") as stream:
        return [json.loads(line) for line in stream if line.strip()]


def safe_file_name(stage_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", stage_id)


def read_stage_records(run_dir: Path, stage_id: str, name: str) -> list[dict[str, Any]]:
    return read_jsonl(Path(run_dir) / "records" / f"{safe_file_name(stage_id)}.{name}.jsonl")
