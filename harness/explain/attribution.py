"""Shared plumbing for explainers: length-grouped batches of encoded texts, subword -> word aggregation.

Sentence pairs are encoded as pairs (harness.core.pairs) and explained over both segments: their words are those of
`text` then those of `text_pair`, each span relative to its own segment, and `word_segments` says which segment
each word is in. A batch holds single texts or pairs, never both.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterator, Optional, Sequence

from harness.core.types import Example


@dataclass
class EncodedBatch:
    """A padded batch of examples ready for a Captum call, with what is needed to map tokens back to words."""

    examples: list[Example]
    input_ids: Any
    attention_mask: Any
    """The plain 0/1 attention mask (in `attribute_ids`, the forward's mask: see `forward_mask`)."""
    baseline_ids: Any
    """Same shape as input_ids: special tokens kept, every other token replaced by the pad token."""
    encoding: Any
    token_type_ids: Optional[Any] = None
    """Token type ids of a batch of sentence pairs, when the tokenizer has them; None for single texts."""
    forward_mask: Any = None
    """What the harness's forward modules take as their mask argument: the attention mask, segment-coded for
    pairs with token type ids (harness.modeling.model_forwards.segment_coded_mask)."""

    def __post_init__(self):
        if self.forward_mask is None:
            self.forward_mask = self.attention_mask
            if self.token_type_ids is not None:
                from harness.modeling.model_forwards import segment_coded_mask

                self.forward_mask = segment_coded_mask(self.attention_mask, self.token_type_ids)

    @property
    def segment_coded(self) -> bool:
        """Whether the forward's mask also carries the segments (harness.modeling.model_forwards)."""
        return self.token_type_ids is not None


def length_grouped_batches(classifier: Any, examples: Sequence[Example], batch_size: int) -> Iterator[EncodedBatch]:
    """Examples in batches of similar token length, so padding (and wasted Captum steps) stays small."""
    from harness.core.pairs import model_input
    from harness.modeling.batching import encode_inputs

    tokenizer = classifier.tokenizer
    lengths = [len(ids) for ids in encode_inputs(tokenizer, [model_input(e) for e in examples],
                                                 classifier.max_length)["input_ids"]]
    for group in ([i for i, e in enumerate(examples) if e.text_pair is None],
                  [i for i, e in enumerate(examples) if e.text_pair is not None]):
        order = sorted(group, key=lambda index: lengths[index])
        for start in range(0, len(order), batch_size):
            yield _encode_batch(classifier, [examples[index] for index in order[start:start + batch_size]])


def _encode_batch(classifier: Any, batch_examples: list[Example]) -> EncodedBatch:
    from harness.core.pairs import PAIR_TRUNCATION

    tokenizer = classifier.tokenizer
    pairs = batch_examples[0].text_pair is not None
    texts = [e.text for e in batch_examples]
    arguments = ([texts, [e.text_pair for e in batch_examples]], PAIR_TRUNCATION) if pairs else ([texts], True)
    encoding = tokenizer(*arguments[0], truncation=arguments[1], max_length=classifier.max_length, padding=True,
                         return_tensors="pt", return_offsets_mapping=True, return_special_tokens_mask=True)
    input_ids = encoding["input_ids"].to(classifier.device)
    special = encoding["special_tokens_mask"].bool().to(classifier.device)
    baseline = input_ids.masked_fill(~special, tokenizer.pad_token_id)
    token_type_ids = (encoding["token_type_ids"].to(classifier.device)
                      if pairs and "token_type_ids" in encoding else None)
    return EncodedBatch(batch_examples, input_ids, encoding["attention_mask"].to(classifier.device), baseline, encoding,
                        token_type_ids)


def _word_keys(batch: EncodedBatch, row: int) -> list[Optional[tuple[int, int]]]:
    """(segment, word id) of each token position; None for special and padding tokens."""
    word_ids = batch.encoding.word_ids(row)
    if batch.examples[row].text_pair is None:
        return [None if word_id is None else (0, word_id) for word_id in word_ids]
    return [None if word_id is None or segment is None else (segment, word_id)
            for word_id, segment in zip(word_ids, batch.encoding.sequence_ids(row))]


def aggregate_to_words(batch: EncodedBatch, row: int, token_scores: Sequence[float], reduce: str = "sum",
                       ) -> tuple[tuple[str, ...], tuple[float, ...], tuple[tuple[int, int], ...]]:
    """Subword scores -> (words, scores, character spans) of the words the tokenizer split the text into.

    reduce="sum" adds the scores of a word's subwords (gradient methods score every subword); "first" takes the
    first subword's score (perturbation methods over word features give every subword its word's score).
    Special and padding tokens are dropped. For a sentence pair: the words of both segments, in order, each span
    relative to its own segment (`word_segments` gives the segment of each word).
    """
    example = batch.examples[row]
    texts = (example.text, example.text_pair)
    offsets = batch.encoding["offset_mapping"][row].tolist()
    spans: dict[tuple[int, int], list] = {}  # (segment, word id) -> [start, end, score], in order of appearance
    for position, key in enumerate(_word_keys(batch, row)):
        if key is None:
            continue
        start, end = offsets[position]
        if key not in spans:
            spans[key] = [start, end, float(token_scores[position])]
            continue
        span = spans[key]
        span[1] = end
        if reduce == "sum":
            span[2] += float(token_scores[position])
    words = tuple(texts[segment][start:end] for (segment, _), (start, end, _) in spans.items())
    scores = tuple(score for _, _, score in spans.values())
    return words, scores, tuple((start, end) for start, end, _ in spans.values())


def word_segments(batch: EncodedBatch, row: int) -> tuple[int, ...]:
    """The segment (0 = text, 1 = text_pair) of each word `aggregate_to_words` returns for `row`."""
    return tuple(segment for segment, _ in dict.fromkeys(key for key in _word_keys(batch, row) if key is not None))


def word_feature_mask(batch: EncodedBatch) -> Any:
    """Captum feature mask grouping each word's subwords into one feature (1, 2, ... per row); special and
    padding tokens share feature 0, whose baseline equals the input, so perturbing it changes nothing. The words
    of a pair's second segment are numbered after those of the first, so features span both segments."""
    import torch

    mask = torch.zeros(batch.input_ids.shape, dtype=torch.long)
    for row in range(batch.input_ids.shape[0]):
        keys = _word_keys(batch, row)
        first_segment_words = max((key[1] for key in keys if key is not None and key[0] == 0), default=-1) + 1
        for position, key in enumerate(keys):
            if key is not None:
                mask[row, position] = key[1] + 1 + (first_segment_words if key[0] == 1 else 0)
    return mask.to(batch.input_ids.device)


def sum_subwords_to_words(word_ids: Sequence[Optional[int]], token_scores: Sequence[float],
                          words: int) -> tuple[float, ...]:
    """Per word of a pre-split sentence (token classification), the sum of its subwords' scores; 0.0 for a word
    without a subword (cut off by max_length). `word_ids` maps positions to words (None: special or padding)."""
    scores = [0.0] * words
    for position, word in enumerate(word_ids):
        if word is not None and position < len(token_scores):
            scores[word] += float(token_scores[position])
    return tuple(scores)
