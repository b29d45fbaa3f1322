"""Word-level tags on a subword model: aligning labels to subwords, and predictions back to words.

NER data is tagged per word; a transformer sees subwords ("Washington" -> "washing", "##ton"). The words are
tokenized pre-split (`is_split_into_words=True`, so a fast tokenizer keeps each word's subwords together and
reports which word each came from, `word_ids()`), and:

- Training labels (`encode_words`): the first subword of each word carries the word's tag; the other subwords and
  the special tokens get -100, which PyTorch's cross-entropy ignores. This is the usual choice (BERT's paper,
  Hugging Face's run_ner): every word counts once in the loss whatever its length, and the prediction is read at
  the same place it was trained. `label_all_subwords=True` labels every subword instead (a B- tag becomes I- on
  the word's later subwords, so that a word never holds two entity starts); predictions are still read at the
  first subword.
- Predictions (`word_predictions`, `tag_sentences`): each word's tag is the argmax at its first subword, with the
  softmax there as its probabilities.
- Truncation: a sentence longer than `max_length` subwords (special tokens included) loses its last words. Words
  whose first subword is cut off are predicted "O" (`outside_index`) with probability 1, and counted
  (EncodedSentence.words_truncated, TruncationReport) so that a report can say how much of a corpus a model never
  saw. Words the tokenizer turns into no subword at all (a lone control character) are treated the same way and
  counted apart (`words_unrepresented`). Either way the gold entities there still count against the model.

Nothing here imports torch at module level; `tag_sentences` does when it runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional, Sequence

IGNORE_INDEX = -100
"""The label of subwords the loss skips (torch.nn.CrossEntropyLoss's default ignore_index)."""


@dataclass(frozen=True)
class TokenPrediction:
    """A tagger's output for one sentence: one tag index per word, optionally the probabilities of every label."""

    tags: tuple[int, ...]
    probabilities: Optional[tuple[tuple[float, ...], ...]] = None
    """Per word, the probability of each label (rows sum to 1)."""
    words_missing: int = 0
    """Words predicted "O" without being seen (cut off by truncation, or without a subword)."""


@dataclass(frozen=True)
class EncodedSentence:
    """One sentence as model input, with what maps its subwords back to words."""

    input_ids: tuple[int, ...]
    word_ids: tuple[Optional[int], ...]
    """Per subword: the index of its word, or None for special tokens."""
    labels: Optional[tuple[int, ...]]
    """Per subword: the training label, IGNORE_INDEX where the loss skips it; None when no tags were given."""
    words: int
    words_truncated: int
    """Words whose first subword was cut off by max_length (predicted "O")."""
    words_unrepresented: int
    """Words the tokenizer produced no subword for (predicted "O")."""


@dataclass(frozen=True)
class TruncationReport:
    sentences: int
    sentences_truncated: int
    words: int
    words_truncated: int
    words_unrepresented: int

    @property
    def fraction_words_truncated(self) -> float:
        return self.words_truncated / self.words if self.words else 0.0


def _first_subwords(word_ids: Sequence[Optional[int]]) -> dict[int, int]:
    """word index -> position of its first subword."""
    first: dict[int, int] = {}
    for position, word in enumerate(word_ids):
        if word is not None and word not in first:
            first[word] = position
    return first


def encode_words(tokenizer: Any, sentences: Sequence[Sequence[str]],
                 tags: Optional[Sequence[Sequence[int]]] = None, *, max_length: int = 128,
                 label_all_subwords: bool = False,
                 label_names: Optional[Sequence[str]] = None) -> list[EncodedSentence]:
    """Tokenize pre-split sentences with a fast tokenizer (truncated to `max_length` subwords, unpadded) and, when
    `tags` are given, align them to subwords (see the module docstring). `label_names` is needed only with
    `label_all_subwords` (to turn B-X into I-X on later subwords)."""
    if not getattr(tokenizer, "is_fast", False):
        raise ValueError("encode_words needs a fast tokenizer (word_ids() maps subwords to words)")
    if tags is not None and len(tags) != len(sentences):
        raise ValueError(f"{len(sentences)} sentences but {len(tags)} tag sequences")
    inside = None
    if tags is not None and label_all_subwords:
        if label_names is None:
            raise ValueError("label_all_subwords needs label_names (B- tags become I- on later subwords)")
        index = {name: position for position, name in enumerate(label_names)}
        inside = {position: index.get("I-" + name[2:], position) if name.startswith("B-") else position
                  for position, name in enumerate(label_names)}
    words = [list(sentence) for sentence in sentences]
    encoding = tokenizer(words, is_split_into_words=True, truncation=True, max_length=max_length)
    encoded = []
    for number, sentence in enumerate(words):
        input_ids = encoding["input_ids"][number]
        word_ids = encoding.word_ids(number)
        first = _first_subwords(word_ids)
        unrepresented = 0
        if len(first) < len(sentence):
            # Some words have no subword here: cut off, or empty after normalisation. Only a sentence that filled
            # max_length can have been cut, and only then is it tokenized again whole to tell the two apart.
            complete = first
            if len(input_ids) >= max_length:
                whole = tokenizer(sentence, is_split_into_words=True, verbose=False)
                complete = _first_subwords(whole.word_ids())
            unrepresented = len(sentence) - len(complete)
        truncated = len(sentence) - len(first) - unrepresented
        labels = None
        if tags is not None:
            sentence_tags = tags[number]
            if len(sentence_tags) != len(sentence):
                raise ValueError(f"sentence {number}: {len(sentence)} words but {len(sentence_tags)} tags")
            row = []
            for position, word in enumerate(word_ids):
                if word is None:
                    row.append(IGNORE_INDEX)
                elif first[word] == position:
                    row.append(sentence_tags[word])
                else:
                    row.append(inside[sentence_tags[word]] if inside is not None else IGNORE_INDEX)
            labels = tuple(row)
        encoded.append(EncodedSentence(tuple(input_ids), tuple(word_ids), labels, len(sentence), truncated,
                                       unrepresented))
    return encoded


def words_in_window(tokenizer: Any, example: Any, max_length: int) -> tuple[Any, int]:
    """A TokenExample cut after its last word with a subword in the model's window, and how many words were cut.

    Attacks get their sentences this way: the model tags the words past the window without seeing them, so a
    search that ranks every word (one masked copy of the whole sentence each) would pay for them and find
    nothing."""
    import dataclasses

    if not example.tokens:
        return example, 0
    [encoded] = encode_words(tokenizer, [example.tokens], max_length=max_length)
    if not encoded.words_truncated:
        return example, 0
    kept = max(word for word in encoded.word_ids if word is not None) + 1
    return (dataclasses.replace(example, tokens=tuple(example.tokens[:kept]), tags=tuple(example.tags[:kept])),
            len(example.tokens) - kept)


def truncation_report(encoded: Sequence[EncodedSentence]) -> TruncationReport:
    """How many sentences and words max_length cut off (their words are predicted "O")."""
    return TruncationReport(
        sentences=len(encoded), sentences_truncated=sum(1 for e in encoded if e.words_truncated),
        words=sum(e.words for e in encoded), words_truncated=sum(e.words_truncated for e in encoded),
        words_unrepresented=sum(e.words_unrepresented for e in encoded))


def word_predictions(logits: Any, word_ids: Sequence[Optional[int]], words: int, *,
                     outside_index: int = 0) -> TokenPrediction:
    """Word tags from one sentence's subword logits (shape: subwords x labels; rows past len(word_ids), i.e.
    padding, are ignored): argmax and softmax at each word's first subword; "O" (`outside_index`, probability 1)
    for a word without a subword."""
    import numpy as np

    scores = np.asarray(logits, dtype=np.float64)[:len(word_ids)]
    first = _first_subwords(word_ids)
    labels = scores.shape[1]
    tags, probabilities = [], []
    for word in range(words):
        if word in first:
            row = scores[first[word]]
            exponentials = np.exp(row - row.max())  # shifted: no overflow
            distribution = exponentials / exponentials.sum()
            tags.append(int(np.argmax(row)))
            probabilities.append(tuple(float(p) for p in distribution))
        else:
            tags.append(outside_index)
            probabilities.append(tuple(1.0 if label == outside_index else 0.0 for label in range(labels)))
    return TokenPrediction(tuple(tags), tuple(probabilities), words - len(first))


def tag_sentences(model: Any, tokenizer: Any, sentences: Sequence[Sequence[str]], *, max_length: int = 128,
                  batch_size: int = 32, device: str = "cpu", outside_index: int = 0) -> list[TokenPrediction]:
    """Word tags and probabilities of a token-classification model (e.g. AutoModelForTokenClassification) for
    pre-split sentences: batches of similar length, padded to their longest sentence only, inference_mode."""
    import torch

    encoded = encode_words(tokenizer, sentences, max_length=max_length)
    order = sorted(range(len(encoded)), key=lambda number: len(encoded[number].input_ids))
    results: list[Optional[TokenPrediction]] = [None] * len(encoded)
    model.eval()
    with torch.inference_mode():
        for start in range(0, len(order), batch_size):
            batch = order[start:start + batch_size]
            # Padded by hand to the batch's longest sentence (tokenizer.pad warns on every call with a fast one).
            longest = max(len(encoded[number].input_ids) for number in batch)
            input_ids = torch.full((len(batch), longest), tokenizer.pad_token_id or 0, dtype=torch.long)
            attention_mask = torch.zeros((len(batch), longest), dtype=torch.long)
            for row, number in enumerate(batch):
                ids = encoded[number].input_ids
                input_ids[row, :len(ids)] = torch.tensor(ids, dtype=torch.long)
                attention_mask[row, :len(ids)] = 1
            logits = model(input_ids=input_ids.to(device), attention_mask=attention_mask.to(device)).logits
            logits = logits.float().cpu().numpy()
            for row, number in enumerate(batch):
                results[number] = word_predictions(logits[row], encoded[number].word_ids, encoded[number].words,
                                                   outside_index=outside_index)
    return results  # type: ignore[return-value]
