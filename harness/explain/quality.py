"""How good an explanation is, measured by the harness around any explainer plugin.

After an explainer has explained the test examples, the explain stage scores its attributions:

- faithfulness: does the model rely on the words ranked highest? (comprehensiveness / sufficiency AOPC, log-odds
  drop, agreement with leave-one-out), from extra queries through the predictor;
- plausibility: do the scores agree with human rationales, when the task provides them?
- stability under attack: the explainer explains the successful adversarial examples of the model's attacks, and
  each is compared with the explanation of its original on the words the two texts share;
- the model-parameter randomisation test (Adebayo et al. 2018): the explainer explains a copy of the model with
  re-initialised weights; explanations that barely change are not explaining the model.

Stability and randomisation compare the magnitude of attributions (|score|): a successful attack flips the
predicted class, and the randomised model predicts other classes too, so the explained class differs between
the two explanations and signed scores would flip sign for reasons that have nothing to do with stability.
Stability is only read beside the randomisation check: an explainer whose attributions barely depend on the
model (the same ranking for a re-initialised model) is "stable" under attack because an attack changes few words,
not because the model's reasons hold. When both are measured, `stability_meaningful` (1 or 0) says whether the
randomisation correlation stays at or under STABILITY_RANDOMIZATION_LIMIT; reports strike the stability out
otherwise, with `stability_caveat`'s reason.
Each part can be switched off in the explainer's settings (harness.explain.explainers.ExplainerSettings).

Sentence pairs: attributions cover the words of both segments (harness.core.pairs), faithfulness removes each word
from its own segment, rationales (character spans of `text`) are matched against first-segment words, and an
adversarial pair is explained as the pair the attack produced.
"""

from __future__ import annotations

import copy
import dataclasses
import itertools
import math
from dataclasses import dataclass
from typing import Any, Callable, Optional, Sequence

from harness.core.pairs import attribution_segments, model_input
from harness.core.statistics import bootstrap_metric
from harness.core.types import Example, ExplainOutcome, Metric, StageEnvironment, WordAttribution

STABILITY_RANDOMIZATION_LIMIT = 0.5
"""Above this randomisation rank correlation, stability under attack is not a property of the model.

A Spearman correlation of 0.5 between the trained model's and a re-initialised model's attribution magnitudes means
a quarter of the ranking's variance (0.5 squared) is shared with an explanation of noise weights; beyond it the
input alone (word length, position, frequency) decides most of the ranking, and an attack that edits a word or two
leaves that ranking in place whatever the model does. An explainer that follows the model sits well below
(integrated gradients on the tests' tiny BERT: 0.14); one that ignores the model sits at 1 (word lengths: 1.00, with
a "stability" of 0.92). The limit is a judgement call, not a test with a p-value: the randomisation correlation is in
the results beside the flag, so a reader can apply a stricter one."""


def stability_caveat(randomization_correlation: Optional[float]) -> Optional[str]:
    """Why an explainer's stability under attack is not meaningful, given its randomisation correlation; None when
    it is (or when the randomisation check was not run: nothing says otherwise)."""
    if randomization_correlation is None or math.isnan(randomization_correlation):
        return None
    if randomization_correlation <= STABILITY_RANDOMIZATION_LIMIT:
        return None
    return (f"not meaningful: the explainer's randomised-model correlation is {randomization_correlation:.2f} "
            f"(above {STABILITY_RANDOMIZATION_LIMIT}), so its attributions barely depend on the model and stay "
            f"put under attack whatever the model does")


def stability_meaningful(metrics: Sequence[Metric]) -> Optional[Metric]:
    """The `stability_meaningful` row (1: the stability can be read as the model's, 0: it cannot), when both the
    stability and the randomisation check were measured."""
    values = {metric.name: metric.value for metric in metrics}
    stability = values.get("attribution_rank_correlation")
    randomization = values.get("randomization_rank_correlation")
    if stability is None or randomization is None or math.isnan(stability) or math.isnan(randomization):
        return None
    return Metric("stability_meaningful", 0.0 if stability_caveat(randomization) else 1.0)


@dataclass(frozen=True)
class QualitySettings:
    faithfulness: bool = True
    stability: bool = True
    randomization_check: bool = True


def quality_settings(config: Any) -> QualitySettings:
    """The switches of an explainer's config; a third-party config without them gets every metric."""
    return QualitySettings(**{field.name: bool(getattr(config, field.name, field.default))
                              for field in dataclasses.fields(QualitySettings)})


@dataclass(frozen=True)
class AdversarialPair:
    """A successful attack on a test example: what the stability metrics compare."""

    attack: str
    original: Example
    adversarial_text: str
    adversarial_text_pair: Optional[str] = None
    """The adversarial second segment, for a sentence pair."""


@dataclass(frozen=True)
class QualityResult:
    metrics: list[Metric]
    stability_records: list[dict[str, Any]]


def word_spans(text: str, words: Sequence[str]) -> tuple[tuple[int, int], ...]:
    """Character spans of `words` found in order in `text`: for explainers that return words without spans."""
    spans = []
    position = 0
    for word in words:
        start = text.find(word, position)
        if start < 0:
            raise ValueError(f"word {word!r} of an attribution does not occur in its text {text!r}")
        spans.append((start, start + len(word)))
        position = start + len(word)
    return tuple(spans)


def pair_word_spans(texts: Sequence[str], words: Sequence[str]) -> tuple[tuple[tuple[int, int], ...], tuple[int, ...]]:
    """Spans and segments of a pair's `words` found in order in its segments (words of `text`, then of
    `text_pair`): for explainers that return a pair's words without spans."""
    spans, segments = [], []
    segment, position = 0, 0
    for word in words:
        start = texts[segment].find(word, position)
        if start < 0 and segment + 1 < len(texts):
            segment, position = segment + 1, 0
            start = texts[segment].find(word, position)
        if start < 0:
            raise ValueError(f"word {word!r} of an attribution does not occur in its texts {tuple(texts)!r}")
        spans.append((start, start + len(word)))
        segments.append(segment)
        position = start + len(word)
    return tuple(spans), tuple(segments)


def rationale_mask(spans: Sequence[tuple[int, int]], rationale: Sequence[tuple[int, int]],
                   segments: Sequence[int] = ()) -> list[bool]:
    """Which words overlap the human rationale's character spans (of `text`: a pair's second-segment words never
    do)."""
    return [(not segments or segments[index] == 0)
            and any(start < r_end and r_start < end for r_start, r_end in rationale)
            for index, (start, end) in enumerate(spans)]


def _spans_and_segments(attribution: WordAttribution,
                        example: Example) -> tuple[Sequence[tuple[int, int]], tuple[int, ...]]:
    """Character spans of the attribution's words, and for a pair the segment of each word."""
    segments = attribution_segments(attribution)
    if example.text_pair is None:
        return attribution.spans or word_spans(example.text, attribution.words), ()
    if attribution.spans and segments:
        return attribution.spans, segments
    return pair_word_spans((example.text, example.text_pair), attribution.words)


def score_explanations(explain: Callable[[Any, Sequence[Example]], ExplainOutcome], classifier: Any,
                       examples: Sequence[Example], outcome: ExplainOutcome, adversarial: Sequence[AdversarialPair],
                       settings: QualitySettings, env: StageEnvironment) -> QualityResult:
    """The quality metrics of `outcome` (the explanations of `examples`); `explain(classifier, examples)` runs
    the same explainer again, on adversarial texts or on a randomised model."""
    # Imported here: scipy takes most of a second to import, and the runner imports this module.
    from harness.explain.metrics import faithfulness_metrics, plausibility_metrics

    by_id = {example.id: example for example in examples}
    attributions = [attribution for attribution in outcome.attributions if attribution.example_id in by_id]
    located = [_spans_and_segments(attribution, by_id[attribution.example_id]) for attribution in attributions]
    spans = [word_spans_ for word_spans_, _ in located]
    metrics: list[Metric] = []
    if settings.faithfulness and attributions:
        has_pairs = any(by_id[a.example_id].text_pair is not None for a in attributions)
        metrics += faithfulness_metrics([model_input(by_id[a.example_id]) for a in attributions], spans,
                                        [a.scores for a in attributions], [a.target for a in attributions],
                                        classifier.predictor, seed=env.seed,
                                        **({"segments_per_example": [s for _, s in located]} if has_pairs else {}))
    with_rationale = [(a, word_spans_, segments) for a, (word_spans_, segments) in zip(attributions, located)
                      if by_id[a.example_id].rationale]
    if with_rationale:
        metrics += plausibility_metrics(
            [a.scores for a, _, _ in with_rationale],
            [rationale_mask(word_spans_, by_id[a.example_id].rationale, segments)
             for a, word_spans_, segments in with_rationale],
            seed=env.seed)
    stability_records: list[dict[str, Any]] = []
    if settings.stability and adversarial:
        metrics_, stability_records = _stability(explain, classifier, adversarial, attributions, env)
        metrics += metrics_
    if settings.randomization_check and attributions:
        metrics.append(_randomization(explain, classifier, examples, attributions, env))
    flag = stability_meaningful(metrics)
    if flag is not None:
        metrics.append(flag)
    return QualityResult(metrics, stability_records)


def _stability(explain: Callable, classifier: Any, adversarial: Sequence[AdversarialPair],
               attributions: Sequence[WordAttribution], env: StageEnvironment) -> tuple[list[Metric], list[dict]]:
    from harness.explain.metrics import stability_metrics

    known = {attribution.example_id: attribution for attribution in attributions}
    originals = list({pair.original.id: pair.original for pair in adversarial
                      if pair.original.id not in known}.values())
    adversarial_examples = [Example(f"{pair.original.id}~{pair.attack}", pair.adversarial_text, pair.original.label,
                                    text_pair=pair.adversarial_text_pair)
                            for pair in adversarial]
    explained = explain(classifier, originals + adversarial_examples).attributions
    explained_by_id = {**known, **{attribution.example_id: attribution for attribution in explained}}
    pairs, records = [], []
    for pair, adversarial_example in zip(adversarial, adversarial_examples):
        before, after = explained_by_id[pair.original.id], explained_by_id[adversarial_example.id]
        pairs.append((before.words, [abs(s) for s in before.scores], after.words, [abs(s) for s in after.scores]))
        record = {"example_id": pair.original.id, "attack": pair.attack, "original_text": pair.original.text,
                  "adversarial_text": pair.adversarial_text, "original_words": list(before.words),
                  "original_scores": list(before.scores), "adversarial_words": list(after.words),
                  "adversarial_scores": list(after.scores), "original_target": before.target,
                  "adversarial_target": after.target}
        if pair.original.text_pair is not None:
            record.update(original_text_pair=pair.original.text_pair, adversarial_text_pair=pair.adversarial_text_pair,
                          original_segments=list(attribution_segments(before)),
                          adversarial_segments=list(attribution_segments(after)))
        records.append(record)
    return stability_metrics(pairs, seed=env.seed), records


def _randomization(explain: Callable, classifier: Any, examples: Sequence[Example],
                   attributions: Sequence[WordAttribution], env: StageEnvironment) -> Metric:
    from harness.explain.metrics import rank_correlation_between

    randomized = randomized_classifier(classifier, env.seed)
    try:
        again = {a.example_id: a for a in explain(randomized, examples).attributions}
    finally:
        del randomized
    correlations = []
    for attribution in attributions:
        other = again.get(attribution.example_id)
        if other is None or other.words != attribution.words:
            continue
        correlation = rank_correlation_between([abs(s) for s in attribution.scores], [abs(s) for s in other.scores])
        if correlation is not None:
            correlations.append(correlation)
    return bootstrap_metric("randomization_rank_correlation", correlations, seed=env.seed)


def randomized_classifier(classifier: Any, seed: int) -> Any:
    """A copy of the classifier whose model weights are re-initialised (the model's own initialisation)."""
    import torch

    from harness.modeling.models import LoadedClassifier
    from harness.modeling.predict import Predictor

    model = copy.deepcopy(classifier.model)
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    torch.manual_seed(seed)
    base.apply(base._init_weights)
    model.eval()
    predictor = Predictor(model, classifier.tokenizer, classifier.device, max_length=classifier.max_length,
                          batch_size=classifier.predictor.batch_size)
    return LoadedClassifier(model, classifier.tokenizer, predictor, classifier.label_names, classifier.device,
                            classifier.max_length)


def round_robin(groups: Sequence[Sequence[Any]], limit: Optional[int]) -> list[Any]:
    """Up to `limit` items taking one from each group in turn (so every attack contributes)."""
    interleaved = [item for row in itertools.zip_longest(*groups) for item in row if item is not None]
    return interleaved if limit is None else interleaved[:limit]
