"""Finetuner `frozen`: a linear probe. The pretrained encoder stays frozen; only the classification head learns.

The floor every other method should beat: what the pretrained representation gives without adaptation.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness import TrainedModel, TrainingSettings, TrainRequest, hookimpl


@dataclass(frozen=True)
class FrozenConfig(TrainingSettings):
    learning_rate: float = 1e-3
    epochs: float = 5.0


class FrozenEncoderFinetuner:
    # It trains a new task head only. A language model's head is its vocabulary projection (tied to the embeddings in
    # most), not a new layer on a frozen encoder: kinds without such a head (text generation) refuse it.
    head_only = True

    def __init__(self, config: FrozenConfig):
        self.config = config

    def train(self, request: TrainRequest) -> TrainedModel:
        from harness import classification_head_parameters, load_base_classifier, train_and_save

        model, tokenizer = load_base_classifier(request.base, request.data.label_names, kind=request.kind)
        head = set(classification_head_parameters(model))
        for name, parameter in model.named_parameters():
            parameter.requires_grad = name in head
        return train_and_save(model, tokenizer, request, self.config, is_adapter=False)


@hookimpl
def register_finetuners(register):
    register("frozen", FrozenEncoderFinetuner, config=FrozenConfig,
             description="Linear probe: frozen pretrained encoder, only the classification head trains")
