"""Penn Action: 2326 sports and exercise clips, 15 actions, 13 annotated body joints per
frame (Zhang, Zhu and Derpanis, "From Actemes to Action", ICCV 2013;
http://dreamdragon.github.io/PennAction/).

Layout: ``<root>/labels/NNNN.mat``, one MATLAB file per clip (read with
:func:`scipy.io.loadmat`): ``x``, ``y`` ``[T, 13]`` pixels, ``visibility`` ``[T, 13]`` 0/1,
``bbox`` ``[T, 4]``, ``dimensions`` ``[H, W, T]``, ``action``, ``pose`` (the camera view:
front, back, left, right), ``train`` (1 train, -1 test: 1258 / 1068 clips).

How a clip becomes a :class:`~motionseq.sequence.PoseSequence` (``penn13`` layout):

- **Sides.** The README lists the joints as head, left/right shoulder, elbow, wrist, hip,
  knee, ankle, but the annotations name the sides the other way round from the subject's
  anatomy: in the front-view clips the joint stored as "left shoulder" lies on the
  image's left in 96% of the frames where both shoulders are visible (mean over clips),
  in the back-view clips on the image's right in 79%, while a subject facing the camera
  has the anatomical left on the image's right. MediaPipe, and so the live path, names
  sides anatomically, so ``swap_sides=True`` (the default) swaps every left/right pair on
  reading.
- **Occluded joints.** Annotators placed occluded joints too (a guess at where the hidden
  arm is), marked with visibility 0. Those positions are kept, with visibility 0: they
  are plausible, and MediaPipe likewise returns a guessed position with a low visibility
  for a hidden joint. The exception are invisible joints parked in the image's top-left
  corner (within :data:`CORNER_PX` pixels of (0, 0): (0.7, 0.7), (0.8, 0.8), (1, 1),
  (1.5, 1.5) ...; about 38% of the invisible joints, most of them in side-view clips, and
  two all-zero frames), which are unannotated placeholders and become NaN: taken as
  positions they would drag the hip centre halfway to the corner.
- **Coordinates.** Divided by the frame size from ``dimensions`` (x by the width, y by the
  height; ``image_normalized=True``), the convention of MediaPipe's output, so that Penn
  Action and extracted sequences share one coordinate convention (overlays, features).
  The feature path normalises by body centre and scale anyway.
- **Frame rate.** The label files carry none and the dataset ships JPEG frames, not
  videos; :data:`FPS` = 30 is assumed. It agrees with the data: rope skipping bobs the
  head at a median 0.066 cycles per frame, 2.0 Hz at 30 fps, a usual skipping cadence.

Reading all 2326 files takes about 1 s, so no cache is kept.
:func:`download_penn_action` fetches the public archive and keeps only ``labels/``.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import sys
import tarfile
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import numpy as np

from motionseq.errors import ConfigError, DataError
from motionseq.sequence import PoseSequence
from motionseq.skeleton import get_layout

__all__ = ["ACTIONS", "ARCHIVE_URL", "FPS", "PAGE_URL", "PennClip", "PennActionSource",
           "download_penn_action", "find_labels_dir", "read_clip", "read_penn_action"]

log = logging.getLogger(__name__)

ACTIONS: tuple[str, ...] = (
    "baseball_pitch", "baseball_swing", "bench_press", "bowl", "clean_and_jerk",
    "golf_swing", "jump_rope", "jumping_jacks", "pullup", "pushup", "situp", "squat",
    "strum_guitar", "tennis_forehand", "tennis_serve",
)
FPS = 30.0
# invisible joints at most this many pixels from the top-left corner are placeholders
CORNER_PX = 3.0
LAYOUT = "penn13"
NUM_CLIPS = 2326
PAGE_URL = "http://dreamdragon.github.io/PennAction/"
ARCHIVE_URL = "https://www.cis.upenn.edu/~kostas/Penn_Action.tar.gz"
_LABEL_NAME = re.compile(r"^\d+\.mat$")


@dataclass
class PennClip:
    """One Penn Action clip.

    Attributes:
        sequence: keypoints ``[T, 13, 2]`` in the ``penn13`` layout, label = the action,
            source = the clip id (``"0001"``).
        train: True for the official training split.
        view: the annotated camera view (``front``, ``back``, ``left``, ``right``).
        height, width: frame size in pixels.
    """

    sequence: PoseSequence
    train: bool
    view: str
    height: int
    width: int


def _field(mat: dict, key: str, path: Path) -> np.ndarray:
    if key not in mat:
        raise DataError(f"{path} is not a Penn Action label file: it has no {key!r} field")
    return np.asarray(mat[key])


def read_clip(path: str | Path, image_normalized: bool = True, swap_sides: bool = True
              ) -> PennClip:
    """Read one ``labels/NNNN.mat`` file (see the module doc for the conventions).

    Args:
        image_normalized: divide x by the frame width and y by its height; False keeps
            pixels.
        swap_sides: swap left and right so that sides are anatomical.

    Raises:
        DataError: the file is missing, unreadable or inconsistent.
    """
    from scipy.io import loadmat

    path = Path(path)
    try:
        mat = loadmat(path)
    except FileNotFoundError:
        raise DataError(f"Penn Action label file not found: {path}") from None
    except Exception as e:  # truncated or not a MATLAB file
        raise DataError(f"cannot read Penn Action label file {path}: {e}") from e
    x = _field(mat, "x", path).astype(np.float64)
    y = _field(mat, "y", path).astype(np.float64)
    vis = _field(mat, "visibility", path).astype(np.float32)
    dims = _field(mat, "dimensions", path).ravel()
    action = str(_field(mat, "action", path).ravel()[0]).strip()
    view = str(_field(mat, "pose", path).ravel()[0]).strip()
    train = int(_field(mat, "train", path).ravel()[0])
    joints = get_layout(LAYOUT).num_joints
    if x.ndim != 2 or x.shape[1] != joints or y.shape != x.shape or vis.shape != x.shape:
        raise DataError(f"{path}: x, y and visibility must all be [T, {joints}], got "
                        f"{x.shape}, {y.shape}, {vis.shape}")
    if dims.size != 3 or int(dims[2]) != x.shape[0]:
        raise DataError(f"{path}: dimensions {dims.tolist()} do not match {x.shape[0]} frames")
    if train not in (1, -1):
        raise DataError(f"{path}: train flag must be 1 or -1, got {train}")
    height, width = int(dims[0]), int(dims[1])
    kp = np.stack([x, y], axis=-1)
    # unannotated, not a guess: invisible joints parked in the image corner
    kp[(x <= CORNER_PX) & (y <= CORNER_PX) & (vis == 0)] = np.nan
    if image_normalized:
        if height <= 0 or width <= 0:
            raise DataError(f"{path}: frame size must be positive, got {height}x{width}")
        kp /= np.array([width, height], dtype=np.float64)
    if swap_sides:
        perm = get_layout(LAYOUT).flip_permutation()
        kp, vis = kp[:, perm], vis[:, perm]
    seq = PoseSequence(kp.astype(np.float32), vis, FPS, LAYOUT, label=action, source=path.stem)
    return PennClip(seq, train == 1, view, height, width)


def find_labels_dir(root: str | Path) -> Path:
    """``root/labels`` (or ``root`` itself when it holds the ``.mat`` files).

    Raises:
        DataError: no label files there, with how to get them.
    """
    root = Path(root)
    for cand in (root / "labels", root):
        if cand.is_dir() and any(_LABEL_NAME.match(p.name) for p in cand.iterdir()):
            return cand
    raise DataError(
        f"no Penn Action label files (labels/NNNN.mat) under {root}; download them with "
        f"`python -m motionseq.data.penn_action {root}` or point data.source.root at a copy"
    )


def read_penn_action(root: str | Path, image_normalized: bool = True,
                     swap_sides: bool = True) -> list[PennClip]:
    """Every clip under ``root`` (see :func:`find_labels_dir`), in clip-id order."""
    labels = find_labels_dir(root)
    files = sorted((p for p in labels.iterdir() if _LABEL_NAME.match(p.name)),
                   key=lambda p: int(p.stem))
    return [read_clip(p, image_normalized, swap_sides) for p in files]


def _subsample(seq: PoseSequence, stride: int, max_frames: int | None) -> PoseSequence:
    """Every ``stride``-th frame (fps / stride), then at most ``max_frames`` from the middle."""
    kp, vis = seq.keypoints[::stride], seq.visibility[::stride]
    if max_frames is not None and len(kp) > max_frames:
        start = (len(kp) - max_frames) // 2
        kp, vis = kp[start:start + max_frames], vis[start:start + max_frames]
    return PoseSequence(kp, vis, seq.fps / stride, seq.layout, seq.label, seq.source)


class PennActionSource:
    """Penn Action's official split: ``{"train": 1258 sequences, "test": 1068}``.

    The validation split is left to the data module (stratified from train).

    Args:
        root: the folder holding ``labels/`` (or the labels folder itself).
        actions: a subset of :data:`ACTIONS`; None = all 15.
        stride: keep every ``stride``-th frame (the frame rate drops to 30 / stride), for
            quick runs; 1 keeps all frames.
        max_frames: keep at most this many frames (after ``stride``) from the middle of
            each clip; None keeps all.
        limit_per_class: keep only the first N clips (by id) of each action in each split.
        image_normalized, swap_sides: see :func:`read_clip`.
    """

    def __init__(self, root: str, actions: list[str] | None = None, stride: int = 1,
                 max_frames: int | None = None, limit_per_class: int | None = None,
                 image_normalized: bool = True, swap_sides: bool = True) -> None:
        if actions is not None:
            actions = [actions] if isinstance(actions, str) else list(actions)
            unknown = sorted(set(actions) - set(ACTIONS))
            if unknown or not actions:
                raise ConfigError(f"unknown Penn Action actions {unknown or actions}; "
                                  f"known: {', '.join(ACTIONS)}")
        for name, v in (("stride", stride), ("max_frames", max_frames),
                        ("limit_per_class", limit_per_class)):
            if v is not None and (not isinstance(v, int) or v < 1):
                raise ConfigError(f"{name} must be a positive integer, got {v!r}")
        self.root = Path(root)
        self.actions = set(actions) if actions is not None else None
        self.stride, self.max_frames, self.limit_per_class = stride, max_frames, limit_per_class
        self.image_normalized, self.swap_sides = image_normalized, swap_sides

    def load(self) -> dict[str, list[PoseSequence]]:
        splits: dict[str, list[PoseSequence]] = {"train": [], "test": []}
        counts: dict[tuple[str, str], int] = {}
        for clip in read_penn_action(self.root, self.image_normalized, self.swap_sides):
            label = clip.sequence.label or ""
            if self.actions is not None and label not in self.actions:
                continue
            split = "train" if clip.train else "test"
            n = counts[split, label] = counts.get((split, label), 0) + 1
            if self.limit_per_class is not None and n > self.limit_per_class:
                continue
            seq = clip.sequence
            if self.stride > 1 or self.max_frames is not None:
                seq = _subsample(seq, self.stride, self.max_frames)
            splits[split].append(seq)
        return splits


# --- download ---------------------------------------------------------------------------

def _complete(labels: Path) -> bool:
    return labels.is_dir() and sum(1 for p in labels.iterdir()
                                   if _LABEL_NAME.match(p.name)) >= NUM_CLIPS


def download_penn_action(dest: str | Path, url: str = ARCHIVE_URL, timeout: float = 60.0
                         ) -> Path:
    """Fetch the Penn Action archive and keep only its ``labels/`` as ``dest/labels``.

    The archive (frames and labels, several GB) is streamed and never stored; the label
    files are gathered in a temporary folder beside ``dest/labels`` and moved into place
    in one rename, so an interrupted download leaves nothing half-written. A complete
    ``dest/labels`` is kept as it is. Returns ``dest``.

    Raises:
        DataError: the download fails or the archive holds no label files.
    """
    dest = Path(dest)
    labels = dest / "labels"
    if _complete(labels):
        log.info("%s already holds the %d Penn Action label files", labels, NUM_CLIPS)
        return dest
    dest.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".penn_action.", dir=dest))
    try:
        got = tmp / "labels"
        got.mkdir()
        log.info("downloading %s (several GB, streamed; only labels/ is kept)", url)
        n = 0
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response, \
                    tarfile.open(fileobj=response, mode="r|gz") as tar:
                for member in tar:
                    parts = PurePosixPath(member.name).parts
                    if not (member.isfile() and len(parts) >= 2 and parts[-2] == "labels"
                            and _LABEL_NAME.match(parts[-1])):
                        continue
                    fh = tar.extractfile(member)
                    if fh is not None:
                        (got / parts[-1]).write_bytes(fh.read())
                        n += 1
        except (urllib.error.URLError, TimeoutError, OSError, tarfile.TarError, EOFError) as e:
            raise DataError(
                f"could not download Penn Action from {url}: {e}. Check the network, or get "
                f"the archive by hand (see {PAGE_URL}) and extract its labels/ folder into "
                f"{dest}"
            ) from e
        if n == 0:
            raise DataError(f"{url} holds no labels/NNNN.mat files; is it the Penn Action "
                            f"archive? (see {PAGE_URL})")
        if labels.exists():  # an incomplete earlier copy: move it aside, then replace
            os.replace(labels, tmp / "old_labels")
        os.replace(got, labels)
        log.info("wrote %d label files to %s", n, labels)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return dest


def main(argv: list[str] | None = None) -> int:
    """``python -m motionseq.data.penn_action DEST``: download the labels into DEST/labels."""
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m motionseq.data.penn_action",
        description="Download Penn Action and keep its joint annotations (labels/).")
    parser.add_argument("dest", nargs="?", default="data/penn_action")
    parser.add_argument("--url", default=ARCHIVE_URL)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        print(download_penn_action(args.dest, args.url) / "labels")
    except DataError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
