"""How the shared training loop (harness.training.loop) trains a sequence classifier: the tokenizer's (pair) encoding
of each text, one class index per example, accuracy as the validation score."""

from __future__ import annotations

from typing import Any, Optional, Sequence

from harness.core.types import Example
from harness.modeling.batching import encode_inputs, pad_batch


class SequenceTraining:
    score_name = "validation accuracy"
    best_validation_metric = "best_validation_accuracy"
    train_score_metric = "train_accuracy"
    data_parallel = True
    """Whether several processes may train one model together (harness.training.data_parallel)."""

    def check_settings(self, settings: Any, adversarial: Any) -> None:
        """Every setting of harness.training.loop.TrainingSettings works for text classification."""

    def encode(self, tokenizer: Any, examples: Sequence[Example], max_length: int
               ) -> tuple[dict[str, list[Any]], list[int]]:
        """Token ids of the examples (sentence pairs with the tokenizer's pair encoding, harness.core.pairs) and their
        labels."""
        if not examples:
            return {}, []
        from harness.core.pairs import model_input

        return (encode_inputs(tokenizer, [model_input(example) for example in examples], max_length),
                [example.label for example in examples])

    def batch_labels(self, labels: Sequence[int], input_ids: Any, tokenizer: Any, device: str) -> Any:
        import torch

        return torch.tensor(list(labels), device=device)

    def count_correct(self, logits: Any, labels: Any, counted: int, batch_size: int) -> tuple[int, int]:
        """(correct predictions of this process's slice, examples of the whole batch): the processes' correct
        counts are summed before they are divided."""
        correct = (logits.detach().argmax(dim=-1) == labels).sum().item() if counted else 0
        return correct, batch_size

    def evaluate(self, model: Any, tokenizer: Any, examples: Sequence[Example], device: str, max_length: int,
                 batch_size: int) -> tuple[Optional[float], Optional[float]]:
        """(accuracy, mean cross-entropy) on `examples` with the model in its current state."""
        import torch

        from harness.core.pairs import model_input

        encoded = encode_inputs(tokenizer, [model_input(example) for example in examples], max_length)
        order = sorted(range(len(examples)), key=lambda index: len(encoded["input_ids"][index]))
        correct, total_loss = 0, 0.0
        with torch.inference_mode(), torch.autocast("cuda", dtype=torch.bfloat16,
                                                    enabled=device.startswith("cuda")):
            for start in range(0, len(order), batch_size):
                batch_indices = order[start:start + batch_size]
                batch = pad_batch(encoded, batch_indices, tokenizer, device)
                batch_labels = torch.tensor([examples[index].label for index in batch_indices], device=device)
                logits = model(**batch).logits.float()
                total_loss += torch.nn.functional.cross_entropy(logits, batch_labels, reduction="sum").item()
                correct += (logits.argmax(dim=1) == batch_labels).sum().item()
        return correct / len(examples), total_loss / len(examples)
