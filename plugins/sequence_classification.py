"""Task kind `sequence-classification`: one label per text or sentence pair (harness.SequenceClassification).
The kind of every task whose TaskData does not name another."""

from __future__ import annotations

from harness import hookimpl


@hookimpl
def register_task_kinds(register):
    from harness import SequenceClassification

    register("sequence-classification", SequenceClassification,
             description="one label per text or sentence pair: accuracy, macro F1, attacks, invariance, attributions")
