"""Extractive-QA data as QAExamples, from SQuAD's JSON files, from tables and from hub rows, every answer checked.

- `read_squad_json`: the official SQuAD 1.1 / 2.0 layout, `{"version", "data": [{"title", "paragraphs":
  [{"context", "qas": [{"id", "question", "answers": [{"text", "answer_start"}], "is_impossible"?,
  "plausible_answers"?}]}]}]}`. A question with `"is_impossible": true` has no answers; its `plausible_answers`
  (SQuAD 2.0's distractor spans) are not answers and are not read.
- `read_qa_table`: JSON lines, CSV or TSV with columns `question`, `context` and either `answer` (text) with an
  optional `answer_start`, or `answers` as the hub gives them (`{"text": [...], "answer_start": [...]}`); `id`
  (default: the line number) and `title` are optional. A blank or missing answer is an unanswerable question.
- `squad_examples_from_hub_rows`: the rows of the hub datasets `squad` and `squad_v2`.

Every answer goes through harness.kinds.qa.examples.answer_problem: its text must be what the context holds at its
offset, counted in characters. A misplaced answer is an error, never dropped or moved: it would train and score the
wrong span. Errors name the file and the line (the JSON module gives no line numbers, so for SQuAD JSON the line is
where the question's `"id"` is written in the file, else its question text) and the question's id; ids must be
unique within what one call reads.
"""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path
from typing import Any, Iterable, Mapping, Optional, Union

from harness.core.errors import HarnessError
from harness.kinds.qa.examples import Answer, QAExample, answer_problem
from harness.tasks.readers import RawSplit, has_lone_surrogate, lone_surrogate_problem, read_table, read_text

QA_TABLE_FORMATS = {".jsonl": "jsonl", ".json-lines": "jsonl", ".csv": "csv", ".tsv": "tsv"}
"""Table formats read_qa_table reads, by extension."""
SQUAD_LAYOUT = ('{"version": ..., "data": [{"title": ..., "paragraphs": [{"context": ..., "qas": [{"id": ..., '
                '"question": ..., "answers": [{"text": ..., "answer_start": ...}], "is_impossible": ...}]}]}]}')
_CSV_FIELD_LIMIT = 2**31 - 1
# Where a question's id is written in the raw JSON text (a string, or a number in files that use numeric ids).
_ID_KEY = re.compile(r'"id"\s*:\s*("(?:[^"\\]|\\.)*"|-?\d+)')
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")

PathLike = Union[str, Path]


class QAFormatError(HarnessError, ValueError):
    """A QA file or row breaks a rule; the message names the file and the line (or the row). A ValueError as well,
    so that a task config that reads its files in __post_init__ reports it as a suite error."""


# ----------------------------------------------------------------------------------------------- SQuAD JSON


def read_squad_json(path: PathLike) -> tuple[QAExample, ...]:
    """The questions of a SQuAD 1.1 or 2.0 JSON file, in file order, each answer checked against its context."""
    path = Path(path)
    text = read_text(path)
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise QAFormatError(f"{path} line {error.lineno}, column {error.colno}: not valid JSON: {error.msg}; "
                            f"expected SQuAD's layout {SQUAD_LAYOUT}") from error
    # Lone surrogates only come from \uD8.. escapes: skip the walk over every string when the text has none.
    if _SURROGATE_ESCAPE.search(text) and has_lone_surrogate(document):
        lines, column, message = lone_surrogate_problem(text)
        raise QAFormatError(f"{path} line {1 + lines}, column {column}: {message}")
    squad = _SquadFile(str(path), text)
    articles = squad.articles(document)
    examples: list[QAExample] = []
    seen: dict[str, tuple[str, int]] = {}  # id -> (where it was first, how many times it was seen)
    for article_index, article in enumerate(articles):
        place = f"data[{article_index}]"
        if not isinstance(article, dict) or not isinstance(article.get("paragraphs"), list):
            raise QAFormatError(f"{squad.where(place, article)}: an article must be an object with a list "
                                f"\"paragraphs\" (and a \"title\"), got {_shape(article)}")
        title = article.get("title", "")
        if not isinstance(title, str):
            raise QAFormatError(f"{squad.where(place, article)}: the title must be a string, got {title!r}")
        for paragraph_index, paragraph in enumerate(article["paragraphs"]):
            examples.extend(squad.paragraph_examples(paragraph, title, f"{place}.paragraphs[{paragraph_index}]", seen))
    return tuple(examples)


class _SquadFile:
    """One SQuAD JSON file being read: its parsed questions become examples, and its raw text locates them (lines
    are only looked for when there is an error to report)."""

    def __init__(self, origin: str, text: str):
        self.origin = origin
        self.text = text
        self._id_positions: Optional[dict[str, list[int]]] = None

    def articles(self, document: Any) -> list:
        if isinstance(document, dict) and isinstance(document.get("data"), list):
            return document["data"]
        hint = ""
        if isinstance(document, list) and document and isinstance(document[0], dict) and "question" in document[0]:
            hint = ("; a list of questions is a table: write one JSON object per line (.jsonl) and read it with "
                    "read_qa_table")
        elif isinstance(document, dict) and "data" not in document:
            hint = f"; it has no \"data\" (its keys: {', '.join(map(str, list(document)[:8])) or 'none'})"
        raise QAFormatError(f"{self.origin}: not SQuAD JSON: the top level is {_shape(document)}, expected "
                            f"{SQUAD_LAYOUT}{hint}")

    def paragraph_examples(self, paragraph: Any, title: str, place: str,
                           seen: dict[str, tuple[str, int]]) -> list[QAExample]:
        if not isinstance(paragraph, dict) or not isinstance(paragraph.get("qas"), list):
            raise QAFormatError(f"{self.where(place, paragraph)}: a paragraph must be an object with a \"context\" "
                                f"and a list \"qas\", got {_shape(paragraph)}")
        context = paragraph.get("context")
        if not isinstance(context, str):
            raise QAFormatError(f"{self.where(place, paragraph)}: the paragraph's \"context\" must be a string, got "
                                f"{context!r}")
        examples = []
        for question_index, qa in enumerate(paragraph["qas"]):
            example = self.question_example(qa, context, title, f"{place}.qas[{question_index}]")
            first, count = seen.get(example.id, ("", 0))
            if count:
                where = self.where(f"{place}.qas[{question_index}]", qa, occurrence=count)
                raise QAFormatError(f"{where}: question id {example.id!r} is used again (first at {first}); ids "
                                    f"must be unique")
            seen[example.id] = (first or self.where(f"{place}.qas[{question_index}]", qa), count + 1)
            examples.append(example)
        return examples

    def question_example(self, qa: Any, context: str, title: str, place: str) -> QAExample:
        if not isinstance(qa, dict):
            raise QAFormatError(f"{self.where(place, qa)}: a question must be an object with \"id\", \"question\" "
                                f"and \"answers\", got {_shape(qa)}")
        question_id = qa.get("id")
        if isinstance(question_id, bool) or not isinstance(question_id, (str, int)) or question_id == "":
            raise QAFormatError(f"{self.where(place, qa)}: the question's \"id\" must be a non-empty string, got "
                                f"{question_id!r}")
        question_id = str(question_id)

        def fail(problem: str) -> QAFormatError:
            return QAFormatError(f"{self.where(place, qa)}: question {question_id!r}: {problem}")

        question = qa.get("question")
        if not isinstance(question, str):
            raise fail(f"\"question\" must be a string, got {question!r}")
        impossible = qa.get("is_impossible", None)
        if impossible is not None and not isinstance(impossible, bool):
            raise fail(f"\"is_impossible\" must be true or false, got {impossible!r}")
        raw_answers = qa.get("answers", [])
        if not isinstance(raw_answers, list):
            raise fail(f"\"answers\" must be a list of {{\"text\", \"answer_start\"}} objects, got {raw_answers!r}")
        if impossible and raw_answers:
            raise fail(f"\"is_impossible\" is true but it has {len(raw_answers)} answers (an unanswerable question's "
                       f"spans belong in \"plausible_answers\")")
        if impossible is False and not raw_answers:
            raise fail("\"is_impossible\" is false but it has no answers")
        try:
            answers = _answer_objects(raw_answers)
        except ValueError as error:
            raise fail(str(error)) from None
        example = QAExample(question_id, question, context, answers, title)
        problem = answer_problem(example)
        if problem is not None:
            raise fail(problem)
        return example

    def where(self, place: str, node: Any, occurrence: int = 0) -> str:
        """`<file> line <n> (<place in the document>)`: the line of the node's question id (its `occurrence`-th
        one, for a repeated id) or question text, or of the first question inside it."""
        line = self._line_of(node, occurrence)
        return f"{self.origin} line {line} ({place})" if line is not None else f"{self.origin} ({place})"

    def _line_of(self, node: Any, occurrence: int) -> Optional[int]:
        if isinstance(node, dict):
            question_id = node.get("id")
            if isinstance(question_id, (str, int)) and not isinstance(question_id, bool):
                positions = self._ids().get(str(question_id), [])
                if occurrence < len(positions):
                    return self._line_at(positions[occurrence])
            question = node.get("question")
            if isinstance(question, str) and question:
                for literal in (json.dumps(question, ensure_ascii=False), json.dumps(question)):
                    found = self.text.find(literal)
                    if found >= 0:
                        return self._line_at(found)
            children = [node.get(key) for key in ("qas", "paragraphs") if isinstance(node.get(key), list)]
            for child in (item for items in children for item in items[:1]):
                line = self._line_of(child, 0)
                if line is not None:
                    return line
            title = node.get("title")
            if isinstance(title, str) and title:
                found = self.text.find(json.dumps(title, ensure_ascii=False))
                return self._line_at(found) if found >= 0 else None
        return None

    def _ids(self) -> dict[str, list[int]]:
        if self._id_positions is None:
            self._id_positions = {}
            for match in _ID_KEY.finditer(self.text):
                try:
                    value = str(json.loads(match.group(1)))
                except ValueError:
                    continue
                self._id_positions.setdefault(value, []).append(match.start())
        return self._id_positions

    def _line_at(self, position: int) -> int:
        return self.text.count("\n", 0, position) + 1


def _answer_objects(raw_answers: list) -> tuple[Answer, ...]:
    """SQuAD JSON's answer objects as Answers (ValueError says which one is malformed)."""
    answers = []
    for number, raw in enumerate(raw_answers, 1):
        if not isinstance(raw, dict) or "text" not in raw or "answer_start" not in raw:
            raise ValueError(f"answer {number} must be an object with \"text\" and \"answer_start\", got {raw!r}")
        answers.append(Answer(_answer_text(raw["text"], number), _offset(raw["answer_start"], number)))
    return tuple(answers)


# ----------------------------------------------------------------------------------------------- tables


def read_qa_table(path: PathLike) -> tuple[QAExample, ...]:
    """The questions of a JSON-lines, CSV or TSV file (see the module docstring for the columns), in file order,
    each answer checked; errors name the file and the line of the row."""
    path = Path(path)
    file_format = QA_TABLE_FORMATS.get(path.suffix.lower())
    if file_format is None:
        hint = "; SQuAD's JSON files are read with read_squad_json" if path.suffix.lower() == ".json" else ""
        raise QAFormatError(f"{path}: cannot tell the table format from the extension {path.suffix!r}; expected "
                            f"{', '.join(QA_TABLE_FORMATS)}{hint}")
    table = read_table(path, "jsonl") if file_format == "jsonl" else _read_delimited(path, file_format)
    if not table.rows:
        raise QAFormatError(f"{path}: no rows; expected columns question, context and answer (or answers)")
    if not any("answer" in row or "answers" in row for row in table.rows):
        columns = ", ".join(sorted({str(key) for row in table.rows for key in row}))
        raise QAFormatError(f"{table.where(0)}: no column \"answer\" (with an optional \"answer_start\") or "
                            f"\"answers\" (its columns: {columns}); a row with a blank answer is an unanswerable "
                            f"question, but a table without the column is a mistake")
    examples = []
    seen: dict[str, str] = {}
    for index, row in enumerate(table.rows):
        where = table.where(index)
        default_id = str(table.lines[index]) if table.lines is not None else str(index + 1)
        example = _table_example(row, where, default_id)
        _refuse_repeated_id(seen, example.id, where)
        examples.append(example)
    return tuple(examples)


def _read_delimited(path: Path, file_format: str) -> RawSplit:
    """CSV or TSV rows with the line each starts on. Unlike harness.tasks.readers.read_table, a row with more or
    fewer fields than the header is an error: contexts are prose, and an unquoted comma would shift the answer into
    the wrong column (or cut it off) without a word."""
    text = read_text(path)
    options: dict[str, Any] = {"delimiter": "\t" if file_format == "tsv" else ","}
    if file_format == "tsv":
        options["quoting"] = csv.QUOTE_NONE  # as harness.tasks.readers: TSV fields are never quoted
    reader = csv.reader(io.StringIO(text, newline=""), **options)
    header: Optional[list[str]] = None
    rows, lines = [], []
    end = header_line = 0
    previous_limit = csv.field_size_limit(_CSV_FIELD_LIMIT)  # a context can be longer than csv's default limit
    try:
        for fields in reader:
            start, end = end + 1, reader.line_num
            if not fields or (len(fields) == 1 and not fields[0].strip()):
                continue
            if header is None:
                header, header_line = [name.strip() for name in fields], start
                _check_header(path, header, header_line)
                continue
            if len(fields) != len(header):
                inside = "a comma inside a field that is not in double quotes" if file_format == "csv" else \
                    "a tab inside a field"
                raise QAFormatError(f"{path} line {start}: {len(fields)} fields, but the header (line {header_line}) "
                                    f"has {len(header)}; {inside}?")
            rows.append(dict(zip(header, fields)))
            lines.append(start)
    except csv.Error as error:
        raise QAFormatError(f"{path} line {end + 1}: cannot be read as {file_format.upper()}: {error}") from error
    finally:
        csv.field_size_limit(previous_limit)
    return RawSplit(str(path), tuple(rows), tuple(lines))


def _check_header(path: Path, header: list[str], line: int) -> None:
    repeated = sorted({name for name in header if header.count(name) > 1})
    if repeated:
        raise QAFormatError(f"{path} line {line}: the header names column {', '.join(map(repr, repeated))} twice")
    missing = [name for name in ("question", "context") if name not in header]
    if missing:
        raise QAFormatError(f"{path} line {line}: no column {', '.join(map(repr, missing))} (the header has: "
                            f"{', '.join(header)}); expected question, context and answer (or answers)")


def _table_example(row: Mapping[str, Any], where: str, default_id: str) -> QAExample:
    raw_id = row.get("id")
    if raw_id is None or raw_id == "":
        question_id = default_id
    elif isinstance(raw_id, (str, int)) and not isinstance(raw_id, bool):
        question_id = str(raw_id)
    else:
        raise QAFormatError(f"{where}: \"id\" must be a string or an integer, got {raw_id!r}")
    fields = {}
    for name in ("question", "context"):
        if name not in row:
            raise QAFormatError(f"{where}: no {name!r} (the row has: {', '.join(map(str, row)) or 'nothing'})")
        if not isinstance(row[name], str):
            raise QAFormatError(f"{where}: question {question_id!r}: {name!r} must be a string, got {row[name]!r}")
        fields[name] = row[name]
    title = row.get("title")
    if title is not None and not isinstance(title, str):
        raise QAFormatError(f"{where}: question {question_id!r}: \"title\" must be a string, got {title!r}")
    try:
        answers = _row_answers(row, fields["context"])
    except ValueError as error:
        raise QAFormatError(f"{where}: question {question_id!r}: {error}") from None
    example = QAExample(question_id, fields["question"], fields["context"], answers, title or "")
    problem = answer_problem(example)
    if problem is not None:
        raise QAFormatError(f"{where}: question {question_id!r}: {problem}")
    return example


def _row_answers(row: Mapping[str, Any], context: str) -> tuple[Answer, ...]:
    """A table row's answers: `answers` (the hub's dict, or in CSV that dict as JSON), or `answer` with an optional
    `answer_start` (else the text's first occurrence in the context); blank or missing: none (unanswerable)."""
    answer, start = row.get("answer"), row.get("answer_start")
    has_answer = answer is not None and not (isinstance(answer, str) and not answer.strip())
    if row.get("answers") not in (None, "", [], {}):
        if has_answer or not _blank(start):
            raise ValueError("both \"answers\" and \"answer\" / \"answer_start\" are given; give one of them")
        return _answer_lists(row["answers"])
    if not has_answer:
        if not _blank(start) and start not in (-1, "-1"):
            raise ValueError(f"\"answer_start\" is {start!r} but the answer is blank (an unanswerable question); "
                             f"give the answer's text")
        return ()
    text = _answer_text(answer, 1)
    if _blank(start):
        found = context.find(text)
        if found < 0:
            raise ValueError(f"the answer {text!r} does not occur in the context (no \"answer_start\" given, so the "
                             f"answer is its first occurrence); check the answer's spelling and spacing")
        return (Answer(text, found),)
    return (Answer(text, _offset(start, 1, in_table=True)),)


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


# ----------------------------------------------------------------------------------------------- hub rows


def squad_examples_from_hub_rows(rows: Iterable[Mapping[str, Any]],
                                 origin: str = "hub rows") -> tuple[QAExample, ...]:
    """QAExamples from the rows of the hub datasets `squad` / `squad_v2` (`id`, `title`, `context`, `question`,
    `answers: {"text": [...], "answer_start": [...]}`; no answers: unanswerable), each checked; errors name the row
    number and its id. `origin` names the rows in errors (e.g. "rajpurkar/squad_v2 validation")."""
    examples = []
    seen: dict[str, str] = {}
    for number, row in enumerate(rows, 1):
        if not isinstance(row, Mapping):
            raise QAFormatError(f"{origin} row {number}: expected a mapping of columns, got {_shape(row)}")
        raw_id = row.get("id")
        where = f"{origin} row {number} (id {raw_id!r})"
        missing = [name for name in ("id", "question", "context", "answers") if name not in row]
        if missing:
            raise QAFormatError(f"{where}: no column {', '.join(missing)} (the row has: {', '.join(map(str, row))}); "
                                f"expected the columns of squad / squad_v2")
        if isinstance(raw_id, bool) or not isinstance(raw_id, (str, int)) or raw_id == "":
            raise QAFormatError(f"{where}: \"id\" must be a non-empty string")
        texts = {name: row[name] if name in ("question", "context") else row.get(name) or ""
                 for name in ("question", "context", "title")}
        wrong = [name for name, value in texts.items() if not isinstance(value, str)]
        if wrong:
            raise QAFormatError(f"{where}: {wrong[0]!r} must be a string, got {texts[wrong[0]]!r}")
        try:
            answers = _answer_lists(row["answers"])
        except ValueError as error:
            raise QAFormatError(f"{where}: {error}") from None
        example = QAExample(str(raw_id), texts["question"], texts["context"], answers, texts["title"])
        problem = answer_problem(example)
        if problem is not None:
            raise QAFormatError(f"{where}: {problem}")
        _refuse_repeated_id(seen, example.id, where)
        examples.append(example)
    return tuple(examples)


# ----------------------------------------------------------------------------------------------- shared


def _answer_lists(value: Any) -> tuple[Answer, ...]:
    """The hub's `{"text": [...], "answer_start": [...]}` (or, from a CSV cell, that as JSON; or a list of SQuAD's
    `{"text", "answer_start"}` objects) as Answers; all texts blank: none (unanswerable). ValueError if malformed."""
    expected = "expected {\"text\": [...], \"answer_start\": [...]} with one offset per text"
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise ValueError(f"\"answers\" is not JSON ({value[:60]!r}); {expected}") from None
    if isinstance(value, list):
        return _answer_objects(value)
    if not isinstance(value, Mapping):
        raise ValueError(f"\"answers\" is {_shape(value)}; {expected}")
    texts, starts = value.get("text"), value.get("answer_start")
    if not isinstance(texts, (list, tuple)) or not isinstance(starts, (list, tuple)) or len(texts) != len(starts):
        raise ValueError(f"\"answers\" is {value!r}; {expected}")
    if all(isinstance(text, str) and not text.strip() for text in texts):
        return ()
    return tuple(Answer(_answer_text(text, number), _offset(start, number))
                 for number, (text, start) in enumerate(zip(texts, starts), 1))


def _answer_text(value: Any, number: int) -> str:
    if not isinstance(value, str):
        raise ValueError(f"answer {number}: the text must be a string, got {value!r}")
    return value


def _offset(value: Any, number: int, *, in_table: bool = False) -> int:
    """An answer's character offset: an integer. In a table also an integral float (pandas writes an integer column
    with gaps as floats) or digits (a CSV cell); SQuAD's files and the hub hold integers only."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if in_table and isinstance(value, float) and value.is_integer():
        return int(value)
    if in_table and isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            pass
    raise ValueError(f"answer {number}: the offset (answer_start) must be an integer, got {value!r}")


def _refuse_repeated_id(seen: dict[str, str], example_id: str, where: str) -> None:
    if example_id in seen:
        raise QAFormatError(f"{where}: question id {example_id!r} is used again (first at {seen[example_id]}); ids "
                            f"must be unique")
    seen[example_id] = where


def _shape(value: Any) -> str:
    """What a JSON value is, briefly, for errors about the layout."""
    if isinstance(value, dict):
        return f"an object with keys {', '.join(map(str, list(value)[:8])) or '(none)'}"
    if isinstance(value, list):
        return f"a list of {len(value)} items"
    return f"{type(value).__name__} {str(value)[:60]!r}"
