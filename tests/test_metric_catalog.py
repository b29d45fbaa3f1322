"""The metric catalog (harness/report/metric_catalog.py) against the code, docs/metrics.md against the catalog, the
results.json schema against the json reporter, and harness.testing's sample run against both.

The code's metric names are found where they are written: the name given to `Metric(...)`, `bootstrap_metric(...)`,
`proportion_metric(...)` and the training loop's `_metric(...)`, to `dataclasses.replace(metric, name=...)`, and to
`ResultRow(metric=...)` (harness/ and plugins/). A literal name must be in the catalog; a name computed at run time
must be one of COMPUTED_NAMES below, whose resolver produces its names (a helper whose names its caller renames is
in RENAMED). Each side must hold the other's names, and each built-in kind's stages must write exactly the catalog's
names for that stage.
"""

from __future__ import annotations

import ast
import dataclasses
import json
import re
import tomllib
from functools import cache
from pathlib import Path

import pytest

from harness.report import metric_catalog as catalog
from harness.report.metric_catalog import ATTACK, GENERATION, METRICS, QA, SEQUENCE, TOKEN, TYPE

ROOT = Path(__file__).resolve().parent.parent
SOURCES = sorted([*(ROOT / "harness").rglob("*.py"), *(ROOT / "plugins").glob("*.py")])
EMITTERS = {"Metric", "bootstrap_metric", "proportion_metric", "_metric"}


# ----------------------------------------------------------------------------------- names in the code


def name_expressions(path: Path, function: str = ""):
    """(expression, call) of each metric name written in `path` (in `function` only, when given)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    if function:
        found = [node for node in ast.walk(tree) if isinstance(node, ast.FunctionDef) and node.name == function]
        assert len(found) == 1, f"{path}: no single function {function}; update stage_names() in this test"
        tree = found[0]
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        callee = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
        keywords = {keyword.arg: keyword.value for keyword in node.keywords}
        if callee in EMITTERS:
            expression = node.args[0] if node.args else keywords.get("name")
        elif callee == "replace":
            expression = keywords.get("name")
        elif callee == "ResultRow":
            expression = keywords.get("metric")
        else:
            continue
        if expression is not None:
            yield expression


def typed(name: str) -> str:
    """A per-entity-type name ("entity_f1/PER", f"entity_f1/{entity_type}") as the catalog writes it."""
    return re.sub(r"/[^/]+$", "/" + TYPE, name) if "/" in name else name


def literal_names(path: Path, *functions: str) -> set[str]:
    """The literal (and f-string) metric names written in `path`, or in its `functions`."""
    names = set()
    for function in functions or ("",):
        for expression in name_expressions(path, function):
            if isinstance(expression, ast.Constant):
                names.add(expression.value)
            elif isinstance(expression, ast.JoinedStr) and (path.relative_to(ROOT).as_posix(),
                                                            ast.unparse(expression)) not in COMPUTED_NAMES:
                names.add(typed("".join(part.value if isinstance(part, ast.Constant) else "{}"
                                        for part in expression.values)))
    return names


@cache
def builtin_kinds() -> dict[str, object]:
    """The built-in kinds by their catalog label (their subpackage of harness.kinds)."""
    from harness.kinds import BUILTIN_KINDS

    return {kind.__module__.split(".")[2]: kind() for kind in BUILTIN_KINDS}


def entity_metric_names(prefix: str = "entity_") -> set[str]:
    from harness.kinds.token.entity_metrics import entity_metrics

    gold = [("B-PER", "I-PER", "O", "B-LOC"), ("O", "B-ORG")]
    predicted = [("B-PER", "I-PER", "O", "O"), ("O", "B-ORG")]
    return {typed(metric.name) for metric in entity_metrics(gold, predicted, prefix=prefix, resamples=10)}


def entity_prefixes() -> set[str]:
    """The prefixes the code gives entity_metrics (besides its default)."""
    return {keyword.value.value for path in SOURCES for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "entity_metrics"
            for keyword in node.keywords if keyword.arg == "prefix" and isinstance(keyword.value, ast.Constant)}


def flip_metric_names() -> set[str]:
    from harness.kinds.token.stages import EntityChange, flip_metrics

    changes = [EntityChange("PER", (0, 1), (0, 1), True, False), EntityChange("LOC", (2, 3), (2, 3), True, True)]
    return {typed(metric.name) for metric in flip_metrics(changes)}


def training_loop_names(kinds=None) -> set[str]:
    """The names of harness.training.train's metrics: the first items of the (name, value) pairs it reports."""
    tree = ast.parse((ROOT / "harness" / "training" / "train.py").read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.comprehension) and isinstance(node.iter, ast.Tuple):
            for pair in node.iter.elts:
                first = pair.elts[0]
                if isinstance(first, ast.Constant):
                    names.add(first.value)
                else:
                    assert ast.unparse(first) == "kind.training.train_score_metric", ast.unparse(first)
                    names |= {kind.training.train_score_metric for kind in (kinds or builtin_kinds().values())}
    assert names, "harness/training/train.py: no (name, value) pairs found; update training_loop_names"
    return names


def peak_memory_names() -> set[str]:
    from harness.modeling.memory import PeakMemory

    return {PeakMemory("cpu").metric_name, PeakMemory("cuda").metric_name}


def squad_metric_names() -> set[str]:
    """What harness.kinds.qa.squad_metrics writes, with its SQuAD 2.0 breakdown (an unanswerable question)."""
    from harness.kinds.qa.squad_metrics import squad_metrics

    return {metric.name for metric in squad_metrics({"a": "x", "b": ""}, {"a": ["x"], "b": []})}


def generation_metric_names(prefix: str = "") -> set[str]:
    """What harness.core.text_metrics.generation_metrics writes, with choices (verbaliser accuracy)."""
    from harness.core.text_metrics import generation_metrics

    metrics, _ = generation_metrics(["yes", "no"], [("yes",), ("yes",)], choices=("yes", "no"), n_bootstrap=10)
    return {prefix + metric.name for metric in metrics}


def qa_stability_names() -> set[str]:
    """The QA explain stage's stability metrics, one per attack (`attribution_rank_stability/add-sent`)."""
    from harness.kinds.qa.explaining import attribution_stability

    return {f"{metric.name}/{ATTACK}" for metric in attribution_stability([], [], {})[0]}


def per_example_explainer_names() -> set[str]:
    from harness.explain.explainers import PER_EXAMPLE_METRICS

    return set(PER_EXAMPLE_METRICS.values())


PASSED_ON = set()
"""A name handed on from the caller, who writes it (a helper's parameter, a stage's payload)."""

COMPUTED_NAMES = {
    ("harness/core/statistics.py", "name"): lambda: PASSED_ON,
    ("harness/core/runner.py", "metric['name']"): lambda: PASSED_ON,
    ("harness/authoring/samples.py", "name"): lambda: PASSED_ON,  # checked in test_the_sample_run_...
    ("harness/authoring/samples.py", "metric.name"): lambda: PASSED_ON,
    ("harness/core/suite/model_checks.py",
     "model.source.name.rstrip('/').rsplit('/', 1)[-1] or model.name"): lambda: PASSED_ON,  # a model, not a metric
    ("harness/core/runner.py", "f'{split}_examples'"): lambda: {"train_examples", "validation_examples",
                                                               "test_examples"},
    ("harness/kinds/standard.py", "peak_memory.metric_name"): peak_memory_names,
    ("harness/kinds/standard.py", "context.kind.training.best_validation_metric"):
        lambda: {kind.training.best_validation_metric for kind in builtin_kinds().values()},
    ("harness/training/train.py", "name"): training_loop_names,
    ("harness/explain/explainers.py", "PER_EXAMPLE_METRICS[name]"): per_example_explainer_names,
    **{("harness/kinds/token/entity_metrics.py", expression):
       lambda: set().union(*(entity_metric_names(prefix) for prefix in {"entity_", *entity_prefixes()}))
       for expression in ("f'{prefix}{name}'", "f'{prefix}macro_f1'", "f'{prefix}f1/{entity_type}'")},
    ("harness/kinds/token/stages.py", "prefix"): flip_metric_names,
    **{("harness/kinds/qa/squad_metrics.py", expression): squad_metric_names
       for expression in ("prefix + 'exact_match'", "prefix + 'f1'")},
    ("harness/kinds/token/stages.py", "f'{prefix}/{entity_type}'"): flip_metric_names,
    ("harness/kinds/qa/stages.py", "f'{metric.name}/{label}'"): qa_stability_names,
    ("harness/core/text_metrics.py", "name"): generation_metric_names,
    ("harness/kinds/generation/stages.py", "f'perturbed_{metric.name}'"):
        lambda: generation_metric_names("perturbed_"),
    ("harness/kinds/generation/stages.py", "f'attacked_{metric.name}'"):
        lambda: generation_metric_names("attacked_"),
}

RENAMED = {"harness/kinds/qa/explaining.py": ("attribution_stability",)}
"""Functions (by file) whose literal metric names their caller renames before writing them (a COMPUTED_NAMES
resolver gives the names written)."""


def written_literal_names(path: Path, *functions: str) -> set[str]:
    """literal_names, less those of the functions in RENAMED."""
    renamed = RENAMED.get(path.relative_to(ROOT).as_posix(), ())
    return literal_names(path, *functions) - (literal_names(path, *renamed) if renamed else set())


def code_names() -> set[str]:
    names, unknown = set(), []
    for path in SOURCES:
        relative = path.relative_to(ROOT).as_posix()
        names |= written_literal_names(path)
        for expression in name_expressions(path):
            key = (relative, ast.unparse(expression))
            if isinstance(expression, (ast.Constant, ast.JoinedStr)) and key not in COMPUTED_NAMES:
                continue
            resolve = COMPUTED_NAMES.get(key)
            if resolve is None:
                unknown.append(f"{relative}: {key[1]}")
            else:
                names |= resolve()
    assert not unknown, ("metric names computed at run time that tests/test_metric_catalog.py cannot resolve; add "
                         "them to COMPUTED_NAMES:\n" + "\n".join(unknown))
    return names


def test_every_metric_the_code_writes_is_in_the_catalog_and_every_catalog_metric_is_written():
    found = code_names()
    declared = {info.name for info in METRICS}
    assert not found - declared, f"metrics missing from harness/report/metric_catalog.py: {sorted(found - declared)}"
    assert not declared - found, f"catalog metrics no code writes: {sorted(declared - found)}"


def test_the_catalog_names_each_built_in_kinds_stages_in_order():
    for label, kind in builtin_kinds().items():
        assert catalog.stage_kinds(label) == ("task", *(stage.name for stage in kind.stages())), label
    assert set(catalog.KIND_TITLES) == set(builtin_kinds())


def stage_names(label: str) -> dict[str, set[str]]:
    """What each stage of a built-in kind writes, from the functions that write it."""
    from harness.attack.judging import judge_metrics
    from harness.attack.metrics import attack_metrics
    from harness.core.types import AttackRecord, Verdict
    from harness.kinds.base import TaskKind

    kinds = builtin_kinds()
    harness = ROOT / "harness"
    explain_metrics = literal_names(harness / "explain" / "metrics.py", "faithfulness_metrics",
                                    "plausibility_metrics", "stability_metrics")
    standard = harness / "kinds" / "standard.py"
    finetune = (literal_names(standard, "finetune", "history_metrics") | peak_memory_names()
                | {kinds[label].training.best_validation_metric} | training_loop_names([kinds[label]]))
    if type(kinds[label]).adversarial_training is not TaskKind.adversarial_training:
        finetune |= literal_names(standard, "adversarial_metrics")
    task = {"train_examples", "validation_examples", "test_examples"}
    if label == SEQUENCE:
        stages = harness / "kinds" / "sequence" / "stages.py"
        record = AttackRecord("x", "a b", "a c", 1, 1, 0, 0.9, 0.6, "successful", 5, 1, 2, 0.1)
        return {
            "task": task, "augment": literal_names(stages, "augment"), "finetune": finetune,
            "evaluate": literal_names(stages, "evaluate") | literal_names(harness / "core" / "statistics.py",
                                                                           "bootstrap_macro_f1"),
            "attack": {metric.name for metric in attack_metrics([record], 1)} | literal_names(stages, "attack"),
            "judge": {typed(metric.name) for metric in judge_metrics([record], {"a": [Verdict(True)]}, ["a"])},
            "perturb": literal_names(stages, "perturb"),
            "explain": (literal_names(stages, "explain") | per_example_explainer_names() | explain_metrics
                        | literal_names(harness / "explain" / "quality.py")),
        }
    if label == QA:
        qa = harness / "kinds" / "qa"
        return {
            "task": task, "finetune": finetune, "evaluate": squad_metric_names(),
            "attack": literal_names(qa / "attacking.py", "attack_metrics"),
            "perturb": literal_names(qa / "perturbing.py", "perturb_metrics"),
            "explain": (literal_names(qa / "stages.py", "explain_stage") | written_literal_names(qa / "explaining.py")
                        | qa_stability_names()),
        }
    if label == GENERATION:
        stages = harness / "kinds" / "generation" / "stages.py"
        return {
            "task": task, "finetune": finetune,
            "evaluate": generation_metric_names() | literal_names(stages, "evaluate"),
            "attack": (generation_metric_names("attacked_")
                       | literal_names(stages, "prompt_attack_metrics", "drop_metrics")),
            "perturb": (generation_metric_names("perturbed_")
                        | literal_names(stages, "perturb_metrics", "drop_metrics")),
            "explain": (literal_names(stages, "explain_stage")
                        | literal_names(harness / "kinds" / "generation" / "explaining.py")),
        }
    from harness.kinds.token.attack import EntityOutcome, NerAttackRecord, entity_attack_metrics

    stages = harness / "kinds" / "token" / "stages.py"
    outcome = EntityOutcome("PER", (0, 1), (0, 1), True, False, False)
    record = NerAttackRecord("x", ("Ann", "ran"), ("Anm", "ran"), (1, 0), (1, 0), (1, 0), (0, 0), 1.0, 0.0,
                             "successful", 4, 1, 0, (outcome,), 0.1)
    label_names = ("O", "B-PER", "I-PER")
    return {
        "task": task, "finetune": finetune,
        "evaluate": entity_metric_names() | literal_names(stages, "evaluate"),
        "attack": ({typed(metric.name) for metric in entity_attack_metrics([record], label_names, resamples=10)}
                   | literal_names(stages, "attack")),
        "perturb": ({"entity_f1"} | entity_metric_names("perturbed_entity_") | flip_metric_names()
                    | literal_names(stages, "perturb")),
        "explain": literal_names(stages, "explain") | literal_names(harness / "kinds" / "token" / "explaining.py"),
    }


@pytest.mark.parametrize("label", [SEQUENCE, TOKEN, QA, GENERATION])
def test_each_stage_of_a_built_in_kind_writes_exactly_the_catalogs_metrics(label):
    written = stage_names(label)
    assert set(written) == set(catalog.stage_kinds(label))
    for stage, names in written.items():
        declared = {info.name for info in METRICS if info.stage == stage and label in info.kinds}
        assert names == declared, (f"{label} {stage}: written, not in the catalog {sorted(names - declared)}; in "
                                   f"the catalog, not written {sorted(declared - names)}")


def test_catalog_entries_are_well_formed_and_unique():
    seen = set()
    for info in METRICS:
        assert info.direction in (catalog.HIGHER, catalog.LOWER, catalog.NEITHER), info
        assert info.kinds and set(info.kinds) <= set(catalog.KIND_TITLES), info
        assert info.stage in {stage.name for stage in catalog.STAGE_KINDS}, info
        assert info.meaning.endswith(".") and info.unit, info
        assert info.interval in catalog.INTERVALS, info
        for kind in info.kinds:
            assert (kind, info.stage, info.name) not in seen, f"{info.name} twice for {kind} {info.stage}"
            seen.add((kind, info.stage, info.name))
    assert catalog.find_metric("evaluate", "entity_f1/PER", TOKEN).name == f"entity_f1/{TYPE}"
    assert catalog.find_metric("evaluate", "entity_f1/PER", SEQUENCE) is None
    assert catalog.find_metric("attack", "attack_success_rate", TOKEN).interval == catalog.WILSON
    assert catalog.find_metric("attack", "mean_queries", SEQUENCE).interval == catalog.BOOTSTRAP
    assert catalog.find_metric("attack", "model_forwards", SEQUENCE).interval == catalog.NO_INTERVAL
    assert catalog.find_metric("perturb", "a_plugins_own_metric") is None


def test_what_reports_gates_and_comparisons_name_is_in_the_catalog_with_the_same_direction():
    from harness.core.suite.spec import GATE_SCOPE_ALIASES, GATE_STAGES
    from harness.explain.significance import PER_EXAMPLE_OUTCOMES
    from harness.report.reporting import COLUMN_PLAN, HIGHER_IS_BETTER

    for stage, metric, _, _ in COLUMN_PLAN:
        assert catalog.find_metric(stage, metric.replace("/*", "/PER")) is not None, (stage, metric)
    for stage, metric in PER_EXAMPLE_OUTCOMES:
        assert catalog.find_metric(stage, metric) is not None, (stage, metric)
    stages = {stage.name for stage in catalog.STAGE_KINDS}
    assert set(GATE_STAGES) <= stages and set(GATE_SCOPE_ALIASES.values()) <= stages
    for metric, higher in HIGHER_IS_BETTER.items():
        infos = [info for info in METRICS if info.name == metric]
        assert infos, f"reporting.HIGHER_IS_BETTER names {metric}, which no stage writes"
        expected = catalog.HIGHER if higher else catalog.LOWER
        assert all(info.direction == expected for info in infos), (metric, [info.direction for info in infos])


def test_record_files_the_kinds_write_are_in_the_catalog():
    sources = [*(ROOT / "harness" / "kinds").rglob("*.py"), ROOT / "harness" / "report" / "ratings.py"]
    written = {match for path in sources
               for match in re.findall(r'["}.]([a-z-]+)\.jsonl"', path.read_text(encoding="utf-8"))}
    assert written == {record.name for record in catalog.RECORD_FILES}


# ----------------------------------------------------------------------------------------- docs/metrics.md


def test_docs_metrics_md_is_what_the_catalog_renders():
    page = ROOT / "docs" / "metrics.md"
    assert page.read_text(encoding="utf-8") == catalog.render_markdown(), (
        "docs/metrics.md is out of date: run `python -m harness.report.metric_catalog` in the repository root")
    assert catalog.main(["--check", str(page)]) == 0


def test_the_docs_generator_writes_and_checks_a_page(tmp_path, capsys):
    page = tmp_path / "metrics.md"
    assert catalog.main(["--check", str(page)]) == 1
    assert "out of date" in capsys.readouterr().err
    assert catalog.main([str(page)]) == 0 and catalog.main(["--check", str(page)]) == 0
    text = page.read_text(encoding="utf-8")
    for info in METRICS:
        assert f"| `{info.name}` |" in text
    assert "changed_text_rate" in text and "### perturb" in text and "perturbation stage" not in text


def test_plugins_md_links_the_metrics_page_and_uses_the_stage_names():
    text = (ROOT / "docs" / "plugins.md").read_text(encoding="utf-8")
    assert "metrics.md" in text
    assert "Perturbation stage" not in text


# ------------------------------------------------------------------------------------------ results.json


def test_the_results_schema_matches_the_stored_dataclasses():
    import jsonschema

    from harness.core.types import RESULT_COLUMNS, SCHEMA_VERSION, GateOutcome, StageRecord

    schema = catalog.results_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["properties"]["schema_version"]["const"] == SCHEMA_VERSION
    definitions = schema["$defs"]
    assert tuple(definitions["result_row"]["properties"]) == RESULT_COLUMNS
    assert list(definitions["stage"]["properties"]) == [field.name for field in dataclasses.fields(StageRecord)]
    assert list(definitions["gate"]["properties"]) == [field.name for field in dataclasses.fields(GateOutcome)]


def test_the_schema_ships_as_package_data():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    package_data = pyproject["tool"]["setuptools"]["package-data"]["harness.report"]
    assert any(Path(catalog.RESULTS_SCHEMA).match(pattern) for pattern in package_data)


def test_the_json_reporters_results_json_of_the_sample_run_is_valid(tmp_path):
    import jsonschema

    from harness.testing import check_reporter, sample_run_dir

    [path] = check_reporter("json", sample_run_dir(tmp_path))
    document = json.loads(path.read_text(encoding="utf-8"))
    validator = jsonschema.Draft202012Validator(catalog.results_schema())
    assert not [error.message for error in validator.iter_errors(document)]
    assert None in [row["value"] for row in document["results"]]  # the NaN, as null
    assert {stage["status"] for stage in document["stages"]} == {"computed", "error"}
    broken = json.loads(json.dumps(document))
    broken["results"][0]["value"] = "high"
    del broken["stages"][0]["traceback"]
    broken["gates"][0]["extra"] = 1
    assert len(list(validator.iter_errors(broken))) == 3


# -------------------------------------------------------------------------------------------- sample run


def test_the_sample_run_holds_every_stage_kind_with_its_real_metrics_and_records(tmp_path):
    from harness.core.store import read_run
    from harness.testing import sample_run_dir

    run = read_run(sample_run_dir(tmp_path))
    unknown = [(row.stage, row.metric) for row in run.results if catalog.find_metric(row.stage, row.metric,
                                                                                      SEQUENCE) is None]
    assert not unknown
    assert {row.stage for row in run.results} == set(catalog.stage_kinds(SEQUENCE))
    names = {(row.stage, row.metric) for row in run.results}
    assert {("attack", "clean_accuracy"), ("attack", "accuracy_under_attack"), ("attack", "attack_success_rate"),
            ("attack", "cut_examples"), ("attack", "capped_examples"), ("perturb", "perturbed_accuracy"),
            ("perturb", "flip_rate"), ("perturb", "changed_text_rate"), ("explain", "comprehensiveness_aopc"),
            ("explain", "attribution_rank_correlation")} <= names
    always = [record for record in catalog.RECORD_FILES if SEQUENCE in record.kinds and not record.when]
    for stage in run.stages:
        if stage.status == "computed":
            for record in always:
                if record.stage == stage.kind:
                    assert run.records(stage.stage_id, record.name), (stage.stage_id, record.name)
    assert run.records("full/seed0/finetune", "history")
    [pair] = run.records("full/seed0/explain/integrated-gradients", "stability")
    [successful] = [record for record in run.records("full/seed0/attack/deepwordbug", "attack")
                    if record["status"] == "successful"]
    assert (pair["example_id"], pair["adversarial_text"]) == (successful["example_id"], successful["perturbed_text"])
    with_interval = [row for row in run.results if row.ci_low is not None]
    assert with_interval and all(catalog.find_metric(row.stage, row.metric, SEQUENCE).interval != catalog.NO_INTERVAL
                                 for row in with_interval)
    assert [stage.stage_id for stage in run.stages if stage.status == "error"] == ["lora/seed0/attack/deepwordbug"]


@pytest.mark.parametrize("name", ["json", "html", "markdown", "csv", "junit"])
def test_every_built_in_reporter_renders_the_sample_run(tmp_path, name):
    from harness.testing import check_reporter, sample_run_dir

    paths = check_reporter(name, sample_run_dir(tmp_path))
    text = "".join(path.read_text(encoding="utf-8") for path in paths)
    if name == "html":  # the successful adversarial example's drill-down
        assert "graet" in text
    if name in ("html", "markdown"):  # the perturbation's columns
        assert "Flip rate (keyboard-typos)" in text
