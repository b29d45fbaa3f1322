"""The SQuAD 2.0 readers on the real dev slice (opt-in: HARNESS_SHARED_DATA): the first 5 articles of SQuAD 2.0's
dev set, unmodified, with the official ids. The same checks run on written files in tests/test_qa_reading.py."""

from __future__ import annotations

from real_copies import shared

from harness.kinds.qa.examples import answer_problem
from harness.kinds.qa.reading import read_squad_json


def test_the_squad_v2_dev_slice_reads_with_every_answer_at_its_offset():
    examples = read_squad_json(shared("squad-v2-dev-slice/dev-v2.0-first5.json"))
    # ../shared/data/README.md: 1,407 questions (705 answerable, 702 unanswerable) in 173 paragraphs, 5 articles.
    assert len(examples) == 1407 and len({e.id for e in examples}) == 1407
    assert sum(e.is_impossible for e in examples) == 702
    assert len({e.context for e in examples}) == 173
    assert list(dict.fromkeys(e.title for e in examples)) == [
        "Normans", "Computational_complexity_theory", "Southern_California", "Sky_(United_Kingdom)",
        "Victoria_(Australia)"]
    assert examples[0].id == "56ddde6b9a695914005b9628" and examples[0].answers[0].text == "France"
    assert all(answer_problem(e) is None for e in examples)
    assert all(e.context[a.start:a.end] == a.text for e in examples for a in e.answers)
    assert sum(len(e.answers) for e in examples) == 2106  # dev: several annotators' answers per question
