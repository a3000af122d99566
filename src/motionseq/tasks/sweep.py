"""Sweep summaries: every trial of a Hydra multirun (a grid or an Optuna search) in one
table, the metric plotted against each swept parameter, and the best trial as a ready
experiment config.

Written into the sweep directory (``logs/<task>/multiruns/<time>``):

- ``sweep_summary.csv`` and ``sweep_summary.md``: one row per trial (rank, job, status,
  the swept parameters, the optimised metric, the other metrics, run directory, error),
  best first by the model's ``monitor_mode``; failed trials are listed last, as failed.
- ``sweep_summary.png``: the metric against each swept parameter, the best trial starred.
- ``best_experiment.yaml``: the best trial's overrides as an ``experiment/`` file
  (``# @package _global_``); copy it to ``conf/experiment/<name>.yaml`` and train with
  ``experiment=<name>``.

:class:`SweepCallback` (registered in ``conf/hydra/default.yaml``) writes them as each job
ends and again when the multirun ends; ``motionseq-sweep-summary SWEEP_DIR`` writes them
for any sweep directory. Before a multirun starts, the callback checks that every swept
key exists in the config and prepares an Optuna search's sqlite storage (see
:func:`prepare_optuna`).
"""

from __future__ import annotations

import argparse
import csv
import difflib
import io
import json
import logging
import math
import os
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf, open_dict, read_write

from motionseq.errors import ConfigError, MotionseqError
from motionseq.fileio import atomic_write

__all__ = ["Trial", "SweepSummary", "SweepCallback", "SweepConfigError", "collect_trials",
           "summarize_sweep", "write_summary", "check_search_space", "prepare_optuna", "main"]

log = logging.getLogger(__name__)

SUMMARY_CSV = "sweep_summary.csv"
SUMMARY_MD = "sweep_summary.md"
SUMMARY_PNG = "sweep_summary.png"
BEST_EXPERIMENT = "best_experiment.yaml"
JOB_STATUS = "job_status.json"
STUDY_FILE = "optuna_study.json"  # the storage and study name of an Optuna search
# groups that set up the search or a debug mode, not the trained model: not part of
# the best experiment
_NOT_IN_EXPERIMENT = ("hparams_search", "debug")
_MAX_PLOTS = 8
# parameters plotted on a log axis (besides those searched with tag(log, ...))
_LOG_NAMES = ("lr", "learning_rate", "weight_decay", "eps")


class SweepConfigError(ConfigError):
    """A sweep set up wrongly (a swept key not in the config, launcher and trainer at odds)."""


@dataclass
class Trial:
    """One job of a sweep.

    Attributes:
        job: its directory relative to the sweep directory (Hydra's job number).
        run_dir: its run directory.
        overrides: its command-line overrides (``.hydra/overrides.yaml``).
        status: ``ok`` (the metric was written and is finite) or ``failed``.
        metric: the optimised metric, or None.
        metrics: every metric of its ``metrics.json``.
        error: why it failed ("" when ok).
    """

    job: str
    run_dir: Path
    overrides: list[str]
    status: str = "failed"
    metric: float | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    error: str = ""
    metric_name: str | None = None
    mode: str | None = None
    groups: set[str] = field(default_factory=set)


@dataclass
class SweepSummary:
    """Trials sorted best first, with what was swept and how they are ranked."""

    sweep_dir: Path
    trials: list[Trial]
    metric: str
    mode: str
    swept: list[str]
    fixed: list[str]
    study: dict[str, Any] | None = None

    @property
    def ok(self) -> list[Trial]:
        return [t for t in self.trials if t.status == "ok"]

    @property
    def best(self) -> Trial | None:
        return self.ok[0] if self.ok else None

    def line(self) -> str:
        failed = len(self.trials) - len(self.ok)
        text = (f"{len(self.trials)} trials ({len(self.ok)} ok, {failed} failed) in "
                f"{self.sweep_dir}")
        best = self.best
        if best is not None:
            params = " ".join(_param_items(best, self.swept)) or "(no swept parameter)"
            text += f"; best: job {best.job}, {self.metric} = {best.metric:.4f} with {params}"
        return text


# --- reading a sweep directory ---------------------------------------------------------------

def _parser():
    from hydra.core.override_parser.overrides_parser import OverridesParser

    return OverridesParser.create()


def _parse(overrides: list[str]) -> list[Any]:
    """Hydra ``Override`` objects of override strings (unparsable ones are skipped)."""
    parser, out = _parser(), []
    for text in overrides:
        try:
            out.append(parser.parse_override(str(text)))
        except Exception:  # a malformed line must not hide the other trials
            log.warning("cannot parse the override %r", text)
    return out


def _key(override: Any) -> str:
    """The override's key as written before ``=`` (``model.hidden``, ``+x``, ``data@y``)."""
    return str(override.get_key_element())


def _split(text: str) -> tuple[str, str]:
    key, _, value = text.partition("=")
    return key, value


def _is_hydra_key(key: str) -> bool:
    bare = key.lstrip("+~")
    return bare == "hydra" or bare.startswith(("hydra.", "hydra/"))


def _load_yaml(path: Path) -> Any:
    try:
        return OmegaConf.load(path)
    except Exception:
        return None


def _select(cfg: Any, key: str) -> Any:
    if cfg is None:
        return None
    try:
        return OmegaConf.select(cfg, key, throw_on_resolution_failure=False)
    except Exception:
        return None


def _job_sort_key(job: str) -> tuple:
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in Path(job).parts)


def collect_trials(sweep_dir: str | Path) -> list[Trial]:
    """Every job under ``sweep_dir`` (folders holding ``.hydra/overrides.yaml``), in job
    order, with its status, metric and error read from the files it left."""
    sweep_dir = Path(sweep_dir)
    trials = []
    for ov in sweep_dir.rglob(".hydra/overrides.yaml"):
        run_dir = ov.parent.parent
        if run_dir == sweep_dir:
            continue
        overrides = [str(o) for o in (_load_yaml(ov) or [])]
        trial = Trial(job=run_dir.relative_to(sweep_dir).as_posix(), run_dir=run_dir,
                      overrides=overrides)
        # the resolved config train() writes, else Hydra's own copy of the job's config
        cfg = _load_yaml(run_dir / "config.yaml") or _load_yaml(run_dir / ".hydra/config.yaml")
        trial.metric_name = _select(cfg, "optimized_metric")
        trial.mode = _select(cfg, "model.monitor_mode")
        choices = _select(_load_yaml(run_dir / ".hydra/hydra.yaml"), "hydra.runtime.choices")
        trial.groups = set(choices.keys()) if isinstance(choices, DictConfig) else set()
        status = {}
        if (run_dir / JOB_STATUS).is_file():
            try:
                status = json.loads((run_dir / JOB_STATUS).read_text())
            except (OSError, ValueError):
                status = {}
        if (run_dir / "metrics.json").is_file():
            try:
                raw = json.loads((run_dir / "metrics.json").read_text())
                trial.metrics = {k: float(v) for k, v in raw.items()
                                 if isinstance(v, int | float) and not isinstance(v, bool)}
            except (OSError, ValueError, AttributeError):
                trial.error = "metrics.json is unreadable"
        if status.get("status") == "FAILED":
            trial.error = status.get("error") or "failed"
        elif not (run_dir / "metrics.json").is_file():
            trial.error = trial.error or ("no metrics.json: the job was killed, is still "
                                          "running, or failed without a record")
        trials.append(trial)
    trials.sort(key=lambda t: _job_sort_key(t.job))
    return trials


def _common(values: list[Any], default: Any) -> Any:
    values = [v for v in values if v]
    return Counter(values).most_common(1)[0][0] if values else default


def _sweep_config(sweep_dir: Path) -> DictConfig | None:
    cfg = _load_yaml(sweep_dir / "multirun.yaml")
    return cfg if isinstance(cfg, DictConfig) else None


def _swept_keys(trials: list[Trial], sweep_cfg: DictConfig | None) -> tuple[list[str], list[str]]:
    """(swept keys, fixed overrides): keys a sweep override or the sweeper's ``params``
    names, plus keys whose value differs between trials; hydra keys left out."""
    declared: list[str] = []
    if sweep_cfg is not None:
        task = _select(sweep_cfg, "hydra.overrides.task")
        for o in _parse([str(x) for x in (task or [])]):
            if o.is_sweep_override():
                declared.append(_key(o))
        params = _select(sweep_cfg, "hydra.sweeper.params")
        if isinstance(params, DictConfig):
            declared += [str(k) for k in params.keys()]
    order: list[str] = []
    values: dict[str, set[str]] = {}
    for t in trials:
        for text in t.overrides:
            key, value = _split(text)
            if key not in values:
                order.append(key)
                values[key] = set()
            values[key].add(value)
    present = Counter(k for t in trials for k in {_split(o)[0] for o in t.overrides})
    # a different value in some trial, or a key only some trials set
    varying = {k for k, v in values.items() if len(v) > 1 or present[k] != len(trials)}
    swept = [k for k in dict.fromkeys([*declared, *order])
             if (k in varying or k in declared) and not _is_hydra_key(k)]
    fixed = [f"{k}={next(iter(values[k]))}" for k in order
             if k not in swept and not _is_hydra_key(k)]
    return swept, fixed


def _param_items(trial: Trial, swept: list[str]) -> list[str]:
    found = dict(_split(o) for o in trial.overrides)
    return [f"{k}={_fmt(found[k])}" for k in swept if k in found]


def summarize_sweep(sweep_dir: str | Path, metric: str | None = None, mode: str | None = None,
                    study: dict[str, Any] | None = None) -> SweepSummary:
    """Read a sweep directory and rank its trials (see the module doc).

    Args:
        metric: the metric to rank by; default the trials' ``optimized_metric``.
        mode: ``max`` or ``min``; default the trials' ``model.monitor_mode``.
        study: ``{"storage": URL, "study_name": NAME}`` of an Optuna search, whose totals
            (this and earlier runs of the same study) the summary states.

    Raises:
        ConfigError: no trial under ``sweep_dir``, or a mode other than max/min.
    """
    sweep_dir = Path(sweep_dir)
    trials = collect_trials(sweep_dir)
    if not trials:
        raise ConfigError(f"no trials under {sweep_dir} (folders with .hydra/overrides.yaml): "
                          f"pass a multirun directory, e.g. logs/train/multiruns/<time>")
    metric = metric or _common([t.metric_name for t in trials], "val/loss")
    mode = mode or _common([t.mode for t in trials], "min")
    if mode not in ("max", "min"):
        raise ConfigError(f"mode must be max or min, got {mode!r}")
    for t in trials:
        if t.error and not t.metrics:
            continue
        value = t.metrics.get(metric)
        if value is None:
            t.error = t.error or f"no {metric} in metrics.json"
        elif not math.isfinite(value):
            t.error = t.error or f"{metric} is {value}"
        elif not t.error:
            t.status, t.metric = "ok", value
    sign = -1.0 if mode == "max" else 1.0
    ok = sorted((t for t in trials if t.status == "ok"), key=lambda t: sign * t.metric)
    failed = [t for t in trials if t.status != "ok"]
    swept, fixed = _swept_keys(trials, _sweep_config(sweep_dir))
    if study is None and (sweep_dir / STUDY_FILE).is_file():
        try:
            study = json.loads((sweep_dir / STUDY_FILE).read_text())
        except (OSError, ValueError):
            study = None
    info = optuna_study_info(study) if study and study.get("study_name") else None
    return SweepSummary(sweep_dir, ok + failed, metric, mode, swept, fixed, info)


def optuna_study_info(study: dict[str, Any]) -> dict[str, Any] | None:
    """Totals of an Optuna study (all its runs), or None when it cannot be read."""
    try:
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        s = optuna.load_study(study_name=study["study_name"], storage=study["storage"])
        states = Counter(t.state.name for t in s.trials)
        info: dict[str, Any] = {"study_name": s.study_name, "storage": study["storage"],
                                "trials": len(s.trials), "states": dict(states)}
        if states.get("COMPLETE"):
            info.update(best_value=s.best_value, best_params=s.best_params)
        return info
    except Exception as e:  # the summary of the runs on disk does not depend on it
        log.warning("cannot read the Optuna study %s: %s", study.get("study_name"), e)
        return None


# --- writing ---------------------------------------------------------------------------------

def _numeric_text(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return text.strip().lower() not in ("nan", "inf", "-inf", "+inf")


def _fmt(text: str) -> str:
    """An override value for the table: floats to 4 significant digits, the rest as is."""
    if _numeric_text(text) and not text.strip().lstrip("+-").isdigit():
        return f"{float(text):.4g}"
    return text


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
        params = dict(_split(o) for o in t.overrides)
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
        params = ", ".join(f"`{p}`" for p in _param_items(best, summary.swept))
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
        params = dict(_split(o) for o in t.overrides)
        status = t.status if t.status == "ok" else f"failed: {t.error}"
        row = [str(rank) if t.status == "ok" else "", t.job,
               *(_fmt(params[k]) if k in params else "" for k in summary.swept),
               "" if t.metric is None else f"{t.metric:.4f}",
               *(f"{t.metrics[k]:.4f}" if k in t.metrics else "" for k in extra),
               status[:200]]
        lines.append("| " + " | ".join(_md_cell(c) for c in row) + " |")
    return "\n".join(lines) + "\n"


def best_experiment_text(summary: SweepSummary) -> str | None:
    """The best trial's overrides as an experiment config (None when no trial is ok).

    Group choices become ``override /group: option`` entries (``experiment=X`` includes X
    first, so its settings hold unless the trial changed them), values become the body;
    hydra settings and the ``hparams_search``/``debug`` groups are left out."""
    best = summary.best
    if best is None:
        return None
    defaults: list[str] = []
    body = OmegaConf.create({})
    left_out: list[str] = []
    for o in _parse(best.overrides):
        key, text = _key(o), f"{_key(o)}={o.get_value_element_as_str()}"
        group = o.key_or_group
        if _is_hydra_key(key) or group in _NOT_IN_EXPERIMENT:
            left_out.append(text)
            continue
        if o.is_delete():
            left_out.append(text)
            continue
        value = o.value()
        if group in best.groups or group == "experiment":
            target = f"{group}@{o.package}" if o.package else group
            if group == "experiment":
                if value is not None:
                    defaults.insert(0, f"  - {value}")
            elif value is None:
                left_out.append(text)
            else:
                defaults.append(f"  - override /{target}: {value}")
            continue
        with open_dict(body):
            OmegaConf.update(body, group, value, merge=False, force_add=True)
    lines = ["# @package _global_",
             f"# The best trial of the sweep {summary.sweep_dir} (job {best.job}): "
             f"{summary.metric} = {best.metric:.6g} ({summary.mode} is best).",
             f"# Its overrides: {' '.join(best.overrides) or '(none)'}",
             "# Use it: copy this file to conf/experiment/<name>.yaml, then",
             "#   python scripts/train.py experiment=<name>"]
    if left_out:
        lines.append(f"# Left out (search and debug settings): {' '.join(left_out)}")
    lines += ["defaults:", *defaults, "  - _self_", ""]
    if len(body):
        lines.append(OmegaConf.to_yaml(body).rstrip())
    return "\n".join(lines) + "\n"


def _log_keys(sweep_dir: Path) -> set[str]:
    """Keys the sweeper's ``params`` search on a log scale (``tag(log, ...)``)."""
    params = _select(_sweep_config(sweep_dir), "hydra.sweeper.params")
    if not isinstance(params, DictConfig):
        return set()
    return {str(k) for k, v in params.items() if str(v).replace(" ", "").startswith("tag(log")}


def _plot(summary: SweepSummary, path: Path) -> Path | None:
    """The metric against each swept parameter (at most 8), one panel each."""
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
            params = dict(_split(o) for o in t.overrides)
            raw = t.job if key == "trial" else params.get(key)
            if raw is not None:
                points.append((raw, t.metric, t is best))
        numeric = all(_numeric_text(str(p[0])) for p in points)
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


def write_summary(sweep_dir: str | Path, metric: str | None = None, mode: str | None = None,
                  study: dict[str, Any] | None = None, plot: bool = True) -> SweepSummary:
    """Summarize ``sweep_dir`` (:func:`summarize_sweep`) and write the summary files into
    it; ``plot=False`` leaves out the PNG (cheaper while the sweep still runs)."""
    summary = summarize_sweep(sweep_dir, metric, mode, study)
    out = summary.sweep_dir
    csv_text = _csv_text(summary)
    atomic_write(out / SUMMARY_CSV, lambda p: p.write_text(csv_text))
    png = _plot(summary, out / SUMMARY_PNG) if plot else None
    md = _md_text(summary, png is not None or (out / SUMMARY_PNG).is_file())
    atomic_write(out / SUMMARY_MD, lambda p: p.write_text(md))
    best = best_experiment_text(summary)
    if best is not None:
        atomic_write(out / BEST_EXPERIMENT, lambda p: p.write_text(best))
    return summary


# --- checks before a multirun ----------------------------------------------------------------

def _swept_overrides(cfg: DictConfig) -> list[Any]:
    """Sweep overrides of the command line plus the sweeper's ``params``."""
    task = [str(x) for x in (_select(cfg, "hydra.overrides.task") or [])]
    parsed = [o for o in _parse(task) if o.is_sweep_override()]
    params = _select(cfg, "hydra.sweeper.params")
    if isinstance(params, DictConfig):
        parsed += _parse([f"{k}={v}" for k, v in params.items()])
    return parsed


def check_search_space(cfg: DictConfig) -> None:
    """SweepConfigError naming the key and its closest matches when a swept key (on the
    command line or in ``hydra.sweeper.params``) is not in the config. Keys added with
    ``+``, groups and keys under a swept group are not checked."""
    overrides = _swept_overrides(cfg)
    choices = _select(cfg, "hydra.runtime.choices")
    groups = set(choices.keys()) if isinstance(choices, DictConfig) else set()
    swept_groups = {o.key_or_group for o in overrides if o.key_or_group in groups}
    missing = object()
    for o in overrides:
        key = o.key_or_group
        if (o.is_add() or o.is_force_add() or o.is_delete() or key in groups
                or _is_hydra_key(key) or key.split(".")[0] in swept_groups):
            continue
        try:
            found = OmegaConf.select(cfg, key, default=missing,
                                     throw_on_resolution_failure=False)
        except Exception:
            found = missing
        if found is not missing:
            continue
        parent, _, leaf = key.rpartition(".")
        node = _select(cfg, parent) if parent else cfg
        siblings = [str(k) for k in node.keys()] if isinstance(node, DictConfig) else []
        close = difflib.get_close_matches(leaf, siblings, n=3)
        hint = (f"; did you mean {', '.join((parent + '.' if parent else '') + c for c in close)}"
                if close else (f"; {parent or 'the config'} has {', '.join(siblings[:12])}"
                               if siblings else ""))
        raise SweepConfigError(
            f"the sweep searches over {key}, which is not in the config{hint}. Fix the key in "
            f"the search space (hydra.sweeper.params or the command line), or add it with "
            f"+{key}=... when it is meant to be new")


def _optuna_storage(cfg: DictConfig) -> tuple[str | None, str | None]:
    target = str(_select(cfg, "hydra.sweeper._target_") or "")
    if "optuna" not in target.lower():
        return None, None
    storage = _select(cfg, "hydra.sweeper.storage")
    name = _select(cfg, "hydra.sweeper.study_name")
    return (str(storage) if storage else None), (str(name) if name else None)


def prepare_optuna(cfg: DictConfig) -> dict[str, Any] | None:
    """For an Optuna search with a storage: make the sqlite file's folder, and when the
    study already holds trials (a search run again to continue it), offset the sampler's
    seed by their number, so its first random trials do not repeat the earlier run's.
    Returns ``{"storage", "study_name"}`` or None."""
    storage, name = _optuna_storage(cfg)
    if not storage:
        return None
    if storage.startswith("sqlite:///"):
        Path(storage[len("sqlite:///"):]).expanduser().parent.mkdir(parents=True, exist_ok=True)
    if not name:
        return {"storage": storage, "study_name": name}
    logging.getLogger("alembic").setLevel(logging.WARNING)  # the storage's schema setup
    try:
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        done = len(optuna.load_study(study_name=name, storage=storage).trials)
    except KeyError:  # a new study
        done = 0
    except Exception as e:
        log.warning("cannot read the Optuna study %s in %s: %s", name, storage, e)
        done = 0
    seed = _select(cfg, "hydra.sweeper.sampler.seed")
    if done and isinstance(seed, int):
        with read_write(cfg), open_dict(cfg):
            cfg.hydra.sweeper.sampler.seed = seed + done
        log.info("continuing the Optuna study %s (%d trials so far); sampler seed %d",
                 name, done, seed + done)
    return {"storage": storage, "study_name": name}


def check_launcher(cfg: DictConfig) -> None:
    """SweepConfigError when the SLURM launcher asks for GPUs for a CPU trainer, or for
    another number of tasks per node than the trainer's processes per node."""
    target = str(_select(cfg, "hydra.launcher._target_") or "")
    if "SlurmLauncher" not in target:
        return
    gpus = _select(cfg, "hydra.launcher.gpus_per_node")
    tasks = _select(cfg, "hydra.launcher.tasks_per_node")
    accelerator = str(_select(cfg, "trainer.accelerator") or "cpu")
    devices = _select(cfg, "trainer.devices")
    if accelerator == "cpu" and isinstance(gpus, int) and gpus > 0:
        raise SweepConfigError(
            f"hydra.launcher.gpus_per_node={gpus} but trainer.accelerator=cpu: use "
            f"trainer=gpu or trainer=ddp, or set hydra.launcher.gpus_per_node=0")
    if isinstance(devices, int) and isinstance(tasks, int) and tasks != devices:
        raise SweepConfigError(
            f"hydra.launcher.tasks_per_node={tasks} but trainer.devices={devices}: Lightning "
            f"runs one process per device, so SLURM must start as many tasks per node")


# --- the Hydra callback ----------------------------------------------------------------------

def _rank_zero() -> bool:
    """False in the other processes of a distributed job (SLURM tasks, torchrun ranks)."""
    for var in ("RANK", "SLURM_PROCID", "LOCAL_RANK"):
        value = os.environ.get(var)
        if value and value.isdigit() and int(value) != 0:
            return False
    return True


def _is_multirun(config: DictConfig) -> bool:
    mode = _select(config, "hydra.mode")
    return mode is not None and "MULTIRUN" in str(mode)


def _error_text(error: BaseException) -> str:
    text = " ".join(f"{type(error).__name__}: {error}".split())
    return text[:2000]


class SweepCallback(Callback):
    """Checks a multirun before it starts and writes its summary (see the module doc).

    Registered in ``conf/hydra/default.yaml`` under ``hydra.callbacks``."""

    def __init__(self, plot: bool = True) -> None:
        self.plot = plot
        self.study: dict[str, Any] | None = None

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        try:
            check_search_space(config)
            check_launcher(config)
        except SweepConfigError as e:
            # Hydra turns a callback's exceptions into warnings and goes on: stop here,
            # before any job starts or an Optuna trial is recorded
            print(f"error: {e}", file=sys.stderr)
            sys.exit(2)
        self.study = prepare_optuna(config)
        sweep_dir = Path(str(config.hydra.sweep.dir))
        sweep_dir.mkdir(parents=True, exist_ok=True)
        if self.study:
            text = json.dumps(self.study, indent=2) + "\n"
            atomic_write(sweep_dir / STUDY_FILE, lambda p: p.write_text(text))
        # the basic sweeper writes it; other sweepers do not, and the summary reads it
        if not (sweep_dir / "multirun.yaml").is_file():
            text = OmegaConf.to_yaml(config)
            atomic_write(sweep_dir / "multirun.yaml", lambda p: p.write_text(text))

    def on_job_end(self, config: DictConfig, job_return: Any, **kwargs: Any) -> None:
        if not _is_multirun(config) or not _rank_zero():
            return
        run_dir = Path(str(config.hydra.runtime.output_dir))
        status = getattr(job_return.status, "name", str(job_return.status))
        record: dict[str, Any] = {"status": status}
        if status == "FAILED" and isinstance(job_return._return_value, BaseException):
            record["error"] = _error_text(job_return._return_value)
        atomic_write(run_dir / JOB_STATUS,
                     lambda p: p.write_text(json.dumps(record, indent=2) + "\n"))
        # kept current while the sweep runs: a sweep that stops at a failed trial still
        # leaves its summary
        try:
            write_summary(str(config.hydra.sweep.dir), plot=False)
        except Exception as e:
            log.warning("sweep summary not written: %s", e)

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        if not _rank_zero():
            return
        sweep_dir = Path(str(config.hydra.sweep.dir))
        try:
            summary = write_summary(sweep_dir, study=self.study, plot=self.plot)
        except MotionseqError as e:
            log.warning("sweep summary not written: %s", e)
            return
        log.info("%s", summary.line())
        log.info("summary: %s (and .csv, .png, %s)", sweep_dir / SUMMARY_MD, BEST_EXPERIMENT)


# --- console script --------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
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
