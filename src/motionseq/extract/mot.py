"""MOTChallenge text files and tracker scores.

A MOTChallenge row is ``frame, id, left, top, width, height, conf, x, y, z`` with 1-based
frames; ground truth uses ``conf`` 0 for boxes the evaluation does not count, tracker output
writes -1 for the unused world columns. :func:`score_mot` follows the MOTChallenge protocol
(a match needs IoU >= 0.5; tracker boxes on a conf-0 box are not counted) through
``motmetrics``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy.optimize import linear_sum_assignment

from motionseq.errors import DataError
from motionseq.extract.detect import box_iou
from motionseq.fileio import atomic_write, text_rows
from motionseq.sequence import Tracks

MOT_COLUMNS = ("frame", "id", "left", "top", "width", "height", "conf", "x", "y", "z")


def read_mot(path: str | Path) -> np.ndarray:
    """Rows ``[N, 10]`` float of a MOTChallenge text file (6 to 10 columns; missing ones
    are 1 for conf and -1 for x, y, z). Frames stay 1-based."""
    path = Path(path)
    rows = []
    for lineno, parts, line in text_rows(path, "MOT file"):
        if not 6 <= len(parts) <= 10:
            raise DataError(f"{path}:{lineno}: expected 6-10 columns (frame, id, left, top, "
                            f"width, height, conf, x, y, z), got {len(parts)}")
        try:
            vals = [float(p) for p in parts]
        except ValueError:
            raise DataError(f"{path}:{lineno}: not numbers: {line.strip()!r}") from None
        rows.append(vals + [1.0, -1.0, -1.0, -1.0][len(vals) - 6:])
    if not rows:
        raise DataError(f"MOT file is empty: {path}")
    a = np.asarray(rows, dtype=np.float64)
    if not np.isfinite(a[:, :6]).all():
        raise DataError(f"{path}: frame, id or box values are NaN or inf")
    if (a[:, 0] < 1).any():
        raise DataError(f"{path}: MOTChallenge frames start at 1, found {a[:, 0].min():g}")
    return a


def write_mot(path: str | Path, tracks: Tracks, conf: np.ndarray | None = None) -> Path:
    """Write ``tracks`` (0-based frames, with boxes) as MOTChallenge text, atomically."""
    if tracks.boxes is None:
        raise DataError("MOT files need boxes; these tracks have none (extract them from "
                        "video, or load a MOT file)")
    conf = np.ones(len(tracks)) if conf is None else np.asarray(conf, dtype=np.float64)

    def write(tmp: Path) -> None:
        with open(tmp, "w") as fh:
            for f, a, (x, y, w, h), c in zip(tracks.frame, tracks.agent, tracks.boxes, conf,
                                             strict=True):
                fh.write(f"{f + 1:d},{a:d},{x:.2f},{y:.2f},{w:.2f},{h:.2f},{c:.4g},-1,-1,-1\n")

    return atomic_write(path, write)


def mot_to_tracks(rows: np.ndarray, dt: float, min_conf: float | None = None) -> Tracks:
    """MOT rows as :class:`Tracks` with 0-based frames, the box's bottom centre as ``xy``
    (pixels) and the boxes; rows with conf below ``min_conf`` are dropped."""
    rows = np.asarray(rows, dtype=np.float64)
    if min_conf is not None:
        rows = rows[rows[:, 6] >= min_conf]
    boxes = rows[:, 2:6]
    return Tracks(frame=rows[:, 0] - 1, agent=rows[:, 1], xy=foot_points(boxes), dt=dt,
                  frame_step=1, boxes=boxes)


def foot_points(boxes: np.ndarray) -> np.ndarray:
    """Bottom centres ``[N, 2]`` of boxes ``[N, 4]`` (l, t, w, h)."""
    b = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    return np.c_[b[:, 0] + b[:, 2] / 2, b[:, 1] + b[:, 3]]


def tracks_to_rows(tracks: Tracks) -> np.ndarray:
    """MOT rows ``[N, 10]`` (1-based frames, conf 1) of tracks with boxes."""
    if tracks.boxes is None:
        raise DataError("scoring needs tracks with boxes")
    n = len(tracks)
    return np.c_[tracks.frame + 1, tracks.agent, tracks.boxes, np.ones(n), -np.ones((n, 3))]


def score_mot(gt: np.ndarray | str | Path, hyp: np.ndarray | Tracks | str | Path,
              frames: tuple[int, int] | None = None, iou: float = 0.5) -> dict[str, float]:
    """CLEAR-MOT and identity scores of tracker output against ground truth.

    Args:
        gt: MOT rows ``[N, >=7]`` or a file; rows with conf 0 are don't-care.
        hyp: tracker output as MOT rows, a file, or :class:`Tracks` with boxes (0-based).
        frames: ``(first, last)`` 1-based frames to score, inclusive (default: all gt frames).
        iou: smallest IoU of a match.

    Returns:
        ``mota, idf1, precision, recall`` (fractions), ``id_switches, false_positives,
        misses, matches, gt_boxes, frames`` (counts).
    """
    import motmetrics as mm

    gt = read_mot(gt) if isinstance(gt, str | Path) else np.asarray(gt, dtype=np.float64)
    if isinstance(hyp, Tracks):
        hyp = tracks_to_rows(hyp)
    elif isinstance(hyp, str | Path):
        hyp = read_mot(hyp)
    hyp = np.asarray(hyp, dtype=np.float64).reshape(-1, max(6, np.shape(hyp)[-1]))
    lo, hi = frames if frames is not None else (int(gt[:, 0].min()), int(gt[:, 0].max()))
    acc = mm.MOTAccumulator(auto_id=False)
    gt_by = _by_frame(gt, lo, hi)
    hyp_by = _by_frame(hyp, lo, hi)
    empty = np.zeros((0, gt.shape[1]))
    for f in range(lo, hi + 1):
        g = gt_by.get(f, empty)
        h = hyp_by.get(f, np.zeros((0, hyp.shape[1])))
        care = g[:, 6] > 0 if g.shape[1] > 6 else np.ones(len(g), dtype=bool)
        if (~care).any() and len(h):
            h = h[~_on_dont_care(g[:, 2:6], care, h[:, 2:6], iou)]
        g = g[care]
        dist = mm.distances.iou_matrix(g[:, 2:6], h[:, 2:6], max_iou=1 - iou)
        acc.update(g[:, 1].astype(int).tolist(), h[:, 1].astype(int).tolist(), dist, frameid=f)
    mh = mm.metrics.create()
    names = ["mota", "idf1", "precision", "recall", "num_switches", "num_false_positives",
             "num_misses", "num_matches", "num_objects", "num_frames"]
    s = mh.compute(acc, metrics=names, name="seq").iloc[0]
    return {"mota": float(s["mota"]), "idf1": float(s["idf1"]),
            "precision": float(s["precision"]), "recall": float(s["recall"]),
            "id_switches": int(s["num_switches"]),
            "false_positives": int(s["num_false_positives"]), "misses": int(s["num_misses"]),
            "matches": int(s["num_matches"]), "gt_boxes": int(s["num_objects"]),
            "frames": int(s["num_frames"])}


def _by_frame(rows: np.ndarray, lo: int, hi: int) -> dict[int, np.ndarray]:
    rows = rows[(rows[:, 0] >= lo) & (rows[:, 0] <= hi)]
    order = np.argsort(rows[:, 0], kind="stable")
    rows = rows[order]
    keys, starts = np.unique(rows[:, 0].astype(int), return_index=True)
    return {int(k): part for k, part in zip(keys, np.split(rows, starts[1:]), strict=True)}


def _on_dont_care(gt_boxes: np.ndarray, care: np.ndarray, hyp_boxes: np.ndarray,
                  iou: float) -> np.ndarray:
    """Hypotheses that a one-to-one IoU matching against all gt boxes gives to a conf-0
    box (MOTChallenge removes them before scoring)."""
    m = box_iou(gt_boxes, hyp_boxes)
    rows, cols = linear_sum_assignment(-m)
    drop = np.zeros(len(hyp_boxes), dtype=bool)
    for r, c in zip(rows, cols, strict=True):
        if m[r, c] >= iou and not care[r]:
            drop[c] = True
    return drop
