"""A classification task posed as a prompt: each labelled text becomes a generation example whose reference is its
label's word (the verbaliser), so that a prompted or fine-tuned language model meets the same data, and the same
robustness tests, as a fine-tuned classifier.

The input is the example's text; a sentence pair's two texts are joined by a newline (premise, then hypothesis),
which the template's instruction may name. Ids are kept, so records of the classifier and of the prompted model
match example by example. The outputs are read as the choice they start with (harness.read_choice) and scored by
accuracy.
"""

from __future__ import annotations

from typing import Optional, Sequence

from harness.core.errors import HarnessError
from harness.core.types import Example, TaskData
from harness.kinds.generation import NAME
from harness.kinds.generation.examples import GenerationExample, GenerationSetup, example_problem
from harness.kinds.sequence import SequenceClassification

PAIR_SEPARATOR = "\n"
"""Between the two texts of a sentence pair in the input."""


def verbaliser_instruction(choices: Sequence[str]) -> str:
    """The default instruction of a classification task posed as a prompt."""
    return f"Classify the text as one of: {', '.join(choices)}.\n"


def verbalised_input(example: Example) -> str:
    """What the model reads for a labelled text: the text, or a pair's two texts on two lines."""
    return example.text if example.text_pair is None else f"{example.text}{PAIR_SEPARATOR}{example.text_pair}"


def verbalised_task(data: TaskData, setup: GenerationSetup, name: Optional[str] = None) -> TaskData:
    """A classification task (TaskData of harness.Example) as a text-generation task: each example's input its text
    (a pair's texts on two lines), its reference `setup.choices[label]`, its id kept. `setup.choices` holds one
    label word per label name, in label order. The task is called `name`, by default `<task>-prompted`."""
    if data.kind != SequenceClassification.name:
        raise HarnessError(f"task {data.name!r} is {data.kind}, not {SequenceClassification.name}: only a "
                           f"classification task can be posed as a prompt")
    if len(setup.choices) != len(data.label_names):
        raise HarnessError(f"task {data.name!r} has {len(data.label_names)} labels ({', '.join(data.label_names)}) "
                           f"but {len(setup.choices)} label words were given ({', '.join(setup.choices)}): one "
                           f"word per label, in label order")
    splits = {split: tuple(_verbalised(example, setup, data.name, split) for example in getattr(data, split))
              for split in ("train", "validation", "test")}
    words = ", ".join(f"{label} -> {word!r}" for label, word in zip(data.label_names, setup.choices))
    description = f"{data.description}; posed as a prompt, labels as words ({words})".lstrip("; ")
    return TaskData(name=name or f"{data.name}-prompted", label_names=(), train=splits["train"],  # type: ignore
                    validation=splits["validation"], test=splits["test"], description=description,  # type: ignore
                    text_fields=("input",), kind=NAME)


def _verbalised(example: Example, setup: GenerationSetup, task: str, split: str) -> GenerationExample:
    if isinstance(example.label, bool) or not isinstance(example.label, int) \
            or not 0 <= example.label < len(setup.choices):
        raise HarnessError(f"task {task!r}: {split} example {example.id!r} has the label {example.label!r}, not the "
                           f"index of one of the {len(setup.choices)} labels")
    generated = GenerationExample(example.id, verbalised_input(example), (setup.choices[example.label],), setup)
    problem = example_problem(generated)
    if problem is not None:
        raise HarnessError(f"task {task!r}: {split} example {example.id!r}: {problem}")
    return generated
