"""Token classification (NER) end to end on CPU: a small CoNLL file written here trains full and LoRA MiniLM taggers
through the runner; the evaluate, attack, perturb and explain stages report entity-level results; perturbations
keep the entity spans aligned; one explanation per predicted entity; the scorecard shows entity tables and spans.
And the refusals: a TextAttack recipe or a text augmenter on a token task, an NER perturbation on a text task."""

from __future__ import annotations

import json
import math
import random
from pathlib import Path

import pytest
from conftest import dump_suite

from harness.cli import main
from harness.core.store import read_run
from harness.kinds.token.entity_metrics import extract_entities

PEOPLE = ["Alice Johnson", "Bob Smith", "Carlos Diaz", "Maria Rossi", "Wei Chen", "Anna Kowalski", "Fatima Khan",
          "Peter Brown", "Olga Ivanova", "Kenji Sato", "Laura Martin", "David Okafor"]
ORGANISATIONS = ["Google", "Acme Corp", "United Nations", "Siemens", "Red Cross", "General Motors",
                 "Oxford University", "Microsoft", "World Bank", "Toyota", "Greenpeace", "Reuters"]
PLACES = ["Paris", "New York", "Berlin", "Tokyo", "Cairo", "Buenos Aires", "London", "Madrid", "Sydney",
          "Nairobi", "Rome", "Lima"]
TEMPLATES = [
    "{PER} works for {ORG} in {LOC} .",
    "{PER} visited {LOC} last week .",
    "{ORG} opened a new office in {LOC} .",
    "yesterday {PER} met {PER} at the {ORG} headquarters .",
    "the company {ORG} hired {PER} .",
    "{PER} flew from {LOC} to {LOC} on Monday .",
    "officials in {LOC} said {ORG} would invest heavily .",
    "{PER} said the weather in {LOC} was lovely .",
    "according to {ORG} , {PER} will retire soon .",
    "she moved to {LOC} after leaving {ORG} .",
]
POOLS = {"PER": PEOPLE, "ORG": ORGANISATIONS, "LOC": PLACES}
TEST_SENTENCES = 10


def conll_sentences(count: int, seed: int) -> list[list[tuple[str, str]]]:
    """Template sentences with IOB2-tagged PER / ORG / LOC names."""
    rng = random.Random(seed)
    sentences = []
    for number in range(count):
        template = TEMPLATES[number % len(TEMPLATES)]
        words = []
        for piece in template.split():
            if piece.startswith("{") and piece.endswith("}"):
                entity_type = piece[1:-1]
                name = rng.choice(POOLS[entity_type]).split()
                words += [(word, ("B-" if index == 0 else "I-") + entity_type) for index, word in enumerate(name)]
            else:
                words.append((piece, "O"))
        sentences.append(words)
    return sentences


def write_conll(path: Path, sentences: list[list[tuple[str, str]]]) -> Path:
    path.write_text("\n\n".join("\n".join(f"{word} {tag}" for word, tag in sentence) for sentence in sentences)
                    + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def conll_files(tmp_path_factory) -> dict[str, Path]:
    directory = tmp_path_factory.mktemp("conll")
    return {"train": write_conll(directory / "train.conll", conll_sentences(40, seed=1)),
            "validation": write_conll(directory / "valid.conll", conll_sentences(8, seed=2)),
            "test": write_conll(directory / "test.conll", conll_sentences(TEST_SENTENCES, seed=3))}


def ner_suite(files: dict[str, Path], output: Path, **overrides) -> dict:
    suite = {
        "name": "ner",
        "task": {"use": "local-conll", **{split: str(path) for split, path in files.items()}},
        "model": {"source": "minilm", "max_length": 32},
        "methods": [{"use": "full", "epochs": 3, "batch_size": 8, "learning_rate": 2.0e-4},
                    {"use": "lora", "epochs": 3, "batch_size": 8, "learning_rate": 6.0e-3}],
        "attacks": [{"use": "ner-greedy", "max_candidates": 6, "max_perturbed": 2}],
        "perturbations": ["ner-typos", "entity-swap"],
        "explainers": [{"use": "integrated-gradients", "n_steps": 8}],
        "budgets": {"max_attack_examples": 4, "max_explain_examples": 3},
        "reports": ["json", "html", "markdown"],
        "output": str(output),
    }
    suite.update(overrides)
    return suite


def latest_run(output: Path, name: str = "ner") -> Path:
    return max((output / name).iterdir(), key=lambda path: path.stat().st_mtime_ns)


@pytest.fixture(scope="module")
def ner_run(tmp_path_factory, conll_files) -> Path:
    directory = tmp_path_factory.mktemp("ner-run")
    path = dump_suite(ner_suite(conll_files, directory / "reports"), directory / "suite.yaml")
    assert main(["run", str(path), "--no-progress"]) == 0
    return latest_run(directory / "reports")


def metrics(run, stage: str, method: str, component: str = "") -> dict:
    return {row.metric: row for row in run.results
            if row.stage == stage and row.method == method and row.component == component}


def test_full_and_lora_taggers_report_entity_metrics_with_intervals(ner_run):
    run = read_run(ner_run)
    assert run.manifest["task_kind"] == "token-classification"
    assert [stage.status for stage in run.stages if stage.status == "error"] == []
    for method in ("full", "lora"):
        evaluation = metrics(run, "evaluate", method)
        for name in ("entity_precision", "entity_recall", "entity_f1", "entity_f1/PER", "entity_f1/ORG",
                     "entity_f1/LOC"):
            row = evaluation[name]
            assert math.isfinite(row.value) and row.ci_low is not None and row.ci_low <= row.value <= row.ci_high
        assert 0 <= evaluation["token_accuracy"].value <= 1 and "entity_macro_f1" in evaluation
        finetune = metrics(run, "finetune", method)
        assert "best_validation_entity_f1" in finetune and "train_entity_f1" in finetune
        print(f"{method}: entity F1 {evaluation['entity_f1'].value:.3f} "
              f"[{evaluation['entity_f1'].ci_low:.3f}, {evaluation['entity_f1'].ci_high:.3f}], "
              f"token accuracy {evaluation['token_accuracy'].value:.3f}")
    # The template data is easy: full fine-tuning must have learned it.
    assert metrics(run, "evaluate", "full")["entity_f1"].value > 0.5
    stage = next(s for s in run.stages if s.stage_id == "full/seed0/evaluate")
    predictions = run.records(stage.stage_id, "predictions")
    assert len(predictions) == TEST_SENTENCES
    for record in predictions:
        assert len(record["tokens"]) == len(record["gold_tags"]) == len(record["predicted_tags"])
        assert all(isinstance(tag, str) for tag in record["predicted_tags"])


def test_attack_reports_entity_f1_under_attack_and_flip_rates(ner_run):
    run = read_run(ner_run)
    for method in ("full", "lora"):
        attack = metrics(run, "attack", method, "ner-greedy")
        for name in ("entity_f1", "entity_f1_under_attack", "entity_flip_rate"):
            assert math.isfinite(attack[name].value), name
        assert attack["entity_f1_under_attack"].value <= attack["entity_f1"].value
        assert any(name.startswith("entity_flip_rate/") for name in attack)
    stage = next(s for s in run.stages if s.stage_id == "full/seed0/attack/ner-greedy")
    records = run.records(stage.stage_id, "ner-attack")
    assert len(records) == 4
    for record in records:
        assert len(record["perturbed_tokens"]) == len(record["perturbed_tags"]) == len(record["perturbed_prediction"])
        assert record["seed"] == 0  # the cell's seed: the candidate samples draw from text_rng(seed, ...)
        assert [name for name, _ in record["library_versions"]] == ["transformers", "torch"]


def test_perturbations_keep_entity_spans_aligned(ner_run):
    run = read_run(ner_run)
    for component in ("ner-typos", "entity-swap"):
        stage = next(s for s in run.stages if s.stage_id == f"full/seed0/perturb/{component}")
        records = run.records(stage.stage_id, "ner-perturb")
        assert len(records) == TEST_SENTENCES
        changed = 0
        for record in records:
            assert len(record["perturbed_tokens"]) == len(record["perturbed_tags"])
            assert len(record["perturbed_tokens"]) == len(record["perturbed_prediction"])
            original = extract_entities(record["original_tags"])
            perturbed = extract_entities(record["perturbed_tags"])
            assert [entity.type for entity in original] == [entity.type for entity in perturbed]
            if component == "ner-typos":
                # Same spans, same entity words; only words outside the entities changed.
                assert record["original_tags"] == record["perturbed_tags"] and original == perturbed
                inside = {i for entity in original for i in range(entity.start, entity.end)}
                for index, (before, after) in enumerate(zip(record["original_tokens"], record["perturbed_tokens"])):
                    assert before == after or index not in inside
            else:
                # The words outside the entities are kept, in order; each entity is a same-type name.
                outside_before = [word for word, tag in zip(record["original_tokens"], record["original_tags"])
                                  if tag == "O"]
                outside_after = [word for word, tag in zip(record["perturbed_tokens"], record["perturbed_tags"])
                                 if tag == "O"]
                assert outside_before == outside_after
                for entity in perturbed:
                    name = " ".join(record["perturbed_tokens"][entity.start:entity.end])
                    assert name in POOLS[entity.type]
            assert len(record["entities"]) == len(original)
            changed += record["original_tokens"] != record["perturbed_tokens"]
        assert changed >= TEST_SENTENCES - 1
        row = metrics(run, "perturb", "full", component)
        assert math.isfinite(row["perturbed_entity_f1"].value) and "entity_flip_rate" in row
        assert row["perturbed_entity_f1"].ci_low is not None


def test_one_explanation_per_predicted_entity(ner_run):
    run = read_run(ner_run)
    for method in ("full", "lora"):
        stage = next(s for s in run.stages if s.stage_id == f"{method}/seed0/explain/integrated-gradients")
        records = run.records(stage.stage_id, "entity-attributions")
        evaluation = {r["example_id"]: r for r in
                      run.records(f"{method}/seed0/evaluate", "predictions")}
        explained_ids = list(dict.fromkeys(record["example_id"] for record in records))
        expected = sorted((example_id, entity.start, entity.end, entity.type) for example_id in
                          json.loads((ner_run / "samples.json").read_text())["explain"]
                          for entity in extract_entities(evaluation[example_id]["predicted_tags"]))
        assert sorted((r["example_id"], r["start"], r["end"], r["entity_type"]) for r in records) == expected
        assert set(explained_ids) <= set(evaluation)
        for record in records:
            assert len(record["scores"]) == len(record["words"]) and all(map(math.isfinite, record["scores"]))
        explain = metrics(run, "explain", method, "integrated-gradients")
        assert explain["explained_entities"].value == len(records)
        assert "entity_faithfulness_gain" in explain and "mean_abs_convergence_delta" in explain


def test_scorecard_shows_entity_tables_and_spans(ner_run):
    html = (ner_run / "scorecard.html").read_text(encoding="utf-8")
    assert "Entity F1" in html and "Entity F1 under attack" in html and "Entity flip rate" in html
    assert 'id="entity-types"' in html and 'class="ent ent-' in html
    assert 'id="entity-attributions"' in html
    assert "validation entity F1" in html and "validation accuracy" not in html  # the training-curve axis
    summary = (ner_run / "summary.md").read_text(encoding="utf-8")
    assert "| full |" in summary and "| lora |" in summary


def test_ner_scorecard_in_a_real_browser(ner_run, browser):
    from selenium.webdriver.common.by import By

    browser.get((ner_run / "scorecard.html").as_uri())
    assert [row.get_attribute("data-method") for row in
            browser.find_elements(By.CSS_SELECTOR, "table#comparison tbody tr")] == ["full", "lora"]
    types = [cell.text for cell in browser.find_elements(By.CSS_SELECTOR, "table#entity-types thead th")]
    assert types == ["Method", "Measure", "LOC", "ORG", "PER"]
    drilldown = browser.find_element(By.CSS_SELECTOR, "#ner-predictions details.drilldown")
    drilldown.find_element(By.TAG_NAME, "summary").click()
    spans = drilldown.find_elements(By.CSS_SELECTOR, ".ent")
    assert spans and all(span.is_displayed() for span in spans)
    attribution = browser.find_element(By.CSS_SELECTOR, "#entity-attributions details.drilldown")
    attribution.find_element(By.TAG_NAME, "summary").click()
    assert attribution.find_element(By.CSS_SELECTOR, ".heat span.in-entity").is_displayed()
    assert len(browser.find_elements(By.CSS_SELECTOR, "figure.chart svg")) >= 2
    assert browser.execute_script("return document.querySelectorAll('script').length") == 1
    assert [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"] == []


@pytest.mark.parametrize("overrides, message", [
    pytest.param({"attacks": ["deepwordbug"], "perturbations": [], "explainers": []},
                 "attack 'deepwordbug' supports sequence classification only", marks=pytest.mark.textattack),
    ({"attacks": [], "perturbations": ["keyboard-typos"], "explainers": []},
     "perturbation 'keyboard-typos' perturbs texts (sequence classification only)"),
    ({"attacks": [], "perturbations": [], "explainers": ["lime"]},
     "explainer 'lime' explains sequence classification only"),
    ({"attacks": [], "perturbations": [], "explainers": [], "judges": ["similarity"]},
     "judge 'similarity': judges of adversarial examples judge text attacks"),
])
def test_text_components_on_a_token_task_are_refused_before_training(conll_files, tmp_path, capsys, overrides,
                                                                      message):
    path = dump_suite(ner_suite(conll_files, tmp_path / "reports", **overrides), tmp_path / "suite.yaml")
    assert main(["run", str(path), "--no-progress"]) == 2
    error = capsys.readouterr().err
    assert message in error and "token classification (NER)" in error
    assert f"{path}:" in error  # at its suite line
    assert not list((tmp_path / "reports").rglob("**/.stage-cache/finetune/*"))  # nothing trained


def test_ner_perturbation_on_a_text_task_is_refused(tmp_path, capsys, tiny_model_dir, sst2_files):
    from conftest import tiny_suite

    suite = tiny_suite(tiny_model_dir, sst2_files, tmp_path, attacks=[], explainers=[], perturbations=["ner-typos"])
    path = dump_suite(suite, tmp_path / "suite.yaml")
    assert main(["run", str(path), "--no-progress"]) == 2
    assert "perturbation 'ner-typos' perturbs token classification (NER) sentences only" in capsys.readouterr().err


# ----------------------------------------------------------------------------------------------- building blocks


LABELS = ("O", "B-LOC", "B-ORG", "B-PER", "I-LOC", "I-ORG", "I-PER")


def token_task(train: int = 24, validation: int = 6, test: int = 6):
    from harness.core.types import TaskData
    from harness.kinds.token.examples import TokenExample

    def examples(count, seed, prefix):
        return tuple(TokenExample(f"{prefix}{number}", tuple(word for word, _ in sentence),
                                  tuple(LABELS.index(tag) for _, tag in sentence))
                     for number, sentence in enumerate(conll_sentences(count, seed)))

    return TaskData("toy-ner", LABELS, examples(train, 1, "train"), examples(validation, 2, "valid"),
                    examples(test, 3, "test"), kind="token-classification")


@pytest.mark.parametrize("method, params", [
    ("full", {}), ("frozen", {}), ("lora", {}), ("ia3", {}), ("adalora", {}),
    ("prefix-tuning", {"num_virtual_tokens": 4}), ("prompt-tuning", {"num_virtual_tokens": 4}),
])
def test_every_finetuner_trains_and_reloads_a_token_classifier(method, params, tiny_model_dir, tmp_path):
    """All finetuners train token-classification heads (PEFT TOKEN_CLS) that reload as taggers."""
    from harness.core.plugin_manager import make_plugin_manager
    from harness.core.registry import Registry
    from harness.core.runner import make_progress
    from harness.core.types import Budgets, ModelSource, StageEnvironment, TrainRequest
    from harness.kinds.loading import load_trained_classifier

    data = token_task()
    component = Registry(make_plugin_manager()).get("finetuner", method)
    environment = StageEnvironment("cpu", 0, tmp_path, make_progress(False))
    trained = component.factory(component.config_class(epochs=1, batch_size=8, **params)).train(
        TrainRequest(ModelSource("tiny", str(tiny_model_dir), 32), data, Budgets(), tmp_path / "model", environment))
    assert trained.history and trained.history[-1].validation_accuracy is not None  # the validation entity F1
    assert 0 <= trained.history[-1].train_accuracy <= 1  # token accuracy on labelled words
    assert {metric.name for metric in trained.metrics} >= {"train_entity_f1", "train_validation_gap"}
    classifier = load_trained_classifier(trained, LABELS, "cpu", 32, 16, kind="token-classification")
    assert type(classifier.model).__name__.endswith("ForTokenClassification") or hasattr(classifier.model,
                                                                                         "peft_config")
    predictions = classifier.predictor.tag([example.tokens for example in data.test])
    assert [len(p.tags) for p in predictions] == [len(example.tokens) for example in data.test]


def test_prompt_tuning_tags_the_words_not_its_virtual_tokens(tiny_model_dir, tmp_path):
    """PEFT puts prompt tuning's virtual tokens in front of the tagged sequence; the harness cuts their logits off,
    so training, prediction and explanation see one output per real position."""
    import torch
    from peft import PromptTuningConfig, TaskType, get_peft_model

    from harness.core.types import ModelSource
    from harness.kinds import SequenceClassification, TokenClassification
    from harness.kinds.loading import load_base_classifier
    from harness.modeling.virtual_tokens import VirtualTokenTrimmer

    base, tokenizer = load_base_classifier(ModelSource("tiny", str(tiny_model_dir), 32), LABELS,
                                           kind="token-classification")
    peft_model = get_peft_model(base, PromptTuningConfig(task_type=TaskType.TOKEN_CLS, num_virtual_tokens=4))
    model = TokenClassification().adapt_peft_model(peft_model)
    assert isinstance(model, VirtualTokenTrimmer) and SequenceClassification().adapt_peft_model(peft_model) \
        is peft_model
    batch = tokenizer(["John lives in Paris"], return_tensors="pt")
    labels = torch.full(batch["input_ids"].shape, -100)
    labels[0, 1] = 1
    outputs = model(**batch, labels=labels)
    assert outputs.logits.shape[:2] == batch["input_ids"].shape and torch.isfinite(outputs.loss)
    outputs.loss.backward()  # only the soft prompt (and the head) learn
    assert peft_model.get_prompt_embedding_to_save("default").shape[0] == 4


def test_token_training_refuses_several_processes(tiny_model_dir):
    from harness.core.runner import make_progress
    from harness.core.types import Budgets, ModelSource
    from harness.kinds.loading import load_base_classifier
    from harness.training.loop import TrainingSettings
    from harness.training.train import fit

    data = token_task(train=4)
    model, tokenizer = load_base_classifier(ModelSource("tiny", str(tiny_model_dir), 32), LABELS,
                                            kind="token-classification")
    with pytest.raises(ValueError, match="token classification .NER. trains in one process"):
        fit(model, tokenizer, data.train, data.validation, TrainingSettings(data_parallel_processes=2), Budgets(),
            "cpu", 0, 32, make_progress(False))


def test_token_predictor_matches_tag_sentences_and_caches(tiny_model_dir):
    import numpy

    from harness.core.types import ModelSource
    from harness.kinds.loading import load_base_classifier
    from harness.kinds.token.encoding import tag_sentences
    from harness.kinds.token.predictor import TokenPredictor

    model, tokenizer = load_base_classifier(ModelSource("tiny", str(tiny_model_dir), 32), LABELS,
                                            kind="token-classification")
    sentences = [example.tokens for example in token_task().test] + [("word",) * 40]  # the last one is truncated
    predictor = TokenPredictor(model, tokenizer, "cpu", max_length=16, batch_size=3)
    predictions = predictor.tag(sentences)
    reference = tag_sentences(model, tokenizer, sentences, max_length=16, batch_size=5)
    assert [p.tags for p in predictions] == [r.tags for r in reference]
    assert [p.words_missing for p in predictions] == [r.words_missing for r in reference]
    assert predictions[-1].words_missing
    for mine, theirs in zip(predictions, reference):
        assert numpy.allclose(mine.probabilities, theirs.probabilities, atol=1e-5)
    again = predictor.tag(sentences[:2] + [()])
    assert again[:2] == predictions[:2] and again[2].tags == ()
    assert predictor.queries == len(sentences) + 3 and predictor.forwards == len(sentences) + 1


def test_ner_synonyms_change_only_words_outside_entities(tmp_path):
    from harness.core.plugin_manager import make_plugin_manager
    from harness.core.registry import Registry
    from harness.core.runner import make_progress
    from harness.core.types import StageEnvironment

    component = Registry(make_plugin_manager()).get("augmenter", "ner-synonyms")
    task = token_task()
    perturbed = component.factory(component.config_class(rate=0.5)).perturb_tokens(
        task.test, task, StageEnvironment("cpu", 0, tmp_path, make_progress(False)))
    assert [example.id for example in perturbed] == [example.id for example in task.test]
    changed = 0
    for before, after in zip(task.test, perturbed):
        assert after.tags == before.tags and len(after.tokens) == len(before.tokens)
        for word_before, word_after, tag in zip(before.tokens, after.tokens, before.tags):
            assert word_before == word_after or LABELS[tag] == "O"
            changed += word_before != word_after
    assert changed > 0


def test_a_prompt_tuned_tagger_runs_every_ner_stage(conll_files, tmp_path, tiny_model_dir):
    suite = ner_suite(conll_files, tmp_path / "reports", model={"source": str(tiny_model_dir), "max_length": 32},
                      methods=[{"use": "prompt-tuning", "epochs": 1, "batch_size": 8, "num_virtual_tokens": 4}])
    path = dump_suite(suite, tmp_path / "suite.yaml")
    assert main(["run", str(path), "--no-progress"]) == 0
    run = read_run(latest_run(tmp_path / "reports"))
    assert {stage.status for stage in run.stages} == {"computed"}
    records = run.records("prompt-tuning/seed0/explain/integrated-gradients", "entity-attributions")
    assert all(len(r["scores"]) == len(r["words"]) and all(map(math.isfinite, r["scores"])) for r in records)
    assert math.isfinite(metrics(run, "evaluate", "prompt-tuning")["entity_f1"].value)
