"""Deterministic trajectory baselines: constant velocity and a least-squares line.

Both take observed positions ``[B, T_obs, 2]`` and return future positions
``[B, pred_len, 2]`` in the same units and frame.
"""

from __future__ import annotations

import torch
from torch import Tensor

from motionseq.errors import ConfigError, DataError


def _check(obs: Tensor, pred_len: int) -> None:
    if obs.ndim != 3 or obs.shape[1] < 2:
        raise DataError(f"obs must be [B, T_obs >= 2, D], got shape {tuple(obs.shape)}")
    if int(pred_len) != pred_len or pred_len < 1:
        raise ConfigError(f"pred_len must be a whole number >= 1, got {pred_len!r}")


def constant_velocity(obs: Tensor, pred_len: int) -> Tensor:
    """Repeat the last observed step: ``[B, T_obs, 2] -> [B, pred_len, 2]``."""
    _check(obs, pred_len)
    step = obs[:, -1] - obs[:, -2]  # [B, 2]
    k = torch.arange(1, pred_len + 1, dtype=obs.dtype, device=obs.device)
    return obs[:, -1:, :] + k[None, :, None] * step[:, None, :]


def _line(obs: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Least-squares line per coordinate over ``t = 0 .. T_obs - 1``: ``(mean [B, 1, D],
    slope [B, 1, D], mean time)``."""
    n = obs.shape[1]
    t = torch.arange(n, dtype=obs.dtype, device=obs.device)
    tc = t - t.mean()  # centred times make the slope a plain ratio
    mean = obs.mean(dim=1, keepdim=True)
    slope = (tc[None, :, None] * (obs - mean)).sum(dim=1, keepdim=True) / (tc**2).sum()
    return mean, slope, t.mean()


def linear_fit(obs: Tensor, pred_len: int) -> Tensor:
    """Least-squares line through the observed points, extrapolated.

    Each coordinate is fitted as ``a + b t`` over ``t = 0 .. T_obs - 1`` and evaluated at
    ``t = T_obs .. T_obs + pred_len - 1``. ``[B, T_obs, 2] -> [B, pred_len, 2]``.
    """
    _check(obs, pred_len)
    n = obs.shape[1]
    mean, slope, t_mean = _line(obs)
    tf = torch.arange(n, n + pred_len, dtype=obs.dtype, device=obs.device) - t_mean
    return mean + tf[None, :, None] * slope


def linear_from_last(obs: Tensor, pred_len: int) -> Tensor:
    """The least-squares line's velocity (see :func:`linear_fit`) carried on from the last
    observed point, so the path starts where the agent is now: ``[B, T_obs, 2] ->
    [B, pred_len, 2]``."""
    _check(obs, pred_len)
    _, slope, _ = _line(obs)
    k = torch.arange(1, pred_len + 1, dtype=obs.dtype, device=obs.device)
    return obs[:, -1:, :] + k[None, :, None] * slope
