"""Forecasts from tracked video: pixel tracks → ground plane → a trained forecaster.

:func:`forecast_windows` cuts ground-plane tracks (any frame rate) into observe/predict
windows at the forecaster's time step and predicts each; :func:`score_against_truth`
matches each window's observed path to a ground-truth person and scores the forecast
against that person's true future, beside constant velocity on the same windows.
:func:`draw_forecasts` draws tracks and forecasts back onto a video frame.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from motionseq.errors import DataError
from motionseq.models.baselines import constant_velocity
from motionseq.sequence import Tracks


@dataclass
class VideoWindows:
    """Observed paths cut from tracks at the forecaster's step.

    ``obs [N, obs_len, 2]`` ground positions, ``agent [N]`` track ids, ``frames [N, obs_len
    + pred_len]`` the video frames of every step (observed then future), ``step`` video
    frames per forecaster step.
    """

    obs: np.ndarray
    agent: np.ndarray
    frames: np.ndarray
    step: int


def frame_step_for(video_dt: float, model_dt: float) -> int:
    """Video frames per forecaster step (nearest whole number, at least 1)."""
    if not (video_dt > 0 and model_dt > 0):
        raise DataError(f"time steps must be positive, got video {video_dt} s, model "
                        f"{model_dt} s")
    return max(1, round(model_dt / video_dt))


def cut_windows(tracks: Tracks, obs_len: int, pred_len: int, step: int) -> VideoWindows:
    """Every window whose ``obs_len`` observed steps (``step`` video frames apart) are all
    present in one track; future frames are listed for scoring and need not be tracked."""
    obs, agents, frames = [], [], []
    span = np.arange(obs_len + pred_len) * step
    for a in tracks.agents():
        f, xy = tracks.path(int(a))
        at = {int(k): i for i, k in enumerate(f)}
        for s in f:
            idx = [at.get(int(s + d)) for d in span[:obs_len]]
            if None in idx:
                continue
            obs.append(xy[idx])
            agents.append(int(a))
            frames.append(s + span)
    if not obs:
        raise DataError(f"no track is present for {obs_len} steps of {step} frames; the "
                        f"video may be too short or the tracks too broken to forecast")
    return VideoWindows(np.asarray(obs, np.float32), np.asarray(agents),
                        np.asarray(frames, np.int64), step)


@torch.no_grad()
def forecast_windows(model: torch.nn.Module, windows: VideoWindows) -> np.ndarray:
    """The model's forecasts ``[N, pred_len, 2]`` for each window's observed path.

    A social model sees, for each window, the other windows whose observation ends on the
    same video frame: the people tracked at that moment."""
    model.eval()
    obs = torch.from_numpy(windows.obs)
    if not getattr(model, "social", False):
        return model(obs).numpy()
    end = windows.frames[:, windows.obs.shape[1] - 1]
    group = np.unique(end, return_inverse=True)[1].reshape(-1)
    return model(obs, torch.from_numpy(group.astype(np.int64))).numpy()


def _lookup(tracks: Tracks) -> dict[int, dict[int, np.ndarray]]:
    """``{agent: {frame: xy}}``."""
    out: dict[int, dict[int, np.ndarray]] = {}
    for a in tracks.agents():
        f, xy = tracks.path(int(a))
        out[int(a)] = {int(k): p for k, p in zip(f, xy, strict=True)}
    return out


def match_truth(windows: VideoWindows, truth: Tracks, obs_len: int, max_dist: float = 1.0
                ) -> tuple[np.ndarray, np.ndarray]:
    """For each window, the true future ``[N, pred_len, 2]`` of the ground-truth person
    whose observed positions lie closest (mean distance ≤ ``max_dist``) to the window's,
    and a mask ``[N]`` of the windows that have one with a complete future."""
    gt = _lookup(truth)
    pred_len = windows.frames.shape[1] - obs_len
    fut = np.full((len(windows.obs), pred_len, 2), np.nan, np.float32)
    for i, (obs, frames) in enumerate(zip(windows.obs, windows.frames, strict=True)):
        best, best_d = None, max_dist
        for path in gt.values():
            if not all(int(f) in path for f in frames):
                continue
            d = float(np.mean(np.linalg.norm(
                np.stack([path[int(f)] for f in frames[:obs_len]]) - obs, axis=1)))
            if d <= best_d:
                best, best_d = path, d
        if best is not None:
            fut[i] = np.stack([best[int(f)] for f in frames[obs_len:]])
    return fut, ~np.isnan(fut).any(axis=(1, 2))


def score_against_truth(model: torch.nn.Module, tracks: Tracks, truth: Tracks,
                        max_dist: float = 1.0) -> dict[str, Any]:
    """ADE/FDE (ground units) of the model and of constant velocity on the windows of
    ``tracks`` that match a ground-truth person, plus counts. ``tracks`` and ``truth``
    share frame numbering and ground coordinates."""
    hp = model.hparams
    step = frame_step_for(tracks.dt / (tracks.frame_step or 1), hp.dt)
    w = cut_windows(tracks, hp.obs_len, hp.pred_len, step)
    fut, ok = match_truth(w, truth, hp.obs_len, max_dist)
    if not ok.any():
        raise DataError("no forecast window matches a ground-truth person; are the tracks "
                        "and the truth in the same ground coordinates and frame numbers?")
    obs = w.obs[ok]
    # every tracked window is forecast (a social model sees all the people tracked at the
    # time, matched or not); the matched ones are scored
    pred = forecast_windows(model, w)[ok]
    cv = constant_velocity(torch.from_numpy(obs), hp.pred_len).numpy()
    out: dict[str, Any] = {"windows": int(ok.sum()), "windows_unmatched": int((~ok).sum()),
                           "frame_step": step}
    for name, p in (("model", pred), ("cv", cv)):
        err = np.linalg.norm(p - fut[ok], axis=-1)
        out[f"{name}_ade"], out[f"{name}_fde"] = float(err.mean()), float(err[:, -1].mean())
    return out


def draw_forecasts(frame: np.ndarray, tracks: Tracks, index: int, model: torch.nn.Module,
                   H: np.ndarray, step: int) -> np.ndarray:
    """Draw the tracks present at video frame ``index`` and, for each with a full observed
    path ending there, its forecast projected back into the image through ``H`` (image to
    ground; its inverse is used)."""
    import cv2

    from motionseq.extract.paths import apply_homography, draw_tracks, to_ground

    draw_tracks(frame, tracks, index)
    hp = model.hparams
    ground = to_ground(tracks, H)
    H_inv = np.linalg.inv(H)
    paths = []  # everyone with a full observed path ending now, forecast together
    for a in np.unique(tracks.agent[tracks.frame == index]):
        f, xy = ground.path(int(a))
        at = {int(k): i for i, k in enumerate(f)}
        idx = [at.get(index - d * step) for d in range(hp.obs_len - 1, -1, -1)]
        if None not in idx:
            paths.append(xy[idx])
    if not paths:
        return frame
    obs = np.stack(paths).astype(np.float32)
    frames = np.full((len(obs), hp.obs_len + hp.pred_len), index, np.int64)
    preds = forecast_windows(model, VideoWindows(obs, np.arange(len(obs)), frames, step))
    for path, pred in zip(obs, preds, strict=True):
        pts = apply_homography(H_inv, np.vstack([path[-1], pred]))
        cv2.polylines(frame, [pts.round().astype(np.int32).reshape(-1, 1, 2)], False,
                      (255, 255, 255), 2, cv2.LINE_AA)
        for p in pts[1:]:
            cv2.circle(frame, (int(round(p[0])), int(round(p[1]))), 2, (0, 0, 255), -1)
    return frame


def save_frame(path: str | Path, frame: np.ndarray) -> Path:
    """Write one BGR frame as an image, atomically."""
    import cv2

    from motionseq.fileio import atomic_write

    path = Path(path)
    ok, buf = cv2.imencode(path.suffix or ".png", frame)
    if not ok:
        raise DataError(f"cannot encode an image as {path.suffix}")
    return atomic_write(path, lambda p: p.write_bytes(buf.tobytes()))
