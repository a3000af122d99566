"""Video → tracks → metres → forecasts, scored: PETS09-S2L1 view 1 tracked by
``extract_paths`` (as ``bench.tracking``), mapped to the ground plane by a homography fitted
from the ground truth's foot-point/ground pairs, cut into observe-8/predict-12 windows at
0.4 s (every third frame of the 7 fps recording), forecast by an ETH/UCY-trained model
(``experiment=forecast_ethucy data.scene=eth``: trained on hotel, univ, zara) and scored
against the ground-truth person each window's observed path matches, beside constant
velocity on the same windows. The same forecaster on the ground-truth tracks themselves
is reported too (what perfect tracking would give).

``python -m bench.pets_forecast [out_dir]`` also writes an overlay frame with forecasts.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from bench.tracking import FPS, MIN_HEIGHT, shared_data
from motionseq.extract.mot import foot_points, read_mot
from motionseq.extract.paths import extract_paths, fit_homography, to_ground
from motionseq.live.track_forecast import score_against_truth
from motionseq.modules.checkpoint import module_from_checkpoint
from motionseq.sequence import Tracks

ROOT = Path(__file__).resolve().parents[1]
MATCH_M = 1.0  # a window belongs to the true person within this mean distance (metres)


def train_forecaster(out: Path, root: Path) -> Path:
    """Train the ETH/UCY forecaster (test scene eth) into ``out``; its best checkpoint."""
    cmd = [sys.executable, str(ROOT / "scripts" / "train.py"), "experiment=forecast_ethucy",
           "data.scene=eth", f"data.source.root={root / 'ethucy'}", "logger=csv",
           f"hydra.run.dir={out}"]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stderr[-3000:]}")
    return sorted((out / "checkpoints").glob("epoch_*.ckpt"))[-1]


def ground_truth(gt_path: Path) -> tuple[Tracks, np.ndarray]:
    """(ground-truth ground-plane tracks with 0-based frames, homography image → ground)."""
    rows = read_mot(gt_path)
    rows = rows[rows[:, 6] > 0]  # conf 0: not evaluated
    H = fit_homography(foot_points(rows[:, 2:6]), rows[:, 7:9], ransac_threshold=0.5)
    truth = Tracks(frame=rows[:, 0] - 1, agent=rows[:, 1], xy=rows[:, 7:9], dt=1 / FPS,
                   frame_step=1)
    return truth, H


def measure(out_dir: Path | None = None) -> dict[str, Any]:
    root = shared_data()
    truth, H = ground_truth(root / "mot" / "PETS09-S2L1" / "gt" / "gt.txt")
    video = root / "videos" / "vtest_pedestrians.avi"
    tracks = extract_paths(video, "mog2", fps=FPS, min_height=MIN_HEIGHT)
    with tempfile.TemporaryDirectory(prefix="bench-pets-") as tmp:
        ckpt = train_forecaster(Path(tmp) / "train", root)
        model = module_from_checkpoint(ckpt)
        ours = score_against_truth(model, to_ground(tracks, H), truth, MATCH_M)
        perfect = score_against_truth(model, truth, truth, MATCH_M)
        if out_dir is not None:
            _overlay_frame(video, tracks, model, H, ours["frame_step"], out_dir)
    return {"ours": ours, "perfect": perfect}


def _overlay_frame(video: Path, tracks: Tracks, model, H: np.ndarray, step: int,
                   out_dir: Path, index: int = 300) -> None:
    from motionseq.extract.video import FrameSource
    from motionseq.live.track_forecast import draw_forecasts, save_frame

    with FrameSource(video, fps=FPS, start=index, stop=index + 1) as src:
        for i, frame in src:
            save_frame(out_dir / f"pets_forecast_{i:04d}.png",
                       draw_forecasts(frame, tracks, i, model, H, step))


def run() -> dict[str, dict[str, Any]]:
    m = measure()
    ours, perfect = m["ours"], m["perfect"]
    note = (f"{ours['windows']} windows of our tracks that match a true person "
            f"({ours['windows_unmatched']} unmatched), observe 8 / predict 12 steps of "
            f"{ours['frame_step']} frames at {FPS:g} fps; the social forecaster of "
            f"experiment=forecast_ethucy data.scene=eth, each window seeing every person "
            f"tracked at its last observed frame")
    fig = {
        "pets_forecast_ade": ("model", "ade", ours, note),
        "pets_forecast_fde": ("model", "fde", ours, note),
        "pets_forecast_cv_ade": ("cv", "ade", ours, "constant velocity, same windows"),
        "pets_forecast_cv_fde": ("cv", "fde", ours, "constant velocity, same windows"),
        "pets_forecast_gt_tracks_ade": ("model", "ade", perfect,
                                        f"the same forecaster on the ground-truth tracks "
                                        f"({perfect['windows']} windows)"),
        "pets_forecast_gt_tracks_fde": ("model", "fde", perfect,
                                        f"the same forecaster on the ground-truth tracks "
                                        f"({perfect['windows']} windows)"),
    }
    return {name: {"value": round(src[f"{key}_{metric}"], 4), "unit": "m", "note": text}
            for name, (key, metric, src, text) in fig.items()}


if __name__ == "__main__":
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("logs/bench")
    result = measure(out)
    print(result)
    print(f"overlay frame in {out}")
