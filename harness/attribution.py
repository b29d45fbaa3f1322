"""Shared plumbing for explainers: length-grouped batches of encoded texts, subword -> word aggregation."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterator, Sequence

from harness.types import Example


@dataclass
class EncodedBatch:
    """A padded batch of examples ready for a Captum call, with what is needed to map tokens back to words."""

    examples: list[Example]
    input_ids: Any
    attention_mask: Any
    baseline_ids: Any
    """Same shape as input_ids: special tokens kept, every other token replaced by the pad token."""
    encoding: Any


def length_grouped_batches(classifier: Any, examples: Sequence[Example], batch_size: int) -> Iterator[EncodedBatch]:
    """Examples in batches of similar token length, so padding (and wasted Captum steps) stays small."""
    tokenizer = classifier.tokenizer
    lengths = [len(ids) for ids in tokenizer([e.text for e in examples], truncation=True,
                                             max_length=classifier.max_length)["input_ids"]]
    order = sorted(range(len(examples)), key=lambda index: lengths[index])
    for start in range(0, len(order), batch_size):
        batch_examples = [examples[index] for index in order[start:start + batch_size]]
        encoding = tokenizer([e.text for e in batch_examples], truncation=True, max_length=classifier.max_length,
                             padding=True, return_tensors="pt", return_offsets_mapping=True,
                             return_special_tokens_mask=True)
        input_ids = encoding["input_ids"].to(classifier.device)
        special = encoding["special_tokens_mask"].bool().to(classifier.device)
        baseline = input_ids.masked_fill(~special, tokenizer.pad_token_id)
        yield EncodedBatch(batch_examples, input_ids, encoding["attention_mask"].to(classifier.device), baseline, encoding)


def aggregate_to_words(batch: EncodedBatch, row: int, token_scores: Sequence[float], reduce: str = "sum",
                       ) -> tuple[tuple[str, ...], tuple[float, ...], tuple[tuple[int, int], ...]]:
    """Subword scores -> (words, scores, character spans) of the words the tokenizer split the text into.

    reduce="sum" adds the scores of a word's subwords (gradient methods score every subword); "first" takes the
    first subword's score (perturbation methods over word features give every subword its word's score).
    Special and padding tokens are dropped.
    """
    text = batch.examples[row].text
    offsets = batch.encoding["offset_mapping"][row].tolist()
    spans: dict[int, list] = {}  # word id -> [start, end, score], in order of first appearance
    for position, word_id in enumerate(batch.encoding.word_ids(row)):
        if word_id is None:
            continue
        start, end = offsets[position]
        if word_id not in spans:
            spans[word_id] = [start, end, float(token_scores[position])]
            continue
        span = spans[word_id]
        span[1] = end
        if reduce == "sum":
            span[2] += float(token_scores[position])
    words = tuple(text[start:end] for start, end, _ in spans.values())
    scores = tuple(score for _, _, score in spans.values())
    return words, scores, tuple((start, end) for start, end, _ in spans.values())


def word_feature_mask(batch: EncodedBatch) -> Any:
    """Captum feature mask grouping each word's subwords into one feature (1, 2, ... per row); special and
    padding tokens share feature 0, whose baseline equals the input, so perturbing it changes nothing."""
    import torch

    mask = torch.zeros(batch.input_ids.shape, dtype=torch.long)
    for row in range(batch.input_ids.shape[0]):
        for position, word_id in enumerate(batch.encoding.word_ids(row)):
            if word_id is not None:
                mask[row, position] = word_id + 1
    return mask.to(batch.input_ids.device)
