"""Attack `ner-greedy`: a greedy word-substitution attack that lowers a tagger's entity F1 on each sentence.

For token-classification (NER) tasks only. TextAttack's greedy search with word-importance ranking, on entity F1
(harness.kinds.token.attack): words outside the gold entities are ranked by how much masking them lowers the model's
hold on
the gold tags, then each in turn gets its best substitution (character edits: swaps, deletions, keyboard
neighbours; or WordNet synonyms) until the sentence's entity F1 drops (`success_f1`) or `max_perturbed` words
changed. With `swap_entities`, whole gold entities may also be replaced by same-type entities of the training
split. The model is queried through the classifier's batched, cached token predictor.

Reported: entity F1 before and under attack (bootstrap intervals), the attack success rate, the entity flip rate
(of the gold entities found before, the share missed after; overall and per type), words perturbed and queries.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal, Optional, Sequence

from harness import StageEnvironment, TaskData, TokenExample, hookimpl

PLUGIN = "ner-greedy"


@dataclass(frozen=True)
class NerGreedyConfig:
    max_perturbed: int = 3
    """Words (or swapped entities) changed at most per sentence."""
    max_candidates: int = 20
    """Substitutions tried per word (a seeded sample when it has more)."""
    substitutions: Literal["characters", "synonyms"] = "characters"
    """characters: typos (adjacent swaps, deletions, keyboard neighbours); synonyms: WordNet synonyms."""
    success_f1: Optional[float] = None
    """Success when the sentence's entity F1 is at most this; null: as soon as it drops below the original's."""
    ranking: Literal["unk", "drop-character"] = "unk"
    """How a word is masked to rank it: the [UNK] token, or its middle character deleted."""
    swap_entities: bool = False
    """Also try replacing gold entities by same-type entities of the training split."""
    max_entity_candidates: int = 5

    def __post_init__(self):
        if self.substitutions not in ("characters", "synonyms"):
            raise ValueError(f"substitutions must be characters or synonyms, got {self.substitutions!r}")
        self.settings(0)  # the search's own checks

    def settings(self, seed: int):
        from harness import NerAttackSettings

        return NerAttackSettings(max_perturbed=self.max_perturbed, max_candidates=self.max_candidates,
                                 success_f1=self.success_f1, ranking=self.ranking, swap_entities=self.swap_entities,
                                 max_entity_candidates=self.max_entity_candidates, seed=seed)


class NerGreedyAttack:
    """Greedy word substitutions against a tagger's entity F1."""

    supports_token_classification = True
    supports_sequence_classification = False

    def __init__(self, config: NerGreedyConfig):
        self.config = config

    def attack_tokens(self, classifier, examples: Sequence[TokenExample], task: TaskData,
                      env: StageEnvironment):
        from harness import EntityPool, attack_sentences, character_edits, installed_versions, wordnet_synonyms

        versions = installed_versions("transformers", "torch")  # what the queries ran on (records keep them)
        substitutions = wordnet_synonyms if self.config.substitutions == "synonyms" else character_edits
        pool = EntityPool.from_examples(task.train, task.label_names) if self.config.swap_entities else None
        predictor = classifier.predictor
        records = []
        bar = env.progress(total=len(examples), desc=PLUGIN, unit="sentence")
        try:
            for example in examples:
                records.extend(replace(record, library_versions=versions) for record in attack_sentences(
                    predictor.tag, [example], task.label_names, settings=self.config.settings(env.seed),
                    substitutions=substitutions, entity_pool=pool))
                bar.update(1)
        finally:
            bar.close()
        return tuple(records)


@hookimpl
def register_attacks(register):
    register(PLUGIN, NerGreedyAttack, config=NerGreedyConfig,
             description="NER: greedy word substitutions lowering each sentence's entity F1 (token classification)")
