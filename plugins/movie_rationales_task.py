"""Task `movie-rationales`: movie reviews with human rationales (Zaidan et al. 2007; ERASER), NEG / POS.

From the Hugging Face hub (eraser-benchmark/movie_rationales: review, label, evidences; train 1,600 / validation
200 / test 199) by default, or with `path:` from a folder with one file per split (train, validation or dev,
test) with the same columns: JSON lines (.jsonl / .json) or parquet, where evidences is a list of phrases (in a
CSV/TSV file, one string with the phrases separated by " | ").

Example.rationale holds the (start, end) character spans of the evidence phrases in the review, which the
explain stage scores attributions against (plausibility). Each phrase is looked for after the previous one,
then anywhere, then with any whitespace matching any other (annotations are tokenised and may cross a line
break); a phrase found nowhere is left out (the description counts the examples left without any rationale).
The hub's splits are the task's.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from harness import StageEnvironment, TaskData, TaskSource, TaskSourceConfig, hookimpl, load_task

SOURCE = TaskSource(
    name="movie-rationales", title="Movie rationales (ERASER)", hub_path="eraser-benchmark/movie_rationales",
    hub_config=None, label_names=("NEG", "POS"), text_columns=("review",), rationale_column="evidences",
    label_aliases={"neg": "NEG", "pos": "POS", "negative": "NEG", "positive": "POS"},
    file_aliases={"validation": ("dev", "val")})


@dataclass(frozen=True)
class MovieRationalesConfig(TaskSourceConfig):
    """Where the data comes from: `path` (local JSONL/parquet files with review, label, evidences) or the hub."""


class MovieRationalesTask:
    def __init__(self, config: MovieRationalesConfig):
        self.config = config

    def load(self, env: StageEnvironment) -> TaskData:
        data = load_task(SOURCE, self.config)
        without = sum(example.rationale is None for split in (data.train, data.validation, data.test)
                      for example in split)
        return dataclasses.replace(data, description=f"{data.description}; {without} examples without a rationale")


@hookimpl
def register_tasks(register):
    register("movie-rationales", MovieRationalesTask, config=MovieRationalesConfig,
             description="Movie reviews with human rationales (ERASER), for plausibility of explanations; hub "
                         "movie_rationales, or local JSONL/parquet (path:)")
