"""Pose extraction over a folder of videos, in parallel and resumable.

``INPUT/<label>/.../<name>.<ext>`` (any depth) becomes ``OUTPUT/<label>/.../<name>.npz``
(a :class:`~motionseq.sequence.PoseSequence` labelled with the first folder under INPUT)
and one row in ``OUTPUT/manifest.csv``:

``path, label, status, reason, frames, fps, person_fraction, seconds, fingerprint, read_s,
pose_s, write_s``

``path`` is relative to INPUT, ``status`` is ``ok`` or ``failed`` (with the ``reason``),
a video that decodes to fewer than 90% of the frames its header lists counts as
truncated and fails; ``seconds`` is the extraction time (``read_s`` decoding, ``pose_s`` the
pose model, ``write_s`` the file) and ``fingerprint`` the video's ``size:mtime_ns``.
A rerun skips videos that are ``ok`` with the same fingerprint and an existing output, and
redoes failed, changed and new ones. ``shard=i/n`` extracts only shard ``i`` of ``n`` (see
:mod:`motionseq.extract.shard`) and writes its rows to ``manifest.shard-<i>-of-<n>.csv``;
``motionseq-merge-manifests OUTPUT`` merges those into ``manifest.csv``. Every file is written atomically, and the manifest
after each video, so a killed run loses at most the videos in progress.

Console script (``key=value`` or ``--key value``)::

    motionseq-extract input=videos/ output=data/poses workers=2
    motionseq-extract input=videos/ output=data/poses shard=$SLURM_ARRAY_TASK_ID/8

Exit status: 0 when every video is ok, 1 when some failed, 2 on a usage error.
"""

from __future__ import annotations

import argparse
import csv
import io
import logging
import multiprocessing
import sys
import time
from collections.abc import Iterator
from concurrent.futures import (
    FIRST_COMPLETED,
    Future,
    ProcessPoolExecutor,
    ThreadPoolExecutor,
    wait,
)
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from motionseq.errors import ConfigError, DataError, MotionseqError
from motionseq.extract.pose import PoseExtractor, PoseOptions
from motionseq.extract.shard import (
    select_shard,
    shard_arg,
    shard_manifest_name,
    shard_temp_files,
)
from motionseq.fileio import atomic_write

__all__ = ["VIDEO_SUFFIXES", "MANIFEST", "FIELDS", "BatchSummary", "find_videos",
           "read_manifest", "extract_batch", "main"]

log = logging.getLogger(__name__)

VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv",
                  ".flv", ".3gp", ".gif")  # OpenCV decodes animated GIFs
MANIFEST = "manifest.csv"
# fewer decoded frames than this fraction of the header's count marks a video failed
MIN_DECODED = 0.9
FIELDS = ("path", "label", "status", "reason", "frames", "fps", "person_fraction", "seconds",
          "fingerprint", "read_s", "pose_s", "write_s")  # seconds = read + pose + write


@dataclass
class BatchSummary:
    """What one :func:`extract_batch` run did.

    Attributes:
        rows: manifest rows (dicts keyed by :data:`FIELDS`), in path order.
        done: videos extracted in this run with status ok.
        skipped: videos already ok and unchanged.
        failed: videos that failed in this run.
        frames: frames extracted in this run.
        seconds: wall-clock time of the run.
        manifest: path of the manifest.
    """

    rows: list[dict[str, str]] = field(default_factory=list)
    done: int = 0
    skipped: int = 0
    failed: int = 0
    frames: int = 0
    seconds: float = 0.0
    manifest: Path | None = None

    def line(self) -> str:
        rate = self.frames / self.seconds if self.seconds > 0 else 0.0
        return (f"{len(self.rows)} videos: {self.done} extracted, {self.skipped} already done, "
                f"{self.failed} failed; {self.frames} frames in {self.seconds:.1f} s "
                f"({rate:.1f} frames/s) -> {self.manifest}")


def find_videos(root: str | Path) -> list[Path]:
    """Video files under ``root`` at any depth (hidden files and folders skipped), as
    paths relative to ``root`` in sorted order."""
    root = Path(root)
    found = []
    for p in root.rglob("*"):
        rel = p.relative_to(root)
        if (p.suffix.lower() in VIDEO_SUFFIXES and p.is_file()
                and not any(part.startswith(".") for part in rel.parts)):
            found.append(rel)
    return sorted(found, key=lambda r: r.as_posix())


def label_of(rel: Path) -> str:
    """The first folder of a relative video path ("" for a video directly in INPUT)."""
    return rel.parts[0] if len(rel.parts) > 1 else ""


def fingerprint(path: Path) -> str:
    st = path.stat()
    return f"{st.st_size}:{st.st_mtime_ns}"


def read_manifest(path: str | Path) -> dict[str, dict[str, str]]:
    """Rows of a manifest keyed by ``path`` ({} when it is missing or unreadable)."""
    path = Path(path)
    if not path.is_file():
        return {}
    try:
        with open(path, newline="") as fh:
            return {r["path"]: {k: r.get(k) or "" for k in FIELDS} for r in csv.DictReader(fh)
                    if r.get("path")}
    except (OSError, csv.Error, UnicodeDecodeError) as e:
        log.warning("cannot read %s (%s); extracting everything again", path, e)
        return {}


def write_manifest(path: Path, rows: list[dict[str, str]]) -> None:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=FIELDS, lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    text = buf.getvalue()
    atomic_write(path, lambda tmp: tmp.write_text(text))


def remove_stale_temps(output: Path) -> int:
    """Delete temporary files a killed run left (``atomic_write``'s ``.<name>.*.tmp.*``)."""
    n = 0
    for p in output.rglob(".*.tmp*"):
        if p.is_file() and ".tmp" in p.name:
            p.unlink(missing_ok=True)
            n += 1
    return n


# --- one video (runs in a worker process, or in this one with workers=1) --------------------

_EXTRACTOR: PoseExtractor | None = None


def _init_worker(options: PoseOptions, cv_threads: int | None = None) -> None:
    global _EXTRACTOR
    logging.basicConfig(level=logging.WARNING)
    if cv_threads is not None:  # N workers on N cores: OpenCV's own threads only contend
        import cv2

        cv2.setNumThreads(cv_threads)
    _EXTRACTOR = PoseExtractor(options)


def _close_worker() -> None:
    global _EXTRACTOR
    if _EXTRACTOR is not None:
        _EXTRACTOR.close()
        _EXTRACTOR = None


def _extract_one(video: str, out: str, rel: str, label: str, fp: str) -> dict[str, str]:
    """Extract one video to ``out``; a failed row (not an exception) on any error."""
    row = _failed_row((video, out, rel, label, fp), "")
    t0 = time.perf_counter()
    try:
        assert _EXTRACTOR is not None, "worker not initialised"
        stats: dict[str, float] = {}
        seq = _EXTRACTOR.extract(video, label=label or None, stats=stats)
        expected = stats.get("expected_frames")
        if expected and seq.num_frames < MIN_DECODED * expected:
            raise DataError(f"truncated or corrupt: decoded {seq.num_frames} of the {expected} "
                            f"frames its header lists (re-encode or download it again)")
        seq.source = rel
        tw = time.perf_counter()
        seq.save(out)
        row.update(status="ok", frames=str(seq.num_frames), fps=f"{seq.fps:g}",
                   person_fraction=f"{stats['person_fraction']:.4f}",
                   read_s=f"{stats['read_seconds']:.2f}", pose_s=f"{stats['pose_seconds']:.2f}",
                   write_s=f"{time.perf_counter() - tw:.2f}")
    except MotionseqError as e:
        row["reason"] = str(e)
    except Exception as e:  # a decoder or graph error must not stop the batch
        row["reason"] = f"{type(e).__name__}: {e}"
    if row["status"] != "ok":
        Path(out).unlink(missing_ok=True)  # an output of an earlier version is stale now
    row["seconds"] = f"{time.perf_counter() - t0:.2f}"
    row["reason"] = " ".join(row["reason"].split())  # one line in the CSV
    return row


# --- the batch -------------------------------------------------------------------------------

def extract_batch(input_dir: str | Path, output_dir: str | Path, workers: int = 1,
                  options: PoseOptions | None = None, resume: bool = True,
                  progress: bool = False, shard: tuple[int, int] | None = None
                  ) -> BatchSummary:
    """Extract every video under ``input_dir`` into ``output_dir`` (see the module doc).

    Args:
        workers: processes, each with its own pose graph; videos are handed out one at a
            time, longest file first. ``1`` runs in this process.
        options: pose settings (default :class:`PoseOptions`).
        resume: skip videos already ok and unchanged; False redoes all.
        progress: show a progress bar over videos.
        shard: ``(i, n)``: only the videos of shard ``i`` of ``n``, with their own
            manifest (other shards may run at the same time into the same output).

    Raises:
        ConfigError: ``input_dir`` is missing or holds no videos, or ``workers < 1``.
    """
    t0 = time.perf_counter()
    src, dst = Path(input_dir), Path(output_dir)
    options = options or PoseOptions()
    if workers < 1:
        raise ConfigError(f"workers must be at least 1, got {workers}")
    if not src.is_dir():
        raise ConfigError(f"input folder not found: {src}")
    videos = find_videos(src)
    if not videos:
        raise ConfigError(f"no videos under {src} ({', '.join(VIDEO_SUFFIXES)})")
    dst.mkdir(parents=True, exist_ok=True)
    if shard is None:
        remove_stale_temps(dst)
        manifest = dst / MANIFEST
        old = read_manifest(manifest) if resume else {}
    else:
        videos = select_shard(videos, *shard)
        manifest = dst / shard_manifest_name(*shard)
        outs = [dst / v.with_suffix(".npz") for v in videos]
        for tmp in shard_temp_files(dst, outs, manifest.name):  # only this shard's own
            tmp.unlink(missing_ok=True)
        # a shard's first run resumes from the merged manifest of earlier runs
        old = (read_manifest(manifest) or read_manifest(dst / MANIFEST)) if resume else {}
    summary = BatchSummary(manifest=manifest)
    rows: dict[str, dict[str, str]] = {}
    todo: list[tuple[str, str, str, str, str]] = []
    outputs: dict[Path, str] = {}
    for rel in videos:
        key, label, fp = rel.as_posix(), label_of(rel), fingerprint(src / rel)
        out = dst / rel.with_suffix(".npz")
        if out in outputs:  # a.avi and a.mp4 in one folder would share a.npz
            rows[key] = _failed_row(("", "", key, label, fp),
                                    f"same output file as {outputs[out]}; rename one")
            summary.failed += 1
            continue
        outputs[out] = key
        prev = old.get(key)
        if prev and prev["status"] == "ok" and prev["fingerprint"] == fp and out.is_file():
            rows[key] = prev
            summary.skipped += 1
        else:
            todo.append((str(src / rel), str(out), key, label, fp))
    todo.sort(key=lambda t: -Path(t[0]).stat().st_size)  # longest first balances the workers
    order = [v.as_posix() for v in videos]

    def finish(row: dict[str, str]) -> None:
        rows[row["path"]] = row
        if row["status"] == "ok":
            summary.done += 1
            summary.frames += int(row["frames"])
        else:
            summary.failed += 1
            log.warning("%s failed: %s", row["path"], row["reason"])
        write_manifest(manifest, [rows[k] for k in order if k in rows])

    bar = _bar(len(todo), progress)
    try:
        for row in _run(todo, workers, options):
            finish(row)
            if bar is not None:
                bar.set_postfix(ok=summary.done, failed=summary.failed, refresh=False)
                bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    if not todo:  # still rewrite: rows of videos no longer in INPUT are dropped
        write_manifest(manifest, [rows[k] for k in order if k in rows])
    summary.rows = [rows[k] for k in order if k in rows]
    summary.seconds = time.perf_counter() - t0
    return summary


def _run(todo: list[tuple[str, str, str, str, str]], workers: int,
         options: PoseOptions) -> Iterator[dict[str, str]]:
    """Rows of the extracted videos, in the order they finish."""
    if not todo:
        return
    if workers == 1 or len(todo) == 1:
        _init_worker(options)
        try:
            for item in todo:
                yield _extract_one(*item)
        finally:
            _close_worker()
        return
    # This process extracts too, in a thread, beside workers - 1 spawned processes: it has
    # its imports already, so the start-up of one worker process (Python, MediaPipe, the
    # pose graph) is not paid, and it starts on the first (longest) video at once.
    # spawn: a forked child of a process that has used MediaPipe deadlocks
    ctx = multiprocessing.get_context("spawn")
    procs = min(workers - 1, len(todo) - 1)
    pool = ProcessPoolExecutor(max_workers=procs, mp_context=ctx, initializer=_init_worker,
                               initargs=(options, 1))
    local = ThreadPoolExecutor(1, initializer=_init_worker, initargs=(options, 1))
    pending: dict[Future, tuple[tuple[str, str, str, str, str], Any]] = {}
    items = iter(todo)
    broken = False

    def submit(executor: Any) -> None:
        item = next(items, None)
        if item is None:
            return
        if executor is pool and broken:
            executor = local  # the processes are gone: this process goes on alone
        pending[executor.submit(_extract_one, *item)] = (item, executor)

    try:
        submit(local)  # the longest video, at once
        # one video per worker process at a time: a video queued behind a busy worker
        # could leave another idle at the end (the next is handed out within milliseconds)
        for _ in range(procs):
            submit(pool)
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for fut in done:
                item, executor = pending.pop(fut)
                try:
                    yield fut.result()
                except BrokenProcessPool as e:  # a worker crashed (decoder segfault ...)
                    broken = True
                    yield _failed_row(item, f"worker process died: {e}")
                submit(executor)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        local.shutdown(wait=True, cancel_futures=True)
        _close_worker()


def _failed_row(item: tuple[str, str, str, str, str], reason: str) -> dict[str, str]:
    """A manifest row of a video that failed (every column, the empty ones blank)."""
    _, _, rel, label, fp = item
    return dict.fromkeys(FIELDS, "") | {"path": rel, "label": label, "status": "failed",
                                        "reason": " ".join(reason.split()), "frames": "0",
                                        "fingerprint": fp}


def _bar(total: int, show: bool) -> Any:
    if not show or total == 0:
        return None
    from tqdm import tqdm

    return tqdm(total=total, unit="video", desc="extract", dynamic_ncols=True)


# --- console script --------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    # here, not at the top: a spawned worker imports this module and needs none of it
    from motionseq.cli import bool_arg, flag_words

    parser = argparse.ArgumentParser(
        prog="motionseq-extract",
        description="Extract MediaPipe poses from every video under INPUT/<label>/... into "
                    "OUTPUT/<label>/....npz and OUTPUT/manifest.csv; resumable. Arguments "
                    "may be written key=value (input=videos workers=2) or as --flags.")
    parser.add_argument("--input", required=True, help="folder of videos, one subfolder per "
                                                       "label")
    parser.add_argument("--output", required=True, help="folder for .npz files and the "
                                                        "manifest")
    parser.add_argument("--workers", type=int, default=1,
                        help="worker processes, one pose graph each (MediaPipe uses about one "
                             "core per graph)")
    parser.add_argument("--model-complexity", type=int, default=1, choices=[0, 1, 2])
    parser.add_argument("--smooth-landmarks", type=bool_arg, default=True)
    parser.add_argument("--min-detection-confidence", type=float, default=0.5)
    parser.add_argument("--min-tracking-confidence", type=float, default=0.5)
    parser.add_argument("--static-image-mode", type=bool_arg, default=False)
    parser.add_argument("--model-path", help="MediaPipe Tasks pose_landmarker .task file")
    parser.add_argument("--shard", type=shard_arg, default=None,
                        help="i/n: only shard i (from 0) of n, e.g. shard=$SLURM_ARRAY_TASK_ID/8 "
                             "in a SLURM array; then motionseq-merge-manifests OUTPUT")
    parser.add_argument("--force", type=bool_arg, nargs="?", const=True, default=False,
                        help="extract every video again, ignoring the manifest")
    parser.add_argument("--quiet", type=bool_arg, nargs="?", const=True, default=False,
                        help="no progress bar")
    args = parser.parse_args(flag_words(list(sys.argv[1:] if argv is None else argv)))
    logging.basicConfig(level=logging.INFO, format="%(levelname)s: %(message)s")
    try:
        options = PoseOptions(
            model_complexity=args.model_complexity, smooth_landmarks=args.smooth_landmarks,
            min_detection_confidence=args.min_detection_confidence,
            min_tracking_confidence=args.min_tracking_confidence,
            static_image_mode=args.static_image_mode, model_path=args.model_path)
        if args.model_path and not Path(args.model_path).is_file():
            raise ConfigError(f"pose model file not found: {args.model_path}")
        summary = extract_batch(args.input, args.output, workers=args.workers,
                                options=options, resume=not args.force,
                                progress=not args.quiet, shard=args.shard)
    except MotionseqError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; the manifest lists the videos finished so far, rerun to resume",
              file=sys.stderr)
        return 130
    print(summary.line())
    return 1 if summary.failed else 0


if __name__ == "__main__":
    sys.exit(main())
