"""The stages of an extractive question-answering cell:

    finetune -> evaluate

Stage keys, caching and records work as for any stage (harness.core.runner); what is computed:

- evaluate: the answers of the trained model to the test split's questions (harness.kinds.qa.predictor: windows
  over long contexts, n-best spans; "" where the null score wins, when the task has unanswerable questions), scored
  as the official SQuAD script scores them (harness.kinds.qa.squad_metrics): `exact_match` (Wilson interval) and
  `f1` (bootstrap over questions), and with unanswerable questions the HasAns / NoAns breakdown.
  records/predictions.jsonl holds per question its id, the question, the gold answers, the predicted answer and its
  characters in the context, the span and null scores, and the question's exact match and F1.

Attacks, perturbations and explanations of QA models come later: their suite entries are refused before anything
trains (harness.kinds.qa.ExtractiveQA.check_components).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Sequence

from harness.core.files import write_jsonl
from harness.core.types import Metric, StageEnvironment
from harness.kinds import standard
from harness.kinds.base import StageContext, StageSpec
from harness.kinds.qa.examples import QAExample
from harness.kinds.qa.predictor import allows_no_answer
from harness.kinds.qa.squad_metrics import exact_match, f1, squad_metrics


def _finite(value: float) -> Any:
    """A score as JSON can hold it: None for -inf (a context without any token to answer with)."""
    return value if math.isfinite(value) else None


def evaluate(classifier: Any, examples: Sequence[QAExample], allow_impossible: bool, building: Path,
             seed: int) -> list[Metric]:
    predictions = classifier.predictor.answer_examples(examples, allow_impossible=allow_impossible)
    golds = {example.id: [answer.text for answer in example.answers] for example in examples}
    write_jsonl(building / "records" / "predictions.jsonl", (
        {"example_id": example.id, "question": example.question,
         "gold_answers": [{"text": answer.text, "start": answer.start} for answer in example.answers],
         "predicted_answer": prediction.text, "predicted_start": prediction.start, "predicted_end": prediction.end,
         "score": _finite(prediction.score), "null_score": _finite(prediction.null_score),
         "exact_match": exact_match(prediction.text, golds[example.id]),
         "f1": f1(prediction.text, golds[example.id])}
        for example, prediction in zip(examples, predictions)))
    return squad_metrics({example.id: prediction.text for example, prediction in zip(examples, predictions)},
                         golds, seed=seed)


def evaluate_stage(context: StageContext, ref: Any, building: Path, env: StageEnvironment) -> dict[str, Any]:
    task = context.task
    # SQuAD 2.0 (abstaining allowed) when any of the task's questions is unanswerable: a fact of the data, in the
    # test split's fingerprint and the model's training data, so the stage key covers it.
    allow_impossible = allows_no_answer(context.cell.train, task.validation, task.test)
    return standard.as_payload(evaluate(context.classifier(), task.test, allow_impossible, building,
                                        context.cell.seed))


STAGES: tuple[StageSpec, ...] = (
    standard.FINETUNE,
    StageSpec("evaluate", components=standard.the_method, key_parts=standard.evaluate_key, compute=evaluate_stage,
              needs=("finetune",), per_component=False, rows_name_component=False),
)
