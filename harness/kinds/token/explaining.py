"""Explanations of a tagger's entities: which words made a token-classification model predict each entity it found.

One explanation per predicted entity (the model's tags read as the metrics read them,
harness.kinds.token.entity_metrics):
integrated gradients (Sundararajan et al. 2017, through Captum) of the entity's label logits, i.e. the logit of the
predicted tag (B-PER, then I-PER ...) at the first subword of each of its words, summed, with respect to the input
embeddings. The baseline is the one the sequence explainers use: every non-special token replaced by the pad
token. Attributions are summed over the embedding dimension, then over the subwords of each word, so each entity
gets one score per word of its sentence (the entity's own words included: a name explains itself in part).
Several entities go into one Captum call (`rows_per_call`): an entity is a row, the sentence repeated, with a
selector saying which logits it sums.

Faithfulness (`entity_faithfulness`, computed by the runner around any entity explainer): mask (the tokenizer's
unknown token) the k words outside the entity with the highest attributions and measure the drop of the entity's
label probability (the mean over its words of the predicted tag's probability), against masking k words outside
the entity drawn at random (seeded). A faithful explanation points at words that matter more than chance:
`entity_faithfulness_gain` (top-k drop minus random drop) above 0. Masking keeps the number of words, so the
entity stays where it was.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional, Sequence

from harness.attack.perturbation import text_rng
from harness.core.statistics import bootstrap_metric
from harness.core.types import Metric, StageEnvironment
from harness.explain.attribution import sum_subwords_to_words
from harness.kinds.token.entity_metrics import decode_tags, extract_entities
from harness.kinds.token.examples import TokenExample


@dataclass(frozen=True)
class EntityAttribution:
    """The attribution of one predicted entity over the words of its sentence."""

    example_id: str
    words: tuple[str, ...]
    start: int
    end: int
    """The entity's words are words[start:end]."""
    entity_type: str
    targets: tuple[int, ...]
    """The predicted tag (label index) at each of the entity's words: the logits whose sum is explained."""
    scores: tuple[float, ...]
    """One score per word of the sentence; positive pushes towards the entity's labels."""
    correct: bool
    """Whether a gold entity has this type and span."""
    convergence_delta: Optional[float] = None


@dataclass(frozen=True)
class EntityExplainOutcome:
    attributions: tuple[EntityAttribution, ...]
    metrics: tuple[Metric, ...] = ()


@dataclass(frozen=True)
class _Job:
    example: int
    start: int
    end: int
    entity_type: str
    targets: tuple[int, ...]
    correct: bool


def predicted_entities(classifier: Any, examples: Sequence[TokenExample]) -> list[_Job]:
    """Every entity the classifier predicts in the examples, in example and sentence order."""
    label_names = classifier.label_names
    predictions = classifier.predictor.tag([example.tokens for example in examples])
    jobs = []
    for number, (example, prediction) in enumerate(zip(examples, predictions)):
        gold = set(extract_entities(decode_tags(example.tags, label_names)))
        for entity in extract_entities(decode_tags(prediction.tags, label_names)):
            jobs.append(_Job(number, entity.start, entity.end, entity.type,
                             tuple(prediction.tags[entity.start:entity.end]), entity in gold))
    return jobs


def integrated_gradients_entities(classifier: Any, examples: Sequence[TokenExample], env: StageEnvironment, *,
                                  n_steps: int = 50, internal_batch_size: Optional[int] = 256,
                                  rows_per_call: int = 1) -> EntityExplainOutcome:
    """Integrated gradients of every predicted entity (see the module docstring)."""
    import torch
    from captum.attr import IntegratedGradients

    from harness.kinds.token.encoding import encode_words
    from harness.modeling.model_forwards import SelectedLogitsFromEmbeddings
    from harness.modeling.predict import pad_token_rows

    model, tokenizer, device = classifier.model, classifier.tokenizer, str(classifier.device)
    model.eval()
    jobs = predicted_entities(classifier, examples)
    encoded = encode_words(tokenizer, [example.tokens for example in examples], max_length=classifier.max_length)
    # Similar lengths share a call, so little of the n_steps work goes to padding.
    order = sorted(range(len(jobs)), key=lambda number: len(encoded[jobs[number].example].input_ids))
    left = getattr(tokenizer, "padding_side", "right") == "left"
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    embeddings = model.get_input_embeddings()
    forward = SelectedLogitsFromEmbeddings(model)
    labels = len(classifier.label_names)
    results: dict[int, EntityAttribution] = {}
    bar = env.progress(total=len(jobs), desc="explain entities", unit="entity")
    try:
        for first in range(0, len(order), rows_per_call):
            chunk = order[first:first + rows_per_call]
            rows = [encoded[jobs[number].example] for number in chunk]
            input_ids, attention_mask = pad_token_rows([row.input_ids for row in rows], pad_id, left)
            width = input_ids.shape[1]
            baseline_ids = input_ids.clone()
            selector = torch.zeros((len(chunk), width, labels))
            offsets = []
            for row, (number, sentence) in enumerate(zip(chunk, rows)):
                offset = width - len(sentence.input_ids) if left else 0
                offsets.append(offset)
                first_subword: dict[int, int] = {}
                for position, word in enumerate(sentence.word_ids):
                    if word is not None:
                        baseline_ids[row, offset + position] = pad_id  # special tokens keep their ids
                        first_subword.setdefault(word, offset + position)
                job = jobs[number]
                for word, target in zip(range(job.start, job.end), job.targets):
                    if word in first_subword:  # a truncated word has no logits (and is never predicted in one)
                        selector[row, first_subword[word], target] = 1.0
            input_ids, attention_mask = input_ids.to(device), attention_mask.to(device)
            selector = selector.to(device)
            inputs = embeddings(input_ids).detach().float().requires_grad_()
            baselines = embeddings(baseline_ids.to(device)).detach().float()
            with torch.autocast("cuda", dtype=torch.bfloat16, enabled=device.startswith("cuda")):
                attributions, deltas = IntegratedGradients(forward).attribute(
                    inputs, baselines=baselines, additional_forward_args=(attention_mask, selector), n_steps=n_steps,
                    internal_batch_size=internal_batch_size, return_convergence_delta=True)
            token_scores = (attributions.detach().float().sum(dim=-1) * attention_mask).cpu()
            for row, (number, sentence) in enumerate(zip(chunk, rows)):
                job = jobs[number]
                example = examples[job.example]
                scores = token_scores[row, offsets[row]:offsets[row] + len(sentence.input_ids)].tolist()
                results[number] = EntityAttribution(
                    example_id=example.id, words=tuple(example.tokens), start=job.start, end=job.end,
                    entity_type=job.entity_type, targets=job.targets,
                    scores=sum_subwords_to_words(sentence.word_ids, scores, len(example.tokens)),
                    correct=job.correct, convergence_delta=float(deltas[row]))
            bar.update(len(chunk))
    finally:
        bar.close()
    attributions = tuple(results[number] for number in range(len(jobs)))
    deltas = [abs(attribution.convergence_delta) for attribution in attributions]
    metrics = (Metric("mean_abs_convergence_delta", sum(deltas) / len(deltas), n=len(deltas)),) if deltas else ()
    return EntityExplainOutcome(attributions, metrics)


def entity_probability(prediction: Any, attribution: EntityAttribution) -> float:
    """Mean probability of the entity's predicted tags over its words in `prediction`."""
    values = [prediction.probabilities[word][target]
              for word, target in zip(range(attribution.start, attribution.end), attribution.targets)]
    return sum(values) / len(values)


def entity_faithfulness(classifier: Any, attributions: Sequence[EntityAttribution], *, top_k: int = 2,
                        seed: int = 0) -> tuple[list[Metric], list[dict[str, Any]]]:
    """Metrics (top-k drop, random drop, their difference, each with a bootstrap interval over entities) and one
    record per scored entity (see the module docstring). Entities without a word outside them are left out."""
    tokenizer = classifier.tokenizer
    mask_word = tokenizer.unk_token or tokenizer.mask_token or tokenizer.pad_token
    scored, sentences = [], []
    for attribution in attributions:
        outside = [word for word in range(len(attribution.words)) if not attribution.start <= word < attribution.end]
        if not outside:
            continue
        k = min(top_k, len(outside))
        top = sorted(outside, key=lambda word: -attribution.scores[word])[:k]
        rng = text_rng(seed, "entity-faithfulness",
                       f"{' '.join(attribution.words)}\x00{attribution.start}\x00{attribution.end}")
        chosen = sorted(rng.sample(outside, k))

        def masked(positions: Sequence[int]) -> tuple[str, ...]:
            return tuple(mask_word if index in positions else word for index, word in enumerate(attribution.words))

        scored.append((attribution, top, chosen))
        sentences += [attribution.words, masked(top), masked(chosen)]
    predictions = classifier.predictor.tag(sentences) if sentences else []
    records, top_drops, random_drops = [], [], []
    for number, (attribution, top, chosen) in enumerate(scored):
        original, without_top, without_random = (entity_probability(prediction, attribution)
                                                  for prediction in predictions[3 * number:3 * number + 3])
        top_drops.append(original - without_top)
        random_drops.append(original - without_random)
        records.append({"example_id": attribution.example_id, "start": attribution.start, "end": attribution.end,
                        "entity_type": attribution.entity_type, "top_words": top, "random_words": chosen,
                        "probability": original, "probability_without_top": without_top,
                        "probability_without_random": without_random})
    metrics = [bootstrap_metric("entity_topk_probability_drop", top_drops, seed=seed),
               bootstrap_metric("entity_random_probability_drop", random_drops, seed=seed),
               bootstrap_metric("entity_faithfulness_gain", [t - r for t, r in zip(top_drops, random_drops)],
                                seed=seed)]
    return metrics, records
