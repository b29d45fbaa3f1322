"""Dynamic padding: a batch of pre-tokenized texts padded to its own longest member, straight into tensors.

Tokenizing once and padding per batch is what makes length-sorted batches cheap; `tokenizer.pad` on a list of
dicts costs more per batch than the model's forward pass on short texts, so the padding is done here directly.
`encode_inputs` tokenizes single texts and sentence pairs (harness.core.pairs) alike, so every model input is encoded
the same way in training, evaluation, the predictor and attacks.
"""

from __future__ import annotations

from typing import Any, Mapping, Optional, Sequence


def encode_inputs(tokenizer: Any, inputs: Sequence[Any], max_length: int) -> dict[str, list[Any]]:
    """`tokenizer(...)` of model inputs (str, or (text, text_pair) for a sentence pair), as lists in input order.

    Pairs get the tokenizer's pair encoding (token type ids, separators), truncated "longest_first" (see
    harness.core.pairs); single texts are encoded exactly as `tokenizer(texts, truncation=True, max_length=...)`.
    """
    pair_rows = [row for row, value in enumerate(inputs) if not isinstance(value, str)]
    if not pair_rows:
        return dict(tokenizer(list(inputs), truncation=True, max_length=max_length))
    from harness.core.pairs import PAIR_TRUNCATION, check_model_input

    pairs = [check_model_input(inputs[row]) for row in pair_rows]
    encoded_pairs = tokenizer([first for first, _ in pairs], [second for _, second in pairs],
                              truncation=PAIR_TRUNCATION, max_length=max_length)
    single_rows = [row for row, value in enumerate(inputs) if isinstance(value, str)]
    groups = [(pair_rows, encoded_pairs)]
    if single_rows:
        groups.append((single_rows, tokenizer([inputs[row] for row in single_rows], truncation=True,
                                              max_length=max_length)))
    names = [name for name in encoded_pairs if all(name in encoded for _, encoded in groups)]
    merged: dict[str, list[Any]] = {name: [None] * len(inputs) for name in names}
    for rows, encoded in groups:
        for name in names:
            for row, values in zip(rows, encoded[name]):
                merged[name][row] = values
    return merged


def pad_batch(encoded: Mapping[str, Sequence[Sequence[int]]], indices: Sequence[int], tokenizer: Any,
              device: str, side: Optional[str] = None) -> dict[str, Any]:
    """Tensors for the texts at `indices` of a `tokenizer(texts)` result, padded on `side` ("left" or "right";
    None: the tokenizer's side)."""
    import torch

    input_ids = [encoded["input_ids"][index] for index in indices]
    width = max(len(ids) for ids in input_ids)
    left = (side or getattr(tokenizer, "padding_side", "right")) == "left"
    batch = {}
    for name in encoded.keys():
        if name not in ("input_ids", "attention_mask", "token_type_ids"):
            continue
        fill = tokenizer.pad_token_id if name == "input_ids" else 0
        tensor = torch.full((len(indices), width), fill, dtype=torch.long)
        for row, index in enumerate(indices):
            values = torch.as_tensor(encoded[name][index], dtype=torch.long)
            if left:
                tensor[row, width - len(values):] = values
            else:
                tensor[row, :len(values)] = values
        batch[name] = tensor.to(device)
    if "attention_mask" not in batch:
        mask = torch.zeros((len(indices), width), dtype=torch.long)
        for row, ids in enumerate(input_ids):
            if left:
                mask[row, width - len(ids):] = 1
            else:
                mask[row, :len(ids)] = 1
        batch["attention_mask"] = mask.to(device)
    return batch


def cut_to_model_window(tokenizer: Any, value: Any, max_length: int) -> tuple[Any, int]:
    """The part of a model input (text, or (text, text_pair)) the model reads, and how many characters were cut.

    The model sees only the first `max_length` tokens (pairs: truncated "longest_first"), so words beyond them
    cannot change its prediction; an attack searching them pays for every copy of the whole text and finds
    nothing. Each segment is cut just after its last token that fits, so with WordPiece the cut input encodes to
    exactly the tokens the model read of the original (greedy longest-match pieces of a prefix are the same).
    An input that fits is returned unchanged, with 0.
    """
    from harness.core.pairs import PAIR_TRUNCATION

    segments = (value,) if isinstance(value, str) else tuple(value)
    if not getattr(tokenizer, "is_fast", False):
        kept = _cut_without_offsets(tokenizer, segments, max_length)
    else:
        if len(segments) == 2:
            segments = _without_far_tails(tokenizer, segments, max_length)
        truncation = True if len(segments) == 1 else PAIR_TRUNCATION
        encoded = tokenizer(*segments, truncation=truncation, max_length=max_length, return_offsets_mapping=True)
        ends = [0] * len(segments)
        for segment, (_, end) in zip(encoded.sequence_ids(), encoded["offset_mapping"]):
            if segment is not None:
                ends[segment] = max(ends[segment], end)
        kept = tuple(text if not text[end:].strip() else text[:end] for text, end in zip(segments, ends))
    removed = sum(map(len, (value,) if isinstance(value, str) else value)) - sum(map(len, kept))
    if not removed:
        return value, 0
    return (kept[0] if isinstance(value, str) else kept), removed


FAR_TAIL_CHARACTERS = 10
"""Per window token: a pair with a segment longer than this many characters per token of the window is first
cut to a few tokens past the window (see _without_far_tails)."""


def _without_far_tails(tokenizer: Any, pair: tuple[str, str], max_length: int) -> tuple[str, str]:
    """A pair with each segment cut to at most max_length (+1) of its own tokens, "longest_first" order kept.

    Why: the tokenizers library truncates a pair "longest_first" token by token; two 100,000-character
    segments took 70 s to encode with offsets (MiniLM, CPU). "longest_first" keeps at most max_length - 3
    tokens of a segment and breaks ties by which segment is longer, so each segment may first be cut to
    max_length tokens (the longer of two long ones to one more) without changing what is kept: exact for
    WordPiece, and for BPE the cut lies three tokens past the last kept one."""
    if all(len(text) <= FAR_TAIL_CHARACTERS * max_length for text in pair):
        return pair
    offsets = [tokenizer(text, add_special_tokens=False, return_offsets_mapping=True, verbose=False)["offset_mapping"]
               for text in pair]
    counts = [len(segment_offsets) for segment_offsets in offsets]
    keep = [min(count, max_length) for count in counts]
    if min(counts) > max_length and counts[0] != counts[1]:
        keep[0 if counts[0] > counts[1] else 1] += 1
    first, second = (text if kept == count else text[:segment_offsets[kept - 1][1]]
                     for text, segment_offsets, kept, count in zip(pair, offsets, keep, counts))
    return first, second


def example_in_model_window(example: Any, tokenizer: Any, max_length: int) -> tuple[Any, int]:
    """An Example cut to the part its model reads (`cut_to_model_window`), and the characters cut.

    Attacks get their examples this way: words past the window cannot change the prediction, yet a search pays
    for them in every query (one leave-one-out copy of the whole text per word: quadratic in its length). Cut,
    an attack costs what the model's window allows, whatever the text's length."""
    from harness.core.pairs import model_input, with_input

    value, cut = cut_to_model_window(tokenizer, model_input(example), max_length)
    return (with_input(example, value) if cut else example), cut


def _cut_without_offsets(tokenizer: Any, segments: tuple[str, ...], max_length: int) -> tuple[str, ...]:
    """Slow tokenizers (no offsets): each segment cut to its longest run of leading words that fits the window
    alone, found by bisection; an upper bound of what the model reads, as a pair shares the window."""
    kept = []
    for text in segments:
        words = text.split(" ")
        if len(tokenizer(text, truncation=False, verbose=False)["input_ids"]) <= max_length:
            kept.append(text)
            continue
        low, high = 0, len(words)  # the first `low` words fit; the first `high` do not
        while high - low > 1:
            middle = (low + high) // 2
            fits = len(tokenizer(" ".join(words[:middle]), truncation=False, verbose=False)["input_ids"]) <= max_length
            low, high = (middle, high) if fits else (low, middle)
        kept.append(" ".join(words[:low]))
    return tuple(kept)
