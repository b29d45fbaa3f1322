"""Judge `entailment`: an adversarial example is valid when it and its original entail each other.

Needs an NLI model (`model:`, a hub id such as `roberta-large-mnli` or a local directory). Each changed segment is
tested in both directions; by default entailment must be the most likely class both ways (the bidirectional
entailment test of Kuhn et al. 2023), or reach `min_probability`. See harness.attack.judges.
"""

from __future__ import annotations

from harness import EntailmentJudge, EntailmentJudgeConfig, hookimpl


@hookimpl
def register_judges(register):
    register("entailment", EntailmentJudge, config=EntailmentJudgeConfig,
             description="Bidirectional entailment under an NLI model (`model:` names it)")
