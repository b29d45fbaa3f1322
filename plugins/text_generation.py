"""Task kind `text-generation`: translation, summarisation, instruction following and classification posed as a
prompt, for encoder-decoders and decoder-only LMs (harness.TextGeneration)."""

from __future__ import annotations

from harness import hookimpl


@hookimpl
def register_task_kinds(register):
    from harness import TextGeneration

    register("text-generation", TextGeneration,
             description="text generation (translation, summarisation, prompted classification): BLEU and chrF "
                         "(sacreBLEU), ROUGE (rouge-score), exact match, verbaliser accuracy")
