"""Token-classification data (named-entity recognition) in CoNLL form: files, tagging schemes, TaskData.

CoNLL files hold one token per line, columns separated by spaces or tabs, the token first and, by default, the
tag last; a blank line ends a sentence. CoNLL-2003's `word POS chunk NER` lines, its `-DOCSTART- -X- -X- O`
document separators (skipped: they are not sentences) and plain two-column `word tag` files all read the same.
Every line of a file must have as many columns as its first token line: a line with a missing or an extra column
is an error naming the file and the line, never a token silently shifted into the wrong column.

Tagging schemes. The harness's label names are IOB2 tags (every entity starts with B-). CoNLL-2003 as first
distributed (eng.train, eng.testa, eng.testb) is IOB1: entities start with I- and B- only separates two adjacent
entities of one type. `encoding` says what a file holds:

- "iob2": checked; an I- that starts an entity, or an E-/S- tag, is an error naming the line (it would teach a
  model to start entities with I-).
- "iob1" or "iobes": converted to IOB2.
- "auto" (default): IOBES when a file holds an E- or S- tag, else IOB1 if some I- starts an entity, else IOB2;
  converted to IOB2 in every case. (Valid IOB2 is unchanged by the IOB1 conversion, so guessing cannot hurt.)

Conversions read the entities as seqeval's default mode does (harness.kinds.token.entity_metrics.extract_entities) and
write
them back as IOB2, so converted tags score exactly like the originals.

`load_token_task` turns a `TokenTaskSource` (a dataset on the Hugging Face hub whose rows are a token list and a
tag-index list, plus the CoNLL file names of its local copies) into TaskData, from `path:` or the hub, with the
conventions of harness.tasks.sources: content-addressed ids, a seeded order of every split, the same examples from
the hub and from local files.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Optional, Sequence

from harness.core.errors import HarnessError
from harness.core.types import TaskData
from harness.kinds.token.entity_metrics import OUTSIDE, extract_entities, normalise_to_iob2, split_tag
from harness.kinds.token.examples import TokenExample

ENCODINGS = ("auto", "iob1", "iob2", "iobes")
DOCSTART = "-DOCSTART-"
_COLUMN_SEPARATOR = re.compile(r"[ \t]+")
_JSON = json.JSONEncoder(ensure_ascii=False)


class ConllFormatError(HarnessError, ValueError):
    """A CoNLL file or its tags break a rule; the message names the file and the line. A ValueError as well, so
    that a task config that reads its files in __post_init__ reports it as a suite error."""


@dataclass(frozen=True)
class ConllSentence:
    """One sentence of a CoNLL file: its tokens, their tags (as written) and the line of each token."""

    tokens: tuple[str, ...]
    tags: tuple[str, ...]
    lines: tuple[int, ...]


# ----------------------------------------------------------------------------------------------- reading


def parse_conll(text: str, origin: str, *, tag_column: int = -1) -> tuple[ConllSentence, ...]:
    """The sentences of CoNLL text. `tag_column`: 0-based index of the tag column, negative from the end
    (default: the last); column 0 is the token. `origin` names the text in errors (usually the file's path)."""
    sentences: list[ConllSentence] = []
    tokens: list[str] = []
    tags: list[str] = []
    lines: list[int] = []
    columns: Optional[tuple[int, int]] = None  # (count, line where it was set)

    def close() -> None:
        if tokens:
            sentences.append(ConllSentence(tuple(tokens), tuple(tags), tuple(lines)))
            tokens.clear()
            tags.clear()
            lines.clear()

    # Split on \n only: str.splitlines() would also break at characters such as U+0085 inside a token.
    for number, raw in enumerate(text.split("\n"), 1):
        line = raw.rstrip("\r").strip(" \t")
        if not line:
            close()
            continue
        fields = _COLUMN_SEPARATOR.split(line)
        if fields[0] == DOCSTART:
            close()  # a document boundary is also a sentence boundary, blank line or not
            continue
        if columns is None:
            if len(fields) < 2:
                raise ConllFormatError(f"{origin} line {number}: one column ({fields[0]!r}); expected a token and "
                                       f"a tag separated by spaces or tabs")
            if not -len(fields) <= tag_column < len(fields) or tag_column in (0, -len(fields)):
                raise ConllFormatError(f"{origin} line {number}: tag column {tag_column} does not exist in a line "
                                       f"of {len(fields)} columns (column 0 is the token)")
            columns = (len(fields), number)
        elif len(fields) != columns[0]:
            raise ConllFormatError(f"{origin} line {number}: {len(fields)} columns, but line {columns[1]} has "
                                   f"{columns[0]}; every token line needs the same columns (a space inside a "
                                   f"token, or a missing tag?): {line[:80]!r}")
        tag = fields[tag_column]
        try:
            split_tag(tag)
        except ValueError as error:
            raise ConllFormatError(f"{origin} line {number}: {error} (column {tag_column % columns[0]})") from None
        tokens.append(fields[0])
        tags.append(tag)
        lines.append(number)
    close()
    if not sentences:
        raise ConllFormatError(f"{origin}: no sentences (an empty file, or only -DOCSTART- lines)")
    return tuple(sentences)


def read_conll(path: Path, *, tag_column: int = -1, file_encoding: str = "utf-8-sig") -> tuple[ConllSentence, ...]:
    """The sentences of a CoNLL file (see parse_conll)."""
    from harness.tasks.sources import read_text

    return parse_conll(read_text(Path(path), (file_encoding,)), str(path), tag_column=tag_column)


# ----------------------------------------------------------------------------------------------- schemes


def starts_with_inside(tags: Sequence[str]) -> Optional[int]:
    """The position of the first I- tag that starts an entity (not IOB2), or None."""
    previous = OUTSIDE
    for index, tag in enumerate(tags):
        prefix, entity_type = split_tag(tag)
        if prefix == "I":
            previous_prefix, previous_type = split_tag(previous)
            if previous_prefix not in ("B", "I") or previous_type != entity_type:
                return index
        previous = tag
    return None


def detect_scheme(tag_sequences: Sequence[Sequence[str]]) -> str:
    """"iobes" if any E- or S- tag occurs, else "iob1" if any I- starts an entity, else "iob2"."""
    if any(split_tag(tag)[0] in ("E", "S") for tags in tag_sequences for tag in tags):
        return "iobes"
    if any(starts_with_inside(tags) is not None for tags in tag_sequences):
        return "iob1"
    return "iob2"


def to_iob2(tags: Sequence[str]) -> tuple[str, ...]:
    """IOB1, IOBES (or IOB2) tags as IOB2: the same entities (seqeval's reading), each starting with B-."""
    return normalise_to_iob2(tags)


def convert_sentences(sentences: Sequence[ConllSentence], encoding: str,
                      origin: str) -> tuple[tuple[ConllSentence, ...], str]:
    """The sentences with IOB2 tags, and the scheme they were in (see the module docstring for `encoding`)."""
    if encoding not in ENCODINGS:
        raise ValueError(f"encoding must be one of {', '.join(ENCODINGS)}, got {encoding!r}")
    detected = detect_scheme([sentence.tags for sentence in sentences])
    if encoding in ("iob2", "iob1"):
        for sentence in sentences:
            for index, tag in enumerate(sentence.tags):
                if split_tag(tag)[0] in ("E", "S"):
                    raise ConllFormatError(f"{_where(origin, sentence, index)}: tag {tag!r} is IOBES, but the "
                                           f"encoding is {encoding}; set encoding: iobes or auto")
    if encoding == "iob2":
        for sentence in sentences:
            index = starts_with_inside(sentence.tags)
            if index is not None:
                raise ConllFormatError(f"{_where(origin, sentence, index)}: {sentence.tags[index]!r} starts an "
                                       f"entity, which IOB2 starts with B-; the file looks like IOB1 (CoNLL-2003's "
                                       f"original files are); set encoding: iob1 or auto")
        return tuple(sentences), detected
    converted = tuple(ConllSentence(sentence.tokens, to_iob2(sentence.tags), sentence.lines)
                      for sentence in sentences)
    return converted, detected if encoding == "auto" else encoding


def _where(origin: str, sentence: ConllSentence, index: int) -> str:
    return f"{origin} line {sentence.lines[index]}" if sentence.lines else f"{origin} token {index}"


def iob2_label_names(tag_sequences: Sequence[Sequence[str]]) -> tuple[str, ...]:
    """Label names for IOB2 tags: "O" first, then B- and I- of every entity type seen (both, even if a type has
    only one-token entities, so that a model can tag any entity of the type), sorted."""
    types = {entity.type for tags in tag_sequences for entity in extract_entities(tags)}
    return (OUTSIDE, *sorted(f"{prefix}-{entity_type}" for entity_type in types for prefix in ("B", "I")))


# ----------------------------------------------------------------------------------------------- examples


def token_content_id(prefix: str, split: str, tokens: Sequence[str], tags: Sequence[str]) -> str:
    """`<prefix>-<16 hex digits>`: sha256 over the task split, the tokens and the tag names (JSON-encoded), so that
    the same sentence gets the same id from the hub and from local files, whatever the row order."""
    payload = _JSON.encode([split, list(tokens), list(tags)])
    return f"{prefix}-{hashlib.sha256(payload.encode('utf-8')).hexdigest()[:16]}"


def token_examples(sentences: Sequence[ConllSentence], *, prefix: str, split: str, label_names: Sequence[str],
                   origin: str) -> tuple[TokenExample, ...]:
    """IOB2 sentences as TokenExamples (tags as indices of `label_names`), with content ids; exact repeats of a
    sentence within a split get `-2`, `-3`, ... (CoNLL-2003 repeats many short lines such as "-- --")."""
    index = {name: position for position, name in enumerate(label_names)}
    examples = []
    seen: dict[str, int] = {}
    for sentence in sentences:
        for position, tag in enumerate(sentence.tags):
            if tag not in index:
                raise ConllFormatError(f"{_where(origin, sentence, position)}: tag {tag!r} is not one of the "
                                       f"task's labels ({', '.join(label_names)})")
        example_id = token_content_id(prefix, split, sentence.tokens, sentence.tags)
        seen[example_id] = seen.get(example_id, 0) + 1
        if seen[example_id] > 1:
            example_id = f"{example_id}-{seen[example_id]}"
        examples.append(TokenExample(id=example_id, tokens=sentence.tokens,
                                     tags=tuple(index[tag] for tag in sentence.tags)))
    return tuple(examples)


# ----------------------------------------------------------------------------------------------- sources


@dataclass(frozen=True)
class TokenTaskSource:
    """A token-classification dataset: its hub rows (a token list and a tag-index list per row) and local files."""

    name: str
    """The task's name: TaskData.name and the id prefix."""
    title: str
    hub_path: str
    hub_config: Optional[str]
    label_names: tuple[str, ...]
    """IOB2 tags in the hub's ClassLabel order (tag i is label_names[i]); checked against the hub on load."""
    tokens_column: str = "tokens"
    tags_column: str = "ner_tags"
    splits: Mapping[str, str] = field(default_factory=lambda: {"train": "train", "validation": "validation",
                                                               "test": "test"})
    """Task split -> hub split."""
    conll_files: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Task split -> CoNLL file names a local folder may hold (the first found is read)."""
    notes: str = ""

    def layout_help(self) -> str:
        conll = "; ".join(f"{split}: {' or '.join(names)}" for split, names in self.conll_files.items())
        generic = ", ".join(f"{hub}.jsonl/.json/.parquet" for hub in self.splits.values())
        return (f"a folder with CoNLL files ({conll}; token first, NER tag last, blank lines between sentences) or "
                f"with one file per split ({generic}) with columns {self.tokens_column} and {self.tags_column} "
                f"(tag names or indices of {', '.join(self.label_names)})")


def load_token_task(source: TokenTaskSource, config: Any, *, encoding: str = "auto") -> TaskData:
    """The task's data from `config.path` (a local folder) or the hub (`config.hub_name`, `config.revision`);
    `config` is a harness.tasks.sources.TaskSourceConfig. Every split is put in the seeded order of
    harness.tasks.sources.seeded_order; a local folder without a validation file gets one held out of train
    (`config.validation_fraction`). `encoding` is the tagging scheme of local CoNLL files and hub rows."""
    from harness.tasks.sources import expand_path, hold_out, seeded_order

    if config.path is not None:
        sentences, origin = _local_sentences(source, expand_path(config.path))
    else:
        sentences, origin = _hub_sentences(source, config.hub_name or source.hub_path, config.revision)
    splits: dict[str, tuple[TokenExample, ...]] = {}
    schemes = set()
    for task_split, (split_sentences, split_origin) in sentences.items():
        try:
            converted, scheme = convert_sentences(split_sentences, encoding, split_origin)
            examples = token_examples(converted, prefix=source.name, split=task_split,
                                      label_names=source.label_names, origin=split_origin)
        except ConllFormatError as error:
            raise ConllFormatError(f"task {source.name!r}: {error}") from error
        schemes.add(scheme)
        splits[task_split] = seeded_order(examples, config.split_seed)  # type: ignore[arg-type]
    notes = []
    if "validation" not in splits:
        splits["train"], splits["validation"] = hold_out(splits["train"], config.validation_fraction,  # type: ignore
                                                          config.split_seed)
        notes.append(f"validation = {config.validation_fraction:g} of train held out (seed {config.split_seed})")
    for task_split in ("train", "test"):
        if not splits.get(task_split):
            raise HarnessError(f"task {source.name!r}: the {task_split} split is empty ({origin})")
    if schemes - {"iob2"}:
        notes.append(f"tags converted from {'/'.join(sorted(schemes - {'iob2'})).upper()} to IOB2")
    if source.notes:
        notes.append(source.notes)
    description = (f"{source.title}: {len(splits['train'])} train / {len(splits['validation'])} validation / "
                   f"{len(splits['test'])} test sentences from {origin}" + "".join(f"; {note}" for note in notes))
    return TaskData(name=source.name, label_names=source.label_names, train=splits["train"],  # type: ignore
                    validation=splits["validation"], test=splits["test"], description=description,  # type: ignore
                    text_fields=("tokens",), kind="token-classification")


_GENERIC_EXTENSIONS = (".jsonl", ".json", ".parquet")


def _local_sentences(source: TokenTaskSource,
                     path: Path) -> tuple[dict[str, tuple[tuple[ConllSentence, ...], str]], str]:
    from harness.tasks.readers import require_split_files

    if not path.is_dir():
        raise HarnessError(f"task {source.name!r}: path {str(path.absolute())!r} is not a folder; "
                           f"expected {source.layout_help()}")
    found: dict[str, tuple[tuple[ConllSentence, ...], str]] = {}
    for task_split, hub_split in source.splits.items():
        for name in source.conll_files.get(task_split, ()):
            candidate = path / name
            if candidate.is_file():
                try:
                    found[task_split] = (read_conll(candidate), str(candidate))
                except HarnessError as error:
                    raise HarnessError(f"task {source.name!r}: {error}") from error
                break
        else:
            for extension in _GENERIC_EXTENSIONS:
                candidate = path / f"{hub_split}{extension}"
                if candidate.is_file():
                    found[task_split] = (_table_sentences(source, candidate), str(candidate))
                    break
    require_split_files(source.name, path, found, source.layout_help())
    return found, f"local files {path}"


def _table_sentences(source: TokenTaskSource, path: Path) -> tuple[ConllSentence, ...]:
    from harness.tasks.sources import read_table

    try:
        raw = read_table(path)
    except HarnessError as error:
        raise HarnessError(f"task {source.name!r}: {error}") from error
    # A row without tokens is no sentence (as a blank line in a CoNLL file is none).
    return tuple(_row_sentence(source, raw.where(index), row) for index, row in enumerate(raw.rows)
                 if row.get(source.tokens_column) != [])


def _row_sentence(source: TokenTaskSource, where: str, row: Mapping[str, Any]) -> ConllSentence:
    tokens, tags = row.get(source.tokens_column), row.get(source.tags_column)
    if not isinstance(tokens, (list, tuple)) or not all(isinstance(token, str) and token for token in tokens):
        raise HarnessError(f"task {source.name!r}: {where}: {source.tokens_column!r} must be a list of non-empty "
                           f"strings, got {tokens!r:.60}")
    if not isinstance(tags, (list, tuple)) or len(tags) != len(tokens):
        raise HarnessError(f"task {source.name!r}: {where}: {source.tags_column!r} must be a list of one tag per "
                           f"token ({len(tokens)}), got {tags!r:.60}")
    names = []
    for tag in tags:
        if isinstance(tag, int) and not isinstance(tag, bool) and 0 <= tag < len(source.label_names):
            names.append(source.label_names[tag])
            continue
        try:
            split_tag(tag)
        except (ValueError, TypeError, AttributeError):
            raise HarnessError(f"task {source.name!r}: {where}: tag {tag!r} is neither a tag name nor an index "
                               f"0..{len(source.label_names) - 1}") from None
        names.append(tag)
    return ConllSentence(tuple(tokens), tuple(names), ())


def _hub_sentences(source: TokenTaskSource, hub_name: str,
                   revision: Optional[str]) -> tuple[dict[str, tuple[tuple[ConllSentence, ...], str]], str]:
    from harness.tasks.hub import hub_splits

    splits, shown = hub_splits(source.name, hub_name, source.hub_config, revision, source.layout_help(),
                               source.splits, (source.tokens_column, source.tags_column),
                               "set hub_name to a dataset with the same columns")
    found = {}
    for task_split, dataset, origin in splits:
        feature = dataset.features.get(source.tags_column)
        # Sequence(ClassLabel) (datasets 2/3) or List(ClassLabel) (datasets 4) both expose `.feature`.
        names = getattr(getattr(feature, "feature", None), "names", None)
        if names is not None and tuple(names) != source.label_names:
            raise HarnessError(f"task {source.name!r}: {origin} tags are {list(names)}, but the task's are "
                               f"{list(source.label_names)} (in this order); pin a `revision` with the expected tags")
        data = dataset.select_columns([source.tokens_column, source.tags_column]).to_dict()
        rows = [{source.tokens_column: tokens, source.tags_column: tags}
                for tokens, tags in zip(data[source.tokens_column], data[source.tags_column])]
        found[task_split] = (tuple(_row_sentence(source, f"{origin} row {index + 1}", row)
                                   for index, row in enumerate(rows) if row[source.tokens_column]), origin)
    return found, f"the hub: {shown}"
