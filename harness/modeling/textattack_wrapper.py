"""The harness predictor as a TextAttack ModelWrapper (Predictor.textattack_wrapper()). Importing this module
imports textattack (seconds), after preparing the NLTK data its import needs."""

from __future__ import annotations

from typing import Any

import torch

from harness.core.resources import prepare_nltk_and_textattack

prepare_nltk_and_textattack()  # textattack needs NLTK stopwords to import, and must not try to download

from textattack.models.wrappers import ModelWrapper  # noqa: E402


class PredictorModelWrapper(ModelWrapper):
    """Answers TextAttack's queries through harness.modeling.predict.Predictor (dynamic padding, cache)."""

    def __init__(self, predictor: Any):
        self.predictor = predictor
        self.model = predictor.model
        self.tokenizer = predictor.tokenizer

    def __call__(self, text_input_list):
        # A sentence pair arrives as a (text, text_pair) tuple, which the predictor encodes as a pair.
        return torch.from_numpy(self.predictor.logits(list(text_input_list)))

    def to(self, device):
        # The predictor already owns device placement; TextAttack calls this when it moves attacks to a GPU.
        return self
