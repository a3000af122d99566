"""The classifier's one-frame step as an ONNX model with its state as inputs and outputs, so
the live view steps it frame by frame in ONNX Runtime (``runtime=onnx``) exactly as it
steps the PyTorch model (:class:`~motionseq.live.step.StepEncoder`).

The graph: ``(x [S, F] normalised features of the frame, one row per state slot, h, c
[layers, S, H], acc [S, H], count [S, 1], best [S], norm [S]) -> (probabilities [S, C],
and the next h, c, acc, count, best, norm)``. The cells are written out as matrix products
(LSTM, GRU, tanh RNN as PyTorch defines them), and the pooling keeps the running form
:class:`StepEncoder` keeps (``last``, ``mean``, ``max``, online-softmax ``attention``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn

from motionseq.errors import ConfigError
from motionseq.live.step import step_unavailable

STEP_INPUTS = ("x", "h", "c", "acc", "count", "best", "norm")
STEP_OUTPUTS = ("probabilities", "h_next", "c_next", "acc_next", "count_next", "best_next",
                "norm_next")


def step_model_path(model_path: str | Path) -> Path:
    """Where the step model of an exported ``model.onnx`` lives: ``model.step.onnx``."""
    p = Path(model_path)
    return p.with_name(p.stem + ".step.onnx")


class ExportableStep(nn.Module):
    """One frame of a trained classifier with explicit state (see the module doc)."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        enc = model.encoder
        why = step_unavailable(enc)
        if why is not None:
            raise ConfigError(f"this classifier has no one-frame step: {why}")
        rnn = enc.rnn
        self.kind = {nn.LSTM: "lstm", nn.GRU: "gru", nn.RNN: "rnn"}[type(rnn)]
        self.pooling = enc.pooling
        self.layers = rnn.num_layers
        self.rnn = rnn
        self.score = enc.attention.score if self.pooling == "attention" else None
        self.head = model.head

    def _cell(self, k: int, x: Tensor, h: Tensor, c: Tensor) -> tuple[Tensor, Tensor]:
        w_ih, w_hh = getattr(self.rnn, f"weight_ih_l{k}"), getattr(self.rnn, f"weight_hh_l{k}")
        b_ih, b_hh = getattr(self.rnn, f"bias_ih_l{k}"), getattr(self.rnn, f"bias_hh_l{k}")
        gi = x @ w_ih.T + b_ih
        gh = h @ w_hh.T + b_hh
        if self.kind == "lstm":
            i, f, g, o = (gi + gh).chunk(4, dim=-1)
            c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
            return torch.sigmoid(o) * torch.tanh(c), c
        if self.kind == "gru":
            ir, iz, inn = gi.chunk(3, dim=-1)
            hr, hz, hn = gh.chunk(3, dim=-1)
            r, z = torch.sigmoid(ir + hr), torch.sigmoid(iz + hz)
            n = torch.tanh(inn + r * hn)
            return (1 - z) * n + z * h, c
        return torch.tanh(gi + gh), c

    def forward(self, x: Tensor, h: Tensor, c: Tensor, acc: Tensor, count: Tensor,
                best: Tensor, norm: Tensor) -> tuple[Tensor, ...]:
        inp, hs, cs = x, [], []
        for k in range(self.layers):
            hk, ck = self._cell(k, inp, h[k], c[k])
            hs.append(hk)
            cs.append(ck)
            inp = hk
        out = hs[-1]
        count = count + 1.0
        if self.pooling == "last":
            summary = out
        elif self.pooling == "mean":
            acc = acc + out
            summary = acc / count
        elif self.pooling == "max":
            acc = torch.where(count == 1.0, out, torch.maximum(acc, out))
            summary = acc
        else:
            s = self.score(out)[:, 0]
            new_best = torch.maximum(best, s)
            old = torch.exp(best - new_best)
            new = torch.exp(s - new_best)
            acc = acc * old[:, None] + new[:, None] * out
            norm = norm * old + new
            best = new_best
            summary = acc / norm[:, None]
        probs = torch.softmax(self.head(summary), dim=-1)
        return probs, torch.stack(hs), torch.stack(cs), acc, count, best, norm


def export_step(model: nn.Module, path: Path, opset: int, slots: int = 2) -> Path:
    """Write the step model of ``model`` to ``path`` (ONNX; dynamic slot count)."""
    import warnings

    graph = ExportableStep(model).eval()
    rnn = model.encoder.rnn
    layers, hidden, f = rnn.num_layers, rnn.hidden_size, model.hparams["input_size"]
    args = (torch.randn(slots, f), torch.zeros(layers, slots, hidden),
            torch.zeros(layers, slots, hidden), torch.zeros(slots, hidden),
            torch.zeros(slots, 1), torch.full((slots,), -1e30), torch.zeros(slots))
    slot_axes = {"x": {0: "slots"}, "h": {1: "slots"}, "c": {1: "slots"}, "acc": {0: "slots"},
                 "count": {0: "slots"}, "best": {0: "slots"}, "norm": {0: "slots"}}
    slot_axes.update({f"{k}_next" if k != "x" else "probabilities": v
                      for k, v in slot_axes.items()})
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(graph, args, str(path), dynamo=False,
                          input_names=list(STEP_INPUTS), output_names=list(STEP_OUTPUTS),
                          opset_version=opset, dynamic_axes=slot_axes)
    return path


class OnnxStepCell:
    """Steps the exported step model in ONNX Runtime with ``slots`` states: the interface of
    :class:`~motionseq.live.step.StepEncoder`, except that :meth:`step` returns the class
    probabilities of every slot (the head runs in the graph)."""

    returns_probabilities = True

    def __init__(self, path: str | Path, layers: int, hidden: int, slots: int = 1,
                 threads: int = 1) -> None:
        from motionseq.live.export import cpu_session

        self.session = cpu_session(path, threads)
        self.layers, self.hidden, self.slots = int(layers), int(hidden), int(slots)
        self.reset()

    def reset(self, slot: int | None = None) -> None:
        """Forget the state of one slot (all when None)."""
        if slot is None:
            s = self.slots
            self.state = {"h": np.zeros((self.layers, s, self.hidden), np.float32),
                          "c": np.zeros((self.layers, s, self.hidden), np.float32),
                          "acc": np.zeros((s, self.hidden), np.float32),
                          "count": np.zeros((s, 1), np.float32),
                          # a large negative number stands for -inf (a fresh softmax)
                          "best": np.full((s,), -1e30, np.float32),
                          "norm": np.zeros((s,), np.float32)}
            return
        for key, value in self.state.items():
            if key in ("h", "c"):
                value[:, slot] = 0.0
            else:
                value[slot] = -1e30 if key == "best" else 0.0

    def step(self, x: np.ndarray) -> np.ndarray:
        """Advance every slot by one frame ``x [F]`` (normalised); returns the probabilities
        ``[slots, C]``."""
        row = np.asarray(x, np.float32).reshape(1, -1)
        feeds = {"x": np.repeat(row, self.slots, axis=0), **self.state}
        probs, *nxt = self.session.run(list(STEP_OUTPUTS), feeds)
        self.state = dict(zip(STEP_INPUTS[1:], nxt, strict=True))
        return probs
