"""Attack `gradient-swap` (HotFlip-style word swaps) on tiny fine-tuned models: a WordPiece BERT and a byte-level
BPE GPT-2. Each model is fine-tuned once per module with the `full` finetuner on the tiny sentiment corpus."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
from tiny_models import CORPUS, build_tiny_model

from harness.core.runner import make_progress
from harness.core.types import ATTACK_STATUSES, Budgets, Example, ModelSource, StageEnvironment, TaskData, TrainRequest
from harness.kinds.loading import load_trained_classifier
from harness_plugins.full import FullFinetuneConfig, FullFinetuner
from harness_plugins.gradient_swap import (
    GradientSwapAttack,
    GradientSwapConfig,
    candidate_vocabulary,
    read_stopwords,
    render,
    split_words,
)
from harness_plugins.prompt_tuning import PromptTuningConfig, PromptTuningFinetuner

POSITIVE_WORDS = ("best", "great", "superb", "charming")
SENTENCES = tuple(dict.fromkeys(CORPUS))  # the 8 distinct sentences


def sentiment_examples() -> tuple[Example, ...]:
    return tuple(Example(f"s{index}", text, int(any(word in text for word in POSITIVE_WORDS)))
                 for index, text in enumerate(SENTENCES))


def environment(directory: Path) -> StageEnvironment:
    return StageEnvironment("cpu", 0, directory, make_progress(False))


def fine_tune(model_dir: Path, output: Path):
    """A classifier that fits the 8 sentences (about 25 optimizer steps on the tiny model)."""
    examples = sentiment_examples()
    data = TaskData("tiny-sentiment", ("negative", "positive"), examples, examples, examples)
    # Validation loss (not accuracy, which sits at 0.5 for the first epochs) picks the kept epoch.
    settings = FullFinetuneConfig(epochs=25, learning_rate=5e-3, batch_size=8, warmup_ratio=0.0,
                                  early_stopping_metric="loss")
    request = TrainRequest(ModelSource("tiny", str(model_dir), 32), data, Budgets(), output / "model",
                           environment(output))
    trained = FullFinetuner(settings).train(request)
    classifier = load_trained_classifier(trained, data.label_names, "cpu", 32, 16)
    predictions = classifier.predictor.predict([example.text for example in examples])
    assert (predictions == [example.label for example in examples]).all(), "the tiny model did not fit the corpus"
    return classifier


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread():
    """These models are 32 wide: a second thread gains nothing, and on a busy machine OpenMP threads waiting for
    each other made this module ten times slower (90 s instead of 8 s on 2 cores)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def bert(tiny_model_dir, tmp_path_factory):
    return fine_tune(tiny_model_dir, tmp_path_factory.mktemp("gradient-swap-bert"))


@pytest.fixture(scope="module")
def gpt2(tmp_path_factory):
    directory = tmp_path_factory.mktemp("gradient-swap-gpt2")
    return fine_tune(build_tiny_model("gpt2", directory / "base"), directory)


def changed_words(original: str, perturbed: str) -> int:
    before, after = original.split(), perturbed.split()
    assert len(before) == len(after), (original, perturbed)
    return sum(a != b for a, b in zip(before, after))


def check_records(classifier, examples, outcome, queries_before, max_swaps):
    assert [record.example_id for record in outcome.records] == [example.id for example in examples]
    assert sum(record.num_queries for record in outcome.records) == classifier.predictor.queries - queries_before
    for example, record in zip(examples, outcome.records):
        assert record.status in ATTACK_STATUSES
        assert record.original_text == example.text and record.label == example.label
        assert record.num_queries > 0
        assert record.words_total == len(example.text.split())
        # A deterministic search: no seed; its gradients and queries ran on these.
        assert record.seed is None and [name for name, _ in record.library_versions] == ["transformers", "torch"]
        assert 0.5 <= record.original_confidence <= 1 and 0.5 <= record.perturbed_confidence <= 1
        [prediction] = classifier.predictor.predict([record.perturbed_text])
        assert record.perturbed_prediction == prediction
        if record.status == "skipped":
            assert record.original_prediction != record.label and record.num_queries == 1
            assert record.perturbed_text == record.original_text and record.words_perturbed == 0
            continue
        assert record.original_prediction == record.label
        assert (record.perturbed_prediction != record.original_prediction) == (record.status == "successful")
        assert changed_words(record.original_text, record.perturbed_text) == record.words_perturbed <= max_swaps


def test_attack_on_tiny_bert_gives_one_valid_record_per_example(bert, tmp_path):
    examples = [*sentiment_examples(), Example("mislabelled", SENTENCES[2], 0)]
    parameters = {name: parameter.requires_grad for name, parameter in bert.model.named_parameters()}
    queries_before, forwards_before = bert.predictor.queries, bert.predictor.forwards
    config = GradientSwapConfig(max_swaps=3, max_perturbed_fraction=None)
    outcome = GradientSwapAttack(config).attack(bert, examples, environment(tmp_path))

    check_records(bert, examples, outcome, queries_before, config.max_swaps)
    statuses = [record.status for record in outcome.records]
    assert statuses[-1] == "skipped" and "skipped" not in statuses[:-1]
    assert "successful" in statuses
    # Gradient passes count as model forwards next to the predictor's (uncached) forwards.
    assert outcome.model_forwards > bert.predictor.forwards - forwards_before
    # Nothing left behind: eval mode, no parameter gradients, requires_grad flags as they were.
    assert not bert.model.training
    assert all(parameter.grad is None for parameter in bert.model.parameters())
    assert {name: parameter.requires_grad for name, parameter in bert.model.named_parameters()} == parameters


def test_query_budget_and_fraction_cap_are_respected(bert, tmp_path):
    examples = sentiment_examples()[:4]
    queries_before = bert.predictor.queries
    config = GradientSwapConfig(max_swaps=5, max_perturbed_fraction=0.2, candidates_per_position=4, query_budget=9)
    outcome = GradientSwapAttack(config).attack(bert, examples, environment(tmp_path))
    check_records(bert, examples, outcome, queries_before, config.max_swaps)
    for record in outcome.records:
        assert record.num_queries <= 9
        assert record.words_perturbed <= max(1, -(-record.words_total // 5))  # ceil(0.2 * words)


def test_first_order_candidates_beat_random_swaps_at_the_same_words(bert, tmp_path, monkeypatch):
    """The HotFlip ranking is better than chance: the candidates it sends for verification lower the original
    class's probability more, on average, than random vocabulary words swapped in at the same positions."""
    examples = sentiment_examples()
    batches: list[list[str]] = []
    probabilities = bert.predictor.probabilities

    def recording(texts):
        batches.append(list(texts))
        return probabilities(texts)

    monkeypatch.setattr(bert.predictor, "probabilities", recording)
    config = GradientSwapConfig(max_swaps=1, candidates_per_position=3)
    GradientSwapAttack(config).attack(bert, examples, environment(tmp_path))
    monkeypatch.undo()

    vocabulary = candidate_vocabulary(bert.tokenizer)
    stopwords = read_stopwords()
    rng = random.Random(0)
    gradient_drops, random_drops = [], []
    # Per example: one batch with the original text, then one batch of first-order candidates.
    for example, candidates in zip(examples, batches[1::2]):
        words = split_words(example.text, stopwords)
        original = bert.predictor.probabilities([example.text])[0, example.label]
        gradient_drops += list(original - bert.predictor.probabilities(candidates)[:, example.label])
        random_texts = []
        for candidate in candidates:
            [position] = [i for i, (a, b) in enumerate(zip(example.text.split(), candidate.split())) if a != b]
            surface = rng.choice([s for s in vocabulary.surfaces if s != words[position].core])
            random_texts.append(render(example.text, words, {position: surface}))
        random_drops += list(original - bert.predictor.probabilities(random_texts)[:, example.label])
    assert len(gradient_drops) == len(random_drops) >= 3 * len(examples)
    print(f"mean drop: first-order {np.mean(gradient_drops):.5f}, random {np.mean(random_drops):.5f}")
    assert np.mean(gradient_drops) > 0
    assert np.mean(gradient_drops) > 2 * max(np.mean(random_drops), 0.0)


def test_attack_runs_on_decoder_only_byte_level_bpe_model(gpt2, tmp_path):
    examples = sentiment_examples()[:4]
    queries_before = gpt2.predictor.queries
    config = GradientSwapConfig(max_swaps=2, max_perturbed_fraction=None)
    outcome = GradientSwapAttack(config).attack(gpt2, examples, environment(tmp_path))
    check_records(gpt2, examples, outcome, queries_before, config.max_swaps)
    assert len(outcome.records) == 4
    vocabulary = candidate_vocabulary(gpt2.tokenizer)
    surfaces = set(vocabulary.surfaces)
    for record in outcome.records:
        for before, after in zip(record.original_text.split(), record.perturbed_text.split()):
            assert before == after or after in surfaces


def test_attack_runs_through_a_peft_model_with_frozen_embeddings(tiny_model_dir, tmp_path):
    from peft import PeftModel

    examples = sentiment_examples()
    data = TaskData("tiny-sentiment", ("negative", "positive"), examples, examples[:2], examples[:2])
    request = TrainRequest(ModelSource("tiny", str(tiny_model_dir), 32), data, Budgets(), tmp_path / "model",
                           environment(tmp_path))
    trained = PromptTuningFinetuner(PromptTuningConfig(epochs=1, batch_size=8)).train(request)
    classifier = load_trained_classifier(trained, data.label_names, "cpu", 32, 16)
    assert isinstance(classifier.model, PeftModel)
    assert not classifier.model.get_input_embeddings().weight.requires_grad
    # Labelled with the model's own predictions, so that every example is attacked, none skipped.
    predictions = classifier.predictor.predict([example.text for example in examples[:3]])
    attacked = [Example(example.id, example.text, int(prediction))
                for example, prediction in zip(examples, predictions)]
    queries_before = classifier.predictor.queries
    config = GradientSwapConfig(max_swaps=2, max_perturbed_fraction=None, candidates_per_position=3)
    outcome = GradientSwapAttack(config).attack(classifier, attacked, environment(tmp_path))
    check_records(classifier, attacked, outcome, queries_before, config.max_swaps)
    assert all(record.status != "skipped" and record.num_queries > 1 for record in outcome.records)
    assert all(parameter.grad is None for parameter in classifier.model.parameters())
    assert not classifier.model.get_input_embeddings().weight.requires_grad


def test_candidate_vocabulary_keeps_whole_alphabetic_words(bert, gpt2):
    wordpiece = candidate_vocabulary(bert.tokenizer)
    assert "great" in wordpiece.surfaces and "film" in wordpiece.surfaces
    assert not any(surface.startswith("#") or not surface.isalpha() for surface in wordpiece.surfaces)
    assert not set(wordpiece.token_ids) & set(bert.tokenizer.all_special_ids)
    byte_level = candidate_vocabulary(gpt2.tokenizer)
    tokens = gpt2.tokenizer.convert_ids_to_tokens(list(byte_level.token_ids))
    assert all(token == "Ġ" + surface for token, surface in zip(tokens, byte_level.surfaces))
    assert "film" in byte_level.surfaces


def test_words_keep_their_punctuation_and_stopwords_are_not_attacked():
    text = "the film,  sadly, is (dull)"
    words = split_words(text, read_stopwords())
    assert [word.core for word in words] == ["the", "film", "sadly", "is", "dull"]
    assert [word.attackable for word in words] == [False, True, True, False, True]
    assert render(text, words, {1: "movie", 4: "great"}) == "the movie,  sadly, is (great)"
    assert not any(word.attackable for word in split_words("42 , -- ...", frozenset()))


@pytest.mark.parametrize("field, value", [
    ("max_swaps", 0), ("max_perturbed_fraction", 0.0), ("max_perturbed_fraction", 1.5),
    ("candidates_per_position", 0), ("query_budget", 0),
])
def test_invalid_config_values_are_rejected(field, value):
    with pytest.raises(ValueError, match=f"^{field} "):
        GradientSwapConfig(**{field: value})
