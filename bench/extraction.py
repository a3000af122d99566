"""Pose extraction speed: ``motionseq.extract.batch`` against a bare MediaPipe loop, and two
worker processes against one.

Clips: the first FRAMES frames of each real video in ``../shared/data/videos`` (NTU 1080p,
Kinetics, NTU two-person, PETS09), copied at their own size into a temporary folder, so
every variant decodes the same files. MediaPipe Pose solutions, model_complexity 1.

- ``extract_fps_bare``: one process, ``cv2.VideoCapture.read`` -> BGR to RGB ->
  ``Pose.process`` over the clips, graph built once; frames / wall time.
- ``extract_fps_1worker``: ``extract_batch(workers=1)`` over the same clips (graph build,
  decoding, landmarks to arrays, ``.npz`` and manifest writes); frames / wall time.
- ``extract_fps_ratio``: median of the per-pair ratios, variants interleaved (A B A B).
- ``extract_speedup_2workers``: wall time of ``workers=1`` / ``workers=2`` over COPIES
  copies of the first SPEEDUP_FRAMES frames of each clip, interleaved, median ratio; each
  run is ``python -m motionseq.extract.batch`` in a fresh process (what ``make extract``
  runs), so it includes starting Python and the two spawned worker processes.

``python -m bench.extraction`` prints the figures without recording them.
"""

from __future__ import annotations

import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import cv2

from motionseq.extract.batch import extract_batch

ROOT = Path(__file__).resolve().parents[1]
VIDEOS = ("ntu_a001_drink_water.avi", "kinetics_arm_wrestling.mp4", "ntu_two_person.avi",
          "vtest_pedestrians.avi")
FRAMES = 40  # first frames of each clip
PAIRS = 3  # interleaved bare / batch pairs
SPEEDUP_PAIRS = 5
COPIES = 3  # copies of each clip in the speed-up folder
# frames per clip in the speed-up folder: long enough that starting two worker processes
# (import, pose graph) is not most of the run, as with real videos
SPEEDUP_FRAMES = 120
GOAL_RATIO = 0.95
GOAL_SPEEDUP = 1.85


def shared_videos() -> Path:
    root = Path(os.environ.get("MOTIONSEQ_SHARED_DATA", ROOT.parent / "shared" / "data"))
    folder = root / "videos"
    missing = [v for v in VIDEOS if not (folder / v).is_file()]
    if missing:
        raise FileNotFoundError(f"videos {', '.join(missing)} not found in {folder} (set "
                                f"MOTIONSEQ_SHARED_DATA)")
    return folder


def cut_clips(dst: Path, frames: int = FRAMES, copies: int = 1) -> list[Path]:
    """The first ``frames`` frames of each video as MJPG ``.avi`` under ``dst/<stem>/``."""
    written = []
    for name in VIDEOS:
        cap = cv2.VideoCapture(str(shared_videos() / name))
        fps = cap.get(cv2.CAP_PROP_FPS) or 25.0
        size = (int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)))
        first = dst / Path(name).stem / "c0.avi"
        first.parent.mkdir(parents=True, exist_ok=True)
        writer = cv2.VideoWriter(str(first), cv2.VideoWriter_fourcc(*"MJPG"), fps, size)
        for _ in range(frames):
            ok, frame = cap.read()
            if not ok:
                break
            writer.write(frame)
        writer.release()
        cap.release()
        written.append(first)
        for i in range(1, copies):
            written.append(Path(shutil.copy(first, first.with_name(f"c{i}.avi"))))
    return written


def bare_loop(clips: list[Path]) -> tuple[int, float]:
    """(frames, seconds) of read -> RGB -> Pose.process over the clips."""
    import mediapipe as mp

    t0 = time.perf_counter()
    n = 0
    with mp.solutions.pose.Pose(model_complexity=1) as pose:
        for clip in clips:
            pose.reset()
            cap = cv2.VideoCapture(str(clip))
            while True:
                ok, frame = cap.read()
                if not ok:
                    break
                pose.process(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
                n += 1
            cap.release()
    return n, time.perf_counter() - t0


def batch_run(src: Path, workers: int) -> tuple[int, float]:
    """(frames, seconds) of a fresh ``extract_batch`` run over ``src``."""
    with tempfile.TemporaryDirectory() as out:
        t0 = time.perf_counter()
        s = extract_batch(src, out, workers=workers, resume=False)
        seconds = time.perf_counter() - t0
    if s.failed:
        raise RuntimeError(f"{s.failed} clips failed: {s.rows}")
    return s.frames, seconds


def cli_run(src: Path, workers: int, busy: list[float] | None = None) -> tuple[int, float]:
    """(frames, seconds) of ``python -m motionseq.extract.batch`` over ``src`` in a fresh
    process, as ``make extract`` runs it: process start, imports, spawned workers, all of
    it. (Workers spawned from this process would first import its ``__main__``, e.g. every
    benchmark of ``bench.run`` with torch, seconds a user's extraction never pays.)"""
    import subprocess
    import sys

    from motionseq.extract.batch import MANIFEST, read_manifest

    with tempfile.TemporaryDirectory() as out:
        cmd = [sys.executable, "-m", "motionseq.extract.batch", f"input={src}",
               f"output={out}", f"workers={workers}", "force=true", "quiet=true"]
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True)
        seconds = time.perf_counter() - t0
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}):\n"
                               f"{proc.stderr[-2000:]}")
        rows = read_manifest(Path(out) / MANIFEST).values()
    if busy is not None:  # the seconds the workers spent on the videos: read, pose, write
        busy.append({k: sum(float(r[k] or 0) for r in rows)
                     for k in ("seconds", "read_s", "pose_s", "write_s")})
    return sum(int(r["frames"]) for r in rows), seconds


def measure() -> dict[str, Any]:
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        one = Path(tmp) / "one"
        clips = cut_clips(one)
        bare, batch, ratios = [], [], []
        for _ in range(PAIRS):
            n_bare, t_bare = bare_loop(clips)
            n_batch, t_batch = batch_run(one, 1)
            if n_bare != n_batch:
                raise RuntimeError(f"bare loop read {n_bare} frames, batch {n_batch}")
            bare.append(n_bare / t_bare)
            batch.append(n_batch / t_batch)
            ratios.append(t_bare / t_batch)
        many = Path(tmp) / "many"
        cut_clips(many, frames=SPEEDUP_FRAMES, copies=COPIES)
        speedups, w1, w2, walls1, walls2, busy1, busy2 = [], [], [], [], [], [], []
        for _ in range(SPEEDUP_PAIRS):
            n1, t1 = cli_run(many, 1, busy1)
            n2, t2 = cli_run(many, 2, busy2)
            w1.append(n1 / t1)
            w2.append(n2 / t2)
            walls1.append(t1)
            walls2.append(t2)
            speedups.append(t1 / t2)
    def parts(busy: list[dict[str, float]], walls: list[float], workers: int
              ) -> dict[str, float]:
        """Median core-seconds of a run by part: decoding, pose, writing (the manifest's
        columns), and the rest of ``workers`` x wall (process start, imports, pose graphs,
        a core idle at the end)."""
        out = {k: statistics.median(b[k] for b in busy) for k in ("read_s", "pose_s", "write_s")}
        out["rest_s"] = statistics.median(workers * w - b["seconds"]
                                          for w, b in zip(walls, busy, strict=True))
        return out

    return {"bare": statistics.median(bare), "batch": statistics.median(batch),
            "ratio": statistics.median(ratios), "ratios": ratios,
            "speedup": statistics.median(speedups), "speedups": speedups,
            # where the wall time goes: the videos themselves (decode, pose, write: the
            # manifest's seconds) and the rest (process start, imports, graphs, idle ends)
            "busy_1w": statistics.median(b["seconds"] for b in busy1),
            "wall_1w": statistics.median(walls1),
            "busy_2w": statistics.median(b["seconds"] for b in busy2),
            "wall_2w": statistics.median(walls2),
            "parts_1w": parts(busy1, walls1, 1), "parts_2w": parts(busy2, walls2, 2),
            "fps_1w": statistics.median(w1), "fps_2w": statistics.median(w2),
            "frames": n_bare, "frames_many": n1, "items": len(clips) * COPIES,
            "load": (load_before, os.getloadavg()[0]), "cpus": os.cpu_count()}


def _parts(p: dict[str, float]) -> str:
    return " / ".join(f"{p[k]:.1f}" for k in ("read_s", "pose_s", "write_s", "rest_s"))


def run() -> dict[str, dict[str, Any]]:
    """The figures for ``bench/results.json``."""
    m = measure()
    setup = (f"first {FRAMES} frames of {len(VIDEOS)} real clips (1920x1080, 340x256, "
             f"1920x1080, 768x576; {m['frames']} frames), MediaPipe Pose solutions "
             f"model_complexity 1, {m['cpus']} CPUs, 1-min load average "
             f"{m['load'][0]:.1f} before / {m['load'][1]:.1f} after (other jobs share the "
             f"machine)")
    return {
        "extract_fps_bare": {"value": round(m["bare"], 1), "unit": "frames/s",
                             "note": f"read -> RGB -> Pose.process, median of {PAIRS}; {setup}"},
        "extract_fps_1worker": {"value": round(m["batch"], 1), "unit": "frames/s",
                                "note": f"extract_batch workers=1 with .npz and manifest "
                                        f"writes, median of {PAIRS}; {setup}"},
        "extract_fps_ratio": {"value": round(m["ratio"], 3), "unit": "ratio",
                              "goal": f">= {GOAL_RATIO:.2f}",
                              "note": f"batch / bare speed, median of {PAIRS} interleaved "
                                      f"pairs ({', '.join(f'{r:.3f}' for r in m['ratios'])}); "
                                      f"{setup}"},
        "extract_speedup_2workers": {
            "value": round(m["speedup"], 3), "unit": "ratio", "goal": f">= {GOAL_SPEEDUP:.2f}",
            "note": f"extract_batch wall time workers=1 / workers=2 over {m['items']} items "
                    f"({COPIES} copies of the first {SPEEDUP_FRAMES} frames of each clip, "
                    f"{m['frames_many']} frames; "
                    f"{m['fps_1w']:.1f} vs {m['fps_2w']:.1f} frames/s), each a fresh "
                    f"`python -m motionseq.extract.batch` process (start-up included), median of {SPEEDUP_PAIRS} interleaved pairs "
                    f"({', '.join(f'{r:.3f}' for r in m['speedups'])}); where the time "
                    f"goes (medians): 1 worker {m['busy_1w']:.1f} s on the videos of "
                    f"{m['wall_1w']:.1f} s wall; 2 workers {m['busy_2w']:.1f} s on the "
                    f"videos (both together) of {m['wall_2w']:.1f} s wall, so the 2 cores "
                    f"spend {100 * m['busy_2w'] / (2 * m['wall_2w']):.0f} % of the run on "
                    f"videos; core-seconds by part (decode / pose / write / the rest: "
                    f"process start, imports, pose graphs, a core idle at the end): "
                    f"1 worker {_parts(m['parts_1w'])}, 2 workers {_parts(m['parts_2w'])}; "
                    f"{setup}"},
    }


if __name__ == "__main__":
    for name, fig in run().items():
        print(f"{name}: {fig['value']} {fig['unit']}  ({fig['note']})")
