"""What both LightningModules share: optimizer/scheduler from config, the NaN guard and the
self-contained checkpoint section."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pytorch_lightning as pl
import torch
from torch import Tensor

from motionseq.errors import DataError, MotionseqError

log = logging.getLogger(__name__)

CHECKPOINT_KEY = "motionseq"
CHECKPOINT_FORMAT = 1


class MotionModule(pl.LightningModule):
    """Base class. Subclasses call ``save_hyperparameters(ignore=["optimizer", "scheduler"])``
    so that the checkpoint holds every constructor argument (plain Python values only).

    Args:
        optimizer: ``torch.optim`` factory taking the parameters (Hydra ``_partial_``).
        scheduler: LR scheduler factory taking the optimizer, or None.
        monitor / monitor_mode: the validation metric that selects checkpoints and drives
            a plateau scheduler, e.g. ``val/acc`` / ``max``.
        max_nonfinite_steps: training stops with an error after this many consecutive steps
            whose loss is NaN or inf (those steps are skipped, never applied).
    """

    def __init__(self, optimizer: Callable | None = None, scheduler: Callable | None = None,
                 monitor: str = "val/loss", monitor_mode: str = "min",
                 max_nonfinite_steps: int = 3) -> None:
        super().__init__()
        self.optimizer_factory = optimizer
        self.scheduler_factory = scheduler
        self.monitor, self.monitor_mode = monitor, monitor_mode
        self.max_nonfinite_steps = max_nonfinite_steps
        self._nonfinite_run = 0

    def _shared_step(self, batch: dict[str, Tensor], stage: str) -> Tensor:
        """The loss of one batch for ``stage`` (train, val or test); logs its metrics."""
        raise NotImplementedError

    def training_step(self, batch: dict[str, Tensor], batch_idx: int) -> Tensor | None:
        return self.guard_loss(self._shared_step(batch, "train"))

    def validation_step(self, batch: dict[str, Tensor], batch_idx: int) -> None:
        self._shared_step(batch, "val")

    def test_step(self, batch: dict[str, Tensor], batch_idx: int) -> None:
        self._shared_step(batch, "test")

    def configure_optimizers(self) -> Any:
        if self.optimizer_factory is None:
            opt = torch.optim.AdamW(self.parameters(), lr=1e-3)
        else:
            opt = self.optimizer_factory(self.parameters())
        if self.scheduler_factory is None:
            return opt
        sched = self.scheduler_factory(opt)
        return {"optimizer": opt,
                "lr_scheduler": {"scheduler": sched, "monitor": self.monitor, "interval": "epoch"}}

    @staticmethod
    def check_finite(name: str, value: Tensor, stage: str) -> None:
        """DataError when an input batch holds NaN or inf (the step would learn garbage)."""
        # A finite sum proves every element finite with one reduction; a sum that
        # overflowed falls through to the element-wise check.
        if torch.isfinite(value.sum()) or torch.isfinite(value).all():
            return
        bad = int((~torch.isfinite(value)).sum())
        raise DataError(
            f"{stage} batch has {bad} NaN/inf values in {name!r}; the data source produced "
            f"non-finite numbers (pose features turn missing joints into 0, so look at a "
            f"custom source or a corrupt file)"
        )

    def guard_loss(self, loss: Tensor) -> Tensor | None:
        """Return the loss, or None (skip the step) when it is not finite."""
        if torch.isfinite(loss):
            self._nonfinite_run = 0
            return loss
        self._nonfinite_run += 1
        log.warning("step %d: loss is %s; skipping this step", self.global_step, loss.item())
        if self._nonfinite_run >= self.max_nonfinite_steps:
            raise MotionseqError(
                f"the loss was NaN/inf for {self._nonfinite_run} steps in a row; training "
                f"diverged. Lower the learning rate (model.optimizer.lr=...) or enable "
                f"gradient clipping (trainer.gradient_clip_val=1.0)"
            )
        return None

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        cls = type(self)
        checkpoint[CHECKPOINT_KEY] = {
            "format": CHECKPOINT_FORMAT,
            "target": f"{cls.__module__}.{cls.__qualname__}",
            "hparams": dict(self.hparams),
        }

    def plot_dir(self):
        """Where test-time figures go: ``<run dir>/plots``."""
        from pathlib import Path

        root = self.trainer.default_root_dir if self._trainer is not None else "."
        return Path(root) / "plots"
