"""An exponential moving average of the weights (``model.ema_decay``).

The average is what validation scores, what the checkpoints hold as their weights and
what testing, evaluation, export and the live view use; the raw weights go on training and
are kept in the checkpoint beside it (``current_model_state``), so that a resumed run goes
on exactly. The checkpoint picked on the validation data is then a smoothed point of the
training path instead of wherever the last steps happened to leave it (measured in
``conf/model/classifier.yaml`` and ``conf/experiment/forecast_ethucy.yaml``).
"""

from __future__ import annotations

from typing import Any

import pytorch_lightning as pl
from pytorch_lightning.callbacks import WeightAveraging
from pytorch_lightning.trainer.states import TrainerFn
from torch.optim.swa_utils import get_ema_multi_avg_fn

from motionseq.errors import ConfigError


def check_decay(decay: float | None) -> None:
    """ConfigError unless ``decay`` is None (off) or in (0, 1)."""
    if decay is not None and not (isinstance(decay, (int, float)) and 0.0 < decay < 1.0):
        raise ConfigError(f"model.ema_decay must be in (0, 1) or null (off), got {decay!r}")


class EMAWeights(WeightAveraging):
    """Lightning's :class:`WeightAveraging` with an exponential moving average of the
    parameters, updated after every optimizer step.

    Buffers (the training-set statistics the modules store before fitting) are not
    averaged: they are constant during training. The raw weights are read back from a
    checkpoint only when a fit resumes; testing or evaluating a checkpoint scores the
    averaged weights it holds, without Lightning's warning that the average cannot be
    restored outside fitting.
    """

    def __init__(self, decay: float) -> None:
        check_decay(decay)
        super().__init__(use_buffers=False, multi_avg_fn=get_ema_multi_avg_fn(decay))

    def on_load_checkpoint(self, trainer: pl.Trainer, pl_module: pl.LightningModule,
                           checkpoint: dict[str, Any]) -> None:
        if trainer.state.fn == TrainerFn.FITTING:
            super().on_load_checkpoint(trainer, pl_module, checkpoint)
