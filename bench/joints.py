"""Joint paths: ``make train ARGS="experiment=forecast_joints"`` on Penn Action, next to
the simple predictors on the same test windows, and the live view's cost per frame.

Data: Penn Action's official split (train clips minus a held-out 15% for validation; test
1068 clips), wrists and ankles, observe 15 frames (0.5 s), predict 20 (0.67 s), body units
(torso lengths; see ``motionseq.data.joint_paths``). Needs ``$MOTIONSEQ_PENN_ACTION``,
else ``../shared/data/penn_action``.

- ``joints_test_ade`` / ``_fde``: the experiment run as a user runs it (``scripts/train.py``
  in a fresh process), test metrics of the best validation checkpoint.
- ``joints_cv_ade`` / ``_fde``: constant velocity; ``joints_still_ade`` / ``_fde``: the joint
  stays where it is; ``joints_linear_ade``: a least-squares line through the 15 observed
  points, started at the current position (the live view's fallback). Same test windows.
- ``joint_paths_step_ms``: ``JointPaths.push`` with the trained model for 4 joints (resample
  onto the model's time grid, body units, one batched forecast, back to the picture),
  median over STEPS frames of a Penn Action test clip, 1 thread, the forecaster run as the
  live view runs it by default (``joints.runtime`` of ``conf/webcam.yaml``);
  ``joint_paths_step_ms_torch`` / ``_onnx`` each runtime.

``python -m bench.joints`` prints the figures without recording them.
"""

from __future__ import annotations

import os
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from bench.experiments import run_experiment

ROOT = Path(__file__).resolve().parents[1]
STEPS = 1000


def penn_root() -> Path:
    root = Path(os.environ.get("MOTIONSEQ_PENN_ACTION",
                               ROOT.parent / "shared" / "data" / "penn_action"))
    if not (root / "labels").is_dir():
        raise FileNotFoundError(f"Penn Action labels not found under {root} (set "
                                f"MOTIONSEQ_PENN_ACTION)")
    return root


def baselines(root: Path) -> dict[str, float]:
    """ADE/FDE of the simple predictors on the experiment's test windows."""
    from hydra.utils import instantiate
    from omegaconf import OmegaConf

    from motionseq.models.baselines import constant_velocity, linear_from_last
    from motionseq.modules.metrics import displacement_errors

    cfg = OmegaConf.load(ROOT / "conf" / "data" / "joint_paths.yaml")
    cfg.source.poses.root = str(root)
    dm = instantiate(cfg)
    dm.setup()
    ds = dm.datasets["test"]
    obs, fut = torch.as_tensor(ds.obs), torch.as_tensor(ds.fut)
    pred_len = fut.shape[1]
    line = linear_from_last(obs, pred_len)
    out = {"windows": float(len(ds))}
    for name, pred in (("cv", constant_velocity(obs, pred_len)),
                       ("still", obs[:, -1:].expand(-1, pred_len, -1)), ("linear", line)):
        err = displacement_errors(pred, fut)
        out[f"{name}_ade"], out[f"{name}_fde"] = float(err.mean()), float(err[:, -1].mean())
    return out


def step_ms(model, root: Path, model_ms: list[float] | None = None,
            onnx: Path | None = None) -> list[float]:
    """Milliseconds of ``JointPaths.push`` per frame with the trained ``model`` (a
    :class:`~motionseq.modules.forecaster.TrajectoryForecaster`); with
    ``model_ms``, the forecaster's own milliseconds of each of those frames go there. With
    ``onnx`` (a folder) the model is exported there and run by ONNX Runtime, as the live
    view's ``runtime=onnx`` runs it."""
    from motionseq.data.penn_action import read_penn_action
    from motionseq.live.joints import JointPaths

    torch.set_num_threads(1)
    clip = next(c for c in read_penn_action(root) if not c.train and len(c.sequence) >= 60)
    seq = clip.sequence
    if onnx is not None:
        from motionseq.live.export_joints import OnnxJointForecaster, export_joint_forecaster

        model = OnnxJointForecaster(export_joint_forecaster(model, onnx / "joints.onnx"),
                                    dict(model.hparams))
    jp = JointPaths(["left_wrist", "right_wrist", "left_ankle", "right_ankle"], seq.layout,
                    seq.fps, horizon_s=0.67, min_visibility=0.0, model=model)
    aspect = clip.width / clip.height
    forecaster, inner = jp.model, []

    def timed(x):
        t0 = time.perf_counter()
        out = forecaster(x)
        inner.append((time.perf_counter() - t0) * 1000.0)
        return out

    jp.model = timed
    times = []
    while len(times) < STEPS:
        jp.reset()
        for kp, vis in zip(seq.keypoints, seq.visibility, strict=True):
            inner.clear()
            t0 = time.perf_counter()
            out = jp.push(kp, vis, aspect)
            dt = (time.perf_counter() - t0) * 1000.0
            if out:
                times.append(dt)
                if model_ms is not None:
                    model_ms.append(sum(inner))
    if model_ms is not None:
        del model_ms[STEPS:]
    return times[:STEPS]


def _decoder(hp: dict[str, Any]) -> str:
    """How a forecaster with hyper-parameters ``hp`` decodes, in words."""
    return (f"{hp['pred_len']}-step recurrent decoder" if hp.get("decoder") == "recurrent"
            else f"all {hp['pred_len']} steps at once from an MLP")


def run() -> dict[str, dict[str, Any]]:
    """The figures for ``bench/results.json``."""
    import tempfile

    root = penn_root()
    with tempfile.TemporaryDirectory(prefix="bench-joints-") as tmp:
        ckpt = Path(tmp) / "joints.ckpt"
        metrics, wall = run_experiment(["experiment=forecast_joints",
                                        f"data.source.poses.root={root}", "logger=csv"],
                                       keep=ckpt)
        base = baselines(root)
        from motionseq.live.joints import load_joint_forecaster

        model = load_joint_forecaster(str(ckpt))
        model_ms: list[float] = []
        steps = step_ms(model, root, model_ms)
        onnx_model_ms: list[float] = []
        onnx_steps = step_ms(model, root, onnx_model_ms, onnx=Path(tmp))
        decoder = _decoder(model.hparams)
    from omegaconf import OmegaConf

    runtime = OmegaConf.load(ROOT / "conf" / "webcam.yaml").joints.get("runtime") or "torch"
    live_steps, live_model = (onnx_steps, onnx_model_ms) if runtime == "onnx" else \
        (steps, model_ms)
    note = (f"Penn Action test clips (1068), wrists and ankles, {int(base['windows'])} windows "
            f"of 15 observed + 20 predicted frames at 30 fps, body units (torso lengths)")
    exp = f"`make train ARGS=\"experiment=forecast_joints\"` (LSTM forecaster), {note}"
    fig = {
        "joints_test_ade": {"value": round(metrics["test/ade"], 4), "unit": "torso",
                            "note": exp},
        "joints_test_fde": {"value": round(metrics["test/fde"], 4), "unit": "torso",
                            "note": exp},
        "joints_train_wall_s": {"value": round(wall, 1), "unit": "s",
                                "note": f"{exp}: the whole process on {os.cpu_count()} CPU "
                                        f"cores"},
        "joint_paths_step_ms": {
            "value": round(statistics.median(live_steps), 3), "unit": "ms",
            "note": f"JointPaths.push with the trained model as the live view runs it by "
                    f"default (joints.runtime={runtime}: "
                    f"{'exported to ONNX, run by ONNX Runtime' if runtime == 'onnx' else 'PyTorch'}"
                    f", 1 thread), 4 joints, median of {STEPS} frames (p95 "
                    f"{np.percentile(live_steps, 95):.3f} ms); the forecaster itself "
                    f"{statistics.median(live_model):.3f} ms of it (LSTM encoder, {decoder}), "
                    f"the rest (history, resampling onto the model's grid, body units and "
                    f"back) {statistics.median(np.subtract(live_steps, live_model)):.3f} ms"},
        "joint_paths_step_ms_model": {
            "value": round(statistics.median(live_model), 3), "unit": "ms",
            "note": "the forecaster's part of joint_paths_step_ms (median per frame)"},
        "joint_paths_step_ms_torch": {
            "value": round(statistics.median(steps), 3), "unit": "ms",
            "note": f"the same with the forecaster in PyTorch (joints.runtime=torch, 1 torch "
                    f"thread); the forecaster itself {statistics.median(model_ms):.3f} ms of "
                    f"it"},
        "joint_paths_step_ms_onnx": {
            "value": round(statistics.median(onnx_steps), 3), "unit": "ms",
            "note": f"the same with the forecaster in ONNX Runtime (joints.runtime=onnx, 1 "
                    f"thread); the forecaster itself {statistics.median(onnx_model_ms):.3f} "
                    f"ms of it"},
    }
    for name, what in (("cv", "constant velocity"), ("still", "the joint stays put"),
                       ("linear", "least-squares line through the 15 observed points, "
                                  "from the current position")):
        for m in ("ade", "fde"):
            fig[f"joints_{name}_{m}"] = {"value": round(base[f"{name}_{m}"], 4),
                                         "unit": "torso", "note": f"{what}; {note}"}
    return fig


if __name__ == "__main__":
    for name, f in run().items():
        print(f"{name}: {f['value']} {f['unit']}  ({f['note']})")
