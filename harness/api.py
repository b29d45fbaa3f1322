"""The public API of the harness: what plugin authors and Python users import, documented in docs/plugins.md.
`import harness` re-exports exactly these names (`harness.X`); everything else in harness/ is internal and may
change. The contract kit for a plugin's tests is the other public module, harness.testing.

Importing it is cheap: no torch, transformers, textattack or captum (those are imported inside the functions that
need them), so importing a plugin module stays cheap too.
"""

from __future__ import annotations

from typing import Any, Optional, Sequence

from harness.attack.judges import (
    EntailmentJudge,
    EntailmentJudgeConfig,
    GrammarJudge,
    GrammarJudgeConfig,
    SentenceSimilarityJudge,
    SimilarityJudgeConfig,
)
from harness.attack.judging import JudgeSettings
from harness.attack.perturbation import (
    KEYBOARD_NEIGHBOURS,
    changes_for,
    check_rate,
    installed_versions,
    text_rng,
)
from harness.attack.textattack_augmenters import AugmenterConfig, TextAttackAugmenter, check_augmenter
from harness.attack.textattack_recipes import RecipeConfig, TextAttackRecipe, check_recipe
from harness.core.components import (
    Attack,
    Augmenter,
    Classifier,
    Executor,
    Explainer,
    Finetuner,
    Judge,
    Reporter,
    Task,
)
from harness.core.config import SuitePath
from harness.core.errors import (
    HarnessError,
    PluginError,
    SourceLocation,
    StageError,
    SuiteError,
    SuiteErrors,
)
from harness.core.files import atomic_write_text
from harness.core.hookspecs import hookimpl
from harness.core.inner_components import InnerComponent, inner_component
from harness.core.pairs import ModelInput, PairTargetSetting, make_attack_record, model_input
from harness.core.resources import prepare_offline_resources
from harness.core.seeding import set_seed
from harness.core.suite import resolve_model_location
from harness.core.text_metrics import PairedResult, generation_metrics, paired_significance
from harness.core.types import (
    SCHEMA_VERSION,
    AdversarialRound,
    AdversarialTraining,
    AttackOutcome,
    AttackRecord,
    Budgets,
    CellJob,
    CellResult,
    EpochRecord,
    Example,
    ExecutionPlan,
    ExplainOutcome,
    GateOutcome,
    Metric,
    ModelSource,
    ReportRequest,
    ResultRow,
    StageEnvironment,
    StageRecord,
    StoredRun,
    TaskData,
    TrainedModel,
    TrainRequest,
    Verdict,
    WordAttribution,
)
from harness.explain.attribution import aggregate_to_words, length_grouped_batches
from harness.explain.explainers import (
    ExplainerSettings,
    GradientExplainer,
    GradientExplainerSettings,
    WordPerturbationExplainer,
)
from harness.kinds import ExtractiveQA, SequenceClassification, TextGeneration, TokenClassification
from harness.kinds.base import (
    CellState,
    ComponentSection,
    ReportView,
    StageContext,
    StageSpec,
    TaskKind,
    TrainingEncoding,
    has_method,
    unserved_components,
)
from harness.kinds.generation.examples import GenerationExample, GenerationSetup, read_choice
from harness.kinds.generation.explaining import (
    GenerationExplainOutcome,
    OutputAttribution,
    explain_outputs,
    output_faithfulness,
)
from harness.kinds.generation.hub_tasks import (
    GenerationSetupConfig,
    GenerationSourceTask,
    GenerationTaskConfig,
    GenerationTaskSource,
    SummarisationTaskConfig,
    TranslationTaskConfig,
    language_name,
    load_generation_task,
    pairs_with_english,
    translation_source,
)
from harness.kinds.generation.predictor import Generation, GenerationPredictor
from harness.kinds.generation.prompt_attacks import (
    STRESS_TEST_SUFFIXES,
    MaskedWordCandidates,
    PromptAttackOutcome,
    PromptAttackSettings,
    PromptCandidate,
    PromptScorer,
    best_instruction_attack,
    best_suffix_attack,
    checklist_suffixes,
    deepwordbug_candidates,
    greedy_word_attack,
    synonym_candidates,
    textbugger_candidates,
    with_suffix,
)
from harness.kinds.generation.tasks import generation_task, local_generation_task, read_generation_file
from harness.kinds.generation.verbalised import verbalised_task, verbaliser_instruction
from harness.kinds.loading import load_base_classifier, peft_task_type
from harness.kinds.qa.add_any import AddAnySettings, add_any, common_words
from harness.kinds.qa.attacking import Distraction, QAAttack
from harness.kinds.qa.distractors import Distractor, DistractorPool, add_sent, insert_sentence
from harness.kinds.qa.examples import Answer, QAExample
from harness.kinds.qa.explaining import AnswerAttribution, QAExplainOutcome, explain_answers
from harness.kinds.qa.perturbing import perturb_examples
from harness.kinds.qa.predictor import AnswerSettings, QAPredictor
from harness.kinds.qa.reading import QAFormatError, read_qa_table, read_squad_json, squad_examples_from_hub_rows
from harness.kinds.qa.squad_metrics import squad_metrics
from harness.kinds.qa.tasks import QATaskSource, load_qa_task, local_qa_task, read_qa_file, select_articles
from harness.kinds.qa.windows import SpanPrediction
from harness.kinds.token.attack import (
    NerAttackRecord,
    NerAttackSettings,
    attack_sentences,
    character_edits,
    entity_attack_metrics,
)
from harness.kinds.token.components import EntityExplainer, TokenAttack, TokenPerturbation
from harness.kinds.token.conll import (
    ConllFormatError,
    ConllSentence,
    TokenTaskSource,
    convert_sentences,
    detect_scheme,
    iob2_label_names,
    load_token_task,
    parse_conll,
    read_conll,
    token_examples,
)
from harness.kinds.token.encoding import (
    TokenPrediction,
    encode_words,
    tag_sentences,
    word_predictions,
)
from harness.kinds.token.entity_metrics import (
    Entity,
    bootstrap_entity_scores,
    entity_metrics,
    entity_scores,
    extract_entities,
    sentence_f1,
)
from harness.kinds.token.examples import TokenExample
from harness.kinds.token.explaining import EntityAttribution, EntityExplainOutcome, integrated_gradients_entities
from harness.kinds.token.perturbations import (
    EntityPool,
    entity_swaps,
    synonym_swaps,
    token_typos,
    wordnet_synonyms,
)
from harness.kinds.token.predictor import TokenPredictor
from harness.modeling.architectures import classification_head_parameters, ia3_target_modules, lora_target_modules
from harness.modeling.as_is import as_is_model
from harness.modeling.models import count_parameters, quiet_transformers
from harness.modeling.predict import Predictor
from harness.python_api import Run, evaluate, run
from harness.report.charts import grouped_bars, line_chart, scatter
from harness.report.reporting import (
    comparison_table,
    format_value,
    markdown_escape,
    render_template,
    segment_diff,
    spreadsheet_safe,
    stored_methods,
    xml_safe,
)
from harness.report.results_table import results_frame
from harness.tasks.readers import has_lone_surrogate, lone_surrogate_problem
from harness.tasks.sources import (
    LocalLayout,
    RawSplit,
    SourceTask,
    TaskSource,
    TaskSourceConfig,
    check_path,
    concat_splits,
    evidence_spans,
    expand_path,
    glue_source,
    hold_out,
    hub_dataset_name,
    load_splits,
    load_task,
    read_generic,
    read_table,
    read_text,
    seeded_order,
    source_task,
)
from harness.training.loop import TrainingSettings, planned_steps
from harness.training.train import fit, train_and_save, train_with_peft


def run_textattack_attack(attack: Any, classifier: Any, examples: Sequence[Example], env: StageEnvironment,
                          max_seconds_per_example: Optional[float] = None) -> AttackOutcome:
    """Attack each example with a built textattack.Attack (built on `classifier.predictor.textattack_wrapper()`, so
    every query goes through the harness predictor); one AttackRecord per example. The goal function's
    query_budget and `max_seconds_per_example` cap each search (`AttackRecord.stopped_by`). Imports textattack."""
    from harness.attack.textattack_bridge import run_textattack_attack as run

    return run(attack, classifier, examples, env, max_seconds_per_example)


__all__ = [
    "Generation", "GenerationExample", "GenerationPredictor", "GenerationSetup", "generation_metrics",
    "generation_task", "local_generation_task", "PairedResult", "paired_significance", "read_choice",
    "read_generation_file", "TextGeneration",
    "GenerationSetupConfig", "GenerationSourceTask", "GenerationTaskConfig", "GenerationTaskSource", "InnerComponent",
    "inner_component", "language_name", "load_generation_task", "pairs_with_english", "SummarisationTaskConfig",
    "translation_source", "TranslationTaskConfig",
    "verbalised_task", "verbaliser_instruction",
    "best_instruction_attack", "best_suffix_attack", "checklist_suffixes", "deepwordbug_candidates",
    "greedy_word_attack", "PromptAttackOutcome", "PromptAttackSettings", "PromptCandidate", "PromptScorer",
    "STRESS_TEST_SUFFIXES", "synonym_candidates", "textbugger_candidates", "with_suffix", "MaskedWordCandidates",
    "explain_outputs", "GenerationExplainOutcome", "OutputAttribution", "output_faithfulness",
    "Answer", "AnswerSettings", "ExtractiveQA", "load_qa_task", "local_qa_task", "QAExample", "QAFormatError",
    "QAPredictor", "QATaskSource", "read_qa_file", "read_qa_table", "read_squad_json", "SpanPrediction",
    "squad_examples_from_hub_rows", "squad_metrics",
    "AddAnySettings", "add_any", "add_sent", "AnswerAttribution", "common_words", "Distraction", "Distractor",
    "DistractorPool", "explain_answers", "insert_sentence", "PairTargetSetting", "perturb_examples", "QAAttack",
    "QAExplainOutcome", "select_articles", "ComponentSection", "has_method", "unserved_components",
    "AdversarialRound", "AdversarialTraining", "aggregate_to_words", "as_is_model", "atomic_write_text", "Attack",
    "evaluate",
    "attack_sentences", "AttackOutcome", "AttackRecord", "Augmenter", "AugmenterConfig", "bootstrap_entity_scores",
    "Budgets", "CellJob", "CellResult", "CellState", "changes_for", "character_edits", "check_augmenter",
    "check_path", "check_rate", "check_recipe", "classification_head_parameters", "Classifier", "comparison_table",
    "concat_splits", "EntailmentJudge", "EntailmentJudgeConfig", "GrammarJudge", "GrammarJudgeConfig", "Judge",
    "JudgeSettings", "SentenceSimilarityJudge", "SimilarityJudgeConfig", "Verdict",
    "ConllFormatError", "ConllSentence", "convert_sentences", "count_parameters", "detect_scheme",
    "encode_words", "Entity", "entity_attack_metrics", "entity_metrics", "entity_scores", "entity_swaps",
    "EntityAttribution", "EntityExplainer", "EntityExplainOutcome", "EntityPool", "EpochRecord", "evidence_spans",
    "Example", "ExecutionPlan", "Executor", "expand_path", "Explainer", "ExplainerSettings", "ExplainOutcome",
    "extract_entities", "Finetuner", "fit", "format_value", "GateOutcome", "glue_source", "GradientExplainer",
    "GradientExplainerSettings", "grouped_bars", "HarnessError", "has_lone_surrogate", "hold_out", "hookimpl",
    "hub_dataset_name", "ia3_target_modules", "installed_versions", "integrated_gradients_entities", "iob2_label_names",
    "KEYBOARD_NEIGHBOURS", "length_grouped_batches", "line_chart", "load_base_classifier", "load_splits", "load_task",
    "load_token_task", "LocalLayout", "lone_surrogate_problem", "lora_target_modules", "make_attack_record",
    "markdown_escape", "Metric", "model_input", "ModelInput", "ModelSource", "NerAttackRecord", "NerAttackSettings",
    "parse_conll", "peft_task_type", "planned_steps", "PluginError", "Predictor", "prepare_offline_resources",
    "quiet_transformers", "RawSplit", "read_conll", "read_generic", "read_table", "read_text", "RecipeConfig",
    "render_template", "Reporter", "ReportRequest", "ReportView", "resolve_model_location", "ResultRow",
    "results_frame", "run", "Run", "run_textattack_attack", "scatter", "SCHEMA_VERSION", "seeded_order", "segment_diff",
    "sentence_f1", "SequenceClassification", "set_seed", "source_task", "SourceLocation", "SourceTask",
    "spreadsheet_safe", "StageContext", "StageEnvironment", "StageError", "StageRecord", "StageSpec",
    "stored_methods", "StoredRun", "SuiteError", "SuiteErrors", "SuitePath", "synonym_swaps", "tag_sentences", "Task",
    "TaskData", "TaskKind", "TaskSource", "TaskSourceConfig", "text_rng", "TextAttackAugmenter", "TextAttackRecipe",
    "token_examples", "token_typos", "TokenAttack", "TokenClassification", "TokenExample", "TokenPerturbation",
    "TokenPrediction", "TokenPredictor", "TokenTaskSource", "train_and_save", "train_with_peft", "TrainedModel",
    "TrainingEncoding", "TrainingSettings", "TrainRequest", "word_predictions", "WordAttribution", "wordnet_synonyms",
    "WordPerturbationExplainer", "xml_safe",
]
