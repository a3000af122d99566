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

from collections.abc import Callable

import numpy as np
import torch
from torch import Tensor, nn
from torch.nn import functional as F

from motionseq.errors import ConfigError
from motionseq.models.rnn import SequenceEncoder

__all__ = ["StepEncoder", "plain_head", "step_unavailable"]


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
        # detached views of the weights (in-place training updates are still seen): no
        # autograd bookkeeping per step, so no grad-mode context is needed either
        self.weights = [tuple(None if w is None else w.detach() for w in
                              (getattr(rnn, f"{name}_l{k}", None) for name in
                               ("weight_ih", "weight_hh", "bias_ih", "bias_hh")))
                        for k in range(self.layers)]
        self.score = encoder.attention.score if self.pooling == "attention" else None
        self.reset()

    def reset(self, slot: int | None = None) -> None:
        """Forget the state of one slot (all when None)."""
        if slot is None:
            shape = (self.slots, self.hidden)
            self.h = [torch.zeros(shape) for _ in range(self.layers)]
            self.c = [torch.zeros(shape) for _ in range(self.layers)] \
                if self.kind == "lstm" else None
            self.count = torch.zeros(self.slots, 1)
            self.acc = torch.zeros(self.slots, self.hidden)
            self.best = torch.full((self.slots,), -torch.inf)  # attention: max score
            self.norm = torch.zeros(self.slots)  # attention: softmax normaliser
            return
        for k in range(self.layers):
            self.h[k][slot] = 0.0
            if self.c is not None:
                self.c[k][slot] = 0.0
        self.count[slot] = 0.0
        self.acc[slot] = 0.0
        self.best[slot] = -torch.inf
        self.norm[slot] = 0.0

    def step(self, x: Tensor | np.ndarray) -> Tensor:
        """Advance every slot by one frame ``x [F]`` (already normalised); returns the
        summaries ``[slots, hidden]``, what the encoder gives for each slot's frames so
        far."""
        if isinstance(x, np.ndarray):  # from_numpy shares the memory: cheaper than a copy
            x = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
        inp = x.to(torch.float32).reshape(-1).expand(self.slots, -1)
        for k, (w_ih, w_hh, b_ih, b_hh) in enumerate(self.weights):
            if self.c is not None:
                h, self.c[k] = self.cell(inp, (self.h[k], self.c[k]), w_ih, w_hh, b_ih, b_hh)
            else:
                h = self.cell(inp, self.h[k], w_ih, w_hh, b_ih, b_hh)
            self.h[k] = inp = h
        out = inp  # [S, H], the top layer's output
        self.count += 1.0
        if self.pooling == "last":
            return out.clone()
        if self.pooling == "mean":
            self.acc += out
            return self.acc / self.count
        if self.pooling == "max":
            self.acc = torch.where(self.count == 1.0, out, torch.maximum(self.acc, out))
            return self.acc.clone()
        with torch.no_grad():  # the scoring layers are modules with parameters
            s = self.score(out)[:, 0]  # [S]
        best = torch.maximum(self.best, s)
        old = torch.exp(self.best - best)  # 0 for a fresh slot (best = -inf)
        new = torch.exp(s - best)
        self.acc = self.acc * old[:, None] + new[:, None] * out
        self.norm = self.norm * old + new
        self.best = best
        return self.acc / self.norm[:, None]


def plain_head(head: nn.Module) -> Callable[[Tensor], Tensor]:
    """``head`` in evaluation as plain functions of detached weights, when it is a stack of
    ``Linear``, ``GELU``, ``ReLU``, ``Dropout`` and ``Identity`` layers (a
    :class:`~motionseq.models.heads.ClassificationHead`): the same logits without the
    per-call module and grad-mode overhead, which costs more than the arithmetic for one
    frame. Any other head is called as it is, without gradients."""
    leaves = [m for m in head.modules() if not any(True for _ in m.children())]
    ops: list[Callable[[Tensor], Tensor]] = []
    for m in leaves:
        if isinstance(m, nn.Linear):
            w, b = m.weight.detach(), None if m.bias is None else m.bias.detach()
            ops.append(lambda z, w=w, b=b: F.linear(z, w, b))
        elif isinstance(m, nn.GELU):
            ops.append(lambda z, a=m.approximate: F.gelu(z, approximate=a))
        elif isinstance(m, nn.ReLU):
            ops.append(F.relu)
        elif not isinstance(m, (nn.Dropout, nn.Identity)):
            def called(z: Tensor) -> Tensor:
                with torch.inference_mode():
                    return head(z)
            return called

    def run(z: Tensor) -> Tensor:
        for op in ops:
            z = op(z)
        return z
    return run
