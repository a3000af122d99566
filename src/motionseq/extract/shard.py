"""Shards of a video collection for parallel extraction jobs (a SLURM array), and the merge
of the manifests the shards write.

A video belongs to shard ``int(sha1(relative path)) % n``: each video's shard depends on its
own path alone, so adding videos to the collection never moves the others to another shard
(their outputs and manifest rows stay valid), and shards come out about equally large.

Shard ``i`` of ``n`` (``i`` counted from 0, as ``$SLURM_ARRAY_TASK_ID`` with
``--array=0-<n-1>``) writes its rows to ``OUTPUT/manifest.shard-<i>-of-<n>.csv``; the
``.npz`` files of all shards go to the same OUTPUT tree. When every shard is done::

    motionseq-merge-manifests data/poses          # → data/poses/manifest.csv

merges ``OUTPUT/manifest.shard-*-of-*.csv`` into ``OUTPUT/manifest.csv``, the manifest an
unsharded run reads and writes. Exit status: 0 when every video is ok and no shard is
missing, 1 otherwise (the report says which), 2 on a usage error.
"""

from __future__ import annotations

import argparse
import csv
import glob
import hashlib
import io
import logging
import os
import re
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from motionseq.errors import ConfigError, MotionseqError
from motionseq.fileio import atomic_write

__all__ = ["parse_shard", "shard_arg", "shard_of", "select_shard", "shard_manifest_name",
           "find_shard_manifests", "shard_temp_files", "MergeReport", "merge_manifests",
           "main"]

log = logging.getLogger(__name__)

T = TypeVar("T")

MANIFEST = "manifest.csv"  # the merged (or unsharded) manifest, as motionseq.extract.batch
_SHARD_FILE = re.compile(r"^manifest\.shard-(\d+)-of-(\d+)\.csv$")


def parse_shard(text: str) -> tuple[int, int]:
    """``"i/n"`` → ``(i, n)`` with ``0 <= i < n``; ConfigError otherwise."""
    m = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", str(text))
    if not m:
        raise ConfigError(f"shard must be i/n (shard i of n, i counted from 0), got {text!r}; "
                          f"e.g. shard=$SLURM_ARRAY_TASK_ID/8 with sbatch --array=0-7")
    i, n = int(m.group(1)), int(m.group(2))
    if n < 1 or i >= n:
        raise ConfigError(f"shard {text}: i must be in 0..n-1 and n at least 1 (got i={i}, "
                          f"n={n}); with sbatch --array=0-{max(n - 1, 0)}, i is "
                          f"$SLURM_ARRAY_TASK_ID")
    return i, n


def shard_arg(text: str) -> tuple[int, int]:
    """:func:`parse_shard` for ``argparse`` (``type=shard_arg``)."""
    try:
        return parse_shard(text)
    except ConfigError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _key(item: object) -> str:
    return Path(item).as_posix() if isinstance(item, str | os.PathLike) else str(item)


def shard_of(key: str | os.PathLike, n: int) -> int:
    """The shard (0..n-1) of a relative path: a hash of its POSIX form, stable across
    runs, machines and Python versions."""
    digest = hashlib.sha1(_key(key).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % n


def select_shard(items: Iterable[T], i: int, n: int,
                 key: Callable[[T], str] | None = None) -> list[T]:
    """The items of shard ``i`` of ``n``, in their given order.

    Args:
        items: relative paths (``Path`` or ``str``; the path below INPUT) or any objects
            with ``key``.
        key: the string an item is hashed by (default: its POSIX path).
    """
    if n < 1 or not 0 <= i < n:
        raise ConfigError(f"shard {i}/{n}: i must be in 0..n-1")
    key = key or _key
    return [item for item in items if shard_of(key(item), n) == i]


def shard_manifest_name(i: int, n: int) -> str:
    """``manifest.shard-<i>-of-<n>.csv``: the manifest shard ``i`` of ``n`` writes."""
    return f"manifest.shard-{i}-of-{n}.csv"


def find_shard_manifests(output: str | Path) -> list[Path]:
    """The shard manifests in ``output``, by shard count then shard number."""
    found = []
    for p in Path(output).glob("manifest.shard-*-of-*.csv"):
        m = _SHARD_FILE.match(p.name)
        if m:
            found.append((int(m.group(2)), int(m.group(1)), p))
    return [p for _, _, p in sorted(found)]


def shard_temp_files(output: str | Path, outputs: Iterable[str | Path],
                     manifest_name: str) -> list[Path]:
    """Temporary files a killed run of this shard left in ``output``: those of its own
    output files and manifest only (other shards may be writing theirs right now)."""
    output = Path(output)
    targets = [Path(p) for p in outputs] + [output / manifest_name]
    found = []
    for target in targets:
        # motionseq.fileio.atomic_write names them .<name>.<random>.tmp<suffix>
        pattern = str(target.parent / f".{glob.escape(target.name)}.*.tmp*")
        found += [Path(p) for p in glob.glob(pattern)]
    return found


# --- merging ---------------------------------------------------------------------------------

@dataclass
class MergeReport:
    """What :func:`merge_manifests` did.

    Attributes:
        out: the merged manifest.
        rows: its rows, in path order.
        sources: the manifests read, oldest first.
        duplicates: one line per path found in more than one manifest (which row was kept).
        missing_shards: shard manifests missing from a complete set (``i/n``).
        ok, failed: merged rows by status.
    """

    out: Path
    rows: list[dict[str, str]] = field(default_factory=list)
    sources: list[Path] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    missing_shards: list[str] = field(default_factory=list)

    @property
    def ok(self) -> int:
        return sum(r.get("status") == "ok" for r in self.rows)

    @property
    def failed(self) -> int:
        return len(self.rows) - self.ok

    def line(self) -> str:
        text = (f"{len(self.rows)} videos ({self.ok} ok, {self.failed} failed) from "
                f"{len(self.sources)} manifests -> {self.out}")
        if self.duplicates:
            text += f"; {len(self.duplicates)} videos in more than one manifest"
        if self.missing_shards:
            text += f"; missing shards: {', '.join(self.missing_shards)}"
        return text


def _read_rows(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    try:
        with open(path, newline="") as fh:
            reader = csv.DictReader(fh)
            rows = [{k: (v or "") for k, v in r.items() if k is not None} for r in reader
                    if r.get("path")]
            return list(reader.fieldnames or []), rows
    except (OSError, csv.Error, UnicodeDecodeError) as e:
        raise ConfigError(f"cannot read the manifest {path}: {e}") from e


def _missing_shards(paths: Sequence[Path]) -> list[str]:
    """``i/n`` of the shards a set of ``n`` lacks, for every ``n`` the names show."""
    seen: dict[int, set[int]] = {}
    for p in paths:
        m = _SHARD_FILE.match(p.name)
        if m:
            seen.setdefault(int(m.group(2)), set()).add(int(m.group(1)))
    return [f"{i}/{n}" for n, have in sorted(seen.items()) for i in range(n) if i not in have]


def merge_manifests(paths: Iterable[str | Path], out: str | Path) -> MergeReport:
    """Merge manifests into ``out`` (written atomically), one row per video path.

    When a path is in several manifests an ``ok`` row beats a failed one, and among rows
    of the same status the one from the most recently written manifest wins (a later
    rerun of that video); each such path is listed in ``MergeReport.duplicates``. A set of
    shard manifests (``manifest.shard-<i>-of-<n>.csv``) that lacks some ``i`` is reported
    in ``missing_shards``; the rows that are there are merged all the same.

    Raises:
        ConfigError: no manifest given, or one that cannot be read.
    """
    out = Path(out)
    sources = [Path(p) for p in paths]
    sources = [p for p in dict.fromkeys(sources) if p.resolve() != out.resolve()]
    if not sources:
        raise ConfigError("no manifests to merge: pass the extraction output folder "
                          "(holding manifest.shard-<i>-of-<n>.csv) or manifest files")
    for p in sources:
        if not p.is_file():
            raise ConfigError(f"manifest not found: {p}")
    # oldest first, so a later file's row replaces an earlier one of the same status
    sources.sort(key=lambda p: p.stat().st_mtime_ns)
    columns: list[str] = []  # every manifest's columns, in the order first seen
    kept: dict[str, tuple[dict[str, str], Path]] = {}
    seen_in: dict[str, list[str]] = {}
    for src in sources:
        fields, rows = _read_rows(src)
        columns += [f for f in fields if f not in columns]
        for row in rows:
            key = row["path"]
            seen_in.setdefault(key, []).append(f"{src.name} ({row.get('status') or '?'})")
            prev = kept.get(key)
            if prev is None or row.get("status") == "ok" or prev[0].get("status") != "ok":
                kept[key] = (row, src)
    report = MergeReport(out=out, sources=sources, missing_shards=_missing_shards(sources))
    for key, where in seen_in.items():
        if len(where) > 1:
            report.duplicates.append(f"{key}: in {', '.join(where)}; kept the row of "
                                     f"{kept[key][1].name}")
    report.rows = [{c: kept[k][0].get(c, "") for c in columns} for k in sorted(kept)]
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
    w.writeheader()
    w.writerows(report.rows)
    text = buf.getvalue()
    atomic_write(out, lambda tmp: tmp.write_text(text))
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="motionseq-merge-manifests",
        description="Merge the manifests of sharded extraction runs (motionseq-extract "
                    "shard=i/n) into one manifest.csv.")
    parser.add_argument("output", help="the extraction output folder, holding "
                                       "manifest.shard-<i>-of-<n>.csv")
    parser.add_argument("manifests", nargs="*",
                        help="manifest files to merge instead of OUTPUT's shard manifests")
    parser.add_argument("--out", help="the merged manifest (default OUTPUT/manifest.csv)")
    args = parser.parse_args(argv)
    output = Path(args.output)
    try:
        if not output.is_dir():
            raise ConfigError(f"output folder not found: {output}")
        paths = [Path(p) for p in args.manifests] or find_shard_manifests(output)
        if not paths:
            raise ConfigError(f"no manifest.shard-<i>-of-<n>.csv in {output}: run "
                              f"motionseq-extract ... shard=i/n first")
        report = merge_manifests(paths, Path(args.out) if args.out else output / MANIFEST)
    except MotionseqError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    for line in report.duplicates[:20]:
        print(f"duplicate: {line}")
    if len(report.duplicates) > 20:
        print(f"... and {len(report.duplicates) - 20} more duplicates")
    if report.missing_shards:
        print(f"missing shards (not run, or still running): {', '.join(report.missing_shards)}",
              file=sys.stderr)
    print(report.line())
    return 0 if report.failed == 0 and not report.missing_shards else 1


if __name__ == "__main__":
    sys.exit(main())
