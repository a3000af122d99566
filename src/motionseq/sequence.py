"""The two data contracts: :class:`PoseSequence` (one person over time) and
:class:`Tracks` (many agents' ground-plane or image paths). Both validate on
construction and read/write files.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from motionseq.errors import ConfigError, DataError
from motionseq.fileio import atomic_write, text_rows
from motionseq.skeleton import LAYOUTS, Layout, convert_keypoints, get_layout

log = logging.getLogger(__name__)


@dataclass
class PoseSequence:
    """Keypoints of one person over ``T`` frames.

    Attributes:
        keypoints: ``[T, J, C]`` float32, C = 2 (x, y) or 3 (x, y, z). NaN where the
            joint is unknown (e.g. no person in that frame): frames are never dropped.
            With the ``raw`` layout (no skeleton: sensor channels, IMU, strokes) J and C
            are whatever the data has, and ``[T, F]`` is stored as ``[T, F, 1]``.
        visibility: ``[T, J]`` float32 in [0, 1]; 0 where unknown.
        fps: frames per second (> 0).
        layout: name of the :class:`~motionseq.skeleton.Layout` (``mediapipe33`` ...).
        label: optional class name.
        source: optional origin (video path, dataset id).
        timestamps: optional ``[T]`` seconds; defaults to ``arange(T) / fps``.
    """

    keypoints: np.ndarray
    visibility: np.ndarray
    fps: float
    layout: str
    label: str | None = None
    source: str | None = None
    timestamps: np.ndarray | None = field(default=None)

    def __post_init__(self) -> None:
        kp = np.asarray(self.keypoints, dtype=np.float32)
        where = f" (source: {self.source})" if self.source else ""
        try:
            lay = get_layout(self.layout)
        except ConfigError as e:
            raise DataError(f"{e}{where}") from None
        if lay.generic:
            if kp.ndim == 2:  # [T, F]: one value per "joint"
                kp = kp[:, :, None]
            if kp.ndim != 3 or kp.shape[1] < 1 or kp.shape[2] < 1:
                raise DataError(
                    f"{lay.name!r} keypoints must be [T, F] or [T, J, C] with F, J, C >= 1, "
                    f"got shape {np.shape(self.keypoints)}{where}"
                )
        elif kp.ndim != 3 or kp.shape[2] not in (2, 3):
            raise DataError(f"keypoints must be [T, J, 2 or 3], got shape {kp.shape}{where}")
        elif kp.shape[1] != lay.num_joints:
            raise DataError(
                f"layout {lay.name!r} has {lay.num_joints} joints but keypoints have "
                f"{kp.shape[1]}{where}"
            )
        if np.isinf(kp).any():
            raise DataError(f"keypoints contain inf values{where}")
        vis = np.asarray(self.visibility, dtype=np.float32)
        if vis.shape != kp.shape[:2]:
            raise DataError(f"visibility must be [T, J] = {kp.shape[:2]}, got {vis.shape}{where}")
        if np.isnan(vis).any() or (vis < 0).any() or (vis > 1).any():
            raise DataError(f"visibility must be finite and within [0, 1]{where}")
        if not (np.isfinite(self.fps) and self.fps > 0):
            raise DataError(f"fps must be a positive number, got {self.fps}{where}")
        # A joint whose position is unknown cannot be visible.
        vis = np.where(np.isnan(kp).any(axis=2), 0.0, vis).astype(np.float32)
        if self.timestamps is None:
            ts = np.arange(kp.shape[0], dtype=np.float64) / float(self.fps)
        else:
            ts = np.asarray(self.timestamps, dtype=np.float64)
            if ts.shape != (kp.shape[0],):
                raise DataError(f"timestamps must be [T] = ({kp.shape[0]},), got {ts.shape}{where}")
            if ts.size > 1 and (np.diff(ts) < 0).any():
                raise DataError(f"timestamps must not decrease{where}")
        self.keypoints, self.visibility, self.timestamps = kp, vis, ts
        self.fps = float(self.fps)

    @classmethod
    def from_values(cls, values: np.ndarray, fps: float = 30.0, layout: str = "raw",
                    label: str | None = None, source: str | None = None) -> PoseSequence:
        """A sequence from bare values ``[T, F]`` (raw layout) or ``[T, J, C]``; a joint is
        visible (1) where all its values are finite, else 0."""
        kp = np.asarray(values, dtype=np.float32)
        lay = LAYOUTS.get(layout)  # an unknown name is reported by validation
        if kp.ndim == 2 and lay is not None and lay.generic:
            kp = kp[:, :, None]
        if kp.ndim == 3:
            vis = np.isfinite(kp).all(axis=2).astype(np.float32)
        else:  # a wrong shape: validation words the error
            vis = np.ones(kp.shape[:2], np.float32)
        return cls(kp, vis, fps, layout, label, source)

    @property
    def num_channels(self) -> int:
        """Values per frame, ``J * C``."""
        return int(self.keypoints.shape[1] * self.keypoints.shape[2])

    @property
    def num_frames(self) -> int:
        return int(self.keypoints.shape[0])

    def __len__(self) -> int:
        return self.num_frames

    @property
    def layout_spec(self) -> Layout:
        return get_layout(self.layout)

    def person_fraction(self) -> float:
        """Fraction of frames where at least one joint is known."""
        if self.num_frames == 0:
            return 0.0
        return float((~np.isnan(self.keypoints).all(axis=(1, 2))).mean())

    def to_layout(self, name: str) -> PoseSequence:
        """The same sequence re-indexed into another layout (missing joints are NaN)."""
        kp, vis = convert_keypoints(self.keypoints, self.visibility, self.layout, name)
        return PoseSequence(kp, vis, self.fps, name, self.label, self.source, self.timestamps)

    def save(self, path: str | Path) -> Path:
        """Write an ``.npz`` atomically."""
        meta = {"fps": np.float64(self.fps), "layout": np.str_(self.layout),
                "label": np.str_(self.label or ""), "source": np.str_(self.source or "")}

        def write(tmp: Path) -> None:
            with open(tmp, "wb") as fh:
                np.savez_compressed(fh, keypoints=self.keypoints, visibility=self.visibility,
                                    timestamps=self.timestamps, **meta)

        return atomic_write(path, write)

    @classmethod
    def load(cls, path: str | Path) -> PoseSequence:
        """Read an ``.npz`` written by :meth:`save`; DataError with the path on any problem."""
        path = Path(path)
        if not path.is_file():
            raise DataError(f"pose file not found: {path}")
        try:
            with np.load(path, allow_pickle=False) as z:
                return cls(
                    keypoints=z["keypoints"], visibility=z["visibility"], fps=float(z["fps"]),
                    layout=str(z["layout"]), label=str(z["label"]) or None,
                    source=str(z["source"]) or None, timestamps=z["timestamps"],
                )
        except DataError:
            raise
        except Exception as e:  # zip errors, missing keys, truncated files
            raise DataError(f"cannot read pose file {path}: {e}") from e


@dataclass
class Tracks:
    """Paths of many agents, one row per (frame, agent) observation.

    Attributes:
        frame: ``[N]`` int frame ids (may step by more than 1, e.g. 10 in ETH/UCY).
        agent: ``[N]`` int agent ids.
        xy: ``[N, 2]`` float positions (metres on the ground plane, or pixels).
        dt: seconds between two consecutive frame ids that are ``frame_step`` apart.
        frame_step: gap between consecutive frame ids; inferred when None.
        boxes: optional ``[N, 4]`` left, top, width, height in pixels.
    """

    frame: np.ndarray
    agent: np.ndarray
    xy: np.ndarray
    dt: float
    frame_step: int | None = None
    boxes: np.ndarray | None = None

    def __post_init__(self) -> None:
        frame = np.asarray(self.frame)
        agent = np.asarray(self.agent)
        xy = np.asarray(self.xy, dtype=np.float64)
        n = frame.shape[0] if frame.ndim == 1 else -1
        if frame.ndim != 1 or agent.shape != (n,) or xy.shape != (n, 2):
            raise DataError(
                f"Tracks need frame [N], agent [N], xy [N, 2]; got {frame.shape}, "
                f"{agent.shape}, {xy.shape}"
            )
        if n and not (np.allclose(frame, np.round(frame), rtol=0, atol=1e-6)
                      and np.allclose(agent, np.round(agent), rtol=0, atol=1e-6)):
            raise DataError("frame and agent ids must be whole numbers")
        if not np.isfinite(xy).all():
            raise DataError("track positions contain NaN or inf")
        if not (np.isfinite(self.dt) and self.dt > 0):
            raise DataError(f"dt must be a positive number of seconds, got {self.dt}")
        frame = np.round(frame).astype(np.int64)
        agent = np.round(agent).astype(np.int64)
        order = np.lexsort((agent, frame))
        frame, agent, xy = frame[order], agent[order], xy[order]
        if n > 1:
            dup = (np.diff(frame) == 0) & (np.diff(agent) == 0)
            if dup.any():
                i = int(np.argmax(dup))
                raise DataError(f"agent {agent[i]} appears twice in frame {frame[i]}")
        if self.boxes is not None:
            boxes = np.asarray(self.boxes, dtype=np.float64)
            if boxes.shape != (n, 4):
                raise DataError(f"boxes must be [N, 4], got {boxes.shape}")
            self.boxes = boxes[order]
        if self.frame_step is None:
            self.frame_step = infer_frame_step(frame)
        self.frame, self.agent, self.xy = frame, agent, xy
        self.dt = float(self.dt)

    def __len__(self) -> int:
        return int(self.frame.shape[0])

    def agents(self) -> np.ndarray:
        """Sorted unique agent ids."""
        return np.unique(self.agent)

    def path(self, agent_id: int) -> tuple[np.ndarray, np.ndarray]:
        """``(frames [n], xy [n, 2])`` of one agent, in time order."""
        sel = self.agent == agent_id
        return self.frame[sel], self.xy[sel]

    def save_txt(self, path: str | Path) -> Path:
        """Write ETH/UCY-style text: tab-separated ``frame agent x y`` rows."""

        def write(tmp: Path) -> None:
            with open(tmp, "w") as fh:
                for f, a, (x, y) in zip(self.frame, self.agent, self.xy, strict=True):
                    fh.write(f"{f:d}\t{a:d}\t{x:.6f}\t{y:.6f}\n")

        return atomic_write(path, write)

    @classmethod
    def load_txt(cls, path: str | Path, dt: float = 0.4, frame_step: int | None = None) -> Tracks:
        """Read ``frame agent x y`` rows (tabs, spaces or commas; extra columns ignored).

        ``dt`` is the time between frames ``frame_step`` apart (0.4 s in ETH/UCY).
        Rows whose frame goes back in time are kept (rows are sorted by frame) and reported
        in a warning, as are rows with NaN, which are dropped (raw ETH/UCY files hold a few).
        """
        path = Path(path)
        rows, lines = [], []
        for lineno, parts, line in text_rows(path, "tracks file"):
            try:
                rows.append([float(p) for p in parts[:4]])
            except ValueError:
                raise DataError(f"{path}:{lineno}: expected 'frame id x y', got {line.strip()!r}") from None
            if len(rows[-1]) < 4:
                raise DataError(f"{path}:{lineno}: expected 4 columns, got {len(parts)}")
            lines.append(lineno)
        if not rows:
            raise DataError(f"tracks file is empty: {path}")
        a = np.asarray(rows)
        back = np.flatnonzero(np.diff(a[:, 0]) < 0)
        if back.size:
            i = int(back[0]) + 1
            log.warning("%s:%d: frame %g comes after frame %g (%d such rows); the rows are "
                        "sorted by frame", path, lines[i], a[i, 0], a[i - 1, 0], back.size)
        keep = np.isfinite(a).all(axis=1)
        if not keep.all():
            log.warning("%s: %d rows with NaN dropped", path, int((~keep).sum()))
        a = a[keep]
        if not len(a):
            raise DataError(f"tracks file has no rows without NaN: {path}")
        return cls(frame=a[:, 0], agent=a[:, 1], xy=a[:, 2:4], dt=dt, frame_step=frame_step)


def infer_frame_step(frames: np.ndarray) -> int:
    """The most common positive gap between sorted unique frame ids (1 when undefined)."""
    u = np.unique(np.asarray(frames))
    if u.size < 2:
        return 1
    gaps = np.diff(u)
    vals, counts = np.unique(gaps, return_counts=True)
    return int(vals[np.argmax(counts)])
