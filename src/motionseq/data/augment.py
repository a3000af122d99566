"""Train-only augmentation, applied to collated batches (never to val/test)."""

from __future__ import annotations

import math

import torch
from torch import Tensor


def rotate_windows(batch: dict[str, Tensor], generator: torch.Generator | None = None,
                   max_angle: float = math.pi) -> dict[str, Tensor]:
    """Rotate each window (``obs [B, T_obs, 2]``, ``fut [B, T_pred, 2]``) by its own random
    angle in ``[-max_angle, max_angle]`` about its last observed point.

    Motion does not depend on which way the scene's axes point, so this multiplies the
    data for free. Returns a new dict; the input is not modified.
    """
    obs, fut = batch["obs"], batch["fut"]
    b = obs.shape[0]
    theta = (torch.rand(b, generator=generator) * 2 - 1) * max_angle
    c, s = torch.cos(theta), torch.sin(theta)
    rot = torch.stack([torch.stack([c, -s], -1), torch.stack([s, c], -1)], -2).to(obs)  # [B,2,2]
    origin = obs[:, -1:, :]
    return {**batch,
            "obs": (obs - origin) @ rot.transpose(1, 2) + origin,
            "fut": (fut - origin) @ rot.transpose(1, 2) + origin}


class RotateCollate:
    """Collate function for training loaders: default collation, then :func:`rotate_windows`."""

    def __init__(self, max_angle: float = math.pi, seed: int = 0) -> None:
        self.max_angle = max_angle
        self.generator = torch.Generator().manual_seed(seed)

    def __call__(self, items: list[dict[str, Tensor]]) -> dict[str, Tensor]:
        from torch.utils.data import default_collate

        return rotate_windows(default_collate(items), self.generator, self.max_angle)
