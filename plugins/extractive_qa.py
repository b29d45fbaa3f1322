"""Task kind `extractive-qa`: a question about a context answered by a span of it, SQuAD 1.1 and 2.0
(harness.ExtractiveQA)."""

from __future__ import annotations

from harness import hookimpl


@hookimpl
def register_task_kinds(register):
    from harness import ExtractiveQA

    register("extractive-qa", ExtractiveQA,
             description="extractive question answering (SQuAD 1.1 / 2.0): exact match and F1, with the "
                         "answerable / unanswerable breakdown")
