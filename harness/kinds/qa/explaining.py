"""Explanations of an extractive-QA model's answers: which words of the question and of the context made the model
point at the span it answered (or made it abstain).

What is explained, per example: the model's predicted answer as the predictor reads it (harness.kinds.qa.windows):
the start logit at the answer's first token plus the end logit at its last token, in the window the answer came from
(of the windows whose context covers the answer's characters, the one that scores it highest: overlapping windows
score the same span differently). That sum is the span's score, the number `best_answers` ranks spans by, so
explaining it explains the choice. When the model abstains (answer "", SQuAD 2.0) there is no span to explain; what
decided is the null score, the start + end logit at the CLS token, taken where it is lowest over the example's
windows (the SpanPrediction's `null_score`; the first window on ties, the only one of a short context): that window's
CLS score is explained.

Methods (`explain_answers`):
- "integrated-gradients" (Sundararajan et al. 2017, through Captum) of that score with respect to the input
  embeddings, one window per call. The baseline is the one the sequence and token explainers use: every token of the
  question and the context replaced by the pad token, special tokens kept. Attributions are summed over the embedding
  dimension; Captum's convergence delta (attributions' sum minus the score's change from baseline to input) is kept.
- "feature-ablation": leave one word out: each word, all its subwords, replaced by the tokenizer's mask token (its
  unknown token where it has none); a word's score is the drop of the explained score. Positions do not move, so the
  same logits are read. One forward per word, in batches.
Both give one score per word: words are the whitespace-separated words of the question and of the part of the context
the explained window covers, a word's score the sum of its subwords' (special tokens dropped).

Metrics:
- `answer_faithfulness`: mask the k = max(1, round(fraction x words)) highest-attributed words outside the predicted
  answer, question and context words alike, and measure the drop of the explained score, against masking k words
  outside the answer drawn at random (seeded per example). Masking is occlusion's (every subword of the word becomes
  the mask token, in the explained window), so every token stays at its position and the same span is scored: masking
  the text instead (one mask token per word) shortens words of several subwords and shifts every later position, and
  on the tiny test model that shift alone moved the score by 0.2 where the masked word itself moved it by 0.0001.
  A faithful explanation points at words that matter more than chance: `answer_faithfulness_gain` above 0.
- `attribution_stability`: the same examples explained with a distractor sentence inserted into the context (an
  AddSent-style attack): the Spearman rank correlation of the scores of the context words both explanations share
  (`attribution_rank_stability`), and the share of the attacked explanation's absolute attribution mass that falls on
  the inserted words (`distractor_attribution_share`): a model fooled by the distractor tends to attend to it.
"""

from __future__ import annotations

import math
import random
import re
import warnings
from bisect import bisect_left
from dataclasses import dataclass
from typing import Any, Callable, Collection, Mapping, Optional, Sequence

from harness.core.statistics import bootstrap_metric
from harness.core.types import Metric
from harness.kinds.qa.examples import QAExample
from harness.kinds.qa.windows import cls_index, encode_windows, span_tokens

METHODS = ("integrated-gradients", "feature-ablation")

Span = tuple[int, int]


@dataclass(frozen=True)
class AnswerAttribution:
    """The attribution of one example's predicted answer (or abstention) over the words of its question and of the
    explained window's context."""

    example_id: str
    method: str
    """"integrated-gradients" or "feature-ablation"."""
    question_words: tuple[str, ...]
    question_scores: tuple[float, ...]
    context_words: tuple[str, ...]
    """The words of the context that the explained window covers (all of them for a short context)."""
    context_word_starts: tuple[int, ...]
    """Each context word's first character in the example's context."""
    context_scores: tuple[float, ...]
    answer: str
    """The predicted answer; "" when the model abstained (then the null score is explained)."""
    answer_start: int
    """The answer's first character in the context (0 when the answer is "")."""
    answer_end: int
    answer_words: tuple[int, int]
    """The answer's words are context_words[i:j]; (0, 0) when the answer is ""."""
    target_score: float
    """The explained start + end logit on the unperturbed input."""
    convergence_delta: Optional[float] = None


@dataclass(frozen=True)
class QAExplainOutcome:
    attributions: tuple[AnswerAttribution, ...]
    metrics: tuple[Metric, ...] = ()


@dataclass(frozen=True)
class _Window:
    """One window of a (question, context) pair as the model reads it, without padding, and its tokens' words."""

    input_ids: tuple[int, ...]
    token_type_ids: Optional[tuple[int, ...]]
    question_word: tuple[Optional[int], ...]
    """Per token: the index of its question word; None for context and special tokens."""
    context_word: tuple[Optional[int], ...]
    """Per token: the index of its word among all the context's words; None for question and special tokens."""
    context_span: tuple[Optional[Span], ...]
    """Per token: its characters in the context; None outside the context."""
    special: tuple[bool, ...]
    """Per token: whether it is a special token (CLS, SEP ...), which the baseline keeps."""
    cls: int
    """The position of the CLS token, where the model scores "no answer"."""


@dataclass(frozen=True)
class _Target:
    """What is explained for one example: a window and the positions whose start and end logits are summed."""

    window: _Window
    start: int
    end: int
    score: float


def _words(text: str) -> list[tuple[str, int, int]]:
    """The whitespace-separated words of `text` with their (start, end) characters."""
    return [(match.group(), match.start(), match.end()) for match in re.finditer(r"\S+", text)]


def _word_of(starts: Sequence[int], ends: Sequence[int], span: Span) -> Optional[int]:
    """The word that a token's characters fall in (the last word starting before the token ends, if the token
    reaches into it); None for a token of whitespace only. Tokens whose offsets include a leading space still land
    on their word."""
    index = bisect_left(starts, span[1] if span[1] > span[0] else span[0] + 1) - 1
    return index if index >= 0 and ends[index] > span[0] else None


def _encode_windows(tokenizer: Any, question: str, context: str, max_length: int, stride: int) -> list[_Window]:
    """The windows of one example, exactly as the predictor encodes them (harness.kinds.qa.windows), with each
    token's word in the (left-stripped, as the windows strip it) question or in the context."""
    question = question.lstrip()
    encoding, context_id = encode_windows(tokenizer, [question], [context], max_length, stride)
    words = {context_id: _words(context), 1 - context_id: _words(question)}
    bounds = {sequence: ([start for _, start, _ in found], [end for _, _, end in found])
              for sequence, found in words.items()}
    windows = []
    for number, ids in enumerate(encoding["input_ids"]):
        real = [position for position, value in enumerate(encoding["attention_mask"][number]) if value]
        sequence_ids = encoding.sequence_ids(number)
        offsets = encoding["offset_mapping"][number]
        question_word: list[Optional[int]] = []
        context_word: list[Optional[int]] = []
        context_span: list[Optional[Span]] = []
        for position in real:
            sequence, span = sequence_ids[position], tuple(offsets[position])
            word = None if sequence is None else _word_of(*bounds[sequence], span)
            question_word.append(word if sequence == 1 - context_id else None)
            context_word.append(word if sequence == context_id else None)
            context_span.append(span if sequence == context_id else None)
        types = encoding.get("token_type_ids")
        row_ids = [ids[position] for position in real]
        windows.append(_Window(tuple(row_ids), None if types is None else tuple(types[number][p] for p in real),
                               tuple(question_word), tuple(context_word), tuple(context_span),
                               tuple(sequence_ids[position] is None for position in real),
                               cls_index(tokenizer, row_ids)))
    return windows


def _model_inputs(window: _Window, rows: Any, device: str) -> dict[str, Any]:
    """Keyword arguments of the model for `rows` (token ids of the window, or its embeddings): no attention mask,
    since a window without padding attends to all its tokens; token type ids where the tokenizer makes them."""
    import torch

    arguments = {"inputs_embeds" if rows.dim() == 3 else "input_ids": rows}
    if window.token_type_ids is not None:
        arguments["token_type_ids"] = torch.tensor([window.token_type_ids], device=device).expand(rows.shape[0], -1)
    return arguments


def _span_scores(model: Any, window: _Window, rows: Sequence[Sequence[int]], start: int, end: int, device: str,
                 batch_size: int) -> list[float]:
    """start logit at `start` + end logit at `end` for each row of token ids (the window's, perhaps masked)."""
    import torch

    scores: list[float] = []
    with torch.inference_mode(), torch.autocast("cuda", dtype=torch.bfloat16, enabled=device.startswith("cuda")):
        for first in range(0, len(rows), batch_size):
            ids = torch.tensor([list(row) for row in rows[first:first + batch_size]], device=device)
            outputs = model(**_model_inputs(window, ids, device))
            scores += (outputs.start_logits[:, start].float() + outputs.end_logits[:, end].float()).cpu().tolist()
    return scores


def _locate(model: Any, windows: Sequence[_Window], span: Optional[Span], device: str) -> Optional[_Target]:
    """The explained score, as the predictor chose it over the windows: of the span (characters) in the window that
    scores it highest among those whose context covers it (overlapping windows score the same span differently), or
    with no span, the CLS score of the window where it is lowest (the prediction's null score). The first window on
    ties. None when no window covers the span."""
    best = None
    for window in windows:
        tokens = (window.cls, window.cls) if span is None else span_tokens(window.context_span, *span)
        if tokens is None:
            continue
        score = _span_scores(model, window, [window.input_ids], *tokens, device, 1)[0]
        if best is None or (score < best.score if span is None else score > best.score):
            best = _Target(window, *tokens, score)
    return best


def _mask_id(tokenizer: Any) -> int:
    for token in (tokenizer.mask_token_id, tokenizer.unk_token_id, tokenizer.pad_token_id):
        if token is not None:
            return int(token)
    return 0


def _integrated_gradients(model: Any, target: _Target, tokenizer: Any, device: str, n_steps: int,
                          internal_batch_size: Optional[int]) -> tuple[list[float], float]:
    """Token scores (summed over the embedding dimension) and the convergence delta of the target's score."""
    import torch
    from captum.attr import IntegratedGradients

    window = target.window
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    baseline_ids = [token if special else pad_id for token, special in zip(window.input_ids, window.special)]
    embeddings = model.get_input_embeddings()  # a PEFT wrapper hands on its base model's
    with torch.no_grad():
        inputs = embeddings(torch.tensor([window.input_ids], device=device)).float()
        baselines = embeddings(torch.tensor([baseline_ids], device=device)).float()

    def forward(inputs_embeds: Any) -> Any:
        outputs = model(**_model_inputs(window, inputs_embeds, device))
        return outputs.start_logits[:, target.start].float() + outputs.end_logits[:, target.end].float()

    with torch.enable_grad(), torch.autocast("cuda", dtype=torch.bfloat16, enabled=device.startswith("cuda")):
        attributions, delta = IntegratedGradients(forward).attribute(
            inputs.requires_grad_(), baselines=baselines, n_steps=n_steps, internal_batch_size=internal_batch_size,
            return_convergence_delta=True)
    return attributions.detach().float().sum(dim=-1)[0].cpu().tolist(), float(delta[0])


def _masked_row(window: _Window, question_words: Collection[int], context_words: Collection[int],
                mask_id: int) -> list[int]:
    """The window's token ids with every subword of the given words (question word indices, and indices among all
    the context's words) replaced by `mask_id`: positions stay where they were."""
    return [mask_id if question in question_words or context in context_words else token
            for token, question, context in zip(window.input_ids, window.question_word, window.context_word)]


def _occlusion(model: Any, target: _Target, tokenizer: Any, device: str, batch_size: int,
               question_words: int, context_words: Sequence[int]) -> tuple[list[float], list[float]]:
    """(question word scores, scores of `context_words`): the target score's drop when the word is masked."""
    mask_id = _mask_id(tokenizer)
    rows = [_masked_row(target.window, {word}, (), mask_id) for word in range(question_words)]
    rows += [_masked_row(target.window, (), {word}, mask_id) for word in context_words]
    drops = [target.score - score
             for score in _span_scores(model, target.window, rows, target.start, target.end, device, batch_size)]
    return drops[:question_words], drops[question_words:]


def _sum_to_words(token_words: Sequence[Optional[int]], token_scores: Sequence[float], first: int,
                  count: int) -> tuple[float, ...]:
    """Per word first..first+count-1, the sum of its tokens' scores."""
    scores = [0.0] * count
    for word, score in zip(token_words, token_scores):
        if word is not None and first <= word < first + count:
            scores[word - first] += float(score)
    return tuple(scores)


def _explain_one(classifier: Any, example: QAExample, prediction: Any, method: str, n_steps: int,
                 internal_batch_size: Optional[int]) -> AnswerAttribution:
    model, tokenizer, device = classifier.model, classifier.tokenizer, str(classifier.device)
    stride = classifier.predictor.settings.stride(classifier.max_length)
    windows = _encode_windows(tokenizer, example.question, example.context, classifier.max_length, stride)
    span = (prediction.start, prediction.end) if prediction.text else None
    target = _locate(model, windows, span, device)
    if target is None:
        raise ValueError(f"example {example.id!r}: no window holds the predicted answer {prediction.text!r} at "
                         f"characters {prediction.start}-{prediction.end}")
    window = target.window
    question_words = _words(example.question.lstrip())
    context_words = _words(example.context)
    covered = [word for word in window.context_word if word is not None]
    first, last = (min(covered), max(covered) + 1) if covered else (0, 0)
    delta = None
    if method == "integrated-gradients":
        token_scores, delta = _integrated_gradients(model, target, tokenizer, device, n_steps, internal_batch_size)
        question_scores = _sum_to_words(window.question_word, token_scores, 0, len(question_words))
        context_scores = _sum_to_words(window.context_word, token_scores, first, last - first)
    else:
        batch_size = getattr(classifier.predictor, "batch_size", 32)
        question_list, context_list = _occlusion(model, target, tokenizer, device, batch_size, len(question_words),
                                                 range(first, last))
        question_scores, context_scores = tuple(question_list), tuple(context_list)
    starts = [start for _, start, _ in context_words[first:last]]
    answer_words = (0, 0)
    if span is not None:
        inside = [index for index, (_, start, end) in enumerate(context_words[first:last])
                  if start < span[1] and end > span[0]]
        answer_words = (inside[0], inside[-1] + 1) if inside else (0, 0)
    return AnswerAttribution(
        example_id=example.id, method=method, question_words=tuple(word for word, _, _ in question_words),
        question_scores=question_scores, context_words=tuple(word for word, _, _ in context_words[first:last]),
        context_word_starts=tuple(starts), context_scores=context_scores, answer=prediction.text if span else "",
        answer_start=span[0] if span else 0, answer_end=span[1] if span else 0, answer_words=answer_words,
        target_score=target.score, convergence_delta=delta)


def explain_answers(classifier: Any, examples: Sequence[QAExample], method: str, *, allow_impossible: bool,
                    n_steps: int = 50, internal_batch_size: Optional[int] = 64,
                    progress: Optional[Callable[..., Any]] = None) -> QAExplainOutcome:
    """One AnswerAttribution per example, in order, of the classifier's predicted answer (see the module docstring).
    `allow_impossible`: the task has unanswerable questions, so the model may abstain (its null score is explained
    then). `progress`: StageEnvironment.progress, or None. The model's mode is left as it was."""
    if method not in METHODS:
        raise ValueError(f"unknown QA explanation method {method!r}; expected one of {', '.join(METHODS)}")
    model = classifier.model
    was_training = model.training
    model.eval()
    bar = progress(total=len(examples), desc=f"explain answers ({method})", unit="example") if progress else None
    attributions = []
    try:
        predictions = classifier.predictor.answer_examples(examples, allow_impossible)
        for example, prediction in zip(examples, predictions):
            attributions.append(_explain_one(classifier, example, prediction, method, n_steps, internal_batch_size))
            if bar is not None:
                bar.update(1)
    finally:
        if bar is not None:
            bar.close()
        if was_training:
            model.train()
    deltas = [abs(attribution.convergence_delta) for attribution in attributions
              if attribution.convergence_delta is not None]
    metrics = (Metric("mean_abs_convergence_delta", sum(deltas) / len(deltas), n=len(deltas)),) if deltas else ()
    return QAExplainOutcome(tuple(attributions), metrics)


def _masked_scores(classifier: Any, example: QAExample, attribution: AnswerAttribution,
                   masks: Sequence[Sequence[int]]) -> Optional[list[float]]:
    """The explained score unmasked, then with each set of words masked (indices over the attribution's question
    words, then its context words), in the window the attribution explains; None when no window holds its answer."""
    stride = classifier.predictor.settings.stride(classifier.max_length)
    windows = _encode_windows(classifier.tokenizer, example.question, example.context, classifier.max_length, stride)
    span = (attribution.answer_start, attribution.answer_end) if attribution.answer else None
    target = _locate(classifier.model, windows, span, str(classifier.device))
    if target is None:
        return None
    index_of_start = {start: index for index, (_, start, _) in enumerate(_words(example.context))}
    asked, mask_id = len(attribution.question_words), _mask_id(classifier.tokenizer)
    rows = [_masked_row(target.window, {index for index in masked if index < asked},
                        {index_of_start[attribution.context_word_starts[index - asked]]
                         for index in masked if index >= asked}, mask_id) for masked in masks]
    return [target.score] + _span_scores(classifier.model, target.window, rows, target.start, target.end,
                                         str(classifier.device), len(rows))


def answer_faithfulness(classifier: Any, examples: Sequence[QAExample], attributions: Sequence[AnswerAttribution], *,
                        seed: int, fraction: float = 0.2) -> tuple[list[Metric], list[dict[str, Any]]]:
    """Metrics (the top-k drop, the random-k drop and their difference, each with a bootstrap interval over examples)
    and one record per scored example (see the module docstring). `attributions` come from `explain_answers` with this
    classifier; examples without a word outside the answer, or whose answer no window holds, are left out."""
    by_id = {example.id: example for example in examples}
    model = classifier.model
    was_training = model.training
    model.eval()
    records: list[dict[str, Any]] = []
    try:
        for attribution in attributions:
            example = by_id[attribution.example_id]
            asked = len(attribution.question_words)
            scores = attribution.question_scores + attribution.context_scores
            words = attribution.question_words + attribution.context_words
            answer = range(asked + attribution.answer_words[0], asked + attribution.answer_words[1])
            outside = [index for index in range(len(words)) if index not in answer]
            if not outside:
                continue
            k = min(len(outside), max(1, round(fraction * len(words))))
            top = sorted(sorted(outside, key=lambda index: -scores[index])[:k])
            chosen = sorted(random.Random(f"{seed}:{attribution.example_id}").sample(outside, k))
            scored = _masked_scores(classifier, example, attribution, (top, chosen))
            if scored is None:
                continue
            original, without_top, without_random = scored
            records.append({"example_id": attribution.example_id, "answer": attribution.answer, "k": k,
                            "top_words": [words[index] for index in top], "top_positions": top,
                            "random_words": [words[index] for index in chosen], "random_positions": chosen,
                            "score": original, "score_without_top": without_top,
                            "score_without_random": without_random, "top_drop": original - without_top,
                            "random_drop": original - without_random})
    finally:
        if was_training:
            model.train()
    top_drops = [record["top_drop"] for record in records]
    random_drops = [record["random_drop"] for record in records]
    metrics = [bootstrap_metric("answer_faithfulness_top_drop", top_drops, seed=seed),
               bootstrap_metric("answer_faithfulness_random_drop", random_drops, seed=seed),
               bootstrap_metric("answer_faithfulness_gain", [t - r for t, r in zip(top_drops, random_drops)],
                                seed=seed)]
    return metrics, records


def _stability_record(clean: AnswerAttribution, attacked: AnswerAttribution, inserted: Span) -> dict[str, Any]:
    """Spearman correlation of the shared context words' scores and the inserted words' share of the attacked
    attribution's absolute mass, for one example."""
    from scipy.stats import spearmanr

    begin, end = inserted
    length = end - begin
    clean_scores = {(start, word): score for word, start, score in
                    zip(clean.context_words, clean.context_word_starts, clean.context_scores)}
    pairs, on_inserted = [], 0.0
    for word, start, score in zip(attacked.context_words, attacked.context_word_starts, attacked.context_scores):
        if begin <= start < end:
            on_inserted += abs(score)
            continue
        key = (start - length if start >= end else start, word)
        if key in clean_scores:
            pairs.append((clean_scores[key], score))
    rho = float("nan")
    if len(pairs) >= 2:
        with warnings.catch_warnings():
            # Constant scores have no ranks: scipy warns and answers nan, which the caller leaves out.
            warnings.simplefilter("ignore")
            rho = float(spearmanr([a for a, _ in pairs], [b for _, b in pairs]).statistic)
    mass = sum(abs(score) for score in attacked.question_scores + attacked.context_scores)
    share = on_inserted / mass if mass > 0 else float("nan")
    return {"example_id": clean.example_id, "inserted": [begin, end], "paired_words": len(pairs),
            "rank_stability": rho, "distractor_share": share,
            "clean_answer": clean.answer, "attacked_answer": attacked.answer}


def attribution_stability(clean: Sequence[AnswerAttribution], attacked: Sequence[AnswerAttribution],
                          inserted: Mapping[str, Span]) -> tuple[list[Metric], list[dict[str, Any]]]:
    """Metrics (mean Spearman rank correlation with a bootstrap interval, mean distractor share) and one record per
    example explained both ways. `inserted[example_id]` is the (start, end) characters of the sentence inserted into
    the attacked context; attacked words before it keep their offsets, those after it move back by its length. An
    example whose correlation is undefined (fewer than two shared words, or constant scores) counts only for the
    share."""
    attacked_by_id = {attribution.example_id: attribution for attribution in attacked}
    records = [_stability_record(attribution, attacked_by_id[attribution.example_id],
                                 inserted[attribution.example_id])
               for attribution in clean if attribution.example_id in attacked_by_id
               and attribution.example_id in inserted]
    rhos = [record["rank_stability"] for record in records if not math.isnan(record["rank_stability"])]
    shares = [record["distractor_share"] for record in records if not math.isnan(record["distractor_share"])]
    return [bootstrap_metric("attribution_rank_stability", rhos),
            bootstrap_metric("distractor_attribution_share", shares)], records
