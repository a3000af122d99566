"""What the experiment loggers get beyond the metrics Lightning logs: the resolved config,
the test figures (confusion matrix, trajectories) and the best checkpoint as a wandb
artifact; and a wandb logger that never prompts.

wandb runs offline unless ``WANDB_MODE`` says otherwise (``wandb sync`` uploads an offline
run later). A run that asks for online mode without an API key stops at once with the fix,
instead of waiting for a login that no one can type.
"""

from __future__ import annotations

import csv
import logging
import netrc
import os
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from hydra.experimental.callback import Callback
from lightning_fabric.loggers.logger import rank_zero_experiment
from omegaconf import DictConfig, OmegaConf
from pytorch_lightning.loggers import CSVLogger
from pytorch_lightning.loggers.csv_logs import ExperimentWriter
from pytorch_lightning.utilities import rank_zero_only

from motionseq.errors import ConfigError
from motionseq.fileio import atomic_write

__all__ = ["wandb_mode", "check_wandb", "wandb_logger", "log_run_extras", "WandbCheck",
           "ResumableCSVLogger", "resume_logs"]

log = logging.getLogger(__name__)

_ONLINE = ("online", "run")
_OFFLINE = ("offline", "dryrun")


def wandb_mode(offline: bool = False) -> str:
    """The mode a wandb run starts in: ``offline`` when asked or when ``WANDB_MODE`` is
    unset, else ``WANDB_MODE`` (``online``, ``offline``, ``disabled``)."""
    if offline:
        return "offline"
    mode = os.environ.get("WANDB_MODE", "").strip().lower() or "offline"
    return "online" if mode in _ONLINE else "offline" if mode in _OFFLINE else mode


def _has_api_key() -> bool:
    """``WANDB_API_KEY``, or a ``wandb login`` entry in the netrc file for the wandb host."""
    if os.environ.get("WANDB_API_KEY", "").strip():
        return True
    host = urlparse(os.environ.get("WANDB_BASE_URL", "https://api.wandb.ai")).hostname
    try:
        return netrc.netrc(os.environ.get("NETRC")).authenticators(host or "") is not None
    except (OSError, netrc.NetrcParseError):
        return False


def check_wandb(offline: bool = False) -> str:
    """The wandb mode (:func:`wandb_mode`); ConfigError with the fix when it is online and
    no API key is set up."""
    mode = wandb_mode(offline)
    if mode == "online" and not _has_api_key():
        raise ConfigError(
            "wandb is set to online (WANDB_MODE=online) but no API key is set up, and a run "
            "must not wait for a login prompt. Run `wandb login` once (or set WANDB_API_KEY), "
            "or leave WANDB_MODE unset to log offline and upload later with "
            "`wandb sync <run dir>/wandb/offline-run-*`")
    if mode not in ("online", "offline", "disabled", "shared"):
        raise ConfigError(f"WANDB_MODE={os.environ.get('WANDB_MODE')!r} is not a wandb mode: "
                          f"use online, offline or disabled")
    return mode


def wandb_logger(offline: bool = False, log_model: bool | str = False, **kwargs: Any) -> Any:
    """A Lightning ``WandbLogger`` (its arguments) that never prompts: offline unless
    ``WANDB_MODE`` says otherwise, ConfigError when online without an API key. A run of an
    earlier job in this process (a Hydra multirun) is finished first, so each job gets its
    own wandb run."""
    mode = check_wandb(offline)
    os.environ["WANDB_MODE"] = mode
    os.environ.setdefault("WANDB_SILENT", "true")
    import wandb
    from pytorch_lightning.loggers import WandbLogger

    if wandb.run is not None:
        wandb.finish()
    return WandbLogger(offline=bool(offline), log_model=log_model, **kwargs)


def _is_wandb(logger: Any) -> bool:
    return type(logger).__name__ == "WandbLogger"


def _is_tensorboard(logger: Any) -> bool:
    return type(logger).__name__ == "TensorBoardLogger"


@rank_zero_only
def log_run_extras(loggers: Iterable[Any], cfg: DictConfig | None, run_dir: str | Path,
                   best_checkpoint: str | Path | None = None,
                   metrics: dict[str, float] | None = None, finish: bool = True) -> None:
    """Log what Lightning does not to each logger, then (``finish``) close the wandb run.

    - wandb: the resolved config (run config), every ``<run_dir>/plots/*.png`` as an image,
      and the best checkpoint with ``config.yaml`` as a ``model`` artifact (alias ``best``,
      the metrics as metadata).
    - TensorBoard: the resolved config as text and the plots as images.
    - CSV: nothing (config and plots are files in the run directory already).

    Call it once at the end of ``train()`` on ``trainer.loggers``; a failure here is
    logged as a warning and never fails the run.
    """
    run_dir = Path(run_dir)
    plots = sorted((run_dir / "plots").glob("*.png")) if (run_dir / "plots").is_dir() else []
    resolved = (OmegaConf.to_container(cfg, resolve=True, throw_on_missing=False)
                if cfg is not None else None)
    for logger in loggers:
        try:
            if _is_wandb(logger):
                _wandb_extras(logger, resolved, run_dir, plots, best_checkpoint, metrics,
                              finish)
            elif _is_tensorboard(logger):
                _tensorboard_extras(logger, cfg, plots)
        except Exception as e:  # the run's results are on disk already
            log.warning("could not log the config, plots or checkpoint to %s: %s",
                        type(logger).__name__, e)


def _wandb_extras(logger: Any, resolved: Any, run_dir: Path, plots: list[Path],
                  best: str | Path | None, metrics: dict[str, float] | None,
                  finish: bool) -> None:
    import wandb

    run = logger.experiment
    if resolved is not None:
        run.config.update({"config": resolved}, allow_val_change=True)
    if plots:
        run.log({f"plots/{p.stem}": wandb.Image(str(p)) for p in plots})
    if best and Path(best).is_file():
        artifact = wandb.Artifact(
            name=f"model-{run.id}", type="model",
            metadata={"metrics": dict(metrics or {}), "checkpoint": Path(best).name})
        # immutable: referenced in place, not copied to a staging folder (both files are
        # final by now)
        artifact.add_file(str(best), name="model.ckpt", policy="immutable")
        if (run_dir / "config.yaml").is_file():
            artifact.add_file(str(run_dir / "config.yaml"), name="config.yaml",
                              policy="immutable")
        run.log_artifact(artifact, aliases=["best"])
    if finish:
        run.finish()


def _tensorboard_extras(logger: Any, cfg: DictConfig | None, plots: list[Path]) -> None:
    writer = logger.experiment
    if cfg is not None:
        text = OmegaConf.to_yaml(cfg, resolve=True)
        writer.add_text("config", "```yaml\n" + text + "\n```")
    if plots:
        import matplotlib.image as mpimg

        for p in plots:
            image = mpimg.imread(str(p))[..., :3]
            writer.add_image(f"plots/{p.stem}", image, dataformats="HWC")
    writer.flush()


def _logger_targets(cfg: DictConfig) -> list[str]:
    group = cfg.get("logger") if isinstance(cfg, DictConfig) else None
    if not isinstance(group, DictConfig):
        return []
    return [str(c.get("_target_", "")) for c in group.values() if isinstance(c, DictConfig)]


class WandbCheck(Callback):
    """Stops a run (exit status 2, one line that says the fix) before training starts when
    its config logs to wandb online without an API key.

    Registered in ``conf/hydra/default.yaml``; Hydra turns a callback's exceptions into
    warnings, hence the exit."""

    def on_job_start(self, config: DictConfig, **kwargs: Any) -> None:
        targets = _logger_targets(config)
        wandb = [t for t in targets if t.endswith(("WandbLogger", "wandb_logger"))]
        if not wandb:
            return
        offline = any(bool(c.get("offline", False)) for c in config.logger.values()
                      if isinstance(c, DictConfig)
                      and str(c.get("_target_", "")).endswith(("WandbLogger", "wandb_logger")))
        try:
            check_wandb(offline)
        except ConfigError as e:
            print(f"\nerror: {e}", file=sys.stderr)
            sys.exit(2)




class _ResumedWriter(ExperimentWriter):
    """Lightning's CSV experiment writer that, for a resumed run (``resume_step`` set),
    keeps the killed run's ``metrics.csv`` (Lightning deletes it), less the rows logged
    after the checkpoint, and appends the new rows under the same columns."""

    def __init__(self, log_dir: str, resume_step: int | None = None) -> None:
        self.resume_step = resume_step
        super().__init__(log_dir=log_dir)

    def _check_log_dir_exists(self) -> None:
        if self.resume_step is None or not Path(self.metrics_file_path).is_file():
            super()._check_log_dir_exists()  # a new run: Lightning's behaviour
            return
        path = Path(self.metrics_file_path)
        with path.open(newline="") as f:
            reader = csv.DictReader(f)
            fields, rows = list(reader.fieldnames or []), list(reader)
        kept = [r for r in rows if not r.get("step") or float(r["step"]) < self.resume_step]

        def write(p: Path) -> None:
            with p.open("w", newline="") as f:
                writer = csv.DictWriter(f, fieldnames=fields)
                writer.writeheader()
                writer.writerows(kept)

        atomic_write(path, write)
        self.metrics_keys = sorted(fields)


class ResumableCSVLogger(CSVLogger):
    """:class:`~pytorch_lightning.loggers.CSVLogger` that, after :meth:`resume_from`,
    continues the log of the run it resumes: each step once, nothing of it lost."""

    _resume_step: int | None = None

    def resume_from(self, step: int) -> None:
        """Continue the log of a run resumed from a checkpoint at ``step`` optimizer steps."""
        self._resume_step = int(step)

    @property
    @rank_zero_experiment
    def experiment(self) -> ExperimentWriter:
        if self._experiment is None:
            self._fs.makedirs(self.root_dir, exist_ok=True)
            self._experiment = _ResumedWriter(self.log_dir, self._resume_step)
        return self._experiment


def resume_logs(loggers: list, step: int) -> None:
    """Tell the loggers that can continue a resumed run's log where its checkpoint was."""
    for logger in loggers:
        if hasattr(logger, "resume_from"):
            logger.resume_from(step)
