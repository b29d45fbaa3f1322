"""Dynamic padding: a batch of pre-tokenized texts padded to its own longest member, straight into tensors.

Tokenizing once and padding per batch is what makes length-sorted batches cheap; `tokenizer.pad` on a list of
dicts costs more per batch than the model's forward pass on short texts, so the padding is done here directly.
`encode_inputs` tokenizes single texts and sentence pairs (harness.core.pairs) alike, so every model input is encoded
the same way in training, evaluation, the predictor and attacks.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence


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
              device: str) -> dict[str, Any]:
    """Tensors for the texts at `indices` of a `tokenizer(texts)` result, padded on the tokenizer's side."""
    import torch

    input_ids = [encoded["input_ids"][index] for index in indices]
    width = max(len(ids) for ids in input_ids)
    left = getattr(tokenizer, "padding_side", "right") == "left"
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
