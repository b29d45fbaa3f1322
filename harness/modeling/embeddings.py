"""Word embeddings from a local file, installed where TextAttack looks for its counter-fitted vectors.

TextAttack downloads the counter-fitted embeddings (Mrksic et al. 2016) that TextFooler, IGA, Alzantot, Kuleshov,
A2T and TextBugger swap words with. Offline, `harness import-embeddings FILE` converts a local copy into
TextAttack's cache layout ($TA_CACHE_DIR/word_embeddings/paragramcf/), after which those recipes find the
vectors without a network (their other resources permitting).

File format (the common word2vec / GloVe text format): UTF-8, one word per line, the word then its vector
components separated by single spaces; an optional first line "COUNT DIMENSIONS" (word2vec) is skipped. All
vectors must have the same dimension. Example: `counter-fitted-vectors.txt` from the counter-fitting repository.
"""

from __future__ import annotations

import os
import pickle
import shutil
from collections import defaultdict
from pathlib import Path

import numpy as np

from harness.core.errors import HarnessError

NEIGHBOURS = 100
"""Nearest neighbours stored per word (TextAttack's nn.npy keeps the word itself first, then 100)."""


def read_vectors(path: Path) -> tuple[list[str], np.ndarray]:
    words: list[str] = []
    rows: list[np.ndarray] = []
    dimension = None
    with open(path, encoding="utf-8") as stream:
        for number, line in enumerate(stream, 1):
            parts = line.rstrip("\n").rstrip(" ").split(" ")
            if number == 1 and len(parts) == 2 and all(part.isdigit() for part in parts):
                continue  # word2vec header
            if len(parts) < 2:
                continue
            try:
                vector = np.asarray(parts[1:], dtype=np.float32)
            except ValueError as error:
                raise HarnessError(f"{path}:{number}: not a word followed by numbers ({error})") from error
            if dimension is None:
                dimension = vector.size
            elif vector.size != dimension:
                raise HarnessError(f"{path}:{number}: vector has {vector.size} components, earlier ones {dimension}")
            words.append(parts[0])
            rows.append(vector)
    if not words:
        raise HarnessError(f"{path}: no word vectors found")
    return words, np.stack(rows)


def nearest_neighbours(matrix: np.ndarray, count: int, chunk: int = 1024) -> np.ndarray:
    """Indices of each row's `count` + 1 most cosine-similar rows (itself first), computed in chunks."""
    normalised = matrix / np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-12)
    count = min(count, len(matrix) - 1)
    result = np.empty((len(matrix), count + 1), dtype=np.int64)
    for start in range(0, len(matrix), chunk):
        similarity = normalised[start:start + chunk] @ normalised.T
        rows = np.arange(similarity.shape[0])
        similarity[rows, start + rows] = np.inf  # the word itself comes first
        top = np.argpartition(-similarity, count, axis=1)[:, :count + 1]
        order = np.argsort(-np.take_along_axis(similarity, top, axis=1), axis=1)
        result[start:start + chunk] = np.take_along_axis(top, order, axis=1)
    return result


def import_word_embeddings(path: Path, destination: Path, neighbours: int = NEIGHBOURS) -> int:
    """Write TextAttack's paragramcf files for the vectors in `path` into `destination`; return the word count."""
    words, matrix = read_vectors(Path(path))
    building = destination.with_name(destination.name + ".partial")
    shutil.rmtree(building, ignore_errors=True)
    building.mkdir(parents=True)
    np.save(building / "paragram.npy", matrix)
    with open(building / "wordlist.pickle", "wb") as stream:
        pickle.dump({word: index for index, word in enumerate(words)}, stream)
    np.save(building / "nn.npy", nearest_neighbours(matrix, neighbours))
    for cache in ("mse_dist.p", "cos_sim.p"):  # distance caches TextAttack fills lazily, as defaultdict(dict)
        with open(building / cache, "wb") as stream:
            pickle.dump(defaultdict(dict), stream)
    shutil.rmtree(destination, ignore_errors=True)
    os.replace(building, destination)
    return len(words)


def textattack_embeddings_dir() -> Path:
    from harness.core.resources import textattack_cache_dir

    return textattack_cache_dir() / "word_embeddings" / "paragramcf"
