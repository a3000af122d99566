"""Shards of a video collection (stable under additions) and the merge of their manifests;
two shards extracted from a folder of small videos merge into what one run writes."""

from __future__ import annotations

import csv
import os
import shutil
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from motionseq.errors import ConfigError
from motionseq.extract.batch import MANIFEST, extract_batch, find_videos, read_manifest
from motionseq.extract.shard import (
    find_shard_manifests,
    main,
    merge_manifests,
    parse_shard,
    select_shard,
    shard_manifest_name,
    shard_of,
    shard_temp_files,
)

COLUMNS = ["path", "label", "status", "reason", "frames", "fps", "person_fraction", "seconds",
           "fingerprint", "read_s", "pose_s", "write_s"]


def test_parse_shard():
    assert parse_shard("0/1") == (0, 1) and parse_shard(" 7 / 8 ") == (7, 8)
    for bad in ("8/8", "1/0", "-1/4", "a/b", "3", "1/2/3"):
        with pytest.raises(ConfigError, match="shard"):
            parse_shard(bad)


def test_shards_partition_and_do_not_move_when_videos_are_added():
    videos = [Path(f"label{i % 5}/clip_{i:04d}.mp4") for i in range(1000)]
    shards = [select_shard(videos, i, 8) for i in range(8)]
    assert sorted(v for s in shards for v in s) == sorted(videos)  # each video in one shard
    assert all(90 <= len(s) <= 160 for s in shards), [len(s) for s in shards]
    assert shards[3] == [v for v in videos if v in set(shards[3])]  # order kept
    more = videos + [Path(f"new/extra_{i}.avi") for i in range(200)]
    for i in range(8):
        assert set(shards[i]) <= set(select_shard(more, i, 8))
    # strings and paths hash alike, on any machine
    assert shard_of("a/b.mp4", 8) == shard_of(Path("a/b.mp4"), 8) == shard_of("a/b.mp4", 8)
    assert select_shard(["x.mp4"], 0, 1) == ["x.mp4"]


def _write(path: Path, rows: list[dict[str, str]], mtime: float | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=COLUMNS)
        w.writeheader()
        w.writerows({c: r.get(c, "") for c in COLUMNS} for r in rows)
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return path


def _row(path: str, status: str = "ok", frames: str = "10", reason: str = "") -> dict:
    return {"path": path, "label": path.split("/")[0], "status": status, "frames": frames,
            "reason": reason}


def test_merge_rules_duplicates_and_missing_shards(tmp_path):
    now = time.time()
    a = _write(tmp_path / shard_manifest_name(0, 3),
               [_row("x/1.mp4"), _row("x/2.mp4", "failed", "0", "truncated")], now - 100)
    b = _write(tmp_path / shard_manifest_name(1, 3),
               [_row("y/3.mp4"), _row("x/2.mp4", frames="12"), _row("x/1.mp4", frames="99")],
               now - 50)
    # a newer run that failed on x/1.mp4 does not undo the ok rows
    c = _write(tmp_path / "rerun.csv", [_row("x/1.mp4", "failed", "0", "decoder")], now)
    assert find_shard_manifests(tmp_path) == [a, b]
    report = merge_manifests([c, a, b], tmp_path / MANIFEST)
    rows = read_manifest(tmp_path / MANIFEST)
    assert list(rows) == ["x/1.mp4", "x/2.mp4", "y/3.mp4"]
    assert rows["x/1.mp4"]["frames"] == "99"  # two ok rows: the newer manifest's
    assert rows["x/2.mp4"]["status"] == "ok" and rows["x/2.mp4"]["frames"] == "12"
    assert (report.ok, report.failed) == (3, 0)
    assert len(report.duplicates) == 2 and report.duplicates[0].startswith("x/1.mp4: in ")
    assert report.missing_shards == ["2/3"]
    assert not [p for p in tmp_path.iterdir() if ".tmp" in p.name]  # written atomically
    # the console script: OUTPUT's shard manifests; exit 1 while a shard is missing
    assert main([str(tmp_path)]) == 1
    _write(tmp_path / shard_manifest_name(2, 3), [_row("z/4.mp4", "failed", reason="empty")])
    assert main([str(tmp_path)]) == 1  # all shards, one video failed
    assert read_manifest(tmp_path / MANIFEST)["z/4.mp4"]["reason"] == "empty"
    os.remove(tmp_path / shard_manifest_name(2, 3))
    _write(tmp_path / shard_manifest_name(2, 3), [_row("z/4.mp4")])
    assert main([str(tmp_path)]) == 0


def test_merge_usage_errors(tmp_path, capsys):
    assert main([str(tmp_path / "nope")]) == 2
    assert main([str(tmp_path)]) == 2
    assert "shard=i/n" in capsys.readouterr().err
    with pytest.raises(ConfigError, match="not found"):
        merge_manifests([tmp_path / "missing.csv"], tmp_path / MANIFEST)


def test_temp_files_of_one_shard_only(tmp_path):
    (tmp_path / "a").mkdir()
    mine = tmp_path / "a" / "v1.npz"
    other = tmp_path / "a" / "v2.npz"
    for p in (f".{mine.name}.x1.tmp.npz", f".{other.name}.x2.tmp.npz",
              f".{shard_manifest_name(0, 2)}.x3.tmp.csv", f".{shard_manifest_name(1, 2)}.x4.tmp.csv"):
        (tmp_path / ("a" if p.startswith(".v") else "") / p).write_text("")
    found = {p.name for p in shard_temp_files(tmp_path, [mine], shard_manifest_name(0, 2))}
    assert found == {".v1.npz.x1.tmp.npz", f".{shard_manifest_name(0, 2)}.x3.tmp.csv"}


# --- two shards of a folder of small videos --------------------------------------------------

def _videos(root: Path, n: int = 6) -> Path:
    """``n`` short blank clips in two label folders (nobody in them: a fast extraction)."""
    for i in range(n):
        folder = root / ("wave" if i % 2 else "sit") / ("deep" if i == 5 else "")
        folder.mkdir(parents=True, exist_ok=True)
        writer = cv2.VideoWriter(str(folder / f"clip{i}.avi"), cv2.VideoWriter_fourcc(*"MJPG"),
                                 10.0, (64, 48))
        for k in range(4):
            writer.write(np.full((48, 64, 3), 20 * i + k, np.uint8))
        writer.release()
    return root


def _statuses(rows: dict[str, dict[str, str]]) -> dict[str, tuple[str, str]]:
    return {k: (r["status"], r["frames"]) for k, r in rows.items()}


def test_two_shards_extracted_then_merged_equal_one_run(tmp_path):
    videos = _videos(tmp_path / "videos")
    whole = extract_batch(videos, tmp_path / "whole")
    assert whole.done == 6
    outputs = []
    for i in range(2):
        # shard i's videos as the input of its own job
        src = tmp_path / f"in{i}"
        for rel in select_shard(find_videos(videos), i, 2):
            (src / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(videos / rel, src / rel)
        assert src.is_dir()  # 6 videos: neither shard is empty
        extract_batch(src, tmp_path / f"out{i}")
        outputs.append(tmp_path / f"out{i}" / MANIFEST)
    assert all(p.is_file() for p in outputs)
    report = merge_manifests(outputs, tmp_path / "merged.csv")
    assert report.duplicates == [] and report.ok == 6
    merged = read_manifest(tmp_path / "merged.csv")
    assert _statuses(merged) == _statuses(read_manifest(tmp_path / "whole" / MANIFEST))


def test_extract_shard_option_and_merge(tmp_path):
    """``motionseq-extract ... shard=i/n`` into one output folder, then the merge."""
    from motionseq.extract.batch import main as extract_main

    videos = _videos(tmp_path / "videos")
    out = tmp_path / "poses"
    for i in range(2):
        code = extract_main([f"input={videos}", f"output={out}", f"shard={i}/2", "--quiet"])
        assert code == 0
    assert [p.name for p in find_shard_manifests(out)] == [shard_manifest_name(0, 2),
                                                          shard_manifest_name(1, 2)]
    assert main([str(out)]) == 0
    rows = read_manifest(out / MANIFEST)
    assert len(rows) == 6 and all(r["status"] == "ok" for r in rows.values())
    assert all((out / Path(k).with_suffix(".npz")).is_file() for k in rows)
    # an unsharded rerun reads the merged manifest and skips everything
    again = extract_batch(videos, out)
    assert (again.skipped, again.done) == (6, 0)
