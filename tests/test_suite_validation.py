"""Broken suites give `file:line:col: message` and exit 2, never a traceback; valid ones exit 0."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from harness.cli import main

REPO = Path(__file__).resolve().parents[1]

VALID = """\
name: check
task:
  use: local
  train: {train}
  test: {test}
model: minilm
methods:
  - use: full
    epochs: 1
  - use: lora
    r: 4
attacks: [deepwordbug]
explainers:
  - use: integrated-gradients
    n_steps: 8
seeds: [0, 1]
budgets:
  max_attack_examples: 5
gates:
  - metric: accuracy
    method: lora
    op: ">="
    threshold: 0.5
"""


@pytest.fixture
def data_files(tmp_path):
    train = tmp_path / "train.tsv"
    test = tmp_path / "test.tsv"
    for path in (train, test):
        path.write_text("sentence\tlabel\na fine film\t1\na dull film\t0\n", encoding="utf-8")
    return {"train": train, "test": test}


def validate(tmp_path, capsys, text):
    path = tmp_path / "suite.yaml"
    path.write_text(text, encoding="utf-8")
    code = main(["validate", str(path)])
    captured = capsys.readouterr()
    return path, code, captured.out + captured.err


@pytest.mark.textattack
def test_valid_suite_passes(tmp_path, capsys, data_files):
    _, code, output = validate(tmp_path, capsys, VALID.format(**data_files))
    assert code == 0, output
    assert "ok" in output


@pytest.mark.textattack
def test_shipped_suites_validate(capsys):
    for suite in sorted((REPO / "suites").glob("*.yaml")):
        assert main(["validate", str(suite)]) == 0, capsys.readouterr().err


LOCAL_COPIES = {
    "sst2-methods.yaml": {"task.path": "sst2", "attacks.0.path": "advglue/dev.json"},
    "sst2-robust-training.yaml": {"task.path": "sst2"},
}
"""What the SST-2 suites' comments tell offline users to --set, relative to a folder laid out as ../shared/data."""


def validate_sst2_suites_on_local_copies(data: Path, capsys) -> None:
    """The shipped SST-2 suites validate with --set pointing into `data`, and then need no dataset from the hub."""
    for name, overrides in LOCAL_COPIES.items():
        arguments = ["validate", str(REPO / "suites" / name)]
        for key, relative in overrides.items():
            arguments += ["--set", f"{key}={data / relative}"]
        code = main(arguments)
        output = capsys.readouterr()
        assert code == 0, output.err
        assert "nyu-mll/glue" not in output.out and "adv_glue" not in output.out, output.out


@pytest.mark.textattack  # the SST-2 suites use TextAttack recipes
def test_shipped_sst2_suites_validate_on_local_copies(capsys, release_data):
    validate_sst2_suites_on_local_copies(release_data, capsys)


BROKEN = [
    # (id, transformation of the valid text, expected line, expected message fragment)
    ("unknown top-level key", lambda t: t.replace("attacks:", "atacks:"), 12, "did you mean 'attacks'"),
    ("duplicate key", lambda t: t.replace("seeds: [0, 1]", "seeds: [0, 1]\nseeds: [2]"), 17, "duplicate key 'seeds'"),
    ("wrong type for seeds", lambda t: t.replace("seeds: [0, 1]", "seeds: often"), 16, "seeds"),
    ("unknown finetuner", lambda t: t.replace("use: lora", "use: lroa"), 10, "did you mean 'lora'"),
    ("unknown plugin parameter", lambda t: t.replace("r: 4", "rank: 4"), 11, "has no parameter 'rank'"),
    ("wrong parameter type", lambda t: t.replace("r: 4", "r: four"), 11, "expected an integer"),
    ("invalid YAML", lambda t: t.replace("attacks: [deepwordbug]", "attacks: [deepwordbug"), 13, "invalid YAML"),
    ("missing methods", lambda t: re.sub(r"methods:\n(  .*\n)+", "", t), 1, "needs `methods:`"),
    ("empty methods", lambda t: re.sub(r"methods:\n(  .*\n)+", "methods: []\n", t), 7, "at least one"),
    ("code in YAML", lambda t: t.replace("name: check", "name: !!python/object/apply:os.system ['echo hi']"), 1,
     "unsupported YAML value"),
    ("bad gate operator", lambda t: t.replace('op: ">="', 'op: "=>"'), 22, "gate `op` must be one of"),
    ("gate on unknown method", lambda t: t.replace("method: lora", "method: lorra"), 21, "did you mean 'lora'"),
    ("missing data file", lambda t: re.sub(r"test: .*", "test: /nonexistent/test.tsv", t), 5, "does not exist"),
    ("same method twice", lambda t: t.replace("  - use: lora\n    r: 4", "  - use: full"), 10, "appears twice"),
    ("unknown budget", lambda t: t.replace("max_attack_examples", "max_atack_examples"), 18,
     "did you mean 'max_attack_examples'"),
    ("missing model directory", lambda t: t.replace("model: minilm", "model: ./no/such/model"), 6, "does not exist"),
    ("unknown attack parameter type", lambda t: t.replace("n_steps: 8", "n_steps: [8]"), 15, "expected an integer"),
    ("unknown reporter", lambda t: t + "reports: [html, pdf]\n", 24, "unknown reporter 'pdf'"),
]


@pytest.mark.textattack
@pytest.mark.parametrize("case", BROKEN, ids=[case[0] for case in BROKEN])
def test_broken_suite_reports_file_line_and_exits_2(tmp_path, capsys, data_files, case):
    _, transform, line, fragment = case
    path, code, output = validate(tmp_path, capsys, transform(VALID.format(**data_files)))
    assert code == 2, output
    assert "Traceback" not in output
    first = output.strip().splitlines()[0]
    match = re.match(rf"^{re.escape(str(path))}:(\d+):(\d+): (.*)$", first)
    assert match, f"not file:line:col: {first!r}"
    assert int(match.group(1)) == line, output
    assert fragment in output, output


def test_every_error_found_in_one_pass(tmp_path, capsys, data_files):
    text = VALID.format(**data_files).replace("r: 4", "rank: 4").replace("n_steps: 8", "n_steps: many")
    _, code, output = validate(tmp_path, capsys, text)
    assert code == 2
    assert "rank" in output and "n_steps" in output


def test_unknown_component_lists_available_names(tmp_path, capsys, data_files):
    _, _, output = validate(tmp_path, capsys, VALID.format(**data_files).replace("[deepwordbug]", "[deepwordbugg]"))
    assert "did you mean 'deepwordbug'?" in output
    available = output.split("Available attacks: ", 1)[1]
    assert "deepwordbug" in available and "pwws" in available


def test_plugin_named_in_parameter_error(tmp_path, capsys, data_files):
    _, _, output = validate(tmp_path, capsys, VALID.format(**data_files).replace("r: 4", "r: 0"))
    assert "plugin 'lora'" in output and "r must be a positive integer" in output


def test_missing_suite_file(capsys, tmp_path):
    assert main(["validate", str(tmp_path / "absent.yaml")]) == 2
    assert "not found" in capsys.readouterr().err


@pytest.mark.textattack
def test_yaml_float_without_dot_is_accepted_for_float_fields(tmp_path, capsys, data_files):
    # PyYAML reads 5e-5 as a string (YAML 1.1); a learning rate written that way must still work.
    _, code, output = validate(tmp_path, capsys, VALID.format(**data_files).replace("epochs: 1", "learning_rate: 5e-5"))
    assert code == 0, output


def test_empty_suite(tmp_path, capsys):
    path, code, output = validate(tmp_path, capsys, "")
    assert code == 2 and output.startswith(f"{path}:1:1:")
