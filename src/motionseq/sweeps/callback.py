"""The Hydra callback of multiruns (registered in ``conf/hydra/default.yaml``): checks the
sweep before it starts, prepares an Optuna search's storage, records each job's status and
writes the sweep's summary files as each job ends and again when the multirun ends."""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf

from motionseq.errors import MotionseqError
from motionseq.fileio import atomic_write
from motionseq.sweeps.best_experiment import BEST_EXPERIMENT
from motionseq.sweeps.checks import SweepConfigError, check_launcher, check_search_space
from motionseq.sweeps.optuna_study import STUDY_FILE, prepare_optuna
from motionseq.sweeps.overrides import select
from motionseq.sweeps.report import SUMMARY_MD, write_summary
from motionseq.sweeps.summary import JOB_STATUS

__all__ = ["SweepCallback"]

log = logging.getLogger(__name__)


def _rank_zero() -> bool:
    """False in the other processes of a distributed job (SLURM tasks, torchrun ranks)."""
    for var in ("RANK", "SLURM_PROCID", "LOCAL_RANK"):
        value = os.environ.get(var)
        if value and value.isdigit() and int(value) != 0:
            return False
    return True


def _is_multirun(config: DictConfig) -> bool:
    mode = select(config, "hydra.mode")
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
