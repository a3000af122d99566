"""One-frame steps of a trained recurrent encoder, for streaming.

:class:`StepEncoder` reads the weights of a :class:`~motionseq.models.rnn.SequenceEncoder`
(its ``nn.RNN`` / ``nn.LSTM`` / ``nn.GRU`` and, for attention pooling, the scoring layers)
and advances any number of independent states by one frame per call with PyTorch's
single-step cell functions (``torch.lstm_cell`` ...: one fused call per layer, several
times cheaper per frame than calling the ``nn.LSTM`` on a one-frame sequence). Each
state carries what its pooling needs to give, after ``t`` steps, the summary the encoder
gives for those ``t`` frames read at once:

- ``last``: the top layer's hidden state;
- ``mean``: a running sum of the outputs and their count;
- ``max``: a running maximum;
- ``attention``: an online softmax (running maximum score, weighted sum and normaliser).

A bidirectional encoder or one with a (non-causal) convolution front end has no such
step: :func:`step_unavailable` says why, and the caller falls back to windows.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor, nn

from motionseq.errors import ConfigError
from motionseq.models.rnn import SequenceEncoder

__all__ = ["StepEncoder", "step_unavailable"]


def step_unavailable(encoder: SequenceEncoder) -> str | None:
    """Why ``encoder`` cannot be stepped one frame at a time (None when it can)."""
    if encoder.rnn.bidirectional:
        return "the encoder is bidirectional (each step depends on later frames)"
    if getattr(encoder, "conv", None) is not None:
        return "the encoder has a temporal convolution front end (not causal)"
    if encoder.pooling not in ("last", "mean", "max", "attention"):
        return f"pooling {encoder.pooling!r} has no running form"
    rnn = encoder.rnn
    if getattr(rnn, "proj_size", 0):
        return "LSTM projections are not supported in streaming steps"
    if isinstance(rnn, nn.RNN) and rnn.nonlinearity != "tanh":
        return f"RNN nonlinearity {rnn.nonlinearity!r} is not supported in streaming steps"
    return None


class StepEncoder:
    """Steps ``slots`` independent states of a trained encoder, one frame per call.

    Args:
        encoder: the trained encoder (read, not modified; later changes to its weights
            are seen).
        slots: independent states advanced together (they share the input frame).

    Raises:
        ConfigError: the encoder cannot be stepped (see :func:`step_unavailable`).
    """

    def __init__(self, encoder: SequenceEncoder, slots: int = 1) -> None:
        why = step_unavailable(encoder)
        if why is not None:
            raise ConfigError(f"carried-state streaming is impossible: {why}")
        rnn = encoder.rnn
        self.kind = {nn.LSTM: "lstm", nn.GRU: "gru", nn.RNN: "rnn"}[type(rnn)]
        self.cell = {"lstm": torch.lstm_cell, "gru": torch.gru_cell,
                     "rnn": torch.rnn_tanh_cell}[self.kind]
        self.pooling = encoder.pooling
        self.layers, self.hidden, self.slots = rnn.num_layers, rnn.hidden_size, int(slots)
        self.weights = [tuple(getattr(rnn, f"{name}_l{k}", None) for name in
                              ("weight_ih", "weight_hh", "bias_ih", "bias_hh"))
                        for k in range(self.layers)]
        self.score = encoder.attention.score if self.pooling == "attention" else None
        self.reset()

    @torch.inference_mode()
    def reset(self, slot: int | None = None) -> None:
        """Forget the state of one slot (all when None)."""
        if slot is None:
            shape = (self.layers, self.slots, self.hidden)
            self.h = torch.zeros(shape)
            self.c = torch.zeros(shape) if self.kind == "lstm" else None
            self.count = torch.zeros(self.slots, 1)
            self.acc = torch.zeros(self.slots, self.hidden)
            self.best = torch.full((self.slots,), -torch.inf)  # attention: max score
            self.norm = torch.zeros(self.slots)  # attention: softmax normaliser
            return
        self.h[:, slot] = 0.0
        if self.c is not None:
            self.c[:, slot] = 0.0
        self.count[slot] = 0.0
        self.acc[slot] = 0.0
        self.best[slot] = -torch.inf
        self.norm[slot] = 0.0

    @torch.inference_mode()
    def step(self, x: Tensor | np.ndarray) -> Tensor:
        """Advance every slot by one frame ``x [F]`` (already normalised); returns the
        summaries ``[slots, hidden]``, what the encoder gives for each slot's frames so
        far."""
        inp = torch.as_tensor(x, dtype=torch.float32).reshape(1, -1).expand(self.slots, -1)
        for k, (w_ih, w_hh, b_ih, b_hh) in enumerate(self.weights):
            if self.kind == "lstm":
                h, c = self.cell(inp, (self.h[k], self.c[k]), w_ih, w_hh, b_ih, b_hh)
                self.c[k] = c
            else:
                h = self.cell(inp, self.h[k], w_ih, w_hh, b_ih, b_hh)
            self.h[k] = h
            inp = h
        out = self.h[-1]  # [S, H]
        self.count += 1.0
        if self.pooling == "last":
            return out.clone()
        if self.pooling == "mean":
            self.acc += out
            return self.acc / self.count
        if self.pooling == "max":
            self.acc = torch.where(self.count == 1.0, out, torch.maximum(self.acc, out))
            return self.acc.clone()
        s = self.score(out)[:, 0]  # [S]
        best = torch.maximum(self.best, s)
        old = torch.exp(self.best - best)  # 0 for a fresh slot (best = -inf)
        new = torch.exp(s - best)
        self.acc = self.acc * old[:, None] + new[:, None] * out
        self.norm = self.norm * old + new
        self.best = best
        return self.acc / self.norm[:, None]
