"""Rows (hub columns) as Examples: labels by index or name, content-addressed or native ids, evidence phrases as
character spans. Part of harness.tasks.sources (see its docstring)."""

from __future__ import annotations

import re
from typing import Any, Mapping, Optional, Sequence

from harness.core.errors import HarnessError
from harness.core.types import Example
from harness.tasks.readers import RawSplit
from harness.tasks.spec import TaskSource
from harness.tasks.splits import content_id

_INTEGER = re.compile(r"^[+-]?[0-9]{1,18}$")


def rows_to_examples(source: TaskSource, split: str, raw: RawSplit) -> tuple[Example, ...]:
    """Rows (hub columns) as Examples with stable ids; rows without gold labels dropped if the source says so."""
    label_index = {name: index for index, name in enumerate(source.label_names)}
    for spelling, name in source.label_aliases.items():
        label_index[spelling] = label_index[name]
    reverse_aliases: dict[str, list[str]] = {}
    for local, hub in source.column_aliases.items():
        reverse_aliases.setdefault(hub, []).append(local)

    def value(row: dict, column: str) -> Any:
        if column in row:
            return row[column]
        for alias in reverse_aliases.get(column, ()):
            if alias in row:
                return row[alias]
        return _MISSING

    examples = []
    seen: dict[str, int] = {}
    for index, row in enumerate(raw.rows):
        label = value(row, source.label_column)
        if label is _MISSING:
            raise _row_error(source, raw, index, f"has no {source.label_column!r} column", row)
        if source.drop_unlabelled and _unlabelled(label):
            continue
        label_id = _label(source, raw, index, label, label_index)
        texts = []
        for column in source.text_columns:
            text = value(row, column)
            if text is _MISSING:
                raise _row_error(source, raw, index, f"has no {column!r} column", row)
            if not isinstance(text, str):
                raise HarnessError(f"task {source.name!r}: {raw.where(index)}: {column!r} must be a string, got "
                                   f"{type(text).__name__} {text!r:.40}")
            texts.append(text)
        if source.id_column:
            native = value(row, source.id_column)
            if native is _MISSING or native is None:
                raise _row_error(source, raw, index, f"has no {source.id_column!r} id", row)
            example_id = f"{source.prefix}-{native}"
            if example_id in seen:
                raise HarnessError(f"task {source.name!r}: {raw.where(index)}: id {native!r} (column "
                                   f"{source.id_column!r}) repeats an earlier row's")
        else:
            example_id = content_id(source.prefix, split, texts, source.label_names[label_id])
        seen[example_id] = seen.get(example_id, 0) + 1
        if seen[example_id] > 1:
            example_id = f"{example_id}-{seen[example_id]}"
        rationale = None
        if source.rationale_column:
            phrases = value(row, source.rationale_column)
            rationale = evidence_spans(texts[0], _phrases(phrases))
        examples.append(Example(id=example_id, text=texts[0], label=label_id, rationale=rationale,
                                text_pair=texts[1] if len(texts) > 1 else None))
    return tuple(examples)


class _Missing:
    def __repr__(self) -> str:
        return "<missing>"


_MISSING = _Missing()


def _row_error(source: TaskSource, raw: RawSplit, index: int, problem: str, row: dict) -> HarnessError:
    columns = ", ".join(map(str, row)) or "none"
    return HarnessError(f"task {source.name!r}: {raw.where(index)} {problem} (it has {columns}); "
                        f"expected {source.layout_help()}")


def _label(source: TaskSource, raw: RawSplit, index: int, label: Any, label_index: Mapping[str, int]) -> int:
    count = len(source.label_names)
    original = label
    if isinstance(label, float) and label.is_integer():
        label = int(label)
    if isinstance(label, str):
        stripped = label.strip()
        if stripped in label_index:
            return label_index[stripped]
        if _INTEGER.match(stripped):
            label = int(stripped)
    if isinstance(label, int) and not isinstance(label, bool) and 0 <= label < count:
        return label
    hint = " (a row without a gold label?)" if _unlabelled(original) else ""
    raise HarnessError(f"task {source.name!r}: {raw.where(index)}: label {original!r} is not one of "
                       f"{', '.join(source.label_names)} nor an index 0..{count - 1}{hint}")


def _unlabelled(label: Any) -> bool:
    """No gold label: -1 on the hub (SNLI), "-" in SNLI's own files, or nothing."""
    return label is None or label == -1 or (isinstance(label, str) and label.strip() in ("", "-", "-1"))

def _phrases(value: Any) -> list[str]:
    if value is None or value is _MISSING:
        return []
    if isinstance(value, str):  # a CSV cell: phrases separated by " | "
        return [phrase for phrase in value.split(" | ") if phrase.strip()]
    return [phrase for phrase in value if isinstance(phrase, str) and phrase.strip()]


def evidence_spans(text: str, phrases: Sequence[str]) -> Optional[tuple[tuple[int, int], ...]]:
    """(start, end) character spans of evidence phrases in `text`, sorted; None without phrases.

    Each phrase is looked for after the previous one (evidence is listed in reading order), then anywhere, then
    with any run of whitespace matching any other (annotations are tokenised: a phrase may cross a line break).
    A phrase found nowhere is left out.
    """
    spans = set()
    cursor = 0
    for phrase in phrases:
        start = text.find(phrase, cursor)
        if start < 0:
            start = text.find(phrase)
        end = start + len(phrase)
        if start < 0:
            pattern = r"\s+".join(re.escape(token) for token in phrase.split())
            match = re.search(pattern, text) if pattern else None
            if match is None:
                continue
            start, end = match.span()
        spans.add((start, end))
        cursor = end
    return tuple(sorted(spans)) or None
