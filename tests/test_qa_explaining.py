"""Explanations of extractive-QA answers (harness.kinds.qa.explaining) on CPU with a tiny randomly initialised BERT
question-answering model: both methods score every word of the question and of the explained window, the explained
score is the predicted span's (or, abstaining, the CLS null score), integrated gradients is complete within its
convergence delta and occlusion scores are the measured drops (both checked against forwards computed here, apart
from the module), and the faithfulness and stability metrics are computed, seeded and bounded.

Not tested here: that a trained model's attributions point at the cue words ("code" before the code). Tried on CPU: a
2-layer random BERT does not learn the toy task in seconds; MiniLM learns it in ~23 s but its answer (the only number
in the context) needs no cue, and the integrated gradients of 6 examples took ~17 s more; a 2-layer MiniLM on a variant
with a distractor number did not learn reliably in ~10 s. Nothing reliable fit the test's time.
"""

from __future__ import annotations

import math
import re

import pytest

from harness.kinds.qa.examples import Answer, QAExample
from harness.kinds.qa.explaining import (
    AnswerAttribution,
    answer_faithfulness,
    attribution_stability,
    explain_answers,
)

MAX_LENGTH = 64
METHODS = ("integrated-gradients", "feature-ablation")


def example(key: str, question: str, context: str, answer: str) -> QAExample:
    return QAExample(key, question, context, (Answer(answer, context.index(answer)),))


SHORT = [
    example("short-1", "What is the code?", "The weather was mild that day. The code is 4821. A band played.", "4821"),
    example("short-2", "  Who was the winner?", "The winner was Chen Wei. Food stalls lined the main street.",
            "Chen Wei"),
]
LONG = example("long", "What is the code?",
               " ".join(["Many people came from nearby villages."] * 8) + " The code is 7777.", "7777")
EXAMPLES = SHORT + [LONG]


@pytest.fixture(scope="module")
def model_and_tokenizer(tiny_model_dir):
    import torch
    from transformers import AutoModelForQuestionAnswering, AutoTokenizer

    torch.manual_seed(0)
    model = AutoModelForQuestionAnswering.from_pretrained(tiny_model_dir).eval()
    return model, AutoTokenizer.from_pretrained(tiny_model_dir)


def make_classifier(model, tokenizer, **settings):
    from harness.kinds.qa.predictor import AnswerSettings, QAPredictor
    from harness.modeling.models import LoadedClassifier

    predictor = QAPredictor(model, tokenizer, "cpu", MAX_LENGTH, 8, settings=AnswerSettings(**settings))
    return LoadedClassifier(model, tokenizer, predictor, (), "cpu", MAX_LENGTH)


@pytest.fixture(scope="module")
def classifier(model_and_tokenizer):
    return make_classifier(*model_and_tokenizer)


@pytest.fixture(scope="module")
def abstaining(model_and_tokenizer):
    """The same model, abstaining on every question (any null score beats a threshold of -1e9)."""
    return make_classifier(*model_and_tokenizer, null_threshold=-1e9)


@pytest.fixture(scope="module")
def explained(classifier):
    return {method: explain_answers(classifier, EXAMPLES, method, allow_impossible=False, n_steps=64)
            for method in METHODS}


def words_with_starts(text: str) -> list[tuple[str, int]]:
    return [(match.group(), match.start()) for match in re.finditer(r"\S+", text)]


def score_at(model, tokenizer, question: str, context: str, positions: tuple[int, int], masked=(),
             baseline: bool = False) -> float:
    """start + end logit at `positions` of the one-window pair, computed here without the module: with the tokens
    of `masked` ((sequence index, first character, end character) words) replaced by the mask token, or with every
    non-special token replaced by the pad token (`baseline`, through the embeddings as integrated gradients sees it)."""
    import torch

    encoding = tokenizer(question.lstrip(), context, return_offsets_mapping=True)
    ids = list(encoding["input_ids"])
    for position, (sequence, (start, end)) in enumerate(zip(encoding.sequence_ids(), encoding["offset_mapping"])):
        if sequence is None:
            continue
        if baseline or any(sequence == which and first <= start and end <= last for which, first, last in masked):
            ids[position] = tokenizer.pad_token_id if baseline else tokenizer.mask_token_id
    with torch.no_grad():
        embeds = model.get_input_embeddings()(torch.tensor([ids]))
        outputs = model(inputs_embeds=embeds, token_type_ids=torch.tensor([encoding["token_type_ids"]]))
    return float(outputs.start_logits[0, positions[0]] + outputs.end_logits[0, positions[1]])


def answer_positions(tokenizer, item: QAExample, attribution: AnswerAttribution) -> tuple[int, int]:
    encoding = tokenizer(item.question.lstrip(), item.context)
    return (encoding.char_to_token(attribution.answer_start, sequence_index=1),
            encoding.char_to_token(attribution.answer_end - 1, sequence_index=1))


# ------------------------------------------------------------------------------------------ explanations


@pytest.mark.parametrize("method", METHODS)
def test_each_method_scores_every_word_of_the_question_and_the_explained_window(method, explained, classifier):
    outcome = explained[method]
    predictions = classifier.predictor.answer_examples(EXAMPLES)
    assert [attribution.example_id for attribution in outcome.attributions] == [item.id for item in EXAMPLES]
    for item, prediction, attribution in zip(EXAMPLES, predictions, outcome.attributions):
        assert attribution.method == method
        assert attribution.question_words == tuple(item.question.split())
        assert len(attribution.question_scores) == len(attribution.question_words)
        assert len(attribution.context_scores) == len(attribution.context_words) == len(attribution.context_word_starts)
        all_words = words_with_starts(item.context)
        covered = list(zip(attribution.context_words, attribution.context_word_starts))
        first = all_words.index(covered[0])
        assert all_words[first:first + len(covered)] == covered  # a contiguous run of the context's words
        assert all(math.isfinite(score) for score in attribution.question_scores + attribution.context_scores)
        # What is explained is the predicted span, scored as the predictor scored it.
        assert (attribution.answer, attribution.answer_start, attribution.answer_end) == (
            prediction.text, prediction.start, prediction.end)
        assert attribution.target_score == pytest.approx(prediction.score, abs=1e-4)
        i, j = attribution.answer_words
        assert 0 <= i < j <= len(covered)
        assert covered[i][1] <= prediction.start < covered[i][1] + len(covered[i][0])
        assert covered[j - 1][1] < prediction.end <= covered[j - 1][1] + len(covered[j - 1][0])
        assert (attribution.convergence_delta is not None) == (method == "integrated-gradients")
    short = outcome.attributions[:len(SHORT)]
    assert [len(attribution.context_words) for attribution in short] == [len(item.context.split()) for item in SHORT]
    # The long context is cut into windows: only the explained window's words are scored.
    assert len(outcome.attributions[-1].context_words) < len(LONG.context.split())
    assert {metric.name for metric in outcome.metrics} == (
        {"mean_abs_convergence_delta"} if method == "integrated-gradients" else set())


def test_integrated_gradients_is_complete_within_its_convergence_delta(explained, model_and_tokenizer):
    model, tokenizer = model_and_tokenizer
    for item, attribution in zip(SHORT, explained["integrated-gradients"].attributions):
        positions = answer_positions(tokenizer, item, attribution)
        target = score_at(model, tokenizer, item.question, item.context, positions)
        baseline = score_at(model, tokenizer, item.question, item.context, positions, baseline=True)
        assert attribution.target_score == pytest.approx(target, abs=1e-4)
        total = sum(attribution.question_scores) + sum(attribution.context_scores)
        delta = attribution.convergence_delta
        assert abs(total - (target - baseline)) <= abs(delta) + 1e-4, (total, target, baseline, delta)
        assert abs(delta) <= 0.01 + 0.05 * abs(target - baseline)


def test_an_occlusion_score_is_the_drop_when_that_word_alone_is_masked(explained, model_and_tokenizer):
    model, tokenizer = model_and_tokenizer
    item, attribution = SHORT[0], explained["feature-ablation"].attributions[0]
    positions = answer_positions(tokenizer, item, attribution)
    target = score_at(model, tokenizer, item.question, item.context, positions)
    # A context word of several subwords ("day." is two) and a question word ("code?", two as well).
    word = attribution.context_words.index("day.")
    start = attribution.context_word_starts[word]
    without = score_at(model, tokenizer, item.question, item.context, positions, masked=[(1, start, start + 4)])
    assert attribution.context_scores[word] == pytest.approx(target - without, abs=1e-4)
    question_word = attribution.question_words.index("code?")
    start = item.question.index("code?")
    without = score_at(model, tokenizer, item.question, item.context, positions, masked=[(0, start, start + 5)])
    assert attribution.question_scores[question_word] == pytest.approx(target - without, abs=1e-4)


@pytest.mark.parametrize("method", METHODS)
def test_an_abstention_explains_the_null_score_at_cls(method, abstaining, model_and_tokenizer):
    model, tokenizer = model_and_tokenizer
    outcome = explain_answers(abstaining, EXAMPLES, method, allow_impossible=True, n_steps=64)
    predictions = abstaining.predictor.answer_examples(EXAMPLES, allow_impossible=True)
    for item, prediction, attribution in zip(EXAMPLES, predictions, outcome.attributions):
        assert prediction.text == "" and attribution.answer == ""
        assert (attribution.answer_start, attribution.answer_end, attribution.answer_words) == (0, 0, (0, 0))
        # The lowest CLS score over the windows, as the predictor reads the null score.
        assert attribution.target_score == pytest.approx(prediction.null_score, abs=1e-4)
    item, attribution = SHORT[0], outcome.attributions[0]
    target = score_at(model, tokenizer, item.question, item.context, (0, 0))
    assert attribution.target_score == pytest.approx(target, abs=1e-4)
    total = sum(attribution.question_scores) + sum(attribution.context_scores)
    if method == "integrated-gradients":
        baseline = score_at(model, tokenizer, item.question, item.context, (0, 0), baseline=True)
        assert abs(total - (target - baseline)) <= abs(attribution.convergence_delta) + 1e-4
    else:
        start = item.context.index("band")
        without = score_at(model, tokenizer, item.question, item.context, (0, 0), masked=[(1, start, start + 4)])
        assert attribution.context_scores[attribution.context_words.index("band")] == pytest.approx(
            target - without, abs=1e-4)


def test_prompt_tuned_models_are_explained_at_their_real_positions(model_and_tokenizer, tiny_model_dir):
    """A PEFT model whose virtual tokens come before the window (harness.kinds.qa.peft_models): the embeddings are
    found through the wrapper and the explained logits are those of the window's own tokens."""
    import torch
    from peft import PromptTuningConfig, TaskType, get_peft_model
    from transformers import AutoModelForQuestionAnswering

    from harness.kinds.qa.peft_models import adapt_qa_peft_model

    torch.manual_seed(0)
    base = AutoModelForQuestionAnswering.from_pretrained(tiny_model_dir)
    model = adapt_qa_peft_model(get_peft_model(base, PromptTuningConfig(task_type=TaskType.QUESTION_ANS,
                                                                        num_virtual_tokens=4))).eval()
    tuned = make_classifier(model, model_and_tokenizer[1])
    outcome = explain_answers(tuned, SHORT, "integrated-gradients", allow_impossible=False, n_steps=64)
    for prediction, attribution in zip(tuned.predictor.answer_examples(SHORT), outcome.attributions):
        assert attribution.answer == prediction.text
        assert attribution.target_score == pytest.approx(prediction.score, abs=1e-4)
        assert abs(attribution.convergence_delta) < 0.05


def test_the_model_mode_is_restored_progress_reported_and_unknown_methods_refused(classifier):
    class Bar:
        def __init__(self, **options):
            self.options, self.done, self.closed = options, 0, False

        def update(self, count):
            self.done += count

        def close(self):
            self.closed = True

    bars = []
    classifier.model.train()
    try:
        explain_answers(classifier, SHORT, "feature-ablation", allow_impossible=False,
                        progress=lambda **options: bars.append(Bar(**options)) or bars[-1])
        assert classifier.model.training
    finally:
        classifier.model.eval()
    assert (bars[0].options["total"], bars[0].done, bars[0].closed) == (len(SHORT), len(SHORT), True)
    with pytest.raises(ValueError, match="unknown QA explanation method"):
        explain_answers(classifier, SHORT, "saliency", allow_impossible=False)


# ------------------------------------------------------------------------------------------ metrics


def test_faithfulness_masks_the_top_words_outside_the_answer_against_seeded_random_ones(explained, classifier):
    attributions = explained["feature-ablation"].attributions
    metrics, records = answer_faithfulness(classifier, EXAMPLES, attributions, seed=3)
    by_name = {metric.name: metric for metric in metrics}
    assert set(by_name) == {"answer_faithfulness_top_drop", "answer_faithfulness_random_drop",
                            "answer_faithfulness_gain"}
    assert [record["example_id"] for record in records] == [item.id for item in EXAMPLES]
    assert all(metric.n == len(EXAMPLES) for metric in metrics)
    assert by_name["answer_faithfulness_gain"].value == pytest.approx(
        by_name["answer_faithfulness_top_drop"].value - by_name["answer_faithfulness_random_drop"].value)
    for attribution, record in zip(attributions, records):
        asked = len(attribution.question_words)
        answer = set(range(asked + attribution.answer_words[0], asked + attribution.answer_words[1]))
        scores = attribution.question_scores + attribution.context_scores
        outside = sorted((index for index in range(len(scores)) if index not in answer), key=lambda i: -scores[i])
        assert record["k"] == max(1, round(0.2 * len(scores)))
        assert record["top_positions"] == sorted(outside[:record["k"]])
        assert not answer & set(record["random_positions"])
        assert record["score"] == pytest.approx(attribution.target_score, abs=1e-4)
    # Same seed, same random words and numbers; another seed draws other words.
    assert answer_faithfulness(classifier, EXAMPLES, attributions, seed=3) == (metrics, records)
    _, other = answer_faithfulness(classifier, EXAMPLES, attributions, seed=4)
    assert [record["random_positions"] for record in other] != [record["random_positions"] for record in records]
    # With k = 1 the top word masked is the word occlusion scored highest: its drop is that score.
    _, single = answer_faithfulness(classifier, EXAMPLES, attributions, seed=3, fraction=0.0)
    for attribution, record in zip(attributions, single):
        scores = attribution.question_scores + attribution.context_scores
        assert record["top_drop"] == pytest.approx(scores[record["top_positions"][0]], abs=1e-4)


def test_stability_is_perfect_for_an_insertion_without_effect(explained):
    clean = explained["integrated-gradients"].attributions
    ends = {item.id: (len(item.context), len(item.context)) for item in EXAMPLES}
    metrics, records = attribution_stability(clean, clean, ends)
    by_name = {metric.name: metric for metric in metrics}
    assert by_name["attribution_rank_stability"].value == pytest.approx(1.0)
    assert by_name["distractor_attribution_share"].value == 0.0
    assert [record["paired_words"] for record in records] == [len(a.context_words) for a in clean]


def test_stability_pairs_the_words_around_an_inserted_distractor(explained, classifier):
    clean = explained["integrated-gradients"].attributions[:len(SHORT)]
    distractor = "The code was 1111 once. "
    attacked_examples, inserted = [], {}
    for item in SHORT:
        at = item.context.index(". ") + 2
        context = item.context[:at] + distractor + item.context[at:]
        answers = tuple(Answer(answer.text, answer.start + (len(distractor) if answer.start >= at else 0))
                        for answer in item.answers)
        attacked_examples.append(QAExample(item.id, item.question, context, answers))
        inserted[item.id] = (at, at + len(distractor))
    attacked = explain_answers(classifier, attacked_examples, "integrated-gradients", allow_impossible=False,
                               n_steps=32).attributions
    metrics, records = attribution_stability(clean, attacked, inserted)
    by_name = {metric.name: metric for metric in metrics}
    assert -1.0 <= by_name["attribution_rank_stability"].value <= 1.0
    assert 0.0 < by_name["distractor_attribution_share"].value <= 1.0
    for attribution, record in zip(clean, records):
        # Every clean word is found again after the insertion, at its shifted offset.
        assert record["paired_words"] == len(attribution.context_words)
        assert 0.0 <= record["distractor_share"] <= 1.0
