"""``train(cfg)``: build data, model, loggers and trainer from a Hydra config, fit, test."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from motionseq.errors import ConfigError
from motionseq.tasks.run_info import configure_environment, write_metrics, write_run_info
from motionseq.tasks.summary import metric_floats, print_summary

log = logging.getLogger(__name__)


def _instantiate_group(group: DictConfig | None) -> list[Any]:
    """Every ``_target_`` entry of a config group (callbacks, loggers); None → []."""
    if not group:
        return []
    return [instantiate(c) for c in group.values() if isinstance(c, DictConfig) and "_target_" in c]


def build(cfg: DictConfig) -> tuple[pl.LightningDataModule, pl.LightningModule]:
    """The data module (set up) and a fresh model that fits it, from ``cfg.data``/``cfg.model``."""
    if "data" not in cfg or "model" not in cfg:
        raise ConfigError("the config needs a data and a model group (e.g. data=workouts)")
    datamodule = instantiate(cfg.data)
    datamodule.setup("fit")
    data_config = OmegaConf.to_container(cfg.data, resolve=True)
    # A partial first: data_config holds _target_ keys that must stay plain data.
    factory = instantiate(cfg.model, _partial_=True, _convert_="all")
    model = factory(**datamodule.model_kwargs(), data_config=data_config)
    model.set_normalizer(**datamodule.normalizer())
    return datamodule, model


def build_trainer(cfg: DictConfig, extra_callbacks: list[pl.Callback] | None = None,
                  **trainer_kwargs: Any) -> pl.Trainer:
    """The trainer of ``cfg.trainer`` with the callbacks of ``cfg.callbacks`` (plus
    ``extra_callbacks``) and the loggers of ``cfg.logger``."""
    callbacks = [*_instantiate_group(cfg.get("callbacks")), *(extra_callbacks or [])]
    loggers = _instantiate_group(cfg.get("logger"))
    return instantiate(cfg.trainer, callbacks=callbacks, logger=loggers or False,
                       **trainer_kwargs)


def train(cfg: DictConfig) -> dict[str, Any]:
    """Train, then test the best checkpoint. Returns the metrics (floats) plus
    ``checkpoint`` (path of the best checkpoint, or None) and ``run_dir``."""
    configure_environment()
    run_dir = Path(cfg.paths.output_dir)
    pl.seed_everything(cfg.seed, workers=True, verbose=False)
    write_run_info(run_dir, cfg)
    datamodule, model = build(cfg)
    trainer = build_trainer(cfg)
    trainer.fit(model, datamodule=datamodule, ckpt_path=cfg.get("ckpt_path"))
    metrics = dict(trainer.callback_metrics)
    ckpt_cb = trainer.checkpoint_callback
    best = getattr(ckpt_cb, "best_model_path", "") or None
    if cfg.get("test", True):
        if best is None:
            log.warning("no checkpoint was saved; testing the weights as they are")
        trainer.test(model, datamodule=datamodule, ckpt_path="best" if best else None)
        metrics.update(trainer.callback_metrics)
    result: dict[str, Any] = metric_floats(metrics)
    write_metrics(run_dir, result)
    plots = run_dir / "plots"
    print_summary(
        f"{type(model).__name__} on {type(datamodule.source).__name__}", result,
        {"best checkpoint": best, "plots": plots if plots.is_dir() else None,
         "run directory": run_dir},
    )
    return {**result, "checkpoint": best, "run_dir": str(run_dir)}
