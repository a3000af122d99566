"""Many-to-many trajectory forecasting: encoder over observed displacements plus a decoder.

All tensors are batch-first. Positions are metres; the networks see displacements
divided by a fixed ``scale`` (metres per step), so one set of weights suits any scene units.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor, nn

from motionseq.errors import ConfigError
from motionseq.models.rnn import Cell, SequenceEncoder, make_rnn
from motionseq.models.social import SocialAttention, with_neighbours


def trajectory_inputs(obs: Tensor, scale: float | Tensor) -> Tensor:
    """Encoder input from observed positions ``obs [B, T, 2]`` → ``[B, T-1, 4]``:
    each step's displacement and its position relative to the last observed point, both
    divided by ``scale``."""
    disp = obs[:, 1:] - obs[:, :-1]
    rel = obs[:, 1:] - obs[:, -1:]
    return torch.cat([disp, rel], dim=-1) / scale


class RecurrentDecoder(nn.Module):
    """Autoregressive decoder: a recurrent cell fed its previous displacement.

    ``(summary [B, D], last_disp [B, 2])`` → displacements ``[B, pred_len, 2]``
    (in scale units).
    """

    def __init__(self, in_features: int, pred_len: int, hidden: int = 128, cell: Cell = "lstm"
                 ) -> None:
        super().__init__()
        self.pred_len, self.cell = pred_len, cell
        self.init_h = nn.Linear(in_features, hidden)
        self.init_c = nn.Linear(in_features, hidden) if cell == "lstm" else None
        self.embed = nn.Linear(2, hidden)
        self.rnn = make_rnn(cell, hidden, hidden)
        self.out = nn.Linear(hidden, 2)

    def forward(self, summary: Tensor, last_disp: Tensor) -> Tensor:
        h = torch.tanh(self.init_h(summary))
        c = torch.tanh(self.init_c(summary)) if self.init_c is not None else None
        # One cell step at a time with the layer's own weights: the same function as
        # calling the one-layer nn.LSTM/GRU/RNN on a length-1 sequence, without its
        # per-call weight checks (several times faster for the small batches of live use).
        # The input embedding is linear, so it folds into the cell's input weights:
        # W_ih (W_e x + b_e) + b_ih = (W_ih W_e) x + (W_ih b_e + b_ih), one product per call
        # instead of one per step (the same function up to float rounding).
        r = self.rnn
        w_in = r.weight_ih_l0 @ self.embed.weight              # [gates * H, 2]
        b_in = r.weight_ih_l0 @ self.embed.bias + r.bias_ih_l0
        w = (w_in, r.weight_hh_l0, b_in, r.bias_hh_l0)
        w_out, b_out = self.out.weight, self.out.bias
        linear = nn.functional.linear
        prev, steps = last_disp, []
        for _ in range(self.pred_len):
            if self.cell == "lstm":
                h, c = torch.lstm_cell(prev, (h, c), *w)
            elif self.cell == "gru":
                h = torch.gru_cell(prev, h, *w)
            else:
                h = torch.rnn_tanh_cell(prev, h, *w)
            prev = prev + linear(h, w_out, b_out)  # predict the change of displacement
            steps.append(prev)
        return torch.stack(steps, dim=1)


class DirectDecoder(nn.Module):
    """All future displacements at once from the summary: ``[B, D]`` → ``[B, pred_len, 2]``."""

    def __init__(self, in_features: int, pred_len: int, hidden: int = 128) -> None:
        super().__init__()
        self.pred_len = pred_len
        self.net = nn.Sequential(nn.Linear(in_features, hidden), nn.GELU(),
                                 nn.Linear(hidden, pred_len * 2))

    def forward(self, summary: Tensor, last_disp: Tensor) -> Tensor:
        delta = self.net(summary).view(-1, self.pred_len, 2)
        return last_disp[:, None, :] + delta  # a residual over constant velocity


def heading_rotation(obs: Tensor, steps: int = 3, eps: float = 1e-3) -> Tensor:
    """Rotations ``[B, 2, 2]`` that turn each path's recent heading onto +x.

    The heading is the displacement over the last ``steps`` observed steps (fewer when
    the path is shorter); a path that moved less than ``eps`` keeps the identity.
    ``local = R @ world`` and ``world = R.T @ local``.
    """
    k = min(steps, obs.shape[1] - 1)
    d = obs[:, -1] - obs[:, -1 - k]
    n = d.norm(dim=-1)
    moving = n > eps
    c = torch.where(moving, d[:, 0] / n.clamp_min(eps), torch.ones_like(n))
    s = torch.where(moving, d[:, 1] / n.clamp_min(eps), torch.zeros_like(n))
    return torch.stack([torch.stack([c, s], -1), torch.stack([-s, c], -1)], -2)


class Forecaster(nn.Module):
    """Observed positions ``[B, obs_len, 2]`` (metres) → future positions ``[B, pred_len, 2]``.

    Both decoders predict around constant velocity (the last observed displacement), so
    an untrained network starts from that strong baseline. With ``frame="heading"`` each
    path is rotated so that its recent heading points along +x before the networks see
    it, and the prediction is rotated back: forecasts do not depend on which way a
    scene's axes point, and the networks need not learn that from data. With
    ``speed_norm=True`` each path is also divided by its own observed speed (never below
    ``min_speed`` times the training scale), so a recording with a longer time step or
    faster walkers looks like the training data to the networks.

    With ``social=True`` each agent's encoded past also attends over the other agents of
    its ``group`` (:mod:`motionseq.models.social`) before decoding; without a ``group``
    (or alone in it) an agent gets the single-agent forecast.

    With ``mirror_average=True`` an evaluating network (not one in training mode) forecasts
    the mean of its forecast of the scene and the mirror image of its forecast of the
    mirrored scene (``y → -y`` for every agent), both in one batched pass: the forecast
    becomes exactly mirror-symmetric, the symmetry that mirrored training windows
    (``data.flip``) only teach approximately, at twice the evaluation compute.
    """

    def __init__(self, pred_len: int, decoder: Literal["recurrent", "direct"] = "recurrent",
                 cell: Cell = "lstm", hidden: int = 128, layers: int = 1, dropout: float = 0.0,
                 bidirectional: bool = False, frame: Literal["heading", "world"] = "heading",
                 speed_norm: bool = False, min_speed: float = 0.25, social: bool = False,
                 social_heads: int = 4, speed_input: bool = False,
                 mirror_average: bool = False) -> None:
        super().__init__()
        if frame not in ("heading", "world"):
            raise ConfigError(f"unknown frame {frame!r}; choose heading or world")
        self.frame, self.speed_norm, self.min_speed = frame, speed_norm, min_speed
        self.speed_input, self.mirror_average = bool(speed_input), bool(mirror_average)
        self.encoder = SequenceEncoder(5 if speed_input else 4, hidden, layers, cell,
                                       bidirectional, dropout)
        d = self.encoder.out_dim
        self.social = SocialAttention(d, social_heads) if social else None
        if decoder == "recurrent":
            self.decoder: nn.Module = RecurrentDecoder(d, pred_len, hidden, cell)
        elif decoder == "direct":
            self.decoder = DirectDecoder(d, pred_len, hidden)
        else:
            raise ConfigError(f"unknown decoder {decoder!r}; choose recurrent or direct")

    def forward(self, obs: Tensor, scale: float | Tensor, group: Tensor | None = None,
                valid: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """Returns ``(positions [B, pred_len, 2] in metres, displacements [B, pred_len, 2]
        in scale units)``. ``group [B]``: which agents were present together (see
        :mod:`motionseq.models.social`); ``valid [B]`` marks padding rows (False)."""
        if obs.shape[1] < 2:
            raise ValueError("forecasting needs at least 2 observed positions")
        if not self.mirror_average or self.training or obs.shape[0] == 0:
            return self._forecast(obs, scale, group, valid)
        # the scene and its mirror image in one pass; mirrored rows get group ids of their
        # own, so no agent sees the other copy
        n, flip = obs.shape[0], obs.new_tensor([1.0, -1.0])
        if group is not None:
            group = torch.cat([group, group + (group.max() - group.min() + 1)])
        if valid is not None:
            valid = torch.cat([valid, valid])
        pos, disp = self._forecast(torch.cat([obs, obs * flip]), scale, group, valid)
        return (pos[:n] + pos[n:] * flip) / 2, (disp[:n] + disp[n:] * flip) / 2

    def _forecast(self, obs: Tensor, scale: float | Tensor, group: Tensor | None,
                  valid: Tensor | None) -> tuple[Tensor, Tensor]:
        """One forward pass (:meth:`forward` without the mirror average)."""
        rot = heading_rotation(obs) if self.frame == "heading" else None
        # local[b, t] = rot[b] @ (obs[b, t] - obs[b, -1]), as one batched product
        local = obs if rot is None else (obs - obs[:, -1:]) @ rot.transpose(1, 2)
        # per-path scale relative to the training scale: [B, 1, 1] (or 1 without speed_norm)
        rel_speed: Tensor | float = 1.0
        speed = None
        if self.speed_norm or self.speed_input:
            speed = (obs[:, 1:] - obs[:, :-1]).norm(dim=-1).mean(dim=1) / scale
        if self.speed_norm:
            rel_speed = speed.clamp_min(self.min_speed)[:, None, None]
        local = local / rel_speed
        inputs = trajectory_inputs(local, scale)
        if self.speed_input:
            # what speed_norm divides out: the path's own speed (log, relative to the
            # training scale), so slow and fast walkers can still move differently
            level = torch.log(speed.clamp_min(0.05))[:, None, None]
            inputs = torch.cat([inputs, level.expand(-1, inputs.shape[1], 1)], dim=-1)
        _, summary = self.encoder(inputs)
        summary = with_neighbours(self.social, summary, obs, rot, scale, group, valid)
        last_disp = (local[:, -1] - local[:, -2]) / scale
        disp = self.decoder(summary, last_disp) * rel_speed  # back to training-scale units
        if rot is not None:
            disp = disp @ rot  # back to world axes: rot[b].T @ disp[b, t]
        pos = obs[:, -1:] + torch.cumsum(disp * scale, dim=1)
        return pos, disp


class ForecasterEnsemble(nn.Module):
    """``k`` independently initialised :class:`Forecaster` members whose forecasts are
    averaged (a deep ensemble): the same interface as one member. Each member is trained on
    its own loss (:meth:`each`), so they differ by their start and the average removes part
    of each one's error that the others do not share."""

    def __init__(self, members: int, **kwargs) -> None:
        super().__init__()
        if members < 2:
            raise ConfigError(f"an ensemble needs at least 2 members, got {members}")
        self.members = nn.ModuleList(Forecaster(**kwargs) for _ in range(members))

    @property
    def social(self) -> SocialAttention | None:
        return self.members[0].social

    def each(self, obs: Tensor, scale: float | Tensor, group: Tensor | None = None,
             valid: Tensor | None = None) -> list[tuple[Tensor, Tensor]]:
        """Every member's ``(positions, displacements)``, as :meth:`Forecaster.forward`."""
        return [m(obs, scale, group, valid) for m in self.members]

    def forward(self, obs: Tensor, scale: float | Tensor, group: Tensor | None = None,
                valid: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """The members' mean ``(positions, displacements)``."""
        outs = self.each(obs, scale, group, valid)
        return (torch.stack([o[0] for o in outs]).mean(0),
                torch.stack([o[1] for o in outs]).mean(0))
