"""SST-2 accuracy of full fine-tuning and LoRA on MiniLM, through the harness (suites/sst2-methods.yaml).

Run:  .venv/bin/python bench/sst2_accuracy.py [--data DIR] [--advglue FILE] [--out reports] [--set KEY=VALUE ...]
Trains every method of the suite; prints full fine-tuning's and LoRA's test accuracy (GLUE SST-2 dev, 872
sentences) with 95% CIs, training time and samples/s, and whether the targets hold: full >= 88%, LoRA within 1.5
points of full (on the whole training set; `--set budgets.max_train_examples=4000` makes a CPU-sized run).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

from sst2_data import load_sst2  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=REPO / "reports")
    parser.add_argument("--set", action="append", default=[], metavar="KEY.PATH=VALUE", help="suite override")
    parser.add_argument("--data", metavar="DIR", help="a local copy of GLUE SST-2 (default: the Hugging Face Hub)")
    parser.add_argument("--advglue", metavar="FILE", help="a local AdvGLUE dev.json (default: the Hugging Face Hub)")
    args = parser.parse_args()

    load_sst2(args.data)  # stops here, with the task's error, when SST-2 cannot be had (offline without --data)
    from harness.cli import main as harness_main
    from harness.core.store import read_run

    sets = [*args.set, *([f"task.path={args.data}"] if args.data else []),
            *([f"attacks.0.path={args.advglue}"] if args.advglue else [])]
    overrides = [argument for override in sets for argument in ("--set", override)]
    code = harness_main(["run", str(REPO / "suites" / "sst2-methods.yaml"), "--out", str(args.out), "--no-progress",
                         *overrides])
    if code == 2:
        return code  # the suite did not run (the error is printed above)
    runs = sorted((args.out / "sst2-methods").iterdir(), key=lambda p: (p / "manifest.json").stat().st_mtime_ns
                  if (p / "manifest.json").exists() else 0)
    run = read_run(runs[-1])
    value = {(row.method, row.metric): row for row in run.results}
    print(f"device: {run.manifest['device']} ({run.manifest['device_name']}, {run.manifest['cpu_count']} cores)")
    print(f"{'method':<8}{'test accuracy':>16}{'95% CI':>16}{'train s':>10}{'samples/s':>11}{'trainable':>12}")
    for method in ("full", "lora"):
        accuracy = value[(method, "accuracy")]
        print(f"{method:<8}{100 * accuracy.value:>15.2f}%{100 * accuracy.ci_low:>8.1f}-{100 * accuracy.ci_high:<6.1f}"
              f"{value[(method, 'train_seconds')].value:>10.0f}{value[(method, 'samples_per_second')].value:>11.1f}"
              f"{value[(method, 'trainable_parameters')].value:>12,.0f}")
    full, lora = value[("full", "accuracy")].value, value[("lora", "accuracy")].value
    print(f"full >= 88%: {'yes' if full >= 0.88 else 'NO'}; LoRA within 1.5 points of full: "
          f"{'yes' if full - lora <= 0.015 else 'NO'} ({100 * (full - lora):+.2f} points)")
    return code


if __name__ == "__main__":
    sys.exit(main())
