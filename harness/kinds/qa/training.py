"""How the shared training loop (harness.training.loop) trains an extractive question-answering model.

A training row is a window (harness.kinds.qa.windows.encode_for_training): a question with a slice of its context,
labelled with the first and last tokens of the answer when the slice holds all of it, else with the CLS token ("no
answer here"), as Hugging Face's run_qa.py labels them. A long context gives several rows, so the loop plans its
steps from the rows (windows), not the examples. The model takes the labels as `start_positions` and
`end_positions` and computes its own loss (`label_arguments`); the running `train_accuracy` of an epoch is the
share of windows whose start and end the model both points at (`counted_logits`, `count_correct`).

The validation score that picks the best epoch is the SQuAD F1 (harness.kinds.qa.squad_metrics) of the answers read
from the validation windows, abstaining ("" answers) allowed where the validation split has unanswerable questions;
`early_stopping_metric: loss` is the mean cross-entropy per window (start and end averaged). One process only, and
no adversarial training (not supported for extractive QA yet).
"""

from __future__ import annotations

from typing import Any, Optional, Sequence

from harness.kinds.qa.examples import QAExample, first_answer
from harness.kinds.qa.predictor import (
    CHUNK_EXAMPLES,
    DEFAULT_SETTINGS,
    allows_no_answer,
    answer_questions,
    unpadded_rows,
)


def training_answers(examples: Sequence[QAExample]) -> list[Optional[tuple[str, int]]]:
    """The answer each example is trained on, as (text, start character); None for an unanswerable question."""
    answers = []
    for example in examples:
        answer = first_answer(example)
        answers.append((answer.text, answer.start) if answer is not None else None)
    return answers


class QATraining:
    score_name = "validation F1"
    best_validation_metric = "best_validation_f1"
    train_score_metric = "train_f1"
    data_parallel = False

    def check_settings(self, settings: Any, adversarial: Any) -> None:
        if settings.data_parallel_processes not in (None, 1):
            raise ValueError(f"data_parallel_processes={settings.data_parallel_processes}: extractive QA trains in "
                             f"one process; set data_parallel_processes: 1")
        if adversarial is not None:
            raise ValueError("adversarial training is not supported for extractive QA yet")

    def encode(self, tokenizer: Any, examples: Sequence[QAExample], max_length: int
               ) -> tuple[dict[str, list[Any]], list[tuple[int, int, int]]]:
        """The windows of the examples without padding (the loop pads each batch), and per window its label:
        (answer start token, answer end token, the window's length)."""
        from harness.kinds.qa.windows import encode_for_training

        inputs: dict[str, list[Any]] = {}
        labels: list[tuple[int, int, int]] = []
        stride = DEFAULT_SETTINGS.stride(max_length)
        for begin in range(0, len(examples), CHUNK_EXAMPLES):
            chunk = examples[begin:begin + CHUNK_EXAMPLES]
            encoded = encode_for_training(tokenizer, [example.question for example in chunk],
                                          [example.context for example in chunk], training_answers(chunk),
                                          max_length, stride)
            positions = list(zip(encoded.pop("start_positions"), encoded.pop("end_positions")))
            rows, firsts = unpadded_rows(encoded)
            for name, values in rows.items():
                inputs.setdefault(name, []).extend(values)
            labels.extend((start - first, end - first, len(ids))
                          for (start, end), first, ids in zip(positions, firsts, rows["input_ids"]))
        return inputs, labels

    def batch_labels(self, labels: Sequence[tuple[int, int, int]], input_ids: Any, tokenizer: Any,
                     device: str) -> Any:
        """(windows, 2) start and end positions in the padded batch (shifted by the padding on the left)."""
        import torch

        width = input_ids.shape[1]
        left = getattr(tokenizer, "padding_side", "right") == "left"
        return torch.tensor([(start + (width - length if left else 0), end + (width - length if left else 0))
                             for start, end, length in labels], dtype=torch.long, device=device)

    def label_arguments(self, labels: Any) -> dict[str, Any]:
        return {"start_positions": labels[:, 0], "end_positions": labels[:, 1]}

    def counted_logits(self, outputs: Any) -> Any:
        return outputs.start_logits, outputs.end_logits

    def count_correct(self, logits: Any, labels: Any, counted: int, batch_size: int) -> tuple[int, int]:
        """(windows whose start and end the model both points at, windows)."""
        start_logits, end_logits = logits
        correct = ((start_logits.detach().argmax(dim=-1) == labels[:, 0])
                   & (end_logits.detach().argmax(dim=-1) == labels[:, 1])).sum().item() if counted else 0
        return int(correct), batch_size

    def evaluate(self, model: Any, tokenizer: Any, examples: Sequence[QAExample], device: str, max_length: int,
                 batch_size: int) -> tuple[Optional[float], Optional[float]]:
        """(mean SQuAD F1 of the answers, mean loss per window) on `examples` with the model as it is."""
        from harness.kinds.qa.squad_metrics import f1

        predictions, loss = answer_questions(model, tokenizer, [example.question for example in examples],
                                             [example.context for example in examples], device, max_length,
                                             batch_size, answers=training_answers(examples))
        abstain = allows_no_answer(examples)
        scores = [f1(DEFAULT_SETTINGS.abstain(prediction).text if abstain else prediction.text,
                     [answer.text for answer in example.answers])
                  for example, prediction in zip(examples, predictions)]
        return sum(scores) / len(scores), loss
