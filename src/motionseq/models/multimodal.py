"""Multimodal trajectory forecasting: a conditional VAE over the recurrent encoder-decoder.

A latent ``z`` carries what the observed path cannot tell (turn left or right, slow down
or not). A prior ``p(z | past)`` and, in training, a posterior ``q(z | past, future)`` are
diagonal Gaussians; the recurrent decoder, conditioned on ``[past summary, z]``, predicts
around constant velocity as :class:`~motionseq.models.forecast.Forecaster` does, in the
same heading frame and ``scale`` units. Positions are metres, batch-first.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
from torch import Tensor, nn

from motionseq.errors import ConfigError
from motionseq.models.forecast import RecurrentDecoder, heading_rotation, trajectory_inputs
from motionseq.models.rnn import Cell, SequenceEncoder
from motionseq.models.social import SocialAttention, with_neighbours

# log-variances are clamped so that exp() can neither vanish nor overflow
_LOGVAR_RANGE = (-10.0, 6.0)


@dataclass
class _Past:
    """What the decoder needs from the observed paths, per path (B rows)."""

    summary: Tensor  # [B, D] encoder summary
    last_disp: Tensor  # [B, 2] last observed displacement, local frame, scale units
    rot: Tensor | None  # [B, 2, 2] world → local rotation, None in the world frame
    rel_speed: Tensor | None  # [B, 1, 1] per-path speed factor, None without speed_norm
    origin: Tensor  # [B, 1, 2] last observed position (metres)

    def repeat(self, k: int) -> _Past:
        """Each row ``k`` times in a row: B rows → B·k rows (sample-major within a path)."""
        def rep(t: Tensor | None) -> Tensor | None:
            return None if t is None else t.repeat_interleave(k, dim=0)

        return _Past(rep(self.summary), rep(self.last_disp), rep(self.rot),
                     rep(self.rel_speed), rep(self.origin))


def _gaussian_head(in_features: int, hidden: int, latent: int) -> nn.Module:
    return nn.Sequential(nn.Linear(in_features, hidden), nn.GELU(),
                         nn.Linear(hidden, 2 * latent))


def gaussian_kl(mu_q: Tensor, logvar_q: Tensor, mu_p: Tensor, logvar_p: Tensor) -> Tensor:
    """``KL(q || p)`` of diagonal Gaussians per latent dimension: ``[B, Z]`` → ``[B, Z]``
    (nats)."""
    return 0.5 * (logvar_p - logvar_q
                  + (logvar_q.exp() + (mu_q - mu_p) ** 2) / logvar_p.exp() - 1.0)


def kmeans(x: Tensor, k: int, iters: int = 10) -> Tensor:
    """``k`` centres of the ``N`` points of each row, ``x [B, N, D]`` → ``[B, k, D]``
    (Lloyd's algorithm from the first ``k`` points; a centre left without points stays).

    When the points are random draws, the first ``k`` are a random start that follows the
    density; on ETH/UCY that gives lower best-of-20 errors than a farthest-point start
    (0.284/0.525 against 0.307/0.575 m mean ADE/FDE from 200 draws), which spends centres
    on rare outlying draws.
    """
    if not 1 <= k <= x.shape[1]:
        raise ValueError(f"need 1 <= k <= N = {x.shape[1]} points, got k={k}")
    centres = x[:, :k]
    b, n, d = x.shape
    x2 = (x * x).sum(dim=-1, keepdim=True)  # [B, N, 1]
    ones = torch.ones(b, n, dtype=x.dtype, device=x.device)
    for _ in range(iters):
        # squared distances by one batched product (the argmin of cdist, several times
        # faster), then the members' sums by scatter (no [B, N, k] one-hot)
        dist = x2 - 2 * torch.bmm(x, centres.transpose(1, 2)) + (centres * centres).sum(-1)[:, None]
        nearest = dist.argmin(dim=-1)  # [B, N]
        sums = torch.zeros(b, k, d, dtype=x.dtype, device=x.device).scatter_add_(
            1, nearest[..., None].expand(-1, -1, d), x)
        count = torch.zeros(b, k, dtype=x.dtype, device=x.device).scatter_add_(
            1, nearest, ones)[..., None]  # [B, k, 1]
        centres = torch.where(count > 0, sums / count.clamp_min(1), centres)
    return centres


class CVAEForecaster(nn.Module):
    """Observed positions ``[B, obs_len, 2]`` (metres) → K possible futures.

    ``forward`` decodes one latent per path: a posterior sample when the future is given
    and the module trains (its mean in eval mode), the prior mean otherwise. ``sample``
    draws K latents from the prior. The frame (``heading`` or ``world``), ``speed_norm``
    and ``min_speed`` mean what they mean for ``Forecaster``; the future encoder is a
    bidirectional recurrent network over the true future in the same frame. ``social``
    adds the attention over the agents of each ``group`` to the past summary, as for
    ``Forecaster``: the prior, the posterior and every sample see the neighbours.
    """

    def __init__(self, pred_len: int, cell: Cell = "lstm", hidden: int = 128, layers: int = 1,
                 dropout: float = 0.0, bidirectional: bool = False,
                 frame: Literal["heading", "world"] = "heading", speed_norm: bool = False,
                 min_speed: float = 0.25, latent: int = 16, social: bool = False,
                 social_heads: int = 4) -> None:
        super().__init__()
        if frame not in ("heading", "world"):
            raise ConfigError(f"unknown frame {frame!r}; choose heading or world")
        if latent < 1:
            raise ConfigError(f"latent must be >= 1, got {latent}")
        self.pred_len, self.latent = pred_len, latent
        self.frame, self.speed_norm, self.min_speed = frame, speed_norm, min_speed
        self.encoder = SequenceEncoder(4, hidden, layers, cell, bidirectional, dropout)
        d = self.encoder.out_dim
        self.social = SocialAttention(d, social_heads) if social else None
        self.future_encoder = SequenceEncoder(4, hidden, 1, cell, bidirectional=True)
        self.prior = _gaussian_head(d, hidden, latent)
        self.posterior = _gaussian_head(d + self.future_encoder.out_dim, hidden, latent)
        self.decoder = RecurrentDecoder(d + latent, pred_len, hidden, cell)
        # where the decoder ends for a given latent (local frame, scale units): lets sampling
        # choose which of many draws to decode without decoding them all
        self.endpoint = nn.Sequential(nn.Linear(d + latent, hidden), nn.GELU(),
                                      nn.Linear(hidden, hidden), nn.GELU(),
                                      nn.Linear(hidden, 2))

    @staticmethod
    def _to_local(pos: Tensor, origin: Tensor, rot: Tensor | None,
                  rel_speed: Tensor | None) -> Tensor:
        """World positions ``[B, T, 2]`` → the networks' frame (origin at the last observed
        point, heading along +x, divided by the path's speed factor)."""
        local = pos - origin
        if rot is not None:
            local = torch.einsum("bij,btj->bti", rot, local)
        return local if rel_speed is None else local / rel_speed

    def encode_past(self, obs: Tensor, scale: float | Tensor, group: Tensor | None = None,
                    valid: Tensor | None = None) -> _Past:
        """The observed paths ``[B, obs_len, 2]`` encoded once, for any number of latents
        (with the neighbours of each agent's ``group`` for a social model)."""
        if obs.shape[1] < 2:
            raise ValueError("forecasting needs at least 2 observed positions")
        rot = heading_rotation(obs) if self.frame == "heading" else None
        rel_speed = None
        if self.speed_norm:
            speed = (obs[:, 1:] - obs[:, :-1]).norm(dim=-1).mean(dim=1) / scale
            rel_speed = speed.clamp_min(self.min_speed)[:, None, None]
        origin = obs[:, -1:]
        local = self._to_local(obs, origin, rot, rel_speed)
        _, summary = self.encoder(trajectory_inputs(local, scale))
        summary = with_neighbours(self.social, summary, obs, rot, scale, group, valid)
        return _Past(summary, (local[:, -1] - local[:, -2]) / scale, rot, rel_speed, origin)

    def encode_future(self, fut: Tensor, past: _Past, scale: float | Tensor) -> Tensor:
        """The future encoder's summary ``[B, 2·hidden]`` of ``fut [B, pred_len, 2]``."""
        local = self._to_local(fut, past.origin, past.rot, past.rel_speed)
        prev = torch.cat([torch.zeros_like(local[:, :1]), local[:, :-1]], dim=1)
        _, summary = self.future_encoder(torch.cat([local - prev, local], dim=-1) / scale)
        return summary

    def decode(self, past: _Past, z: Tensor, scale: float | Tensor) -> tuple[Tensor, Tensor]:
        """``z [B, latent]`` → ``(positions [B, pred_len, 2] metres, displacements
        [B, pred_len, 2] in training-scale units, world axes)``."""
        return self._decode(past, z, scale)[:2]

    def _decode(self, past: _Past, z: Tensor, scale: float | Tensor
                ) -> tuple[Tensor, Tensor, Tensor]:
        """:meth:`decode` plus the decoder's own displacements (the path's frame, speed
        normalised), whose sum :attr:`endpoint` predicts."""
        local = self.decoder(torch.cat([past.summary, z], dim=-1), past.last_disp)
        disp = local if past.rel_speed is None else local * past.rel_speed
        if past.rot is not None:
            disp = torch.einsum("bji,btj->bti", past.rot, disp)
        return past.origin + torch.cumsum(disp * scale, dim=1), disp, local

    def endpoint_error(self, past: _Past, z: Tensor, local_disp: Tensor) -> Tensor:
        """Per-path error ``[B]`` of :attr:`endpoint` against where the decoder went with
        ``z`` (the sum of its local displacements). Inputs and target are detached: the head
        learns to read the model and never changes it."""
        target = local_disp.detach().sum(dim=1)
        guess = self.endpoint(torch.cat([past.summary, z], dim=-1).detach())
        return (guess - target).norm(dim=-1)

    def prior_params(self, past: _Past) -> tuple[Tensor, Tensor]:
        """``(mean, log-variance)`` of ``p(z | past)``, each ``[B, latent]``."""
        mu, logvar = self.prior(past.summary).chunk(2, dim=-1)
        return mu, logvar.clamp(*_LOGVAR_RANGE)

    def forward(self, obs: Tensor, scale: float | Tensor, fut: Tensor | None = None,
                generator: torch.Generator | None = None, group: Tensor | None = None
                ) -> dict[str, Tensor]:
        """Returns ``pos`` ``[B, pred_len, 2]`` (metres), ``disp`` ``[B, pred_len, 2]``
        (scale units), ``prior_mu``/``prior_logvar`` ``[B, latent]`` and, when ``fut`` is
        given, ``post_mu``/``post_logvar`` and ``kl`` ``[B, latent]`` (nats per dimension);
        in training also ``endpoint_err`` ``[2B]``, the endpoint head's error on this latent
        and on one prior draw per path (see :meth:`endpoint_error`)."""
        past = self.encode_past(obs, scale, group)
        prior_mu, prior_logvar = self.prior_params(past)
        out = {"prior_mu": prior_mu, "prior_logvar": prior_logvar}
        if fut is None:
            z = prior_mu
        else:
            h = torch.cat([past.summary, self.encode_future(fut, past, scale)], dim=-1)
            mu, logvar = self.posterior(h).chunk(2, dim=-1)
            logvar = logvar.clamp(*_LOGVAR_RANGE)
            z = mu
            if self.training:
                eps = torch.randn(mu.shape, generator=generator, device=mu.device,
                                  dtype=mu.dtype)
                z = mu + eps * (0.5 * logvar).exp()
            out.update(post_mu=mu, post_logvar=logvar,
                       kl=gaussian_kl(mu, logvar, prior_mu, prior_logvar))
        out["pos"], out["disp"], local = self._decode(past, z, scale)
        if self.training:  # the head also sees prior draws, as sampling will ask it
            with torch.no_grad():
                z_prior = prior_mu + torch.randn(prior_mu.shape, generator=generator,
                                                 device=z.device, dtype=z.dtype) * (
                    0.5 * prior_logvar).exp()
                local_prior = self._decode(past, z_prior, scale)[2]
            out["endpoint_err"] = torch.cat([self.endpoint_error(past, z, local),
                                             self.endpoint_error(past, z_prior, local_prior)])
        return out

    def sample(self, obs: Tensor, scale: float | Tensor, k: int, most_likely: bool = False,
               generator: torch.Generator | None = None, draws: int = 0,
               group: Tensor | None = None, valid: Tensor | None = None,
               select: Literal["endpoints", "paths"] = "endpoints") -> Tensor:
        """``k`` futures per path from the prior: ``[B, k, pred_len, 2]`` metres.

        ``most_likely=True`` decodes the prior mean once: ``[B, 1, pred_len, 2]``. With
        ``draws > k`` the ``k`` futures summarise ``draws`` prior draws instead of being ``k``
        independent ones (see :func:`kmeans`). ``select="endpoints"``: the endpoint head
        says where each draw would end, the draws' endpoints are clustered into ``k`` groups
        and the draw nearest each centre is decoded: ``k`` decodes per path, whatever
        ``draws``. ``select="paths"``: every draw is decoded and the futures are the k-means
        centres of the decoded paths (``draws`` decodes per path). Draws come from
        ``generator`` when given (the same generator state gives the same samples), else
        from torch's global generator.
        """
        if k < 1:
            raise ValueError(f"k must be >= 1, got {k}")
        if select not in ("endpoints", "paths"):
            raise ConfigError(f"unknown sample selection {select!r}; choose endpoints or paths")
        past = self.encode_past(obs, scale, group, valid)
        mu, logvar = self.prior_params(past)
        if most_likely:
            return self.decode(past, mu, scale)[0][:, None]
        b, n = obs.shape[0], max(k, draws)
        eps = torch.randn((b, n, self.latent), generator=generator, device=mu.device,
                          dtype=mu.dtype)
        z = mu[:, None] + eps * (0.5 * logvar).exp()[:, None]
        if n > k and select == "endpoints":
            ends = self.endpoint(torch.cat(
                [past.summary[:, None].expand(-1, n, -1), z], dim=-1))  # [B, n, 2]
            centres = kmeans(ends, k)  # [B, k, 2]
            pick = torch.cdist(centres, ends).argmin(dim=-1)  # [B, k]: a draw per centre
            z = torch.gather(z, 1, pick[..., None].expand(-1, -1, self.latent))
            n = k
        pos, _ = self.decode(past.repeat(n), z.reshape(b * n, -1), scale)
        pos = pos.view(b, n, self.pred_len, 2)
        if n == k:
            return pos
        return kmeans(pos.flatten(2), k).view(b, k, self.pred_len, 2)
