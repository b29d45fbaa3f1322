"""Long contexts as overlapping windows, and answers from the windows' logits, as Hugging Face's run_qa.py (and the
Hugging Face course's question-answering chapter) do it with a fast tokenizer:

- A (question, context) pair longer than `max_length` tokens becomes several windows, each the whole question and
  a slice of the context (`truncation="only_second"`, `return_overflowing_tokens`); consecutive slices share
  `doc_stride` tokens, so an answer cut by one window's edge is whole in the next. A tokenizer that pads on the left
  (XLNet's) reads the context first, so the context is the first sequence there (run_qa.py's `pad_on_right`).
- Training labels (`encode_for_training`): a window whose context slice holds the whole answer is labelled with the
  answer's first and last tokens; any other window, and every window of an unanswerable question, points at the
  CLS token (the "no answer here" position of SQuAD 2.0 models). The offsets are characters of the context, so a
  non-ASCII context needs nothing special.
- Predictions (`encode_for_prediction`, `best_answers`): each window keeps its example's index and the character
  offsets of its context tokens (None for question, special and padding tokens, so no answer can be read there).
  An example's answer is the best-scoring span (start logit + end logit) over its windows among the `n_best` top
  starts and ends, with end >= start and at most `max_answer_length` tokens; its no-answer score is the lowest
  CLS score (start + end logit at CLS) over its windows. With `allow_impossible` (SQuAD 2.0) the answer is ""
  when that null score beats the best span's score by more than `null_threshold`.

Nothing here imports torch: encodings are lists of ints, logits any array-like.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional, Sequence

import numpy as np

Span = tuple[int, int]


@dataclass(frozen=True)
class PredictionWindows:
    """The windows of some examples, as model input and as what maps their tokens back to context characters."""

    inputs: dict[str, list[list[int]]]
    """The model's keyword arguments: input_ids, attention_mask (and token_type_ids where the tokenizer makes
    them), one row per window, padded to the longest window."""
    example_index: tuple[int, ...]
    """Per window: the index of its example."""
    offsets: tuple[tuple[Optional[Span], ...], ...]
    """Per window, per token: the token's (start, end) characters in its example's context; None outside the
    context (the question, special tokens, padding)."""
    cls_index: tuple[int, ...]
    """Per window: the position of its CLS token, where a model says "no answer here"."""

    def __len__(self) -> int:
        return len(self.example_index)


@dataclass(frozen=True)
class SpanPrediction:
    """One example's answer, read from its windows' logits."""

    text: str
    """The answer: `context[start:end]`, or "" when no answer is predicted."""
    start: int
    """The answer's first character in the context (0 when the answer is "")."""
    end: int
    """One past the answer's last character (0 when the answer is "")."""
    score: float
    """Start logit + end logit of the best span, also when the null answer won (so `score_diff` can be thresholded
    again without the model); -inf when the context had no token to answer with."""
    null_score: float
    """The lowest start + end logit at CLS over the example's windows."""

    @property
    def score_diff(self) -> float:
        """How much the null answer beats the best span by (run_qa.py's scores_diff_json); > threshold: ""."""
        return self.null_score - self.score


def _order(tokenizer: Any) -> tuple[bool, str]:
    """(the question comes first, the truncation that cuts only the context), after run_qa.py's pad_on_right."""
    pad_on_right = getattr(tokenizer, "padding_side", "right") == "right"
    return pad_on_right, ("only_second" if pad_on_right else "only_first")


def _check_room(tokenizer: Any, questions: Sequence[str], max_length: int, doc_stride: int) -> None:
    """Every question must leave room for more than `doc_stride` context tokens, or the tokenizer fails (a
    PanicException from inside Rust for the stride) without saying which question or why."""
    if doc_stride < 0:
        raise ValueError(f"doc_stride must be >= 0, got {doc_stride}")
    special = tokenizer.num_special_tokens_to_add(pair=True)
    lengths = [len(ids) for ids in tokenizer(list(questions), add_special_tokens=False)["input_ids"]]
    for number, length in enumerate(lengths):
        room = max_length - special - length
        if room <= doc_stride:
            raise ValueError(f"question {number} has {length} tokens: with {special} special tokens, max_length "
                             f"{max_length} leaves {room} tokens of context per window, which must exceed doc_stride "
                             f"{doc_stride} (raise max_length, lower doc_stride or shorten the question)")


def encode_windows(tokenizer: Any, questions: Sequence[str], contexts: Sequence[str], max_length: int,
            doc_stride: int) -> tuple[Any, int]:
    """The windows (a BatchEncoding with offsets and sample mapping) and the sequence id of the context in them."""
    if not getattr(tokenizer, "is_fast", False):
        raise ValueError("windowing contexts needs a fast tokenizer (offset mappings and overflowing windows)")
    if len(questions) != len(contexts):
        raise ValueError(f"{len(questions)} questions but {len(contexts)} contexts")
    # Leading whitespace in a question only takes room from the context (run_qa.py strips it too).
    questions = [question.lstrip() for question in questions]
    _check_room(tokenizer, questions, max_length, doc_stride)
    pad_on_right, truncation = _order(tokenizer)
    first, second = (questions, list(contexts)) if pad_on_right else (list(contexts), questions)
    encoding = tokenizer(first, second, truncation=truncation, max_length=max_length, stride=doc_stride,
                         return_overflowing_tokens=True, return_offsets_mapping=True, padding="longest")
    return encoding, (1 if pad_on_right else 0)


def cls_index(tokenizer: Any, input_ids: Sequence[int]) -> int:
    """Where the window's CLS (or BOS) token is, as run_qa.py finds it; 0 for a tokenizer without either."""
    for token in (tokenizer.cls_token_id, tokenizer.bos_token_id):
        if token is not None and token in input_ids:
            return list(input_ids).index(token)
    return 0


def _model_inputs(encoding: Any) -> dict[str, list[list[int]]]:
    return {name: [list(row) for row in encoding[name]]
            for name in ("input_ids", "attention_mask", "token_type_ids") if name in encoding}


def _answer_tokens(offsets: Sequence[Span], sequence_ids: Sequence[Optional[int]], context_id: int,
                   start_char: int, end_char: int) -> Optional[tuple[int, int]]:
    """The first and last tokens of the answer's characters in this window, or None unless it holds all of them."""
    context = [position for position, sequence in enumerate(sequence_ids) if sequence == context_id]
    if not context:
        return None
    first, last = context[0], context[-1]
    if not (offsets[first][0] <= start_char and offsets[last][1] >= end_char):
        return None
    start = first
    while start <= last and offsets[start][0] <= start_char:
        start += 1
    end = last
    while end >= first and offsets[end][1] >= end_char:
        end -= 1
    return start - 1, end + 1


def encode_for_training(tokenizer: Any, questions: Sequence[str], contexts: Sequence[str],
                        answers: Sequence[Optional[tuple[str, int]]], max_length: int,
                        doc_stride: int) -> dict[str, list[Any]]:
    """The training windows of SQuAD-style examples: input_ids, attention_mask (token_type_ids where the tokenizer
    makes them), start_positions and end_positions, one row per window, padded to the longest window.

    `answers` holds per example the answer's (text, start character in the context), or None (or an empty text)
    for an unanswerable question. A window that holds the whole answer is labelled with its first and last tokens,
    any other window with the CLS index (see the module docstring). An answer whose text is not the context's
    characters at its start is an error: it would train the model on the wrong span."""
    if len(answers) != len(contexts):
        raise ValueError(f"{len(contexts)} contexts but {len(answers)} answers")
    for number, (context, answer) in enumerate(zip(contexts, answers)):
        if answer is not None and answer[0] and (answer[1] < 0 or
                                                 context[answer[1]:answer[1] + len(answer[0])] != answer[0]):
            raise ValueError(f"example {number}: the answer {answer[0]!r} is not the context's text at character "
                             f"{answer[1]} ({context[answer[1]:answer[1] + len(answer[0])]!r})")
    encoding, context_id = encode_windows(tokenizer, questions, contexts, max_length, doc_stride)
    starts, ends = [], []
    for window, offsets in enumerate(encoding["offset_mapping"]):
        cls_position = cls_index(tokenizer, encoding["input_ids"][window])
        answer = answers[encoding["overflow_to_sample_mapping"][window]]
        tokens = None
        if answer is not None and answer[0]:
            tokens = _answer_tokens(offsets, encoding.sequence_ids(window), context_id, answer[1],
                                    answer[1] + len(answer[0]))
        start, end = tokens if tokens is not None else (cls_position, cls_position)
        starts.append(start)
        ends.append(end)
    return {**_model_inputs(encoding), "start_positions": starts, "end_positions": ends}


def encode_for_prediction(tokenizer: Any, questions: Sequence[str], contexts: Sequence[str], max_length: int,
                          doc_stride: int) -> PredictionWindows:
    """The windows of `questions` over `contexts` as model input, with each window's example and the character
    offsets of its context tokens (None elsewhere, as run_qa.py's prepare_validation_features sets them)."""
    encoding, context_id = encode_windows(tokenizer, questions, contexts, max_length, doc_stride)
    offsets = []
    for window, window_offsets in enumerate(encoding["offset_mapping"]):
        sequence_ids = encoding.sequence_ids(window)
        offsets.append(tuple(tuple(offset) if sequence_ids[position] == context_id else None
                             for position, offset in enumerate(window_offsets)))
    return PredictionWindows(
        inputs=_model_inputs(encoding), example_index=tuple(encoding["overflow_to_sample_mapping"]),
        offsets=tuple(offsets),
        cls_index=tuple(cls_index(tokenizer, input_ids) for input_ids in encoding["input_ids"]))


def span_tokens(offsets: Sequence[Optional[Span]], start_char: int, end_char: int) -> Optional[tuple[int, int]]:
    """The first and last tokens of a prediction window (`PredictionWindows.offsets[window]`) that cover the
    characters start_char..end_char of its context, or None unless the window's context holds all of them."""
    context = [position for position, offset in enumerate(offsets) if offset is not None]
    if not context or offsets[context[0]][0] > start_char or offsets[context[-1]][1] < end_char:
        return None
    first = next(position for position in reversed(context) if offsets[position][0] <= start_char)
    last = next(position for position in context if offsets[position][1] >= end_char)
    return first, last


def _top_span(starts: np.ndarray, ends: np.ndarray, offsets: Sequence[Optional[Span]], n_best: int,
              max_answer_length: int) -> Optional[tuple[float, int, int]]:
    """(score, first token, last token) of the best valid span among the `n_best` top starts and ends."""
    best = None
    top_ends = np.argsort(ends)[::-1][:n_best]
    for start in np.argsort(starts)[::-1][:n_best]:
        if offsets[start] is None:
            continue
        for end in top_ends:
            if offsets[end] is None or end < start or end - start + 1 > max_answer_length:
                continue
            score = float(starts[start] + ends[end])
            if best is None or score > best[0]:
                best = (score, int(start), int(end))
    return best


def _any_span(starts: np.ndarray, ends: np.ndarray, offsets: Sequence[Optional[Span]],
              max_answer_length: int) -> Optional[tuple[float, int, int]]:
    """The best valid span over all context tokens: only for when no n-best pair was valid (run_qa.py answers the
    placeholder "empty" then), e.g. an untrained model whose top starts all fall in the question."""
    context = np.array([position for position, offset in enumerate(offsets) if offset is not None], dtype=int)
    if context.size == 0:
        return None
    scores = starts[context][:, None] + ends[context][None, :]
    length = context[None, :] - context[:, None] + 1
    scores = np.where((length >= 1) & (length <= max_answer_length), scores, -np.inf)
    row, column = np.unravel_index(int(np.argmax(scores)), scores.shape)
    return float(scores[row, column]), int(context[row]), int(context[column])


def best_answers(start_logits: Sequence[Any], end_logits: Sequence[Any], windows: PredictionWindows,
                 contexts: Sequence[str], n_best: int = 20, max_answer_length: int = 30,
                 null_threshold: Optional[float] = None, allow_impossible: bool = False) -> list[SpanPrediction]:
    """One answer per example from its windows' start and end logits (one row per window of `windows`, in order;
    positions past a window's tokens are ignored), as run_qa.py's postprocess_qa_predictions reads them (see the
    module docstring). `null_threshold` (default 0.0) only matters with `allow_impossible`."""
    if len(start_logits) != len(windows) or len(end_logits) != len(windows):
        raise ValueError(f"{len(windows)} windows but {len(start_logits)} start and {len(end_logits)} end logit rows")
    if n_best < 1 or max_answer_length < 1:
        raise ValueError(f"n_best and max_answer_length must be >= 1, got {n_best} and {max_answer_length}")
    threshold = 0.0 if null_threshold is None else float(null_threshold)
    by_example: list[list[int]] = [[] for _ in contexts]
    for window, example in enumerate(windows.example_index):
        by_example[example].append(window)
    predictions = []
    for example, window_numbers in enumerate(by_example):
        rows = {window: _logit_rows(start_logits[window], end_logits[window], windows.offsets[window])
                for window in window_numbers}
        null_score = min((float(starts[windows.cls_index[window]] + ends[windows.cls_index[window]])
                          for window, (starts, ends) in rows.items()), default=float("inf"))
        best = _best_over_windows(rows, windows, n_best, max_answer_length)
        if best is None:
            predictions.append(SpanPrediction("", 0, 0, float("-inf"), null_score))
            continue
        score, start, end = best
        if allow_impossible and null_score - score > threshold:
            predictions.append(SpanPrediction("", 0, 0, score, null_score))
        else:
            predictions.append(SpanPrediction(contexts[example][start:end], start, end, score, null_score))
    return predictions


def _logit_rows(start: Any, end: Any, offsets: Sequence[Optional[Span]]) -> tuple[np.ndarray, np.ndarray]:
    """A window's start and end logits, one per token. Rows may be shorter than the padded window (a model run on
    the window without its padding) as long as they cover every context token; the missing positions get -inf."""
    rows = []
    for logits in (start, end):
        row = np.asarray(logits, dtype=np.float64).reshape(-1)[:len(offsets)]
        if any(offset is not None for offset in offsets[row.size:]):
            raise ValueError(f"a window has {len(offsets)} tokens but only {row.size} logits, which leave out "
                             f"some of its context tokens")
        rows.append(np.concatenate([row, np.full(len(offsets) - row.size, -np.inf)]))
    return rows[0], rows[1]


def _best_over_windows(rows: dict[int, tuple[np.ndarray, np.ndarray]], windows: PredictionWindows, n_best: int,
                       max_answer_length: int) -> Optional[tuple[float, int, int]]:
    """(score, start character, end character) of the example's best span: from the n-best pairs of its windows,
    or when none of them is valid, from all pairs."""
    for search in (lambda s, e, o: _top_span(s, e, o, n_best, max_answer_length),
                   lambda s, e, o: _any_span(s, e, o, max_answer_length)):
        best = None
        for window, (starts, ends) in rows.items():
            offsets = windows.offsets[window]
            found = search(starts, ends, offsets)
            if found is not None and (best is None or found[0] > best[0]):
                best = (found[0], offsets[found[1]][0], offsets[found[2]][1])
        if best is not None:
            return best
    return None
