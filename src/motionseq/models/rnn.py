"""Recurrent sequence encoder over padded, variable-length batches."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from motionseq.errors import ConfigError

Cell = Literal["rnn", "lstm", "gru"]
Pooling = Literal["last", "mean", "max", "attention"]
_CELLS = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}
_POOLINGS = ("last", "mean", "max", "attention")


def make_rnn(cell: str, input_size: int, hidden: int, layers: int = 1,
             bidirectional: bool = False, dropout: float = 0.0) -> nn.RNNBase:
    """A batch-first ``nn.RNN`` (tanh), ``nn.LSTM`` or ``nn.GRU``."""
    if cell not in _CELLS:
        raise ConfigError(f"unknown cell {cell!r}; choose one of {', '.join(_CELLS)}")
    if hidden < 1 or layers < 1:
        raise ConfigError(f"hidden and layers must be >= 1, got hidden={hidden}, layers={layers}")
    return _CELLS[cell](input_size, hidden, num_layers=layers, batch_first=True,
                        bidirectional=bidirectional, dropout=dropout if layers > 1 else 0.0)


ConvNorm = Literal["layer", "batch"]
_CONV_NORMS = ("layer", "batch")


class MaskedBatchNorm(nn.BatchNorm1d):
    """BatchNorm over the channels of ``[B, T, C]`` whose training statistics come from the
    valid steps only (``mask [B, T]``, True = valid), so batch padding never shifts them.

    In eval mode it uses the running statistics, a per-step affine map, so a padded batch
    gives each sequence exactly what it gives alone.
    """

    def forward(self, x: Tensor, mask: Tensor | None = None) -> Tensor:  # type: ignore[override]
        """``x [B, T, C]``, ``mask [B, T]`` bool or None (all valid) → ``[B, T, C]``."""
        if not self.training:
            return nn.functional.batch_norm(x.transpose(1, 2), self.running_mean,
                                            self.running_var, self.weight, self.bias, False,
                                            0.0, self.eps).transpose(1, 2)
        m = (torch.ones(x.shape[:2], dtype=torch.bool, device=x.device) if mask is None
             else mask)[..., None].to(x.dtype)  # [B, T, 1]
        n = m.sum().clamp_min(1.0)
        mean = (x * m).sum(dim=(0, 1)) / n
        var = (((x - mean) ** 2) * m).sum(dim=(0, 1)) / n
        if self.track_running_stats and self.running_mean is not None:
            with torch.no_grad():
                momentum = 0.1 if self.momentum is None else self.momentum
                unbiased = var * n / (n - 1).clamp_min(1.0)
                self.running_mean.lerp_(mean.detach(), momentum)
                self.running_var.lerp_(unbiased.detach(), momentum)
                self.num_batches_tracked += 1
        y = (x - mean) / torch.sqrt(var + self.eps)
        return y * self.weight + self.bias if self.affine else y


def _per_layer(value: int | Sequence[int], layers: int, name: str) -> list[int]:
    """``value`` for every layer: an int is repeated, a list must have ``layers`` entries."""
    if isinstance(value, int):
        return [value] * layers
    values = [int(v) for v in value]
    if len(values) != layers:
        raise ConfigError(f"conv {name} lists one value per conv layer: got {len(values)} "
                          f"values ({values}) for conv_layers={layers}")
    return values


class TemporalConv(nn.Module):
    """A small 1D convolutional front end over time: ``[B, T, F]`` → ``[B, T, C]``.

    Each layer is a ``kernel``-wide convolution (zero padding, same length), a norm, GELU
    and dropout. The norm is a per-step LayerNorm (``norm="layer"``, the default) or a
    :class:`MaskedBatchNorm` over the channels (``norm="batch"``, FCN style). ``channels``
    and ``kernel`` are one value for every layer or a list with one per layer (e.g. the
    FCN's ``[128, 256, 128]`` and ``[7, 5, 3]``); C is the last layer's channels.

    Padded steps are zeroed before every layer, so a padded batch gives each sequence
    exactly what it would give alone (the convolution's own zero padding looks the same as
    batch padding; batch statistics skip padded steps). The window is centred: not causal.
    """

    def __init__(self, input_size: int, channels: int | Sequence[int],
                 kernel: int | Sequence[int] = 5, layers: int = 1, dropout: float = 0.0,
                 norm: ConvNorm = "layer") -> None:
        super().__init__()
        if layers < 1:
            raise ConfigError(f"conv layers must be >= 1, got layers={layers}")
        widths = _per_layer(channels, layers, "channels")
        kernels = _per_layer(kernel, layers, "kernel")
        if min(widths) < 1:
            raise ConfigError(f"conv channels and layers must be >= 1, got channels={channels}, "
                              f"layers={layers}")
        if any(k < 1 or k % 2 == 0 for k in kernels):
            raise ConfigError(f"conv kernel must be an odd number >= 1, got {kernel}")
        if norm not in _CONV_NORMS:
            raise ConfigError(f"unknown conv norm {norm!r}; choose one of "
                              f"{', '.join(_CONV_NORMS)}")
        ins = [input_size, *widths[:-1]]
        self.convs = nn.ModuleList(nn.Conv1d(i, c, k, padding=k // 2)
                                   for i, c, k in zip(ins, widths, kernels, strict=True))
        self.norms = nn.ModuleList(nn.LayerNorm(c) if norm == "layer" else MaskedBatchNorm(c)
                                   for c in widths)
        self.norm = norm
        self.drop = nn.Dropout(dropout)
        self.out_dim = widths[-1]

    def forward(self, x: Tensor, mask: Tensor | None = None) -> Tensor:
        """``x [B, T, F]``, ``mask [B, T]`` bool (True = valid) → ``[B, T, C]``, 0 at padding."""
        for conv, norm in zip(self.convs, self.norms, strict=True):
            if mask is not None:
                x = x.masked_fill(~mask[..., None], 0.0)
            h = conv(x.transpose(1, 2)).transpose(1, 2)
            h = norm(h, mask) if isinstance(norm, MaskedBatchNorm) else norm(h)
            x = self.drop(nn.functional.gelu(h))
        return x if mask is None else x.masked_fill(~mask[..., None], 0.0)


class AttentionPool(nn.Module):
    """Masked additive attention over time: ``[B, T, D]`` → ``[B, D]``, a softmax-weighted
    sum of the valid steps (padded steps get weight 0)."""

    def __init__(self, dim: int, hidden: int = 64) -> None:
        super().__init__()
        self.score = nn.Sequential(nn.Linear(dim, hidden), nn.Tanh(), nn.Linear(hidden, 1))

    def forward(self, out: Tensor, mask: Tensor | None = None) -> Tensor:
        s = self.score(out).squeeze(-1)  # [B, T]
        if mask is not None:
            s = s.masked_fill(~mask, float("-inf"))
        w = torch.softmax(s, dim=1)
        return (w[..., None] * out).sum(dim=1)


def _cpu_low_precision(x: Tensor) -> bool:
    """True for a CPU batch that is (or will be autocast to) less than float32."""
    return x.device.type == "cpu" and (x.dtype != torch.float32
                                       or torch.is_autocast_enabled("cpu"))


class SequenceEncoder(nn.Module):
    """Encodes ``x [B, T, F]`` with ``lengths [B]`` into per-step outputs and a summary.

    Padded steps never influence the result: each sequence is read exactly as it would be
    alone (a bidirectional batch is packed; a one-directional one never reaches its
    padding, which follows each sequence's last step). The summary (many-to-one) is the
    state after the last *valid* step (both directions when bidirectional), a masked
    mean/max or a masked attention-weighted sum over the valid steps.

    ``conv_channels > 0`` (or a list of per-layer channels) puts a :class:`TemporalConv`
    front end (``conv_layers`` layers of width ``conv_kernel``, normalised by ``conv_norm``:
    ``layer`` or ``batch``) before the recurrent layers; it is not causal, so streaming
    steps are then unavailable. ``conv_pool > 1`` max-pools its output over windows of that
    many steps (a sequence of ``L`` valid steps keeps ``ceil(L / conv_pool)``), so the
    recurrent layers read long sequences in fewer steps.
    """

    def __init__(self, input_size: int, hidden: int = 128, layers: int = 1, cell: Cell = "lstm",
                 bidirectional: bool = False, dropout: float = 0.0,
                 pooling: Pooling = "last", conv_channels: int | Sequence[int] = 0,
                 conv_kernel: int | Sequence[int] = 5, conv_layers: int = 1,
                 conv_norm: ConvNorm = "layer", conv_pool: int = 1) -> None:
        super().__init__()
        if pooling not in _POOLINGS:
            raise ConfigError(f"unknown pooling {pooling!r}; choose one of {', '.join(_POOLINGS)}")
        self.cell, self.pooling = cell, pooling
        has_conv = (conv_channels > 0 if isinstance(conv_channels, int)
                    else len(conv_channels) > 0)
        self.conv = (TemporalConv(input_size, conv_channels, conv_kernel, conv_layers, dropout,
                                  conv_norm) if has_conv else None)
        if int(conv_pool) < 1 or (int(conv_pool) > 1 and self.conv is None):
            raise ConfigError(f"conv_pool must be >= 1 and needs a conv front end "
                              f"(conv_channels > 0), got conv_pool={conv_pool}")
        self.conv_pool = int(conv_pool)
        rnn_in = self.conv.out_dim if self.conv is not None else input_size
        self.rnn = make_rnn(cell, rnn_in, hidden, layers, bidirectional, dropout)
        self.out_dim = hidden * (2 if bidirectional else 1)
        self.attention = AttentionPool(self.out_dim) if pooling == "attention" else None

    def forward(self, x: Tensor, lengths: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """Returns ``(outputs [B, T', D], summary [B, D])``, D = hidden × directions,
        ``T' = ceil(T / conv_pool)``.

        Outputs at padded steps are 0.
        """
        b, t, _ = x.shape
        mask = None
        if lengths is not None:
            if lengths.min() < 1:
                raise ValueError("every sequence needs at least one step (a length of 0 was given)")
            mask = torch.arange(t, device=x.device)[None, :] < lengths.to(x.device)[:, None]
        if self.conv is not None:
            x = self.conv(x, mask)
        if self.conv_pool > 1:
            x, lengths, mask = self._pool(x, lengths, mask)
            t = x.shape[1]
        last = None
        if lengths is None:
            out, state = self.rnn(x)
        elif not self.rnn.bidirectional and not _cpu_low_precision(x):
            # Padding sits after each sequence's last valid step, so a one-directional
            # network's valid outputs never see it: the same outputs as packing, from the
            # fused kernel over the padded batch (forward and backward several times faster
            # on a CPU than packed sequences; oneDNN has no such kernel in bfloat16).
            out, state = self.rnn(x)
            out = out.masked_fill(~mask[..., None], 0.0)
            if self.pooling == "last":
                last = out[torch.arange(b, device=out.device), lengths.to(out.device) - 1]
        else:
            packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
            out, state = self.rnn(packed)
            out, _ = pad_packed_sequence(out, batch_first=True, total_length=t)
        if self.pooling == "last":
            h = state[0] if isinstance(state, tuple) else state  # [layers*dirs, B, H]
            if last is not None:  # the top layer's output at the last valid step
                summary = last
            elif self.rnn.bidirectional:
                summary = torch.cat([h[-2], h[-1]], dim=-1)
            else:
                summary = h[-1]
        elif self.pooling == "mean":
            if mask is None:
                summary = out.mean(dim=1)
            else:
                m = mask[..., None].to(out.dtype)
                summary = (out * m).sum(1) / m.sum(1)
        elif self.pooling == "max":
            filled = out if mask is None else out.masked_fill(~mask[..., None], float("-inf"))
            summary = filled.max(dim=1).values
        else:
            assert self.attention is not None
            summary = self.attention(out, mask)
        return out, summary

    def _pool(self, x: Tensor, lengths: Tensor | None, mask: Tensor | None
              ) -> tuple[Tensor, Tensor | None, Tensor | None]:
        """Max over windows of ``conv_pool`` steps; padded steps never win a window."""
        k = self.conv_pool
        if mask is not None:
            x = x.masked_fill(~mask[..., None], float("-inf"))
        pooled = nn.functional.max_pool1d(x.transpose(1, 2), k, k, ceil_mode=True)
        x = pooled.transpose(1, 2)
        if lengths is None:
            return x, None, None
        lengths = torch.div(lengths + k - 1, k, rounding_mode="floor")
        mask = torch.arange(x.shape[1], device=x.device)[None, :] < lengths.to(x.device)[:, None]
        return x.masked_fill(~mask[..., None], 0.0), lengths, mask

    def step(self, x_t: Tensor, state: Tensor | tuple[Tensor, Tensor] | None = None
             ) -> tuple[Tensor, Tensor | tuple[Tensor, Tensor]]:
        """One time step for streaming: ``x_t [B, F]`` → ``(summary [B, D], new state)``.

        Only for unidirectional ``last`` pooling, where carrying the state over frames gives
        exactly the summary of the whole sequence so far.
        """
        if self.rnn.bidirectional or self.pooling != "last" or self.conv is not None:
            raise ConfigError("streaming steps need a unidirectional encoder with pooling=last "
                              "and no conv front end")
        out, state = self.rnn(x_t[:, None, :], state)
        return out[:, 0], state
