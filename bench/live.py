"""Live view speed: the live loop against a bare MediaPipe loop, the per-frame model step,
and capture-to-picture latency.

Model: a classifier as ``conf/model/classifier.yaml`` builds it (LSTM, 128 units, one
layer, mean pooling) over the default pose features (mediapipe33, F = 165), random
weights and the feature normaliser of 60 synthetic workouts, saved as a checkpoint; the
weights do not change the work per frame. Clip: ``ntu_a001_drink_water.avi`` (1920x1080,
30 fps, 103 frames, one person in every frame) from ``../shared/data/videos``.

- ``live_fps``: ``motionseq.live.app.run`` headless on the clip with ``conf/webcam.yaml``
  as it is (carried state, EMA and hysteresis, the five repetition counters, both wrist
  paths from a joint-path forecaster as ``experiment=forecast_joints`` builds it (LSTM, 64
  units, random weights), skeleton, panel and stats drawn on every frame, the JSONL of one line per frame;
  no video file is written, as a window would show the frames instead; capture, pose and
  annotation on their three threads as the app runs them); frames / wall time from
  building the pose graph to the last frame.
- ``live_fps_bare``: ``cv2.VideoCapture.read`` -> BGR to RGB -> ``Pose.process`` over the
  same clip in one thread, graph built inside the timing as in the live loop.
- ``live_fps_ratio``: median of the per-pair ratios, variants interleaved (A B A B). The
  note adds the ratio of CPU time per frame (process time, all threads), which other
  jobs on the machine disturb less than wall time.
- ``live_fps_ratio_onnx``: the same loop with ``runtime=onnx`` (the exported step model,
  state carried, in ONNX Runtime) / the bare loop of its pair, median.
- ``model_step_ms``: ``StreamPredictor.push`` in carried mode (the frame's feature row,
  normalisation, one LSTM step of two staggered states, head, softmax, EMA, hysteresis)
  on real-shaped poses (synthetic workouts), median over STEPS steps after a warm-up,
  with one PyTorch thread as the live loop runs it.
- ``model_step_ms_<part>``: where a step goes (features, model, smoothing, other), timed
  by wrapping those parts of the predictor (:func:`step_breakdown`).
- ``model_step_ms_bare_lstm``: ``nn.LSTM(165, 128)`` on one frame with a carried state,
  interleaved with the above in blocks of 100, median over STEPS steps.
- ``stream_latency_ms_median`` / ``_p95``: the clip replayed as a camera
  (``capture.realtime=true``: frames released at 30 fps; ``drop_stale=true``: a full
  queue drops its oldest frame and the loop takes the newest one), per frame
  ``perf_counter()`` when the annotated picture is ready minus when the capture thread
  read the frame (the JSONL's ``latency_ms``), pooled over LATENCY_RUNS runs. It
  leaves out the camera's own exposure and transfer delay, which no code here sees.

``python -m bench.live`` prints the figures without recording them.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
CLIP = "ntu_a001_drink_water.avi"
PAIRS = 5
STEPS = 1000
BLOCK = 100
LATENCY_RUNS = 3
GOAL_RATIO = 0.90
GOAL_STEP_MS = 0.30


def shared_clip() -> Path:
    root = Path(os.environ.get("MOTIONSEQ_SHARED_DATA", ROOT.parent / "shared" / "data"))
    clip = root / "videos" / CLIP
    if not clip.is_file():
        raise FileNotFoundError(f"{clip} not found (set MOTIONSEQ_SHARED_DATA)")
    return clip


def bench_checkpoint(folder: Path) -> Path:
    """The benchmark classifier (see the module docstring) as a checkpoint file."""
    from omegaconf import OmegaConf

    from motionseq.data.features import PoseFeatures, feature_stats
    from motionseq.data.workouts import WORKOUT_CLASSES, make_workout
    from motionseq.modules.classifier import ActionClassifier

    feats = PoseFeatures()
    cfg = OmegaConf.load(ROOT / "conf" / "model" / "classifier.yaml")
    shape = {k: cfg[k] for k in ("cell", "hidden", "layers", "bidirectional", "dropout",
                                 "pooling", "head_hidden")}
    torch.manual_seed(0)
    model = ActionClassifier(feats.dim, list(WORKOUT_CLASSES), features=feats.to_dict(),
                             **shape).eval()
    rng = np.random.default_rng(0)
    model.set_normalizer(*feature_stats([feats(make_workout(c, rng).sequence)
                                         for c in WORKOUT_CLASSES for _ in range(10)]))
    ckpt = {"state_dict": model.state_dict()}
    model.on_save_checkpoint(ckpt)
    path = folder / "classifier.ckpt"
    torch.save(ckpt, path)
    return path


def bench_joint_forecaster(folder: Path) -> Path:
    """The joint-path forecaster as ``experiment=forecast_joints`` builds it (its model and
    ``conf/data/joint_paths.yaml`` windows, 30 fps), random weights, as a checkpoint file;
    the weights do not change the work per frame."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    from motionseq.modules.forecaster import TrajectoryForecaster

    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        cfg = compose(config_name="train", overrides=["experiment=forecast_joints"])
    GlobalHydra.instance().clear()
    shape = {k: cfg.model[k] for k in ("decoder", "cell", "hidden", "layers", "bidirectional",
                                       "frame", "speed_norm")}
    torch.manual_seed(0)
    model = TrajectoryForecaster(cfg.data.obs_len, cfg.data.pred_len, 1 / 30, **shape).eval()
    model.set_normalizer(0.1)
    ckpt = {"state_dict": model.state_dict()}
    model.on_save_checkpoint(ckpt)
    path = folder / "joints.ckpt"
    torch.save(ckpt, path)
    return path


def live_cfg(ckpt: Path, out: Path, overrides: dict[str, Any] | None = None):
    """``conf/webcam.yaml`` composed as the script does, headless, with ``overrides``
    (dotted keys) set."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from hydra.core.hydra_config import HydraConfig
    from omegaconf import OmegaConf, open_dict

    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        cfg = compose(config_name="webcam", return_hydra_config=True)
        HydraConfig().set_config(cfg)
    with open_dict(cfg):
        cfg.paths.output_dir = str(out)
        del cfg["hydra"]
        cfg.headless, cfg.ckpt, cfg.source = True, str(ckpt), str(shared_clip())
        cfg.out, cfg.jsonl = None, str(out / "frames.jsonl")
        for key, value in (overrides or {}).items():
            OmegaConf.update(cfg, key, value, force_add=True)
    return cfg


def live_loop(ckpt: Path, out: Path, overrides: dict[str, Any] | None = None
              ) -> dict[str, Any]:
    """``run()`` on the clip; its summary plus the per-frame latencies (ms)."""
    from motionseq.live.app import run

    cfg = live_cfg(ckpt, out, overrides)
    cpu = time.process_time()
    with contextlib.redirect_stdout(io.StringIO()):
        summary = run(cfg)
    summary["cpu_s"] = time.process_time() - cpu
    if summary["jsonl"]:
        rows = [json.loads(line) for line in Path(summary["jsonl"]).read_text().splitlines()]
        summary["latencies"] = [r["latency_ms"] for r in rows]
    return summary


def bare_loop(clip: Path) -> tuple[int, float, float]:
    """(frames, seconds, CPU seconds of the process) of read -> RGB -> Pose.process over
    the clip, graph build included."""
    from bench.extraction import bare_loop

    cpu = time.process_time()
    n, seconds = bare_loop([clip])
    return n, seconds, time.process_time() - cpu


def _predictor_and_poses(ckpt: Path):
    """The checkpoint's model, a ``StreamPredictor`` with ``conf/webcam.yaml``'s stream
    settings, and real-shaped poses (20 synthetic workouts): ``(model, predictor,
    keypoints [T, J, C], visibility [T, J])``."""
    from omegaconf import OmegaConf

    from motionseq.data.workouts import WORKOUT_CLASSES, make_workout
    from motionseq.live.stream import StreamPredictor
    from motionseq.modules.checkpoint import module_from_checkpoint

    model = module_from_checkpoint(ckpt)
    stream = OmegaConf.to_container(OmegaConf.load(ROOT / "conf" / "webcam.yaml").stream)
    sp = StreamPredictor(model, fps=30.0, **stream)
    rng = np.random.default_rng(1)
    seqs = [make_workout(WORKOUT_CLASSES[i % len(WORKOUT_CLASSES)], rng).sequence
            for i in range(20)]
    kp = np.concatenate([s.keypoints for s in seqs]).astype(np.float32)
    vis = np.concatenate([s.visibility for s in seqs]).astype(np.float32)
    return model, sp, kp, vis


def model_steps(ckpt: Path) -> tuple[list[float], list[float], str]:
    """Per-step milliseconds of ``StreamPredictor.push`` (carried) and of a bare
    ``nn.LSTM`` step, interleaved in blocks; and the predictor's mode."""
    from motionseq.live.app import LIVE_TORCH_THREADS, torch_threads

    model, sp, kp, vis = _predictor_and_poses(ckpt)
    f, hidden = model.hparams["input_size"], model.hparams["hidden"]
    lstm = torch.nn.LSTM(f, hidden, batch_first=True).eval()
    x = torch.randn(1, 1, f)
    state = None
    step_ms, bare_ms = [], []
    with torch_threads(LIVE_TORCH_THREADS):  # as the live loop runs the model
        for t in range(50):  # warm-up
            sp.push(kp[t], vis[t])
            with torch.inference_mode():
                _, state = lstm(x, state)
        t = 50
        for _ in range(STEPS // BLOCK):
            for _ in range(BLOCK):
                t0 = time.perf_counter()
                sp.push(kp[t % len(kp)], vis[t % len(kp)])
                step_ms.append((time.perf_counter() - t0) * 1000.0)
                t += 1
            with torch.inference_mode():
                for _ in range(BLOCK):
                    t0 = time.perf_counter()
                    _, state = lstm(x, state)
                    bare_ms.append((time.perf_counter() - t0) * 1000.0)
    return step_ms, bare_ms, sp.mode


class _Timed:
    """Wraps a callable and records the milliseconds of each call."""

    def __init__(self, fn) -> None:
        self.fn, self.ms = fn, []

    def __call__(self, *args, **kwargs):
        t0 = time.perf_counter()
        out = self.fn(*args, **kwargs)
        self.ms.append((time.perf_counter() - t0) * 1000.0)
        return out


def step_breakdown(ckpt: Path) -> dict[str, float]:
    """Median milliseconds per frame of the parts of a carried ``StreamPredictor.push``:
    the feature row (``features``), the recurrent step with head and softmax (``model``),
    smoothing and the label's hysteresis (``smoothing``), and the rest (layout mapping,
    ring buffer: ``other``), on the frames ``model_steps`` uses."""
    from motionseq.live.app import LIVE_TORCH_THREADS, torch_threads

    _, sp, kp, vis = _predictor_and_poses(ckpt)
    feats = _Timed(sp._rows.push)
    cell, probs = _Timed(sp._cell.step), _Timed(sp._probabilities)
    label = _Timed(sp._update_label)
    sp._rows.push, sp._cell.step, sp._probabilities, sp._update_label = \
        feats, cell, probs, label
    total = []
    with torch_threads(LIVE_TORCH_THREADS):
        for t in range(50 + STEPS):
            t0 = time.perf_counter()
            sp.push(kp[t % len(kp)], vis[t % len(kp)])
            total.append((time.perf_counter() - t0) * 1000.0)
    keep = slice(50, None)  # after the warm-up
    parts = {"features": np.asarray(feats.ms[keep]),
             "model": np.asarray(cell.ms[keep]) + np.asarray(probs.ms[keep]),
             "smoothing": np.asarray(label.ms[keep])}
    whole = np.asarray(total[keep])
    out = {k: float(np.median(v)) for k, v in parts.items()}
    out["other"] = float(np.median(whole - sum(parts.values())))
    return out


def measure() -> dict[str, Any]:
    load_before = os.getloadavg()[0]
    clip = shared_clip()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        ckpt = bench_checkpoint(tmp)
        joints = {"joints.ckpt": str(bench_joint_forecaster(tmp))}
        live_loop(ckpt, tmp / "warm", joints)  # first-use costs (imports, MediaPipe files)
        from motionseq.live.export import export

        onnx = {**joints, "runtime": "onnx",
                "onnx": str(export(ckpt, "onnx", tmp / "model.onnx"))}
        live_loop(ckpt, tmp / "warm_onnx", onnx)
        live, bare, ratios, cpu_ratios, onnx_ratios = [], [], [], [], []
        for i in range(PAIRS):
            s = live_loop(ckpt, tmp / f"live{i}", joints)
            n_bare, t_bare, cpu_bare = bare_loop(clip)
            if n_bare != s["frames"]:
                raise RuntimeError(f"bare loop read {n_bare} frames, live loop {s['frames']}")
            live.append(s["frames"] / s["seconds"])
            bare.append(n_bare / t_bare)
            ratios.append(live[-1] / bare[-1])
            cpu_ratios.append(cpu_bare / s["cpu_s"])
            o = live_loop(ckpt, tmp / f"onnx{i}", onnx)  # the same loop through ONNX Runtime
            onnx_ratios.append((o["frames"] / o["seconds"]) / bare[-1])
        step_ms, bare_ms, mode = model_steps(ckpt)
        parts = step_breakdown(ckpt)
        latencies, dropped, frames = [], 0, 0
        for i in range(LATENCY_RUNS):
            s = live_loop(ckpt, tmp / f"lat{i}",
                          {**joints, "capture.realtime": True, "capture.drop_stale": True})
            latencies += s["latencies"]
            dropped += s["dropped"]
            frames += s["frames"]
    return {"live": statistics.median(live), "bare": statistics.median(bare),
            "ratio": statistics.median(ratios), "ratios": ratios, "frames": n_bare,
            "onnx_ratio": statistics.median(onnx_ratios), "onnx_ratios": onnx_ratios,
            "cpu_ratio": statistics.median(cpu_ratios),
            "step": statistics.median(step_ms), "step_p95": float(np.percentile(step_ms, 95)),
            "bare_step": statistics.median(bare_ms), "mode": mode, "parts": parts,
            "lat_median": float(np.median(latencies)),
            "lat_p95": float(np.percentile(latencies, 95)), "lat_frames": frames,
            "lat_dropped": dropped, "load": (load_before, os.getloadavg()[0]),
            "cpus": os.cpu_count()}


def run() -> dict[str, dict[str, Any]]:
    """The figures for ``bench/results.json``."""
    m = measure()
    machine = (f"{m['cpus']} CPUs, 1-min load average "
               f"{m['load'][0]:.1f} at the start / {m['load'][1]:.1f} at the end (other jobs "
               f"may share the machine)")
    setup = (f"{CLIP} (1920x1080, {m['frames']} frames), MediaPipe Pose model_complexity 1, "
             f"LSTM-128 classifier (mean pooling, {m['mode']} mode); {machine}")
    return {
        "live_fps": {"value": round(m["live"], 1), "unit": "frames/s",
                     "note": f"motionseq.live.app.run headless: pose, carried-state "
                             f"classifier, smoothing, 5 repetition counters, 2 joint paths "
                             f"from the forecast_joints LSTM forecaster, "
                             f"drawing, JSONL (no video file); capture, pose and annotation "
                             f"threads; median of {PAIRS}; {setup}"},
        "live_fps_ratio_onnx": {
            "value": round(m["onnx_ratio"], 3), "unit": "ratio", "goal": f">= {GOAL_RATIO}",
            "note": f"the same live loop with runtime=onnx (the classifier's exported step "
                    f"model stepped frame by frame in ONNX Runtime, state carried) / the "
                    f"bare loop of the same pair, median of {PAIRS} ("
                    + ", ".join(f"{r:.3f}" for r in m["onnx_ratios"]) + f"); {setup}"},
        "live_fps_bare": {"value": round(m["bare"], 1), "unit": "frames/s",
                          "note": f"read -> RGB -> Pose.process, median of {PAIRS}; {setup}"},
        "live_fps_ratio": {"value": round(m["ratio"], 3), "unit": "ratio",
                           "goal": f">= {GOAL_RATIO:.2f}",
                           "note": f"live / bare speed, median of {PAIRS} interleaved pairs "
                                   f"({', '.join(f'{r:.3f}' for r in m['ratios'])}); CPU "
                                   f"time per frame bare / live (all threads, less "
                                   f"sensitive to other jobs) {m['cpu_ratio']:.3f}; {setup}"},
        "model_step_ms": {"value": round(m["step"], 4), "unit": "ms", "goal": f"<= {GOAL_STEP_MS}",
                          "note": f"StreamPredictor.push per frame, carried state (feature "
                                  f"row, 2 staggered LSTM states, head, EMA, hysteresis) with "
                                  f"1 torch thread as the live loop runs it, median of {STEPS} "
                                  f"(p95 {m['step_p95']:.3f} ms); where it goes (medians, "
                                  f"ms): " + ", ".join(f"{k} {v:.3f}"
                                                       for k, v in m["parts"].items())
                                  + f"; {machine}"},
        **{f"model_step_ms_{k}": {"value": round(v, 4), "unit": "ms",
                                  "note": f"the {k} part of model_step_ms (median per frame; "
                                          f"see bench.live.step_breakdown)"}
           for k, v in m["parts"].items()},
        "model_step_ms_bare_lstm": {
            "value": round(m["bare_step"], 4), "unit": "ms",
            "note": f"nn.LSTM(165, 128) on one frame with a carried state, 1 torch thread, "
                    f"median of {STEPS}, interleaved with model_step_ms in blocks of {BLOCK}; "
                    f"{machine}"},
        "stream_latency_ms_median": {
            "value": round(m["lat_median"], 1), "unit": "ms",
            "note": f"capture thread read -> annotated frame ready, the clip replayed as a "
                    f"30 fps camera (capture.realtime, drop_stale, queue of 2), "
                    f"{m['lat_frames']} frames shown and {m['lat_dropped']} dropped over "
                    f"{LATENCY_RUNS} runs; {setup}"},
        "stream_latency_ms_p95": {
            "value": round(m["lat_p95"], 1), "unit": "ms",
            "note": f"95th percentile of the same frames as stream_latency_ms_median; {setup}"},
    }


if __name__ == "__main__":
    for name, fig in run().items():
        print(f"{name}: {fig['value']} {fig['unit']}  ({fig['note']})")
