"""How the shared training loop (harness.training.loop) trains a generation model: an encoder-decoder on (prompt,
target) with the target as the decoder's labels, a decoder-only LM on prompt + target with the loss on the target's
tokens only (harness.kinds.generation.prompts). The model computes its own loss from `labels` (PEFT's causal-LM
models pad the labels of prompt tuning's virtual tokens themselves).

The encoding depends on the model's family, which the loop learns from `for_model(model)`. A left-padded batch of a
decoder-only LM gets position ids counted from each row's first real token, so that training and generation (where
transformers counts them from the attention mask) place every token alike.

The running `train_accuracy` is the share of target tokens the model predicts (teacher-forced argmax). The
validation score that picks the best epoch is the task's headline metric (`GenerationSetup.metric`: chrF, BLEU,
ROUGE, exact match or verbaliser accuracy) of greedy outputs of the validation split, in that metric's own unit;
`early_stopping_metric: loss` is the mean loss per target token.
"""

from __future__ import annotations

from typing import Any, Optional, Sequence

from harness.kinds.generation.examples import GenerationExample
from harness.kinds.generation.prompts import IGNORED, encode_pairs


class GenerationTraining:
    score_name = "validation score (the task's metric)"
    best_validation_metric = "best_validation_score"
    train_score_metric = "train_score"
    data_parallel = False

    def __init__(self, encoder_decoder: Optional[bool] = None, positions: bool = True):
        self.encoder_decoder = encoder_decoder
        self.positions = positions

    def for_model(self, model: Any) -> "GenerationTraining":
        """The encoding for this model's family. PEFT's prompt learning ignores position ids (with a warning), so
        none are passed to such a model."""
        from harness.kinds.generation.models import is_encoder_decoder

        prompt_learning = bool(getattr(getattr(model, "active_peft_config", None), "is_prompt_learning", False))
        return GenerationTraining(is_encoder_decoder(model), positions=not prompt_learning)

    def _family(self) -> bool:
        if self.encoder_decoder is None:
            raise RuntimeError("GenerationTraining.for_model(model) was not called: the encoding depends on whether "
                               "the model is an encoder-decoder or a decoder-only LM")
        return self.encoder_decoder

    def check_settings(self, settings: Any, adversarial: Any) -> None:
        if settings.data_parallel_processes not in (None, 1):
            raise ValueError(f"data_parallel_processes={settings.data_parallel_processes}: text generation trains "
                             f"in one process; set data_parallel_processes: 1")
        if adversarial is not None:
            raise ValueError("adversarial training is not supported for text generation yet")

    def encode(self, tokenizer: Any, examples: Sequence[GenerationExample], max_length: int
               ) -> tuple[dict[str, list[Any]], list[list[int]]]:
        pairs = encode_pairs(tokenizer, examples, [example.target for example in examples], max_length,
                             self._family())
        return {"input_ids": pairs.input_ids}, pairs.labels

    def batch_labels(self, labels: Sequence[list[int]], input_ids: Any, tokenizer: Any, device: str) -> Any:
        """(labels, position ids or None): an encoder-decoder's target ids padded on the right with -100; a
        decoder's labels aligned with its padded input ids."""
        import torch

        if self._family():
            width = max(len(row) for row in labels)
            tensor = torch.full((len(labels), width), IGNORED, dtype=torch.long)
            for row, values in enumerate(labels):
                tensor[row, :len(values)] = torch.as_tensor(values, dtype=torch.long)
            return tensor.to(device), None
        width = input_ids.shape[1]
        left = getattr(tokenizer, "padding_side", "right") == "left"
        tensor = torch.full((len(labels), width), IGNORED, dtype=torch.long)
        positions = torch.zeros((len(labels), width), dtype=torch.long)
        for row, values in enumerate(labels):
            start = width - len(values) if left else 0
            tensor[row, start:start + len(values)] = torch.as_tensor(values, dtype=torch.long)
            positions[row, start:start + len(values)] = torch.arange(len(values))
        return tensor.to(device), (positions.to(device) if left and self.positions else None)

    def label_arguments(self, batch_labels: Any) -> dict[str, Any]:
        labels, positions = batch_labels
        return {"labels": labels, **({"position_ids": positions} if positions is not None else {})}

    def count_correct(self, logits: Any, batch_labels: Any, counted: int, batch_size: int) -> tuple[int, int]:
        """(target tokens predicted right, target tokens) of the batch."""
        labels, _ = batch_labels
        if not counted:
            return 0, 0
        if not self._family():
            # A decoder predicts each token from the ones before; prompt tuning's virtual tokens come first.
            logits, labels = logits[:, -labels.shape[1]:][:, :-1], labels[:, 1:]
        scored = labels != IGNORED
        correct = ((logits.detach().argmax(dim=-1) == labels) & scored).sum().item()
        return int(correct), int(scored.sum().item())

    def evaluate(self, model: Any, tokenizer: Any, examples: Sequence[GenerationExample], device: str,
                 max_length: int, batch_size: int) -> tuple[Optional[float], Optional[float]]:
        """(the headline metric of greedy outputs, mean loss per target token) on `examples`."""
        from harness.core.text_metrics import corpus_score
        from harness.kinds.generation.predictor import GenerationPredictor

        predictor = GenerationPredictor(model, tokenizer, device, max_length, batch_size)
        outputs = predictor.texts(examples)
        setup = examples[0].setup
        score = corpus_score(setup.metric, outputs, [example.references for example in examples], setup.choices)
        targets = [example.target for example in examples]
        pairs = encode_pairs(tokenizer, examples, targets, max_length, self._family())
        log_probability = sum(predictor.score_outputs(examples, targets))
        tokens = sum(sum(label != IGNORED for label in row) for row in pairs.labels)
        return score, -log_probability / max(1, tokens)
