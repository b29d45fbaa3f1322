"""A plugin-based robustness and explainability evaluation harness for NLP classifiers.

Public API for plugin authors: `hookimpl`, the dataclasses of harness.types, the component Protocols,
the errors, and the helpers a finetuner, attack or explainer needs (loaded lazily: importing `harness`
never imports torch).
"""

from harness.config import SuitePath
from harness.components import Attack, Augmenter, Classifier, Executor, Explainer, Finetuner, Reporter, Task
from harness.errors import HarnessError, PluginError, SourceLocation, StageError, SuiteError, SuiteErrors
from harness.hookspecs import hookimpl
from harness.types import (
    SCHEMA_VERSION,
    AdversarialRound,
    AdversarialTraining,
    AttackOutcome,
    AttackRecord,
    Budgets,
    CellJob,
    CellResult,
    ComponentInfo,
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
    TokenExample,
    TrainedModel,
    TrainRequest,
    WordAttribution,
)

__version__ = "0.1.0"

_LAZY = {
    "TrainingSettings": "harness.training",
    "fit": "harness.training",
    "set_seed": "harness.training",
    "train_and_save": "harness.training",
    "train_with_peft": "harness.training",
    "planned_steps": "harness.training",
    "lora_target_modules": "harness.architectures",
    "ia3_target_modules": "harness.architectures",
    "classification_head_parameters": "harness.architectures",
    "load_base_classifier": "harness.models",
    "count_parameters": "harness.models",
    "quiet_transformers": "harness.models",
    "Predictor": "harness.predict",
    "prepare_offline_resources": "harness.resources",
    "run_textattack_attack": "harness.textattack_bridge",
    "RecipeConfig": "harness.textattack_recipes",
    "TextAttackRecipe": "harness.textattack_recipes",
    "check_recipe": "harness.textattack_recipes",
    "text_rng": "harness.perturbation",
    "changes_for": "harness.perturbation",
    "KEYBOARD_NEIGHBOURS": "harness.perturbation",
    "ModelInput": "harness.pairs",
    "model_input": "harness.pairs",
    "make_attack_record": "harness.pairs",
    "check_rate": "harness.perturbation",
    "AugmenterConfig": "harness.textattack_augmenters",
    "TextAttackAugmenter": "harness.textattack_augmenters",
    "check_augmenter": "harness.textattack_augmenters",
    "ExplainerSettings": "harness.explaining",
    "GradientExplainer": "harness.explaining",
    "GradientExplainerSettings": "harness.explaining",
    "WordPerturbationExplainer": "harness.explaining",
    "length_grouped_batches": "harness.attribution",
    "aggregate_to_words": "harness.attribution",
    "comparison_table": "harness.reporting",
    "format_value": "harness.reporting",
    "markdown_escape": "harness.reporting",
    "segment_diff": "harness.reporting",
    "render_template": "harness.reporting",
    "stored_methods": "harness.reporting",
    "atomic_write_text": "harness.store",
    "results_frame": "harness.results_table",
    "TaskSource": "harness.task_sources",
    "TaskSourceConfig": "harness.task_sources",
    "LocalLayout": "harness.task_sources",
    "RawSplit": "harness.task_sources",
    "load_task": "harness.task_sources",
    "source_task": "harness.task_sources",
    "SourceTask": "harness.task_sources",
    "load_splits": "harness.task_sources",
    "hold_out": "harness.task_sources",
    "seeded_order": "harness.task_sources",
    "glue_source": "harness.task_sources",
    "hub_dataset_name": "harness.task_sources",
    "read_table": "harness.task_sources",
    "read_text": "harness.task_sources",
    "read_generic": "harness.task_sources",
    "concat_splits": "harness.task_sources",
    "check_path": "harness.task_sources",
    "expand_path": "harness.task_sources",
    "evidence_spans": "harness.task_sources",
    # Token classification (named-entity recognition): harness.conll, entity_metrics, token_classification,
    # ner_perturbations, ner_attack.
    "ConllFormatError": "harness.conll",
    "ConllSentence": "harness.conll",
    "TokenTaskSource": "harness.conll",
    "load_token_task": "harness.conll",
    "parse_conll": "harness.conll",
    "read_conll": "harness.conll",
    "convert_sentences": "harness.conll",
    "detect_scheme": "harness.conll",
    "iob2_label_names": "harness.conll",
    "token_examples": "harness.conll",
    "Entity": "harness.entity_metrics",
    "extract_entities": "harness.entity_metrics",
    "entity_scores": "harness.entity_metrics",
    "bootstrap_entity_scores": "harness.entity_metrics",
    "entity_metrics": "harness.entity_metrics",
    "sentence_f1": "harness.entity_metrics",
    "TokenPrediction": "harness.token_classification",
    "encode_words": "harness.token_classification",
    "word_predictions": "harness.token_classification",
    "tag_sentences": "harness.token_classification",
    "EntityPool": "harness.ner_perturbations",
    "entity_swaps": "harness.ner_perturbations",
    "synonym_swaps": "harness.ner_perturbations",
    "token_typos": "harness.ner_perturbations",
    "NerAttackSettings": "harness.ner_attack",
    "NerAttackRecord": "harness.ner_attack",
    "attack_sentences": "harness.ner_attack",
    "attack_metrics": "harness.ner_attack",
    "character_edits": "harness.ner_attack",
    "wordnet_synonyms": "harness.ner_perturbations",
    "TokenAttack": "harness.components",
    "TokenPerturbation": "harness.components",
    "EntityExplainer": "harness.components",
    "TokenPredictor": "harness.predict",
    "peft_task_type": "harness.models",
    "EntityAttribution": "harness.entity_explaining",
    "EntityExplainOutcome": "harness.entity_explaining",
    "integrated_gradients_entities": "harness.entity_explaining",
}


def __getattr__(name: str):
    # Helpers that pull in torch are resolved on first use so that importing a plugin module stays cheap.
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module 'harness' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module_name), name)


__all__ = [
    "SCHEMA_VERSION", "AdversarialRound", "AdversarialTraining", "Attack", "AttackOutcome", "AttackRecord", "Augmenter", "Budgets", "CellJob", "CellResult", "Classifier",
    "ComponentInfo", "EpochRecord", "Example", "ExecutionPlan", "Executor", "ExplainOutcome", "Explainer", "Finetuner", "GateOutcome",
    "HarnessError", "Metric", "ModelSource", "PluginError", "ReportRequest", "Reporter", "ResultRow",
    "SourceLocation", "StageEnvironment", "SuitePath", "StageError", "StageRecord", "StoredRun", "SuiteError", "SuiteErrors",
    "Task", "TaskData", "TokenExample", "TrainRequest", "TrainedModel", "WordAttribution", "hookimpl", *_LAZY,
]
