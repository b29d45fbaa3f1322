"""An attack's cost is bounded by what the model reads (issue 20, finding 1): examples are cut to the model's
max_length tokens before the search (and the cut is recorded), the cross-example warm-up asks no more than the
query budget allows, and a per-example time cap holds for every recipe (a capped example is skipped, with the
reason, and left out of accuracy under attack)."""

from __future__ import annotations

import json

import pytest
from conftest import dump_suite, minilm_dir, tiny_suite

from harness.attack.metrics import attack_metrics
from harness.cli import main
from harness.core.files import read_jsonl
from harness.core.store import read_run
from harness.core.types import AttackRecord, Example, ModelSource, StageEnvironment
from harness.modeling.batching import cut_to_model_window, encode_inputs, example_in_model_window
from harness.modeling.predict import Predictor

LONG_TEXT = " ".join(f"an utterly wonderful film number {number} ," for number in range(3000))[:100_000]


@pytest.fixture(scope="module")
def tokenizer():
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(minilm_dir())


def test_a_cut_input_encodes_to_exactly_what_the_model_read_of_the_original(tokenizer):
    assert len(LONG_TEXT) == 100_000
    cut, removed = cut_to_model_window(tokenizer, LONG_TEXT, 64)
    assert removed == 100_000 - len(cut) and 100 < len(cut) < 1000
    assert LONG_TEXT.startswith(cut)
    assert encode_inputs(tokenizer, [cut], 64) == encode_inputs(tokenizer, [LONG_TEXT], 64)
    # Pairs of two long segments: 6,000 characters are far past the window too, and the tokenizer's own
    # "longest_first" truncation, the reference here, takes 19 s per pair of 100,000-character segments.
    first, second = LONG_TEXT[:6000], " ".join(f"quite a dreadful story {number}" for number in range(300))[:5000]
    for pair in [(LONG_TEXT, "a short hypothesis"), ("a short premise", LONG_TEXT), (first, first),
                 (first, second), (second, first), (first, second[:700])]:
        cut_pair, removed = cut_to_model_window(tokenizer, pair, 64)
        assert isinstance(cut_pair, tuple) and removed == sum(map(len, pair)) - sum(map(len, cut_pair))
        assert encode_inputs(tokenizer, [cut_pair], 64) == encode_inputs(tokenizer, [pair], 64)
    # An input that fits is not touched, trailing blanks included.
    assert cut_to_model_window(tokenizer, "a fine film  ", 64) == ("a fine film  ", 0)
    assert cut_to_model_window(tokenizer, ("a", "b"), 64) == (("a", "b"), 0)


class WithoutOffsets:
    """A tokenizer that gives no offsets (a slow one; transformers 5 has none left for BERT)."""

    is_fast = False

    def __init__(self, tokenizer):
        self.tokenizer = tokenizer

    def __call__(self, *arguments, **options):
        assert "return_offsets_mapping" not in options
        return self.tokenizer(*arguments, **options)


def test_a_tokenizer_without_offsets_is_cut_at_words_to_at_most_the_window(tokenizer):
    slow = WithoutOffsets(tokenizer)
    cut, removed = cut_to_model_window(slow, LONG_TEXT, 64)
    assert removed > 99_000 and LONG_TEXT.startswith(cut)
    assert 50 <= len(tokenizer(cut)["input_ids"]) <= 64
    assert cut_to_model_window(slow, "a fine film", 64) == ("a fine film", 0)


def test_an_example_is_cut_with_its_id_and_label_kept(tokenizer):
    example = Example("long-1", LONG_TEXT, 1)
    cut, removed = example_in_model_window(example, tokenizer, 32)
    assert (cut.id, cut.label, cut.text_pair) == ("long-1", 1, None) and removed > 0
    short = Example("short", "fine", 0)
    assert example_in_model_window(short, tokenizer, 32) == (short, 0)


def record(status: str, stopped_by=None, label=1, prediction=1) -> AttackRecord:
    return AttackRecord("x", "t", "t", label, prediction, prediction, 0.9, 0.9, status, 3, 0, 1, 0.1,
                        stopped_by=stopped_by)


def test_a_time_capped_example_has_no_outcome_and_is_counted_apart():
    records = [record("successful"), record("failed"), record("failed", "query budget of 5 queries"),
               record("skipped", label=0), record("skipped", "time cap of 1 s")]
    metrics = {metric.name: metric for metric in attack_metrics(records, 0)}
    # Accuracy under attack over the 4 decided examples (the query-budget failure counts as a failure, as in
    # TextAttack); the success rate over the 3 attacked; the capped example in neither.
    assert metrics["accuracy_under_attack"].value == pytest.approx(2 / 4)
    assert metrics["attack_success_rate"].value == pytest.approx(1 / 3)
    assert metrics["capped_examples"].value == 1 and metrics["skipped_examples"].value == 2
    assert metrics["cut_examples"].value == 0


@pytest.fixture(scope="module")
def tiny_predictor(tiny_model_dir):
    from harness.kinds.loading import load_base_classifier
    from harness.modeling.models import LoadedClassifier

    model, tokenizer = load_base_classifier(ModelSource("tiny", str(tiny_model_dir), 48), ("neg", "pos"))
    predictor = Predictor(model, tokenizer, "cpu", max_length=48)
    return LoadedClassifier(model, tokenizer, predictor, ("neg", "pos"), "cpu", 48)


def correctly_classified(classifier, texts):
    predictions = classifier.predictor.predict(texts)
    return [Example(f"e{number}", text, int(prediction)) for number, (text, prediction)
            in enumerate(zip(texts, predictions))]


@pytest.mark.textattack
def test_the_warm_up_asks_no_more_than_the_query_budget(tiny_predictor, tmp_path):
    from harness.core.plugin_manager import make_plugin_manager
    from harness.core.registry import Registry
    from harness.core.runner import make_progress

    examples = correctly_classified(tiny_predictor, [
        "the plot is thin but the performances are great and the music is lovely all along",
        "a charming and often affecting journey through a strange and wonderful country side"])
    component = Registry(make_plugin_manager()).get("attack", "deepwordbug")
    tiny_predictor.predictor.clear_cache()
    before = tiny_predictor.predictor.forwards
    outcome = component.factory(component.config_class(query_budget=5)).attack(
        tiny_predictor, examples, StageEnvironment("cpu", 0, tmp_path, make_progress(False)))
    # Before: the warm-up scored every word's leave-one-out text (16 words each), whatever the budget.
    assert tiny_predictor.predictor.forwards - before <= 5 * len(examples)
    for attack_record in outcome.records:
        assert attack_record.num_queries <= 5
        if attack_record.status == "failed":
            assert attack_record.stopped_by == "query budget of 5 queries"


@pytest.mark.textattack
def test_a_time_cap_stops_every_search_and_records_why(tiny_predictor, tmp_path):
    from textattack.attack_recipes import PWWSRen2019

    from harness.attack.textattack_bridge import run_textattack_attack
    from harness.core.resources import without_needless_nltk_downloads
    from harness.core.runner import make_progress

    examples = correctly_classified(tiny_predictor, ["the acting is superb and the story moves along nicely",
                                                     "one of the best films of the year by a wide margin"])
    with without_needless_nltk_downloads():
        attack = PWWSRen2019.build(tiny_predictor.predictor.textattack_wrapper())
    outcome = run_textattack_attack(attack, tiny_predictor, examples,
                                    StageEnvironment("cpu", 0, tmp_path, make_progress(False)),
                                    max_seconds_per_example=1e-9)
    assert [r.status for r in outcome.records] == ["skipped", "skipped"]
    assert all(r.stopped_by == "time cap of 1e-09 s" and r.perturbed_text == r.original_text
               and r.original_prediction == r.label for r in outcome.records)


@pytest.mark.textattack
@pytest.mark.parametrize("attack", ["deepwordbug", "pwws"])
def test_a_100000_character_text_is_attacked_within_the_model_window(tmp_path, tiny_model_dir, sst2_files,
                                                                   monkeypatch, attack):
    """Before: the warm-up and the ranking scored one 100,000-character copy per word (hours)."""
    test_file = tmp_path / "test.tsv"
    short = sst2_files["test"].read_text(encoding="utf-8").splitlines()[:3]
    test_file.write_text("\n".join([*short, f"{LONG_TEXT}\t1"]) + "\n", encoding="utf-8")
    long_texts_forwarded = []
    forward = Predictor._forward

    def recording_forward(self, texts):
        long_texts_forwarded.extend(len(text) for text in texts if len(text) > 2000)
        return forward(self, texts)

    monkeypatch.setattr(Predictor, "_forward", recording_forward)
    output = tmp_path / "reports"
    suite = tiny_suite(tiny_model_dir, {"train": sst2_files["train"], "test": test_file}, output,
                       methods=[{"use": "full", "epochs": 1}], attacks=[attack], explainers=[],
                       budgets={"max_attack_examples": 3})
    assert main(["run", str(dump_suite(suite, tmp_path / "suite.yaml")), "--no-progress"]) == 0
    run_dir = next((output / "tiny").iterdir())
    records = read_jsonl(run_dir / "records" / f"full_seed0_attack_{attack}.attack.jsonl")
    long_record = next(r for r in records if r["characters_cut"])
    assert LONG_TEXT.startswith(long_record["original_text"]) and len(long_record["original_text"]) < 1000
    assert long_record["characters_cut"] == 100_000 - len(long_record["original_text"])
    assert all(not r["characters_cut"] for r in records if r is not long_record)
    # The model saw the whole text once, to evaluate it; every text the attack asked about was of window size.
    assert long_texts_forwarded == [100_000]
    metrics = {row.metric: row.value for row in read_run(run_dir).results if row.stage == "attack"}
    assert metrics["cut_examples"] == 1
    assert metrics["capped_examples"] == 0


@pytest.mark.textattack
def test_the_scorecard_says_an_adversarial_example_was_cut(tmp_path, tiny_model_dir, sst2_files):
    output = tmp_path / "reports"
    suite = tiny_suite(tiny_model_dir, sst2_files, output, methods=[{"use": "full", "epochs": 1}],
                       attacks=["pruthi"], explainers=[], budgets={"max_attack_examples": 2})
    assert main(["run", str(dump_suite(suite, tmp_path / "suite.yaml")), "--no-progress"]) == 0
    run_dir = next((output / "tiny").iterdir())
    records_file = run_dir / "records" / "full_seed0_attack_pruthi.attack.jsonl"
    records = read_jsonl(records_file)
    # Shown are successful attacks; make the first one a successful attack on a cut example.
    records[0].update(status="successful", perturbed_prediction=1 - records[0]["original_prediction"],
                      characters_cut=98_765)
    records_file.write_text("".join(json.dumps(record) + "\n" for record in records), encoding="utf-8")
    assert main(["report", str(run_dir), "--format", "html"]) == 0
    html = (run_dir / "scorecard.html").read_text(encoding="utf-8")
    assert "98,765 characters past the model's window were cut before the attack" in html


def test_a_ner_sentence_of_20000_words_is_attacked_within_the_model_window(tmp_path, tiny_model_dir):
    def conll(sentences):
        return "\n\n".join("\n".join(f"{word} {tag}" for word, tag in sentence) for sentence in sentences) + "\n"

    sentence = [("Alice", "B-PER"), ("visited", "O"), ("Paris", "B-LOC"), ("today", "O"), (".", "O")]
    long_sentence = sentence + [("and", "O"), ("then", "O"), ("Bob", "B-PER"), ("left", "O")] * 5000
    (tmp_path / "train.conll").write_text(conll([sentence] * 30), encoding="utf-8")
    (tmp_path / "test.conll").write_text(conll([sentence, long_sentence]), encoding="utf-8")
    output = tmp_path / "reports"
    suite = {"name": "ner", "output": str(output),
             "task": {"use": "local-conll", "train": str(tmp_path / "train.conll"),
                      "test": str(tmp_path / "test.conll")},
             "model": {"source": str(tiny_model_dir), "max_length": 32},
             "methods": [{"use": "full", "epochs": 1, "batch_size": 8}],
             "attacks": [{"use": "ner-greedy", "max_candidates": 3, "max_perturbed": 2}], "explainers": [],
             "budgets": {"max_attack_examples": 2}}
    assert main(["run", str(dump_suite(suite, tmp_path / "suite.yaml")), "--no-progress"]) == 0
    run_dir = next((output / "ner").iterdir())
    records = {record["example_id"]: record
               for record in read_jsonl(run_dir / "records" / "full_seed0_attack_ner-greedy.ner-attack.jsonl")}
    [long_record] = [record for record in records.values() if record["words_cut"]]
    kept = len(long_record["original_tokens"])
    assert 5 < kept < 32 and long_record["words_cut"] == len(long_sentence) - kept
    assert len(long_record["original_tags"]) == kept
    metrics = {row.metric: row.value for row in read_run(run_dir).results if row.stage == "attack"}
    assert metrics["cut_examples"] == 1
