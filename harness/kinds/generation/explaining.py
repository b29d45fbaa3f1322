"""Explanations of a generation model's outputs: which words of the prompt (the instruction's, the input's, the
template's) the log-probability of the output the model generated rests on.

What is attributed is what Captum's LLM attribution attributes (`LLMAttribution` and `LLMGradientAttribution`,
sequence mode): the summed log-probability of the output's tokens (and EOS) given the prompt, teacher-forced. Captum's
LLM classes take a decoder-only model's input and output as one sequence; here one forward function
(`OutputScorer`) serves both families (an encoder-decoder reads the prompt and scores the output as its decoder's
labels; a decoder-only LM reads both as one sequence), and Captum's own methods attribute through it:

- `feature-ablation`: Captum's FeatureAblation with each prompt word a feature (all its tokens replaced by the pad
  token): a word's score is the drop of the output's log-probability without it.
- `shapley-value-sampling`: Captum's ShapleyValueSampling over the same word features (`n_samples` random word
  orderings).
- `integrated-gradients`: Captum's IntegratedGradients on the prompt's input embeddings, from the pad token's
  embedding (LLMGradientAttribution with LayerIntegratedGradients on the embedding layer computes the same), summed
  over each word's tokens; the convergence delta is recorded.

With `granularity: segments` the features are the prompt's parts (instruction, input, template) instead of its words.
Only the prompt's words are features: special tokens and a chat template's wrapping stay as they are. A prompt whose
input the window cut is explained as the model read it (harness.kinds.generation.prompts.fitted_input).

Faithfulness (`output_faithfulness`): the top 20% of words by score ablated together against as many random words
(seeded), the drop of the output's log-probability each time, as the other kinds measure it.
"""

from __future__ import annotations

import math
import random
import re
import string
from dataclasses import dataclass
from typing import Any, Callable, Optional, Sequence

from harness.core.statistics import bootstrap_metric
from harness.core.types import Metric
from harness.kinds.generation.examples import GenerationExample, GenerationSetup
from harness.kinds.generation.prompts import fitted_input, rendered_prompt, target_ids, uses_chat_template

TOP_SHARE = 0.2
"""Share of the prompt's words the faithfulness check ablates (at least one)."""
METHODS = ("feature-ablation", "shapley-value-sampling", "integrated-gradients")


@dataclass(frozen=True)
class OutputAttribution:
    """One explained output: the prompt's words, the part of the prompt each belongs to ("instruction", "input",
    "template"), each word's score, and the log-probability explained."""

    example_id: str
    output: str
    words: tuple[str, ...]
    segments: tuple[str, ...]
    scores: tuple[float, ...]
    target_log_prob: float
    method: str
    convergence_delta: Optional[float] = None


@dataclass(frozen=True)
class GenerationExplainOutcome:
    attributions: tuple[OutputAttribution, ...]
    metrics: tuple[Metric, ...] = ()


def prompt_words(setup: GenerationSetup, text: str) -> list[tuple[int, int, str]]:
    """(start, end, segment) of every word of `setup.prompt(text)`, the segment being the template field it came
    from ("instruction", "input") or "template" for the template's own words."""
    words, offset = [], 0
    for literal, field, _, _ in string.Formatter().parse(setup.template):
        pieces = [(literal, "template")]
        if field is not None:
            pieces.append((setup.instruction if field == "instruction" else text, field))
        for piece, segment in pieces:
            words += [(offset + match.start(), offset + match.end(), segment) for match in re.finditer(r"\S+", piece)]
            offset += len(piece)
    return words


@dataclass(frozen=True)
class EncodedPrompt:
    """A prompt as ids, split into the fixed ids around the prompt's words and the words' own ids (`features`),
    with the word each of those tokens belongs to."""

    prefix: list[int]
    features: list[int]
    suffix: list[int]
    word_of_token: list[int]
    words: list[tuple[str, str]]
    """(word, segment), in order."""


def encode_prompt(tokenizer: Any, example: GenerationExample, budget: int) -> EncodedPrompt:
    setup = example.setup
    text = fitted_input(tokenizer, setup, example.input, budget)
    prompt = setup.prompt(text)
    rendered = rendered_prompt(tokenizer, setup, text)
    base = max(0, rendered.find(prompt))
    encoded = tokenizer(rendered, add_special_tokens=not uses_chat_template(tokenizer, setup),
                        return_offsets_mapping=True, verbose=False)
    ids, offsets = encoded["input_ids"][-budget:], encoded["offset_mapping"][-budget:]
    spans = prompt_words(setup, text)
    owner = []
    for start, end in offsets:
        word = next((index for index, (left, right, _) in enumerate(spans)
                     if end > start and base + left < end and start < base + right), None)
        owner.append(word)
    inside = [position for position, word in enumerate(owner) if word is not None]
    if not inside:
        return EncodedPrompt(ids, [], [], [], [])
    first, last = inside[0], inside[-1] + 1
    used = sorted({owner[position] for position in inside})
    renumber = {word: number for number, word in enumerate(used)}
    # A token between words (a lone separator) belongs to the word before it.
    word_of_token, current = [], 0
    for position in range(first, last):
        current = renumber[owner[position]] if owner[position] is not None else current
        word_of_token.append(current)
    return EncodedPrompt(ids[:first], ids[first:last], ids[last:], word_of_token,
                         [(prompt[spans[word][0]:spans[word][1]], spans[word][2]) for word in used])


class OutputScorer:
    """The log-probability of one output given its prompt, as a function of the prompt words' token ids or
    embeddings (a batch of perturbed copies): Captum's forward function."""

    def __init__(self, model: Any, prompt: EncodedPrompt, output_ids: Sequence[int], encoder_decoder: bool,
                 device: str):
        import torch

        self.model, self.encoder_decoder, self.device = model, encoder_decoder, device
        self.embeddings = model.get_input_embeddings()
        self.prefix = torch.tensor([prompt.prefix], dtype=torch.long, device=device)
        self.suffix = torch.tensor([prompt.suffix], dtype=torch.long, device=device)
        self.target = torch.tensor([list(output_ids)], dtype=torch.long, device=device)

    def from_ids(self, feature_ids: Any) -> Any:
        return self.from_embeddings(self.embeddings(feature_ids))

    def from_embeddings(self, feature_embeddings: Any) -> Any:
        import torch

        rows = feature_embeddings.shape[0]
        pieces = [self.embeddings(self.prefix).expand(rows, -1, -1), feature_embeddings,
                  self.embeddings(self.suffix).expand(rows, -1, -1)]
        target = self.target.expand(rows, -1).contiguous()  # T5 views its labels flat
        length = target.shape[1]
        if self.encoder_decoder:
            prompt = torch.cat(pieces, dim=1)
            logits = self.model(inputs_embeds=prompt, attention_mask=torch.ones(prompt.shape[:2], dtype=torch.long,
                                                                                 device=self.device),
                                labels=target).logits
        else:
            sequence = torch.cat([*pieces, self.embeddings(target)], dim=1)
            logits = self.model(inputs_embeds=sequence, attention_mask=torch.ones(
                sequence.shape[:2], dtype=torch.long, device=self.device)).logits[:, -length - 1:-1]
        log_probs = torch.log_softmax(logits.float(), dim=-1)
        return log_probs.gather(-1, target.unsqueeze(-1)).squeeze(-1).sum(dim=-1)


def _word_scores(token_scores: Sequence[float], word_of_token: Sequence[int], words: int) -> list[float]:
    scores = [0.0] * words
    for score, word in zip(token_scores, word_of_token):
        scores[word] += score
    return scores


def by_segment(prompt: EncodedPrompt) -> EncodedPrompt:
    """The prompt with its parts (instruction, input, template) as the features instead of its words."""
    segments = list(dict.fromkeys(segment for _, segment in prompt.words))
    index = {segment: number for number, segment in enumerate(segments)}
    return EncodedPrompt(prompt.prefix, prompt.features, prompt.suffix,
                         [index[prompt.words[word][1]] for word in prompt.word_of_token],
                         [(segment, segment) for segment in segments])


@dataclass(frozen=True)
class AttributionSettings:
    """How `explain_outputs` attributes: the Captum method and its budget."""

    method: str
    n_steps: int = 50
    internal_batch_size: Optional[int] = None
    perturbations_per_eval: int = 16
    n_samples: int = 25


def _token_scores(settings: AttributionSettings, scorer: OutputScorer, prompt: EncodedPrompt, pad: int,
                  device: str) -> tuple[list[float], Optional[float]]:
    """Per feature token, its share of its feature's score (perturbation methods give a feature's score to its first
    token), and the convergence delta of integrated gradients."""
    import torch
    from captum.attr import FeatureAblation, IntegratedGradients, ShapleyValueSampling

    ids = torch.tensor([prompt.features], dtype=torch.long, device=device)
    if settings.method == "integrated-gradients":
        embeddings = scorer.embeddings(ids).detach()
        baseline = scorer.embeddings(torch.full_like(ids, pad)).detach()
        values, convergence = IntegratedGradients(scorer.from_embeddings).attribute(
            embeddings, baselines=baseline, n_steps=settings.n_steps,
            internal_batch_size=settings.internal_batch_size, return_convergence_delta=True)
        return values.sum(dim=-1)[0].tolist(), float(convergence[0])
    mask = torch.tensor([prompt.word_of_token], dtype=torch.long, device=device)
    with torch.no_grad():
        if settings.method == "feature-ablation":
            values = FeatureAblation(scorer.from_ids).attribute(
                ids, baselines=pad, feature_mask=mask, perturbations_per_eval=settings.perturbations_per_eval)[0]
        else:
            values = ShapleyValueSampling(scorer.from_ids).attribute(
                ids, baselines=pad, feature_mask=mask, perturbations_per_eval=settings.perturbations_per_eval,
                n_samples=settings.n_samples)[0]
    # Captum gives each of a feature's tokens the feature's score: keep one per feature.
    first = {word: position for position, word in reversed(list(enumerate(prompt.word_of_token)))}
    return [float(values[position]) if first[word] == position else 0.0
            for position, word in enumerate(prompt.word_of_token)], None


def explain_outputs(classifier: Any, examples: Sequence[GenerationExample], method: str, n_steps: int = 50,
                    internal_batch_size: Optional[int] = None, perturbations_per_eval: int = 16, n_samples: int = 25,
                    granularity: str = "words", progress: Optional[Callable[..., Any]] = None
                    ) -> GenerationExplainOutcome:
    """One attribution per example of the output the model generates for it (see the module docstring), over the
    prompt's words or (`granularity="segments"`) its parts: instruction, input, template."""
    import torch

    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    if granularity not in ("words", "segments"):
        raise ValueError(f"granularity must be 'words' or 'segments', got {granularity!r}")
    settings = AttributionSettings(method, n_steps, internal_batch_size, perturbations_per_eval, n_samples)
    predictor, tokenizer, device = classifier.predictor, classifier.tokenizer, str(classifier.device)
    outputs = predictor.texts(examples, "explain (generate)")
    attributions, deltas = [], []
    bar = progress(total=len(examples), desc=f"explain {method}", unit="output") if progress else None
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    for example, output in zip(examples, outputs):
        prompt = encode_prompt(tokenizer, example, predictor.prompt_budget(example.setup))
        prompt = by_segment(prompt) if granularity == "segments" else prompt
        [output_ids] = target_ids(tokenizer, [output], example.setup.max_new_tokens, predictor.encoder_decoder)
        scorer = OutputScorer(classifier.model, prompt, output_ids, predictor.encoder_decoder, device)
        token_scores, delta = [], None
        explained = float("nan")
        if prompt.features:
            with torch.no_grad():
                explained = float(scorer.from_ids(torch.tensor([prompt.features], dtype=torch.long,
                                                               device=device))[0])
            token_scores, delta = _token_scores(settings, scorer, prompt, pad, device)
        if delta is not None:
            deltas.append(abs(delta))
        attributions.append(OutputAttribution(
            example.id, output, tuple(word for word, _ in prompt.words), tuple(segment for _, segment in prompt.words),
            tuple(_word_scores(token_scores, prompt.word_of_token, len(prompt.words))), explained, method, delta))
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    metrics = [Metric("mean_abs_convergence_delta", sum(deltas) / len(deltas), n=len(deltas))] if deltas else []
    return GenerationExplainOutcome(tuple(attributions), tuple(metrics))


def instruction_share(attribution: OutputAttribution) -> Optional[float]:
    """Share of the attribution's absolute mass on the instruction's words; None without any."""
    total = sum(abs(score) for score in attribution.scores)
    if not total or "instruction" not in attribution.segments:
        return None
    return sum(abs(score) for score, segment in zip(attribution.scores, attribution.segments)
               if segment == "instruction") / total


def output_faithfulness(classifier: Any, examples: Sequence[GenerationExample],
                        attributions: Sequence[OutputAttribution], seed: int = 0
                        ) -> tuple[list[Metric], list[dict[str, Any]]]:
    """The top TOP_SHARE of each prompt's words by score ablated together (pad tokens) against as many random words,
    the drop of the explained output's log-probability each time: `output_faithfulness_top_drop`,
    `output_faithfulness_random_drop` and their difference `output_faithfulness_gain` (bootstrap over examples),
    and one record per example."""
    import torch

    predictor, tokenizer, device = classifier.predictor, classifier.tokenizer, str(classifier.device)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    rng = random.Random(seed)
    records = []
    for example, attribution in zip(examples, attributions):
        prompt = encode_prompt(tokenizer, example, predictor.prompt_budget(example.setup))
        if not prompt.words or len(prompt.words) != len(attribution.scores):
            continue
        [output_ids] = target_ids(tokenizer, [attribution.output], example.setup.max_new_tokens,
                                  predictor.encoder_decoder)
        scorer = OutputScorer(classifier.model, prompt, output_ids, predictor.encoder_decoder, device)
        count = max(1, math.ceil(TOP_SHARE * len(prompt.words)))
        top = sorted(range(len(prompt.words)), key=lambda word: -attribution.scores[word])[:count]
        chosen = rng.sample(range(len(prompt.words)), count)
        rows = [prompt.features,
                *([pad if word in set(picked) else token for token, word in zip(prompt.features, prompt.word_of_token)]
                  for picked in (top, chosen))]
        with torch.no_grad():
            full, without_top, without_random = scorer.from_ids(torch.tensor(rows, dtype=torch.long,
                                                                             device=device)).tolist()
        records.append({"example_id": example.id, "top_words": [prompt.words[word][0] for word in top],
                        "random_words": [prompt.words[word][0] for word in chosen], "log_prob": full,
                        "top_drop": full - without_top, "random_drop": full - without_random})
    if not records:
        return [], []
    top_drops = [record["top_drop"] for record in records]
    random_drops = [record["random_drop"] for record in records]
    return [bootstrap_metric("output_faithfulness_top_drop", top_drops, seed=seed),
            bootstrap_metric("output_faithfulness_random_drop", random_drops, seed=seed),
            bootstrap_metric("output_faithfulness_gain", [a - b for a, b in zip(top_drops, random_drops)],
                             seed=seed)], records
