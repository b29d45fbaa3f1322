"""Malformed suites and datasets, generated with Hypothesis.

`harness validate` must answer every one with exit code 2 and errors that name the suite file and line (and, for a
data file, the data file, its line and the column): never a traceback, never the catch-all "unexpected error".
What is not an error stays accepted: long texts, blank lines, byte-order marks.
"""

from __future__ import annotations

import csv
import io
import json
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import pytest
import yaml
from conftest import dump_suite, minilm_dir, tiny_suite
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.cli import main

# capsys is function-scoped on purpose: each example reads (and so clears) what main() printed.
SETTINGS = {"deadline": None, "database": None,
            "suppress_health_check": [HealthCheck.function_scoped_fixture, HealthCheck.too_slow]}
VALID_TSV = "sentence\tlabel\na fine film\t1\na dull film\t0\nan odd film\t1\n"


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("malformed")
    for split in ("train", "test"):
        (directory / f"{split}.tsv").write_text(VALID_TSV, encoding="utf-8")
    return directory


def base_suite(workspace: Path) -> dict:
    """tiny_suite plus the sections it leaves out (seeds, gates, a description), so mutations reach them too."""
    suite = tiny_suite(minilm_dir(), {"train": workspace / "train.tsv", "test": workspace / "test.tsv"},
                       workspace / "reports")
    suite.update(description="generated", seeds=[0, 1],
                 gates=[{"metric": "accuracy", "method": "lora", "op": ">=", "threshold": 0.5}])
    return suite


def validate(capsys, path: Path, *options: str) -> tuple[int, str, str]:
    code = main([*options, "validate", str(path)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def check_answer(code: int, out: str, err: str, suite: Path, must_fail: bool = True,
                 line: Optional[int] = None, fragments: tuple[str, ...] = ()) -> None:
    """Exit 2 with `suite:line:col: message` lines (or, where `must_fail` is False, a clean `ok`)."""
    assert "Traceback" not in out + err, err
    assert "unexpected error" not in err, err
    if code == 0 and not must_fail:
        assert "ok" in out and not err, (out, err)
        return
    assert code == 2, (code, out, err)
    lines = [text for text in err.splitlines() if text.strip()]
    assert lines, "exit 2 without a message"
    file_lines = suite.read_bytes().count(b"\n") + 1
    location = re.compile(rf"^{re.escape(str(suite))}:(\d+):(\d+): \S")
    assert location.match(lines[0]), f"not file:line:col: {lines[0]!r}"
    for text in lines:
        if text.startswith(f"{suite}:"):
            match = location.match(text)
            assert match and 1 <= int(match.group(1)) <= file_lines and int(match.group(2)) >= 1, text
    if line is not None:
        assert int(location.match(lines[0]).group(1)) == line, err
    for fragment in fragments:
        assert fragment in err, (fragment, err)


# ---------------------------------------------------------------------------------------------- suites


def node_paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    paths = []
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        paths.append(prefix + (key,))
        paths.extend(node_paths(item, prefix + (key,)))
    return paths


def get(document: Any, path: tuple) -> Any:
    for key in path:
        document = document[key]
    return document


def put(document: Any, path: tuple, value: Any) -> None:
    get(document, path[:-1])[path[-1]] = value


def remove(document: Any, path: tuple) -> None:
    del get(document, path[:-1])[path[-1]]


@dataclass
class SuiteCase:
    """A malformed suite: its bytes, whether it must be refused, and what the first error must say."""

    name: str
    content: bytes
    must_fail: bool = True
    line: Optional[int] = None
    fragments: tuple[str, ...] = ()


def dumped(document: Any) -> str:
    return yaml.safe_dump(document, sort_keys=False, allow_unicode=True)


def with_placeholder(document: dict, path: tuple, replacement: str) -> str:
    """The suite's YAML with the node at `path` replaced by raw YAML text (tags, huge literals)."""
    put(document, path, "__PLACEHOLDER__")
    return dumped(document).replace("__PLACEHOLDER__", replacement, 1)


SCALAR_VALUES = (st.none() | st.booleans() | st.integers(-10**6, 10**6)
                 | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=20)
                 | st.lists(st.integers(-3, 3) | st.text(max_size=5), max_size=3))
REQUIRED_PATHS = [("task",), ("model",), ("methods",), ("task", "use"), ("task", "train"), ("task", "test"),
                  ("model", "source"), ("methods", 0, "use"), ("attacks", 0, "use"), ("explainers", 0, "use"),
                  ("gates", 0, "metric"), ("gates", 0, "op"), ("gates", 0, "threshold")]
PLUGIN_NAME_PATHS = [("task", "use"), ("methods", 0, "use"), ("methods", 1, "use"), ("attacks", 0, "use"),
                     ("explainers", 0, "use")]
BAD_PARAMETERS = [  # (path, value): refused by the plugin's own config checks or by the suite schema
    (("methods", 0, "epochs"), -1), (("methods", 0, "epochs"), 0), (("methods", 0, "batch_size"), 0),
    (("methods", 1, "r"), 0), (("methods", 1, "dropout"), 1.5), (("explainers", 0, "n_steps"), 0),
    (("methods", 0, "learning_rate"), -0.001), (("methods", 0, "learning_rate"), float("nan")),
    (("methods", 0, "epochs"), float("inf")), (("methods", 0, "warmup_ratio"), 1.5),
    (("methods", 0, "epochs"), "many"), (("attacks", 0, "use_all_transformations"), "yes please"),
    (("task", "label_names"), ["positive"]), (("task", "label_names"), ["a", "a"]),
    (("task", "text_column"), "label"), (("task", "format"), "xlsx"), (("task", "train"), ""),
    (("task", "train"), "."), (("task", "test"), "no/such/file.tsv"), (("task", "train"), "bad\0path.tsv"),
    (("model", "source"), "./no/such/model"), (("model", "source"), ""), (("model", "max_length"), 100_000),
    (("gates", 0, "method"), ["lora"]), (("gates", 0, "threshold"), float("nan")), (("gates", 0, "op"), "=>"),
    (("name",), "a/b"), (("name",), "x" * 300), (("output",), "bad\0dir"),
]
SIZE_PATHS = [("budgets", "max_attack_examples"), ("budgets", "max_explain_examples"),
              ("budgets", "max_train_examples"), ("budgets", "max_eval_examples"), ("budgets", "max_steps"),
              ("budgets", "max_epochs"), ("model", "max_length"), ("model", "batch_size"),
              ("methods", 0, "batch_size"), ("explainers", 0, "n_steps")]
PYTHON_TAGS = ['!!python/object/apply:os.system ["touch {marker}"]', '!!python/object/new:os.system ["touch {marker}"]',
               "!!python/name:os.system", "!!python/module:os", '!!python/tuple [1, 2]', "!!set {{a: null}}",
               "!!omap [a: 1]", '!<tag:yaml.org,2002:python/object/apply:os.system> ["touch {marker}"]',
               "!custom 5", "!!int not-a-number", "!!float also-not"]
BAD_BYTES = [b"\xff", b"\xfe\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\x80", b"\xf8\x88\x80\x80\x80", b"\xe2\x82"]
CONTROL_CHARACTERS = ["\x00", "\x07", "\x1b", "\x7f", "\ufffe", "\x08"]


@st.composite
def document_mutations(draw, document: dict) -> SuiteCase:
    """Mutations of the parsed suite: missing, unknown, wrongly typed, out-of-range values anywhere."""
    paths = node_paths(document)
    kind = draw(st.sampled_from(["delete required", "unknown key", "mapping instead of a value", "any value",
                                 "unknown plugin", "bad parameter", "negative size", "huge number",
                                 "not a mapping"]))
    if kind == "delete required":
        path = draw(st.sampled_from(REQUIRED_PATHS))
        remove(document, path)
        return SuiteCase(f"{kind} {path}", dumped(document).encode())
    if kind == "unknown key":
        mappings = [()] + [path for path in paths if isinstance(get(document, path), dict)]
        path = draw(st.sampled_from(mappings))
        key = "zz_" + draw(st.text("abcdefghijklmnopqrstuvwxyz_", max_size=8))
        get(document, path)[key] = draw(SCALAR_VALUES)
        return SuiteCase(f"{kind} {path + (key,)}", dumped(document).encode(), fragments=(repr(key),))
    if kind == "mapping instead of a value":
        path = draw(st.sampled_from(paths))
        put(document, path, {"zz_bogus": [1]})
        return SuiteCase(f"{kind} at {path}", dumped(document).encode())
    if kind == "any value":  # may be valid (a null budget is "no cap"): only the answer's form is checked
        path = draw(st.sampled_from(paths))
        value = draw(SCALAR_VALUES)
        put(document, path, value)
        return SuiteCase(f"{value!r} at {path}", dumped(document).encode(), must_fail=False)
    if kind == "unknown plugin":
        path = draw(st.sampled_from(PLUGIN_NAME_PATHS))
        put(document, path, "zz-" + draw(st.text("abcdefghijklmnopqrstuvwxyz-", max_size=10)))
        return SuiteCase(f"{kind} at {path}", dumped(document).encode(), fragments=("unknown",))
    if kind == "bad parameter":
        path, value = draw(st.sampled_from(BAD_PARAMETERS))
        put(document, path, value)
        return SuiteCase(f"{value!r} at {path}", dumped(document).encode())
    if kind == "negative size":
        path = draw(st.sampled_from(SIZE_PATHS + [("seeds",), ("train_sizes",)]))
        size = draw(st.integers(max_value=-1) if path == ("seeds",) else st.integers(max_value=0))
        put(document, path, [size] if path in (("seeds",), ("train_sizes",)) else size)
        return SuiteCase(f"size {size} at {path}", dumped(document).encode())
    if kind == "huge number":
        numeric = [path for path in paths
                   if isinstance(get(document, path), (int, float)) and not isinstance(get(document, path), bool)]
        path = draw(st.sampled_from(numeric))
        literal = draw(st.sampled_from(["9" * draw(st.integers(19, 6000)), "-" + "9" * 25, "1.0e400", "-1.0e+400",
                                        "1.0e+400", ".nan", ".inf"]))
        return SuiteCase(f"{literal[:12]} at {path}", with_placeholder(document, path, literal).encode())
    root = draw(st.sampled_from([[document], "just a string", 42, None, [1, 2, 3]]))
    return SuiteCase(f"root {type(root).__name__}", dumped(root).encode(), fragments=("mapping",))


@st.composite
def text_mutations(draw, document: dict, marker: Path) -> SuiteCase:
    """Mutations of the suite's text and bytes: syntax, duplicate keys, tags, encodings, YAML bombs."""
    text = dumped(document)
    lines = text.splitlines(keepends=True)
    kind = draw(st.sampled_from(["duplicate key", "bad syntax", "python tag", "non-UTF-8", "control character",
                                 "empty", "nesting and aliases", "two documents"]))
    key_lines = [index for index, line in enumerate(lines) if re.match(r"^\s*[A-Za-z_]+: \S", line)]
    if kind == "duplicate key":
        index = draw(st.sampled_from(key_lines))
        duplicated = lines[:index + 1] + [lines[index]] + lines[index + 1:]
        return SuiteCase(kind, "".join(duplicated).encode(), line=index + 2, fragments=("duplicate key",))
    if kind == "bad syntax":
        index = draw(st.sampled_from(key_lines))
        indent, key, value = re.match(r"^(\s*)([A-Za-z_]+): (.*)$", lines[index].rstrip("\n")).groups()
        broken = draw(st.sampled_from([f"{indent}{key}: [{value}\n", f"{indent}{key}: {value}: x\n",
                                       f"{indent}{key}: \"{value}\n", f"\t{indent}{key}: {value}\n",
                                       f"{indent}{key}: {{{value}\n"]))
        return SuiteCase(kind, "".join(lines[:index] + [broken] + lines[index + 1:]).encode(),
                         fragments=("invalid YAML",))
    if kind == "python tag":
        path = draw(st.sampled_from(node_paths(document)))
        tag = draw(st.sampled_from(PYTHON_TAGS)).format(marker=marker)
        return SuiteCase(f"{tag} at {path}", with_placeholder(document, path, tag).encode())
    if kind == "non-UTF-8":
        data = text.encode()
        offset = draw(st.integers(0, len(data)))
        while offset < len(data) and (data[offset] & 0xC0) == 0x80:  # not inside a multi-byte character
            offset += 1
        return SuiteCase(kind, data[:offset] + draw(st.sampled_from(BAD_BYTES)) + data[offset:],
                         line=data.count(b"\n", 0, offset) + 1, fragments=("UTF-8",))
    if kind == "control character":
        offset = draw(st.integers(0, len(text)))
        return SuiteCase(kind, (text[:offset] + draw(st.sampled_from(CONTROL_CHARACTERS)) + text[offset:]).encode(),
                         line=text.count("\n", 0, offset) + 1)
    if kind == "empty":
        return SuiteCase(kind, draw(st.sampled_from(["", "\n\n", "   \n", "# only a comment\n", "---\n", "...\n",
                                                     "\ufeff"])).encode())
    if kind == "nesting and aliases":
        depth = draw(st.sampled_from([150, 5000]))
        bombs = ["name: " + "[" * depth + "]" * depth + "\n",
                 "name: &loop [*loop]\n",
                 "a: &a [1, 1, 1, 1, 1, 1, 1, 1, 1]\n" + "".join(
                     f"{chr(98 + level)}: &{chr(98 + level)} [{', '.join([f'*{chr(97 + level)}'] * 9)}]\n"
                     for level in range(7))]
        return SuiteCase(kind, (text + draw(st.sampled_from(bombs))).encode())
    return SuiteCase(kind, (text + "---\n" + text).encode(), fragments=("invalid YAML",))


@settings(max_examples=250, **SETTINGS)
@given(data=st.data())
def test_malformed_suites_give_located_errors(workspace, capsys, data):
    case = data.draw(document_mutations(base_suite(workspace)), label="case")
    with tempfile.TemporaryDirectory(dir=workspace) as directory:
        suite = Path(directory) / "suite.yaml"
        suite.write_bytes(case.content)
        check_answer(*validate(capsys, suite), suite, case.must_fail, case.line, case.fragments)


@settings(max_examples=200, **SETTINGS)
@given(data=st.data())
def test_malformed_yaml_gives_located_errors_and_runs_nothing(workspace, capsys, data):
    with tempfile.TemporaryDirectory(dir=workspace) as directory:
        marker = Path(directory) / "code-ran"
        case = data.draw(text_mutations(base_suite(workspace), marker), label="case")
        suite = Path(directory) / "suite.yaml"
        suite.write_bytes(case.content)
        check_answer(*validate(capsys, suite), suite, case.must_fail, case.line, case.fragments)
        assert not marker.exists(), "a YAML tag ran code"


@pytest.mark.textattack
def test_the_unmutated_suite_is_valid(workspace, capsys):
    suite = dump_suite(base_suite(workspace), workspace / "valid.yaml")
    assert validate(capsys, suite)[0] == 0


def test_debug_shows_the_traceback(workspace, capsys):
    suite = workspace / "broken-debug.yaml"
    suite.write_text("task: [\n", encoding="utf-8")
    code, _, err = validate(capsys, suite, "--debug")
    assert code == 2 and "Traceback" in err and f"{suite}:" in err


def model_directory(workspace: Path, name: str, files: dict[str, str]) -> Path:
    directory = workspace / name
    directory.mkdir(exist_ok=True)
    for file_name, content in files.items():
        (directory / file_name).write_text(content, encoding="utf-8")
    return directory


MODEL_DIRECTORIES = [  # (files in the directory, what the error says)
    ({}, "no config.json"),
    ({"config.json": "{not json", "model.safetensors": "", "vocab.txt": ""}, "not valid JSON (line 1)"),
    ({"config.json": "[1]", "model.safetensors": "", "vocab.txt": ""}, "not a JSON object"),
    ({"config.json": "{}", "vocab.txt": ""}, "has no weights"),
    ({"config.json": "{}", "model.safetensors": ""}, "has no tokenizer"),
    ({"config.json": '{"max_position_embeddings": 32}', "model.safetensors": "", "vocab.txt": ""},
     "longer than the 32 positions"),
]


@pytest.mark.parametrize("files, message", MODEL_DIRECTORIES, ids=[m for _, m in MODEL_DIRECTORIES])
def test_model_directories_are_checked(workspace, capsys, files, message):
    document = base_suite(workspace)
    document["model"]["source"] = str(model_directory(workspace, f"model-{len(files)}-{hash(message)}", files))
    suite = dump_suite(document, workspace / "model-suite.yaml")
    check_answer(*validate(capsys, suite), suite, fragments=(message,))


def test_a_model_file_is_not_a_model_directory(workspace, capsys):
    document = base_suite(workspace)
    document["model"]["source"] = str(workspace / "train.tsv")
    suite = dump_suite(document, workspace / "model-file-suite.yaml")
    check_answer(*validate(capsys, suite), suite, line=7, fragments=("is a file, not a directory",))


# -------------------------------------------------------------------------------------------- datasets


TEXTS = st.text(st.characters(blacklist_categories=("Cs", "Cc")) | st.sampled_from(["\x85", "\u2028", "\x1c", '"']),
                min_size=1, max_size=25).filter(lambda text: text.strip())
WHITESPACE_TEXTS = ["", " ", "   ", "\u3000", "\u00a0 "]
MISSING_LABELS_DELIMITED = ["NaN", "nan", "null", "None", "N/A", "", " "]
MISSING_LABELS_JSON = [None, "NaN", "", float("nan")]
LONG_TEXT = "lorem ipsum dolor sit amet " * 40_000  # about 1 MB on one line


@dataclass
class DataCase:
    """A local task's files as rows (then rendered), the task parameters, and what validating must say."""

    format: str
    columns: list[str]
    text_column: str
    label_column: str
    header: bool
    splits: dict[str, list[dict]]
    params: dict = field(default_factory=dict)
    corruption: str = "none"
    must_fail: bool = True
    split: str = "train"
    """The split whose file the error must name."""
    row: Optional[int] = None
    """The data row (0-based) whose line the error must name."""
    fragments: tuple[str, ...] = ()
    raw_lines: dict[tuple[str, int], bytes] = field(default_factory=dict)
    """Rows replaced by raw bytes (broken JSON, a bad byte, a stray quote)."""
    whole_files: dict[str, bytes] = field(default_factory=dict)
    names_file: bool = True
    """False for a parameter error (duplicate column_names), which names the parameter instead."""
    blank_lines: bool = False
    bom: bool = False
    ensure_ascii: bool = True

    def line_of(self, row: int) -> int:
        return row * (2 if self.blank_lines else 1) + (1 if self.header else 0) + 1

    def render_row(self, row: dict) -> str:
        if self.format == "jsonl":
            return json.dumps(row, ensure_ascii=self.ensure_ascii)
        values = ["" if row.get(column) is None else str(row.get(column)) for column in self.columns]
        if self.format == "tsv":
            return "\t".join(values)
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="").writerow(values)
        return buffer.getvalue()

    def render(self, split: str) -> bytes:
        if split in self.whole_files:
            return self.whole_files[split]
        lines = []
        if self.header:
            delimiter = "\t" if self.format == "tsv" else ","
            lines.append(delimiter.join(self.columns).encode())
        for index, row in enumerate(self.splits[split]):
            if self.blank_lines:
                lines.append(b"")
            lines.append(self.raw_lines.get((split, index)) or self.render_row(row).encode())
        return ("\ufeff".encode() if self.bom else b"") + b"\n".join(lines) + b"\n"


ALL_FORMATS = ("csv", "tsv", "jsonl")
CORRUPTIONS = {  # name -> formats it applies to
    "none": ALL_FORMATS, "long text": ALL_FORMATS, "blank lines and BOM": ALL_FORMATS,
    "missing text column": ALL_FORMATS, "missing label column": ALL_FORMATS, "configured column absent": ALL_FORMATS,
    "empty file": ALL_FORMATS, "header only": ("csv", "tsv"), "one class in train": ALL_FORMATS,
    "label unseen in train": ALL_FORMATS, "label not in label_names": ALL_FORMATS, "non-UTF-8": ALL_FORMATS,
    "empty text": ALL_FORMATS, "missing label": ALL_FORMATS, "fractional label": ALL_FORMATS,
    "negative label": ALL_FORMATS, "wrong JSON types": ("jsonl",), "missing JSON field": ("jsonl",),
    "not JSON": ("jsonl",), "not a JSON object": ("jsonl",), "ragged row": ("csv", "tsv"), "stray quote": ("csv",),
    "duplicate header": ("csv", "tsv"), "missing file": ALL_FORMATS, "directory": ALL_FORMATS,
}


@st.composite
def datasets(draw) -> DataCase:
    file_format = draw(st.sampled_from(["csv", "tsv", "jsonl"]))
    integer_labels = draw(st.booleans())
    pool = [0, 1, 2] if integer_labels else ["neg", "pos", "Sci/Tech"]
    style = draw(st.sampled_from(["guessed", "configured"] + (["no header"] if file_format != "jsonl" else [])))
    if style == "configured":
        text_column, label_column = "body", "y"
    else:
        text_column = draw(st.sampled_from(["text", "sentence", "review"]))
        label_column = draw(st.sampled_from(["label", "class", "target"]))
    columns = draw(st.permutations([text_column, label_column] + (["id"] if draw(st.booleans()) else [])))
    texts = TEXTS.filter(lambda text: "\t" not in text) if file_format == "tsv" else TEXTS

    def rows(labels, minimum, maximum):
        drawn = draw(st.lists(st.tuples(texts, st.sampled_from(labels)), min_size=minimum, max_size=maximum))
        return [{"id": index, text_column: text, label_column: label} for index, (text, label) in enumerate(drawn)]

    train = rows(pool, 2, 6)
    train[0][label_column], train[1][label_column] = pool[0], pool[1]
    seen = sorted({row[label_column] for row in train}, key=str)
    splits = {"train": train, "test": rows(seen, 1, 4)}
    if draw(st.booleans()):
        splits["validation"] = rows(seen, 1, 3)
    params: dict[str, Any] = {}
    if style == "configured":
        params.update(text_column=text_column, label_column=label_column)
    if style == "no header":
        params["column_names"] = list(columns)
    header = file_format != "jsonl" and style != "no header"
    case = DataCase(file_format, list(columns), text_column, label_column, header, splits, params,
                    ensure_ascii=draw(st.booleans()))
    corruption = draw(st.sampled_from([name for name, formats in CORRUPTIONS.items() if file_format in formats]))
    corrupt(draw, case, corruption, integer_labels, seen)
    return case


def corrupt(draw, case: DataCase, corruption: str, integer_labels: bool, seen: list) -> None:
    case.corruption = corruption
    split = case.split = draw(st.sampled_from(sorted(case.splits)))
    rows = case.splits[split]
    row = draw(st.integers(0, len(rows) - 1))
    at_row = (split, row)
    text_column, label_column = case.text_column, case.label_column

    def expect(fragments, row_index=None, in_split=None):
        case.fragments = tuple(fragments)
        case.row = row_index
        case.split = in_split or split

    if corruption == "none":
        case.must_fail = False
    elif corruption == "long text":
        rows[row][text_column] = LONG_TEXT
        case.must_fail = False
    elif corruption == "blank lines and BOM":
        case.blank_lines, case.bom, case.must_fail = True, True, False
    elif corruption in ("missing text column", "missing label column", "configured column absent"):
        if not case.header and corruption != "configured column absent":
            corruption = case.corruption = "configured column absent"
        if corruption == "configured column absent":
            what = draw(st.sampled_from(["text", "label"]))
        else:
            what = "text" if corruption == "missing text column" else "label"
        old = text_column if what == "text" else label_column
        if corruption == "configured column absent":
            case.params[f"{what}_column"] = "zz_" + old
            expect([f"no {what} column 'zz_{old}'"], in_split="train")
        else:  # renamed in every file (a configured text_column / label_column then names a missing column)
            new = "zz_" + old
            case.columns = [new if column == old else column for column in case.columns]
            for split_rows in case.splits.values():
                for item in split_rows:
                    item[new] = item.pop(old)
            expect([f"{what} column"], in_split="train")
    elif corruption == "empty file":
        case.whole_files[split] = draw(st.sampled_from([b"", b"\n\n", b"   \n"]))
        expect(["is empty"])
    elif corruption == "header only":
        if case.header:
            case.whole_files[split] = (("\t" if case.format == "tsv" else ",").join(case.columns) + "\n").encode()
            expect(["has no rows"])
        else:  # without a header line, a file of blank lines
            case.whole_files[split] = b"\n\n"
            expect(["is empty"])
    elif corruption == "one class in train":
        for split_rows in case.splits.values():
            for item in split_rows:
                item[label_column] = seen[0]
        expect(["only one class", repr(label_column)], in_split="train")
    elif corruption == "label unseen in train":
        split = draw(st.sampled_from([name for name in case.splits if name != "train"]))
        row = draw(st.integers(0, len(case.splits[split]) - 1))
        case.splits[split][row][label_column] = 9 if integer_labels else "zz_unseen"
        expect(["never occurs in the train file", repr(label_column)], row, split)
    elif corruption == "label not in label_names":
        if integer_labels:
            case.params["label_names"] = ["zero", "one", "two"]
            rows[row][label_column] = 3
            expect(["out of range", repr(label_column)], row)
        else:
            case.params["label_names"] = ["neg", "pos", "Sci/Tech"]
            rows[row][label_column] = "Pos"
            expect(["not one of label_names", "did you mean 'pos'", repr(label_column)], row)
    elif corruption == "non-UTF-8":
        line = case.render_row(rows[row]).encode()
        cut = draw(st.integers(0, len(line)))
        while cut < len(line) and (line[cut] & 0xC0) == 0x80:
            cut += 1
        case.raw_lines[at_row] = line[:cut] + draw(st.sampled_from(BAD_BYTES)) + line[cut:]
        expect(["not UTF-8"], row)
    elif corruption == "empty text":
        rows[row][text_column] = draw(st.sampled_from(WHITESPACE_TEXTS))
        expect(["the text", repr(text_column)], row)
    elif corruption == "missing label":
        if not integer_labels:
            choices = [None, ""] if case.format == "jsonl" else ["", " "]
        else:
            choices = MISSING_LABELS_JSON if case.format == "jsonl" else MISSING_LABELS_DELIMITED
        label = draw(st.sampled_from(choices))
        rows[row][label_column] = label
        if case.format == "jsonl" and isinstance(label, float):
            case.raw_lines[at_row] = json.dumps(rows[row]).encode()  # NaN, which JSON parsers accept
        expect(["label", repr(label_column)], row)
    elif corruption == "fractional label":
        if case.format == "jsonl":
            rows[row][label_column] = 1.5
        else:  # a cell is text: "1.5" is a name among integers; among names, "7" is the odd one out
            rows[row][label_column] = "1.5" if integer_labels else 7
        expect(["label", repr(label_column)], row)
    elif corruption == "negative label":
        if integer_labels:
            rows[row][label_column] = -1
            expect(["negative", repr(label_column)], row)
        else:
            rows[row][label_column] = -1  # an integer among names: the odd one out
            expect(["an integer, but the other labels are names", repr(label_column)], row)
    elif corruption == "wrong JSON types":
        column = draw(st.sampled_from([text_column, label_column]))
        rows[row][column] = draw(st.sampled_from([[1], {"a": 1}, True] + ([5, 1.5, None] if column == text_column
                                                                            else [])))
        expect([repr(column)], row)
    elif corruption == "missing JSON field":
        column = draw(st.sampled_from([text_column, label_column]))
        del rows[row][column]
        if len(rows) > 1:
            expect([f"no {column!r} field"], row)
        else:  # the file's only row: the file has no such column
            expect([f"{'text' if column == text_column else 'label'} column"])
    elif corruption == "not JSON":
        line = case.render_row(rows[row])
        case.raw_lines[at_row] = draw(st.sampled_from([line[:-1], line + ",", "not json", line[1:]])).encode()
        expect(["not valid JSON"], row)
    elif corruption == "not a JSON object":
        case.raw_lines[at_row] = draw(st.sampled_from(["[1, 2]", '"text"', "3", "null"])).encode()
        expect(["expected a JSON object"], row)
    elif corruption == "ragged row":
        delimiter = "\t" if case.format == "tsv" else ","
        line = case.render_row(rows[row])
        case.raw_lines[at_row] = (line + delimiter + "extra").encode()
        expect(["field(s)"], row)
    elif corruption == "stray quote":
        line = case.render_row(rows[row])
        case.raw_lines[at_row] = draw(st.sampled_from(['"' + line, '"a"b,' + line])).encode()
        expect(["cannot be read as CSV"], row)
    elif corruption == "duplicate header":
        if case.header:
            case.columns.append(text_column)  # each row then has the text twice too
            expect(["twice", repr(text_column)], in_split="train")
        else:
            case.params["column_names"] = list(case.columns) + [case.columns[0]]
            case.names_file = False
            expect(["column_names lists", "twice"])
    elif corruption == "missing file":
        case.params[f"{split}_missing"] = True
        expect(["does not exist"])
    elif corruption == "directory":
        case.params[f"{split}_directory"] = True
        expect(["is a directory"])


def write_case(case: DataCase, directory: Path) -> tuple[dict[str, Path], dict]:
    """The case's files, and the `task:` section that reads them."""
    paths = {split: directory / f"{split}.{case.format}" for split in case.splits}
    params = dict(case.params)
    for split, path in paths.items():
        if params.pop(f"{split}_missing", False):
            path = paths[split] = directory / f"absent-{split}.{case.format}"
            continue
        if params.pop(f"{split}_directory", False):
            path = paths[split] = directory / f"folder-{split}.{case.format}"
            path.mkdir()
            continue
        path.write_bytes(case.render(split))
    return paths, {"use": "local", **{split: str(path) for split, path in paths.items()}, **params}


def data_suite(task: dict, directory: Path) -> Path:
    suite = {"name": "data", "task": task, "model": str(minilm_dir()), "methods": [{"use": "full", "epochs": 1}]}
    return dump_suite(suite, directory / "suite.yaml")


@settings(max_examples=300, **SETTINGS)
@given(case=datasets())
def test_malformed_datasets_name_the_file_line_and_column(workspace, capsys, case):
    with tempfile.TemporaryDirectory(dir=workspace) as directory:
        paths, task = write_case(case, Path(directory))
        suite = data_suite(task, Path(directory))
        code, out, err = validate(capsys, suite)
        fragments = case.fragments
        if case.must_fail and case.names_file:
            fragments = (*fragments, str(paths[case.split]))
        check_answer(code, out, err, suite, case.must_fail, fragments=fragments)
        if case.must_fail and case.row is not None:
            assert re.search(rf"\bline {case.line_of(case.row)}\b", err), (case.line_of(case.row), err)
        if not case.must_fail:
            assert code == 0, err
            check_round_trip(case, task)


def check_round_trip(case: DataCase, task: dict) -> None:
    """What the task loads is exactly what was written."""
    from harness.core.types import StageEnvironment
    from harness_plugins.local_task import LocalTask, LocalTaskConfig

    params = {key: tuple(value) if isinstance(value, list) else value for key, value in task.items() if key != "use"}
    data = LocalTask(LocalTaskConfig(**params)).load(
        StageEnvironment(device="cpu", seed=0, work_dir=Path("."), progress=None))
    for split, rows in case.splits.items():
        examples = getattr(data, split)
        assert [example.text for example in examples] == [row[case.text_column] for row in rows]
        labels = [data.label_names[example.label] for example in examples]
        assert labels == [str(row[case.label_column]) for row in rows]
        assert [example.id for example in examples] == [f"{split}-{index}" for index in range(len(rows))]


def test_a_bad_dataset_fails_a_run_before_anything_runs(tmp_path, capsys):
    (tmp_path / "train.csv").write_text("text,label\ngood,pos\nbad,neg\n", encoding="utf-8")
    (tmp_path / "test.csv").write_text("text,label\nfine,pos\nodd,postive\n", encoding="utf-8")
    suite = data_suite({"use": "local", "train": str(tmp_path / "train.csv"), "test": str(tmp_path / "test.csv")},
                       tmp_path)
    code = main(["run", str(suite), "--no-progress", "--out", str(tmp_path / "reports")])
    err = capsys.readouterr().err
    check_answer(code, "", err, suite, fragments=(f"{tmp_path / 'test.csv'} line 3:", "'postive'", "'label'"))
    assert not (tmp_path / "reports").exists()


def test_a_file_broken_after_validation_fails_the_task_with_its_line(tmp_path):
    from harness import HarnessError
    from harness.core.types import StageEnvironment
    from harness_plugins.local_task import LocalTask, LocalTaskConfig

    train, test = tmp_path / "train.tsv", tmp_path / "test.tsv"
    for path in (train, test):
        path.write_text(VALID_TSV, encoding="utf-8")
    task = LocalTask(LocalTaskConfig(train=str(train), test=str(test)))
    test.write_bytes(VALID_TSV.encode() + b"caf\xe9\t1\n")
    with pytest.raises(HarnessError) as raised:
        task.load(StageEnvironment(device="cpu", seed=0, work_dir=tmp_path, progress=None))
    assert str(raised.value).startswith(f"task 'local': test file {test} is not UTF-8 text: byte 0xe9 at line 5")
