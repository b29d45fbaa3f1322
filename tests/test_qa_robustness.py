"""Robustness of extractive QA models: span-aligned perturbations (any text augmenter, never inside an answer,
offsets recomputed), the gold span's log-probability, the AddAny search, and the attack, perturb and explain
stages end to end through `harness run` on the toy SQuAD 2.0 set of tests/test_qa_kind.py (MiniLM, CPU)."""

from __future__ import annotations

import json
import math
import random
import re
from pathlib import Path

import numpy as np
import pytest
from conftest import dump_suite
from test_qa_kind import qa_suite, write_squad

from harness.cli import main
from harness.core.store import read_run
from harness.kinds.qa.examples import Answer, QAExample, answer_problem
from harness.kinds.qa.perturbing import perturb_examples, protected_spans

CONTEXT = ("Super Bowl 50 was an American football game. The Denver Broncos defeated the Carolina Panthers 24-10 "
           "to earn their third title. The game was played on February 7, 2016, at Levi's Stadium in Santa Clara.")


def example(question="Which team won Super Bowl 50?", context=CONTEXT, answers=("Denver Broncos", "Broncos")):
    found = tuple(Answer(text, context.index(text)) for text in answers)
    return QAExample("q1", question, context, found)


AUGMENTERS = {
    "upper": lambda texts: [text.upper() for text in texts],
    "reverse words": lambda texts: [" ".join(reversed(text.split())) for text in texts],
    "insert words": lambda texts: [f"well, {text} indeed" for text in texts],
    "drop characters": lambda texts: [text[::2] for text in texts],
    "strip and rejoin": lambda texts: ["  ".join(text.split()) + "!" for text in texts],
}


@pytest.mark.parametrize("target", ["first", "second", "both"])
@pytest.mark.parametrize("name", list(AUGMENTERS))
def test_perturbations_keep_every_answer_aligned_and_untouched(name, target):
    examples = [example(), example(answers=("February 7, 2016", "7, 2016", "Levi's Stadium")),
                example(answers=()), example(answers=("Super Bowl 50",))]
    perturbed = perturb_examples(examples, AUGMENTERS[name], target)
    for original, changed in zip(examples, perturbed):
        assert answer_problem(changed) is None
        assert [answer.text for answer in changed.answers] == [answer.text for answer in original.answers]
        assert (changed.question == original.question) == (target == "second")
        assert (changed.context == original.context) == (target == "first")


def test_the_augmenter_never_sees_an_answer_and_whitespace_around_answers_stays():
    seen = []

    def recording(texts):
        seen.extend(texts)
        return [text.replace(" ", "_") for text in texts]

    original = example(answers=("Denver Broncos", "Carolina Panthers"))
    changed = perturb_examples([original], recording, "second")[0]
    assert not any("Broncos" in text or "Panthers" in text for text in seen)
    # The words around each answer keep their spaces: no word is glued onto an answer.
    assert " Denver Broncos " in changed.context and " Carolina Panthers " in changed.context
    assert "The_Denver" not in changed.context and changed.context.startswith("Super_Bowl_50")
    assert protected_spans(QAExample("x", "q", "a b c", (Answer("a b", 0), Answer("b c", 2)))) == [(0, 5)]


def test_randomised_augmenters_keep_answers_aligned():
    rng = random.Random(0)
    for trial in range(200):
        words = CONTEXT.split()
        chosen = sorted(rng.sample(range(len(words)), 2))
        answers = tuple(dict.fromkeys(" ".join(words[index:index + rng.randint(1, 3)]) for index in chosen))
        original = example(answers=answers)

        def noisy(texts, seed=trial):
            local = random.Random(seed)
            return ["".join(character * local.randint(0, 2) for character in text) for text in texts]

        changed = perturb_examples([original], noisy, "both")[0]
        assert answer_problem(changed) is None, (trial, answers)


# --------------------------------------------------------------------------------------- model-based pieces


@pytest.fixture(scope="module")
def qa_robustness_run(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("qa-robustness")
    files = {"train": write_squad(directory / "train.json", 60, seed=1),
             "test": write_squad(directory / "test.json", 15, seed=2, long=2)}
    suite = qa_suite(files, directory / "reports",
                     attacks=["add-sent", {"use": "add-any", "words": 4, "candidates": 6, "sweeps": 1}],
                     perturbations=[{"use": "keyboard-typos", "pair_target": "both"}, "char-swap"],
                     explainers=[{"use": "integrated-gradients", "n_steps": 8}, "feature-ablation"],
                     budgets={"max_attack_examples": 12, "max_explain_examples": 4})
    path = dump_suite(suite, directory / "suite.yaml")
    assert main(["validate", str(path)]) == 0
    assert main(["run", str(path), "--no-progress", "--run-id", "one"]) == 0
    return directory / "reports" / "qa" / "one"


def rows(run, stage: str) -> dict:
    return {row.metric: row for row in run.results if row.stage == stage}


def records(run_dir: Path, name: str) -> list[dict]:
    [path] = (run_dir / "records").glob(f"*{name}")
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_distractor_attacks_report_em_f1_under_attack_and_the_answers_they_moved(qa_robustness_run):
    run = read_run(qa_robustness_run)
    for attack in ("add-sent", "add-any"):
        metrics = {row.metric: row for row in run.results if row.stage == "attack" and row.component == attack}
        attacked = int(metrics["attacked_examples"].value)
        assert attacked + int(metrics["skipped_examples"].value) == 12 and attacked > 0
        for name in ("original_f1", "f1_under_attack", "answer_in_distractor_rate", "answer_change_rate"):
            assert 0.0 <= metrics[name].value <= 1.0 and metrics[name].ci_low is not None, (attack, name)
        assert math.isclose(metrics["f1_drop"].value,
                            metrics["original_f1"].value - metrics["f1_under_attack"].value, abs_tol=1e-9)
        found = records(qa_robustness_run, f"attack_{attack}.qa-attack.jsonl")
        done = [record for record in found if record["status"] == "attacked"]
        assert len(done) == attacked
        for record in done:
            context = record["context"]
            assert context[record["distractor_start"]:record["distractor_end"]] == record["distractor"]
            for gold in record["gold_answers"]:
                assert context[gold["start"]:gold["start"] + len(gold["text"])] == gold["text"]
                # A distractor never holds a gold answer (the answer would be right for the wrong reason).
                assert not re.search(rf"\b{re.escape(gold['text'].lower())}\b", record["distractor"].lower())
            moved = (record["answer_after"] != "" and record["answer_after_start"] < record["distractor_end"]
                     and record["distractor_start"] < record["answer_after_end"])
            assert record["in_distractor"] == moved
            if record["answer_before"]:
                span = context[record["answer_before_start"]:record["answer_before_end"]]
                assert span == record["answer_before"]
        assert np.mean([record["in_distractor"] for record in done]) == pytest.approx(
            metrics["answer_in_distractor_rate"].value)
    add_any = records(qa_robustness_run, "attack_add-any.qa-attack.jsonl")
    assert all(record["status"] == "skipped" and "unanswerable" in record["reason"]
               for record in add_any if record["question"] == "Who was the winner?" and record["status"] != "attacked"
               and not record.get("gold_answers", True))


def test_span_aligned_perturbations_report_the_drop_and_answer_changes(qa_robustness_run):
    run = read_run(qa_robustness_run)
    for perturbation, target in (("keyboard-typos", "both"), ("char-swap", "context")):
        metrics = {row.metric: row for row in run.results if row.stage == "perturb" and row.component == perturbation}
        assert {"original_f1", "perturbed_f1", "perturbed_exact_match", "f1_drop", "answer_change_rate",
                "changed_example_rate"} <= set(metrics)
        assert metrics["changed_example_rate"].value > 0.5
        found = records(qa_robustness_run, f"perturb_{perturbation}.qa-perturb.jsonl")
        assert {record["target"] for record in found} == {target}
        for record in found:
            for gold in record["perturbed_gold_answers"]:
                assert record["perturbed_context"][gold["start"]:gold["start"] + len(gold["text"])] == gold["text"]
            assert (record["perturbed_question"] != record["original_question"]) <= (target == "both")


def test_answer_explanations_cover_question_and_context_with_faithfulness_and_stability(qa_robustness_run):
    run = read_run(qa_robustness_run)
    for explainer in ("integrated-gradients", "feature-ablation"):
        metrics = {row.metric: row for row in run.results if row.stage == "explain" and row.component == explainer}
        assert metrics["explained_examples"].value == 4
        assert "answer_faithfulness_gain" in metrics
        assert any(name.startswith("attribution_rank_stability/") for name in metrics), sorted(metrics)
        found = records(qa_robustness_run, f"explain_{explainer}.qa-attributions.jsonl")
        assert len(found) == 4
        for record in found:
            assert len(record["question_scores"]) == len(record["question_words"]) > 0
            assert len(record["context_scores"]) == len(record["context_words"]) > 0
            assert all(math.isfinite(score) for score in record["question_scores"] + record["context_scores"])


def test_the_scorecard_shows_the_qa_sections(qa_robustness_run):
    html = (qa_robustness_run / "scorecard.html").read_text(encoding="utf-8")
    for section in ("qa-methods", "qa-adversarial-examples", "qa-perturbations", "qa-attributions"):
        assert f'id="{section}"' in html, section
    markdown = (qa_robustness_run / "summary.md").read_text(encoding="utf-8")
    assert "F1 under add-sent" in markdown and "F1 under keyboard-typos" in markdown
    # The comparison table (and so comparison.csv) has the QA robustness columns too.
    assert "F1 under attack (add-sent)" in markdown and "Answers in the distractor (add-any)" in markdown
    assert "F1 perturbed (char-swap)" in markdown and "Answer faithfulness gain (integrated-gradients)" in markdown


def test_gold_log_probabilities_are_the_softmax_of_the_span_in_its_best_window(tiny_model_dir):
    import torch
    from transformers import AutoModelForQuestionAnswering, AutoTokenizer

    from harness.kinds.qa.predictor import gold_log_probabilities

    torch.manual_seed(0)
    model = AutoModelForQuestionAnswering.from_pretrained(tiny_model_dir).eval()
    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    question, context = "Who won?", "The Denver Broncos won the game."
    start = context.index("Denver Broncos")
    [score] = gold_log_probabilities(model, tokenizer, [question], [context], [(start, start + 14)], "cpu", 64, 4)
    inputs = tokenizer(question, context, return_tensors="pt", return_offsets_mapping=True)
    offsets = inputs.pop("offset_mapping")[0].tolist()
    sequence = inputs.sequence_ids(0)
    first = next(i for i, (a, _) in enumerate(offsets) if sequence[i] == 1 and a == start)
    last = next(i for i, (_, b) in enumerate(offsets) if sequence[i] == 1 and b == start + 14)
    with torch.no_grad():
        outputs = model(**inputs)
    expected = (torch.log_softmax(outputs.start_logits[0], -1)[first]
                + torch.log_softmax(outputs.end_logits[0], -1)[last]).item()
    assert score == pytest.approx(expected, abs=1e-4)
    [missing] = gold_log_probabilities(model, tokenizer, [question], ["No team here."], [(0, 2)], "cpu", 64, 4)
    assert missing > float("-inf")  # "No" is in the context; a span past its end is not
    [outside] = gold_log_probabilities(model, tokenizer, [question], ["No team here."], [(20, 25)], "cpu", 64, 4)
    assert outside == float("-inf")


def test_add_any_lowers_the_gold_span_probability_and_is_seeded(tiny_model_dir):
    from types import SimpleNamespace

    import torch
    from transformers import AutoModelForQuestionAnswering, AutoTokenizer

    from harness.kinds.qa.add_any import AddAnySettings, add_any, common_words
    from harness.kinds.qa.predictor import QAPredictor, gold_log_probabilities

    torch.manual_seed(0)
    model = AutoModelForQuestionAnswering.from_pretrained(tiny_model_dir).eval()
    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    classifier = SimpleNamespace(predictor=QAPredictor(model, tokenizer, "cpu", 64, 16))
    examples = [QAExample("a", "What is the code?", "Food stalls lined the main street. The code is 4242.",
                          (Answer("4242", 47),)),
                QAExample("b", "Who was the winner?", "The weather was mild that day.", ())]
    vocabulary = common_words(examples, 50)

    def searched(sweeps):
        return add_any(classifier, examples, vocabulary, AddAnySettings(words=3, candidates=5, sweeps=sweeps), 0)

    def score(example):
        answer = example.answers[0]
        return gold_log_probabilities(model, tokenizer, [example.question], [example.context],
                                      [(answer.start, answer.end)], "cpu", 64, 16)[0]

    one, two = searched(1), searched(2)
    assert one[1].attacked is None and "unanswerable" in one[1].reason
    attacked = one[0].attacked
    assert attacked.context.startswith(examples[0].context) and answer_problem(attacked) is None
    assert attacked.context[slice(*one[0].inserted)] == one[0].distractor and len(one[0].distractor.split()) == 3
    assert one[0].queries > 0 and classifier.predictor.forwards > 0
    # A word is only replaced by one the model likes less for the gold span: a second sweep, which starts where
    # the first ended, can only lower the gold span's log-probability further (or stop early, changing nothing).
    assert score(two[0].attacked) <= score(attacked) + 1e-6
    assert searched(1) == one  # seeded by the run's seed and the question's id


@pytest.mark.parametrize("position", ["start", "random", "end"])
def test_an_attack_record_puts_both_answers_and_the_distractor_where_they_are(position):
    from harness.kinds.qa.attacking import Distraction, attacked_row
    from harness.kinds.qa.distractors import insert_sentence
    from harness.kinds.qa.windows import SpanPrediction

    original = example()
    sentence = "The Chicago Bears defeated the Oakland Raiders."
    attacked, inserted = insert_sentence(original, sentence, position, random.Random(3))
    start = original.context.index("Denver Broncos")
    clean = SpanPrediction("Denver Broncos", start, start + 14, 5.0, 0.0)
    bait = attacked.context.index("Chicago Bears")
    fooled = SpanPrediction("Chicago Bears", bait, bait + 13, 6.0, 0.0)
    row = attacked_row(original, Distraction("q1", attacked, inserted, sentence), clean, fooled)
    context = row["context"]
    assert context[row["answer_before_start"]:row["answer_before_end"]] == "Denver Broncos"
    assert context[row["answer_after_start"]:row["answer_after_end"]] == "Chicago Bears"
    assert context[row["distractor_start"]:row["distractor_end"]] == sentence
    assert row["in_distractor"] and row["answer_changed"] and row["f1_before"] == 1.0 and row["f1_after"] == 0.0


def test_the_qa_scorecard_in_a_real_browser(qa_robustness_run, browser):
    from selenium.webdriver.common.by import By

    browser.get((qa_robustness_run / "scorecard.html").as_uri())
    headers = [cell.text for cell in browser.find_elements(By.CSS_SELECTOR, "table#qa-methods thead th")]
    assert any("add-sent" in header for header in headers) and any("char-swap" in header for header in headers)
    attack = browser.find_element(By.CSS_SELECTOR, "#qa-adversarial-examples details.drilldown")
    attack.find_element(By.TAG_NAME, "summary").click()
    for mark in (".qa-distractor", ".qa-gold"):
        marked = attack.find_elements(By.CSS_SELECTOR, mark)
        assert marked and all(span.is_displayed() for span in marked), mark
    attribution = browser.find_element(By.CSS_SELECTOR, "#qa-attributions details.drilldown")
    attribution.find_element(By.TAG_NAME, "summary").click()
    assert attribution.find_element(By.CSS_SELECTOR, ".heat span.in-answer").is_displayed()
    assert len(browser.find_elements(By.CSS_SELECTOR, "figure.chart svg")) >= 2
    assert browser.execute_script("return document.querySelectorAll('script').length") == 1
    assert [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"] == []


@pytest.mark.textattack
@pytest.mark.parametrize("name", ["char-edits", "eda"])
def test_textattack_augmenters_perturb_qa_examples_around_the_answers(name, tmp_path):
    from harness.core.plugin_manager import make_plugin_manager
    from harness.core.registry import Registry
    from harness.core.runner import make_progress
    from harness.core.types import StageEnvironment

    component = Registry(make_plugin_manager()).get("augmenter", name)
    augmenter = component.factory(component.config_class(pct_words_to_swap=0.3))
    env = StageEnvironment("cpu", 0, tmp_path, make_progress(False))
    examples = [example(), example(answers=("February 7, 2016", "Levi's Stadium")), example(answers=())]
    perturbed = perturb_examples(examples, lambda texts: augmenter.augment(texts, env), "both")
    assert any(changed.context != original.context for original, changed in zip(examples, perturbed))
    for original, changed in zip(examples, perturbed):
        assert answer_problem(changed) is None
        assert [answer.text for answer in changed.answers] == [answer.text for answer in original.answers]
