"""An on-disk store of variable-length feature sequences, read lazily from sharded
``.npy`` files, for datasets that do not fit in memory.

Layout of a store folder::

    manifest.json                 format, feature size, class names, statistics, splits
    <split>-NNNNN.frames.npy      float32 [frames, F]: the shard's sequences end to end
    <split>-NNNNN.index.npy       int64 [sequences, 3]: offset, length, label

A store is written into a temporary sibling folder and renamed into place when complete,
so it either exists whole or not at all, and processes that write the same store at once
(DDP ranks) leave one intact copy. Readers hold the index only and read each item's frames
from its shard when it is asked for (each process opens the files on first use, so a
dataset goes to DataLoader workers without copying), so memory holds the items in use,
not the store.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from motionseq.errors import DataError

FORMAT = 1
MANIFEST = "manifest.json"
SHARD_MB = 64


class RunningStats:
    """Per-channel mean and std of ``[T, F]`` arrays added one at a time, in float64.

    The same sums in the same order as :func:`motionseq.data.features.feature_stats`, so
    adding the arrays it would see gives the same statistics, without holding them.
    """

    def __init__(self) -> None:
        self.n = 0
        self.total: np.ndarray | float = 0.0
        self.total_sq: np.ndarray | float = 0.0

    def add(self, x: np.ndarray) -> None:
        x64 = np.asarray(x).astype(np.float64)
        self.n += x64.shape[0]
        self.total = self.total + x64.sum(axis=0)
        self.total_sq = self.total_sq + (x64**2).sum(axis=0)

    def result(self) -> tuple[np.ndarray, np.ndarray]:
        """``(mean [F], std [F])`` float32; std floored at 1e-3."""
        if self.n == 0:
            raise DataError("cannot compute feature statistics of an empty dataset")
        mean = self.total / self.n
        var = np.maximum(self.total_sq / self.n - mean**2, 0.0)
        return mean.astype(np.float32), np.maximum(np.sqrt(var), 1e-3).astype(np.float32)


class _SplitWriter:
    """Appends sequences of one split to shards of at most ``shard_bytes`` of frames."""

    def __init__(self, folder: Path, name: str, dim: int, shard_bytes: int) -> None:
        self.folder, self.name, self.dim, self.shard_bytes = folder, name, dim, shard_bytes
        self.shards: list[dict[str, Any]] = []
        self._frames: list[np.ndarray] = []
        self._index: list[tuple[int, int, int]] = []
        self._offset = 0
        self.sequences = self.frames = 0

    def add(self, x: np.ndarray, label: int) -> None:
        x = np.ascontiguousarray(x, dtype=np.float32)
        if x.ndim != 2 or x.shape[1] != self.dim or x.shape[0] == 0:
            raise DataError(f"{self.name} sequence {self.sequences} must be a non-empty "
                            f"[T, {self.dim}] array, got {x.shape}")
        self._frames.append(x)
        self._index.append((self._offset, x.shape[0], int(label)))
        self._offset += x.shape[0]
        self.sequences += 1
        self.frames += x.shape[0]
        if self._offset * self.dim * 4 >= self.shard_bytes:
            self.flush()

    def flush(self) -> None:
        if not self._index:
            return
        stem = f"{self.name}-{len(self.shards):05d}"
        np.save(self.folder / f"{stem}.frames.npy", np.concatenate(self._frames))
        np.save(self.folder / f"{stem}.index.npy", np.asarray(self._index, dtype=np.int64))
        self.shards.append({"frames": f"{stem}.frames.npy", "index": f"{stem}.index.npy",
                            "sequences": len(self._index), "frame_count": self._offset})
        self._frames, self._index, self._offset = [], [], 0


def write_store(root: str | Path, splits: dict[str, Iterable[tuple[np.ndarray, int]]],
                feature_dim: int, class_names: list[str], meta: dict[str, Any] | None = None,
                stats_split: str = "train", shard_mb: float = SHARD_MB) -> SequenceStore:
    """Write ``{split: iterable of (features [T, F], label)}`` as a store at ``root``.

    Items are consumed one at a time (memory holds one shard of frames at most) and the
    normaliser statistics of ``stats_split`` are accumulated as they pass. Returns the
    store opened for reading; when another process finished the same store first, that
    one (the caller checks ``meta``).
    """
    root = Path(root)
    root.parent.mkdir(parents=True, exist_ok=True)
    tmp = root.parent / f".{root.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        manifest: dict[str, Any] = {"format": FORMAT, "feature_dim": int(feature_dim),
                                    "class_names": list(class_names), "meta": meta or {},
                                    "splits": {}}
        stats = RunningStats()
        for name, items in splits.items():
            writer = _SplitWriter(tmp, name, int(feature_dim), int(shard_mb * 2**20))
            for x, label in items:
                writer.add(x, label)
                if name == stats_split:
                    stats.add(x)
            writer.flush()
            manifest["splits"][name] = {"sequences": writer.sequences, "frames": writer.frames,
                                        "shards": writer.shards}
        if stats.n:
            mean, std = stats.result()
            manifest["stats"] = {"split": stats_split, "mean": mean.tolist(),
                                 "std": std.tolist()}
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n")
        try:
            os.rename(tmp, root)
        except OSError:
            if not (root / MANIFEST).is_file():
                raise
            shutil.rmtree(tmp)  # another process completed this store first
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return SequenceStore(root)


class SequenceStore:
    """A store folder opened for reading: its manifest, and a dataset per split."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        path = self.root / MANIFEST
        if not path.is_file():
            raise DataError(f"no sequence store at {self.root} (no {MANIFEST})")
        self.manifest = json.loads(path.read_text())
        if self.manifest.get("format") != FORMAT:
            raise DataError(f"{self.root} is a store of format {self.manifest.get('format')}; "
                            f"this motionseq reads format {FORMAT}: delete it to rewrite it")

    @property
    def feature_dim(self) -> int:
        return int(self.manifest["feature_dim"])

    @property
    def class_names(self) -> list[str]:
        return list(self.manifest["class_names"])

    @property
    def meta(self) -> dict[str, Any]:
        return dict(self.manifest.get("meta") or {})

    @property
    def splits(self) -> list[str]:
        return list(self.manifest["splits"])

    def stats(self) -> tuple[np.ndarray, np.ndarray]:
        """``(mean [F], std [F])`` recorded while writing."""
        if "stats" not in self.manifest:
            raise DataError(f"{self.root} holds no feature statistics (its train split is empty)")
        s = self.manifest["stats"]
        return np.asarray(s["mean"], dtype=np.float32), np.asarray(s["std"], dtype=np.float32)

    def size_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.root.iterdir() if p.is_file())

    def dataset(self, split: str) -> StoreDataset:
        if split not in self.manifest["splits"]:
            raise DataError(f"{self.root} has no {split!r} split (it has {self.splits})")
        return StoreDataset(self.root, self.manifest["splits"][split]["shards"])


class StoreDataset(Dataset):
    """One split of a store, read lazily. Items are ``{"x": [T, F] float32, "y": int64
    scalar}`` as :class:`~motionseq.data.datasets.SequenceDataset`'s.

    Only the index (three integers a sequence) is in memory. An item is one positioned
    read (``os.preadv``) of its frames into a fresh array: the page cache keeps what is
    read often, and the process holds the items in use, whatever the store's size. (A
    memory map would do the same reads, but every page it touches, and on current kernels
    the whole large folio around it, stays in the process's resident memory.) Files are
    opened on first use in each process and never pickled, so DataLoader workers open
    their own.
    """

    def __init__(self, root: str | Path, shards: list[dict[str, Any]]) -> None:
        self.root = Path(root)
        self.files = [s["frames"] for s in shards]
        index = [np.load(self.root / s["index"]) for s in shards]
        self.shard = np.concatenate([np.full(len(ix), k, dtype=np.int32)
                                     for k, ix in enumerate(index)]) if index else \
            np.zeros(0, dtype=np.int32)
        table = np.concatenate(index) if index else np.zeros((0, 3), dtype=np.int64)
        self.offsets, self.lengths = table[:, 0].copy(), table[:, 1].copy()
        self.labels = torch.as_tensor(table[:, 2].copy())
        self._open: list[tuple[int, int, int]] | None = None  # (fd, data start, F) a shard

    def __len__(self) -> int:
        return len(self.lengths)

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_open"] = None  # descriptors belong to a process: each opens its own
        return state

    def __del__(self) -> None:
        for fd, _, _ in self._open or []:
            try:
                os.close(fd)
            except OSError:
                pass

    def _files(self) -> list[tuple[int, int, int]]:
        if self._open is None:
            opened = []
            for name in self.files:
                with open(self.root / name, "rb") as fh:
                    version = np.lib.format.read_magic(fh)
                    header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                              else np.lib.format.read_array_header_2_0)
                    shape, fortran, dtype = header(fh)
                    start = fh.tell()
                if fortran or dtype != np.float32 or len(shape) != 2:
                    raise DataError(f"{self.root / name} is not a [frames, F] float32 array")
                opened.append((os.open(self.root / name, os.O_RDONLY), start, int(shape[1])))
            self._open = opened
        return self._open

    def read(self, shard: int, start: int, frames: int) -> np.ndarray:
        """``frames`` rows of shard ``shard`` from row ``start``: ``[frames, F]`` float32."""
        fd, data, dim = self._files()[shard]
        out = np.empty((frames, dim), dtype=np.float32)
        view = memoryview(out).cast("B")
        pos, done = data + start * dim * 4, 0
        while done < out.nbytes:  # a positioned read may return less than asked
            n = os.preadv(fd, [view[done:]], pos + done)
            if n == 0:
                raise DataError(f"{self.root / self.files[shard]} is shorter than its index "
                                f"says: the store is damaged, delete it to write it anew")
            done += n
        return out

    def features(self, i: int) -> np.ndarray:
        """Sequence ``i``'s ``[T, F]`` features."""
        return self.read(int(self.shard[i]), int(self.offsets[i]), int(self.lengths[i]))

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        return {"x": torch.from_numpy(self.features(i)), "y": self.labels[i]}

    def iter_chunks(self, frames: int = 1 << 20) -> Iterator[np.ndarray]:
        """Every frame of the split in ``[<= frames, F]`` blocks, in storage order."""
        rows = np.zeros(len(self.files), dtype=np.int64)
        np.add.at(rows, self.shard, self.lengths)
        for k, total in enumerate(rows.tolist()):
            for start in range(0, total, frames):
                yield self.read(k, start, min(frames, total - start))


def scan_stats(dataset: StoreDataset, frames: int = 1 << 20) -> tuple[np.ndarray, np.ndarray]:
    """Mean and std of a split computed by streaming its shards in blocks of ``frames``."""
    stats = RunningStats()
    for chunk in dataset.iter_chunks(frames):
        stats.add(chunk)
    return stats.result()
