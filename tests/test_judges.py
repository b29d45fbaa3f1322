"""Judges of adversarial examples: the built-in judges on hand-made pairs with known verdicts, the valid success rate,
and the judge stage in a run (verdicts, gates, the verdict cache, a judge that crashes)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import SwapFirstWordAttack, dump_suite, minilm_dir, tiny_suite

from harness import AttackRecord, StageEnvironment, Verdict, hookimpl
from harness.attack.judges import (
    EntailmentJudge,
    EntailmentJudgeConfig,
    GrammarJudge,
    GrammarJudgeConfig,
    SentenceSimilarityJudge,
    SimilarityJudgeConfig,
)
from harness.attack.judging import judge_metrics
from harness.cli import main
from harness.core.statistics import wilson_interval
from harness.core.store import read_run


def record(example_id: str, original: str, perturbed: str, status: str = "successful", label: int = 1,
           **fields) -> AttackRecord:
    prediction = label if status != "skipped" else 1 - label
    return AttackRecord(example_id, original, perturbed, label, prediction,
                        1 - label if status == "successful" else prediction, 0.9, 0.6, status, 10, 1,
                        len(original.split()), 0.1, **fields)


def env(tmp_path: Path) -> StageEnvironment:
    return StageEnvironment(device="cpu", seed=0, work_dir=tmp_path, progress=lambda *a, **k: None)


KEPT = record("kept", "one of the best films of the year", "one of the finest films of the year")
CHANGED = record("changed", "a charming and often affecting journey", "a tax form with several blank fields .")
ANTONYM = record("antonym", "the acting is superb", "the acting is terrible")
"""MiniLM's cosines for these (measured): 0.927, -0.055 and 0.788; a swap for the antonym keeps the words around it,
so only a threshold between its score and a synonym swap's tells them apart."""


# ------------------------------------------------------------------------------------------- similarity


def test_similarity_accepts_a_synonym_swap_and_rejects_a_new_meaning(tmp_path):
    verdicts = SentenceSimilarityJudge(SimilarityJudgeConfig()).judge([KEPT, CHANGED, ANTONYM], env(tmp_path))
    assert [verdict.accepted for verdict in verdicts] == [True, False, False]
    assert verdicts[0].score > 0.877 > verdicts[2].score > verdicts[1].score


def test_similarity_scores_equal_sentence_transformers_cosines(tmp_path):
    from sentence_transformers import SentenceTransformer, util

    encoder = SentenceTransformer(str(minilm_dir()), device="cpu")
    expected = []
    for item in (KEPT, CHANGED):
        original, perturbed = encoder.encode([item.original_text, item.perturbed_text], convert_to_tensor=True)
        expected.append(float(util.cos_sim(original, perturbed)))
    verdicts = SentenceSimilarityJudge(SimilarityJudgeConfig(batch_size=1)).judge([KEPT, CHANGED], env(tmp_path))
    assert [verdict.score for verdict in verdicts] == pytest.approx(expected, abs=1e-5)


def test_similarity_judges_the_changed_segment_of_a_pair(tmp_path):
    pair = record("pair", "A man plays the guitar .", "A man plays the guitar .",
                  original_text_pair="Someone is making music .",
                  perturbed_text_pair="The stock market fell sharply today .")
    unchanged_pair = record("same", "A man plays the guitar .", "A man plays the guitar .",
                            original_text_pair="Someone is making music .",
                            perturbed_text_pair="Someone is making music .")
    verdicts = SentenceSimilarityJudge(SimilarityJudgeConfig()).judge([pair, unchanged_pair], env(tmp_path))
    assert [verdict.accepted for verdict in verdicts] == [False, True]
    assert verdicts[1].score == pytest.approx(1.0, abs=1e-5)


def test_a_strict_threshold_rejects_what_the_default_accepts(tmp_path):
    strict = SentenceSimilarityJudge(SimilarityJudgeConfig(threshold=0.999)).judge([KEPT], env(tmp_path))
    assert not strict[0].accepted
    with pytest.raises(ValueError, match="cosine"):
        SimilarityJudgeConfig(threshold=1.5)


# -------------------------------------------------------------------------------------------- entailment


def negated(sentence: str) -> str:
    words = sentence.split()
    return " ".join([words[0], "not", *words[1:]])


@pytest.fixture(scope="module")
def nli_model(tmp_path_factory) -> Path:
    """A tiny NLI model trained here on a toy task in seconds: a sentence entails itself; a sentence and its
    negation ("not" after the first word) contradict each other, in either order."""
    import random

    import torch
    from fixture_data import sentiment_rows
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    directory = tmp_path_factory.mktemp("tiny-nli")
    tokenizer = AutoTokenizer.from_pretrained(str(minilm_dir()))
    torch.manual_seed(0)
    model = BertForSequenceClassification(BertConfig(
        vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
        intermediate_size=64, max_position_embeddings=128, num_labels=3, hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0, id2label={0: "ENTAILMENT", 1: "NEUTRAL", 2: "CONTRADICTION"},
        label2id={"ENTAILMENT": 0, "NEUTRAL": 1, "CONTRADICTION": 2}))
    sentences = [text for text, _ in sentiment_rows(200, seed=3)]
    pairs = [(s, s, 0) for s in sentences] + [(s, negated(s), 2) for s in sentences[::2]] + \
        [(negated(s), s, 2) for s in sentences[1::2]]
    rng = random.Random(0)
    optimizer = torch.optim.AdamW(model.parameters(), lr=2e-3)
    model.train()
    for _ in range(20):  # measured: it learns the task after 8-10 passes (summed loss from about 9 to under 1)
        rng.shuffle(pairs)
        summed_loss = 0.0
        for start in range(0, len(pairs), 32):
            batch = pairs[start:start + 32]
            encoded = tokenizer([p for p, _, _ in batch], [h for _, h, _ in batch], padding=True,
                                return_tensors="pt")
            loss = model(**encoded, labels=torch.tensor([label for _, _, label in batch])).loss
            loss.backward()
            optimizer.step()
            optimizer.zero_grad()
            summed_loss += loss.item()
        if summed_loss < 0.5:
            break
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


def test_entailment_accepts_a_paraphrase_and_rejects_a_negation(tmp_path, nli_model):
    from fixture_data import sentiment_rows

    held_out = [text for text, _ in sentiment_rows(12, seed=99)]
    records = [record(f"same{i}", text, text) for i, text in enumerate(held_out[:6])] + \
        [record(f"not{i}", text, negated(text)) for i, text in enumerate(held_out[6:])]
    verdicts = EntailmentJudge(EntailmentJudgeConfig(model=str(nli_model))).judge(records, env(tmp_path))
    assert [verdict.accepted for verdict in verdicts] == [True] * 6 + [False] * 6
    assert all(verdict.score > 0.5 for verdict in verdicts[:6])
    # A probability floor above any score the model gives rejects everything.
    strict = EntailmentJudge(EntailmentJudgeConfig(model=str(nli_model), min_probability=1.0))
    assert not any(verdict.accepted for verdict in strict.judge(records[:2], env(tmp_path)))


def test_entailment_needs_a_model_with_an_entailment_label(tmp_path, tiny_model_dir):
    with pytest.raises(ValueError, match="NLI model"):
        EntailmentJudgeConfig()
    from harness.core.errors import HarnessError

    # The tiny BERT has no classification labels: the error lists what it has.
    with pytest.raises(HarnessError, match="no single entailment label"):
        EntailmentJudge(EntailmentJudgeConfig(model=str(tiny_model_dir))).judge([KEPT], env(tmp_path))


# ----------------------------------------------------------------------------------------------- grammar


def test_grammar_rejects_added_errors_and_accepts_the_original_count():
    # LanguageTool (Java, downloaded on first use) cannot run offline: the judge takes the error counter.
    misspelt = {"recieve", "teh", "definately"}

    def count_errors(text: str) -> int:
        return sum(word in misspelt for word in text.split())

    judge = GrammarJudge(GrammarJudgeConfig(), count_errors=count_errors)
    records = [record("same", "teh film is good", "teh movie is good"),
               record("worse", "the film is good", "teh film is definately good")]
    verdicts = judge.judge(records, None)
    assert [(verdict.accepted, verdict.score) for verdict in verdicts] == [(True, 0.0), (False, 2.0)]
    assert verdicts[1].detail == "2 new grammar errors"
    lenient = GrammarJudge(GrammarJudgeConfig(max_new_errors=2), count_errors=count_errors)
    assert lenient.judge(records, None)[1].accepted


def test_grammar_without_language_tool_says_how_to_install_it():
    from importlib.util import find_spec

    from harness.core.errors import HarnessError

    if find_spec("language_tool_python") is not None:
        pytest.skip("language_tool_python is installed here")
    with pytest.raises(HarnessError, match=r"nlp-robustness-harness\[grammar\]"):
        GrammarJudge(GrammarJudgeConfig()).judge([KEPT], None)


# ----------------------------------------------------------------------------------------------- metrics


def test_valid_success_rate_counts_only_the_successes_every_required_judge_accepts():
    records = [record("a", "x y", "x z"), record("b", "x y", "x w"), record("c", "x y", "x v"),
               record("d", "x y", "x y", status="failed"), record("e", "x y", "x y", status="skipped"),
               record("f", "x y", "x y", status="skipped", stopped_by="time cap of 1 s")]
    verdicts = {"similarity": [Verdict(True, 0.9), Verdict(False, 0.5), Verdict(True, 0.95)],
                "grammar": [Verdict(True, 0.0), Verdict(True, 0.0), Verdict(False, 1.0)],
                "advisory": [Verdict(False), Verdict(False), Verdict(False)]}
    metrics = {metric.name: metric for metric in judge_metrics(records, verdicts, ["similarity", "grammar"])}
    assert metrics["judged_examples"].value == 3
    assert metrics["judge_acceptance/similarity"].value == pytest.approx(2 / 3)
    assert metrics["judge_acceptance/advisory"].value == 0.0
    # Only "a" is valid: 1 of 3 successes, 1 of 4 attacked (a, b, c, d), and the model holds on d, b, c of the
    # 5 decided examples (the capped one has no outcome; the skipped one was misclassified).
    assert metrics["valid_adversarial_share"].value == pytest.approx(1 / 3)
    assert metrics["valid_success_rate"].value == pytest.approx(1 / 4)
    assert metrics["valid_success_rate"].n == 4
    assert (metrics["valid_success_rate"].ci_low, metrics["valid_success_rate"].ci_high) == pytest.approx(
        wilson_interval(1, 4))
    assert metrics["valid_accuracy_under_attack"].value == pytest.approx(3 / 5)


# ------------------------------------------------------------------------------------------- in a run


class RejectsFirstWordJudge:
    """Accepts an adversarial example unless its first word is "indeed" (what the first-word attack writes) and
    `reject` is set: a judge whose verdicts the test knows."""

    def __init__(self, config):
        self.config = config

    def judge(self, records, env):
        return [Verdict(not (self.config.reject and record.perturbed_text.startswith("indeed")), 1.0)
                for record in records]


class CrashingJudge:
    def __init__(self, config):
        pass

    def judge(self, records, env):
        raise RuntimeError("the judge's model server is down")


class JudgePlugins:
    def __init__(self):
        from dataclasses import dataclass

        from harness import JudgeSettings

        @dataclass(frozen=True)
        class KnownConfig(JudgeSettings):
            reject: bool = False

        self.config = KnownConfig

    @hookimpl
    def register_attacks(self, register):
        register("first-word", SwapFirstWordAttack)

    @hookimpl
    def register_judges(self, register):
        register("known", RejectsFirstWordJudge, config=self.config)
        register("crashing", CrashingJudge)


def run_suite(tmp_path: Path, tiny_model_dir: Path, sst2_files, judges: list, gates: list = ()) -> tuple[int, Path]:
    output = tmp_path / "reports"
    suite = tiny_suite(tiny_model_dir, sst2_files, output, methods=[{"use": "full", "epochs": 1, "batch_size": 16}],
                       attacks=["first-word"], explainers=[], judges=judges, gates=list(gates),
                       reports=["json", "html", "markdown"])
    suite["budgets"] = {"max_attack_examples": 6, "max_explain_examples": 2}
    path = dump_suite(suite, tmp_path / "suite.yaml")
    code = main(["run", str(path), "--no-progress", "--cache-dir", str(tmp_path / "cache")],
                extra_plugins=[JudgePlugins()])
    return code, max((output / "tiny").iterdir(), key=lambda run: run.stat().st_mtime_ns)


def judge_rows(run_dir: Path) -> dict[str, float]:
    return {row.metric: row.value for row in read_run(run_dir).results if row.stage == "judge"}


def test_the_judge_stage_reports_raw_and_valid_rates_and_gates_can_name_them(tmp_path, tiny_model_dir, sst2_files):
    judges = [{"use": "similarity"}, {"use": "known", "name": "rejecting", "reject": True, "required": False}]
    gates = [{"metric": "valid_success_rate", "attack": "first-word", "op": "<=", "threshold": 1.0},
             {"metric": "judge_acceptance/rejecting", "attack": "first-word", "op": ">=", "threshold": 0.5}]
    code, run_dir = run_suite(tmp_path, tiny_model_dir, sst2_files, judges, gates)
    assert code == 1  # the second gate fails: the rejecting judge accepts nothing
    rows = judge_rows(run_dir)
    raw = next(row for row in read_run(run_dir).results if row.metric == "attack_success_rate")
    assert rows["judged_examples"] == 6 and raw.value == 1.0
    assert rows["judge_acceptance/rejecting"] == 0.0
    # The rejecting judge is not required: validity is the similarity judge's alone.
    verdicts = read_run(run_dir).records("full/seed0/judge/first-word", "verdicts")
    assert len(verdicts) == 6
    assert all(set(item["verdicts"]) == {"similarity", "rejecting"} for item in verdicts)
    assert rows["valid_success_rate"] == pytest.approx(
        sum(item["verdicts"]["similarity"]["accepted"] for item in verdicts) / 6)
    document = json.loads((run_dir / "results.json").read_text())
    assert [gate["passed"] for gate in document["gates"]] == [True, False]
    html = (run_dir / "scorecard.html").read_text(encoding="utf-8")
    assert "Valid success rate" in html and "rejecting" in html


def test_a_new_judge_judges_only_itself_and_a_crashing_judge_loses_nothing(tmp_path, tiny_model_dir, sst2_files):
    code, first = run_suite(tmp_path, tiny_model_dir, sst2_files, [{"use": "known"}])
    assert code == 0
    cache = tmp_path / "cache" / "judge-verdicts"
    assert sum(1 for _ in cache.rglob("*.json")) == 6
    code, second = run_suite(tmp_path, tiny_model_dir, sst2_files,
                             [{"use": "known"}, {"use": "known", "name": "strict", "reject": True}])
    assert code == 0 and sum(1 for _ in cache.rglob("*.json")) == 12
    assert judge_rows(second)["valid_success_rate"] == 0.0
    code, third = run_suite(tmp_path, tiny_model_dir, sst2_files, [{"use": "known"}, {"use": "crashing"}])
    assert code == 3
    run = read_run(third)
    failed = next(stage for stage in run.stages if stage.kind == "judge")
    assert failed.status == "error" and "judge 'crashing' failed" in failed.error and "server is down" in failed.error
    assert "test_judges.py:" in failed.error  # where in the judge's code
    assert any(row.metric == "attack_success_rate" for row in run.results)  # the attack's results are kept


def test_a_judge_config_error_names_the_suite_line(tmp_path, tiny_model_dir, sst2_files, capsys):
    suite = tiny_suite(tiny_model_dir, sst2_files, tmp_path / "out", attacks=[], explainers=[],
                       judges=[{"use": "similarity", "threshold": 3}, {"use": "entailment"}, "similarityy"])
    path = dump_suite(suite, tmp_path / "judges.yaml")
    assert main(["validate", str(path)]) == 2
    error = capsys.readouterr().err
    assert "judges.yaml:" in error and "cosine" in error and "NLI model" in error and "similarity" in error


# ------------------------------------------------------------------------------------------ human ratings


def test_ratings_export_a_blind_sample_and_import_adds_agreement_with_the_judges(tmp_path, tiny_model_dir,
                                                                                 sst2_files, capsys):
    import csv

    code, run_dir = run_suite(tmp_path, tiny_model_dir, sst2_files,
                              [{"use": "known"}, {"use": "known", "name": "strict", "reject": True}])
    assert code == 0
    exported = tmp_path / "pairs.csv"
    assert main(["ratings", "export", str(run_dir), "--sample", "4", "--seed", "1", "--out", str(exported)]) == 0
    rows = list(csv.DictReader(exported.open(encoding="utf-8")))
    assert len(rows) == 4 and {row["attack"] for row in rows} == {"first-word"}
    assert all(row["valid"] == "" and "strict" not in json.dumps(row) for row in rows)  # no verdicts shown
    again = tmp_path / "again.csv"
    main(["ratings", "export", str(run_dir), "--sample", "4", "--seed", "1", "--out", str(again)])
    assert again.read_text() == exported.read_text()  # the sample is seeded
    # People rate three of the four: two valid, one not; one row left blank.
    for row, rating in zip(rows, ("yes", "no", "Yes", "")):
        row["valid"] = rating
    with exported.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    assert main(["ratings", "import", str(run_dir), str(exported)]) == 0
    rated = {row.metric: row for row in read_run(run_dir).results if row.stage == "rating"}
    assert rated["rated_examples"].value == 3
    assert rated["human_acceptance"].value == pytest.approx(2 / 3)
    assert (rated["human_acceptance"].ci_low, rated["human_acceptance"].ci_high) == pytest.approx(wilson_interval(2, 3))
    # "known" accepts everything (agrees on the two valid), "strict" rejects everything (agrees on the one not).
    assert rated["judge_agreement/known"].value == pytest.approx(2 / 3)
    assert rated["judge_agreement/strict"].value == pytest.approx(1 / 3)
    assert rated["valid_agreement"].value == pytest.approx(1 / 3)
    assert "Valid by human raters" in (run_dir / "scorecard.html").read_text(encoding="utf-8")
    # Importing again replaces the ratings; a bad cell is an error at its line.
    assert main(["ratings", "import", str(run_dir), str(exported)]) == 0
    assert sum(row.stage == "rating" and row.metric == "rated_examples" for row in read_run(run_dir).results) == 1
    rows[1]["valid"] = "maybe"
    with exported.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    capsys.readouterr()
    assert main(["ratings", "import", str(run_dir), str(exported)]) == 2
    assert f"{exported}:3: `valid` must be yes or no" in capsys.readouterr().err
