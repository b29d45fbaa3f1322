"""Extractive QA (the `extractive-qa` kind) end to end on CPU: a toy SQuAD 2.0 set written here (a name after "The
winner was", a number after "The code is", and questions whose paragraph has no winner) fine-tunes MiniLM through
`harness run`; the evaluate stage reports exact match and F1 with intervals and the answerable / unanswerable
breakdown, and writes the predictions; long contexts are windowed. Every finetuner trains and reloads a QA model.
The tasks `local-qa`, `squad` and `squad_v2` read the same data from files and hub rows, and what QA cannot run yet
is refused at its suite line by `harness validate`."""

from __future__ import annotations

import json
import math
import random
from pathlib import Path

import pytest
from conftest import dump_suite, minilm_dir

from harness.cli import main
from harness.core.store import read_run
from harness.kinds.qa.windows import encode_for_prediction

NAMES = ["Alice", "Bruno", "Chen Wei", "Dmitri", "Elena", "Farah", "Gustav", "Hana", "Ivan Petrov", "Julia", "Kofi",
         "Lena", "Marco", "Nadia", "Oscar", "Priya", "Quentin", "Rosa", "Samir", "Tomas"]
FILLER = ["The weather was mild that day.", "Many people came from nearby villages.", "A band played in the square.",
          "Food stalls lined the main street.", "The event started early in the morning.",
          "Children played near the old fountain.", "Local shops stayed open late.", "It rained briefly at noon."]
METHODS = ("full", "lora", "ia3", "adalora", "prompt-tuning", "prefix-tuning", "frozen")
MAX_LENGTH = 96


def paragraph(rng: random.Random, key: str, answerable: bool = True, long: bool = False) -> dict:
    """A paragraph with a code and (if answerable) a winner, and its two questions in SQuAD 2.0's layout. A long
    one puts the code after every filler sentence twice, far past the first window."""
    name, code = rng.choice(NAMES), str(rng.randint(1000, 9999))
    sentences = rng.sample(FILLER, 3)
    if answerable:
        sentences.insert(rng.randint(0, 3), f"The winner was {name}.")
    if long:
        sentences = FILLER + FILLER + sentences + [f"The code is {code}."]
    else:
        sentences.insert(rng.randint(0, len(sentences)), f"The code is {code}.")
    context = " ".join(sentences)
    winner = ({"id": f"{key}-who", "question": "Who was the winner?", "is_impossible": False,
               "answers": [{"text": name, "answer_start": context.index(f"winner was {name}") + len("winner was ")}]}
              if answerable else
              {"id": f"{key}-who", "question": "Who was the winner?", "is_impossible": True, "answers": []})
    code_question = {"id": f"{key}-code", "question": "What is the code?", "is_impossible": False,
                     "answers": [{"text": code, "answer_start": context.rindex(f"code is {code}") + len("code is ")}]}
    return {"context": context, "qas": [winner, code_question]}


def write_squad(path: Path, count: int, seed: int, long: int = 0) -> Path:
    """`count` paragraphs (every fifth without a winner) and `long` long ones, in SQuAD 2.0's JSON layout."""
    rng = random.Random(seed)
    paragraphs = [paragraph(rng, f"s{seed}-{number}", answerable=number % 5 != 0) for number in range(count)]
    paragraphs += [paragraph(rng, f"s{seed}-long{number}", long=True) for number in range(long)]
    path.write_text(json.dumps({"version": "v2.0", "data": [{"title": "Fair", "paragraphs": paragraphs}]}),
                    encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def qa_files(tmp_path_factory) -> dict[str, Path]:
    directory = tmp_path_factory.mktemp("qa")
    return {"train": write_squad(directory / "train.json", 60, seed=1),
            "test": write_squad(directory / "test.json", 15, seed=2, long=3)}


def qa_suite(files: dict[str, Path], output: Path, **overrides) -> dict:
    suite = {
        "name": "qa",
        "task": {"use": "local-qa", **{split: str(path) for split, path in files.items()}},
        "model": {"source": "minilm", "max_length": MAX_LENGTH},
        "methods": [{"use": "full", "epochs": 3, "batch_size": 16, "learning_rate": 1.0e-4}],
        "reports": ["json", "html", "markdown"],
        "output": str(output),
    }
    suite.update(overrides)
    return suite


@pytest.fixture(scope="module")
def qa_run(tmp_path_factory, qa_files) -> Path:
    directory = tmp_path_factory.mktemp("qa-run")
    path = dump_suite(qa_suite(qa_files, directory / "reports"), directory / "suite.yaml")
    assert main(["validate", str(path)]) == 0
    assert main(["run", str(path), "--no-progress", "--run-id", "one"]) == 0
    return directory / "reports" / "qa" / "one"


def rows(run, stage: str, method: str = "full") -> dict:
    return {row.metric: row for row in run.results if row.stage == stage and row.method == method}


def untrained_f1(examples) -> float:
    """The F1 of MiniLM with a fresh (random) question-answering head: what fine-tuning must beat."""
    from harness.core.seeding import set_seed
    from harness.core.types import ModelSource
    from harness.kinds.loading import load_base_classifier
    from harness.kinds.qa.predictor import QAPredictor
    from harness.kinds.qa.squad_metrics import squad_metrics

    set_seed(0)
    model, tokenizer = load_base_classifier(ModelSource("minilm", str(minilm_dir()), MAX_LENGTH), (),
                                            kind="extractive-qa")
    predictions = QAPredictor(model.eval(), tokenizer, "cpu", MAX_LENGTH).answer_examples(examples, True)
    metrics = squad_metrics({example.id: prediction.text for example, prediction in zip(examples, predictions)},
                            {example.id: [answer.text for answer in example.answers] for example in examples})
    return next(metric.value for metric in metrics if metric.name == "f1")


def test_minilm_learns_extractive_qa_through_harness_run(qa_run, qa_files):
    from harness.kinds.qa.reading import read_squad_json

    run = read_run(qa_run)
    assert run.manifest["task_kind"] == "extractive-qa" and run.manifest["label_names"] == []
    assert {stage.stage_id: stage.status for stage in run.stages if stage.kind in ("finetune", "evaluate")} == {
        "full/seed0/finetune": "computed", "full/seed0/evaluate": "computed"}
    evaluation = rows(run, "evaluate")
    for name in ("exact_match", "f1", "has_answer_exact_match", "has_answer_f1", "no_answer_exact_match",
                 "no_answer_f1"):
        row = evaluation[name]
        assert math.isfinite(row.value) and row.ci_low is not None and row.ci_low <= row.value <= row.ci_high, name
    test = read_squad_json(qa_files["test"])
    assert evaluation["no_answer_examples"].value == 3 and evaluation["exact_match"].n == len(test) == 36
    assert evaluation["f1"].value > 0.5, evaluation["f1"].value
    assert evaluation["f1"].value > untrained_f1(test) + 0.3
    finetune = rows(run, "finetune")
    assert 0 <= finetune["best_validation_f1"].value <= 1 and "train_f1" in finetune
    records = run.records("full/seed0/evaluate", "predictions")
    assert sorted(record["example_id"] for record in records) == sorted(example.id for example in test)
    record = records[0]
    assert set(record) == {"example_id", "question", "context", "gold_answers", "predicted_answer", "predicted_start",
                           "predicted_end", "score", "null_score", "exact_match", "f1"}
    contexts = {example.id: example.context for example in test}
    for record in records:
        assert contexts[record["example_id"]][record["predicted_start"]:record["predicted_end"]] == (
            record["predicted_answer"])
    for name, text in (("scorecard.html", "Exact match"), ("summary.md", "| F1 |"), ("results.json", '"f1"')):
        assert text in (qa_run / name).read_text(encoding="utf-8"), name


def test_a_long_context_is_windowed_and_its_answer_found(qa_run, qa_files):
    """The long test paragraphs hold their code past the first window: the model finds it in a later one."""
    from transformers import AutoTokenizer

    from harness.kinds.qa.reading import read_squad_json

    long_examples = [example for example in read_squad_json(qa_files["test"])
                     if "-long" in example.id and example.id.endswith("-code")]
    tokenizer = AutoTokenizer.from_pretrained(str(minilm_dir()))
    assert len(tokenizer(long_examples[0].context)["input_ids"]) > MAX_LENGTH
    windows = encode_for_prediction(tokenizer, [example.question for example in long_examples],
                                    [example.context for example in long_examples], MAX_LENGTH, MAX_LENGTH // 3)
    for number, example in enumerate(long_examples):
        own = [window for window, index in enumerate(windows.example_index) if index == number]
        first_window_ends = max(offset[1] for offset in windows.offsets[own[0]] if offset is not None)
        assert len(own) >= 2 and first_window_ends < example.answers[0].start  # the answer is past the first window
    records = {record["example_id"]: record for record in read_run(qa_run).records("full/seed0/evaluate",
                                                                                    "predictions")}
    for example in long_examples:
        assert records[example.id]["predicted_answer"] == example.answers[0].text, records[example.id]
        assert records[example.id]["predicted_start"] == example.answers[0].start


@pytest.fixture(scope="module")
def tiny_qa_data(tmp_path_factory):
    from harness.kinds.qa.tasks import local_qa_task

    directory = tmp_path_factory.mktemp("tiny-qa")
    return local_qa_task("toy-qa", {"train": write_squad(directory / "train.json", 12, seed=3),
                                    "test": write_squad(directory / "test.json", 3, seed=4, long=1)}, 0.2, 0)


def test_a_model_whose_forward_was_wrapped_keeps_its_token_type_ids(tiny_model_dir):
    """Under transformers 5 accept_prefix_key_values replaces a BERT's forward with a **kwargs wrapper; the tokenizer
    must still make token type ids (without them a reloaded LoRA QA model read the question and context as one
    segment and answered with other scores than the model that trained)."""
    from transformers import AutoModelForQuestionAnswering, AutoTokenizer

    from harness.modeling.models import align_tokenizer_with_model

    model = AutoModelForQuestionAnswering.from_pretrained(tiny_model_dir)
    model.forward = lambda **inputs: None  # what a cache-adapting wrapper looks like to inspect.signature
    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    align_tokenizer_with_model(tokenizer, model)
    assert "token_type_ids" in tokenizer("a question", "a context")


@pytest.mark.parametrize("method", METHODS)
def test_every_finetuner_trains_and_reloads_a_qa_model(method, tiny_qa_data, tiny_model_dir, tmp_path,
                                                       monkeypatch):
    """The answers of the model in memory after training and of the model reloaded from what the finetuner saved
    agree (a LoRA model merged for inference included)."""
    import harness.training.train
    from harness.core.plugin_manager import make_plugin_manager
    from harness.core.registry import Registry
    from harness.core.runner import make_progress
    from harness.core.types import Budgets, ModelSource, StageEnvironment, TrainRequest
    from harness.kinds.loading import load_trained_classifier
    from harness.kinds.qa.predictor import QAPredictor

    fitted = {}
    original_fit = harness.training.train.fit

    def capturing_fit(model, *args, **kwargs):
        fitted["model"], fitted["tokenizer"] = model, args[0]
        return original_fit(model, *args, **kwargs)

    monkeypatch.setattr(harness.training.train, "fit", capturing_fit)
    component = Registry(make_plugin_manager()).get("finetuner", method)
    request = TrainRequest(ModelSource("tiny", str(tiny_model_dir), 64), tiny_qa_data, Budgets(), tmp_path / "model",
                           StageEnvironment("cpu", 0, tmp_path, make_progress(False)))
    trained = component.factory(component.config_class(epochs=1, batch_size=8)).train(request)
    assert 0 < trained.trainable_parameters <= trained.total_parameters
    assert (trained.adapter_of is None) == (method in ("full", "frozen"))
    assert len(trained.history) == 1 and trained.history[0].validation_accuracy is not None
    test = tiny_qa_data.test
    in_memory = QAPredictor(fitted["model"], fitted["tokenizer"], "cpu", 64, 8).answer_examples(test, True)
    reloaded = load_trained_classifier(trained, (), "cpu", 64, 8, kind="extractive-qa").predictor.answer_examples(
        test, True)
    for before, after in zip(in_memory, reloaded):
        assert (before.text, before.start) == (after.text, after.start), method
        assert math.isclose(before.null_score, after.null_score, abs_tol=1e-4), method


def test_every_finetuner_runs_the_qa_stages_with_budgets(tiny_model_dir, qa_files, tmp_path):
    suite = qa_suite(qa_files, tmp_path / "reports", model={"source": str(tiny_model_dir), "max_length": 64},
                     methods=[{"use": method, "epochs": 1, "batch_size": 16} for method in METHODS],
                     budgets={"max_train_examples": 40, "max_eval_examples": 12}, reports=["json", "csv", "junit"])
    path = dump_suite(suite, tmp_path / "suite.yaml")
    assert main(["run", str(path), "--no-progress", "--run-id", "tiny"]) == 0
    run = read_run(tmp_path / "reports" / "qa" / "tiny")
    assert {stage.status for stage in run.stages} == {"computed"}
    assert len([stage for stage in run.stages if stage.kind == "evaluate"]) == len(METHODS)
    task = {row.metric: row.value for row in run.results if row.stage == "task"}
    assert task["train_examples"] == 40 and task["test_examples"] == 12
    for method in METHODS:
        assert rows(run, "evaluate", method)["exact_match"].n == 12, method


# ------------------------------------------------------------------------------------------------ tasks


def build_task(name: str, **params):
    from harness.core.plugin_manager import make_plugin_manager
    from harness.core.registry import Registry
    from harness.testing import build_component

    return build_component(Registry(make_plugin_manager()), "task", name, params)


def test_local_qa_reads_tables_and_keeps_ids_apart(tmp_path):
    from harness.testing import check_task

    for split, count in (("train", 8), ("test", 3)):
        lines = [{"question": "What is the code?", "context": f"The code is {1000 + number}.",
                  "answer": str(1000 + number)} for number in range(count)]
        lines.append({"question": "Who was the winner?", "context": "The code is 7.", "answer": ""})
        (tmp_path / f"{split}.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
    task = build_task("local-qa", train=str(tmp_path / "train.jsonl"), test=str(tmp_path / "test.jsonl"))
    data = check_task(task)
    assert data.kind == "extractive-qa" and data.label_names == () and len(data.validation) == 1
    assert {example.id for example in data.test} == {"test:1", "test:2", "test:3", "test:4"}
    assert sum(example.is_impossible for example in data.test) == 1
    assert "ids prefixed with their split" in data.description


def test_a_misplaced_answer_is_refused_at_validate_with_its_file_line(qa_files, tmp_path, capsys):
    document = json.loads(qa_files["train"].read_text(encoding="utf-8"))
    document["data"][0]["paragraphs"][1]["qas"][1]["answers"][0]["answer_start"] += 2
    broken = tmp_path / "train.json"
    broken.write_text(json.dumps(document, indent=1), encoding="utf-8")
    path = dump_suite(qa_suite({**qa_files, "train": broken}, tmp_path / "reports"), tmp_path / "suite.yaml")
    assert main(["validate", str(path)]) == 2
    error = capsys.readouterr().err
    assert f"{broken} line" in error and "the context holds" in error and f"{path}:" in error


@pytest.mark.parametrize("plugin, files", [("squad", ("train-v1.1.json", "dev-v1.1.json")),
                                           ("squad_v2", ("train-v2.0.json", "dev-v2.0.json"))])
def test_squad_tasks_read_squads_files_and_hub_rows_alike(plugin, files, qa_files, tmp_path, monkeypatch):
    import datasets

    from harness.testing import check_task

    folder = tmp_path / "squad"
    folder.mkdir()
    for name, source in zip(files, (qa_files["train"], qa_files["test"])):
        (folder / name).write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
    local = check_task(build_task(plugin, path=str(folder)))
    assert local.name == plugin and local.kind == "extractive-qa" and len(local.test) == 36
    assert len(local.train) + len(local.validation) == 120 and len(local.validation) == 12

    def hub_split(path: Path) -> datasets.Dataset:
        from harness.kinds.qa.reading import read_squad_json

        return datasets.Dataset.from_list([
            {"id": example.id, "title": example.title, "context": example.context, "question": example.question,
             "answers": {"text": [answer.text for answer in example.answers],
                         "answer_start": [answer.start for answer in example.answers]}}
            for example in reversed(read_squad_json(path))])

    loaded = datasets.DatasetDict({"train": hub_split(qa_files["train"]), "validation": hub_split(qa_files["test"])})
    monkeypatch.setattr("harness.tasks.hub.download_from_hub", lambda *args: (loaded, f"rajpurkar/{plugin}"))
    hub = build_task(plugin).load(None)
    assert (hub.train, hub.validation, hub.test) == (local.train, local.validation, local.test)
    assert "the hub: rajpurkar/" in hub.description


# ------------------------------------------------------------------------------------------------ refusals


@pytest.mark.parametrize("overrides, message", [
    pytest.param({"attacks": ["deepwordbug"]}, "attack 'deepwordbug' attacks a classifier's label",
                 marks=pytest.mark.textattack),
    ({"attacks": ["gradient-swap"]}, "attack 'gradient-swap' attacks a classifier's label"),
    ({"attacks": ["ner-greedy"]}, "attack 'ner-greedy' attacks a classifier's label"),
    ({"perturbations": ["ner-typos"]}, "perturbation 'ner-typos'"),
    ({"explainers": ["saliency"]}, "explainer 'saliency' explains classification only"),
    ({"judges": ["similarity"]}, "judge 'similarity': judges of adversarial examples judge text attacks"),
    ({"methods": [{"use": "full", "augment": {"use": "keyboard-typos"}}]},
     "`augment:` (training on augmented copies) is not supported for extractive QA yet"),
    ({"methods": [{"use": "full", "adversarial": {"use": "gradient-swap"}}]},
     "adversarial training is not supported for extractive QA yet"),
])
def test_what_cannot_serve_qa_is_refused_by_validate_at_its_line(qa_files, tmp_path, capsys, overrides, message):
    path = dump_suite(qa_suite(qa_files, tmp_path / "reports", **overrides), tmp_path / "suite.yaml")
    assert main(["validate", str(path)]) == 2
    error = capsys.readouterr().err
    assert message in error and "extractive question answering (QA)" in error
    # At the entry's line: within its section, not at the top of the suite.
    key = next(iter(overrides))
    line = next(number for number, text in enumerate(path.read_text().splitlines(), 1) if text.startswith(f"{key}:"))
    assert any(f"{path}:{line + offset}:" in error for offset in range(1, 5)), error
    assert main(["run", str(path), "--no-progress"]) == 2
    assert not (tmp_path / "reports").exists()  # nothing loaded, nothing trained


def test_local_qa_takes_some_articles_of_one_squad_file_for_each_split(tmp_path):
    from harness.kinds.qa.tasks import local_qa_task, parse_articles

    articles = []
    for number in range(5):
        path = write_squad(tmp_path / f"a{number}.json", 3, seed=10 + number)
        article = json.loads(path.read_text())["data"][0]
        articles.append({**article, "title": f"Article {number + 1}"})
    both = tmp_path / "five.json"
    both.write_text(json.dumps({"version": "v2.0", "data": articles}), encoding="utf-8")
    assert parse_articles("1-3") == (1, 2, 3) and parse_articles("4,5") == (4, 5)
    assert parse_articles("2, 1-2") == (2, 1)
    for bad in ("0", "3-1", "a", "", "1-"):
        with pytest.raises(ValueError, match="article numbers from 1"):
            parse_articles(bad)
    data = local_qa_task("slice", {"train": both, "test": both}, 0.0, 0, {"train": "1-3", "test": "4-5"})
    assert {example.title for example in data.train} == {"Article 1", "Article 2", "Article 3"}
    assert {example.title for example in data.test} == {"Article 4", "Article 5"}
    assert len(data.train) == 18 and len(data.test) == 12
    answerable = local_qa_task("slice", {"train": both, "test": both}, 0.0, 0, {"train": "1-3", "test": "4-5"},
                               answerable_only=True)
    assert [example.id for example in answerable.test] == [example.id for example in data.test
                                                           if not example.is_impossible]
    assert all(example.answers for split in (answerable.train, answerable.test) for example in split)


def test_articles_past_the_file_or_of_a_table_are_refused_at_validate(qa_files, tmp_path, capsys):
    path = dump_suite(qa_suite({**qa_files, "test_articles": "2-3"}, tmp_path / "reports"), tmp_path / "suite.yaml")
    assert main(["validate", str(path)]) == 2
    assert "articles '2-3', but the file has 1 articles" in capsys.readouterr().err
    table = tmp_path / "test.jsonl"
    table.write_text(json.dumps({"question": "Who?", "context": "Ann won.", "answer": "Ann"}) + "\n")
    path = dump_suite(qa_suite({**qa_files, "test": table, "test_articles": "1"}, tmp_path / "reports"),
                      tmp_path / "suite2.yaml")
    assert main(["validate", str(path)]) == 2
    assert "test_articles: only a SQuAD JSON file has articles" in capsys.readouterr().err


def test_a_hub_dataset_without_a_split_or_column_is_an_error_saying_what_it_has(monkeypatch):
    import datasets

    from harness.core.errors import HarnessError
    from harness.tasks.hub import hub_splits

    hub = datasets.DatasetDict({"train": datasets.Dataset.from_dict({"question": ["q"], "context": ["c"]})})
    monkeypatch.setattr("harness.tasks.hub.download_from_hub", lambda *args: (hub, "someone/qa"))
    with pytest.raises(HarnessError, match=r"someone/qa has no 'validation' split \(it has train\)"):
        hub_splits("t", "someone/qa", None, None, "", {"test": "validation"}, ("question",), "")
    with pytest.raises(HarnessError, match=r"someone/qa train has no column answers \(its columns: question, "
                                           r"context\); use another"):
        hub_splits("t", "someone/qa", None, None, "", {"train": "train"}, ("question", "answers"), "use another")
    [(split, dataset, origin)], shown = hub_splits("t", "someone/qa", None, None, "", {"train": "train"},
                                                   ("question",), "")
    assert (split, dataset.num_rows, origin, shown) == ("train", 1, "someone/qa train", "someone/qa")
