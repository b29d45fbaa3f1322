"""Explanations of generated outputs (harness.kinds.generation.explaining) on tiny random T5 and GPT-2 models: the
prompt's words and their parts, feature ablation scores equal to drops measured here with the model itself,
integrated gradients' completeness, Shapley efficiency, parity with Captum's own LLMAttribution and
LLMGradientAttribution on a decoder, and the faithfulness check."""

from __future__ import annotations

import pytest

from harness.authoring.tiny_generation import TOY_INSTRUCTION, tiny_generation_model_dir, toy_translation_examples
from harness.kinds.generation.examples import GenerationExample, GenerationSetup
from harness.kinds.generation.explaining import (
    OutputScorer,
    encode_prompt,
    explain_outputs,
    output_faithfulness,
    prompt_words,
)
from harness.kinds.generation.prompts import target_ids


@pytest.fixture(scope="module")
def classifiers(tmp_path_factory):
    """Loaded tiny models (random weights: their outputs are arbitrary, which attributions explain all the same)."""
    from harness.core.types import ModelSource, TrainedModel
    from harness.kinds.loading import load_trained_classifier

    loaded = {}
    for architecture in ("gpt2", "t5", "llama-chat"):
        directory = tiny_generation_model_dir(tmp_path_factory.mktemp(architecture), architecture.split("-")[0],
                                              chat_template=architecture == "llama-chat")
        trained = TrainedModel(model_dir=directory, adapter_of=None, trainable_parameters=0, total_parameters=0,
                               train_seconds=0.0, train_examples=0, loaded_as=ModelSource("tiny", str(directory)))
        loaded[architecture] = load_trained_classifier(trained, (), "cpu", 64, 8, kind="text-generation")
    return loaded


def test_the_prompts_words_are_tagged_with_their_part_of_the_prompt():
    setup = GenerationSetup(template="Task: {instruction}\nText: {input}\nAnswer:", instruction="translate it")
    words = prompt_words(setup, "red cat")
    prompt = setup.prompt("red cat")
    assert [(prompt[start:end], segment) for start, end, segment in words] == [
        ("Task:", "template"), ("translate", "instruction"), ("it", "instruction"), ("Text:", "template"),
        ("red", "input"), ("cat", "input"), ("Answer:", "template")]


def test_special_tokens_and_the_chat_wrapping_are_not_features(classifiers):
    example = toy_translation_examples(1)[0]
    for name in ("t5", "llama-chat"):
        tokenizer = classifiers[name].tokenizer
        prompt = encode_prompt(tokenizer, example, 64)
        assert [word for word, _ in prompt.words] == example.prompt.split()
        assert tokenizer.decode(prompt.features).strip() == example.prompt.strip()
        assert prompt.prefix or prompt.suffix  # T5's </s>; the chat template's <s>[user] ... [assistant]


def _log_prob(classifier, full_ids, output_ids) -> float:
    """The output's log-probability after the prompt `full_ids`, computed here with the model alone."""
    import torch

    model = classifier.model
    with torch.no_grad():
        if model.config.is_encoder_decoder:
            logits = model(input_ids=torch.tensor([full_ids]), labels=torch.tensor([output_ids])).logits[0]
            positions = range(len(output_ids))
        else:
            logits = model(input_ids=torch.tensor([full_ids + output_ids])).logits[0]
            positions = range(len(full_ids) - 1, len(full_ids) - 1 + len(output_ids))
        log_probs = torch.log_softmax(logits.float(), dim=-1)
    return float(sum(log_probs[position, token] for position, token in zip(positions, output_ids)))


@pytest.mark.parametrize("name", ["gpt2", "t5"])
def test_each_feature_ablation_score_is_the_drop_without_that_word(name, classifiers):
    classifier = classifiers[name]
    tokenizer, pad = classifier.tokenizer, classifier.tokenizer.pad_token_id
    examples = toy_translation_examples(3, seed=4)
    outcome = explain_outputs(classifier, examples, "feature-ablation")
    for example, attribution in zip(examples, outcome.attributions):
        prompt = encode_prompt(tokenizer, example, classifier.predictor.prompt_budget(example.setup))
        [output_ids] = target_ids(tokenizer, [attribution.output], example.setup.max_new_tokens,
                                  classifier.model.config.is_encoder_decoder)
        full = _log_prob(classifier, prompt.prefix + prompt.features + prompt.suffix, output_ids)
        assert attribution.target_log_prob == pytest.approx(full, abs=1e-4)
        assert attribution.segments == tuple(segment for _, segment in prompt.words)
        for word, score in enumerate(attribution.scores):
            ablated = [pad if owner == word else token for token, owner in zip(prompt.features, prompt.word_of_token)]
            assert score == pytest.approx(full - _log_prob(classifier, prompt.prefix + ablated + prompt.suffix,
                                                           output_ids), abs=1e-3)


@pytest.mark.parametrize("name", ["gpt2", "t5"])
def test_integrated_gradients_scores_sum_to_the_change_from_the_all_pad_prompt(name, classifiers):
    classifier = classifiers[name]
    tokenizer, pad = classifier.tokenizer, classifier.tokenizer.pad_token_id
    examples = toy_translation_examples(3, seed=5)
    outcome = explain_outputs(classifier, examples, "integrated-gradients", n_steps=64)
    assert outcome.metrics[0].name == "mean_abs_convergence_delta"
    for example, attribution in zip(examples, outcome.attributions):
        prompt = encode_prompt(tokenizer, example, 64)
        [output_ids] = target_ids(tokenizer, [attribution.output], example.setup.max_new_tokens,
                                  classifier.model.config.is_encoder_decoder)
        baseline = _log_prob(classifier, prompt.prefix + [pad] * len(prompt.features) + prompt.suffix, output_ids)
        difference = attribution.target_log_prob - baseline
        # Captum's delta is the completeness error: sum of attributions minus the change.
        assert sum(attribution.scores) - difference == pytest.approx(attribution.convergence_delta, abs=1e-3)
        assert abs(attribution.convergence_delta) <= 0.05 * abs(difference) + 0.05


def one_token_per_word(classifier, max_new_tokens: int):
    """A GPT-2 prompt whose every word is one token (so word and token attributions coincide), the model's output
    for it and the scorer of that output: (example, output, scorer, the prompt words' ids)."""
    import torch

    tokenizer = classifier.tokenizer
    setup = GenerationSetup(template="{instruction} {input}", instruction="translate English to French",
                            max_new_tokens=max_new_tokens)
    example = GenerationExample("x", "red cat", ("rouge chat",), setup)
    prompt = encode_prompt(tokenizer, example, 64)
    assert len(prompt.features) == len(prompt.words) and not prompt.prefix and not prompt.suffix
    output = classifier.predictor.texts([example])[0]
    scorer = OutputScorer(classifier.model, prompt, tokenizer.encode(output, add_special_tokens=False), False, "cpu")
    return example, output, scorer, torch.tensor([prompt.features]), prompt


def test_feature_ablation_equals_captums_llm_attribution_on_a_decoder(classifiers):
    """Where every prompt word is one token, the word scores are Captum LLMAttribution(FeatureAblation)'s sequence
    attributions with TextTokenInput and the pad token as baseline (forward_in_tokens=False: one forward per
    perturbation, as here)."""
    import torch
    from captum.attr import FeatureAblation, LLMAttribution, TextTokenInput

    classifier = classifiers["gpt2"]
    tokenizer, model = classifier.tokenizer, classifier.model
    example, output, scorer, ids, prompt = one_token_per_word(classifier, 6)
    with torch.no_grad():
        ours = FeatureAblation(scorer.from_ids).attribute(
            ids, baselines=tokenizer.pad_token_id, feature_mask=torch.tensor([prompt.word_of_token]))[0]
    captum = LLMAttribution(FeatureAblation(model), tokenizer).attribute(
        TextTokenInput(example.prompt, tokenizer, baselines=tokenizer.pad_token_id), target=output,
        forward_in_tokens=False)
    assert ours.tolist() == pytest.approx(captum.seq_attr.tolist(), abs=1e-4)


def test_faithfulness_compares_the_top_words_with_random_ones(classifiers):
    classifier = classifiers["gpt2"]
    examples = toy_translation_examples(6, seed=6)
    outcome = explain_outputs(classifier, examples, "feature-ablation")
    metrics, records = output_faithfulness(classifier, examples, outcome.attributions, seed=1)
    assert [metric.name for metric in metrics] == ["output_faithfulness_top_drop", "output_faithfulness_random_drop",
                                                  "output_faithfulness_gain"]
    assert len(records) == 6
    for record, attribution in zip(records, outcome.attributions):
        best = max(range(len(attribution.scores)), key=lambda word: attribution.scores[word])
        assert attribution.words[best] in record["top_words"]
        assert len(record["top_words"]) == len(record["random_words"]) == max(1, -(-len(attribution.words) // 5))
    assert output_faithfulness(classifier, examples, outcome.attributions, seed=1)[1] == records
    assert metrics[2].value == pytest.approx(metrics[0].value - metrics[1].value)
    assert TOY_INSTRUCTION.split()[0] in outcome.attributions[0].words


@pytest.mark.parametrize("granularity", ["words", "segments"])
def test_shapley_values_over_words_or_segments_add_up_to_the_change_from_the_all_pad_prompt(granularity, classifiers):
    """Shapley value sampling is efficient: every sampled ordering's contributions add up to f(prompt) - f(all pad),
    so their mean does too; with `segments` the features are the instruction and the input."""
    classifier = classifiers["t5"]
    tokenizer, pad = classifier.tokenizer, classifier.tokenizer.pad_token_id
    examples = toy_translation_examples(2, seed=7)
    outcome = explain_outputs(classifier, examples, "shapley-value-sampling", n_samples=5, granularity=granularity)
    for example, attribution in zip(examples, outcome.attributions):
        prompt = encode_prompt(tokenizer, example, 64)
        [output_ids] = target_ids(tokenizer, [attribution.output], example.setup.max_new_tokens, True)
        baseline = _log_prob(classifier, prompt.prefix + [pad] * len(prompt.features) + prompt.suffix, output_ids)
        assert sum(attribution.scores) == pytest.approx(attribution.target_log_prob - baseline, abs=1e-3)
        if granularity == "segments":
            assert attribution.words == attribution.segments == ("instruction", "input")
        else:
            assert len(attribution.words) == len(example.prompt.split())


def test_integrated_gradients_equals_captums_llm_gradient_attribution_on_a_decoder(classifiers):
    """Where every prompt word is one token, the word scores are Captum LLMGradientAttribution's sequence
    attributions (LayerIntegratedGradients on the embedding layer, token 0 as baseline: the tiny tokenizer's pad):
    integrated gradients is linear in what it explains, so the sum of the output tokens' attributions that Captum
    computes one by one is the attribution of their summed log-probability computed here."""
    import torch
    from captum.attr import IntegratedGradients, LayerIntegratedGradients, LLMGradientAttribution, TextTokenInput

    classifier = classifiers["gpt2"]
    tokenizer, model = classifier.tokenizer, classifier.model
    assert tokenizer.pad_token_id == 0
    example, output, scorer, ids, _ = one_token_per_word(classifier, 4)
    ours = IntegratedGradients(scorer.from_embeddings).attribute(
        scorer.embeddings(ids).detach(), baselines=scorer.embeddings(torch.zeros_like(ids)).detach(),
        n_steps=50).sum(dim=-1)[0]
    captum = LLMGradientAttribution(LayerIntegratedGradients(model, model.get_input_embeddings()), tokenizer).attribute(
        TextTokenInput(example.prompt, tokenizer), target=output, n_steps=50)
    assert ours.tolist() == pytest.approx(captum.seq_attr.tolist(), abs=1e-3)
