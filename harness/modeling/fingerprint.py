"""What a model is, for cache keys: the content of a local model directory, or the commit a hub id resolves to.

Why: keying stages on a model's name serves stale results when a directory is retrained in place or a hub model
is updated upstream. A local directory is identified by the SHA-256 of every file `from_pretrained` reads from it
(its top-level files: config, weights, tokenizer); each file's digest is remembered by (path, size, modification
time) so that an unchanged 90 MB checkpoint is not read again on every run. A hub id is identified by the commit
its revision resolves to (online: the hub's answer; offline: the local hub cache), or, when neither can say, by
its name and revision as written (and a warning that results may be stale).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
from pathlib import Path
from typing import Any, Optional

from harness.core.files import atomic_write_text
from harness.core.types import ModelSource

COMMIT = re.compile(r"^[0-9a-f]{40}$")


def model_identity(source: ModelSource, memo: Optional[Path] = None) -> dict[str, Any]:
    """The identity of `source` for cache keys: {"content": sha256} for a local directory, {"hub": id,
    "commit": sha} for a hub model (or {"hub": id, "revision": ...} when the commit cannot be found)."""
    if os.path.isdir(source.location):
        identity: dict[str, Any] = {"content": directory_digest(Path(source.location), memo)}
        base = adapter_base(Path(source.location), source.adapter_base)
        if base is not None:  # a PEFT adapter's predictions depend on its base's weights too
            identity["base"] = model_identity(ModelSource(base, base, revision=None), memo)
        return identity
    commit = hub_commit(source.location, source.revision)
    if commit is None:
        print(f"warning: cannot find which commit of {source.location!r} revision {source.revision or 'main'} is "
              f"meant (offline, and not in the local hub cache); its stages are keyed on the name, so an update "
              f"upstream would not be noticed", file=sys.stderr)
        return {"hub": source.location, "revision": source.revision}
    return {"hub": source.location, "commit": commit}


def adapter_base(directory: Path, given: Optional[str]) -> Optional[str]:
    """The base model of a PEFT adapter directory (the suite's `base:`, else its adapter_config.json's); None for
    a full model."""
    if (directory / "config.json").is_file() or not (directory / "adapter_config.json").is_file():
        return None
    if given:
        return given
    try:
        base = json.loads((directory / "adapter_config.json").read_text(encoding="utf-8")).get(
            "base_model_name_or_path")
    except (OSError, ValueError, AttributeError):
        return None
    return str(base) if base else None


def directory_digest(directory: Path, memo: Optional[Path] = None) -> str:
    """SHA-256 over the names and contents of the directory's top-level files (dotfiles aside)."""
    remembered = _read_memo(memo)
    digest = hashlib.sha256()
    changed = False
    for path in sorted(directory.iterdir(), key=lambda entry: entry.name):
        if path.name.startswith(".") or not path.is_file():
            continue
        stat = path.stat()
        memo_key = str(path.resolve())
        entry = remembered.get(memo_key)
        if entry is None or entry[:2] != [stat.st_size, stat.st_mtime_ns]:
            entry = [stat.st_size, stat.st_mtime_ns, file_digest(path)]
            remembered[memo_key] = entry
            changed = True
        digest.update(f"{path.name}\0{entry[2]}\0".encode())
    if changed and memo is not None:
        memo.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(memo, json.dumps(remembered, sort_keys=True))
    return digest.hexdigest()


def file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _read_memo(memo: Optional[Path]) -> dict[str, list[Any]]:
    if memo is None:
        return {}
    try:
        values = json.loads(memo.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}  # none yet, or damaged: every file is hashed again
    if not isinstance(values, dict):
        return {}
    return {key: value for key, value in values.items()
            if isinstance(value, list) and len(value) == 3 and isinstance(value[2], str)}


def hub_commit(repo_id: str, revision: Optional[str]) -> Optional[str]:
    """The commit `revision` of a hub model resolves to: a commit hash as written, the hub's answer online, the
    local hub cache offline; None when none of them can say."""
    if revision is not None and COMMIT.match(revision):
        return revision
    from huggingface_hub import try_to_load_from_cache

    if not hub_offline():
        try:
            from huggingface_hub import HfApi

            return HfApi().model_info(repo_id, revision=revision, timeout=10).sha
        except Exception:  # unreachable, unknown, gated: fall back to what this machine has
            pass
    cached = try_to_load_from_cache(repo_id, "config.json", revision=revision)
    if isinstance(cached, str):
        parts = Path(cached).parts
        if "snapshots" in parts and COMMIT.match(parts[parts.index("snapshots") + 1]):
            return parts[parts.index("snapshots") + 1]
    return None


def hub_offline() -> bool:
    """Whether the hub must not be asked: HF_HUB_OFFLINE set now (the harness sets it when the hub is unreachable,
    after huggingface_hub read its constants at import) or then."""
    from huggingface_hub import constants

    return bool(constants.HF_HUB_OFFLINE) or os.environ.get("HF_HUB_OFFLINE", "").upper() in ("1", "ON", "YES", "TRUE")
