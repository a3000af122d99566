"""The joint-path forecaster in ONNX Runtime, for ``runtime=onnx`` in the live view.

The joint forecaster (``experiment=forecast_joints``, a
:class:`~motionseq.modules.forecaster.TrajectoryForecaster`) is a window model: every frame
it reads each joint's last ``obs_len`` positions on its time grid afresh and forecasts
``pred_len`` steps, so it carries no state between frames and exports as one graph:
``obs [B, obs_len, 2]`` (body units) → ``positions [B, pred_len, 2]``, the training scale in
the graph, the batch axis dynamic. :func:`export_joint_forecaster` writes it and checks it
against PyTorch; :class:`OnnxJointForecaster` runs it where
:class:`~motionseq.live.joints.JointPaths` runs the PyTorch model (same call, same
``hparams``).
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from motionseq.errors import MotionseqError

__all__ = ["export_joint_forecaster", "OnnxJointForecaster"]

DEFAULT_OPSET = 17
TOLERANCE = 1e-4


class _Positions(nn.Module):
    """The forecaster's positions alone (what the live view draws)."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, obs: Tensor) -> Tensor:
        return self.model(obs)


def example_paths(batch: int, obs_len: int, seed: int = 0) -> Tensor:
    """Random walks ``[batch, obs_len, 2]`` in body units, some fast and some still."""
    g = torch.Generator().manual_seed(seed)
    steps = torch.randn(batch, obs_len, 2, generator=g) * 0.05
    steps[0] = 0.0  # a joint that does not move
    return steps.cumsum(dim=1)


def export_joint_forecaster(model: nn.Module, path: str | Path, opset: int = DEFAULT_OPSET
                            ) -> Path:
    """Write ``model`` (a trajectory forecaster in eval mode) to ``path`` as ONNX and check
    it against PyTorch on paths of another batch size; the file appears only when it agrees.

    Raises:
        MotionseqError: ONNX Runtime's forecasts differ from PyTorch's by more than
            ``TOLERANCE`` (body units).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    obs_len = int(model.hparams["obs_len"])
    graph = _Positions(model).eval()
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")  # the TorchScript exporter's notices
            torch.onnx.export(graph, (example_paths(3, obs_len),), str(tmp), dynamo=False,
                              input_names=["obs"], output_names=["positions"],
                              opset_version=opset,
                              dynamic_axes={"obs": {0: "batch"}, "positions": {0: "batch"}})
        check = example_paths(5, obs_len, seed=1)
        with torch.inference_mode():
            ref = model(check).numpy()
        got = OnnxJointForecaster(tmp, dict(model.hparams))(check).numpy()
        diff = float(np.abs(got - ref).max())
        if not diff <= TOLERANCE:
            raise MotionseqError(f"the exported joint forecaster differs from PyTorch by "
                                 f"{diff:.3g} (> {TOLERANCE:g}); please report this")
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


class OnnxJointForecaster:
    """An exported joint forecaster in ONNX Runtime, called like the PyTorch module:
    ``obs [B, obs_len, 2]`` (tensor or array) → positions ``[B, pred_len, 2]`` (tensor).

    Args:
        path: the ``.onnx`` file of :func:`export_joint_forecaster`.
        hparams: the checkpoint's hyper-parameters (``obs_len``, ``pred_len``, ``dt``).
        threads: intra-op threads (1 keeps it off the cores MediaPipe and drawing use).
    """

    def __init__(self, path: str | Path, hparams: dict[str, Any], threads: int = 1) -> None:
        from motionseq.live.export import cpu_session

        self.path = Path(path)
        self.hparams = hparams
        self.session = cpu_session(path, threads)

    def __call__(self, obs: Tensor | np.ndarray) -> Tensor:
        x = obs.numpy() if isinstance(obs, Tensor) else obs
        (pos,) = self.session.run(["positions"], {"obs": np.ascontiguousarray(x, np.float32)})
        return torch.from_numpy(pos)
