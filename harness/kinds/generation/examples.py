"""The text-generation kind's example: an input, the references a good output matches, and how the task is posed
to the model and scored (`GenerationSetup`, shared by all the examples of a task).

The setup travels with each example rather than with the task, so that everything the model reads is in the
example: the splits' fingerprints (and so every stage key) change when the template or the instruction does, and an
adversarial prompt (PromptBench) is the same examples with another `instruction`.

The prompt a model reads is `setup.template` with `{instruction}` and `{input}` filled in, and, for a model whose
tokenizer has a chat template (an instruction-tuned LLM), that text as the user's turn of a chat
(harness.kinds.generation.prompts). A classification task posed as a prompt has `choices` (the verbaliser's label
words): its output is read as the choice it starts with, and its score is the share of right choices.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from typing import Optional

# The verbaliser's reading and the metric names live with the scores.
from harness.core.text_metrics import METRICS, read_choice  # noqa: F401

TEMPLATE_FIELDS = ("instruction", "input")


@dataclass(frozen=True)
class GenerationSetup:
    """How a generation task is posed to the model and scored: the same object for all the examples of a task."""

    template: str = "{instruction}{input}"
    """The prompt: Python format syntax with the fields {instruction} and {input} ({{ and }} for braces)."""
    instruction: str = ""
    """The task's instruction ("Translate English to Romanian: "), the part PromptBench's adversarial prompts attack."""
    metric: str = "chrf"
    """The headline metric (one of METRICS): picks the best epoch, and is what prompt attacks lower."""
    choices: tuple[str, ...] = ()
    """A classification task posed as a prompt: the label words (the verbaliser), in the task's label order. Each
    example's first reference is its label's word."""
    max_new_tokens: int = 32
    """Tokens generated at most per output; targets are cut to it for training."""
    num_beams: int = 1
    """1: greedy decoding; more: beam search."""
    chat_template: bool = True
    """Wrap the prompt as the user's turn of the tokenizer's chat template, when the tokenizer has one."""

    def __post_init__(self) -> None:
        problem = template_problem(self.template)
        if problem is not None:
            raise ValueError(problem)
        if self.metric not in METRICS:
            raise ValueError(f"metric {self.metric!r} is not one of {', '.join(METRICS)}")
        if self.metric == "accuracy" and not self.choices:
            raise ValueError("metric 'accuracy' needs choices (the label words the outputs are read as)")
        if self.choices and (len(self.choices) < 2 or any(not choice.strip() for choice in self.choices)
                             or len({choice.strip().lower() for choice in self.choices}) < len(self.choices)):
            raise ValueError(f"choices {self.choices!r}: at least two label words, non-blank and distinct (case aside)")
        if self.max_new_tokens < 1 or self.num_beams < 1:
            raise ValueError("max_new_tokens and num_beams must be positive")

    def prompt(self, text: str) -> str:
        """The prompt for one input, before any chat template."""
        return self.template.format(instruction=self.instruction, input=text)


def template_problem(template: str) -> Optional[str]:
    """What is wrong with a prompt template, or None: it must hold {input} and no field but {instruction}."""
    try:
        fields = [field for _, field, _, _ in string.Formatter().parse(template) if field is not None]
    except ValueError as error:
        return f"template {template!r}: {error} (write {{{{ and }}}} for literal braces)"
    unknown = sorted({field for field in fields if field not in TEMPLATE_FIELDS})
    if unknown:
        return (f"template {template!r} has the field(s) {', '.join('{' + field + '}' for field in unknown)}; a "
                f"template knows {{instruction}} and {{input}} only")
    if "input" not in fields:
        return f"template {template!r} has no {{input}}: the model would never see the example"
    return None


@dataclass(frozen=True)
class GenerationExample:
    """One input and its references. `references` are the acceptable outputs (a translation's one or several
    reference translations, a summary, a label word); metrics take each output against all of them."""

    id: str
    input: str
    references: tuple[str, ...]
    setup: GenerationSetup = GenerationSetup()

    @property
    def prompt(self) -> str:
        return self.setup.prompt(self.input)

    @property
    def target(self) -> str:
        """What a model is trained to output: the first reference."""
        return self.references[0]


def example_problem(example: GenerationExample) -> Optional[str]:
    """What is wrong with an example, in one line, or None: a blank input, no reference or a blank one, a label
    word that is not one of the choices."""
    if not isinstance(example.input, str) or not example.input.strip():
        return f"the input is empty ({example.input!r})"
    if not isinstance(example.references, tuple) or not example.references:
        return f"references {example.references!r}: at least one reference, as a tuple of texts"
    for number, reference in enumerate(example.references, 1):
        if not isinstance(reference, str) or not reference.strip():
            return f"reference {number} is empty ({reference!r})"
    choices = example.setup.choices
    if choices and example.target.strip().lower() not in {choice.strip().lower() for choice in choices}:
        return f"its label word {example.target!r} is not one of the choices {list(choices)}"
    return None
