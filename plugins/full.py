"""Finetuner `full`: every weight of the pretrained model is trained."""

from __future__ import annotations

from dataclasses import dataclass

from harness import TrainedModel, TrainingSettings, TrainRequest, hookimpl


@dataclass(frozen=True)
class FullFinetuneConfig(TrainingSettings):
    learning_rate: float = 5e-5


class FullFinetuner:
    def __init__(self, config: FullFinetuneConfig):
        self.config = config

    def train(self, request: TrainRequest) -> TrainedModel:
        from harness import load_base_classifier, train_and_save

        model, tokenizer = load_base_classifier(request.base, request.data.label_names, kind=request.kind)
        return train_and_save(model, tokenizer, request, self.config, is_adapter=False)


@hookimpl
def register_finetuners(register):
    register("full", FullFinetuner, config=FullFinetuneConfig, description="Full fine-tuning of every weight")
