"""Judge `grammar`: an adversarial example is valid when it adds no grammar errors (LanguageTool) to its original.

Needs `pip install "nlp-robustness-harness[grammar]"` and Java, or a LanguageTool server (`server:`).
`max_new_errors: 0` follows Morris et al. (2020)'s adjusted recipes. See harness.attack.judges.
"""

from __future__ import annotations

from harness import GrammarJudge, GrammarJudgeConfig, hookimpl


@hookimpl
def register_judges(register):
    register("grammar", GrammarJudge, config=GrammarJudgeConfig,
             description="Grammar errors added, by LanguageTool (needs language-tool-python and Java)")
