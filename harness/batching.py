"""Dynamic padding: a batch of pre-tokenized texts padded to its own longest member, straight into tensors.

Tokenizing once and padding per batch is what makes length-sorted batches cheap; `tokenizer.pad` on a list of
dicts costs more per batch than the model's forward pass on short texts, so the padding is done here directly.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence


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
