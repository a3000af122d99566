"""Interaction between the agents of a scene: each agent attends over its neighbours.

Agents travel flat, batch-first, with a ``group`` id per row: rows with the same id were
present together (one scene window, or the people tracked in one live frame) and see each
other; rows of different groups never do. ``valid`` (bool per row, default all) marks
padding rows: they are nobody's neighbour. So a batch may hold any number of scene windows
of any sizes, in any order, and an agent's output depends on the set of its neighbours, not
on their order, their number of padding rows or the other windows of the batch.

The keys and values of a neighbour are its encoded state plus an embedding of where it is
and how it moves relative to the agent (position now and at the start of the observation,
relative velocity, distance), in the agent's own frame (its heading along +x when the
forecaster works in the heading frame) and in training-scale units. A learned "nobody"
slot with a zero value takes part in every softmax, so an agent alone, or one whose
neighbours do not matter, gets a zero context and the single-agent path exactly.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from motionseq.errors import ConfigError

EDGE_FEATURES = 8


def neighbour_pairs(group: Tensor, valid: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """``(i, j)`` index pairs ``[E]`` of rows in the same group, ``i != j``, ``j`` valid.

    ``group [B]`` int, ``valid [B]`` bool or None. Built from the rows sorted by group (each
    row's neighbours are one run of that order), so memory grows with the pairs, not ``B²``.
    """
    b = group.shape[0]
    ok = torch.ones(b, dtype=torch.bool, device=group.device) if valid is None else valid
    # rows sorted by group: each row's neighbours are a contiguous run of the sorted order
    order = torch.argsort(group, stable=True)
    g = group[order]
    first = torch.searchsorted(g, g, right=False)
    last = torch.searchsorted(g, g, right=True)
    counts = last - first  # group size of each sorted row
    i_sorted = torch.repeat_interleave(torch.arange(b, device=group.device), counts)
    offsets = torch.arange(int(counts.sum()), device=group.device) - torch.repeat_interleave(
        torch.cumsum(counts, 0) - counts, counts)
    j_sorted = first[i_sorted] + offsets
    i, j = order[i_sorted], order[j_sorted]
    keep = (i != j) & ok[j]
    return i[keep], j[keep]


def edge_features(obs: Tensor, rot: Tensor | None, scale: float | Tensor, i: Tensor,
                  j: Tensor) -> Tensor:
    """Where neighbour ``j`` is and how it moves relative to agent ``i``: ``[E, 8]``.

    ``obs [B, T, 2]`` metres, ``rot [B, 2, 2]`` world → agent frame (None: world axes).
    Features: relative position at the last and the first observed step, relative last
    displacement (all in the agent's frame, scale units, positions divided by 4 so that
    typical neighbours sit within a few units), the distance and ``1 / (1 + distance)``.
    """
    last, first = obs[:, -1], obs[:, 0]
    vel = obs[:, -1] - obs[:, -2]
    parts = [(last[j] - last[i]) / 4.0, (first[j] - first[i]) / 4.0, vel[j] - vel[i]]
    if rot is not None:
        r = rot[i]
        parts = [torch.einsum("eab,eb->ea", r, p) for p in parts]
    parts = [p / scale for p in parts]
    dist = parts[0].norm(dim=-1, keepdim=True)
    return torch.cat(parts + [dist, 1.0 / (1.0 + dist)], dim=-1)


class SocialAttention(nn.Module):
    """Multi-head attention of each agent over its neighbours' encoded states.

    ``(h [B, D], features [E, 8], i [E], j [E])`` → context ``[B, D]`` to add to ``h``
    (zero for an agent with no neighbours, and for any agent at initialisation: the output
    projection starts at zero, so a social model starts as the single-agent one).
    """

    def __init__(self, dim: int, heads: int = 4, hidden: int = 64) -> None:
        super().__init__()
        if dim % heads:
            raise ConfigError(f"social attention needs hidden ({dim}) divisible by "
                              f"social_heads ({heads})")
        self.heads, self.head_dim = heads, dim // heads
        self.query = nn.Linear(dim, dim)
        self.key = nn.Linear(dim, dim)
        self.value = nn.Linear(dim, dim)
        self.edge = nn.Sequential(nn.Linear(EDGE_FEATURES, hidden), nn.GELU(),
                                  nn.Linear(hidden, 2 * dim))
        self.null_logit = nn.Parameter(torch.zeros(heads))
        self.out = nn.Linear(dim, dim, bias=False)
        nn.init.zeros_(self.out.weight)

    def forward(self, h: Tensor, features: Tensor, i: Tensor, j: Tensor) -> Tensor:
        b, hh, dh = h.shape[0], self.heads, self.head_dim
        if i.numel() == 0:
            return torch.zeros_like(h)
        ek, ev = self.edge(features).chunk(2, dim=-1)
        q = self.query(h).view(b, hh, dh)
        k = (self.key(h)[j] + ek).view(-1, hh, dh)
        v = (self.value(h)[j] + ev).view(-1, hh, dh)
        logits = (q[i] * k).sum(-1) / math.sqrt(dh)  # [E, H]
        # softmax over {nobody} ∪ neighbours of each agent, numerically stable per agent
        top = self.null_logit.detach().expand(b, hh).clone()
        top = top.scatter_reduce(0, i[:, None].expand(-1, hh), logits.detach(), "amax")
        w = torch.exp(logits - top[i])  # [E, H]
        denom = torch.exp(self.null_logit[None] - top).index_add(0, i, w)  # [B, H]
        ctx = torch.zeros(b, hh, dh, dtype=h.dtype, device=h.device)
        ctx = ctx.index_add(0, i, w[..., None] * v) / denom[..., None]
        return self.out(ctx.reshape(b, hh * dh))


def with_neighbours(layer: SocialAttention | None, summary: Tensor, obs: Tensor,
                    rot: Tensor | None, scale: float | Tensor, group: Tensor | None,
                    valid: Tensor | None = None) -> Tensor:
    """``summary [B, D]`` plus each agent's social context (unchanged without a layer or a
    ``group``: every agent alone)."""
    if layer is None or group is None:
        return summary
    if group.shape != summary.shape[:1]:
        raise ValueError(f"group must hold one id per agent ({summary.shape[0]}), got shape "
                         f"{tuple(group.shape)}")
    i, j = neighbour_pairs(group, valid)
    return summary + layer(summary, edge_features(obs, rot, scale, i, j), i, j)
