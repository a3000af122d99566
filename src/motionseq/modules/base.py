"""What both LightningModules share: optimizer/scheduler from config, the NaN guard and the
self-contained checkpoint section."""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from typing import Any

import numpy as np
import pytorch_lightning as pl
import torch
from torch import Tensor

from motionseq.errors import DataError, MotionseqError
from motionseq.modules.averaging import EMAWeights, check_decay

log = logging.getLogger(__name__)

CHECKPOINT_KEY = "motionseq"
CHECKPOINT_FORMAT = 1
RNG_KEY = "motionseq_rng"


def rng_state() -> dict[str, Any]:
    """The global random states (torch CPU and CUDA, numpy, Python) as tensors, ints and
    tuples only, so the checkpoint loads with ``weights_only=True``."""
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    version, internal, gauss = random.getstate()
    state: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "numpy": {"kind": str(kind), "keys": torch.from_numpy(keys.astype(np.int64)),
                  "pos": int(pos), "has_gauss": int(has_gauss), "cached": float(cached)},
        "python": {"version": int(version), "internal": list(internal), "gauss": gauss},
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore what :func:`rng_state` recorded."""
    torch.set_rng_state(state["torch"])
    n = state["numpy"]
    np.random.set_state((n["kind"], n["keys"].numpy().astype(np.uint32), n["pos"],
                         n["has_gauss"], n["cached"]))
    p = state["python"]
    random.setstate((p["version"], tuple(p["internal"]), p["gauss"]))
    if "cuda" in state and torch.cuda.is_available():
        cuda = state["cuda"]
        if len(cuda) == torch.cuda.device_count():
            torch.cuda.set_rng_state_all(cuda)


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
        ema_decay: validate, checkpoint and test an exponential moving average of the
            weights with this decay per optimizer step (:mod:`motionseq.modules.averaging`);
            None: the raw weights.
    """

    def __init__(self, optimizer: Callable | None = None, scheduler: Callable | None = None,
                 monitor: str = "val/loss", monitor_mode: str = "min",
                 max_nonfinite_steps: int = 3, ema_decay: float | None = None) -> None:
        super().__init__()
        check_decay(ema_decay)
        self.ema_decay = ema_decay
        self.optimizer_factory = optimizer
        self.scheduler_factory = scheduler
        self.monitor, self.monitor_mode = monitor, monitor_mode
        self.max_nonfinite_steps = max_nonfinite_steps
        self._nonfinite_run = 0
        self._rng_to_restore: dict[str, Any] | None = None

    def log(self, name: str, value: Any, *args: Any, **kwargs: Any) -> None:
        # Lightning counts the items behind an epoch mean in an integer tensor and averages
        # that count over processes with integer division, so shards of unequal size (each
        # evaluation item counted once) give a wrong synchronised mean: 8 and 7 items count
        # as 7 each. Counted as a float the mean is exact.
        if kwargs.get("batch_size") is not None:
            kwargs["batch_size"] = float(kwargs["batch_size"])
        super().log(name, value, *args, **kwargs)

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

    def configure_callbacks(self) -> list[pl.Callback]:
        if not self.ema_decay:
            return []
        if self._trainer is not None and any(isinstance(c, EMAWeights)
                                             for c in self.trainer.callbacks):
            return []  # testing after the fit: the fit's average stays in place
        return [EMAWeights(self.ema_decay)]

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
        checkpoint[RNG_KEY] = rng_state()

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        # Restored at the first training batch after the resume, not now. The states are
        # those after the batch that wrote the checkpoint; an uninterrupted run draws
        # nothing from them before its next batch (the loaders have their own generators),
        # while a resuming one still sets up (sanity check, new loaders) in between.
        self._rng_to_restore = checkpoint.get(RNG_KEY)

    def on_train_batch_start(self, batch: Any, batch_idx: int) -> None:
        if self._rng_to_restore is not None:
            set_rng_state(self._rng_to_restore)
            self._rng_to_restore = None

    def plot_dir(self):
        """Where test-time figures go: ``<run dir>/plots``."""
        from pathlib import Path

        root = self.trainer.default_root_dir if self._trainer is not None else "."
        return Path(root) / "plots"
