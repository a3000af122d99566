"""The classifier's one-frame step exported to ONNX with its state as inputs and outputs:
stepped in ONNX Runtime through the live predictor, it gives the PyTorch stream's
probabilities (within 1e-5) frame by frame."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from motionseq.data.features import PoseFeatures
from motionseq.live.stream import StreamPredictor
from motionseq.modules.classifier import ActionClassifier

pytest.importorskip("onnxruntime")


@pytest.mark.parametrize("cell,pooling,layers", [("lstm", "mean", 1), ("gru", "attention", 2),
                                                 ("rnn", "last", 1), ("lstm", "max", 2)])
def test_onnx_step_equals_the_pytorch_stream(tmp_path, cell, pooling, layers):
    from motionseq.live.export_step import OnnxStepCell, export_step

    feats = PoseFeatures(layout="penn13")
    torch.manual_seed(0)
    model = ActionClassifier(feats.dim, ["a", "b", "c"], features=feats.to_dict(), cell=cell,
                             hidden=16, layers=layers, pooling=pooling).eval()
    model.set_normalizer(np.zeros(feats.dim, np.float32), np.ones(feats.dim, np.float32))
    path = export_step(model, tmp_path / "m.step.onnx", opset=17)
    rng = np.random.default_rng(1)
    frames = 200
    kp = (0.5 + 0.1 * rng.standard_normal((frames, 13, 2))).astype(np.float32)
    kp[rng.random((frames, 13)) < 0.05] = np.nan  # some unknown joints
    vis = np.isfinite(kp).all(axis=-1).astype(np.float32)
    common = dict(source_layout="penn13", fps=30.0, window=60, mode="carried")
    ref = StreamPredictor(model, **common)
    onnx = StreamPredictor(model, step_runner=lambda slots: OnnxStepCell(
        path, layers, 16, slots), **common)
    assert ref.mode == onnx.mode == "carried"
    worst = 0.0
    for t in range(frames):
        a, b = ref.push(kp[t], vis[t]), onnx.push(kp[t], vis[t])
        if a.raw is not None:
            worst = max(worst, float(np.abs(a.raw - b.raw).max()))
    assert worst < 1e-5, worst
