"""The built-in judges of adversarial examples (plugins `similarity`, `entailment` and `grammar` register them).

Each compares a successful adversarial example with its original, segment by segment for sentence pairs (a pair is
accepted only if every segment is): the unchanged segment of a pair passes by construction.

- `similarity` (SentenceSimilarityJudge): cosine similarity of sentence embeddings (mean-pooled, as
  sentence-transformers does), with the packaged all-MiniLM-L6-v2 by default. Default threshold 0.877: TextFooler
  (Jin et al. 2020) keeps a swap when the Universal Sentence Encoder's angular similarity is at least 0.8408, that
  is a cosine of at least cos(0.5) = 0.877; the harness's offline TextFooler variant uses the same level with
  MiniLM. Morris et al. (2020) found, with human raters, that such levels let many meaning-changing swaps through
  and set 0.98 (BERT sentence encoder) in their adjusted recipes: `threshold: 0.98` is the strict setting. Levels
  carry over between encoders only roughly; the human-rating export (`harness ratings`) is how to calibrate one.
- `entailment` (EntailmentJudge): a natural-language-inference model (`model:`, hub id or local directory) must
  find that each text entails the other (bidirectional entailment, the paraphrase test of Kuhn et al. 2023): the
  entailment class is the most likely in both directions, or, with `min_probability`, has at least that
  probability in both.
- `grammar` (GrammarJudge): LanguageTool (through `language_tool_python`, which needs Java; or a LanguageTool
  server at `server:`) counts grammar errors; the adversarial text may add at most `max_new_errors` (0, as in
  Morris et al. 2020's adjusted recipes).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Callable, Optional, Sequence

from harness.attack.judging import JudgeSettings
from harness.core.errors import HarnessError
from harness.core.types import AttackRecord, StageEnvironment, Verdict

TEXTFOOLER_COSINE = 0.877
"""cos(0.5): TextFooler's angular-similarity threshold 0.8408 (= 1 - 0.5/pi) as a cosine similarity."""


def changed_segments(record: AttackRecord) -> list[tuple[str, str]]:
    """(original, perturbed) of each segment the attack changed; the first segment when nothing changed."""
    segments = [(record.original_text, record.perturbed_text)]
    if record.original_text_pair is not None or record.perturbed_text_pair is not None:
        segments.append((record.original_text_pair or "", record.perturbed_text_pair or ""))
    changed = [segment for segment in segments if segment[0] != segment[1]]
    return changed or segments[:1]


def _model_location(model: str) -> str:
    """A packaged model's directory (`minilm`), a local directory, or the hub id as given."""
    from harness.core.resources import packaged_model_dir

    packaged = packaged_model_dir(model)
    if packaged is not None:
        return str(packaged)
    expanded = os.path.expanduser(os.path.expandvars(model))
    return expanded if os.path.isdir(expanded) else model


def _batches(items: Sequence[Any], size: int) -> list[Sequence[Any]]:
    return [items[start:start + size] for start in range(0, len(items), size)]


# ---------------------------------------------------------------------------------------------- similarity


@dataclass(frozen=True)
class SimilarityJudgeConfig(JudgeSettings):
    model: str = "minilm"
    """A sentence encoder: `minilm` (packaged all-MiniLM-L6-v2), a local directory or a hub id."""
    threshold: float = TEXTFOOLER_COSINE
    """Lowest cosine similarity accepted (see the module docstring for where 0.877 and 0.98 come from)."""
    max_length: int = 256

    def __post_init__(self) -> None:
        super().__post_init__()
        if not -1.0 <= self.threshold <= 1.0:
            raise ValueError("threshold must be a cosine similarity, from -1 to 1")


class SentenceSimilarityJudge:
    """Accepts an adversarial example whose every changed segment keeps cosine similarity >= threshold."""

    def __init__(self, config: SimilarityJudgeConfig):
        self.config = config

    def judge(self, records: Sequence[AttackRecord], env: StageEnvironment) -> list[Verdict]:
        import torch
        from transformers import AutoModel, AutoTokenizer

        location = _model_location(self.config.model)
        tokenizer = AutoTokenizer.from_pretrained(location)
        model = AutoModel.from_pretrained(location).to(env.device).eval()
        pairs = [segment for record in records for segment in changed_segments(record)]
        similarities: list[float] = []
        for batch in _batches(pairs, self.config.batch_size):
            texts = [text for pair in batch for text in pair]
            encoded = tokenizer(texts, padding=True, truncation=True, max_length=self.config.max_length,
                                return_tensors="pt").to(env.device)
            with torch.inference_mode():
                hidden = model(**encoded).last_hidden_state
            mask = encoded["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            embeddings = torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9), dim=-1)
            similarities += (embeddings[0::2] * embeddings[1::2]).sum(-1).float().cpu().tolist()
        verdicts, position = [], 0
        for record in records:
            count = len(changed_segments(record))
            lowest = min(similarities[position:position + count])
            position += count
            verdicts.append(Verdict(lowest >= self.config.threshold, round(lowest, 6)))
        return verdicts


# ---------------------------------------------------------------------------------------------- entailment


@dataclass(frozen=True)
class EntailmentJudgeConfig(JudgeSettings):
    model: str = ""
    """A natural-language-inference classifier (hub id or local directory) with an "entailment" label."""
    min_probability: Optional[float] = None
    """Entailment probability both directions must reach; None: entailment must be the most likely class."""
    max_length: int = 256

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.model:
            raise ValueError("`model` must name an NLI model (a hub id such as roberta-large-mnli, or a directory)")
        if self.min_probability is not None and not 0.0 <= self.min_probability <= 1.0:
            raise ValueError("min_probability must be from 0 to 1")


def entailment_index(id2label: dict[int, str], model: str) -> int:
    """The class of an NLI model's labels that means entailment."""
    found = [index for index, name in id2label.items() if str(name).lower().startswith("entail")]
    if len(found) != 1:
        raise HarnessError(f"NLI model {model!r} has no single entailment label (its labels: "
                           f"{', '.join(str(name) for name in id2label.values())})")
    return int(found[0])


class EntailmentJudge:
    """Accepts an adversarial example whose every changed segment and its original entail each other."""

    def __init__(self, config: EntailmentJudgeConfig):
        self.config = config

    def hub_downloads(self) -> list[str]:
        """What `harness validate` lists as downloaded from the Hub: the NLI model, unless it is a directory."""
        return [] if os.path.isdir(_model_location(self.config.model)) else [f"NLI model {self.config.model}"]

    def judge(self, records: Sequence[AttackRecord], env: StageEnvironment) -> list[Verdict]:
        import torch
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        location = _model_location(self.config.model)
        tokenizer = AutoTokenizer.from_pretrained(location)
        model = AutoModelForSequenceClassification.from_pretrained(location).to(env.device).eval()
        entail = entailment_index(model.config.id2label, self.config.model)
        segments = [segment for record in records for segment in changed_segments(record)]
        # Both directions of each segment: original => perturbed, then perturbed => original.
        premises = [text for original, perturbed in segments for text in (original, perturbed)]
        hypotheses = [text for original, perturbed in segments for text in (perturbed, original)]
        probabilities: list[list[float]] = []
        for batch in _batches(list(zip(premises, hypotheses)), self.config.batch_size):
            encoded = tokenizer([p for p, _ in batch], [h for _, h in batch], padding=True, truncation=True,
                                max_length=self.config.max_length, return_tensors="pt").to(env.device)
            with torch.inference_mode():
                probabilities += model(**encoded).logits.float().softmax(-1).cpu().tolist()
        verdicts, position = [], 0
        for record in records:
            directions = probabilities[position:position + 2 * len(changed_segments(record))]
            position += len(directions)
            entails = [self._entails(row, entail) for row in directions]
            lowest = min(row[entail] for row in directions)
            detail = "" if all(entails) or not any(entails) else "entails one way only"
            verdicts.append(Verdict(all(entails), round(lowest, 6), detail))
        return verdicts

    def _entails(self, row: list[float], entail: int) -> bool:
        if self.config.min_probability is not None:
            return row[entail] >= self.config.min_probability
        return max(range(len(row)), key=row.__getitem__) == entail


# ------------------------------------------------------------------------------------------------- grammar


@dataclass(frozen=True)
class GrammarJudgeConfig(JudgeSettings):
    language: str = "en-US"
    max_new_errors: int = 0
    """Grammar errors the adversarial text may add to the original's (0, as Morris et al. 2020 set)."""
    server: Optional[str] = None
    """A LanguageTool server's URL (e.g. http://localhost:8081); None: language_tool_python starts one locally."""

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.max_new_errors < 0:
            raise ValueError("max_new_errors must be 0 or more")


GRAMMAR_INSTALL = ("pip install 'nlp-robustness-harness[grammar]' (language-tool-python; LanguageTool needs Java 8+, "
                   "or give `server:`)")


class GrammarJudge:
    """Accepts an adversarial example that adds at most `max_new_errors` LanguageTool errors to its original."""

    def __init__(self, config: GrammarJudgeConfig, count_errors: Optional[Callable[[str], int]] = None):
        self.config = config
        self._count_errors = count_errors
        """Tests may pass their own error counter; by default LanguageTool's."""

    def judge(self, records: Sequence[AttackRecord], env: StageEnvironment) -> list[Verdict]:
        count_errors = self._count_errors or self._language_tool()
        verdicts = []
        for record in records:
            added = max(count_errors(perturbed) - count_errors(original)
                        for original, perturbed in changed_segments(record))
            verdicts.append(Verdict(added <= self.config.max_new_errors, float(added),
                                    f"{added} new grammar error{'s' if added != 1 else ''}" if added > 0 else ""))
        return verdicts

    def _language_tool(self) -> Callable[[str], int]:
        try:
            import language_tool_python
        except ImportError as error:
            raise HarnessError(f"the grammar judge needs LanguageTool: {GRAMMAR_INSTALL}") from error
        tool = (language_tool_python.LanguageTool(self.config.language, remote_server=self.config.server)
                if self.config.server else language_tool_python.LanguageTool(self.config.language))
        return lambda text: len(tool.check(text))
