"""A sweep's trials, ranked: every job of a Hydra multirun (a grid or an Optuna search)
read from the files it left (overrides, config, ``metrics.json``, ``job_status.json``),
with its status, metric and error, best first by the model's ``monitor_mode``; failed
trials are listed last, as failed."""

from __future__ import annotations

import json
import math
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omegaconf import DictConfig

from motionseq.errors import ConfigError
from motionseq.sweeps.optuna_study import STUDY_FILE, optuna_study_info
from motionseq.sweeps.overrides import (
    format_value,
    is_hydra_key,
    load_yaml,
    override_key,
    parse_overrides,
    select,
    split_override,
    sweep_config,
)

__all__ = ["Trial", "SweepSummary", "JOB_STATUS", "collect_trials", "summarize_sweep",
           "param_items"]

JOB_STATUS = "job_status.json"  # a job's status and error, written when it ends


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
            params = " ".join(param_items(best, self.swept)) or "(no swept parameter)"
            text += f"; best: job {best.job}, {self.metric} = {best.metric:.4f} with {params}"
        return text


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
        overrides = [str(o) for o in (load_yaml(ov) or [])]
        trial = Trial(job=run_dir.relative_to(sweep_dir).as_posix(), run_dir=run_dir,
                      overrides=overrides)
        # the resolved config train() writes, else Hydra's own copy of the job's config
        cfg = load_yaml(run_dir / "config.yaml") or load_yaml(run_dir / ".hydra/config.yaml")
        trial.metric_name = select(cfg, "optimized_metric")
        trial.mode = select(cfg, "model.monitor_mode")
        choices = select(load_yaml(run_dir / ".hydra/hydra.yaml"), "hydra.runtime.choices")
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


def _swept_keys(trials: list[Trial], sweep_cfg: DictConfig | None) -> tuple[list[str], list[str]]:
    """(swept keys, fixed overrides): keys a sweep override or the sweeper's ``params``
    names, plus keys whose value differs between trials; hydra keys left out."""
    declared: list[str] = []
    if sweep_cfg is not None:
        task = select(sweep_cfg, "hydra.overrides.task")
        for o in parse_overrides([str(x) for x in (task or [])]):
            if o.is_sweep_override():
                declared.append(override_key(o))
        params = select(sweep_cfg, "hydra.sweeper.params")
        if isinstance(params, DictConfig):
            declared += [str(k) for k in params.keys()]
    order: list[str] = []
    values: dict[str, set[str]] = {}
    for t in trials:
        for text in t.overrides:
            key, value = split_override(text)
            if key not in values:
                order.append(key)
                values[key] = set()
            values[key].add(value)
    present = Counter(k for t in trials for k in {split_override(o)[0] for o in t.overrides})
    # a different value in some trial, or a key only some trials set
    varying = {k for k, v in values.items() if len(v) > 1 or present[k] != len(trials)}
    swept = [k for k in dict.fromkeys([*declared, *order])
             if (k in varying or k in declared) and not is_hydra_key(k)]
    fixed = [f"{k}={next(iter(values[k]))}" for k in order
             if k not in swept and not is_hydra_key(k)]
    return swept, fixed


def param_items(trial: Trial, swept: list[str]) -> list[str]:
    """The trial's swept parameters as ``key=value`` words, values formatted."""
    found = dict(split_override(o) for o in trial.overrides)
    return [f"{k}={format_value(found[k])}" for k in swept if k in found]


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
    swept, fixed = _swept_keys(trials, sweep_config(sweep_dir))
    if study is None and (sweep_dir / STUDY_FILE).is_file():
        try:
            study = json.loads((sweep_dir / STUDY_FILE).read_text())
        except (OSError, ValueError):
            study = None
    info = optuna_study_info(study) if study and study.get("study_name") else None
    return SweepSummary(sweep_dir, ok + failed, metric, mode, swept, fixed, info)
