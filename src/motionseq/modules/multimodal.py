"""Multimodal trajectory forecaster: observed path → K possible future paths."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor
from torchmetrics import MeanMetric

from motionseq.errors import ConfigError
from motionseq.models.baselines import constant_velocity
from motionseq.models.multimodal import CVAEForecaster
from motionseq.modules.base import MotionModule
from motionseq.modules.forecaster import TrajectoryPlots
from motionseq.modules.metrics import best_of_k, displacement_errors

_LOSSES = ("displacement", "position")


class MultimodalForecaster(TrajectoryPlots, MotionModule):
    """Conditional VAE forecaster (:class:`~motionseq.models.multimodal.CVAEForecaster`)
    with the interface of :class:`~motionseq.modules.forecaster.TrajectoryForecaster`
    plus :meth:`sample`.

    Batches are ``{"obs": [B, obs_len, 2], "fut": [B, pred_len, 2]}`` in metres. The loss
    is the reconstruction error of the future decoded from a posterior sample plus
    ``kl_weight`` times the KL divergence to the prior (nats), and, with
    ``best_of_k_train > 0``, the variety loss: the smallest ADE (in scale units) among
    that many prior samples. ``loss`` picks the reconstruction error: ``displacement``,
    the squared error of the displacements in scale units summed over steps (the Gaussian
    ELBO), or ``position``, the Euclidean error of the positions in scale units summed
    over steps.

    Logged: ``{stage}/loss``, ``{stage}/kl``, ``{stage}/ade`` and ``{stage}/fde`` of the
    most-likely forecast (the decoder at the prior mean; ``forward`` returns it); for val
    and test also ``{stage}/min_ade`` and ``{stage}/min_fde``, best of ``k`` samples drawn
    from a generator seeded with ``sample_seed`` at the start of each epoch (so the figures
    repeat); at test also constant velocity's ``test/cv_ade`` and ``test/cv_fde``.

    Args (the others as for ``TrajectoryForecaster``; the decoder is always recurrent):
        latent: size of the Gaussian latent.
        k: samples per path for the best-of-k metrics and the default of :meth:`sample`.
        kl_weight: weight of the KL term once warmed up.
        kl_warmup: training steps over which the KL weight rises linearly from 0, so the
            decoder learns to read the latent before the prior pulls the posterior in.
        best_of_k_train: prior samples per path for the variety loss (0: none).
        sample_seed: seed of the samples behind the val/test best-of-k metrics.
        sample_draws: when larger than the number of samples asked for, :meth:`sample`
            decodes this many prior draws and returns the k-means centres of them (k paths
            that cover the distribution rather than k independent draws); 0: plain draws.
        sample_select: how those k are chosen from the draws: ``endpoints`` (cluster where
            the draws end, by a small head trained beside the model, and decode one draw
            per cluster: k decodes per path) or ``paths`` (decode every draw and cluster
            the paths: ``sample_draws`` decodes per path).
        social, social_heads: as for ``TrajectoryForecaster``.
    """

    def __init__(self, obs_len: int = 8, pred_len: int = 12, dt: float | None = None,
                 decoder: str = "recurrent", cell: str = "lstm", hidden: int = 128,
                 layers: int = 1, dropout: float = 0.0, bidirectional: bool = False,
                 frame: str = "heading", speed_norm: bool = False,
                 loss: str = "displacement", optimizer: Callable | None = None,
                 scheduler: Callable | None = None, monitor: str = "val/ade",
                 monitor_mode: str = "min", data_config: dict | None = None,
                 plot_samples: int = 6, latent: int = 16, k: int = 20, kl_weight: float = 1.0,
                 kl_warmup: int = 500, best_of_k_train: int = 0, sample_seed: int = 0,
                 sample_draws: int = 0, social: bool = False, social_heads: int = 4,
                 sample_select: str = "endpoints") -> None:
        super().__init__(optimizer, scheduler, monitor, monitor_mode)
        if decoder != "recurrent":
            raise ConfigError(f"the multimodal forecaster decodes step by step; decoder must "
                              f"be recurrent, got {decoder!r}")
        if loss not in _LOSSES:
            raise ConfigError(f"unknown loss {loss!r}; choose displacement or position")
        if k < 1 or min(best_of_k_train, kl_weight, kl_warmup, sample_draws) < 0:
            raise ConfigError(f"need k >= 1 and best_of_k_train, kl_weight, kl_warmup, "
                              f"sample_draws >= 0; got {k}, {best_of_k_train}, {kl_weight}, "
                              f"{kl_warmup}, {sample_draws}")
        if sample_select not in ("endpoints", "paths"):
            raise ConfigError(f"unknown sample_select {sample_select!r}; choose endpoints or "
                              f"paths")
        self.save_hyperparameters(ignore=["optimizer", "scheduler"])
        # Lightning leaves out arguments named "frame" (its own frame-inspection variable)
        self.hparams["frame"] = frame
        self.net = CVAEForecaster(pred_len, cell, hidden, layers, dropout, bidirectional,
                                  frame, speed_norm, latent=latent, social=social,
                                  social_heads=social_heads)
        self.register_buffer("scale", torch.tensor(1.0))
        for stage in ("train", "val", "test"):
            setattr(self, f"{stage}_ade", MeanMetric())
            setattr(self, f"{stage}_fde", MeanMetric())
        for stage in ("val", "test"):
            setattr(self, f"{stage}_min_ade", MeanMetric())
            setattr(self, f"{stage}_min_fde", MeanMetric())
        self.test_cv_ade, self.test_cv_fde = MeanMetric(), MeanMetric()
        self._plot_batch: tuple[Tensor, Tensor, Tensor] | None = None
        self._generator: torch.Generator | None = None

    def set_normalizer(self, scale: float) -> None:
        """Store the displacement scale (metres per step) of the training data."""
        self.scale.fill_(float(scale))

    def forward(self, obs: Tensor, group: Tensor | None = None,
                valid: Tensor | None = None) -> Tensor:
        """Observed positions ``[B, obs_len, 2]`` → the most-likely forecast
        ``[B, pred_len, 2]`` (metres); ``group``/``valid`` as for the deterministic
        forecaster."""
        return self.net.sample(obs, self.scale, 1, most_likely=True, group=group,
                               valid=valid)[:, 0]

    @property
    def social(self) -> bool:
        """Whether the forecasts of an agent depend on the others of its group."""
        return self.net.social is not None

    def sample(self, obs: Tensor, k: int | None = None,
               generator: torch.Generator | None = None, group: Tensor | None = None,
               valid: Tensor | None = None) -> Tensor:
        """``k`` (default: the ``k`` hyperparameter) forecasts per path:
        ``[B, obs_len, 2]`` → ``[B, k, pred_len, 2]`` (metres); with ``sample_draws`` the
        k-means centres of that many draws."""
        return self.net.sample(obs, self.scale, k or self.hparams.k, generator=generator,
                               draws=self.hparams.get("sample_draws", 0), group=group,
                               valid=valid,
                               select=self.hparams.get("sample_select", "paths"))

    def kl_factor(self) -> float:
        """The KL weight at the current training step (after the linear warm-up)."""
        warmup = self.hparams.kl_warmup
        ramp = 1.0 if warmup == 0 else min(1.0, (self.global_step + 1) / warmup)
        return self.hparams.kl_weight * ramp

    def _shared_step(self, batch: dict[str, Tensor], stage: str) -> Tensor:
        obs, fut, group = batch["obs"], batch["fut"], batch.get("group")
        self.check_finite("obs", obs, stage)
        self.check_finite("fut", fut, stage)
        if self.social and "group" not in batch:
            raise ConfigError("model.social=true needs batches of scene windows (which agents "
                              "were present together): set data.scenes=true, or "
                              "model.social=false")
        out = self.net(obs, self.scale, fut, group=group)
        if self.hparams.loss == "position":
            sq = (((out["pos"] - fut) / self.scale) ** 2).sum(dim=-1)
            recon = torch.sqrt(sq + 1e-8).sum(dim=1).mean()  # eps: finite gradient at 0
        else:
            prev = torch.cat([obs[:, -1:], fut[:, :-1]], dim=1)
            true_disp = (fut - prev) / self.scale
            recon = ((out["disp"] - true_disp) ** 2).sum(dim=(1, 2)).mean()
        kl = out["kl"].sum(dim=1).mean()
        weight = self.kl_factor() if stage == "train" else self.hparams.kl_weight
        loss = recon + weight * kl
        if "endpoint_err" in out:  # trains only the endpoint head (its inputs are detached)
            loss = loss + out["endpoint_err"].mean()
        if stage == "train" and self.hparams.best_of_k_train > 0:
            samples = self.net.sample(obs, self.scale, self.hparams.best_of_k_train,
                                      group=group)
            err = torch.linalg.vector_norm(samples - fut[:, None], dim=-1) / self.scale
            loss = loss + err.mean(dim=2).min(dim=1).values.mean()
        bs = obs.shape[0]
        with torch.no_grad():
            pred = self(obs, group)
            err = displacement_errors(pred, fut)  # [B, pred_len] metres
        ade, fde = getattr(self, f"{stage}_ade"), getattr(self, f"{stage}_fde")
        ade.update(err.mean(dim=1))
        fde.update(err[:, -1])
        self.log(f"{stage}/loss", loss.detach(), on_step=False, on_epoch=True, batch_size=bs,
                 sync_dist=True, prog_bar=stage != "test")
        self.log(f"{stage}/kl", kl.detach(), on_step=False, on_epoch=True, batch_size=bs,
                 sync_dist=True)
        self.log(f"{stage}/ade", ade, on_step=False, on_epoch=True, batch_size=bs,
                 prog_bar=stage == "val")
        self.log(f"{stage}/fde", fde, on_step=False, on_epoch=True, batch_size=bs)
        if stage != "train":
            self._log_best_of_k(obs, fut, stage, group)
        if stage == "test":
            cv = displacement_errors(constant_velocity(obs, fut.shape[1]), fut)
            self.test_cv_ade.update(cv.mean(dim=1))
            self.test_cv_fde.update(cv[:, -1])
            self.log("test/cv_ade", self.test_cv_ade, on_step=False, on_epoch=True, batch_size=bs)
            self.log("test/cv_fde", self.test_cv_fde, on_step=False, on_epoch=True, batch_size=bs)
            if self._plot_batch is None:
                n = self.hparams.plot_samples
                self._plot_batch = (obs[:n].cpu(), fut[:n].cpu(), pred[:n].cpu())
        return loss

    def _log_best_of_k(self, obs: Tensor, fut: Tensor, stage: str,
                       group: Tensor | None = None) -> None:
        with torch.no_grad():
            samples = self.sample(obs, generator=self._generator, group=group)
        bs = obs.shape[0]
        for name, value in zip(("min_ade", "min_fde"), best_of_k(samples, fut), strict=True):
            metric = getattr(self, f"{stage}_{name}")
            metric.update(value, weight=bs)
            self.log(f"{stage}/{name}", metric, on_step=False, on_epoch=True, batch_size=bs,
                     prog_bar=stage == "val" and name == "min_ade")

    def _seed_samples(self) -> None:
        self._generator = torch.Generator(self.device).manual_seed(self.hparams.sample_seed)

    def on_validation_epoch_start(self) -> None:
        self._seed_samples()

    def on_test_epoch_start(self) -> None:
        self._seed_samples()

