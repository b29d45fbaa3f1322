"""The stages of a text-generation cell:

    finetune -> evaluate -> attack (each) -> perturb (each) -> explain (each)

Stage keys, caching and records work as for any stage (harness.core.runner); what is computed:

- evaluate: greedy (or beam) outputs of the trained model for the test split (harness.kinds.generation.predictor),
  scored by harness.core.text_metrics: `bleu` and `chrf` (sacreBLEU, 0-100), `rouge1`, `rouge2`,
  `rougeL` (rouge-score, 0-1), `exact_match`, and for a classification task posed as a prompt `accuracy` and
  `unparsed_rate`; each with its 95% interval. Also `mean_output_tokens` and `cut_output_rate` (outputs that hit
  `max_new_tokens`). records/generations.jsonl holds per example its id, input, prompt, references, output, tokens
  and sentence-level scores; records/metric-signatures.jsonl the sacreBLEU and rouge-score signature of each score.
- attack (an attack's `attack_prompt`: the PromptBench recipes prompt-deepwordbug, prompt-textbugger,
  prompt-textfooler, prompt-bertattack, prompt-stresstest, prompt-checklist, prompt-semantic;
  harness.kinds.generation.prompt_attacks):
  the instruction attacked with the headline metric of the attack sample as the goal; the score under the original
  and the adversarial instruction (`original_score`, `score_drop` with its paired interval and p-value,
  `performance_drop_rate`), every metric of the attacked outputs (`attacked_<metric>`), `candidate_instructions`
  scored and `instruction_changed`; records/prompt-attack.jsonl (every candidate scored, in order) and
  records/prompt-attack-outputs.jsonl (each example's output under both instructions).
- perturb (any text augmenter): the test split with each input (`pair_target: second`, the default), the
  instruction (`first`) or both perturbed, generated again; every metric of the perturbed outputs
  (`perturbed_<metric>`), the headline metric's drop (`score_drop`, a paired bootstrap interval, and its p-value
  `score_drop_p_value`) and PromptBench's performance drop rate (`performance_drop_rate`: the drop over the
  original score), `output_change_rate` and `changed_example_rate`; records/generation-perturb.jsonl.
- explain (an explainer's `explain_generations`: feature-ablation, shapley-value-sampling, integrated-gradients;
  harness.kinds.generation.explaining): each explained example's generated output, its log-probability attributed
  over the prompt's words (records/generation-attributions.jsonl), `instruction_attribution_share`, and with the
  explainer's `faithfulness` switch the top-words vs random-words ablation check
  (records/generation-faithfulness.jsonl).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Sequence

from harness.core.errors import PluginError
from harness.core.files import write_jsonl
from harness.core.pairs import pair_target_of
from harness.core.statistics import proportion_metric
from harness.core.text_metrics import generation_metrics, normalized_text, paired_significance, sentence_scores
from harness.core.types import Metric, StageEnvironment
from harness.kinds import standard
from harness.kinds.base import StageContext, StageSpec
from harness.kinds.generation.examples import GenerationExample
from harness.kinds.generation.prompts import rendered_prompt

PERTURB_TARGETS = {"first": "instruction", "second": "input", "both": "instruction and input"}
"""What `pair_target` (harness.PairTargetSetting) perturbs in a generation example."""


def headline(examples: Sequence[GenerationExample]) -> Any:
    """The task's setup (its headline metric, choices) as its first example carries it."""
    return examples[0].setup


# ----------------------------------------------------------------------------------------------- evaluate


def evaluate(classifier: Any, examples: Sequence[GenerationExample], building: Path, seed: int) -> list[Metric]:
    predictor = classifier.predictor
    generations = predictor.generate(examples, "generate (test)")
    outputs = [generation.text for generation in generations]
    references = [example.references for example in examples]
    setup = headline(examples)
    metrics, signatures = generation_metrics(outputs, references, setup.choices, seed=seed)
    scores = sentence_scores(outputs, references, setup.choices)
    write_jsonl(building / "records" / "generations.jsonl", (
        {"example_id": example.id, "input": example.input,
         "prompt": rendered_prompt(predictor.tokenizer, example.setup, example.input),
         "references": list(example.references), "output": generation.text, "output_tokens": generation.tokens,
         **score}
        for example, generation, score in zip(examples, generations, scores)))
    write_jsonl(building / "records" / "metric-signatures.jsonl",
                ({"metric": name, "signature": signature} for name, signature in signatures.items()))
    cut = [generation.tokens >= example.setup.max_new_tokens for example, generation in zip(examples, generations)]
    return [*metrics,
            Metric("mean_output_tokens", sum(generation.tokens for generation in generations) / max(1, len(outputs)),
                   n=len(outputs)),
            proportion_metric("cut_output_rate", cut)]


def evaluate_stage(context: StageContext, ref: Any, building: Path, env: StageEnvironment) -> dict[str, Any]:
    return standard.as_payload(evaluate(context.classifier(), context.task.test, building, context.cell.seed))


# ------------------------------------------------------------------------------------------------ perturb


def perturbed_examples(examples: Sequence[GenerationExample], augment: Any, target: str) -> list[GenerationExample]:
    """The examples with their inputs (`second`), instructions (`first`) or both passed through `augment`
    (a function of a list of texts); an instruction perturbed per example gives that example its own setup."""
    results = list(examples)
    if target in ("second", "both"):
        inputs = augment([example.input for example in results])
        results = [dataclasses.replace(example, input=text) for example, text in zip(results, inputs)]
    if target in ("first", "both"):
        instructions = augment([example.setup.instruction for example in results])
        results = [dataclasses.replace(example, setup=dataclasses.replace(example.setup, instruction=instruction))
                   for example, instruction in zip(results, instructions)]
    return results


def perturb_metrics(classifier: Any, examples: Sequence[GenerationExample],
                    perturbed: Sequence[GenerationExample], target: str, building: Path, seed: int) -> list[Metric]:
    """Generate for the original and the perturbed examples; score both and write records."""
    predictor = classifier.predictor
    before = predictor.texts(examples, "generate (test)")
    after = predictor.texts(perturbed, "generate (perturbed)")
    references = [example.references for example in examples]
    setup = headline(examples)
    metrics, _ = generation_metrics(after, references, setup.choices, seed=seed)
    changed_outputs = [normalized_text(old) != normalized_text(new) for old, new in zip(before, after)]
    changed_examples = [(example.input, example.setup.instruction) != (result.input, result.setup.instruction)
                        for example, result in zip(examples, perturbed)]
    write_jsonl(building / "records" / "generation-perturb.jsonl", (
        {"example_id": example.id, "target": PERTURB_TARGETS[target], "changed": changed,
         "original_input": example.input, "perturbed_input": result.input,
         "original_instruction": example.setup.instruction, "perturbed_instruction": result.setup.instruction,
         "references": list(example.references), "output_before": old, "output_after": new,
         "output_changed": output_changed}
        for example, result, old, new, changed, output_changed
        in zip(examples, perturbed, before, after, changed_examples, changed_outputs)))
    return [*(dataclasses.replace(metric, name=f"perturbed_{metric.name}") for metric in metrics),
            *drop_metrics(before, after, references, setup, seed),
            proportion_metric("output_change_rate", changed_outputs),
            Metric("changed_example_rate", sum(changed_examples) / max(1, len(changed_examples)),
                   n=len(changed_examples))]


def drop_metrics(before: Sequence[str], after: Sequence[str], references: Sequence[Sequence[str]], setup: Any,
                 seed: int) -> list[Metric]:
    """The headline metric's drop from `before` to `after` (a paired bootstrap interval, sacreBLEU's test), its
    p-value, and PromptBench's performance drop rate (the drop over the original score; none when that is 0)."""
    if not before:
        return []
    paired = paired_significance(before, after, references, setup.metric, seed=seed, choices=setup.choices)
    drop = -paired.difference
    rate = drop / paired.score_a if paired.score_a else None
    return [Metric("original_score", paired.score_a, n=paired.n),
            Metric("score_drop", drop, -paired.ci_high if paired.ci_high is not None else None,
                   -paired.ci_low if paired.ci_low is not None else None, paired.n),
            Metric("score_drop_p_value", paired.p_value, n=paired.n),
            *([Metric("performance_drop_rate", rate, n=paired.n)] if rate is not None else [])]


def attack_stage(context: StageContext, ref: Any, building: Path, env: StageEnvironment) -> dict[str, Any]:
    from harness.kinds.generation.prompt_attacks import PromptAttackOutcome, PromptScorer

    attack, examples = context.build(ref), list(context.attack_examples)
    bar = env.progress(desc=f"{context.cell.prefix} attack {ref.label}", unit="prompt")
    try:
        scorer = PromptScorer(context.classifier().predictor, examples, context.cell.seed,
                              getattr(ref.config, "protected_words", ()), bar)
        outcome = attack.attack_prompt(scorer, env)
    finally:
        bar.close()
    if not isinstance(outcome, PromptAttackOutcome):
        raise PluginError(ref.plugin, f"attack {ref.name!r} returned {type(outcome).__name__}, expected "
                                      f"PromptAttackOutcome (harness.PromptScorer.outcome)")
    return standard.as_payload(prompt_attack_metrics(scorer, outcome, building, context.cell.seed))


def prompt_attack_metrics(scorer: Any, outcome: Any, building: Path, seed: int) -> list[Metric]:
    """Score the attack sample under the original and the adversarial instruction; write the records."""
    examples = scorer.examples
    before = scorer.outputs(outcome.original_instruction)
    after = scorer.outputs(outcome.adversarial_instruction)
    references = [example.references for example in examples]
    setup = headline(examples)
    write_jsonl(building / "records" / "prompt-attack.jsonl", (dataclasses.asdict(candidate)
                                                               for candidate in outcome.candidates))
    write_jsonl(building / "records" / "prompt-attack-outputs.jsonl", (
        {"example_id": example.id, "input": example.input, "references": list(example.references),
         "original_instruction": outcome.original_instruction,
         "adversarial_instruction": outcome.adversarial_instruction, "output_before": old, "output_after": new,
         "output_changed": normalized_text(old) != normalized_text(new)}
        for example, old, new in zip(examples, before, after)))
    metrics, _ = generation_metrics(after, references, setup.choices, seed=seed)
    return [*(dataclasses.replace(metric, name=f"attacked_{metric.name}") for metric in metrics),
            *drop_metrics(before, after, references, setup, seed),
            proportion_metric("output_change_rate", [normalized_text(old) != normalized_text(new)
                                                     for old, new in zip(before, after)]),
            Metric("candidate_instructions", float(len(outcome.candidates)), n=len(examples)),
            Metric("instruction_changed",
                   float(outcome.adversarial_instruction != outcome.original_instruction))]


def perturb_stage(context: StageContext, ref: Any, building: Path, env: StageEnvironment) -> dict[str, Any]:
    from harness.kinds.sequence.stages import checked_augmentation

    augmenter = context.build(ref)
    examples = context.task.test
    target = pair_target_of(ref.config)
    perturbed = perturbed_examples(examples, lambda texts: checked_augmentation(ref, augmenter, texts, env), target)
    for example, result in zip(examples, perturbed):
        if not result.input.strip():
            raise PluginError(ref.plugin, f"perturbation {ref.name!r} left example {example.id!r} with an empty "
                                          f"input")
    return standard.as_payload(perturb_metrics(context.classifier(), examples, perturbed, target, building,
                                               context.cell.seed))


def explain_stage(context: StageContext, ref: Any, building: Path, env: StageEnvironment) -> dict[str, Any]:
    from harness.core.statistics import bootstrap_metric
    from harness.kinds.generation.explaining import (
        GenerationExplainOutcome,
        OutputAttribution,
        instruction_share,
        output_faithfulness,
    )

    explainer, classifier, examples = context.build(ref), context.classifier(), list(context.explain_examples)
    outcome = explainer.explain_generations(classifier, examples, env)
    if not isinstance(outcome, GenerationExplainOutcome) or not all(
            isinstance(attribution, OutputAttribution) for attribution in outcome.attributions):
        raise PluginError(ref.plugin, f"explainer {ref.name!r} returned {type(outcome).__name__}, expected "
                                      f"GenerationExplainOutcome of OutputAttribution")
    if [attribution.example_id for attribution in outcome.attributions] != [example.id for example in examples]:
        raise PluginError(ref.plugin, f"explainer {ref.name!r} returned {len(outcome.attributions)} attributions for "
                                      f"{len(examples)} examples; one per example, in order")
    write_jsonl(building / "records" / "generation-attributions.jsonl",
                (dataclasses.asdict(attribution) for attribution in outcome.attributions))
    metrics = [Metric("explained_examples", float(len(outcome.attributions))), *outcome.metrics]
    shares = [share for attribution in outcome.attributions
              if (share := instruction_share(attribution)) is not None]
    if shares:
        metrics.append(bootstrap_metric("instruction_attribution_share", shares, seed=context.cell.seed))
    if getattr(ref.config, "faithfulness", True):
        faithfulness, records = output_faithfulness(classifier, examples, outcome.attributions, seed=context.cell.seed)
        write_jsonl(building / "records" / "generation-faithfulness.jsonl", records)
        metrics += faithfulness
    return standard.as_payload(metrics)


STAGES: tuple[StageSpec, ...] = (
    standard.FINETUNE,
    *standard.model_stages(evaluate_stage, attack_stage, perturb_stage, explain_stage,
                           lambda context, ref: standard.explain_key(context, ref, [])),
)
