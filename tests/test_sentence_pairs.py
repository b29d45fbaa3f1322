"""Sentence-pair tasks end to end: AdvGLUE-style mnli items (written by the tests, tests/fixture_data.py) fine-tuned,
attacked, perturbed and explained as (premise, hypothesis) pairs, and the pair encoding checked where models read
it."""

from __future__ import annotations

import math
from dataclasses import dataclass

import pytest
from conftest import dump_suite, tiny_suite
from fixture_data import advglue_items

from harness import hookimpl
from harness.cli import main
from harness.core.store import read_run
from harness.core.types import Budgets, Example, StageEnvironment, TaskData

LABELS = ("entailment", "neutral", "contradiction")


def mnli_items() -> list[dict]:
    """The 120 mnli items of the written AdvGLUE dev.json: {idx, premise, hypothesis, label}, labels balanced."""
    return advglue_items()["mnli"]


def pair_examples(items: list[dict], prefix: str = "mnli") -> tuple[Example, ...]:
    return tuple(Example(f"{prefix}-{item['idx']}", item["premise"], item["label"], text_pair=item["hypothesis"])
                 for item in items)


@dataclass(frozen=True)
class PairSliceConfig:
    train: int = 48
    test: int = 12


class PairSliceTask:
    """A slice of the mnli items as a pair task (what the task plugins give for GLUE pair tasks)."""

    def __init__(self, config: PairSliceConfig):
        self.config = config

    def load(self, env: StageEnvironment) -> TaskData:
        examples = pair_examples(mnli_items())
        train, test = examples[:self.config.train], examples[self.config.train:self.config.train + self.config.test]
        return TaskData("mnli-slice", LABELS, train, (), test, text_fields=("premise", "hypothesis"))


class ShoutHypothesis:
    """An attack that always "succeeds" by upper-casing the hypothesis: adversarial pairs for the stability
    metrics and the report's drill-down, whatever the tiny model learned."""

    def __init__(self, config=None):
        self.config = config

    def attack(self, classifier, examples, env):
        from harness.core.pairs import make_attack_record, model_input
        from harness.core.types import AttackOutcome

        records = []
        for example in examples:
            original = model_input(example)
            perturbed = (example.text, example.text_pair.upper())
            before, after = classifier.predictor.probabilities([original, perturbed])
            records.append(make_attack_record(
                original, perturbed, example_id=example.id, label=example.label,
                original_prediction=int(before.argmax()), perturbed_prediction=int(after.argmax()),
                original_confidence=float(before.max()), perturbed_confidence=float(after.max()),
                status="successful", num_queries=2, words_perturbed=len(example.text_pair.split()),
                words_total=len(example.text.split()) + len(example.text_pair.split()), seconds=0.0))
        return AttackOutcome(tuple(records))


class PairTaskPlugin:
    @hookimpl
    def register_tasks(self, register):
        register("mnli-slice", PairSliceTask, config=PairSliceConfig)

    @hookimpl
    def register_attacks(self, register):
        register("shout-hypothesis", ShoutHypothesis)


@pytest.fixture(scope="module")
def pair_model(tiny_model_dir):
    """The tiny BERT with a 3-label head, and its tokenizer."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    torch.manual_seed(0)
    model = AutoModelForSequenceClassification.from_pretrained(str(tiny_model_dir), num_labels=3)
    model.eval()
    return model, AutoTokenizer.from_pretrained(str(tiny_model_dir))


@pytest.fixture(scope="module")
def pair_classifier(tiny_model_dir, tmp_path_factory):
    """The tiny BERT fine-tuned for one epoch on mnli pairs, loaded as stages load it."""
    from harness.core.plugin_manager import make_plugin_manager
    from harness.core.registry import Registry
    from harness.core.runner import make_progress
    from harness.core.seeding import set_seed
    from harness.core.types import ModelSource, TrainRequest
    from harness.kinds.loading import load_trained_classifier

    examples = pair_examples(mnli_items()[:24])
    directory = tmp_path_factory.mktemp("pair-model")
    env = StageEnvironment("cpu", 0, directory, make_progress(False))
    finetuner = Registry(make_plugin_manager()).get("finetuner", "full")
    data = TaskData("mnli-slice", LABELS, examples, examples[:4], examples[:4], text_fields=("premise", "hypothesis"))
    request = TrainRequest(ModelSource("tiny", str(tiny_model_dir), 64), data, Budgets(), directory / "model", env)
    set_seed(0)
    trained = finetuner.factory(finetuner.config_class(epochs=1, batch_size=16)).train(request)
    return load_trained_classifier(trained, LABELS, "cpu", 64, 64)


def correctly_predicted(classifier, count: int = 3) -> tuple[Example, ...]:
    """Pairs the model gets right (an attack skips the others)."""
    from harness.core.pairs import model_input

    examples = pair_examples(mnli_items()[24:72])
    predictions = classifier.predictor.predict([model_input(example) for example in examples])
    chosen = tuple(example for example, prediction in zip(examples, predictions) if prediction == example.label)
    assert chosen, "the tiny model gets no pair right"
    return chosen[:count]


# ------------------------------------------------------------------------------------- encoding


def test_the_predictor_reads_a_pair_as_the_models_pair_encoding(pair_model):
    import torch

    from harness.modeling.predict import Predictor

    model, tokenizer = pair_model
    premise, hypothesis = "A man is playing a guitar on stage .", "Someone makes music ."
    encoded = tokenizer(premise, hypothesis, return_tensors="pt")
    assert encoded["token_type_ids"].sum() > 0  # the second segment has its own token type
    with torch.inference_mode():
        direct = model(**encoded).logits.numpy()[0]
    predictor = Predictor(model, tokenizer, "cpu", max_length=64, batch_size=4)
    single = "a text of its own , longer than the others in this batch"
    logits = predictor.logits([single, (premise, hypothesis), "short"])
    assert logits[1] == pytest.approx(direct, abs=1e-5)
    with torch.inference_mode():
        assert logits[0] == pytest.approx(model(**tokenizer(single, return_tensors="pt")).logits.numpy()[0], abs=1e-5)
    # Cached by pair: the joined string is another input, and a pair asked again is not recomputed.
    joined = predictor.logits([f"{premise} {hypothesis}"])[0]
    assert joined != pytest.approx(logits[1], abs=1e-6)
    forwards = predictor.forwards
    assert predictor.logits([[premise, hypothesis]])[0] == pytest.approx(logits[1])
    assert predictor.forwards == forwards


def test_training_encodes_pairs_with_their_token_type_ids(pair_model):
    import copy

    from harness.kinds.sequence.training import SequenceTraining
    from harness.training.loop import TrainingSettings
    from harness.training.train import fit

    model, tokenizer = pair_model
    examples = pair_examples(mnli_items()[:8])
    encoded, _ = SequenceTraining().encode(tokenizer, examples, 48)
    # The first pair longer than 48 tokens: truncated as the tokenizer truncates a pair (longest first).
    row = next(index for index, example in enumerate(examples)
               if len(tokenizer(example.text, example.text_pair)["input_ids"]) > 48)
    expected = tokenizer(examples[row].text, examples[row].text_pair, truncation="longest_first", max_length=48)
    assert encoded["input_ids"][row] == expected["input_ids"] and len(expected["input_ids"]) == 48
    assert encoded["token_type_ids"][row] == expected["token_type_ids"] and 1 in encoded["token_type_ids"][row]

    seen = []
    trained = copy.deepcopy(model)
    trained.register_forward_pre_hook(
        lambda module, args, kwargs: seen.append(kwargs.get("token_type_ids")) if module.training else None,
        with_kwargs=True)
    fit(trained, tokenizer, examples, examples[:2], TrainingSettings(epochs=1, batch_size=4), Budgets(max_steps=1),
        "cpu", 0, 48, lambda **kwargs: _NoBar())
    assert seen and seen[0] is not None and int(seen[0].max()) == 1


class _NoBar:
    def update(self, *args, **kwargs):
        pass

    def set_postfix(self, *args, **kwargs):
        pass

    def close(self):
        pass


def test_explainers_forward_a_pair_batch_as_the_predictor_does(pair_model):
    import torch

    from harness.core.pairs import model_input
    from harness.explain.attribution import aggregate_to_words, length_grouped_batches, word_feature_mask, word_segments
    from harness.modeling.model_forwards import LogitsFromEmbeddings, LogitsFromIds
    from harness.modeling.models import LoadedClassifier
    from harness.modeling.predict import Predictor

    model, tokenizer = pair_model
    classifier = LoadedClassifier(model, tokenizer, Predictor(model, tokenizer, "cpu", 64), LABELS, "cpu", 64)
    examples = [*pair_examples(mnli_items()[:3]), Example("single", "one text alone", 0)]
    batches = list(length_grouped_batches(classifier, examples, batch_size=8))
    assert [len(batch.examples) for batch in batches] == [1, 3]  # single texts and pairs are never batched together
    single, pairs = batches
    assert single.token_type_ids is None and single.forward_mask is single.attention_mask
    expected = classifier.predictor.logits([model_input(example) for example in pairs.examples])
    with torch.inference_mode():
        from_ids = LogitsFromIds(model, segment_coded=True)(pairs.input_ids, pairs.forward_mask)
        embeddings = model.get_input_embeddings()(pairs.input_ids)
        from_embeddings = LogitsFromEmbeddings(model, segment_coded=True)(embeddings, pairs.forward_mask)
    assert from_ids.numpy() == pytest.approx(expected, abs=1e-5)
    assert from_embeddings.numpy() == pytest.approx(expected, abs=1e-5)
    features = word_feature_mask(pairs)
    for row, example in enumerate(pairs.examples):
        words, _, spans = aggregate_to_words(pairs, row, [0.0] * pairs.input_ids.shape[1])
        segments = word_segments(pairs, row)
        assert len(set(features[row].tolist()) - {0}) == len(words) == len(segments)
        assert [(example.text, example.text_pair)[segment][start:end]
                for (start, end), segment in zip(spans, segments)] == list(words)


def test_faithfulness_removes_words_from_their_own_segment():
    from harness.explain.metrics import (
        faithfulness_metrics,
        pair_with_only_words,
        pair_without_words,
    )

    texts = ("the cat sat", "a cat")
    spans = ((0, 3), (4, 7), (8, 11), (0, 1), (2, 5))
    segments = (0, 0, 0, 1, 1)
    assert pair_without_words(texts, spans, segments, {1}) == ("the sat", "a cat")
    assert pair_without_words(texts, spans, segments, {4}) == ("the cat sat", "a")
    assert pair_with_only_words(texts, spans, segments, {2, 4}) == ("sat", "cat")

    class Counting:
        def __init__(self):
            self.asked = []

        def probabilities(self, inputs):
            import numpy as np

            self.asked.extend(inputs)
            return np.array([[0.2 + 0.1 * ("cat" in " ".join(pair)), 0.8 - 0.1 * ("cat" in " ".join(pair))]
                             for pair in inputs])

    predictor = Counting()
    metrics = faithfulness_metrics([texts], [spans], [[0.1, 0.9, 0.0, 0.2, 0.8]], [0], predictor,
                                   segments_per_example=[segments])
    assert all(isinstance(value, tuple) and len(value) == 2 for value in predictor.asked)
    assert ("the sat", "a cat") in predictor.asked and ("the cat sat", "a") in predictor.asked
    assert all(math.isfinite(metric.value) for metric in metrics if metric.name != "loo_correlation")


# ------------------------------------------------------------------------------------- end to end


@pytest.mark.textattack
def test_a_pair_task_runs_end_to_end(tmp_path, tiny_model_dir):
    output = tmp_path / "out"
    suite = tiny_suite(tiny_model_dir, {"train": "unused", "test": "unused"}, output,
                       name="pairs",
                       task={"use": "mnli-slice"},
                       model={"source": str(tiny_model_dir), "max_length": 64},
                       methods=[{"use": "full", "epochs": 1, "batch_size": 16},
                                {"use": "lora", "epochs": 1, "batch_size": 16},
                                {"use": "full", "epochs": 1, "batch_size": 16,
                                 "augment": {"use": "keyboard-typos", "pct": 0.25, "n": 1}}],
                       attacks=[{"use": "deepwordbug"}, "shout-hypothesis"],
                       perturbations=[{"use": "keyboard-typos"}],
                       explainers=[{"use": "integrated-gradients", "n_steps": 4, "infidelity_samples": 2},
                                   {"use": "feature-ablation", "randomization_check": False}],
                       budgets={"max_attack_examples": 4, "max_explain_examples": 3})
    path = dump_suite(suite, tmp_path / "suite.yaml")
    assert main(["run", str(path), "--no-progress"], extra_plugins=[PairTaskPlugin()]) == 0
    (run_dir,) = [directory for directory in (output / "pairs").iterdir() if (directory / "manifest.json").exists()]
    run = read_run(run_dir)
    assert {stage.status for stage in run.stages} == {"computed"}
    assert run.manifest["text_fields"] == ["premise", "hypothesis"]
    examples = {example.id: example for example in pair_examples(mnli_items())}

    for method in ("full", "lora"):
        predictions = run.records(f"{method}/seed0/evaluate", "predictions")
        assert len(predictions) == 12 and all(record["text_pair"] for record in predictions)

        attacked = run.records(f"{method}/seed0/attack/deepwordbug", "attack")
        assert len(attacked) == 4
        for record in attacked:
            example = examples[record["example_id"]]
            assert record["original_text"] == record["perturbed_text"] == example.text  # the premise is never touched
            assert record["original_text_pair"] == example.text_pair
        assert any(record["perturbed_text_pair"] != record["original_text_pair"] for record in attacked
                   if record["status"] != "skipped")

        perturbed = run.records(f"{method}/seed0/perturb/keyboard-typos", "perturb")
        assert len(perturbed) == 12
        for record in perturbed:
            example = examples[record["example_id"]]
            assert record["perturbed_text"] == record["original_text"] == example.text
            assert record["original_text_pair"] == example.text_pair != record["perturbed_text_pair"]

        for explainer in ("integrated-gradients", "feature-ablation"):
            attributions = run.records(f"{method}/seed0/explain/{explainer}", "attributions")
            assert len(attributions) == 3
            for attribution in attributions:
                example = examples[attribution["example_id"]]
                segments = attribution["segments"]
                assert set(segments) == {0, 1} and segments == sorted(segments)
                assert len(segments) == len(attribution["words"]) == len(attribution["scores"])
                for word, (start, end), segment in zip(attribution["words"], attribution["spans"], segments):
                    assert (example.text, example.text_pair)[segment][start:end] == word
                assert all(math.isfinite(score) for score in attribution["scores"])
            rows = {row.metric: row.value for row in run.results
                    if row.stage == "explain" and row.method == method and row.component == explainer}
            for metric in ("comprehensiveness_aopc", "sufficiency_aopc", "log_odds_drop"):
                assert math.isfinite(rows[metric]), (method, explainer, metric)

        # Stability: the shouted pairs were explained as pairs, over both segments.
        stability = run.records(f"{method}/seed0/explain/integrated-gradients", "stability")
        assert {record["attack"] for record in stability} == {"shout-hypothesis"}
        for record in stability:
            example = examples[record["example_id"]]
            assert record["adversarial_text_pair"] == example.text_pair.upper()
            assert record["adversarial_text"] == record["original_text"] == example.text
            assert set(record["adversarial_segments"]) == {0, 1}
            assert record["adversarial_words"][record["adversarial_segments"].index(1)].isupper()

    # Augmented training pairs: the hypothesis got the typos, the premise is the original one.
    augmented = run.records("full+keyboard-typos/seed0/augment", "augmented")
    assert augmented
    for record in augmented:
        example = examples[record["id"].split("~")[0]]
        assert record["text"] == example.text and record["text_pair"] not in (None, example.text_pair)

    html = (run_dir / "scorecard.html").read_text(encoding="utf-8")
    assert html.count('class="segment">hypothesis') == html.count('class="segment">premise') > 0
    shouted = examples[run.records("full/seed0/attack/shout-hypothesis", "attack")[0]["example_id"]].text_pair
    assert f"<mark>{shouted.split()[0].upper()}</mark>" in html


@pytest.mark.textattack
def test_pair_target_first_attacks_and_perturbs_only_the_premise(tmp_path, pair_classifier):
    from harness.core.pairs import perturb_inputs
    from harness.core.runner import make_progress
    from harness_plugins.deepwordbug import DeepWordBugAttack, DeepWordBugConfig
    from harness_plugins.keyboard_typos import KeyboardTypos, KeyboardTyposConfig

    examples = pair_examples(mnli_items()[:3])
    env = StageEnvironment("cpu", 0, tmp_path, make_progress(False))
    typos = KeyboardTypos(KeyboardTyposConfig())
    first = perturb_inputs(examples, lambda texts: typos.augment(texts, env), "first")
    assert all(text != example.text and pair == example.text_pair for (text, pair), example in zip(first, examples))
    both = perturb_inputs(examples, lambda texts: typos.augment(texts, env), "both")
    assert all(text == changed and pair != example.text_pair
               for (text, pair), (changed, _), example in zip(both, first, examples))

    with pytest.raises(ValueError, match="pair_target"):
        DeepWordBugConfig(pair_target="premise")
    attacked = correctly_predicted(pair_classifier)
    outcome = DeepWordBugAttack(DeepWordBugConfig(pair_target="first")).attack(pair_classifier, attacked, env)
    assert all(record.status != "skipped" for record in outcome.records)
    for record, example in zip(outcome.records, attacked):
        assert record.original_text_pair == record.perturbed_text_pair == example.text_pair
    assert any(record.perturbed_text != record.original_text for record in outcome.records)


def test_gradient_swap_attacks_the_hypothesis_of_a_pair(tmp_path, pair_classifier):
    from harness.core.runner import make_progress
    from harness_plugins.gradient_swap import GradientSwapAttack, GradientSwapConfig

    env = StageEnvironment("cpu", 0, tmp_path, make_progress(False))
    examples = correctly_predicted(pair_classifier)
    outcome = GradientSwapAttack(GradientSwapConfig(candidates_per_position=3)).attack(pair_classifier, examples, env)
    assert all(record.status != "skipped" for record in outcome.records)
    assert any(record.perturbed_text_pair != record.original_text_pair for record in outcome.records)
    for record, example in zip(outcome.records, examples):
        assert record.original_text == record.perturbed_text == example.text
        assert record.original_text_pair == example.text_pair
        expected = pair_classifier.predictor.probabilities([(example.text, record.perturbed_text_pair)])[0]
        assert record.perturbed_prediction == int(expected.argmax())


@pytest.mark.textattack
def test_the_local_task_reads_pair_files_and_runs_them(tmp_path, tiny_model_dir):
    """A local TSV with premise and hypothesis columns: fine-tuned, attacked (hypothesis only) and explained."""
    items = mnli_items()
    for split, rows in (("train", items[:40]), ("test", items[40:50])):
        lines = ["premise\thypothesis\tlabel"] + [f"{item['premise']}\t{item['hypothesis']}\t{LABELS[item['label']]}"
                                                  for item in rows]
        (tmp_path / f"{split}.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    suite = tiny_suite(tiny_model_dir, {"train": tmp_path / "train.tsv", "test": tmp_path / "test.tsv"}, tmp_path,
                       methods=[{"use": "full", "epochs": 1}], attacks=[{"use": "deepwordbug"}],
                       explainers=[{"use": "integrated-gradients", "n_steps": 4}],
                       budgets={"max_attack_examples": 4, "max_explain_examples": 2})
    suite["task"].update(text_column="premise", text_pair_column="hypothesis", label_names=list(LABELS))
    path = dump_suite(suite, tmp_path / "suite.yaml")
    assert main(["run", str(path), "--no-progress"]) == 0
    (run_dir,) = [p for p in (tmp_path / "tiny").iterdir() if (p / "manifest.json").exists()]
    run = read_run(run_dir)
    premises = {item["premise"] for item in items[40:50]}
    for record in run.records("full/seed0/attack/deepwordbug", "attack"):
        # The premise may be cut to the model's window (48 tokens here) before the attack.
        [premise] = [premise for premise in premises if premise.startswith(record["original_text"])]
        assert len(premise) - len(record["original_text"]) <= record["characters_cut"]
        assert record["perturbed_text"] == record["original_text"]
        assert record["original_text_pair"] is not None
    attributions = run.records("full/seed0/explain/integrated-gradients", "attributions")
    assert all(set(record["segments"]) == {0, 1} for record in attributions)
    assert run.manifest["text_fields"] == ["premise", "hypothesis"]


def test_local_pair_columns_are_checked(tmp_path, tiny_model_dir, capsys):
    (tmp_path / "train.tsv").write_text("premise\thypothesis\tlabel\na\tb\t0\nc\t \t1\n", encoding="utf-8")
    suite = tiny_suite(tiny_model_dir, {"train": tmp_path / "train.tsv", "test": tmp_path / "train.tsv"}, tmp_path)
    suite["task"].update(text_column="premise", text_pair_column="hypothesis")
    path = dump_suite(suite, tmp_path / "suite.yaml")
    assert main(["validate", str(path)]) == 2
    assert "line 3: the text (column 'hypothesis') is only whitespace" in capsys.readouterr().err
