"""Finetuner `ia3`: (IA)^3 (Liu et al. 2022) learned rescaling of keys, values and feed-forward activations."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from harness import TrainedModel, TrainingSettings, TrainRequest, hookimpl


@dataclass(frozen=True)
class IA3FinetuneConfig(TrainingSettings):
    learning_rate: float = 3e-3
    target_modules: Optional[tuple[str, ...]] = None
    """Modules whose outputs are rescaled; default per architecture (keys, values, feed-forward output)."""
    feedforward_modules: Optional[tuple[str, ...]] = None
    """Which of target_modules are feed-forward (their inputs are rescaled); needed with target_modules."""


class IA3Finetuner:
    def __init__(self, config: IA3FinetuneConfig):
        self.config = config

    def train(self, request: TrainRequest) -> TrainedModel:
        from harness import ia3_target_modules, peft_task_type, train_with_peft

        def peft_config(model):
            from peft import IA3Config

            targets, feedforward = ia3_target_modules(model.config.model_type, self.config.target_modules,
                                                      self.config.feedforward_modules)
            return IA3Config(task_type=peft_task_type(request.kind, model), target_modules=targets,
                             feedforward_modules=feedforward)

        return train_with_peft(request, self.config, peft_config)


@hookimpl
def register_finetuners(register):
    register("ia3", IA3Finetuner, config=IA3FinetuneConfig,
             description="(IA)^3: learned vectors rescaling keys, values and feed-forward activations (PEFT)")
