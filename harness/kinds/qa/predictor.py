"""The extractive-QA kind's predictor: answers to (question, context) pairs, read from a question-answering model's
start and end logits over the context's windows (harness.kinds.qa.windows).

The windows of a batch of questions are tokenized once, stripped of their padding, sorted by length and padded
per batch to the batch's longest window (dynamic padding, as harness.modeling.predict does it), run under
inference_mode with bf16 autocast on CUDA, and read back into rows as long as the windows' padded rows (-inf at
padding, where no answer can start) for `best_answers`. Answers are cached per (question, context), because the
attacks to come ask for the same inputs again and again.

What the answers depend on besides the model (`AnswerSettings`): run_qa.py's defaults (n_best 20, answers of at most
30 tokens, null threshold 0.0) and a window stride of a third of the model's max_length (run_qa.py's 128 of 384).
Whether a question may go unanswered (SQuAD 2.0) is the task's to say, not the model's: the evaluate stage passes
`allow_impossible` when any question of the task is unanswerable.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Optional, Sequence

import numpy as np

from harness.kinds.qa.examples import QAExample
from harness.kinds.qa.windows import (
    SpanPrediction,
    best_answers,
    encode_for_prediction,
    encode_for_training,
    span_tokens,
)
from harness.modeling.batching import pad_batch
from harness.modeling.predict import CachedModelPredictor

CHUNK_EXAMPLES = 512
"""Questions tokenized together: the windows of a chunk are held as padded lists of ints, so a whole SQuAD split at
once would hold gigabytes."""


@dataclass(frozen=True)
class AnswerSettings:
    """How answers are read from the logits (run_qa.py's defaults) and how contexts are cut into windows."""

    n_best: int = 20
    """Top start and end positions per window whose pairs are scored."""
    max_answer_length: int = 30
    """The longest answer, in tokens."""
    null_threshold: float = 0.0
    """With unanswerable questions: the answer is "" when the null score beats the best span's by more."""
    doc_stride: Optional[int] = None
    """Tokens consecutive windows share; None: a third of max_length."""

    def stride(self, max_length: int) -> int:
        return self.doc_stride if self.doc_stride is not None else max_length // 3

    def abstain(self, prediction: SpanPrediction) -> SpanPrediction:
        """The prediction where unanswerable questions are allowed: "" when the null score wins (as best_answers
        decides with allow_impossible)."""
        if prediction.null_score - prediction.score > self.null_threshold:
            return dataclasses.replace(prediction, text="", start=0, end=0)
        return prediction


DEFAULT_SETTINGS = AnswerSettings()


def allows_no_answer(*splits: Sequence[QAExample]) -> bool:
    """Whether a task has unanswerable questions (SQuAD 2.0): then a model may answer "" (abstain)."""
    return any(example.is_impossible for split in splits for example in split)


def unpadded_rows(inputs: dict[str, list[list[int]]]) -> tuple[dict[str, list[list[int]]], list[int]]:
    """The windows without their padding (the positions their attention mask covers), and where each begins in its
    padded row."""
    masks = inputs.get("attention_mask")
    rows: dict[str, list[list[int]]] = {name: [] for name in inputs}
    firsts = []
    for index, ids in enumerate(inputs["input_ids"]):
        real = [position for position, value in enumerate(masks[index]) if value] if masks else range(len(ids))
        first, end = (real[0], real[-1] + 1) if real else (0, 0)
        for name in inputs:
            rows[name].append(list(inputs[name][index][first:end]))
        firsts.append(first)
    return rows, firsts


def _log_softmax(row: np.ndarray) -> np.ndarray:
    shifted = row - row.max()
    return shifted - np.log(np.exp(shifted).sum())


def window_logits(model: Any, tokenizer: Any, inputs: dict[str, list[list[int]]], device: str, batch_size: int,
                  targets: Optional[Sequence[tuple[int, int]]] = None) -> tuple[np.ndarray, np.ndarray, float]:
    """(start logits, end logits) of each window, one row per window as long as its padded row, -inf at its
    padding; and with `targets` ((start, end) per window, positions in the padded rows) the summed loss over the
    windows: the mean of the start and end cross-entropy over the window's own tokens (0.0 without targets)."""
    import torch

    rows, firsts = unpadded_rows(inputs)
    lengths = [len(ids) for ids in rows["input_ids"]]
    width = max((len(ids) for ids in inputs["input_ids"]), default=0)
    starts = np.full((len(lengths), width), -np.inf, dtype=np.float32)
    ends = np.full((len(lengths), width), -np.inf, dtype=np.float32)
    order = sorted(range(len(lengths)), key=lengths.__getitem__)
    left = getattr(tokenizer, "padding_side", "right") == "left"
    loss = 0.0
    with torch.inference_mode(), torch.autocast("cuda", dtype=torch.bfloat16, enabled=device.startswith("cuda")):
        for offset in range(0, len(order), batch_size):
            batch_indices = order[offset:offset + batch_size]
            outputs = model(**pad_batch(rows, batch_indices, tokenizer, device))
            start_logits = outputs.start_logits.float().cpu().numpy()
            end_logits = outputs.end_logits.float().cpu().numpy()
            for row, index in enumerate(batch_indices):
                length, first = lengths[index], firsts[index]
                columns = slice(start_logits.shape[1] - length, None) if left else slice(0, length)
                starts[index, first:first + length] = start_logits[row, columns]
                ends[index, first:first + length] = end_logits[row, columns]
                if targets is not None:
                    start, end = targets[index]
                    loss -= 0.5 * float(_log_softmax(start_logits[row, columns])[start - first]
                                        + _log_softmax(end_logits[row, columns])[end - first])
    return starts, ends, loss


def answer_questions(model: Any, tokenizer: Any, questions: Sequence[str], contexts: Sequence[str], device: str,
                     max_length: int, batch_size: int, settings: AnswerSettings = DEFAULT_SETTINGS,
                     answers: Optional[Sequence[Optional[tuple[str, int]]]] = None
                     ) -> tuple[list[SpanPrediction], Optional[float]]:
    """The best span of each question over its context's windows (never "": `settings.abstain` reads a SQuAD 2.0
    answer off it), and with `answers` (each question's training answer as (text, start), None when unanswerable)
    the mean loss per window. The model's mode is left as it was."""
    was_training = model.training
    model.eval()
    stride = settings.stride(max_length)
    predictions: list[SpanPrediction] = []
    loss, windows_seen = 0.0, 0
    try:
        for begin in range(0, len(questions), CHUNK_EXAMPLES):
            chunk_questions = list(questions[begin:begin + CHUNK_EXAMPLES])
            chunk_contexts = list(contexts[begin:begin + CHUNK_EXAMPLES])
            windows = encode_for_prediction(tokenizer, chunk_questions, chunk_contexts, max_length, stride)
            targets = None
            if answers is not None:
                labelled = encode_for_training(tokenizer, chunk_questions, chunk_contexts,
                                               list(answers[begin:begin + CHUNK_EXAMPLES]), max_length, stride)
                targets = list(zip(labelled["start_positions"], labelled["end_positions"]))
            starts, ends, chunk_loss = window_logits(model, tokenizer, windows.inputs, device, batch_size, targets)
            predictions += best_answers(starts, ends, windows, chunk_contexts, n_best=settings.n_best,
                                        max_answer_length=settings.max_answer_length)
            loss += chunk_loss
            windows_seen += len(windows)
    finally:
        if was_training:
            model.train()
    return predictions, (loss / max(1, windows_seen) if answers is not None else None)


def gold_log_probabilities(model: Any, tokenizer: Any, questions: Sequence[str], contexts: Sequence[str],
                           answers: Sequence[tuple[int, int]], device: str, max_length: int, batch_size: int,
                           settings: AnswerSettings = DEFAULT_SETTINGS) -> list[float]:
    """How surely the model points at a given span of each context: log P(start) + log P(end) of the span's first
    and last tokens (softmax over the window), in the window that gives it the highest; -inf where no window holds
    the whole span. `answers` are (start, end) characters of each context. What an attack that inserts words lowers
    (AddAny, harness.kinds.qa.add_any); the model's mode is left as it was."""
    was_training = model.training
    model.eval()
    best = [float("-inf")] * len(questions)
    try:
        windows = encode_for_prediction(tokenizer, list(questions), list(contexts), max_length,
                                        settings.stride(max_length))
        starts, ends, _ = window_logits(model, tokenizer, windows.inputs, device, batch_size)
    finally:
        if was_training:
            model.train()
    for window, example in enumerate(windows.example_index):
        tokens = span_tokens(windows.offsets[window], *answers[example])
        if tokens is None:
            continue
        score = float(_log_softmax(starts[window][np.isfinite(starts[window])])[tokens[0] - _first(starts[window])]
                      + _log_softmax(ends[window][np.isfinite(ends[window])])[tokens[1] - _first(ends[window])])
        best[example] = max(best[example], score)
    return best


def _first(row: np.ndarray) -> int:
    """The first position of a logit row that is not padding (-inf)."""
    return int(np.argmax(np.isfinite(row)))


class QAPredictor(CachedModelPredictor):
    """Batched, cached answers of an extractive question-answering model (AutoModelForQuestionAnswering): the
    counterpart of harness.Predictor for a model that points at a span of its context."""

    def __init__(self, model: Any, tokenizer: Any, device: str, max_length: int = 384, batch_size: int = 64,
                 cache_size: int = 50_000, settings: AnswerSettings = DEFAULT_SETTINGS):
        super().__init__(model, tokenizer, device, max_length, batch_size, cache_size)
        self.settings = settings

    def answer(self, pairs: Sequence[tuple[str, str]], allow_impossible: bool = False) -> list[SpanPrediction]:
        """One SpanPrediction per (question, context), in order; with `allow_impossible` (a task with unanswerable
        questions) the answer is "" where the model's null score wins."""
        keys = []
        for pair in pairs:
            if (not isinstance(pair, tuple) or len(pair) != 2 or not all(isinstance(part, str) for part in pair)):
                raise TypeError(f"a QA input is a (question, context) tuple of strings, got {pair!r:.80}")
            keys.append(pair)
        self.queries += len(keys)
        predictions = self._cache.get_all(keys, self._forward)
        return [self.settings.abstain(prediction) for prediction in predictions] if allow_impossible else predictions

    def answer_examples(self, examples: Sequence[QAExample], allow_impossible: bool = False) -> list[SpanPrediction]:
        return self.answer([(example.question, example.context) for example in examples], allow_impossible)

    def _forward(self, keys: list[tuple[str, str]]) -> list[SpanPrediction]:
        predictions, _ = answer_questions(self.model, self.tokenizer, [question for question, _ in keys],
                                          [context for _, context in keys], self.device, self.max_length,
                                          self.batch_size, self.settings)
        self.forwards += len(keys)
        return predictions
