"""The summary files of a sweep, written into its directory
(``logs/<task>/multiruns/<time>``), and the ``motionseq-sweep-summary`` console script
that writes them for any sweep directory:

- ``sweep_summary.csv`` and ``sweep_summary.md``: one row per trial (rank, job, status,
  the swept parameters, the optimised metric, the other metrics, run directory, error),
  best first (:func:`~motionseq.sweeps.summary.summarize_sweep`).
- ``sweep_summary.png``: the metric against each swept parameter
  (:func:`~motionseq.sweeps.plots.plot_summary`).
- ``best_experiment.yaml``: the best trial's overrides as an ``experiment/`` file
  (:func:`~motionseq.sweeps.best_experiment.best_experiment_text`).
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
from pathlib import Path
from typing import Any

from motionseq.errors import MotionseqError
from motionseq.fileio import atomic_write
from motionseq.sweeps.best_experiment import BEST_EXPERIMENT, best_experiment_text
from motionseq.sweeps.overrides import format_value, split_override
from motionseq.sweeps.plots import plot_summary
from motionseq.sweeps.summary import SweepSummary, param_items, summarize_sweep

__all__ = ["SUMMARY_CSV", "SUMMARY_MD", "SUMMARY_PNG", "write_summary", "main"]

SUMMARY_CSV = "sweep_summary.csv"
SUMMARY_MD = "sweep_summary.md"
SUMMARY_PNG = "sweep_summary.png"


def _columns(summary: SweepSummary) -> list[str]:
    """Metrics beside the optimised one: its test counterpart first, then the rest."""
    keys = sorted({k for t in summary.trials for k in t.metrics} - {summary.metric})
    twin = "test/" + summary.metric.split("/", 1)[-1]
    return ([twin] if twin in keys else []) + [k for k in keys if k != twin]


def _csv_text(summary: SweepSummary) -> str:
    others = _columns(summary)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["rank", "job", "status", *summary.swept, summary.metric, *others, "run_dir",
                "error"])
    for rank, t in enumerate(summary.trials, 1):
        params = dict(split_override(o) for o in t.overrides)
        w.writerow([rank if t.status == "ok" else "", t.job, t.status,
                    *(params.get(k, "") for k in summary.swept),
                    "" if t.metric is None else repr(t.metric),
                    *(repr(t.metrics[k]) if k in t.metrics else "" for k in others),
                    str(t.run_dir), t.error])
    return buf.getvalue()


def _md_cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _md_text(summary: SweepSummary, plot: bool) -> str:
    twin = "test/" + summary.metric.split("/", 1)[-1]
    extra = [twin] if any(twin in t.metrics for t in summary.trials) and twin != summary.metric \
        else []
    ok, n = len(summary.ok), len(summary.trials)
    lines = [f"# Sweep summary: {summary.sweep_dir}", "",
             f"{n} trials: {ok} ok, {n - ok} failed. Ranked by `{summary.metric}` "
             f"({summary.mode} is best)."]
    best = summary.best
    if best is not None:
        params = ", ".join(f"`{p}`" for p in param_items(best, summary.swept))
        lines.append(f"Best: job {best.job}, {summary.metric} = {best.metric:.4f}"
                     + (f" with {params}" if params else "")
                     + f"; as an experiment: `{BEST_EXPERIMENT}`.")
    if summary.study:
        s = summary.study
        states = ", ".join(f"{v} {k.lower()}" for k, v in sorted(s["states"].items()))
        text = (f"Optuna study `{s['study_name']}` ({s['storage']}): {s['trials']} trials "
                f"over all its runs ({states})")
        if "best_value" in s:
            text += f", best {s['best_value']:.4f} with {s['best_params']}"
        lines.append(text + ".")
    if summary.fixed:
        lines.append("Same in every trial: " + " ".join(f"`{f}`" for f in summary.fixed) + ".")
    if plot:
        lines += ["", f"![metric against the swept parameters]({SUMMARY_PNG})"]
    header = ["rank", "job", *summary.swept, summary.metric, *extra, "status"]
    lines += ["", "| " + " | ".join(_md_cell(h) for h in header) + " |",
              "|" + "|".join("---:" if h not in ("job", "status") else "---" for h in header)
              + "|"]
    for rank, t in enumerate(summary.trials, 1):
        params = dict(split_override(o) for o in t.overrides)
        status = t.status if t.status == "ok" else f"failed: {t.error}"
        row = [str(rank) if t.status == "ok" else "", t.job,
               *(format_value(params[k]) if k in params else "" for k in summary.swept),
               "" if t.metric is None else f"{t.metric:.4f}",
               *(f"{t.metrics[k]:.4f}" if k in t.metrics else "" for k in extra),
               status[:200]]
        lines.append("| " + " | ".join(_md_cell(c) for c in row) + " |")
    return "\n".join(lines) + "\n"


def write_summary(sweep_dir: str | Path, metric: str | None = None, mode: str | None = None,
                  study: dict[str, Any] | None = None, plot: bool = True) -> SweepSummary:
    """Summarize ``sweep_dir`` (:func:`summarize_sweep`) and write the summary files into
    it; ``plot=False`` leaves out the PNG (cheaper while the sweep still runs)."""
    summary = summarize_sweep(sweep_dir, metric, mode, study)
    out = summary.sweep_dir
    csv_text = _csv_text(summary)
    atomic_write(out / SUMMARY_CSV, lambda p: p.write_text(csv_text))
    png = plot_summary(summary, out / SUMMARY_PNG) if plot else None
    md = _md_text(summary, png is not None or (out / SUMMARY_PNG).is_file())
    atomic_write(out / SUMMARY_MD, lambda p: p.write_text(md))
    best = best_experiment_text(summary)
    if best is not None:
        atomic_write(out / BEST_EXPERIMENT, lambda p: p.write_text(best))
    return summary


def main(argv: list[str] | None = None) -> int:
    """``motionseq-sweep-summary SWEEP_DIR``: write the summary files and print the table;
    exit status 2 on an error the user can fix."""
    parser = argparse.ArgumentParser(
        prog="motionseq-sweep-summary",
        description="Summarize a Hydra multirun directory: sweep_summary.csv/.md/.png and "
                    "best_experiment.yaml, written into it.")
    parser.add_argument("sweep_dir", help="a multirun directory, e.g. "
                                          "logs/train/multiruns/<time>")
    parser.add_argument("--metric", help="the metric to rank by (default: the trials' "
                                         "optimized_metric)")
    parser.add_argument("--mode", choices=["max", "min"],
                        help="which end is best (default: the trials' model.monitor_mode)")
    parser.add_argument("--storage", help="an Optuna storage URL whose study totals to state")
    parser.add_argument("--study-name", help="the Optuna study in --storage")
    parser.add_argument("--no-plot", action="store_true")
    args = parser.parse_args(argv)
    study = ({"storage": args.storage, "study_name": args.study_name}
             if args.storage and args.study_name else None)
    try:
        summary = write_summary(args.sweep_dir, args.metric, args.mode, study,
                                plot=not args.no_plot)
    except MotionseqError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print((summary.sweep_dir / SUMMARY_MD).read_text())
    print(summary.line())
    return 0


if __name__ == "__main__":
    sys.exit(main())
