"""The joint forecaster in ONNX Runtime: the live view's joint paths over a 200-frame stream
equal PyTorch's (within 1e-5 of the picture), for both decoders and cells."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from motionseq.errors import MotionseqError
from motionseq.live.joints import JointPaths
from motionseq.modules.forecaster import TrajectoryForecaster
from tests.test_joint_paths import _walker

pytest.importorskip("onnxruntime")


def _model(decoder: str, cell: str) -> TrajectoryForecaster:
    torch.manual_seed(0)
    m = TrajectoryForecaster(15, 20, 1 / 30, decoder=decoder, cell=cell, hidden=16)
    m.set_normalizer(0.05)
    return m.eval()


@pytest.mark.parametrize("decoder,cell", [("direct", "lstm"), ("recurrent", "lstm"),
                                          ("recurrent", "gru")])
def test_onnx_joint_paths_equal_pytorch_over_a_stream(tmp_path, decoder, cell):
    from motionseq.live.export_joints import OnnxJointForecaster, export_joint_forecaster

    model = _model(decoder, cell)
    path = export_joint_forecaster(model, tmp_path / "joints.onnx")
    onnx = OnnxJointForecaster(path, dict(model.hparams))
    seq = _walker(frames=200)
    rng = np.random.default_rng(0)
    kp = seq.keypoints / np.array([640.0, 480.0], np.float32)
    kp = kp + rng.normal(0.0, 0.002, kp.shape).astype(np.float32)  # pose jitter
    vis = seq.visibility.copy()
    vis[90:95, :] = 0.0  # the person lost for a moment: the paths restart
    names = ["left_wrist", "right_ankle"]
    a = JointPaths(names, "penn13", fps=30.0, min_visibility=0.5, model=model)
    b = JointPaths(names, "penn13", fps=30.0, min_visibility=0.5, model=onnx)
    drawn = 0
    for k, v in zip(kp, vis, strict=True):
        pa, pb = a.push(k, v, aspect=640 / 480), b.push(k, v, aspect=640 / 480)
        assert pa.keys() == pb.keys()
        for name in pa:
            np.testing.assert_allclose(pb[name], pa[name], atol=1e-5)
        drawn += bool(pa)
    assert 150 < drawn < 200  # paths drawn once 15 frames are seen, and not while lost


def test_export_refuses_a_graph_that_disagrees(tmp_path, monkeypatch):
    """The file is written only after ONNX Runtime agrees with PyTorch."""
    import motionseq.live.export_joints as ej

    model = _model("direct", "lstm")
    monkeypatch.setattr(ej, "TOLERANCE", -1.0)  # nothing can agree
    with pytest.raises(MotionseqError, match="differs from PyTorch"):
        ej.export_joint_forecaster(model, tmp_path / "joints.onnx")
    assert not list(tmp_path.iterdir())
