"""Attack `gradient-swap`: HotFlip-style gradient-guided word swaps (Ebrahimi et al. 2018) for any HF classifier.

TextAttack's HotFlip recipe only runs on its own word-LSTM; this works on Hugging Face transformers, plain or
PEFT-wrapped, encoder or decoder-only. Greedy search, one word swap per round, for each attacked example:

1. Words are the whitespace-separated pieces of the text; a word's *core* is the piece without the punctuation
   around it ("film." -> "film"), and swaps replace the core only, so punctuation and spacing survive. A word
   is attackable when its core has a letter, is not a stopword (the harness's English list; optional), lies
   inside the model's `max_length` and has not been swapped yet (each position changes at most once).
2. Candidates are whole-word tokens of the vocabulary whose surface is ASCII letters only: WordPiece tokens not
   starting with "##", byte-level BPE tokens starting with "Ġ" (a leading space), SentencePiece tokens starting
   with "▁"; special tokens are excluded. A word split into several subwords is still attackable: its whole
   core is replaced by one such token.
3. Each round, one forward and backward pass on the current text gives g_t, the gradient of the cross-entropy
   loss for the original prediction with respect to the output of `model.get_input_embeddings()` (captured by
   a forward hook, so frozen PEFT embeddings work and no parameter gradient is computed or left behind).
   Tokens are mapped to words through the fast tokenizer's character offsets. The first-order estimate of the
   loss increase when word i becomes token v is the HotFlip score, averaged over the word's subwords t:
       score(i, v) = mean_t (E[v] - E[x_t]) . g_t
   where E is the embedding module's output (so scaled embeddings are handled).
4. The `candidates_per_position` best-scored tokens at every attackable word (not the word itself) are
   verified: all candidate texts of the round go to the harness predictor in ONE batched call. The candidate
   that flips the prediction, or else lowers the original class's probability most, is kept. The search stops
   when the prediction flips, when no candidate lowers that probability, or when the swap budget
   (min(max_swaps, ceil(max_perturbed_fraction * words))) or the query budget is spent.

Sentence pairs: the segment `pair_target` names ("second", the hypothesis, by default; or "first") is attacked
as above while the other stays verbatim; every query, and the gradient pass, reads the pair encoding, and the
record keeps both segments. Word counts (words_total, the swap fraction) are those of the attacked segment.

Queries (`num_queries`) count every text the attack asks the predictor to score, the original text included,
as TextAttack counts them; gradient passes are not queries, but they are counted in `model_forwards` (texts
the model ran on), next to the predictor's forwards after its cache.
"""

from __future__ import annotations

import math
import re
import string
import time
from dataclasses import dataclass
from typing import Any, Literal, Optional, Sequence

from harness import (
    AttackOutcome,
    AttackRecord,
    Classifier,
    Example,
    HarnessError,
    StageEnvironment,
    hookimpl,
    installed_versions,
)


@dataclass(frozen=True)
class GradientSwapConfig:
    max_swaps: int = 5
    """Most words changed in one example."""
    max_perturbed_fraction: Optional[float] = 0.2
    """Most words changed as a fraction of the example's words (rounded up, as TextAttack's MaxWordsPerturbed);
    None = only max_swaps limits."""
    candidates_per_position: int = 10
    """Best first-order candidates verified with the model at each attackable word, each round."""
    skip_stopwords: bool = True
    """Leave stopwords (the harness's English list) untouched, as TextAttack's recipes do."""
    query_budget: Optional[int] = None
    """Stop attacking an example after this many model queries (TextAttack's query_budget); None = no cap."""
    pair_target: Literal["second", "first"] = "second"
    """Sentence-pair tasks: the segment attacked (the other stays verbatim); single-text tasks ignore it."""

    def __post_init__(self):
        if self.pair_target not in ("second", "first"):
            raise ValueError(f"pair_target must be second or first, got {self.pair_target!r}")
        if self.max_swaps < 1:
            raise ValueError(f"max_swaps must be at least 1, got {self.max_swaps}")
        if self.max_perturbed_fraction is not None and not 0 < self.max_perturbed_fraction <= 1:
            raise ValueError(f"max_perturbed_fraction must be in (0, 1] or None, got {self.max_perturbed_fraction}")
        if self.candidates_per_position < 1:
            raise ValueError(f"candidates_per_position must be at least 1, got {self.candidates_per_position}")
        if self.query_budget is not None and self.query_budget < 1:
            raise ValueError(f"query_budget must be positive or None, got {self.query_budget}")


@dataclass(frozen=True)
class Word:
    """One whitespace-separated word; [start, end) is its core (without surrounding punctuation) in the text."""

    start: int
    end: int
    core: str
    attackable: bool


@dataclass(frozen=True)
class CandidateVocabulary:
    """Whole-word vocabulary tokens a word may be swapped for, with their surfaces as they appear in text."""

    token_ids: tuple[int, ...]
    surfaces: tuple[str, ...]


def split_words(text: str, stopwords: frozenset[str] = frozenset()) -> list[Word]:
    words = []
    for match in re.finditer(r"\S+", text):
        piece = match.group()
        core = piece.strip(string.punctuation)
        start = match.start() + (piece.index(core) if core else 0)
        attackable = any(char.isalpha() for char in core) and core.lower() not in stopwords
        words.append(Word(start, start + len(core), core, attackable))
    return words


def render(text: str, words: Sequence[Word], swaps: dict[int, str]) -> str:
    """`text` with the core of word i replaced by swaps[i]."""
    pieces, cursor = [], 0
    for index in sorted(swaps):
        word = words[index]
        pieces += [text[cursor:word.start], swaps[index]]
        cursor = word.end
    pieces.append(text[cursor:])
    return "".join(pieces)


def candidate_vocabulary(tokenizer: Any) -> CandidateVocabulary:
    """Whole-word, ASCII-alphabetic, non-special tokens of the tokenizer's vocabulary."""
    vocabulary = tokenizer.get_vocab()
    special = set(tokenizer.all_special_ids)
    counts = {marker: sum(token.startswith(marker) for token in vocabulary) for marker in ("Ġ", "▁", "##")}
    marker = max(counts, key=counts.get)
    ids, surfaces = [], []
    for token, token_id in sorted(vocabulary.items(), key=lambda item: item[1]):
        if token_id in special:
            continue
        if counts[marker] == 0:
            surface = token  # a word-level vocabulary: every token is a whole word
        elif marker == "##":
            surface = "" if token.startswith("##") else token
        else:
            surface = token[len(marker):] if token.startswith(marker) else ""
        if surface.isascii() and surface.isalpha():
            ids.append(token_id)
            surfaces.append(surface)
    if not ids:
        raise HarnessError("gradient-swap: the tokenizer's vocabulary has no whole-word alphabetic tokens to swap in")
    return CandidateVocabulary(tuple(ids), tuple(surfaces))


def read_stopwords() -> frozenset[str]:
    from importlib.resources import files

    text = files("harness").joinpath("data", "stopwords-english.txt").read_text(encoding="utf-8")
    return frozenset(line.strip().lower() for line in text.splitlines() if line.strip())


class GradientSwapAttack:
    def __init__(self, config: GradientSwapConfig):
        self.config = config

    def attack(self, classifier: Classifier, examples: Sequence[Example], env: StageEnvironment) -> AttackOutcome:
        import torch

        if not getattr(classifier.tokenizer, "is_fast", False):
            raise HarnessError("gradient-swap needs a fast (Rust) tokenizer to map tokens to words; "
                               f"{type(classifier.tokenizer).__name__} is not one")
        model = classifier.model
        was_training = model.training
        model.eval()
        try:
            vocabulary = candidate_vocabulary(classifier.tokenizer)
            embeddings = model.get_input_embeddings()
            with torch.no_grad():
                # Through the module itself, so scaled embeddings are scored as the model sees them; kept in the
                # model's dtype (a float32 copy of a large vocabulary would cost more memory than the model).
                ids = torch.tensor(vocabulary.token_ids, device=classifier.device)
                candidate_vectors = embeddings(ids).detach()
            search = _Search(self.config, classifier, vocabulary, candidate_vectors,
                             read_stopwords() if self.config.skip_stopwords else frozenset())
            forwards_before = classifier.predictor.forwards
            records = [search.attack(example) for example in env.progress(examples, desc="attack", unit="example")]
        finally:
            if was_training:
                model.train()
        forwards = classifier.predictor.forwards - forwards_before + search.gradient_passes
        return AttackOutcome(records=tuple(records), model_forwards=forwards)


class _Search:
    """The greedy search of one attack() call (the candidate vocabulary is computed once per call)."""

    def __init__(self, config: GradientSwapConfig, classifier: Classifier, vocabulary: CandidateVocabulary,
                 candidate_vectors: Any, stopwords: frozenset[str]):
        self.config = config
        self.classifier = classifier
        self.vocabulary = vocabulary
        self.candidate_vectors = candidate_vectors
        self.stopwords = stopwords
        self.index_of_surface: dict[str, list[int]] = {}
        for index, surface in enumerate(vocabulary.surfaces):
            self.index_of_surface.setdefault(surface.lower(), []).append(index)
        self.gradient_passes = 0
        # A deterministic search (no seed to record): its results depend on the model code and the gradients.
        self.library_versions = installed_versions("transformers", "torch")
        self.segment: Optional[int] = None
        """The attacked segment of the current example when it is a sentence pair (0 or 1); None for a text."""
        self.other: Optional[str] = None
        """The pair's other segment, kept verbatim."""

    def attack(self, example: Example) -> AttackRecord:
        from harness import make_attack_record

        started = time.perf_counter()
        predictor = self.classifier.predictor
        self.segment = None if example.text_pair is None else (1 if self.config.pair_target == "second" else 0)
        self.other = None if self.segment is None else (example.text, example.text_pair)[1 - self.segment]
        text = example.text if self.segment is None else (example.text, example.text_pair)[self.segment]
        words = split_words(text, self.stopwords)
        original_probabilities = predictor.probabilities([self.model_input(text)])[0]
        queries = 1
        original = int(original_probabilities.argmax())
        probabilities, perturbed = original_probabilities, text
        swaps: dict[int, str] = {}
        if original == example.label:
            allowed = self.config.max_swaps
            if self.config.max_perturbed_fraction is not None:
                allowed = min(allowed, max(1, math.ceil(self.config.max_perturbed_fraction * len(words))))
            while len(swaps) < allowed and int(probabilities.argmax()) == original:
                remaining = None if self.config.query_budget is None else self.config.query_budget - queries
                if remaining is not None and remaining <= 0:
                    break
                candidates = self._candidates(perturbed, words, swaps, original)[:remaining]
                if not candidates:
                    break
                texts = [render(text, words, {**swaps, position: surface}) for position, surface in candidates]
                scored = predictor.probabilities([self.model_input(candidate) for candidate in texts])
                queries += len(texts)
                flipped = scored.argmax(axis=1) != original
                # Prefer a candidate that flips the prediction; among equals, the lowest original-class probability.
                best = min(range(len(texts)), key=lambda row: (not flipped[row], scored[row, original]))
                if not flipped[best] and scored[best, original] >= probabilities[original]:
                    break  # no swap helps: greedy search is stuck
                position, surface = candidates[best]
                swaps[position] = surface
                probabilities, perturbed = scored[best], texts[best]
        prediction = int(probabilities.argmax())
        if original != example.label:
            status = "skipped"
        else:
            status = "successful" if prediction != original else "failed"
        return make_attack_record(
            self.model_input(text), self.model_input(perturbed),
            example_id=example.id,
            label=example.label,
            original_prediction=original,
            perturbed_prediction=prediction,
            original_confidence=float(original_probabilities.max()),
            perturbed_confidence=float(probabilities.max()),
            status=status,
            num_queries=queries,
            words_perturbed=sum(swaps[index] != words[index].core for index in swaps),
            words_total=len(words),
            seconds=time.perf_counter() - started,
            library_versions=self.library_versions,
        )

    def model_input(self, attacked: str) -> Any:
        """What the model reads when the attacked text (or segment) is `attacked`."""
        if self.segment is None:
            return attacked
        return (self.other, attacked) if self.segment == 1 else (attacked, self.other)

    def _candidates(self, current: str, words: Sequence[Word], swaps: dict[int, str],
                    target: int) -> list[tuple[int, str]]:
        """(word position, replacement) pairs to verify, best first-order score first."""
        import torch

        # Spans of the words in the current text (earlier swaps may have changed lengths).
        shift, spans = 0, []
        for index, word in enumerate(words):
            core = swaps.get(index, word.core)
            spans.append((word.start + shift, word.start + shift + len(core)))
            shift += len(core) - len(word.core)
        word_gradients, word_baselines, positions = self._word_gradients(current, spans, target, words, swaps)
        if not positions:
            return []
        vectors = self.candidate_vectors
        scores = (word_gradients.to(vectors.dtype) @ vectors.T).float() - word_baselines[:, None]
        for row, position in enumerate(positions):
            excluded = self.index_of_surface.get(words[position].core.lower(), [])
            scores[row, excluded] = float("-inf")
        k = min(self.config.candidates_per_position, scores.shape[1])
        top_scores, top_indices = torch.topk(scores, k, dim=1)
        ranked = sorted(
            ((float(score), positions[row], self.vocabulary.surfaces[int(index)])
             for row in range(len(positions))
             for score, index in zip(top_scores[row].tolist(), top_indices[row].tolist())
             if score != float("-inf")),
            key=lambda item: -item[0])
        return [(position, surface) for _, position, surface in ranked]

    def _word_gradients(self, text: str, spans: Sequence[tuple[int, int]], target: int, words: Sequence[Word],
                        swaps: dict[int, str]):
        """Per attackable word: mean embedding gradient over its subwords, mean E[x_t].g_t, and the word positions."""
        import torch

        classifier = self.classifier
        model_input = self.model_input(text)
        segments = (model_input,) if isinstance(model_input, str) else model_input
        encoding = classifier.tokenizer(*segments, truncation="longest_first", max_length=classifier.max_length,
                                        return_offsets_mapping=True, return_special_tokens_mask=True)
        # Offsets of a pair's tokens are relative to their own segment: only the attacked one's tokens count.
        in_segment = [self.segment is None or sequence == self.segment for sequence in encoding.sequence_ids()]
        inputs = {name: torch.tensor([encoding[name]], device=classifier.device)
                  for name in ("input_ids", "attention_mask", "token_type_ids") if name in encoding}
        word_of_char = [-1] * len(text)
        for index, (start, end) in enumerate(spans):
            if words[index].attackable and index not in swaps:
                word_of_char[start:end] = [index] * (end - start)
        tokens_of_word: dict[int, list[int]] = {}
        for token, ((start, end), special) in enumerate(zip(encoding["offset_mapping"],
                                                             encoding["special_tokens_mask"])):
            if special or not in_segment[token]:
                continue
            # Byte-level BPE offsets include the leading space: the token belongs to the first word it touches.
            word = next((word_of_char[char] for char in range(start, end) if word_of_char[char] >= 0), -1)
            if word >= 0:
                tokens_of_word.setdefault(word, []).append(token)
        if not tokens_of_word:
            return None, None, []

        captured = []

        def capture(module, args, output):
            if captured:  # only the input ids' lookup
                return None
            leaf = output.detach().requires_grad_(True)
            captured.append(leaf)
            return leaf

        handle = classifier.model.get_input_embeddings().register_forward_hook(capture)
        try:
            with torch.inference_mode(False), torch.enable_grad():
                logits = classifier.model(**inputs).logits.float()
                loss = torch.nn.functional.cross_entropy(logits, torch.tensor([target], device=classifier.device))
                (gradient,) = torch.autograd.grad(loss, captured[0])
        finally:
            handle.remove()
        self.gradient_passes += 1
        gradient = gradient[0].float()
        embedded = captured[0][0].detach().float()
        positions = sorted(tokens_of_word)
        word_gradients = torch.stack([gradient[tokens_of_word[p]].mean(dim=0) for p in positions])
        word_baselines = torch.stack([(embedded[tokens_of_word[p]] * gradient[tokens_of_word[p]]).sum(dim=1).mean()
                                      for p in positions])
        return word_gradients, word_baselines, positions


@hookimpl
def register_attacks(register):
    register("gradient-swap", GradientSwapAttack, config=GradientSwapConfig,
             description="HotFlip-style greedy word swaps ranked by the embedding gradient (any HF classifier)")
