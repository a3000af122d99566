"""The UEA/UCR time-series classification archive's ``.ts`` files (e.g. NATOPS).

A ``.ts`` file is a header of ``@key value`` lines (``@problemName``, ``@timeStamps``,
``@missing``, ``@univariate``, ``@dimensions``, ``@equalLength``, ``@seriesLength``,
``@classLabel true <labels>``), then ``@data`` and one case per line: channels separated by
``:``, values by ``,``, ``?`` for a missing value, the class label last. ``#`` starts a
comment line. Channels of one case may differ in length (shorter ones are padded with NaN
at the end). The timestamped form ``(t,v),(t,v)`` is not supported.

:class:`UeaSource` turns a problem's ``_TRAIN``/``_TEST`` files into raw-layout
:class:`~motionseq.sequence.PoseSequence` objects; :func:`download_uea` fetches a problem
from the archive (``python -m motionseq.data.uea NAME DEST``).
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from motionseq.errors import DataError
from motionseq.sequence import PoseSequence
from motionseq.skeleton import RAW_LAYOUT

log = logging.getLogger(__name__)

# The archive's current address (what aeon downloads), then older ones it used to serve.
ARCHIVE_URLS = (
    "https://www.timeseriesclassification.com/aeon-toolkit/{name}.zip",
    "https://www.timeseriesclassification.com/ClassificationDownloads/{name}.zip",
    "http://www.timeseriesclassification.com/Downloads/{name}.zip",
)

_TRUE, _FALSE = "true", "false"


@dataclass
class TsData:
    """The cases of one ``.ts`` file.

    Attributes:
        series: one ``[T_i, D]`` float32 array per case (NaN where missing or padded).
        labels: one class label per case (strings as written), or None when the file has
            no labels (``@classLabel false``).
        problem: ``@problemName``.
        class_labels: the labels ``@classLabel`` declares, in its order.
        dimensions: D.
        header: every header value as written (lower-case keys, without ``@``).
    """

    series: list[np.ndarray]
    labels: list[str] | None
    problem: str = ""
    class_labels: list[str] = field(default_factory=list)
    dimensions: int = 0
    header: dict[str, str] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.series)

    def padded(self) -> np.ndarray:
        """All cases as one ``[N, T_max, D]`` array, NaN-padded at the end."""
        t = max((s.shape[0] for s in self.series), default=0)
        out = np.full((len(self.series), t, self.dimensions), np.nan, dtype=np.float32)
        for i, s in enumerate(self.series):
            out[i, : s.shape[0]] = s
        return out


def _flag(value: str, key: str, where: str) -> bool:
    v = value.strip().lower()
    if v not in (_TRUE, _FALSE):
        raise DataError(f"{where}: @{key} must be true or false, got {value!r}")
    return v == _TRUE


def read_ts(path: str | Path) -> TsData:
    """Parse one ``.ts`` file; DataError naming the file and line on anything malformed."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f".ts file not found: {path}")
    header: dict[str, str] = {}
    class_labels: list[str] = []
    has_labels: bool | None = None
    dims: int | None = None
    series: list[np.ndarray] = []
    labels: list[str] = []
    in_data = False
    # The archive's comments are not always UTF-8 (NATOPS has a Latin-1 name).
    with open(path, encoding="utf-8", errors="replace") as fh:
        for lineno, raw in enumerate(fh, 1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            where = f"{path}:{lineno}"
            if not in_data:
                if not line.startswith("@"):
                    raise DataError(f"{where}: expected a @header line, or @data before the "
                                    f"cases; got {line[:60]!r}")
                key, _, value = line[1:].partition(" ")
                key, value = key.lower(), value.strip()
                if key == "data":
                    in_data = True
                    if header.get("timestamps", _FALSE).lower() == _TRUE:
                        raise DataError(f"{path}: timestamped .ts files (@timeStamps true) "
                                        f"are not supported")
                    if has_labels is None:
                        has_labels = "targetlabel" in header
                    if dims is None and header.get("univariate", "").lower() == _TRUE:
                        dims = 1
                    continue
                header[key] = value
                if key == "timestamps":
                    _flag(value, "timeStamps", where)
                elif key in ("dimensions", "dimension"):
                    try:
                        dims = int(value)
                    except ValueError:
                        raise DataError(f"{where}: @dimensions must be a whole number, got "
                                        f"{value!r}") from None
                elif key == "classlabel":
                    flag, *names = value.split()
                    has_labels = _flag(flag or "", "classLabel", where)
                    class_labels = names
                    if has_labels and not names:
                        raise DataError(f"{where}: @classLabel true needs the class labels")
                elif key == "targetlabel":
                    has_labels = _flag(value, "targetLabel", where)
                continue
            case, label = _parse_case(line, bool(has_labels), where)
            if dims is None:
                dims = case.shape[1]
            if case.shape[1] != dims:
                raise DataError(f"{where}: {case.shape[1]} channels, expected {dims}"
                                + (" (@dimensions)" if "dimensions" in header else ""))
            if label is not None and class_labels and label not in class_labels:
                raise DataError(f"{where}: class label {label!r} is not one of @classLabel "
                                f"{' '.join(class_labels)}")
            series.append(case)
            if label is not None:
                labels.append(label)
    if not in_data:
        raise DataError(f"{path} has no @data line: not a .ts file, or truncated")
    if not series:
        raise DataError(f"{path} has no cases after @data")
    return TsData(series, labels if has_labels else None, header.get("problemname", path.stem),
                  class_labels, int(dims or 0), header)


def _parse_case(line: str, has_label: bool, where: str) -> tuple[np.ndarray, str | None]:
    """One case line → ``([T, D] float32, label or None)``, shorter channels NaN-padded."""
    if "(" in line:
        raise DataError(f"{where}: timestamped values '(t,v)' are not supported")
    parts = line.split(":")
    label = None
    if has_label:
        if len(parts) < 2:
            raise DataError(f"{where}: expected channels and a class label separated by ':', "
                            f"got {line[:60]!r}")
        label = parts.pop().strip()
        if not label:
            raise DataError(f"{where}: the class label is empty")
    channels = []
    for c, text in enumerate(parts):
        text = text.strip()
        if not text:
            raise DataError(f"{where}: channel {c + 1} is empty")
        values = [v.strip() for v in text.split(",")]
        try:
            channels.append(np.array([np.nan if v == "?" else float(v) for v in values],
                                     dtype=np.float32))
        except ValueError:
            bad = next(v for v in values if v != "?" and not _is_float(v))
            raise DataError(f"{where}: channel {c + 1} holds {bad!r}, not a number or "
                            f"'?'") from None
    t = max(len(ch) for ch in channels)
    out = np.full((t, len(channels)), np.nan, dtype=np.float32)
    for c, ch in enumerate(channels):
        out[: len(ch), c] = ch
    return out, label


def _is_float(v: str) -> bool:
    try:
        float(v)
        return True
    except ValueError:
        return False


def find_problem(root: str | Path, name: str) -> dict[str, Path]:
    """``{"train": ..., "test": ...}`` paths of problem ``name``: ``root/<name>_TRAIN.ts`` or
    ``root/<name>/<name>_TRAIN.ts`` (also a lower-case folder). DataError when absent."""
    root = Path(root)
    folders = [root, root / name, root / name.lower()]
    for folder in folders:
        files = {s: folder / f"{name}_{s.upper()}.ts" for s in ("train", "test")}
        if all(p.is_file() for p in files.values()):
            return files
    raise DataError(
        f"UEA problem {name!r} not found: looked for {name}_TRAIN.ts and {name}_TEST.ts in "
        f"{', '.join(str(f) for f in folders)}. Download it with "
        f"`python -m motionseq.data.uea {name} {root}` or point data.source.root (or "
        f"$MOTIONSEQ_UEA) at a folder that holds it"
    )


class UeaSource:
    """A UEA/UCR classification problem as raw-layout sequences ``[T, D, 1]``.

    Trailing frames where every channel is missing (padding of unequal-length problems)
    are dropped, so sequences keep their own length.

    Args:
        root: folder holding ``<name>_TRAIN.ts``/``_TEST.ts`` or ``<name>/`` with them.
        name: the problem, e.g. ``NATOPS``.
        fps: sampling rate of the series (the archive does not record it), for velocities.
    """

    def __init__(self, root: str, name: str, fps: float = 30.0) -> None:
        if not (np.isfinite(fps) and fps > 0):
            raise DataError(f"fps must be a positive number, got {fps}")
        self.root, self.name, self.fps = Path(root), name, float(fps)

    def load(self) -> dict[str, list[PoseSequence]]:
        out = {}
        for split, path in find_problem(self.root, self.name).items():
            data = read_ts(path)
            if data.labels is None:
                raise DataError(f"{path} has no class labels (@classLabel false): it cannot "
                                f"train a classifier")
            out[split] = [
                PoseSequence.from_values(_trim(x), self.fps, RAW_LAYOUT, label,
                                         f"{path.name}#{i}")
                for i, (x, label) in enumerate(zip(data.series, data.labels, strict=True))
            ]
        return out


def _trim(x: np.ndarray) -> np.ndarray:
    """``x [T, D]`` without its trailing all-NaN frames (at least one frame is kept)."""
    known = np.flatnonzero(~np.isnan(x).all(axis=1))
    return x[: max(int(known[-1]) + 1 if known.size else 1, 1)]


def download_uea(name: str, dest: str | Path, urls: tuple[str, ...] = ARCHIVE_URLS,
                 timeout: float = 120.0) -> Path:
    """Fetch problem ``name`` from the UEA/UCR archive into ``dest/<name>/`` (its
    ``_TRAIN.ts`` and ``_TEST.ts``). Nothing is written unless both files arrive; an
    existing copy is kept. Returns the folder. DataError when no address answers."""
    dest = Path(dest)
    target = dest / name
    if all((target / f"{name}_{s}.ts").is_file() for s in ("TRAIN", "TEST")):
        return target
    dest.mkdir(parents=True, exist_ok=True)
    errors = []
    with tempfile.TemporaryDirectory(prefix=f".{name}.", dir=dest) as tmp:
        archive = Path(tmp) / f"{name}.zip"
        for template in urls:
            url = template.format(name=name)
            log.info("downloading %s", url)
            try:
                with urllib.request.urlopen(url, timeout=timeout) as response, \
                        open(archive, "wb") as fh:
                    shutil.copyfileobj(response, fh)
                with zipfile.ZipFile(archive) as z:
                    members = {Path(m).name: m for m in z.namelist()}
                    wanted = [f"{name}_TRAIN.ts", f"{name}_TEST.ts"]
                    missing = [w for w in wanted if w not in members]
                    if missing:
                        raise DataError(f"{url} holds no {missing[0]}")
                    staged = Path(tmp) / name
                    staged.mkdir(exist_ok=True)
                    for w in wanted:
                        with z.open(members[w]) as src, open(staged / w, "wb") as out:
                            shutil.copyfileobj(src, out)
                break
            except (urllib.error.URLError, TimeoutError, OSError, zipfile.BadZipFile,
                    DataError) as e:
                errors.append(f"{url}: {e}")
        else:
            raise DataError(
                f"could not download UEA problem {name!r}:\n  " + "\n  ".join(errors)
                + f"\nCheck the name (case matters, e.g. NATOPS) and the network, or download "
                f"{name}.zip from https://www.timeseriesclassification.com by hand and put "
                f"{name}_TRAIN.ts and {name}_TEST.ts in {target}"
            )
        for w in (f"{name}_TRAIN.ts", f"{name}_TEST.ts"):
            read_ts(staged / w)  # a truncated or foreign file fails here, not at training
        target.mkdir(parents=True, exist_ok=True)
        for w in (f"{name}_TRAIN.ts", f"{name}_TEST.ts"):
            os.replace(staged / w, target / w)  # same filesystem: each move is atomic
    return target


def main(argv: list[str] | None = None) -> int:
    """``python -m motionseq.data.uea NAME DEST``: download a problem into DEST/NAME/."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m motionseq.data.uea",
                                     description="Download a UEA/UCR archive problem (.ts).")
    parser.add_argument("name", help="problem name as the archive spells it, e.g. NATOPS")
    parser.add_argument("dest", nargs="?", default="data/uea")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        print(download_uea(args.name, args.dest))
    except DataError as e:
        print(f"error: {e}")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
