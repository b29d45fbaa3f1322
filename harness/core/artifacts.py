"""A mirror of the stage cache in object storage (or any fsspec filesystem): `harness run --artifacts URL`.

Machines that share no filesystem (cloud nodes of a Ray cluster, CI runners on different days) share finished
stages through the mirror: every stage committed to a local cache is uploaded, and a stage missing locally is
downloaded before it would be recomputed. URLs are fsspec's: `s3://bucket/prefix` (s3fs), `gs://...` (gcsfs),
`az://...` (adlfs), `file:///shared/path`, `memory://` (one process; tests).

A stage's `stage.json` is uploaded last and is the mirror's completion marker, as it is the local cache's: a run
killed mid-upload leaves files without a marker, which readers ignore and the next upload overwrites.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from harness.core.errors import HarnessError
from harness.core.files import unique_directory

COMPLETION_MARKER = "stage.json"


class ArtifactMirror:
    def __init__(self, url: str):
        try:
            import fsspec
        except ImportError as error:
            raise HarnessError("--artifacts needs fsspec: pip install fsspec (and s3fs, gcsfs or adlfs for the "
                               "object store)") from error
        try:
            self.filesystem, root = fsspec.core.url_to_fs(url)
        except (ImportError, ValueError) as error:
            # fsspec names the package a protocol needs, e.g. "Install s3fs to access S3".
            raise HarnessError(f"--artifacts {url}: {error}") from error
        self.url = url
        self.root = root.rstrip("/")

    def _remote(self, kind: str, key: str) -> str:
        return f"{self.root}/{kind}/{key}"

    def has(self, kind: str, key: str) -> bool:
        return bool(self.filesystem.exists(f"{self._remote(kind, key)}/{COMPLETION_MARKER}"))

    def download(self, kind: str, key: str, destination: Path) -> bool:
        """Copy a finished stage into `destination` (a fresh local directory); False if the mirror has none."""
        remote = self._remote(kind, key)
        if not self.has(kind, key):
            return False
        prefix = remote.strip("/")  # filesystems differ in a leading slash (memory://) or none (s3://)
        for remote_file in self.filesystem.find(remote):
            relative = remote_file.strip("/")[len(prefix):].lstrip("/")
            local = destination / relative
            local.parent.mkdir(parents=True, exist_ok=True)
            self.filesystem.get_file(remote_file, str(local))
        return (destination / COMPLETION_MARKER).exists()

    def upload(self, kind: str, key: str, source: Path) -> None:
        """Copy a finished local stage directory to the mirror, its completion marker last."""
        remote = self._remote(kind, key)
        files = sorted(path for path in source.rglob("*") if path.is_file())
        for path in [path for path in files if path.name != COMPLETION_MARKER or path.parent != source] + \
                [source / COMPLETION_MARKER]:
            target = f"{remote}/{path.relative_to(source).as_posix()}"
            self.filesystem.makedirs(target.rsplit("/", 1)[0], exist_ok=True)
            self.filesystem.put_file(str(path), target)


def fetch_into(cache_root: Path, mirror: ArtifactMirror, kind: str, key: str) -> bool:
    """Download a stage from the mirror into the local cache with the cache's own atomic-rename discipline."""
    parent = cache_root / kind
    parent.mkdir(parents=True, exist_ok=True)
    building = unique_directory(parent, f".{key}.", ".download")
    try:
        if not mirror.download(kind, key, building):
            return False
        try:
            os.rename(building, parent / key)
        except OSError:  # another process put the same stage there first; it is as good as ours
            pass
        return (parent / key / COMPLETION_MARKER).exists()
    finally:
        shutil.rmtree(building, ignore_errors=True)
