"""``python -m bench.run [name ...]``: run benchmarks (default: all but the long ones in
``OPT_IN``), record their figures in ``bench/results.json`` (and ``results.md``) and print
them."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from functools import partial
from typing import Any

from bench import (
    accuracy,
    ethucy,
    experiments,
    extraction,
    gpu,
    joints,
    live,
    memory,
    pets_forecast,
    results,
    sim2real,
    tracking,
    train_throughput,
    uea_dev,
)

# name -> a callable returning {figure name: {"value", "unit", ...}}. Adding a benchmark is one
# line here; "command" defaults to the make target that reruns just that benchmark.
BENCHMARKS: dict[str, Callable[[], dict[str, dict[str, Any]]]] = {
    "train_throughput": train_throughput.run,
    "experiments": experiments.run,
    "ethucy": ethucy.run,
    "ethucy_ablations": ethucy.run_ablations,
    "ethucy_multimodal": ethucy.run_multimodal,
    "ethucy_heldout": ethucy.run_heldout,
    "tracking": tracking.run,
    "pets_forecast": pets_forecast.run,
    "forecast_joints": joints.run,
    "extraction": extraction.run,
    "accuracy": accuracy.run,
    "accuracy_penn": accuracy.run_penn,
    "accuracy_natops": accuracy.run_natops,
    "live": live.run,
    "memory": memory.run,
    "sim2real": sim2real.run,
    "uea_dev": uea_dev.run,
    "sequences_penn": uea_dev.run_sequences_penn,
    "gpu": gpu.run,  # records nothing without CUDA
    # each ETH/UCY ablation alone, e.g. make bench ARGS=ethucy_ablation_members3
    **{f"ethucy_ablation_{name}": partial(ethucy.run_ablations, (name,))
       for name in ethucy.ABLATIONS},
}
# Run only when named (``make bench-accuracy``): they train for many minutes.
OPT_IN = frozenset({"accuracy", "accuracy_penn", "accuracy_natops", "sim2real", "uea_dev",
                     "sequences_penn", "ethucy_ablations", "ethucy_heldout",
                     *(f"ethucy_ablation_{name}" for name in ethucy.ABLATIONS)})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.run",
        description="Run benchmarks, record their figures in bench/results.json, print them.")
    parser.add_argument("names", nargs="*", metavar="name",
                        help=f"benchmarks to run (default: all of "
                             f"{', '.join(n for n in BENCHMARKS if n not in OPT_IN)}; "
                             f"only when named: {', '.join(sorted(OPT_IN))})")
    names = parser.parse_args(argv).names or [n for n in BENCHMARKS if n not in OPT_IN]
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        print(f"error: unknown benchmark {', '.join(map(repr, unknown))}; "
              f"known: {', '.join(BENCHMARKS)}", file=sys.stderr)
        return 2
    for name in names:
        figures = {k: {"command": f"make bench ARGS={name}", **v}
                   for k, v in BENCHMARKS[name]().items()}
        if not figures:  # e.g. gpu without CUDA: it has said why
            print(f"\n{name}: no figures recorded")
            continue
        # record after each benchmark so that a later failure keeps these figures
        merged = results.record(figures)
        print(f"\n{name}\n\n{results.table({k: merged[k] for k in figures})}", end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
