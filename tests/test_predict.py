"""The predictor gives the same logits as a plain padded forward pass, in order, with a working cache."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from harness.core.types import ModelSource
from harness.kinds.loading import load_base_classifier
from harness.modeling.predict import Predictor

TEXTS = ["a short one", "this sentence is noticeably longer than the others in the batch , by design",
         "mid length text here", "a short one", "x"]


@pytest.fixture(scope="module")
def model_and_tokenizer(tiny_model_dir):
    torch.manual_seed(0)
    model, tokenizer = load_base_classifier(ModelSource("tiny", str(tiny_model_dir), 48), ("neg", "pos"))
    return model.eval(), tokenizer


def test_logits_match_plain_forward_with_max_length_padding(model_and_tokenizer):
    model, tokenizer = model_and_tokenizer
    predictor = Predictor(model, tokenizer, "cpu", max_length=48, batch_size=2)
    logits = predictor.logits(TEXTS)
    with torch.no_grad():
        batch = tokenizer(TEXTS, truncation=True, max_length=48, padding="max_length", return_tensors="pt")
        expected = model(**batch).logits.numpy()
    np.testing.assert_allclose(logits, expected, atol=1e-5)


def test_cache_counts_queries_and_forwards(model_and_tokenizer):
    model, tokenizer = model_and_tokenizer
    predictor = Predictor(model, tokenizer, "cpu")
    first = predictor.logits(TEXTS)
    assert predictor.queries == 5 and predictor.forwards == 4  # the duplicate text runs once
    second = predictor.logits(list(reversed(TEXTS)))
    np.testing.assert_array_equal(second, first[::-1])
    assert predictor.queries == 10 and predictor.forwards == 4
    predictor.clear_cache()
    predictor.logits(TEXTS[:1])
    assert predictor.forwards == 5


def test_probabilities_and_predictions(model_and_tokenizer):
    model, tokenizer = model_and_tokenizer
    predictor = Predictor(model, tokenizer, "cpu")
    probabilities = predictor.probabilities(TEXTS)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-6)
    np.testing.assert_array_equal(predictor.predict(TEXTS), probabilities.argmax(axis=1))
    assert predictor.logits([]).shape == (0, 2)


@pytest.mark.textattack
def test_textattack_wrapper_answers_through_the_predictor(model_and_tokenizer):
    model, tokenizer = model_and_tokenizer
    predictor = Predictor(model, tokenizer, "cpu")
    wrapper = predictor.textattack_wrapper()
    output = wrapper(TEXTS[:2])
    assert isinstance(output, torch.Tensor) and output.shape == (2, 2)
    assert predictor.queries == 2


def test_loading_a_local_model_draws_no_progress_bar_and_restores_the_setting(tiny_model_dir, capfd):
    # transformers 5 draws a "Loading weights" bar per from_pretrained (on 4.x there is none to draw): for a local
    # directory the harness hides it, and leaves transformers' (and huggingface_hub's) bars as they were.
    from transformers.utils import logging as hf_logging

    before = hf_logging.is_progress_bar_enabled()
    load_base_classifier(ModelSource("tiny", str(tiny_model_dir), 32), ("a", "b"))
    assert "Loading weights" not in capfd.readouterr().err
    assert hf_logging.is_progress_bar_enabled() == before
