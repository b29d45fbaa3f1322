"""Bring your own model (issue 21): a model trained elsewhere is evaluated, attacked, explained and gated as it is,
beside fine-tuned ones; its labels map onto the task's by name or `label_map:`; stages follow the model's content."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from conftest import dump_suite, minilm_dir, tiny_suite

from harness.cli import main
from harness.core.files import read_jsonl
from harness.core.store import read_run


def run_suite(suite: dict, path: Path, *arguments: str) -> tuple[int, Path]:
    code = main(["run", str(dump_suite(suite, path)), "--no-progress", *arguments])
    output = Path(suite["output"]) / suite.get("name", path.stem)
    runs = sorted(output.iterdir(), key=lambda run: (run / "manifest.json").stat().st_mtime_ns)
    return code, runs[-1]


def stage_status(run_dir: Path) -> dict[str, str]:
    return {stage.stage_id: stage.status for stage in read_run(run_dir).stages}


def trained_model_dir(run_dir: Path, method: str = "full") -> Path:
    """The model directory a fine-tuned method's stage saved (in the stage cache)."""
    run = read_run(run_dir)
    [stage] = [stage for stage in run.stages if stage.stage_id == f"{method}/seed0/finetune"]
    return Path(run.manifest["cache_dir"]) / "finetune" / stage.key / "model"


def as_is_suite(suite: dict, output: Path, **model) -> dict:
    """`suite` with its model and methods replaced by one model tested as is (named "mine")."""
    checked = {**suite, "output": str(output), "models": [{"name": "mine", "as_is": True, "max_length": 48, **model}]}
    del checked["model"], checked["methods"]
    return checked


def results(run_dir: Path, stage: str) -> dict[tuple[str, str], float]:
    return {(row.method, row.metric): row.value for row in read_run(run_dir).results if row.stage == stage}


@pytest.fixture(scope="module")
def fine_tuned(tmp_path_factory, sst2_files):
    """MiniLM fine-tuned (full) on the SST-2 fixture, attacked with pruthi: the reference run."""
    directory = tmp_path_factory.mktemp("fine-tuned")
    suite = tiny_suite(minilm_dir(), sst2_files, directory / "reports", methods=[{"use": "full", "epochs": 1}],
                       attacks=["pruthi"], explainers=[], budgets={"max_attack_examples": 6})
    suite["model"]["max_length"] = 64
    code, run_dir = run_suite(suite, directory / "suite.yaml")
    assert code == 0
    return suite, run_dir


@pytest.mark.textattack
def test_a_saved_model_evaluated_as_is_gives_the_fine_tuned_methods_numbers(fine_tuned, tmp_path):
    reference_suite, reference = fine_tuned
    model_dir = shutil.copytree(trained_model_dir(reference), tmp_path / "my-model")
    code, run_dir = run_suite(as_is_suite(reference_suite, tmp_path / "reports", source=str(model_dir), max_length=64),
                              tmp_path / "suite.yaml")
    assert code == 0
    status = stage_status(run_dir)
    assert status["as-is/seed0/finetune"] == "computed" and status["as-is/seed0/evaluate"] == "computed"
    before, after = results(reference, "evaluate"), results(run_dir, "evaluate")
    assert after[("as-is", "accuracy")] == before[("full", "accuracy")]
    assert after[("as-is", "macro_f1")] == before[("full", "macro_f1")]
    same = ("example_id", "prediction", "confidence")
    assert ([{key: row[key] for key in same} for row in read_jsonl(run_dir / "records" /
                                                                    "as-is_seed0_evaluate.predictions.jsonl")]
            == [{key: row[key] for key in same} for row in read_jsonl(reference / "records" /
                                                                       "full_seed0_evaluate.predictions.jsonl")])
    volatile = ("seconds",)
    attacked = [{key: value for key, value in row.items() if key not in volatile}
                for row in read_jsonl(run_dir / "records" / "as-is_seed0_attack_pruthi.attack.jsonl")]
    assert attacked == [{key: value for key, value in row.items() if key not in volatile}
                        for row in read_jsonl(reference / "records" / "full_seed0_attack_pruthi.attack.jsonl")]
    finetune = results(run_dir, "finetune")
    assert finetune[("as-is", "trainable_parameters")] == 0 and finetune[("as-is", "total_parameters")] > 20e6


@pytest.mark.textattack
def test_labels_in_another_order_or_under_other_names_are_mapped_onto_the_tasks(fine_tuned, tmp_path):
    """The same model saved with its two outputs swapped (and renamed) gives the same predictions."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    reference_suite, reference = fine_tuned
    source = trained_model_dir(reference)
    model = AutoModelForSequenceClassification.from_pretrained(source)
    with torch.no_grad():
        model.classifier.weight.copy_(model.classifier.weight.flip(0))
        model.classifier.bias.copy_(model.classifier.bias.flip(0))
    model.config.id2label = {0: "POS", 1: "NEG"}
    model.config.label2id = {"POS": 0, "NEG": 1}
    model.save_pretrained(tmp_path / "swapped")
    AutoTokenizer.from_pretrained(source).save_pretrained(tmp_path / "swapped")
    suite = {**reference_suite, "output": str(tmp_path / "reports"), "attacks": [],
             "models": [{"name": "swapped", "source": str(tmp_path / "swapped"), "as_is": True, "max_length": 64,
                         "label_map": {"NEG": "0", "POS": "1"}}]}
    del suite["model"], suite["methods"]
    code, run_dir = run_suite(suite, tmp_path / "suite.yaml")
    assert code == 0
    predictions = [(row["example_id"], row["prediction"]) for row in
                   read_jsonl(run_dir / "records" / "as-is_seed0_evaluate.predictions.jsonl")]
    assert predictions == [(row["example_id"], row["prediction"]) for row in
                           read_jsonl(reference / "records" / "full_seed0_evaluate.predictions.jsonl")]


def write_head_config(directory: Path, tiny_model_dir: Path, **changes) -> Path:
    shutil.copytree(tiny_model_dir, directory)
    config = json.loads((directory / "config.json").read_text(encoding="utf-8"))
    config.update(changes)
    (directory / "config.json").write_text(json.dumps(config), encoding="utf-8")
    return directory


@pytest.mark.parametrize("changes, expected", [
    ({"id2label": {"0": "spam", "1": "ham"}, "architectures": ["BertForSequenceClassification"]},
     "its label 'spam' matches no task label (the model's labels are spam, ham; the task's are 0, 1); "
     "map them with `label_map:`"),
    ({"id2label": {"0": "negative", "1": "neutral", "2": "positive"},
      "architectures": ["BertForSequenceClassification"]},
     "its head has 3 outputs but the task has 2 labels"),
    ({"architectures": ["BertForTokenClassification"]},
     "its head is BertForTokenClassification, not a SequenceClassification head"),
])
def test_a_model_that_cannot_serve_the_task_is_refused_at_its_line_before_anything_runs(
        tmp_path, tiny_model_dir, sst2_files, capsys, changes, expected):
    model_dir = write_head_config(tmp_path / "model", tiny_model_dir, **changes)
    suite = tiny_suite(tiny_model_dir, sst2_files, tmp_path / "reports", attacks=[], explainers=[])
    suite["models"] = [{"source": str(tiny_model_dir)}, {"name": "theirs", "source": str(model_dir), "as_is": True}]
    del suite["model"]
    path = dump_suite(suite, tmp_path / "suite.yaml")
    capsys.readouterr()
    assert main(["run", str(path), "--no-progress"]) == 2
    error = capsys.readouterr().err
    line = next(number for number, text in enumerate(path.read_text().splitlines(), 1) if "name: theirs" in text)
    assert f"suite.yaml:{line}" in error and f"model 'theirs' (as is): {expected}" in error
    assert not (tmp_path / "reports" / ".stage-cache" / "finetune").exists()  # nothing trained first


@pytest.mark.parametrize("damage, expected", [
    ("pickle", "has only pickle checkpoints (pytorch_model.bin)"),
    ("code", "ships its own Python code (config.json auto_map: my_model.MyModel)"),
])
def test_pickle_only_or_custom_code_models_are_refused_at_validation(tmp_path, tiny_model_dir, sst2_files, capsys,
                                                                     damage, expected):
    model_dir = shutil.copytree(tiny_model_dir, tmp_path / "model")
    if damage == "pickle":
        (model_dir / "model.safetensors").rename(model_dir / "pytorch_model.bin")
    else:
        config = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
        config["auto_map"] = {"AutoModelForSequenceClassification": "my_model.MyModel"}
        (model_dir / "config.json").write_text(json.dumps(config), encoding="utf-8")
    suite = tiny_suite(tiny_model_dir, sst2_files, tmp_path / "reports", attacks=[], explainers=[])
    suite["models"] = [{"name": "theirs", "source": str(model_dir), "as_is": True}]
    del suite["model"], suite["methods"]
    path = dump_suite(suite, tmp_path / "suite.yaml")
    assert main(["validate", str(path)]) == 2
    assert expected in capsys.readouterr().err
    assert main(["run", str(path), "--no-progress"]) == 2
    assert not (tmp_path / "reports").exists()


def test_overwriting_a_model_directory_invalidates_every_stage_that_used_it(tmp_path, tiny_model_dir, sst2_files):
    from safetensors.torch import load_file, save_file

    # One directory, the base of `full` and (with a classification head in its config) a model tested as is.
    base = write_head_config(tmp_path / "base", tiny_model_dir, architectures=["BertForSequenceClassification"])
    suite = tiny_suite(base, sst2_files, tmp_path / "reports", methods=[{"use": "full", "epochs": 1}], attacks=[],
                       explainers=[])
    suite["models"] = [{"source": str(base)}, {"name": "theirs", "source": str(base), "as_is": True,
                                                "label_map": {"LABEL_0": "0", "LABEL_1": "1"}}]
    del suite["model"]
    code, first = run_suite(suite, tmp_path / "suite.yaml")
    assert code == 0 and set(stage_status(first).values()) == {"computed"}
    code, second = run_suite(suite, tmp_path / "suite.yaml")
    assert code == 0 and set(model_stages(second).values()) == {"cached"}
    assert set(model_stages(second)) == {"base/full/seed0/finetune", "base/full/seed0/evaluate",
                                         "theirs/as-is/seed0/finetune", "theirs/as-is/seed0/evaluate"}
    weights = load_file(base / "model.safetensors")
    save_file({name: tensor + 0.01 for name, tensor in weights.items()}, base / "model.safetensors",
              metadata={"format": "pt"})
    code, third = run_suite(suite, tmp_path / "suite.yaml")
    assert code == 0 and set(model_stages(third).values()) == {"computed"}


def model_stages(run_dir: Path) -> dict[str, str]:
    """Status of the stages of the run's cells (the task and report stages run every time)."""
    return {stage_id: status for stage_id, status in stage_status(run_dir).items()
            if stage_id != "task" and not stage_id.startswith("report/")}


def test_several_models_are_compared_side_by_side(tmp_path, tiny_model_dir, sst2_files):
    other = shutil.copytree(tiny_model_dir, tmp_path / "other")
    suite = tiny_suite(tiny_model_dir, sst2_files, tmp_path / "reports", methods=[{"use": "full", "epochs": 1}],
                       attacks=[], explainers=[], reports=["json", "html", "csv", "markdown", "junit"],
                       gates=[{"metric": "accuracy", "op": ">=", "threshold": 0.0, "method": "full"},
                              {"metric": "accuracy", "op": ">=", "threshold": 0.0, "method": "second / full"}])
    suite["models"] = [{"name": "first", "source": str(tiny_model_dir)}, {"name": "second", "source": str(other)}]
    del suite["model"]
    code, run_dir = run_suite(suite, tmp_path / "suite.yaml")
    assert code == 0
    rows = [(row.model, row.method) for row in read_run(run_dir).results
            if row.stage == "evaluate" and row.metric == "accuracy"]
    assert rows == [("first", "first / full"), ("second", "second / full")]
    assert set(stage_status(run_dir)) >= {"first/full/seed0/finetune", "second/full/seed0/evaluate"}
    for name in ("scorecard.html", "comparison.csv", "summary.md", "junit.xml"):
        text = (run_dir / name).read_text(encoding="utf-8")
        assert "first / full" in text and "second / full" in text, name
    gates = json.loads((run_dir / "gates.json").read_text(encoding="utf-8"))
    assert [gate["passed"] for gate in gates] == [True, True]
    assert main(["gate", str(run_dir)]) == 0  # the stored gates, naming a method and a "model / method"


def test_a_token_classifier_evaluated_as_is_gives_its_fine_tune_runs_entity_f1(tmp_path, tiny_model_dir):
    sentences = [[("Alice", "B-PER"), ("visited", "O"), ("Paris", "B-LOC"), ("today", "O")],
                 [("Bob", "B-PER"), ("Smith", "I-PER"), ("left", "O"), ("Berlin", "B-LOC")]]
    conll = "\n\n".join("\n".join(f"{word} {tag}" for word, tag in sentence) for sentence in sentences * 6) + "\n"
    for split in ("train", "test"):
        (tmp_path / f"{split}.conll").write_text(conll, encoding="utf-8")
    suite = {"name": "ner", "output": str(tmp_path / "reports"),
             "task": {"use": "local-conll", "train": str(tmp_path / "train.conll"),
                      "test": str(tmp_path / "test.conll")},
             "model": {"source": str(tiny_model_dir), "max_length": 32},
             "methods": [{"use": "full", "epochs": 2, "batch_size": 4}],
             "perturbations": ["ner-typos"], "explainers": []}
    code, reference = run_suite(suite, tmp_path / "suite.yaml")
    assert code == 0
    model_dir = shutil.copytree(trained_model_dir(reference), tmp_path / "tagger")
    code, run_dir = run_suite(as_is_suite(suite, tmp_path / "as-is-reports", source=str(model_dir), max_length=32),
                              tmp_path / "as-is.yaml")
    assert code == 0
    before, after = results(reference, "evaluate"), results(run_dir, "evaluate")
    assert after[("as-is", "entity_f1")] == before[("full", "entity_f1")]
    assert after[("as-is", "token_accuracy")] == before[("full", "token_accuracy")]
    def comparable(value: float) -> object:
        return "nan" if value != value else value

    perturbed = {metric: comparable(value) for (_, metric), value in results(run_dir, "perturb").items()}
    assert perturbed == {metric: comparable(value) for (_, metric), value in results(reference, "perturb").items()}


@pytest.mark.textattack  # the example attacks with DeepWordBug
def test_the_ci_example_suite_validates_with_the_model_directory_it_is_given(tmp_path, tiny_model_dir, monkeypatch,
                                                                             capsys):
    model_dir = write_head_config(tmp_path / "model", tiny_model_dir, architectures=["BertForSequenceClassification"])
    monkeypatch.setenv("MODEL_DIR", str(model_dir))
    suite = Path(__file__).resolve().parents[1] / "docs" / "ci" / "gate-trained-model.yaml"
    assert main(["validate", str(suite)]) == 0, capsys.readouterr().err


@pytest.fixture
def trained_tiny(tmp_path, tiny_model_dir, sst2_files):
    """The tiny BERT fine-tuned in full and with LoRA: (suite, run directory)."""
    suite = tiny_suite(tiny_model_dir, sst2_files, tmp_path / "reports", attacks=[], explainers=[],
                       methods=[{"use": "full", "epochs": 1}, {"use": "lora", "epochs": 1}])
    code, run_dir = run_suite(suite, tmp_path / "suite.yaml")
    assert code == 0
    return suite, run_dir


def test_a_peft_adapter_is_tested_as_is_on_its_base(trained_tiny, tmp_path, tiny_model_dir):
    suite, reference = trained_tiny
    adapter = shutil.copytree(trained_model_dir(reference, "lora"), tmp_path / "adapter")
    assert (adapter / "adapter_config.json").is_file() and not (adapter / "config.json").is_file()
    base = shutil.copytree(tiny_model_dir, tmp_path / "base")
    as_is = as_is_suite(suite, tmp_path / "as-is", source=str(adapter), base=str(base))
    code, run_dir = run_suite(as_is, tmp_path / "as-is.yaml")
    assert code == 0
    assert results(run_dir, "evaluate")[("as-is", "accuracy")] == results(reference, "evaluate")[("lora", "accuracy")]
    # The adapter's predictions depend on its base: new base weights are a new model.
    from safetensors.torch import load_file, save_file

    weights = load_file(base / "model.safetensors")
    save_file({name: tensor * 1.01 for name, tensor in weights.items()}, base / "model.safetensors",
              metadata={"format": "pt"})
    code, again = run_suite(as_is, tmp_path / "as-is.yaml")
    assert code == 0 and set(model_stages(again).values()) == {"computed"}


def test_a_hub_model_is_keyed_on_its_commit_and_served_from_the_local_hub_cache(trained_tiny, tmp_path, monkeypatch):
    """No network here: a hub id resolves through a local hub cache laid out as huggingface_hub writes it."""
    from huggingface_hub import constants

    from harness.modeling.fingerprint import hub_commit

    suite, reference = trained_tiny
    commit = "0123456789abcdef0123456789abcdef01234567"
    repository = tmp_path / "hub" / "models--someone--tiny-sentiment"
    shutil.copytree(trained_model_dir(reference, "full"), repository / "snapshots" / commit)
    (repository / "refs").mkdir()
    (repository / "refs" / "main").write_text(commit, encoding="utf-8")
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert hub_commit("someone/tiny-sentiment", None) == commit
    assert hub_commit("someone/tiny-sentiment", "f" * 40) == "f" * 40  # a commit is its own answer
    assert hub_commit("someone/not-downloaded", None) is None
    code, run_dir = run_suite(as_is_suite(suite, tmp_path / "as-is", source="someone/tiny-sentiment"),
                              tmp_path / "as-is.yaml")
    assert code == 0
    assert results(run_dir, "evaluate")[("as-is", "accuracy")] == results(reference, "evaluate")[("full", "accuracy")]
    # A new commit upstream (here: in the cache) is a new model: every stage is computed again.
    newer = "89abcdef0123456789abcdef0123456789abcdef"
    shutil.copytree(repository / "snapshots" / commit, repository / "snapshots" / newer)
    (repository / "refs" / "main").write_text(newer, encoding="utf-8")
    code, again = run_suite(as_is_suite(suite, tmp_path / "as-is", source="someone/tiny-sentiment"),
                            tmp_path / "as-is.yaml")
    assert code == 0 and set(model_stages(again).values()) == {"computed"}
