"""How the shared training loop (harness.training.loop) trains a tagger (named-entity recognition).

Words are encoded with harness.kinds.token.encoding.encode_words: the tag on each word's first subword,
IGNORE_INDEX (-100) on its other subwords and on special tokens, which the model's cross-entropy skips; the model
computes the loss. The running `train_accuracy` of an epoch is the token accuracy over labelled positions, and the
validation score that picks the best epoch is the entity F1 (seqeval's reading, harness.kinds.token.entity_metrics):
`early_stopping_metric: accuracy` means entity F1 here, `loss` the mean cross-entropy per labelled word. One
process only (the data-parallel replicas weight their slices' losses by examples, not by labelled words), and no
adversarial training (the recipes attack sequence classifiers).
"""

from __future__ import annotations

from typing import Any, Optional, Sequence

from harness.kinds.token.examples import TokenExample
from harness.modeling.batching import pad_batch

IGNORE_INDEX = -100
"""Label of positions the loss skips (harness.kinds.token.encoding.IGNORE_INDEX, torch's default)."""


class TokenTraining:
    score_name = "validation entity F1"
    best_validation_metric = "best_validation_entity_f1"
    train_score_metric = "train_entity_f1"
    data_parallel = False

    def check_settings(self, settings: Any, adversarial: Any) -> None:
        if settings.data_parallel_processes not in (None, 1):
            raise ValueError(f"data_parallel_processes={settings.data_parallel_processes}: token classification "
                             f"(NER) trains in one process; set data_parallel_processes: 1")
        if adversarial is not None:
            raise ValueError("adversarial training is not supported for token classification (NER): the attacks it "
                             "runs target sequence classifiers")

    def encode(self, tokenizer: Any, examples: Sequence[TokenExample], max_length: int
               ) -> tuple[dict[str, list[Any]], list[tuple[int, ...]]]:
        """Subword ids of the sentences, and per sentence its subword labels (the tag on each word's first
        subword, IGNORE_INDEX elsewhere)."""
        from harness.kinds.token.encoding import encode_words

        sentences = encode_words(tokenizer, [example.tokens for example in examples],
                                 [example.tags for example in examples], max_length=max_length)
        return ({"input_ids": [list(sentence.input_ids) for sentence in sentences]},
                [sentence.labels for sentence in sentences])

    def batch_labels(self, labels: Sequence[Sequence[int]], input_ids: Any, tokenizer: Any, device: str) -> Any:
        return pad_token_labels(labels, input_ids.shape[1], getattr(tokenizer, "padding_side", "right") == "left",
                                device)

    def count_correct(self, logits: Any, labels: Any, counted: int, batch_size: int) -> tuple[int, int]:
        """(correctly tagged labelled words, labelled words)."""
        labelled = labels != IGNORE_INDEX
        correct = ((logits.detach().argmax(dim=-1) == labels) & labelled).sum().item()
        return correct, int(labelled.sum().item())

    def evaluate(self, model: Any, tokenizer: Any, examples: Sequence[TokenExample], device: str, max_length: int,
                 batch_size: int) -> tuple[Optional[float], Optional[float]]:
        """(entity F1, mean cross-entropy per labelled word) of a token-classification model on `examples`.

        The loss is over the positions training labels (each word's first subword); the tags are read there too
        (harness.kinds.token.encoding.word_predictions), a word cut off by max_length counting as "O"."""
        import torch

        from harness.kinds.token.encoding import encode_words, word_predictions
        from harness.kinds.token.entity_metrics import decode_tags, entity_scores

        label_names = model_label_names(model)
        outside = label_names.index("O") if "O" in label_names else 0
        encoded = encode_words(tokenizer, [example.tokens for example in examples],
                               [example.tags for example in examples], max_length=max_length)
        order = sorted(range(len(examples)), key=lambda index: len(encoded[index].input_ids))
        left = getattr(tokenizer, "padding_side", "right") == "left"
        predicted: list[tuple[int, ...]] = [()] * len(examples)
        total_loss, labelled = 0.0, 0
        with torch.inference_mode(), torch.autocast("cuda", dtype=torch.bfloat16,
                                                    enabled=device.startswith("cuda")):
            for start in range(0, len(order), batch_size):
                batch_indices = order[start:start + batch_size]
                batch = pad_batch({"input_ids": [encoded[index].input_ids for index in batch_indices]},
                                  list(range(len(batch_indices))), tokenizer, device)
                batch_labels = pad_token_labels([encoded[index].labels for index in batch_indices],
                                                batch["input_ids"].shape[1], left, device)
                logits = model(**batch).logits.float()
                total_loss += torch.nn.functional.cross_entropy(
                    logits.reshape(-1, logits.shape[-1]), batch_labels.reshape(-1), ignore_index=IGNORE_INDEX,
                    reduction="sum").item()
                labelled += int((batch_labels != IGNORE_INDEX).sum().item())
                rows = logits.cpu().numpy()
                for row, index in enumerate(batch_indices):
                    length = len(encoded[index].input_ids)
                    values = rows[row, rows.shape[1] - length:] if left else rows[row, :length]
                    predicted[index] = word_predictions(values, encoded[index].word_ids, encoded[index].words,
                                                        outside_index=outside).tags
        scores = entity_scores([decode_tags(example.tags, label_names) for example in examples],
                               [decode_tags(tags, label_names) for tags in predicted])
        return scores.micro.f1, total_loss / max(1, labelled)


def pad_token_labels(rows: Sequence[Sequence[int]], width: int, left: bool, device: str) -> Any:
    """Subword label rows padded with IGNORE_INDEX to `width`, on the same side as pad_batch pads the ids."""
    import torch

    tensor = torch.full((len(rows), width), IGNORE_INDEX, dtype=torch.long)
    for number, row in enumerate(rows):
        values = torch.as_tensor(list(row), dtype=torch.long)
        if left:
            tensor[number, width - len(row):] = values
        else:
            tensor[number, :len(row)] = values
    return tensor.to(device)


def model_label_names(model: Any) -> tuple[str, ...]:
    """The label names a model was built with (load_base_classifier writes them into config.id2label)."""
    config = model.config
    return tuple(str(config.id2label[index]) for index in range(int(config.num_labels)))
