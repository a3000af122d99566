"""``train(cfg)``: build data, model, loggers and trainer from a Hydra config, fit, test."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf, open_dict, read_write

from motionseq.errors import CheckpointError, ConfigError
from motionseq.modules.checkpoint import CHECKPOINT_KEY, AtomicCheckpointIO, read_checkpoint
from motionseq.tasks.adaptive import adapt
from motionseq.tasks.config_check import check_config
from motionseq.tasks.finetune import apply_init_from, load_start_weights
from motionseq.tasks.logging_extras import log_run_extras, resume_logs
from motionseq.tasks.run_info import configure_environment, write_metrics, write_run_info
from motionseq.tasks.summary import metric_floats, print_summary

log = logging.getLogger(__name__)

# set in processes that torchrun, srun or Lightning's own launcher started
_LAUNCHED_ENV = ("LOCAL_RANK", "TORCHELASTIC_RUN_ID", "SLURM_NTASKS")


def _instantiate_group(group: DictConfig | None) -> list[Any]:
    """Every ``_target_`` entry of a config group (callbacks, loggers); None → []."""
    if not group:
        return []
    return [instantiate(c) for c in group.values() if isinstance(c, DictConfig) and "_target_" in c]


def build(cfg: DictConfig) -> tuple[pl.LightningDataModule, pl.LightningModule]:
    """The data module (set up) and a fresh model that fits it, from ``cfg.data``/``cfg.model``.
    Settings left ``auto`` are chosen from the data first (:mod:`motionseq.tasks.adaptive`),
    in ``cfg`` itself, so the trainer built from it afterwards sees them."""
    if "data" not in cfg or "model" not in cfg:
        raise ConfigError("the config needs a data and a model group (e.g. data=workouts)")
    start = apply_init_from(cfg)
    loaded, _ = adapt(cfg)  # the `auto` settings, chosen from the data (read once here)
    datamodule = instantiate(cfg.data, **({"source": loaded} if loaded is not None else {}))
    datamodule.setup("fit")
    val = (getattr(datamodule, "datasets", None) or {}).get("val")
    if val is not None and len(val) == 0 and "trainer" in cfg:
        with open_dict(cfg):
            cfg.trainer.limit_val_batches = 0  # no validation split: no validation loop
    if loaded is not None:
        datamodule.source = loaded.source  # summaries name the source itself
    data_config = OmegaConf.to_container(cfg.data, resolve=True)
    # A partial first: data_config holds _target_ keys that must stay plain data.
    factory = instantiate(cfg.model, _partial_=True, _convert_="all")
    model = factory(**datamodule.model_kwargs(), data_config=data_config)
    model.set_normalizer(**datamodule.normalizer())
    if start is not None:
        load_start_weights(model, start, bool((cfg.get("finetune") or {}).get("head_only")))
    return datamodule, model


def check_trainer(trainer_cfg: DictConfig) -> None:
    """ConfigError, with the fix, for trainer settings this machine cannot run: a GPU
    trainer without a GPU, more GPUs than there are, a precision the device lacks."""
    accelerator = str(trainer_cfg.get("accelerator", "cpu"))
    precision = str(trainer_cfg.get("precision", "32-true"))
    devices = trainer_cfg.get("devices")
    if accelerator in ("gpu", "cuda"):
        count = torch.cuda.device_count()
        if count == 0:
            build_note = " (a CPU-only build)" if torch.version.cuda is None else ""
            raise ConfigError(
                f"the trainer asks for GPUs (accelerator={accelerator}) but torch "
                f"{torch.__version__}{build_note} sees none. Use trainer=cpu, or trainer=ddp_sim "
                f"to run the distributed code path in two CPU processes"
            )
        # under torchrun/srun each process may see only its own GPU: Lightning checks there
        launched = any(k in os.environ for k in _LAUNCHED_ENV)
        if isinstance(devices, int) and devices > count and not launched:
            raise ConfigError(
                f"trainer.devices={devices} but this machine has {count} GPU"
                f"{'s' if count > 1 else ''}: set trainer.devices={count} (or fewer)"
            )
        if precision.startswith("bf16") and not torch.cuda.is_bf16_supported():
            raise ConfigError(
                f"trainer.precision={precision} needs a GPU with bfloat16 (Ampere or newer); "
                f"{torch.cuda.get_device_name(0)} has none: use trainer.precision=16-mixed"
            )
    elif accelerator == "cpu" and precision.startswith("16"):
        raise ConfigError(
            f"trainer.precision={precision} (float16) needs a GPU; on the CPU use "
            f"trainer.precision=bf16-mixed or 32-true"
        )


def build_trainer(cfg: DictConfig, extra_callbacks: list[pl.Callback] | None = None,
                  **trainer_kwargs: Any) -> pl.Trainer:
    """The trainer of ``cfg.trainer`` with the callbacks of ``cfg.callbacks`` (plus
    ``extra_callbacks``) and the loggers of ``cfg.logger``. Checkpoints are written
    atomically and read with ``weights_only=True`` (:class:`AtomicCheckpointIO`)."""
    check_trainer(cfg.trainer)
    callbacks = [*_instantiate_group(cfg.get("callbacks")), *(extra_callbacks or [])]
    loggers = _instantiate_group(cfg.get("logger"))
    trainer_kwargs.setdefault("plugins", [AtomicCheckpointIO()])
    return instantiate(cfg.trainer, callbacks=callbacks, logger=loggers or False,
                       **trainer_kwargs)


class SameRunDir(pl.Callback):
    """Stops a distributed run whose processes resolved different run directories.

    Lightning's launcher hands its own run directory to the processes it starts, but
    processes started by torchrun or srun each compose their config, and a timestamped
    ``hydra.run.dir`` can differ between them by a second.
    """

    def __init__(self, run_dir: str | Path) -> None:
        self.run_dir = str(Path(run_dir).resolve())

    def setup(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        if trainer.world_size < 2:
            return
        first = trainer.strategy.broadcast(self.run_dir, src=0)
        if trainer.strategy.reduce_boolean_decision(first != self.run_dir, all=False):
            mine = f", rank {trainer.global_rank}: {self.run_dir}" if first != self.run_dir else ""
            raise ConfigError(
                f"the processes of this run resolved different run directories (rank 0: "
                f"{first}{mine}). Under torchrun or srun give every process the same one, "
                f"e.g. hydra.run.dir=logs/train/runs/$SLURM_JOB_ID or hydra.run.dir=logs/"
                f"train/runs/$(date +%F_%H-%M-%S) expanded once by the shell that starts them"
            )


# what Lightning's DDP launcher sets in the environment of the process that starts the others
_LAUNCHER_ENV = ("MASTER_ADDR", "MASTER_PORT", "NODE_RANK", "LOCAL_RANK", "WORLD_SIZE")


@contextlib.contextmanager
def multirun_job(run_dir: Path) -> Iterator[None]:
    """Around the fit and test of one job of a Hydra multirun: Lightning's DDP launcher
    starts the job's other processes as single runs of this job, in its directory, and
    the next job starts clean. Outside a multirun this does nothing.

    The launcher starts those processes with this process's command line plus
    ``hydra.run.dir=<hydra.run.dir>``; in a multirun that command line is the whole sweep
    (``-m`` and every swept value) and ``hydra.run.dir`` is not the job's directory, so
    until the job ends the command line holds the job's own overrides and
    ``hydra.run.dir`` the job's directory. Afterwards the process group is closed and the
    launcher's environment variables removed, or the next job would find a group whose
    other processes have exited and believe its processes were started from outside.
    """
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    if not HydraConfig.initialized() or HydraConfig.get().mode != RunMode.MULTIRUN:
        yield
        return
    hydra_cfg = HydraConfig.get()
    argv, run = sys.argv[:], hydra_cfg.run.dir
    env = {k: os.environ.get(k) for k in _LAUNCHER_ENV}
    sys.argv = [argv[0], *hydra_cfg.overrides.task]
    with read_write(hydra_cfg):
        hydra_cfg.run.dir = str(run_dir)
    try:
        yield
    finally:
        sys.argv = argv
        with read_write(hydra_cfg):
            hydra_cfg.run.dir = run
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            torch.distributed.destroy_process_group()
        for key, value in env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def resume_checkpoint(cfg: DictConfig, run_dir: Path) -> str | None:
    """The checkpoint ``cfg.ckpt_path`` names: None, a path, or ``last`` (this run
    directory's ``checkpoints/last.ckpt``, written every few steps and at every epoch end);
    without one, in a requeued SLURM job, the one its earlier attempt left
    (:func:`requeued_checkpoint`).
    CheckpointError that says how to resume when there is none."""
    ckpt = cfg.get("ckpt_path")
    if not ckpt:
        return requeued_checkpoint(run_dir)
    if str(ckpt) == "last":
        path = run_dir / "checkpoints" / "last.ckpt"
        if not path.is_file():
            runs = sorted(run_dir.parent.glob("*/checkpoints/last.ckpt"),
                          key=lambda p: p.stat().st_mtime)[-3:]
            hint = ("; runs with one: " + ", ".join(str(p.parents[1]) for p in reversed(runs))
                    if runs else "")
            raise CheckpointError(
                f"ckpt_path=last: there is no {path}. To resume a run pass its directory too: "
                f"hydra.run.dir=<that run's directory> ckpt_path=last{hint}"
            )
        return str(path)
    if not Path(ckpt).is_file():
        raise CheckpointError(f"ckpt_path={ckpt}: no such checkpoint file")
    return str(ckpt)


def requeued_checkpoint(run_dir: Path) -> str | None:
    """In a SLURM job that was requeued (``SLURM_RESTART_COUNT`` > 0, after a preemption,
    a node failure or Lightning's own requeue on SIGUSR1): the newest checkpoint the earlier
    attempt left in this run directory (``checkpoints/last.ckpt``, or the ``hpc_ckpt_N.ckpt``
    Lightning writes before requeueing), so the job goes on instead of starting over.
    None elsewhere. The run directory must be the same in every attempt, e.g.
    ``hydra.run.dir=logs/train/runs/$SLURM_JOB_ID``."""
    try:
        restarts = int(os.environ.get("SLURM_RESTART_COUNT", "0") or 0)
    except ValueError:
        restarts = 0
    if restarts < 1:
        return None
    found = [p for p in (run_dir / "checkpoints" / "last.ckpt", *run_dir.glob("hpc_ckpt_*.ckpt"))
             if p.is_file()]
    if not found:
        log.info("SLURM requeue %d: no checkpoint in %s, starting from the beginning",
                 restarts, run_dir)
        return None
    newest = max(found, key=lambda p: p.stat().st_mtime)
    log.info("SLURM requeue %d: resuming from %s", restarts, newest)
    return str(newest)


def _data_kind(data_config: dict | None) -> tuple[str | None, str | None]:
    """The data module and source classes of a data config."""
    data_config = data_config or {}
    return data_config.get("_target_"), (data_config.get("source") or {}).get("_target_")


def check_resumable(ckpt: str, model: pl.LightningModule) -> None:
    """CheckpointError when the checkpoint was written by another experiment: another
    model class or other model settings than this config builds."""
    meta = read_checkpoint(ckpt)[CHECKPOINT_KEY]
    cls = type(model)
    target = f"{cls.__module__}.{cls.__qualname__}"
    diffs = [] if meta["target"] == target else [f"model: checkpoint {meta['target']}, "
                                                 f"config {target}"]
    saved = meta["hparams"]
    for key, value in model.hparams.items():
        # known_threshold is chosen during training, not configured
        if key not in ("data_config", "known_threshold") and key in saved \
                and saved[key] != value:
            diffs.append(f"model.{key}: checkpoint {saved[key]!r}, config {value!r}")
    if _data_kind(saved.get("data_config")) != _data_kind(model.hparams.get("data_config")):
        diffs.append(f"data: checkpoint {_data_kind(saved.get('data_config'))}, config "
                     f"{_data_kind(model.hparams.get('data_config'))}")
    if diffs:
        raise CheckpointError(
            f"{ckpt} belongs to another experiment than this config:\n  "
            + "\n  ".join(diffs[:8])
            + "\nResume with the overrides of the run that wrote it (its .hydra/overrides.yaml), "
              "or start a new run without ckpt_path"
        )


def train(cfg: DictConfig) -> dict[str, Any]:
    """Train, then test the best checkpoint. Returns the metrics (floats) plus
    ``checkpoint`` (path of the best checkpoint, or None) and ``run_dir``.

    ``ckpt_path=last`` with ``hydra.run.dir=<a run's directory>`` resumes that run where
    its last checkpoint left it: weights, optimizer, scheduler, epoch and step, the data
    order and the random states, so it ends as the uninterrupted run would have."""
    configure_environment()
    check_config(cfg)
    run_dir = Path(cfg.paths.output_dir)
    ckpt = resume_checkpoint(cfg, run_dir)
    pl.seed_everything(cfg.seed, workers=True, verbose=False)
    datamodule, model = build(cfg)
    write_run_info(run_dir, cfg, {"resumed_from": ckpt} if ckpt else None)
    if ckpt:
        check_resumable(ckpt, model)
    trainer = build_trainer(cfg, [SameRunDir(run_dir)])
    if ckpt:  # the killed run's log rows after the checkpoint are logged again from it
        resume_logs(trainer.loggers, int(read_checkpoint(ckpt).get("global_step", 0)))
    with multirun_job(run_dir):
        trainer.fit(model, datamodule=datamodule, ckpt_path=ckpt)
        metrics = dict(trainer.callback_metrics)
        best = getattr(trainer.checkpoint_callback, "best_model_path", "") or None
        if cfg.get("test", True):
            if best is None:
                log.warning("no checkpoint was saved; testing the weights as they are")
            trainer.test(model, datamodule=datamodule, ckpt_path=best)
            metrics.update(trainer.callback_metrics)
    result: dict[str, Any] = metric_floats(metrics)
    write_metrics(run_dir, result)
    log_run_extras(trainer.loggers, cfg, run_dir, best, result)
    plots = run_dir / "plots"
    source = getattr(datamodule, "source", None)
    data_name = type(source).__name__ if source is not None else f"store {datamodule.store}"
    print_summary(
        f"{type(model).__name__} on {data_name}", result,
        {"best checkpoint": best, "plots": plots if plots.is_dir() else None,
         "run directory": run_dir},
    )
    return {**result, "checkpoint": best, "run_dir": str(run_dir)}
