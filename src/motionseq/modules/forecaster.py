"""Many-to-many trajectory forecaster: observed path → future path."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor
from torchmetrics import MeanMetric

from motionseq.errors import ConfigError
from motionseq.models.baselines import constant_velocity
from motionseq.models.forecast import Forecaster, ForecasterEnsemble
from motionseq.modules.base import MotionModule
from motionseq.modules.metrics import displacement_errors


class TrajectoryPlots:
    """Draws the first test batch kept in ``_plot_batch`` (observed, true, predicted) beside
    constant velocity at the end of testing; shared by the trajectory modules."""

    _plot_batch: tuple[Tensor, Tensor, Tensor] | None

    def on_test_epoch_end(self) -> None:
        if self._plot_batch is not None and self.trainer.is_global_zero:
            from motionseq.plots import plot_trajectories

            obs, fut, pred = self._plot_batch
            plot_trajectories(obs.numpy(), fut.numpy(), pred.numpy(),
                              self.plot_dir() / "trajectories.png",
                              baseline=constant_velocity(obs, fut.shape[1]).numpy())
        self._plot_batch = None


class TrajectoryForecaster(TrajectoryPlots, MotionModule):
    """Recurrent encoder-decoder over displacements.

    Batches are ``{"obs": [B, obs_len, 2], "fut": [B, pred_len, 2]}`` in metres. The loss
    (``loss``) is the mean squared error of the predicted displacements
    (``displacement``) or the mean Euclidean error of the predicted positions
    (``position``, what ADE measures), both in scale units; logged
    metrics are ``{stage}/loss``, ``{stage}/ade`` and ``{stage}/fde`` in metres, and at test
    time also ``test/cv_ade`` and ``test/cv_fde``: constant velocity on the same windows.

    Args:
        obs_len, pred_len: observed and predicted steps.
        dt: seconds per step of the training data (kept for inference).
        decoder: ``recurrent`` (autoregressive) or ``direct`` (all steps at once).
        frame: ``heading`` (rotate each path onto its heading) or ``world`` (raw axes).
        speed_norm: divide each path by its own observed speed (see ``Forecaster``).
        speed_input: give the encoder that speed too (log), so that what normalisation
            divides out still reaches the network.
        social: each agent attends over the others of its scene window (batches with a
            ``group``, see :mod:`motionseq.models.social`); ``False`` forecasts each alone.
        social_heads: attention heads of the social layer.
        members: ``1`` one network; ``k > 1`` a deep ensemble of ``k`` independently
            initialised networks, each trained on its own loss, forecasting their mean
            (``k`` times the compute).
        ema_decay: see :class:`~motionseq.modules.base.MotionModule`.
        mirror_average: validate, test and forecast the mean of the forecasts of each scene
            window and of its mirror image (see ``Forecaster``); training is unchanged.
        loss: ``displacement`` or ``position`` (above).
        final_weight: extra weight of the last predicted step in the loss (``0``: none).
        data_config: the data config the model was trained with (for ``motionseq-eval``).
    """

    def __init__(self, obs_len: int = 8, pred_len: int = 12, dt: float | None = None,
                 decoder: str = "recurrent", cell: str = "lstm", hidden: int = 128,
                 layers: int = 1, dropout: float = 0.0, bidirectional: bool = False,
                 frame: str = "heading", speed_norm: bool = False,
                 loss: str = "displacement", optimizer: Callable | None = None,
                 scheduler: Callable | None = None,
                 monitor: str = "val/ade", monitor_mode: str = "min",
                 data_config: dict | None = None, plot_samples: int = 6,
                 social: bool = False, social_heads: int = 4, final_weight: float = 0.0,
                 members: int = 1, speed_input: bool = False,
                 ema_decay: float | None = None, mirror_average: bool = False) -> None:
        super().__init__(optimizer, scheduler, monitor, monitor_mode,
                         ema_decay=ema_decay)
        if loss not in ("displacement", "position"):
            raise ConfigError(f"unknown loss {loss!r}; choose displacement or position")
        if not final_weight >= 0:
            raise ConfigError(f"final_weight must be >= 0, got {final_weight}")
        if not (isinstance(members, int) and members >= 1):
            raise ConfigError(f"members must be a whole number >= 1, got {members!r}")
        self.save_hyperparameters(ignore=["optimizer", "scheduler"])
        net = dict(pred_len=pred_len, decoder=decoder, cell=cell, hidden=hidden, layers=layers,
                   dropout=dropout, bidirectional=bidirectional, frame=frame,
                   speed_norm=speed_norm, social=social, social_heads=social_heads,
                   speed_input=speed_input, mirror_average=mirror_average)
        self.net = Forecaster(**net) if members == 1 else ForecasterEnsemble(members, **net)
        self.register_buffer("scale", torch.tensor(1.0))
        for stage in ("train", "val", "test"):
            setattr(self, f"{stage}_ade", MeanMetric())
            setattr(self, f"{stage}_fde", MeanMetric())
        self.test_cv_ade, self.test_cv_fde = MeanMetric(), MeanMetric()
        self._plot_batch: tuple[Tensor, Tensor, Tensor] | None = None

    def set_normalizer(self, scale: float) -> None:
        """Store the displacement scale (metres per step) of the training data."""
        self.scale.fill_(float(scale))

    def forward(self, obs: Tensor, group: Tensor | None = None,
                valid: Tensor | None = None) -> Tensor:
        """Observed positions ``[B, obs_len, 2]`` → predicted positions ``[B, pred_len, 2]``.

        ``group [B]``: the agents present together (a social model lets them see each
        other; None: each alone); ``valid [B]``: False for padding rows."""
        return self.net(obs, self.scale, group, valid)[0]

    def set_mirror_average(self, on: bool) -> None:
        """Turn the mirror average (see the class docstring) on or off, e.g. to evaluate a
        checkpoint both ways."""
        for net in getattr(self.net, "members", [self.net]):
            net.mirror_average = bool(on)
        self.hparams["mirror_average"] = bool(on)

    @property
    def social(self) -> bool:
        """Whether the forecasts of an agent depend on the others of its group."""
        return self.net.social is not None

    def _loss(self, pred: Tensor, disp: Tensor, obs: Tensor, fut: Tensor) -> Tensor:
        """The training loss of one network's forecast (see the class docstring)."""
        if self.hparams.get("loss", "displacement") == "position":
            sq = (((pred - fut) / self.scale) ** 2).sum(dim=-1)
            err = torch.sqrt(sq + 1e-8)  # [B, pred_len]; eps: a finite gradient at zero error
        else:
            prev = torch.cat([obs[:, -1:], fut[:, :-1]], dim=1)
            true_disp = (fut - prev) / self.scale
            err = ((disp - true_disp) ** 2).mean(dim=-1)
        final = self.hparams.get("final_weight", 0.0)
        return err.mean() + final * err[:, -1].mean()

    def _shared_step(self, batch: dict[str, Tensor], stage: str) -> Tensor:
        obs, fut = batch["obs"], batch["fut"]
        self.check_finite("obs", obs, stage)
        self.check_finite("fut", fut, stage)
        if self.social and "group" not in batch:
            raise ConfigError("model.social=true needs batches of scene windows (which agents "
                              "were present together): set data.scenes=true, or "
                              "model.social=false")
        group = batch.get("group")
        if isinstance(self.net, ForecasterEnsemble):
            outs = self.net.each(obs, self.scale, group)  # each member learns on its own
            loss = torch.stack([self._loss(p, d, obs, fut) for p, d in outs]).mean()
            pred = torch.stack([p for p, _ in outs]).mean(0)
        else:
            pred, disp = self.net(obs, self.scale, group)
            loss = self._loss(pred, disp, obs, fut)
        err = displacement_errors(pred.detach(), fut)  # [B, pred_len] metres
        bs = obs.shape[0]
        ade, fde = getattr(self, f"{stage}_ade"), getattr(self, f"{stage}_fde")
        ade.update(err.mean(dim=1))
        fde.update(err[:, -1])
        self.log(f"{stage}/loss", loss.detach(), on_step=False, on_epoch=True, batch_size=bs,
                 sync_dist=True, prog_bar=stage != "test")
        self.log(f"{stage}/ade", ade, on_step=False, on_epoch=True, batch_size=bs,
                 prog_bar=stage == "val")
        self.log(f"{stage}/fde", fde, on_step=False, on_epoch=True, batch_size=bs)
        if stage == "test":
            cv = displacement_errors(constant_velocity(obs, fut.shape[1]), fut)
            self.test_cv_ade.update(cv.mean(dim=1))
            self.test_cv_fde.update(cv[:, -1])
            self.log("test/cv_ade", self.test_cv_ade, on_step=False, on_epoch=True, batch_size=bs)
            self.log("test/cv_fde", self.test_cv_fde, on_step=False, on_epoch=True, batch_size=bs)
            if self._plot_batch is None:
                k = self.hparams.plot_samples
                self._plot_batch = (obs[:k].cpu(), fut[:k].cpu(), pred[:k].detach().cpu())
        return loss

