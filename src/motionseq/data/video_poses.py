"""Poses extracted from your own videos: the output folder of batch extraction
(:mod:`motionseq.extract.batch`) as an action data source.

``make extract ARGS="input=VIDEOS output=OUT"`` writes ``OUT/<label>/.../<name>.npz`` (one
:class:`~motionseq.sequence.PoseSequence` per video) and ``OUT/manifest.csv`` (one row per
video: ``path`` relative to VIDEOS, ``label`` = the first folder under VIDEOS, ``status``
ok/failed, ``person_fraction`` ...). :class:`ExtractedPosesSource` reads the rows with status
ok and splits them into train and test.

Split file format (``split_file=``): a text or CSV file, one video per line,
``relative_path,split`` with ``split`` one of ``train``, ``val``, ``test``; the path is the
manifest's (relative to VIDEOS, e.g. ``squat/a.mp4``), or the same path with the ``.npz``
suffix or no suffix. Commas, tabs or spaces separate the two fields; blank lines, lines
starting with ``#`` and a ``path,split`` header are skipped::

    # path, split
    squat/a.mp4, train
    squat/b.mp4, test
"""

from __future__ import annotations

import logging
from collections import Counter
from pathlib import Path, PurePosixPath

from motionseq.data.datasets import stratified_split
from motionseq.errors import ConfigError, DataError
from motionseq.sequence import PoseSequence

__all__ = ["ExtractedPosesSource", "read_split_file"]

log = logging.getLogger(__name__)

SPLITS = ("train", "val", "test")


def _key(path: str) -> str:
    """A video's path without its suffix, the key both manifests and split files match on."""
    p = PurePosixPath(path.strip().replace("\\", "/"))
    return str(p.with_suffix("")) if p.suffix else str(p)


def read_split_file(path: str | Path) -> dict[str, str]:
    """``{video key (path without suffix): split}`` from a split file (see the module doc).

    Raises:
        DataError: the file is missing, a line is malformed, a split name is unknown or a
            video is listed twice.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"split file not found: {path}")
    out: dict[str, str] = {}
    with open(path) as fh:
        for lineno, line in enumerate(fh, 1):
            text = line.strip()
            if not text or text.startswith("#"):
                continue
            parts = text.replace("\t", ",").split(",")
            if len(parts) == 1:
                parts = text.rsplit(None, 1)
            if len(parts) != 2 or not parts[0].strip():
                raise DataError(f"{path}:{lineno}: expected 'relative_path,train|test', got "
                                f"{text!r}")
            video, split = parts[0].strip(), parts[1].strip().lower()
            if lineno == 1 and (video.lower(), split) == ("path", "split"):
                continue
            if split not in SPLITS:
                raise DataError(f"{path}:{lineno}: split must be one of {', '.join(SPLITS)}, "
                                f"got {parts[1].strip()!r}")
            key = _key(video)
            if key in out:
                raise DataError(f"{path}:{lineno}: {video} is listed twice")
            out[key] = split
    if not out:
        raise DataError(f"split file {path} lists no videos")
    return out


class ExtractedPosesSource:
    """Labelled pose sequences from a batch extraction output folder.

    Args:
        root: the extraction output folder (holds ``manifest.csv``).
        test_fraction: share of each label's videos held out for testing, drawn with
            ``seed`` (stratified; the same folder and seed always give the same split).
        split_file: a file that assigns each video to train/val/test instead (see the module
            doc); ``test_fraction`` and ``seed`` are then unused.
        seed: seed of the random split.
        min_person_fraction: skip videos where a person was found in fewer than this share
            of the frames.

    Failed videos, videos without a label folder and videos below ``min_person_fraction``
    are skipped, each with a logged count. A label with a single video trains only (a
    warning says so).
    """

    def __init__(self, root: str, test_fraction: float = 0.2, split_file: str | None = None,
                 seed: int = 0, min_person_fraction: float = 0.5) -> None:
        if not 0.0 < float(test_fraction) < 1.0:
            raise ConfigError(f"test_fraction must be within (0, 1), got {test_fraction!r}")
        if not 0.0 <= float(min_person_fraction) <= 1.0:
            raise ConfigError(f"min_person_fraction must be within [0, 1], got "
                              f"{min_person_fraction!r}")
        self.root = Path(root)
        self.test_fraction, self.seed = float(test_fraction), int(seed)
        self.split_file = Path(split_file) if split_file else None
        self.min_person_fraction = float(min_person_fraction)
        self._listed: set[str] = set()

    def _rows(self) -> list[dict[str, str]]:
        """The manifest's ok rows with a label, sorted by path; remembers every listed path."""
        from motionseq.extract.batch import MANIFEST, read_manifest

        manifest = self.root / MANIFEST
        hint = f'make extract ARGS="input=VIDEOS output={self.root}"'
        if not manifest.is_file():
            raise DataError(f"no {MANIFEST} in {self.root}: extract poses from your videos "
                            f"first with `{hint}`, or point data.source.root at its output")
        rows = read_manifest(manifest)
        if not rows:
            raise DataError(f"{manifest} is empty or unreadable; run `{hint}` again")
        self._listed = {_key(p) for p in rows}
        ok = [r for r in rows.values() if r["status"] == "ok"]
        failed = len(rows) - len(ok)
        if failed:
            log.warning("%d of %d videos in %s failed extraction and are skipped (reasons in "
                        "the manifest's 'reason' column)", failed, len(rows), manifest)
        unlabelled = [r for r in ok if not r["label"]]
        if unlabelled:
            log.warning("%d videos sit directly in the input folder, not in a label folder, "
                        "and are skipped (e.g. %s)", len(unlabelled), unlabelled[0]["path"])
        ok = sorted((r for r in ok if r["label"]), key=lambda r: r["path"])
        if not ok:
            raise DataError(f"{manifest} lists no successfully extracted video in a label "
                            f"folder (INPUT/<label>/<video>); check the 'reason' column")
        return ok

    def _sequences(self, rows: list[dict[str, str]]) -> list[tuple[dict[str, str], PoseSequence]]:
        out, missing, sparse = [], [], 0
        for row in rows:
            path = self.root / PurePosixPath(row["path"]).with_suffix(".npz")
            if not path.is_file():
                missing.append(path)
                continue
            seq = PoseSequence.load(path)
            if seq.person_fraction() < self.min_person_fraction:
                sparse += 1
                continue
            seq.label = row["label"]
            seq.source = row["path"]
            out.append((row, seq))
        if missing:
            log.warning("%d videos listed as ok have no pose file and are skipped (e.g. %s); "
                        "rerun the extraction to redo them", len(missing), missing[0])
        if sparse:
            log.warning("%d videos have a person in fewer than %.0f%% of their frames and are "
                        "skipped (data.source.min_person_fraction)", sparse,
                        100 * self.min_person_fraction)
        if not out:
            raise DataError(f"no usable pose files in {self.root}: every video was skipped "
                            f"(see the warnings above)")
        return out

    def load(self) -> dict[str, list[PoseSequence]]:
        items = self._sequences(self._rows())
        labels = Counter(seq.label for _, seq in items)
        if len(labels) < 2:
            raise DataError(f"{self.root} holds videos of a single label ({next(iter(labels))}); "
                            f"a classifier needs at least two label folders")
        single = sorted(k for k, n in labels.items() if n == 1)
        if single:
            log.warning("labels with a single video are used for training only, never tested: "
                        "%s; add more videos of them", ", ".join(single))
        if self.split_file is not None:
            return self._by_file(items)
        keep, held = stratified_split([seq.label for _, seq in items], self.test_fraction,
                                      self.seed)
        return {"train": [items[i][1] for i in keep], "test": [items[i][1] for i in held]}

    def _by_file(self, items: list[tuple[dict[str, str], PoseSequence]]
                 ) -> dict[str, list[PoseSequence]]:
        assert self.split_file is not None
        wanted = read_split_file(self.split_file)
        unknown = sorted(set(wanted) - self._listed)
        if unknown:
            raise DataError(f"{self.split_file} names {len(unknown)} videos that are not in the "
                            f"manifest of {self.root}, e.g. {unknown[0]}; paths are relative to "
                            f"the extraction's input folder")
        out: dict[str, list[PoseSequence]] = {s: [] for s in SPLITS}
        unlisted = []
        for row, seq in items:
            split = wanted.get(_key(row["path"]))
            if split is None:
                unlisted.append(row["path"])
            else:
                out[split].append(seq)
        if unlisted:
            log.warning("%d videos are not in %s and are left out (e.g. %s)", len(unlisted),
                        self.split_file, unlisted[0])
        return {k: v for k, v in out.items() if v or k != "val"}
