"""The extractive-QA kind's example: a question, the context that may answer it, and the answers as spans of it.

Answers are spans of the context, located by a character offset (as SQuAD gives them), not by bytes or tokens:
a model's windows and its predicted spans are mapped back to these offsets, and a wrong offset would teach a model
to point at the wrong words. So every reader checks each answer with `answer_problem` before it becomes an example.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional


@dataclass(frozen=True)
class Answer:
    """One annotated answer: its text and the character offset of its first character in the context."""

    text: str
    start: int

    @property
    def end(self) -> int:
        """The offset just after the answer: `context[start:end] == text`."""
        return self.start + len(self.text)


@dataclass(frozen=True)
class QAExample:
    """One question about a context (SQuAD-style). `answers` are the annotators' answers, possibly several and
    possibly the same span more than once (SQuAD's dev sets give up to five: metrics take the best match); none
    means the context does not answer the question (SQuAD 2.0). `id` is stable across runs (SQuAD's own ids)."""

    id: str
    question: str
    context: str
    answers: tuple[Answer, ...] = ()
    title: str = ""

    @property
    def is_impossible(self) -> bool:
        """No answer: the context does not answer the question (SQuAD 2.0's unanswerable questions)."""
        return not self.answers


def first_answer(example: QAExample) -> Optional[Answer]:
    """The answer a model is trained on (the first, as SQuAD's training sets give one per question), or None for an
    unanswerable question."""
    return example.answers[0] if example.answers else None


def answer_problem(example: QAExample) -> Optional[str]:
    """What is wrong with an example, in one line, or None: an empty question or context, an answer that is empty, at
    a negative offset or past the end, or whose text is not what the context holds at its offset. Readers turn the
    problem into an error at the file's line; a silently misplaced answer would train and score the wrong span."""
    if not isinstance(example.question, str) or not example.question.strip():
        return f"the question is empty ({example.question!r})"
    if not isinstance(example.context, str) or not example.context.strip():
        return f"the context is empty ({example.context!r})"
    context = example.context
    for number, answer in enumerate(example.answers, 1):
        what = f"answer {number} ({answer.text!r} at offset {answer.start!r})"
        if not isinstance(answer.text, str) or not answer.text:
            return f"{what}: the answer text is empty; an unanswerable question has no answers instead"
        if not isinstance(answer.start, int) or isinstance(answer.start, bool):
            return f"{what}: the offset must be an integer (a character offset into the context)"
        if answer.start < 0:
            return f"{what}: the offset is negative"
        if answer.end > len(context):
            return (f"{what}: the answer ends at offset {answer.end}, past the end of the context "
                    f"({len(context)} characters){_found_at(context, answer.text)}")
        held = context[answer.start:answer.end]
        if held != answer.text:
            return (f"{what}: the context holds {held!r} at that offset, not {answer.text!r}"
                    f"{_found_at(context, answer.text)}")
    return None


def _found_at(context: str, text: str) -> str:
    """Where the answer text does occur (the nearest fix is usually an off-by-n offset, or bytes counted instead of
    characters)."""
    found = context.find(text)
    if found < 0:
        return "; the text does not occur in the context"
    return f"; the text occurs at offset {found}"
