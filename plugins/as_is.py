"""Finetuner `as-is`: no fine-tuning. The suite's model is tested as it is: a classifier trained elsewhere (a local
directory, a hub id, a PEFT adapter with its base), evaluated, attacked, explained and gated like a fine-tuned one.

It is the method of every model the suite marks `as_is: true`; its labels map onto the task's by name or through
`label_map:` (harness.modeling.as_is). Listed under `methods:`, it tests every base model without training (their
heads must then already fit the task).
"""

from __future__ import annotations

from dataclasses import dataclass

from harness import TrainedModel, TrainRequest, as_is_model, hookimpl


@dataclass(frozen=True)
class AsIsConfig:
    """No parameters: nothing is trained."""


class AsIsFinetuner:
    def __init__(self, config: AsIsConfig):
        self.config = config

    def train(self, request: TrainRequest) -> TrainedModel:
        return as_is_model(request)


@hookimpl
def register_finetuners(register):
    register("as-is", AsIsFinetuner, config=AsIsConfig,
             description="No fine-tuning: the model as it is (a classifier trained elsewhere)")
