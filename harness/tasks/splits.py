"""How a task's splits are made: concatenated files, content-addressed ids, the seeded order of every split and the
hold-out of a validation split. Part of harness.tasks.sources (see its docstring)."""

from __future__ import annotations

import hashlib
import json
from typing import Any, Mapping, Sequence

from harness.core.errors import HarnessError
from harness.core.types import Example
from harness.tasks.readers import RawSplit

_JSON = json.JSONEncoder(ensure_ascii=False)


def concat_splits(origin: str, *parts: RawSplit) -> RawSplit:
    """Several files that together are one hub split (e.g. a re-split train.tsv + dev.tsv)."""
    return RawSplit(origin=origin, rows=tuple(row for part in parts for row in part.rows), parts=tuple(parts))


def content_id(prefix: str, split: str, texts: Sequence[str], label_name: str) -> str:
    """`<prefix>-<16 hex digits>`: sha256 over the hub split, the texts and the label name (JSON-encoded)."""
    payload = _JSON.encode([split, *texts, label_name])
    return f"{prefix}-{hashlib.sha256(payload.encode('utf-8')).hexdigest()[:16]}"


def seeded_order(examples: Sequence[Example], seed: int) -> tuple[Example, ...]:
    """The examples sorted by sha256(seed, id): a shuffle that does not depend on their input order."""
    return tuple(sorted(examples, key=lambda example: _order_key(seed, example.id)))


def _order_key(seed: int, example_id: str) -> bytes:
    return hashlib.sha256(f"{seed}:{example_id}".encode("utf-8")).digest()


def hold_out(examples: Sequence[Example], fraction: float,
             seed: int) -> tuple[tuple[Example, ...], tuple[Example, ...]]:
    """(train, validation): the first round(fraction * n) examples of the seeded order are the validation split."""
    ordered = seeded_order(examples, seed)
    count = round(len(ordered) * fraction)
    if fraction > 0 and len(ordered) >= 2:
        count = min(max(count, 1), len(ordered) - 1)
    return ordered[count:], ordered[:count]


def arranged_splits(name: str, splits: Mapping[str, Sequence[Any]], origin: str, validation_fraction: float,
                    split_seed: int) -> tuple[dict[str, tuple[Any, ...]], list[str]]:
    """A task's splits of examples (frozen dataclasses with an `id`) as every task kind arranges them: ids made
    unique across the splits (prefixed with their split where two splits share one: tables number their rows from 1
    in every file, and ids key records), each split in its seeded order, a validation split held out of train
    (`validation_fraction`, seeded) when there is none. Returns the splits and remarks for the task's description;
    an empty train or test split is an error naming the task and `origin`."""
    import dataclasses

    arranged = {split: tuple(examples) for split, examples in splits.items()}
    remarks = []
    seen: set[str] = set()
    shared = False
    for examples in arranged.values():
        ids = {example.id for example in examples}
        shared, seen = shared or bool(ids & seen), seen | ids
    if shared:
        arranged = {split: tuple(dataclasses.replace(example, id=f"{split}:{example.id}") for example in examples)
                    for split, examples in arranged.items()}
        remarks.append("ids prefixed with their split (the files share ids)")
    arranged = {split: seeded_order(examples, split_seed) for split, examples in arranged.items()}
    if "validation" not in arranged:
        arranged["train"], arranged["validation"] = hold_out(arranged["train"], validation_fraction, split_seed)
        remarks.append(f"validation = {validation_fraction:g} of train held out (seed {split_seed})")
    for split in ("train", "test"):
        if not arranged.get(split):
            raise HarnessError(f"task {name!r}: the {split} split is empty ({origin})")
    return arranged, remarks
