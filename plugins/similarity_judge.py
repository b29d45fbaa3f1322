"""Judge `similarity`: an adversarial example is valid when its sentence embedding stays close to the original's.

Cosine similarity of mean-pooled sentence embeddings, with the packaged all-MiniLM-L6-v2 unless `model:` names
another sentence encoder. The default threshold, 0.877, is TextFooler's (Jin et al. 2020) sentence-similarity level
as a cosine; `threshold: 0.98` is the strict level of Morris et al. (2020). See harness.attack.judges.
"""

from __future__ import annotations

from harness import SentenceSimilarityJudge, SimilarityJudgeConfig, hookimpl


@hookimpl
def register_judges(register):
    register("similarity", SentenceSimilarityJudge, config=SimilarityJudgeConfig,
             description="Sentence-encoder cosine similarity to the original (all-MiniLM-L6-v2 by default)")
