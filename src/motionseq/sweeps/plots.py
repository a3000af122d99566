"""The sweep's plot: the optimised metric against each swept parameter (one panel each,
at most 8), the best trial starred; log axes for parameters searched on a log scale."""

from __future__ import annotations

from pathlib import Path

from omegaconf import DictConfig

from motionseq.fileio import atomic_write
from motionseq.sweeps.overrides import is_number, select, split_override, sweep_config
from motionseq.sweeps.summary import SweepSummary

__all__ = ["plot_summary"]

_MAX_PLOTS = 8
# parameters plotted on a log axis (besides those searched with tag(log, ...))
_LOG_NAMES = ("lr", "learning_rate", "weight_decay", "eps")


def _log_keys(sweep_dir: Path) -> set[str]:
    """Keys the sweeper's ``params`` search on a log scale (``tag(log, ...)``)."""
    params = select(sweep_config(sweep_dir), "hydra.sweeper.params")
    if not isinstance(params, DictConfig):
        return set()
    return {str(k) for k, v in params.items() if str(v).replace(" ", "").startswith("tag(log")}


def plot_summary(summary: SweepSummary, path: Path) -> Path | None:
    """Draw the metric against each swept parameter (at most 8), one panel each, as a
    PNG at ``path``; None when no trial is ok."""
    ok = summary.ok
    if not ok:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib import ticker

    keys = summary.swept[:_MAX_PLOTS] or ["trial"]
    log_keys = _log_keys(summary.sweep_dir)
    cols = min(len(keys), 4)
    rows = (len(keys) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.4 * rows), squeeze=False)
    best = summary.best
    for ax, key in zip(axes.flat, keys, strict=False):
        points = []
        for t in ok:
            params = dict(split_override(o) for o in t.overrides)
            raw = t.job if key == "trial" else params.get(key)
            if raw is not None:
                points.append((raw, t.metric, t is best))
        numeric = all(is_number(str(p[0])) for p in points)
        if numeric:
            xs = [float(p[0]) for p in points]
            if xs and min(xs) > 0 and (key in log_keys or key.endswith(_LOG_NAMES)):
                ax.set_xscale("log")
                ax.xaxis.set_major_locator(ticker.LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
            else:
                integers = all(x.is_integer() for x in xs)
                ax.xaxis.set_major_locator(ticker.MaxNLocator(5, integer=integers))
            ax.xaxis.set_minor_formatter(ticker.NullFormatter())
            ax.xaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _: f"{v:.3g}"))
        else:
            cats = sorted({str(p[0]) for p in points})
            xs = [cats.index(str(p[0])) for p in points]
            ax.set_xticks(range(len(cats)), cats, rotation=30, ha="right")
        ys = [p[1] for p in points]
        ax.scatter(xs, ys, s=28, alpha=0.75, color="tab:blue")
        for x, y, is_best in zip(xs, ys, [p[2] for p in points], strict=False):
            if is_best:
                ax.scatter([x], [y], s=160, marker="*", color="tab:red", zorder=3,
                           label="best")
        ax.set_xlabel(key)
        ax.set_ylabel(summary.metric)
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(keys):]:
        ax.axis("off")
    fig.suptitle(f"{summary.metric} ({summary.mode} is best), {len(ok)} trials")
    fig.tight_layout()
    atomic_write(path, lambda p: fig.savefig(p, dpi=100, format="png"))
    plt.close(fig)
    return path
