"""Object paths from video: detect people, track them, and return :class:`Tracks`.

Each path point is the bottom centre of the person's box (the foot point) in pixels, with
the box; :func:`to_ground` maps pixels to ground-plane metres through a homography. The
console script ``motionseq-extract-paths`` runs it on a file, folder or camera and writes
ETH/UCY-style text, optionally MOTChallenge text and an annotated video.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from motionseq.errors import ConfigError, DataError, MotionseqError
from motionseq.extract.detect import Detections, make_detector
from motionseq.extract.mot import foot_points, read_mot, write_mot
from motionseq.extract.track import Tracker, TrackerConfig
from motionseq.extract.video import FrameSource, progress_frames
from motionseq.fileio import atomic_write
from motionseq.sequence import Tracks

__all__ = ["extract_paths", "fit_homography", "load_homography", "to_ground", "read_mot",
           "write_mot", "write_overlay", "main"]

log = logging.getLogger(__name__)

Detector = Callable[[np.ndarray], Detections]


def extract_paths(video: str | Path | int, detector: str | Detector = "mog2",
                  tracker: TrackerConfig | None = None, fps: float | None = None,
                  start: int = 0, stop: int | None = None, min_height: float = 0.0,
                  progress: bool = False, stats: dict | None = None) -> Tracks:
    """Track the people in a static-camera video.

    Args:
        video: video file, image folder or camera index (see :class:`FrameSource`).
        detector: ``"mog2"``, ``"knn"``, ``"hog"``, ``"both"`` or any callable
            ``frame -> Detections``.
        tracker: tracker settings (defaults: :class:`TrackerConfig`).
        fps: frame rate for ``dt`` when the file's is wrong (PETS09 files say 10, the
            recording is about 7).
        start, stop: frame range (0-based, stop exclusive).
        min_height: detections shorter than this (px) are ignored.
        progress: show a progress bar.
        stats: if given, filled with ``frames``, ``seconds`` and ``fps`` (processing speed).

    Returns:
        Tracks with 0-based ``frame`` ids, ``agent`` ids from 1, ``xy`` the foot points
        (px), ``boxes`` ``[N, 4]`` and ``dt = 1 / fps``. Short gaps inside a track are filled
        by interpolation; tracks shorter than the tracker's ``min_hits`` are not reported.
    """
    if isinstance(detector, str):
        # the background detectors also keep short blobs out of their size prior
        kwargs = {"min_height": min_height} if detector != "hog" else {}
        detector = make_detector(detector, **kwargs)
    t0 = time.perf_counter()
    n = 0
    with FrameSource(video, fps=fps, start=start, stop=stop) as src:
        trk = Tracker(tracker, image_size=(src.width, src.height))
        try:
            for index, frame in progress_frames(src, len(src) or None, progress, src.name):
                dets = detector(frame)
                if min_height > 0:
                    tall = dets.boxes[:, 3] >= min_height
                    dets = Detections(dets.boxes[tall], dets.scores[tall])
                trk.update(index, dets, frame)
                n += 1
        except KeyboardInterrupt:
            if src.num_frames is not None:
                raise
            log.info("camera stopped after %d frames", n)  # Ctrl-C ends a live capture
        rate = src.fps
    seconds = time.perf_counter() - t0
    if stats is not None:
        stats.update(frames=n, seconds=seconds, fps=n / seconds if seconds > 0 else 0.0)
    if n == 0:
        raise DataError(f"{video}: no frames in the range {start}..{stop}")
    return _to_tracks(trk.results(), 1.0 / rate)


def _to_tracks(results: list[tuple[int, np.ndarray, np.ndarray]], dt: float) -> Tracks:
    if not results:
        return Tracks(np.zeros(0), np.zeros(0), np.zeros((0, 2)), dt=dt, frame_step=1,
                      boxes=np.zeros((0, 4)))
    frames = np.concatenate([f for _, f, _ in results])
    agents = np.concatenate([np.full(len(f), i) for i, f, _ in results])
    boxes = np.concatenate([b for _, _, b in results])
    return Tracks(frame=frames, agent=agents, xy=foot_points(boxes), dt=dt, frame_step=1,
                  boxes=boxes)


# --- homography ------------------------------------------------------------------------------

def fit_homography(pixel_pts: np.ndarray, ground_pts: np.ndarray,
                   ransac_threshold: float | None = None) -> np.ndarray:
    """3x3 homography mapping image pixels ``[N, 2]`` to ground coordinates ``[N, 2]``
    (N >= 4, no three on one line). With ``ransac_threshold`` (largest error of an inlier,
    in ground units) the fit ignores wrong pairs."""
    src = np.asarray(pixel_pts, dtype=np.float64).reshape(-1, 2)
    dst = np.asarray(ground_pts, dtype=np.float64).reshape(-1, 2)
    if len(src) != len(dst) or len(src) < 4:
        raise ConfigError(f"a homography needs at least 4 pixel/ground point pairs, got "
                          f"{len(src)} pixel and {len(dst)} ground points")
    if not (np.isfinite(src).all() and np.isfinite(dst).all()):
        raise ConfigError("homography points contain NaN or inf")
    method = cv2.RANSAC if ransac_threshold is not None else 0
    H, _ = cv2.findHomography(src, dst, method, ransac_threshold or 3.0)
    if H is None:
        raise ConfigError("no homography fits these points (are three of the four points on "
                          "one line, or two the same?); pick four spread-out ground points")
    return check_homography(H)


def check_homography(H: np.ndarray) -> np.ndarray:
    """``H`` as a float 3x3 array; ConfigError if it is not finite or singular."""
    H = np.asarray(H, dtype=np.float64)
    if H.shape != (3, 3) or not np.isfinite(H).all():
        raise ConfigError(f"a homography is a finite 3x3 matrix, got shape {H.shape}")
    s = np.linalg.svd(H / max(np.abs(H).max(), 1e-300), compute_uv=False)
    if s[-1] < 1e-10 * s[0]:
        raise ConfigError("the homography is singular (it maps the image onto a line or a "
                          "point); refit it from four ground points, no three on one line")
    return H


def load_homography(path: str | Path) -> np.ndarray:
    """A homography from a text file: either 3 rows of 3 numbers (the matrix, image to
    ground), or 4+ rows ``u v x y`` (pixel and ground point pairs, which are fitted)."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"homography file not found: {path}")
    rows = []
    for lineno, line in enumerate(path.read_text().splitlines(), 1):
        parts = line.split("#")[0].replace(",", " ").split()
        if parts:
            try:
                rows.append([float(p) for p in parts])
            except ValueError:
                raise ConfigError(f"{path}:{lineno}: not numbers: {line.strip()!r}") from None
    widths = {len(r) for r in rows}
    if widths == {3} and len(rows) == 3:
        return check_homography(np.array(rows))
    if widths == {4} and len(rows) >= 4:
        a = np.array(rows)
        return fit_homography(a[:, :2], a[:, 2:])
    raise ConfigError(f"{path}: expected a 3x3 matrix (3 rows of 3 numbers) or at least 4 "
                      f"rows 'u v x y' of pixel and ground points")


def apply_homography(H: np.ndarray, pts: np.ndarray) -> np.ndarray:
    """Map points ``[N, 2]`` through ``H``; DataError for points on the horizon line."""
    p = np.asarray(pts, dtype=np.float64).reshape(-1, 2)
    q = np.c_[p, np.ones(len(p))] @ np.asarray(H, dtype=np.float64).T
    w = q[:, 2]
    if len(w) and (np.abs(w) < 1e-12 * np.abs(q[:, :2]).max(initial=1.0)).any():
        raise DataError("some points lie on the homography's horizon line and map to "
                        "infinity; check the homography (image to ground, not ground to image)")
    return q[:, :2] / w[:, None]


def to_ground(tracks: Tracks, H: np.ndarray) -> Tracks:
    """The same tracks with ``xy`` mapped from pixels to ground coordinates by ``H``
    (boxes stay in pixels)."""
    H = check_homography(H)
    return Tracks(frame=tracks.frame, agent=tracks.agent, xy=apply_homography(H, tracks.xy),
                  dt=tracks.dt, frame_step=tracks.frame_step, boxes=tracks.boxes)


# --- overlay video ---------------------------------------------------------------------------

VIDEO_FOURCC = {".mp4": "mp4v", ".avi": "MJPG", ".mkv": "mp4v", ".mov": "mp4v"}


def _colour(agent: int) -> tuple[int, int, int]:
    hue = (int(agent) * 47) % 180
    bgr = cv2.cvtColor(np.uint8([[[hue, 220, 255]]]), cv2.COLOR_HSV2BGR)[0, 0]
    return int(bgr[0]), int(bgr[1]), int(bgr[2])


def draw_tracks(frame: np.ndarray, tracks: Tracks, index: int, trail: int = 30) -> np.ndarray:
    """``frame`` with the boxes, ids and the last ``trail`` foot points of the tracks that
    are present at frame ``index`` drawn on it (in place; also returned)."""
    if tracks.boxes is None:
        raise DataError("drawing needs tracks with boxes (pixel tracks from extract_paths)")
    here = np.flatnonzero(tracks.frame == index)
    for i in here:
        a = int(tracks.agent[i])
        colour = _colour(a)
        x, y, w, h = tracks.boxes[i]
        cv2.rectangle(frame, (int(x), int(y)), (int(x + w), int(y + h)), colour, 2)
        cv2.putText(frame, str(a), (int(x), max(int(y) - 4, 10)), cv2.FONT_HERSHEY_SIMPLEX,
                    0.5, colour, 1, cv2.LINE_AA)
        sel = (tracks.agent == a) & (tracks.frame <= index) & (tracks.frame > index - trail)
        pts = foot_points(tracks.boxes[sel]).round().astype(np.int32)
        if len(pts) > 1:
            cv2.polylines(frame, [pts.reshape(-1, 1, 2)], False, colour, 2, cv2.LINE_AA)
    return frame


def write_overlay(video: str | Path | int, tracks: Tracks, out: str | Path,
                  fps: float | None = None, trail: int = 30, start: int = 0,
                  stop: int | None = None, progress: bool = False) -> Path:
    """Write ``video`` with the tracks drawn on it to ``out`` (``.mp4`` or ``.avi``),
    atomically. Tracks must be in pixels with boxes (as :func:`extract_paths` returns)."""
    out = Path(out)
    fourcc = VIDEO_FOURCC.get(out.suffix.lower())
    if fourcc is None:
        raise ConfigError(f"overlay video must end in {', '.join(VIDEO_FOURCC)}, got {out.name}")

    def write(tmp: Path) -> None:
        with FrameSource(video, fps=fps, start=start, stop=stop) as src:
            writer = cv2.VideoWriter(str(tmp), cv2.VideoWriter_fourcc(*fourcc), src.fps,
                                     (src.width, src.height))
            if not writer.isOpened():
                raise DataError(f"cannot write video {out} with codec {fourcc}; try .avi")
            try:
                for index, frame in progress_frames(src, len(src) or None, progress, "overlay"):
                    writer.write(draw_tracks(frame, tracks, index, trail))
            finally:
                writer.release()

    return atomic_write(out, write)


# --- console script --------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="motionseq-extract-paths",
        description="Track people in a static-camera video; write their foot-point paths "
                    "as 'frame agent x y' text (pixels, or ground units with --homography).")
    parser.add_argument("video", help="video file, image folder, or camera index (0)")
    parser.add_argument("--out", required=True, help="tracks text file to write")
    parser.add_argument("--mot", help="also write MOTChallenge text (1-based frames, boxes)")
    parser.add_argument("--overlay", help="also write an annotated video (.mp4 or .avi)")
    parser.add_argument("--homography", help="3x3 matrix or 4+ 'u v x y' rows: write "
                                             "ground-plane positions instead of pixels")
    parser.add_argument("--detector", choices=["mog2", "knn", "hog", "both"], default="mog2")
    parser.add_argument("--fps", type=float, help="frame rate for dt (default: the file's)")
    parser.add_argument("--min-height", type=float, default=0.0,
                        help="ignore people shorter than this many pixels")
    parser.add_argument("--start", type=int, default=0, help="first frame (0-based)")
    parser.add_argument("--stop", type=int, default=None, help="frame to stop before")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s: %(message)s")
    source: str | int = int(args.video) if args.video.isdigit() and not Path(
        args.video).exists() else args.video
    try:
        H = load_homography(args.homography) if args.homography else None
        stats: dict = {}
        tracks = extract_paths(source, args.detector, fps=args.fps, start=args.start,
                               stop=args.stop, min_height=args.min_height,
                               progress=not args.quiet, stats=stats)
        if args.mot:
            write_mot(args.mot, tracks)
        if args.overlay:
            if isinstance(source, int):
                raise ConfigError("--overlay needs a file or folder (a camera cannot be "
                                  "replayed)")
            write_overlay(source, tracks, args.overlay, fps=args.fps, start=args.start,
                          stop=args.stop, progress=not args.quiet)
        (to_ground(tracks, H) if H is not None else tracks).save_txt(args.out)
    except MotionseqError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; nothing written for the unfinished outputs", file=sys.stderr)
        return 130
    n_agents = len(tracks.agents())
    print(f"{n_agents} tracks, {len(tracks)} points over {stats['frames']} frames "
          f"({stats['fps']:.1f} frames/s) -> {args.out}")
    if n_agents == 0:
        print("warning: nothing was tracked; for a moving camera try --detector hog",
              file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
