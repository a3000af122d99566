"""``evaluate(cfg)``: test a checkpoint on the data it describes (or on ``cfg.data``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytorch_lightning as pl
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from motionseq.errors import CheckpointError, ConfigError
from motionseq.modules.checkpoint import module_from_checkpoint
from motionseq.tasks.config_check import check_config
from motionseq.tasks.run_info import configure_environment, write_metrics, write_run_info
from motionseq.tasks.summary import metric_floats, print_summary
from motionseq.tasks.train import check_trainer


def check_compatible(module: pl.LightningModule, data_kwargs: dict[str, Any], ckpt: str) -> None:
    """CheckpointError when the data would build a different model than the checkpoint's
    (feature size, classes, layout, window lengths)."""
    diffs = []
    for key, value in data_kwargs.items():
        if key == "dt" or key not in module.hparams:
            continue
        if module.hparams[key] != value:
            diffs.append(f"{key}: checkpoint {module.hparams[key]!r}, data {value!r}")
    if diffs:
        raise CheckpointError(
            f"{ckpt} does not match this data:\n  " + "\n  ".join(diffs)
            + "\nEvaluate on the data it was trained on (leave data unset) or train a new model."
        )


def evaluate(cfg: DictConfig) -> dict[str, Any]:
    """Rebuild model and data from the checkpoint alone and run the test split."""
    configure_environment()
    check_config(cfg)
    if not cfg.get("ckpt_path"):
        raise ConfigError("pass the checkpoint to evaluate: ckpt_path=PATH/TO/best.ckpt")
    run_dir = Path(cfg.paths.output_dir)
    pl.seed_everything(cfg.get("seed", 42), workers=True, verbose=False)
    write_run_info(run_dir, cfg, {"checkpoint": str(cfg.ckpt_path)})
    module = module_from_checkpoint(cfg.ckpt_path)
    data_cfg = cfg.get("data") or module.hparams.get("data_config")
    if not data_cfg:
        raise CheckpointError(f"{cfg.ckpt_path} holds no data config; pass data=... to evaluate")
    datamodule = instantiate(OmegaConf.create(data_cfg) if isinstance(data_cfg, dict) else data_cfg)
    datamodule.setup("test")
    check_compatible(module, datamodule.model_kwargs(), str(cfg.ckpt_path))
    check_trainer(cfg.trainer)
    # under a distributed trainer each process tests its own share of the items, each once
    trainer: pl.Trainer = instantiate(cfg.trainer, logger=False, callbacks=[],
                                      enable_checkpointing=False)
    trainer.test(module, datamodule=datamodule)
    result = metric_floats(trainer.callback_metrics)
    write_metrics(run_dir, result)
    print_summary(f"evaluation of {cfg.ckpt_path}", result, {"run directory": run_dir})
    return {**result, "run_dir": str(run_dir)}
