"""Text-generation tasks from the hub's datasets (`wmt16`, `iwslt2017`, `opus100`, `cnn_dailymail`, `xsum`) read from
local tables in the hub's row layout and from hub rows alike (the hub replaced by a DatasetDict built here), and the
`prompted` task, which poses an installed classification task as a prompt. Loading only: models are run elsewhere
(tests/test_generation_kind.py)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from conftest import dump_suite

from harness.cli import main
from harness.core.errors import HarnessError
from harness.core.plugin_manager import make_plugin_manager
from harness.core.registry import Registry
from harness.testing import build_component, check_config, check_task


def registry() -> Registry:
    return Registry(make_plugin_manager())


def build_task(name: str, **params):
    return build_component(registry(), "task", name, params)


def write_rows(path: Path, rows: list[dict]) -> Path:
    """Rows as the hub gives them, in the file's format: JSON lines, parquet (nested columns as structs), or CSV
    with flat columns (`translation.en`, as `Dataset.flatten()` names them)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".parquet":
        import pyarrow
        import pyarrow.parquet

        pyarrow.parquet.write_table(pyarrow.Table.from_pylist(rows), path)
    elif path.suffix == ".csv":
        flat = [{f"{column}.{key}" if isinstance(value, dict) else column: inner
                 for column, value in row.items()
                 for key, inner in (value.items() if isinstance(value, dict) else [(None, value)])} for row in rows]
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(flat[0]))
            writer.writeheader()
            writer.writerows(flat)
    else:
        path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def translation_rows(source: str, target: str, split: str, count: int) -> list[dict]:
    return [{"translation": {source: f"{source} {split} sentence {number}", target: f"{target} {split} {number}"}}
            for number in range(1, count + 1)]


SIZES = {"train": 12, "validation": 4, "test": 5}


def write_translation_copy(folder: Path, languages: tuple[str, str], extension: str,
                           splits: tuple[str, ...] = ("train", "validation", "test")) -> Path:
    for split in splits:
        write_rows(folder / f"{split}{extension}", translation_rows(*languages, split, SIZES[split]))
    return folder


@pytest.fixture(scope="module")
def tiny_gpt2(tmp_path_factory) -> Path:
    from harness.authoring.tiny_generation import tiny_generation_model_dir

    return tiny_generation_model_dir(tmp_path_factory.mktemp("tiny-gpt2") / "gpt2", "gpt2")


# ------------------------------------------------------------------------------------------------ translation


@pytest.mark.parametrize("plugin, params, files, extension, instruction", [
    ("wmt16", {}, ("en", "ro"), ".jsonl", "translate English to Romanian: "),
    ("wmt16", {"source": "ro", "target": "en"}, ("en", "ro"), ".jsonl", "translate Romanian to English: "),
    ("iwslt2017", {"source": "de", "target": "en"}, ("de", "en"), ".parquet", "translate German to English: "),
    ("opus100", {"source": "en", "target": "fr"}, ("en", "fr"), ".csv", "translate English to French: "),
])
def test_translation_tasks_read_the_hubs_rows_from_local_tables(plugin, params, files, extension, instruction,
                                                                tmp_path):
    folder = write_translation_copy(tmp_path / plugin, files, extension)
    data = check_task(build_task(plugin, path=str(folder), **params))
    source, target = params.get("source", "en"), params.get("target", "ro")
    assert data.name == f"{plugin}-{source}-{target}" and data.kind == "text-generation" and data.label_names == ()
    assert (len(data.train), len(data.validation), len(data.test)) == (12, 4, 5)
    assert sorted(example.id for example in data.test) == [f"test-{number}" for number in range(1, 6)]
    example = next(example for example in data.test if example.id == "test-2")
    assert example.input == f"{source} test sentence 2" if source == files[0] else f"{source} test 2"
    assert example.references == ((f"{target} test 2",) if target == files[1] else (f"{target} test sentence 2",))
    setup = example.setup
    assert (setup.instruction, setup.metric, setup.max_new_tokens, setup.template) == (
        instruction, "bleu", 128, "{instruction}{input}")
    assert f"local files {folder}" in data.description


def test_the_languages_choose_the_hub_config_and_what_validate_lists(tmp_path):
    downloads = {(plugin, source, target): build_task(plugin, source=source, target=target).hub_downloads()
                 for plugin, source, target in (("wmt16", "en", "de"), ("wmt16", "tr", "en"),
                                                 ("iwslt2017", "en", "de"), ("iwslt2017", "it", "nl"),
                                                 ("opus100", "en", "de"), ("opus100", "fr", "en"))}
    assert downloads == {
        ("wmt16", "en", "de"): ("dataset wmt/wmt16 (de-en)",), ("wmt16", "tr", "en"): ("dataset wmt/wmt16 (tr-en)",),
        ("iwslt2017", "en", "de"): ("dataset IWSLT/iwslt2017 (iwslt2017-en-de)",),
        ("iwslt2017", "it", "nl"): ("dataset IWSLT/iwslt2017 (iwslt2017-it-nl)",),
        ("opus100", "en", "de"): ("dataset Helsinki-NLP/opus-100 (de-en)",),
        ("opus100", "fr", "en"): ("dataset Helsinki-NLP/opus-100 (en-fr)",)}
    assert build_task("xsum", revision="refs/convert/parquet").hub_downloads() == (
        "dataset EdinburghNLP/xsum @ refs/convert/parquet",)
    assert build_task("cnn_dailymail", path=str(tmp_path)).hub_downloads() == ()


def test_the_hub_route_calls_load_dataset_with_the_tasks_path_config_and_revision(tmp_path, monkeypatch):
    """The hub's rows (a DatasetDict with the Translation feature's dicts) give the task the local copy gives."""
    import datasets

    folder = write_translation_copy(tmp_path / "wmt16", ("en", "ro"), ".jsonl")
    local = build_task("wmt16", path=str(folder)).load(None)
    loaded = datasets.DatasetDict({split: datasets.Dataset.from_list(translation_rows("en", "ro", split, count))
                                   for split, count in SIZES.items()})
    calls = []

    def load_dataset(path, name=None, revision=None):
        calls.append((path, name, revision))
        return loaded

    monkeypatch.setattr("harness.core.resources.hub_reachable", lambda *args, **kwargs: True)
    monkeypatch.setattr(datasets, "load_dataset", load_dataset)
    hub = check_task(build_task("wmt16", revision="abc123"))  # loads twice: the same data each time
    assert calls == [("wmt/wmt16", "ro-en", "abc123")] * 2
    assert (hub.train, hub.validation, hub.test) == (local.train, local.validation, local.test)
    assert "the hub: wmt/wmt16 (ro-en) @ abc123" in hub.description


def test_a_hub_dataset_without_a_validation_split_holds_part_of_train_out(monkeypatch):
    import datasets

    loaded = datasets.DatasetDict({split: datasets.Dataset.from_list(translation_rows("de", "en", split, 20))
                                   for split in ("train", "test")})
    seen = []
    monkeypatch.setattr("harness.tasks.hub.download_from_hub",
                        lambda *args: seen.append(args[1:4]) or (loaded, "Helsinki-NLP/opus-100 (de-en)"))
    data = check_task(build_task("opus100", validation_fraction=0.25))
    assert set(seen) == {("Helsinki-NLP/opus-100", "de-en", None)}
    assert (len(data.train), len(data.validation), len(data.test)) == (15, 5, 20)
    assert "validation = 0.25 of train held out" in data.description
    broken = datasets.DatasetDict({"train": datasets.Dataset.from_list([{"text": "a"}]),
                                   "test": datasets.Dataset.from_list([{"text": "b"}])})
    monkeypatch.setattr("harness.tasks.hub.download_from_hub", lambda *args: (broken, "someone/mirror"))
    with pytest.raises(HarnessError, match="someone/mirror train has no column translation"):
        build_task("opus100", hub_name="someone/mirror").load(None)


# ------------------------------------------------------------------------------------------------ summarisation


def summary_rows(input_column: str, target_column: str, split: str, count: int) -> list[dict]:
    return [{input_column: f"The {split} article number {number} says a lot. It goes on.",
             target_column: f"Article {number} says a lot.", "id": f"{split[:2]}{number:04x}"}
            for number in range(1, count + 1)]


@pytest.mark.parametrize("plugin, columns, extension, splits, max_new_tokens", [
    ("cnn_dailymail", ("article", "highlights"), ".parquet", ("train", "validation", "test"), 128),
    ("xsum", ("document", "summary"), ".jsonl", ("train", "test"), 64),
])
def test_summarisation_tasks_keep_the_datasets_ids(plugin, columns, extension, splits, max_new_tokens, tmp_path):
    for split in splits:
        write_rows(tmp_path / plugin / f"{split}{extension}", summary_rows(*columns, split, SIZES[split]))
    data = check_task(build_task(plugin, path=str(tmp_path / plugin), validation_fraction=0.25))
    assert data.name == plugin and len(data.test) == 5 and len(data.train) + len(data.validation) == \
        12 + (4 if "validation" in splits else 0)
    example = next(example for example in data.test if example.id == "te0003")
    assert example.input == "The test article number 3 says a lot. It goes on."
    assert example.references == ("Article 3 says a lot.",)
    assert (example.setup.instruction, example.setup.metric, example.setup.max_new_tokens) == (
        "Summarize: ", "rougeL", max_new_tokens)
    assert build_task(plugin, path=str(tmp_path / plugin), instruction="summarize: ").load(None).test[0].prompt \
        .startswith("summarize: The test article")


def test_a_hub_task_from_a_relative_path_passes_validate(tiny_gpt2, tmp_path, monkeypatch):
    for split in ("train", "test"):
        write_rows(tmp_path / "suites" / "data" / "xsum" / f"{split}.jsonl",
                   summary_rows("document", "summary", split, SIZES[split]))
    suite = dump_suite({"name": "xsum", "task": {"use": "xsum", "path": "data/xsum", "max_new_tokens": 16},
                        "model": {"source": str(tiny_gpt2), "max_length": 64}, "methods": ["as-is"]},
                       tmp_path / "suites" / "suite.yaml")
    monkeypatch.chdir(tmp_path)
    assert main(["validate", str(suite)]) == 0


# ------------------------------------------------------------------------------------------------ errors


@pytest.mark.parametrize("plugin, rows, extension, expected", [
    ("wmt16", [{"translation": {"en": "a", "ro": "b"}}] * 2 + [{"translation": {"en": "c"}}], ".jsonl",
     r"train\.jsonl line 3: no translation\.ro \(translation has 'en'\)"),
    ("wmt16", [{"translation": {"en": "a", "ro": "b"}}, {"text": "c"}], ".jsonl",
     r"train\.jsonl line 2: no translation\.en \(the row has 'text'\)"),
    ("xsum", [{"document": "a", "summary": "b", "id": "1"}, {"document": "c", "summary": " ", "id": "2"}], ".jsonl",
     r"train\.jsonl line 2: reference 1 is empty"),
    ("cnn_dailymail", [{"article": "a", "highlights": "b", "id": "1"}, {"article": None, "highlights": "c", "id": "2"}],
     ".parquet", r"train\.parquet row 2: the input article is None, not text"),
])
def test_a_malformed_row_is_an_error_naming_the_task_file_and_line(plugin, rows, extension, expected, tmp_path):
    folder = tmp_path / plugin
    write_rows(folder / f"train{extension}", rows)
    write_rows(folder / f"test{extension}", rows[:1])
    with pytest.raises(HarnessError, match=rf"task '{plugin}[-a-z]*': .*{expected}"):
        build_task(plugin, path=str(folder)).load(None)


def test_a_missing_or_doubled_split_file_is_an_error_listing_the_expected_files(tmp_path):
    folder = write_translation_copy(tmp_path / "wmt16", ("en", "ro"), ".jsonl", splits=("train",))
    with pytest.raises(HarnessError) as error:
        build_task("wmt16", path=str(folder)).load(None)
    message = str(error.value)
    assert "task 'wmt16-en-ro'" in message and "has no test file" in message
    assert "train.jsonl, validation.jsonl, test.jsonl" in message and "found: train.jsonl" in message
    write_translation_copy(folder, ("en", "ro"), ".parquet", splits=("test",))
    write_translation_copy(folder, ("en", "ro"), ".jsonl", splits=("test",))
    with pytest.raises(HarnessError, match="has test.jsonl and test.parquet; keep one file for the test split"):
        build_task("wmt16", path=str(folder)).load(None)
    with pytest.raises(HarnessError, match="is not a folder"):
        build_task("wmt16", path=str(folder / "train.jsonl")).load(None)


@pytest.mark.parametrize("plugin, rejects", [
    ("wmt16", [{"target": "xx"}, {"source": "ro", "target": "ro"}, {"source": "de", "target": "ro"},
               {"metric": "blue"}, {"template": "{instruction}"}, {"max_new_tokens": 0}]),
    ("iwslt2017", [{"source": "ar", "target": "de"}, {"target": "es"}]),
    ("opus100", [{"source": "de", "target": "fr"}, {"target": "xx"}]),
    ("cnn_dailymail", [{"metric": "rougeLsum"}, {"validation_fraction": 1.0}, {"path": "/no/such/folder"}]),
    ("xsum", [{"template": "Summary of {text}"}, {"hub_name": " "}]),
])
def test_hub_task_configs_refuse_bad_values_when_validated(plugin, rejects):
    config = check_config(registry(), "task", plugin, {}, rejects=rejects)
    assert config.path is None and config.num_beams == 1 and config.chat_template


def test_a_language_pair_the_dataset_lacks_is_an_error_listing_its_pairs(tiny_gpt2, tmp_path, capsys):
    suite = dump_suite({"name": "bad", "task": {"use": "wmt16", "source": "en", "target": "fr"},
                        "model": {"source": str(tiny_gpt2)}, "methods": ["as-is"]}, tmp_path / "suite.yaml")
    assert main(["validate", str(suite)]) == 2
    error = capsys.readouterr().err
    assert f"{suite}:4:" in error and "source 'en' and target 'fr': the dataset has no such pair" in error
    assert "en->ro" in error and "tr->en" in error


# ------------------------------------------------------------------------------------------------ prompted


def write_local_task(folder: Path, rows: dict[str, list[dict]]) -> dict[str, str]:
    return {split: str(write_rows(folder / f"{split}.jsonl", split_rows)) for split, split_rows in rows.items()}


def sentiment_rows(count: int, labels=("negative", "positive")) -> list[dict]:
    return [{"text": f"{'a fine' if number % 2 else 'a dull'} film, take {number}", "label": labels[number % 2]}
            for number in range(count)]


def test_prompted_poses_a_local_task_with_label_words(tmp_path):
    files = write_local_task(tmp_path, {"train": sentiment_rows(10), "test": sentiment_rows(4)})
    inner = check_task(build_task("local", **files))
    task = build_task("prompted", task="local", task_config=files, choices=["bad", "good"])
    data = check_task(task)
    assert data.name == "local-prompted" and data.kind == "text-generation" and data.label_names == ()
    assert [example.id for example in data.test] == [example.id for example in inner.test]
    for original, posed in zip(inner.test, data.test):
        assert posed.input == original.text and posed.references == (("bad", "good")[original.label],)
    setup = data.test[0].setup
    assert (setup.choices, setup.metric, setup.max_new_tokens) == (("bad", "good"), "accuracy", 8)
    assert setup.instruction == "Classify the text as one of: bad, good.\n"
    assert data.test[0].prompt == f"Classify the text as one of: bad, good.\n{data.test[0].input}\nAnswer:"
    assert "labels as words (negative -> 'bad', positive -> 'good')" in data.description


def test_prompted_choices_default_to_the_label_names_and_index_integer_labels(tmp_path):
    named = write_local_task(tmp_path / "named", {"train": sentiment_rows(10), "test": sentiment_rows(4)})
    data = build_task("prompted", task="local", task_config=named, instruction="").load(None)
    assert data.test[0].setup.choices == ("negative", "positive") and data.test[0].setup.instruction == ""
    assert {example.references[0] for example in data.train} == {"negative", "positive"}
    numbered = write_local_task(tmp_path / "numbered", {"train": sentiment_rows(10, labels=(0, 1)),
                                                         "test": sentiment_rows(4, labels=(0, 1))})
    data = build_task("prompted", task="local", task_config=numbered, choices=["no", "yes"]).load(None)
    assert {(example.input.startswith("a fine"), example.references) for example in data.test} == {
        (True, ("yes",)), (False, ("no",))}
    with pytest.raises(HarnessError, match="has 2 labels .* but 3 label words were given"):
        build_task("prompted", task="local", task_config=numbered, choices=["no", "yes", "maybe"]).load(None)


def test_prompted_joins_a_pairs_texts_with_a_newline(tmp_path):
    rows = [{"premise": f"A man sleeps {number}.", "hypothesis": f"Someone {('rests', 'runs')[number % 2]}.",
             "label": ("entailment", "contradiction")[number % 2]} for number in range(8)]
    files = write_local_task(tmp_path, {"train": rows, "test": rows[:4]})
    data = build_task("prompted", task="local", task_config={**files, "text_column": "premise",
                                                             "text_pair_column": "hypothesis"}).load(None)
    example = next(example for example in data.test if example.input.startswith("A man sleeps 1."))
    assert example.input == "A man sleeps 1.\nSomeone runs." and example.references == ("contradiction",)


def test_prompted_refuses_a_bad_inner_config_an_unknown_task_and_another_kind(tmp_path):
    files = write_local_task(tmp_path, {"train": sentiment_rows(10), "test": sentiment_rows(4)})
    check_config(registry(), "task", "prompted", {"task": "local", "task_config": files}, rejects=[
        {"task": "locl"}, {"task": "squad"}, {"task_config": {"train": files["train"]}},
        {"task_config": {**files, "label_column": 3}}, {"choices": ["only"]}, {"metric": "blue"}])
    _, errors = _build_prompted({"task": "locl", "task_config": files})
    assert "task 'locl' is not installed; did you mean 'local'? Available tasks:" in errors
    _, errors = _build_prompted({"task": "local", "task_config": {"train": files["train"]}})
    assert "task_config for task 'local'" in errors and "requires parameter 'test'" in errors
    _, errors = _build_prompted({"task": "local", "task_config": {**files, "test": str(tmp_path / "none.jsonl")}})
    assert "none.jsonl" in errors and "does not exist" in errors
    _, errors = _build_prompted({"task": "squad"})
    assert "task 'squad' loads extractive-qa data" in errors


def _build_prompted(params: dict) -> tuple[object, str]:
    from harness.core.config import build_config

    component = registry().get("task", "prompted")
    config, errors = build_config(component.config_class, params, {}, None, "task", "prompted", component.plugin)
    return config, "\n".join(str(error) for error in errors)


def test_prompted_reads_its_inner_paths_relative_to_the_suite_and_validates_them(tiny_gpt2, tmp_path, monkeypatch,
                                                                                  capsys):
    write_local_task(tmp_path / "suites" / "data", {"train": sentiment_rows(10), "test": sentiment_rows(4)})
    task = {"use": "prompted", "task": "local",
            "task_config": {"train": "data/train.jsonl", "test": "data/test.jsonl"}}
    suite = {"name": "prompted", "task": task, "model": {"source": str(tiny_gpt2), "max_length": 64},
             "methods": ["as-is"]}
    path = dump_suite(suite, tmp_path / "suites" / "suite.yaml")
    monkeypatch.chdir(tmp_path)
    assert main(["validate", str(path)]) == 0
    task["task_config"]["test"] = "data/tset.jsonl"
    dump_suite(suite, path)
    assert main(["validate", str(path)]) == 2
    error = capsys.readouterr().err
    # At the task_config's line, naming the inner parameter's own line and the file looked for.
    assert f"{path}:6:" in error and f"{path}:7:" in error and str(tmp_path / "suites" / "data" / "tset.jsonl") in error


def test_prompted_lists_what_its_inner_task_downloads():
    assert build_task("prompted", task="sst2").hub_downloads() == ("dataset nyu-mll/glue (sst2)",)


def test_verbalised_task_refuses_what_it_cannot_pose():
    import harness

    setup = harness.GenerationSetup(choices=("no", "yes"), metric="accuracy")
    examples = (harness.Example("a", "x", 0, text_pair="y"), harness.Example("b", "z", 1))
    data = harness.TaskData("pairs", ("no", "yes"), examples, (), examples, text_fields=("p", "h"))
    posed = harness.verbalised_task(data, setup, name="posed")
    assert posed.name == "posed" and [example.input for example in posed.test] == ["x\ny", "z"]
    with pytest.raises(HarnessError, match="2 labels .* but 3 label words"):
        harness.verbalised_task(data, harness.GenerationSetup(choices=("a", "b", "c")))
    with pytest.raises(HarnessError, match="not sequence-classification"):
        harness.verbalised_task(posed, setup)
