"""SST-2 accuracy of full fine-tuning and LoRA on MiniLM, through the harness (suites/sst2-methods.yaml).

Run from the repository root:  .venv/bin/python bench/sst2_accuracy.py [--out reports] [--set KEY=VALUE ...]
Trains every method of the suite; prints full fine-tuning's and LoRA's test accuracy (GLUE SST-2 dev, 872
sentences) with 95% CIs, training time and samples/s, and whether the targets hold: full >= 88%, LoRA within 1.5
points of full (on the whole training set; `--set budgets.max_train_examples=4000` makes a CPU-sized run).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=REPO / "reports")
    parser.add_argument("--set", action="append", default=[], metavar="KEY.PATH=VALUE", help="suite override")
    args = parser.parse_args()

    from harness.cli import main as harness_main
    from harness.store import read_run

    overrides = [argument for override in args.set for argument in ("--set", override)]
    code = harness_main(["run", str(REPO / "suites" / "sst2-methods.yaml"), "--out", str(args.out), "--no-progress",
                         *overrides])
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
