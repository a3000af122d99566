"""Many-to-one action classifier: a pose-feature sequence → one action."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor
from torchmetrics import MetricCollection
from torchmetrics.classification import (
    MulticlassAccuracy,
    MulticlassConfusionMatrix,
    MulticlassF1Score,
)

from motionseq.errors import ConfigError
from motionseq.models.heads import ClassificationHead
from motionseq.models.rnn import SequenceEncoder
from motionseq.modules.base import MotionModule
from motionseq.modules.openset import SCORES, choose_threshold, known_classes, known_score


class ActionClassifier(MotionModule):
    """Recurrent encoder + classification head over standardised pose features.

    Batches are ``{"x": [B, T, F], "lengths": [B], "y": [B]}``. Logs ``{stage}/loss``,
    ``{stage}/acc`` and ``{stage}/f1`` (macro) per epoch; writes a confusion matrix PNG at
    test end.

    Args:
        input_size: F, feature channels.
        class_names: label names in index order.
        features: the :class:`~motionseq.data.features.PoseFeatures` settings as a dict,
            kept so inference rebuilds the same feature path.
        data_config: the data config the model was trained with (for ``motionseq-eval``).
        conv_channels, conv_kernel, conv_layers: a temporal convolution front end before
            the recurrent layers (0 channels = none, the default); channels and kernel
            may be lists with one value per layer.
        conv_norm: the front end's norm, ``layer`` (per step, the default) or ``batch``
            (batch statistics over the valid steps, FCN style).
        conv_pool: max-pool the front end's output over windows of this many steps before
            the recurrent layers (1 = none); ``adaptive=auto`` sets it for long sequences.
        open_set: the known-action score (:mod:`motionseq.modules.openset`): ``mass``
            (1 - p(background); ``msp`` without a background class), ``msp`` or ``energy``.
        known_keep: after each validation epoch ``known_threshold`` is set so that this
            share of the in-class validation clips scores at or above it; it travels in the
            checkpoint and inference shows "no known action" below it (None: no threshold).
        ema_decay: see :class:`~motionseq.modules.base.MotionModule`.
    """

    def __init__(self, input_size: int, class_names: list[str], features: dict | None = None,
                 cell: str = "lstm", hidden: int = 128, layers: int = 1,
                 bidirectional: bool = False, dropout: float = 0.0, pooling: str = "last",
                 head_hidden: int = 0, label_smoothing: float = 0.0,
                 optimizer: Callable | None = None, scheduler: Callable | None = None,
                 monitor: str = "val/acc", monitor_mode: str = "max",
                 data_config: dict | None = None, conv_channels: int | list[int] = 0,
                 conv_kernel: int | list[int] = 5, conv_layers: int = 1,
                 conv_norm: str = "layer", conv_pool: int = 1, open_set: str = "mass",
                 known_keep: float | None = 0.9, known_threshold: float | None = None,
                 temperature: float = 1.0,
                 ema_decay: float | None = None) -> None:
        super().__init__(optimizer, scheduler, monitor, monitor_mode,
                         ema_decay=ema_decay)
        self.save_hyperparameters(ignore=["optimizer", "scheduler"])
        self.class_names = list(class_names)
        n = len(self.class_names)
        self.encoder = SequenceEncoder(input_size, hidden, layers, cell, bidirectional, dropout,
                                       pooling, conv_channels, conv_kernel, conv_layers,
                                       conv_norm, conv_pool)
        self.head = ClassificationHead(self.encoder.out_dim, n, head_hidden, dropout)
        self.register_buffer("feat_mean", torch.zeros(input_size))
        self.register_buffer("feat_std", torch.ones(input_size))
        for stage in ("train", "val", "test"):
            setattr(self, f"{stage}_metrics", MetricCollection({
                "acc": MulticlassAccuracy(n, average="micro"),
                "f1": MulticlassF1Score(n, average="macro"),
            }, prefix=f"{stage}/"))
        self.test_confmat = MulticlassConfusionMatrix(n)
        self.last_confusion: np.ndarray | None = None
        if open_set not in SCORES:
            raise ConfigError(f"model.open_set must be one of {', '.join(SCORES)}, got "
                              f"{open_set!r}")
        if known_keep is not None and not 0.0 < known_keep <= 1.0:
            raise ConfigError(f"model.known_keep must be in (0, 1] or null, got {known_keep}")
        self._epoch_logits: list[Tensor] = []
        self._epoch_labels: list[Tensor] = []

    def set_normalizer(self, mean: np.ndarray, std: np.ndarray) -> None:
        """Store the training-set feature statistics (``[F]`` each) in the model."""
        self.feat_mean.copy_(torch.as_tensor(mean, dtype=torch.float32))
        self.feat_std.copy_(torch.as_tensor(std, dtype=torch.float32))

    def normalize(self, x: Tensor) -> Tensor:
        return (x - self.feat_mean) / self.feat_std

    def forward(self, x: Tensor, lengths: Tensor | None = None) -> Tensor:
        """``x [B, T, F]`` raw features, ``lengths [B]`` → logits ``[B, C]``."""
        _, summary = self.encoder(self.normalize(x), lengths)
        return self.head(summary)

    def _shared_step(self, batch: dict[str, Tensor], stage: str) -> Tensor:
        x, lengths, y = batch["x"], batch["lengths"], batch["y"]
        self.check_finite("x", x, stage)
        logits = self(x, lengths)
        smoothing = self.hparams.label_smoothing if stage == "train" else 0.0
        loss = F.cross_entropy(logits, y, label_smoothing=smoothing)
        metrics = getattr(self, f"{stage}_metrics")
        metrics.update(logits.detach(), y)
        if stage == "test":
            self.test_confmat.update(logits.detach(), y)
        if stage == "test" or (stage == "val" and self.hparams.get("known_keep") is not None):
            self._epoch_logits.append(logits.detach().cpu())
            self._epoch_labels.append(y.detach().cpu())
        bs = y.shape[0]
        self.log(f"{stage}/loss", loss.detach(), on_step=False, on_epoch=True, batch_size=bs,
                 sync_dist=True, prog_bar=stage != "test")
        self.log_dict(metrics, on_step=False, on_epoch=True, batch_size=bs, prog_bar=stage == "val")
        return loss

    def _gathered(self) -> tuple[Tensor, Tensor] | None:
        """This epoch's logits ``[N, C]`` and labels ``[N]`` of every rank (None when there
        are none), then cleared. Every rank must call it: ranks may hold different numbers
        of items (the evaluation sampler counts each item once), so each pads its share to
        the largest before the gather and the padding is dropped after it."""
        c = len(self.class_names)
        logits = torch.cat(self._epoch_logits) if self._epoch_logits else torch.zeros(0, c)
        labels = (torch.cat(self._epoch_labels) if self._epoch_labels
                  else torch.zeros(0, dtype=torch.long))
        self._epoch_logits, self._epoch_labels = [], []
        if self.trainer.world_size > 1:
            sizes = self.all_gather(torch.tensor([len(labels)], device=self.device))
            sizes = [int(n) for n in sizes.reshape(-1).cpu()]
            most = max(sizes)
            pad = most - len(labels)
            logits = torch.cat([logits, logits.new_zeros(pad, c)]).to(self.device)
            labels = torch.cat([labels, labels.new_full((pad,), -1)]).to(self.device)
            logits = self.all_gather(logits).reshape(-1, most, c).cpu()
            labels = self.all_gather(labels).reshape(-1, most).cpu()
            logits = torch.cat([g[:n] for g, n in zip(logits, sizes, strict=True)])
            labels = torch.cat([g[:n] for g, n in zip(labels, sizes, strict=True)])
        return (logits, labels) if len(labels) else None

    def on_validation_epoch_end(self) -> None:
        """Choose ``known_threshold`` on this epoch's in-class validation clips, so that a
        checkpoint saved after this validation carries the threshold of its weights."""
        got = self._gathered()
        if got is None:
            return
        logits, labels = got
        known = torch.as_tensor(known_classes(self.class_names))
        inside = torch.isin(labels, known)
        if self.trainer.sanity_checking or not bool(inside.any()):
            return
        scores = known_score(self, logits[inside].float().numpy())
        self.hparams["known_threshold"] = choose_threshold(scores, self.hparams.known_keep)

    def on_test_epoch_end(self) -> None:
        got = self._gathered()
        threshold = self.hparams.get("known_threshold")
        if got is not None and threshold is not None:
            logits, labels = got
            inside = torch.isin(labels, torch.as_tensor(known_classes(self.class_names)))
            if bool(inside.any()):
                # share of in-class test clips that inference would not call "no known action"
                kept = known_score(self, logits[inside].float().numpy()) >= threshold
                self.log("test/known_kept", float(kept.mean()))
        cm = self.test_confmat.compute().cpu().numpy()
        self.test_confmat.reset()
        self.last_confusion = cm
        if self.trainer.is_global_zero:
            from motionseq.plots import plot_confusion_matrix

            plot_confusion_matrix(cm, self.class_names, self.plot_dir() / "confusion_matrix.png")

    def predict_proba(self, x: Tensor, lengths: Tensor | None = None) -> Tensor:
        """Class probabilities ``[B, C]`` (eval mode, no grad)."""
        was = self.training
        self.eval()
        with torch.no_grad():
            p = torch.softmax(self(x, lengths), dim=-1)
        self.train(was)
        return p
