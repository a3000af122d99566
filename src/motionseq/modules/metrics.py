"""Displacement metrics for trajectory forecasts (ADE, FDE, best-of-K).

Positions are ``[B, T, 2]`` (batch-first, metres); errors are Euclidean distances.
"""

from __future__ import annotations

import torch
from torch import Tensor

from motionseq.errors import DataError


def _check_pair(pred: Tensor, true: Tensor) -> None:
    if pred.shape != true.shape or pred.ndim != 3 or pred.shape[1] < 1:
        raise DataError(
            f"pred and true must both be [B, T, D] with T >= 1, got {tuple(pred.shape)} and "
            f"{tuple(true.shape)}"
        )


def displacement_errors(pred: Tensor, true: Tensor) -> Tensor:
    """L2 distance per step: ``[B, T, 2]`` twice -> ``[B, T]``."""
    _check_pair(pred, true)
    return torch.linalg.vector_norm(pred - true, dim=-1)


def ade(pred: Tensor, true: Tensor) -> Tensor:
    """Average displacement error: mean over batch and steps (scalar)."""
    return displacement_errors(pred, true).mean()


def fde(pred: Tensor, true: Tensor) -> Tensor:
    """Final displacement error: mean over batch of the last step's error (scalar)."""
    return displacement_errors(pred, true)[:, -1].mean()


def best_of_k(
    pred_k: Tensor, true: Tensor, *, group: Tensor | None = None
) -> tuple[Tensor, Tensor]:
    """``(minADE, minFDE)`` scalars of K samples: ``pred_k [B, K, T, 2]``, ``true [B, T, 2]``.

    ADE and FDE are minimised over K independently (the best sample for ADE need not be
    the best for FDE), as Social-GAN's ``evaluate_model.py`` and later work do.

    Without ``group`` the minimum is taken per sample (Social-STGCNN, Trajectron++).
    With ``group`` (``[B]`` ids, e.g. one per scene window) the errors of a group are summed
    per sample k before the minimum, as Social-GAN's ``evaluate_helper`` does; the result
    is still divided by B (and T for ADE).
    """
    if pred_k.ndim != 4 or true.ndim != 3 or pred_k.shape[:1] + pred_k.shape[2:] != true.shape:
        raise DataError(
            f"pred_k must be [B, K, T, D] and true [B, T, D], got {tuple(pred_k.shape)} and "
            f"{tuple(true.shape)}"
        )
    if pred_k.shape[1] < 1 or pred_k.shape[2] < 1:
        raise DataError(f"need K >= 1 samples and T >= 1 steps, got {tuple(pred_k.shape)}")
    err = torch.linalg.vector_norm(pred_k - true[:, None], dim=-1)  # [B, K, T]
    ade_k, fde_k = err.mean(dim=2), err[:, :, -1]  # [B, K] each
    if group is None:
        return ade_k.min(dim=1).values.mean(), fde_k.min(dim=1).values.mean()
    group = torch.as_tensor(group, device=pred_k.device)
    if group.shape != (pred_k.shape[0],):
        raise DataError(f"group must be [B] = ({pred_k.shape[0]},), got {tuple(group.shape)}")
    _, inv = torch.unique(group, return_inverse=True)
    n_groups = int(inv.max()) + 1 if inv.numel() else 0
    b = pred_k.shape[0]

    def grouped(e: Tensor) -> Tensor:
        sums = e.new_zeros(n_groups, e.shape[1]).index_add_(0, inv, e)  # [G, K]
        return sums.min(dim=1).values.sum() / b

    return grouped(ade_k), grouped(fde_k)
