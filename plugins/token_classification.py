"""Task kind `token-classification`: one tag per word, named-entity recognition (harness.TokenClassification)."""

from __future__ import annotations

from harness import hookimpl


@hookimpl
def register_task_kinds(register):
    from harness import TokenClassification

    register("token-classification", TokenClassification,
             description="one tag per word (NER): entity F1, entity attacks and perturbations, entity attributions")
