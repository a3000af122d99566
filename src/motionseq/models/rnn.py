"""Recurrent sequence encoder over padded, variable-length batches."""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from motionseq.errors import ConfigError

Cell = Literal["rnn", "lstm", "gru"]
Pooling = Literal["last", "mean", "max"]
_CELLS = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}


def make_rnn(cell: str, input_size: int, hidden: int, layers: int = 1,
             bidirectional: bool = False, dropout: float = 0.0) -> nn.RNNBase:
    """A batch-first ``nn.RNN`` (tanh), ``nn.LSTM`` or ``nn.GRU``."""
    if cell not in _CELLS:
        raise ConfigError(f"unknown cell {cell!r}; choose one of {', '.join(_CELLS)}")
    if hidden < 1 or layers < 1:
        raise ConfigError(f"hidden and layers must be >= 1, got hidden={hidden}, layers={layers}")
    return _CELLS[cell](input_size, hidden, num_layers=layers, batch_first=True,
                        bidirectional=bidirectional, dropout=dropout if layers > 1 else 0.0)


class SequenceEncoder(nn.Module):
    """Encodes ``x [B, T, F]`` with ``lengths [B]`` into per-step outputs and a summary.

    Padded steps never influence the result: the batch is packed, so each sequence is
    read exactly as it would be alone. The summary (many-to-one) is the state after the
    last *valid* step (both directions when bidirectional) or a masked mean/max.
    """

    def __init__(self, input_size: int, hidden: int = 128, layers: int = 1, cell: Cell = "lstm",
                 bidirectional: bool = False, dropout: float = 0.0,
                 pooling: Pooling = "last") -> None:
        super().__init__()
        if pooling not in ("last", "mean", "max"):
            raise ConfigError(f"unknown pooling {pooling!r}; choose last, mean or max")
        self.cell, self.pooling = cell, pooling
        self.rnn = make_rnn(cell, input_size, hidden, layers, bidirectional, dropout)
        self.out_dim = hidden * (2 if bidirectional else 1)

    def forward(self, x: Tensor, lengths: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """Returns ``(outputs [B, T, D], summary [B, D])``, D = hidden × directions.

        Outputs at padded steps are 0.
        """
        b, t, _ = x.shape
        if lengths is None:
            out, state = self.rnn(x)
            mask = None
        else:
            if lengths.min() < 1:
                raise ValueError("every sequence needs at least one step (a length of 0 was given)")
            packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
            out, state = self.rnn(packed)
            out, _ = pad_packed_sequence(out, batch_first=True, total_length=t)
            mask = torch.arange(t, device=x.device)[None, :] < lengths.to(x.device)[:, None]
        if self.pooling == "last":
            h = state[0] if isinstance(state, tuple) else state  # [layers*dirs, B, H]
            if self.rnn.bidirectional:
                summary = torch.cat([h[-2], h[-1]], dim=-1)
            else:
                summary = h[-1]
        elif self.pooling == "mean":
            if mask is None:
                summary = out.mean(dim=1)
            else:
                m = mask[..., None].to(out.dtype)
                summary = (out * m).sum(1) / m.sum(1)
        else:
            filled = out if mask is None else out.masked_fill(~mask[..., None], float("-inf"))
            summary = filled.max(dim=1).values
        return out, summary

    def step(self, x_t: Tensor, state: Tensor | tuple[Tensor, Tensor] | None = None
             ) -> tuple[Tensor, Tensor | tuple[Tensor, Tensor]]:
        """One time step for streaming: ``x_t [B, F]`` → ``(summary [B, D], new state)``.

        Only for unidirectional ``last`` pooling, where carrying the state over frames gives
        exactly the summary of the whole sequence so far.
        """
        if self.rnn.bidirectional or self.pooling != "last":
            raise ConfigError("streaming steps need a unidirectional encoder with pooling=last")
        out, state = self.rnn(x_t[:, None, :], state)
        return out[:, 0], state
