"""Your own labelled sequences from a folder: ``data=sequences data.source.root=DIR``.

Layout: ``DIR/{train,test}/<label>/*.{npz,npy,csv}`` (and optionally ``DIR/val/``); files
may sit deeper under the label folder. Each file holds one sequence:

- ``.npz``: a saved :class:`~motionseq.sequence.PoseSequence` (its own layout and fps),
  or a plain array (under ``key``, or the only array in the file);
- ``.npy``: an array;
- ``.csv``: a numeric table, one row per frame (one optional header line; empty cells and
  ``nan`` are missing values).

Arrays are ``[T, F]`` or ``[T, J, C]``, NaN where unknown. Without a ``layout`` they are
layout-free (``raw``) sequences; with one (``mediapipe33``, ``penn13``, ``coco17``) they
must hold that layout's joints (``[T, J, 2|3]`` or ``[T, J*2|J*3]``) and get the pose
features. Every file must have the same number of values per frame.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from motionseq.errors import DataError
from motionseq.fileio import atomic_write
from motionseq.sequence import PoseSequence
from motionseq.skeleton import RAW_LAYOUT, get_layout

SPLITS = ("train", "val", "test")
SUFFIXES = (".npz", ".npy", ".csv")
_MISSING = {"", "nan", "na", "?"}


class SequenceFolderSource:
    """Labelled sequences from ``root/{train,test[,val]}/<label>/*.{npz,npy,csv}``.

    Args:
        root: the folder.
        layout: the skeleton layout of bare arrays; None = ``raw`` (no skeleton).
        fps: frames per second of bare arrays (saved PoseSequences keep their own).
        key: the array to read from a plain ``.npz`` holding several.
    """

    def __init__(self, root: str, layout: str | None = None, fps: float = 30.0,
                 key: str | None = None) -> None:
        self.root = Path(root)
        self.layout = layout or RAW_LAYOUT
        get_layout(self.layout)  # ConfigError listing the layouts when unknown
        if not (np.isfinite(fps) and fps > 0):
            raise DataError(f"fps must be a positive number, got {fps}")
        self.fps, self.key = float(fps), key

    def load(self) -> dict[str, list[PoseSequence]]:
        if not self.root.is_dir():
            raise DataError(
                f"sequence folder not found: {self.root}; expected "
                f"{self.root}/train/<label>/*.npz|npy|csv and {self.root}/test/<label>/... "
                f"(set data.source.root)"
            )
        splits: dict[str, list[PoseSequence]] = {}
        for split in SPLITS:
            folder = self.root / split
            if not folder.is_dir():
                if split != "val":
                    raise DataError(f"{self.root} has no {split}/ folder; expected "
                                    f"{folder}/<label>/*.npz|npy|csv")
                continue
            splits[split] = [read_sequence_file(path, label, self.layout, self.fps, self.key)
                             for label, path in _labelled_files(folder)]
        _check_channels(splits)
        return splits


def _labelled_files(folder: Path) -> list[tuple[str, Path]]:
    """``(label, path)`` of every sequence file under ``folder/<label>/``, sorted."""
    stray = sorted(p for p in folder.iterdir() if _is_sequence_file(p))
    if stray:
        raise DataError(f"{stray[0]} is not in a label folder: put each file under "
                        f"{folder}/<label>/")
    found = [(d.name, p) for d in sorted(folder.iterdir())
             if d.is_dir() and not d.name.startswith(".")
             for p in sorted(d.rglob("*")) if _is_sequence_file(p)]
    if not found:
        raise DataError(f"no sequence files (.npz, .npy, .csv) under {folder}/<label>/")
    return found


def _is_sequence_file(p: Path) -> bool:
    # hidden files include the temporary files of an interrupted atomic write
    return p.is_file() and p.suffix.lower() in SUFFIXES and not p.name.startswith(".")


def _check_channels(splits: Mapping[str, list[PoseSequence]]) -> None:
    """DataError when two sequences have a different number of values per frame."""
    first: PoseSequence | None = None
    for seqs in splits.values():
        for seq in seqs:
            if first is None:
                first = seq
            elif seq.num_channels != first.num_channels:
                raise DataError(
                    f"{seq.source} has {seq.num_channels} values per frame "
                    f"(shape {tuple(seq.keypoints.shape)}) but {first.source} has "
                    f"{first.num_channels} (shape {tuple(first.keypoints.shape)}); every "
                    f"sequence needs the same channels"
                )


def read_sequence_file(path: str | Path, label: str, layout: str = RAW_LAYOUT,
                       fps: float = 30.0, key: str | None = None) -> PoseSequence:
    """One sequence file as a labelled :class:`PoseSequence`; DataError naming the file."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".npz":
        try:
            with np.load(path, allow_pickle=False) as z:
                names = list(z.files)
                saved = {"keypoints", "visibility", "layout", "fps"} <= set(names)
                if not saved:
                    values = _pick_array(z, names, key, path)
        except DataError:
            raise
        except Exception as e:  # zip errors, truncated files, pickled objects
            raise DataError(f"cannot read sequence file {path}: {e}") from e
        if saved:
            seq = PoseSequence.load(path)
            return PoseSequence(seq.keypoints, seq.visibility, seq.fps, seq.layout, label,
                                str(path), seq.timestamps)
    elif suffix == ".npy":
        try:
            values = np.load(path, allow_pickle=False)
        except Exception as e:
            raise DataError(f"cannot read sequence file {path}: {e}") from e
    elif suffix == ".csv":
        values = read_csv_table(path)
    else:
        raise DataError(f"unsupported sequence file {path}: use .npz, .npy or .csv")
    return _to_sequence(values, label, layout, fps, path)


def _pick_array(z, names: list[str], key: str | None, path: Path) -> np.ndarray:
    if key is not None:
        if key not in names:
            raise DataError(f"{path} has no array {key!r} (data.source.key); it holds "
                            f"{', '.join(names) or 'nothing'}")
        return z[key]
    if len(names) != 1:
        raise DataError(f"{path} holds {len(names)} arrays ({', '.join(names)}): name the "
                        f"one to read with data.source.key")
    return z[names[0]]


def _to_sequence(values: np.ndarray, label: str, layout: str, fps: float, path: Path
                 ) -> PoseSequence:
    """``[T, F]`` or ``[T, J, C]`` numbers → a labelled sequence in ``layout``."""
    try:
        values = np.asarray(values, dtype=np.float32)
    except (TypeError, ValueError) as e:
        raise DataError(f"{path} does not hold numbers: {e}") from e
    if values.ndim not in (2, 3):
        raise DataError(f"{path} holds an array of shape {values.shape}: expected one "
                        f"sequence, [T, F] (frames x values) or [T, J, C]")
    if values.shape[0] == 0:
        raise DataError(f"{path} holds no frames")
    lay = get_layout(layout)
    if not lay.generic and values.ndim == 2:
        j = lay.num_joints
        if values.shape[1] not in (2 * j, 3 * j):
            raise DataError(f"{path} has {values.shape[1]} values per frame; layout "
                            f"{layout!r} needs {2 * j} or {3 * j} ({j} joints x 2 or 3)")
        values = values.reshape(values.shape[0], j, -1)
    return PoseSequence.from_values(values, fps, layout, label, str(path))


def read_csv_table(path: str | Path) -> np.ndarray:
    """A numeric CSV as ``[T, F]`` float32; one header line is skipped. DataError naming
    the line on a non-numeric cell or a row of another width."""
    path = Path(path)
    rows: list[list[float]] = []
    header = False
    try:
        with open(path, newline="", encoding="utf-8", errors="replace") as fh:
            for lineno, cells in enumerate(csv.reader(fh), 1):
                if not cells or all(not c.strip() for c in cells):
                    continue
                try:
                    row = [np.nan if c.strip().lower() in _MISSING else float(c) for c in cells]
                except ValueError:
                    if not rows and not header and _is_header(cells):
                        header = True  # one line of column names
                        continue
                    raise DataError(f"{path}:{lineno}: non-numeric value in {cells!r}") from None
                if rows and len(row) != len(rows[0]):
                    raise DataError(f"{path}:{lineno}: {len(row)} values, but earlier rows "
                                    f"have {len(rows[0])}")
                rows.append(row)
    except OSError as e:
        raise DataError(f"cannot read sequence file {path}: {e}") from e
    if not rows:
        raise DataError(f"{path} holds no rows of numbers")
    return np.asarray(rows, dtype=np.float32)


def _is_header(cells: list[str]) -> bool:
    """True when no cell is a number (a line of column names)."""
    for c in cells:
        try:
            float(c)
            return False
        except ValueError:
            pass
    return True


def save_sequence_folder(root: str | Path, splits: Mapping[str, Sequence[PoseSequence]],
                         fmt: str = "npz") -> Path:
    """Write labelled sequences as ``root/<split>/<label>/<n>.<fmt>``, readable by
    :class:`SequenceFolderSource`. Returns ``root``.

    ``fmt``: ``npz`` (the whole PoseSequence), ``npy`` (keypoints ``[T, J, C]``; raw
    ``[T, F, 1]`` as ``[T, F]``) or ``csv`` (``[T, J*C]``, no header). Files are written
    atomically.
    """
    if fmt not in ("npz", "npy", "csv"):
        raise DataError(f"unknown sequence file format {fmt!r}: use npz, npy or csv")
    root = Path(root)
    for split, seqs in splits.items():
        counts: dict[str, int] = {}
        for seq in seqs:
            if not seq.label:
                raise DataError(f"cannot save an unlabelled sequence ({seq.source}) in a "
                                f"folder per label")
            n = counts.get(seq.label, 0)
            counts[seq.label] = n + 1
            path = root / split / seq.label / f"{n:05d}.{fmt}"
            if fmt == "npz":
                seq.save(path)
                continue
            kp = seq.keypoints
            if fmt == "npy":
                arr = kp[:, :, 0] if get_layout(seq.layout).generic and kp.shape[2] == 1 else kp
                atomic_write(path, lambda tmp, a=arr: _write_npy(tmp, a))
            else:
                flat = kp.reshape(kp.shape[0], -1)
                atomic_write(path, lambda tmp, a=flat: np.savetxt(tmp, a, delimiter=",",
                                                                  fmt="%.9g"))
    return root


def _write_npy(path: Path, array: np.ndarray) -> None:
    with open(path, "wb") as fh:  # a handle: np.save would add a suffix to the name
        np.save(fh, array)
