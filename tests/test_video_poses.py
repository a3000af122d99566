"""Poses from your own videos: the batch extraction output folder as a data source (split
reproducibility, split files, skipped videos, errors) and its config end to end."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from motionseq.data.video_poses import ExtractedPosesSource, read_split_file
from motionseq.data.workouts import generate_workouts
from motionseq.errors import ConfigError, DataError
from motionseq.extract.batch import FIELDS, MANIFEST, write_manifest
from motionseq.tasks.train import build
from tests.test_train import compose_cfg

LABELS = ("squat", "push_up")


def _row(path: str, status: str = "ok", frames: int = 0, reason: str = "") -> dict[str, str]:
    label = path.split("/")[0] if "/" in path else ""
    row = dict.fromkeys(FIELDS, "")
    row.update(path=path, label=label, status=status, reason=reason, frames=str(frames),
               fps="30", fingerprint="1:1")
    return row


def make_output(root: Path, per_label: int = 5, failed: int = 2) -> Path:
    """An extraction output folder as ``motionseq-extract`` writes it: OUT/<label>/vN.npz
    and OUT/manifest.csv, with ``failed`` failed rows (no pose file)."""
    rows = []
    for label in LABELS:
        for i, sample in enumerate(generate_workouts(per_label, seed=1, classes=(label,),
                                                     max_frames=40)):
            rel = f"{label}/v{i}.mp4"
            seq = sample.sequence
            seq.label, seq.source = label, rel
            seq.save(root / label / f"v{i}.npz")
            rows.append(_row(rel, frames=len(seq)))
    for i in range(failed):
        rows.append(_row(f"{LABELS[i % 2]}/broken{i}.mp4", "failed",
                         reason="truncated or corrupt: decoded 3 of the 90 frames"))
    write_manifest(root / MANIFEST, sorted(rows, key=lambda r: r["path"]))
    return root


def _names(seqs) -> list[str]:
    return sorted(s.source for s in seqs)


def test_reads_ok_videos_and_skips_failed_ones(tmp_path, caplog):
    root = make_output(tmp_path)
    with caplog.at_level(logging.WARNING):
        splits = ExtractedPosesSource(str(root)).load()
    assert "2 of 12 videos" in caplog.text and "failed extraction" in caplog.text
    everything = splits["train"] + splits["test"]
    assert len(everything) == 10 and set(splits) == {"train", "test"}
    assert {s.label for s in everything} == set(LABELS)
    assert all(s.layout == "mediapipe33" and s.source.endswith(".mp4") for s in everything)
    assert not any("broken" in s.source for s in everything)


def test_split_is_stratified_and_reproducible(tmp_path):
    root = make_output(tmp_path, per_label=10)
    a = ExtractedPosesSource(str(root), test_fraction=0.2, seed=3).load()
    b = ExtractedPosesSource(str(root), test_fraction=0.2, seed=3).load()
    assert _names(a["train"]) == _names(b["train"]) and _names(a["test"]) == _names(b["test"])
    assert not set(_names(a["train"])) & set(_names(a["test"]))
    assert sorted(s.label for s in a["test"]) == ["push_up", "push_up", "squat", "squat"]
    others = [_names(ExtractedPosesSource(str(root), seed=s).load()["test"]) for s in range(4, 9)]
    assert any(o != _names(a["test"]) for o in others)  # the seed draws the split


def test_split_file(tmp_path, caplog):
    root = make_output(tmp_path)
    split = tmp_path / "split.csv"
    split.write_text("path,split\n# fixed split\n"
                     "squat/v0.mp4,test\nsquat/v1.npz , train\n"
                     "push_up/v0\ttest\npush_up/v1 train\npush_up/v2,val\n"
                     "squat/broken0.mp4,train\n")  # a failed video: ignored
    with caplog.at_level(logging.WARNING):
        splits = ExtractedPosesSource(str(root), split_file=str(split)).load()
    assert _names(splits["test"]) == ["push_up/v0.mp4", "squat/v0.mp4"]
    assert _names(splits["train"]) == ["push_up/v1.mp4", "squat/v1.mp4"]
    assert _names(splits["val"]) == ["push_up/v2.mp4"]
    assert "5 videos are not in" in caplog.text  # the unlisted ones are left out, loudly

    split.write_text("squat/v0.mp4,train\nsquat/v9.mp4,test\n")
    with pytest.raises(DataError, match="not in the manifest.*squat/v9"):
        ExtractedPosesSource(str(root), split_file=str(split)).load()
    split.write_text("squat/v0.mp4,holdout\n")
    with pytest.raises(DataError, match="split must be one of train, val, test"):
        read_split_file(split)
    split.write_text("squat/v0.mp4,train\nsquat/v0.npz,test\n")
    with pytest.raises(DataError, match="listed twice"):
        read_split_file(split)
    split.write_text("squat/v0.mp4\n")
    with pytest.raises(DataError, match="expected 'relative_path,train|test'"):
        read_split_file(split)
    with pytest.raises(DataError, match="split file not found"):
        read_split_file(tmp_path / "nope.csv")


def test_errors_say_what_to_do(tmp_path, caplog):
    with pytest.raises(DataError, match="make extract"):
        ExtractedPosesSource(str(tmp_path)).load()

    write_manifest(tmp_path / MANIFEST, [_row("squat/a.mp4", "failed", reason="empty file")])
    with pytest.raises(DataError, match="no successfully extracted video"):
        ExtractedPosesSource(str(tmp_path)).load()

    root = make_output(tmp_path / "one", per_label=2, failed=0)
    write_manifest(root / MANIFEST, [_row(f"squat/v{i}.mp4") for i in range(2)])
    with pytest.raises(DataError, match="single label"):
        ExtractedPosesSource(str(root)).load()

    with pytest.raises(ConfigError, match="test_fraction"):
        ExtractedPosesSource(str(root), test_fraction=1.0)


def test_single_video_label_unlabelled_and_empty_videos(tmp_path, caplog):
    root = make_output(tmp_path, per_label=4, failed=0)
    (root / "push_up" / "v1.npz").unlink()  # listed as ok but gone
    rows = [_row(f"squat/v{i}.mp4") for i in range(4)] + [_row("push_up/v0.mp4"),
                                                           _row("push_up/v1.mp4")]
    # a video directly in INPUT (no label folder)
    seq = generate_workouts(1, seed=2, classes=("squat",), max_frames=30)[0].sequence
    seq.save(root / "loose.npz")
    rows.append(_row("loose.mp4"))
    # a video where nobody was found in most frames
    empty = generate_workouts(1, seed=3, classes=("squat",), max_frames=30)[0].sequence
    empty.keypoints[5:] = np.nan
    empty.save(root / "squat" / "dark.npz")
    rows.append(_row("squat/dark.mp4"))
    write_manifest(root / MANIFEST, rows)
    with caplog.at_level(logging.WARNING):
        splits = ExtractedPosesSource(str(root)).load()
    text = caplog.text
    assert "1 videos sit directly in the input folder" in text
    assert "1 videos listed as ok have no pose file" in text
    assert "1 videos have a person in fewer than 50%" in text
    assert "single video" in text and "push_up" in text
    assert [s.source for s in splits["train"] if s.label == "push_up"] == ["push_up/v0.mp4"]
    assert all(s.label == "squat" for s in splits["test"])
    assert len(splits["train"]) + len(splits["test"]) == 5


def test_videos_config_trains(tmp_path):
    root = make_output(tmp_path / "poses", per_label=6)
    cfg = compose_cfg("train", ["data=videos", f"data.source.root={root}",
                                "data.batch_size=4"], tmp_path / "run", tmp_path / "data")
    datamodule, model = build(cfg)
    assert datamodule.class_names == sorted(LABELS)
    assert len(datamodule.datasets["test"]) == 2  # 20% of 6 per label, rounded
    batch = next(iter(datamodule.train_dataloader()))
    assert model.training_step(batch, 0) is not None
    # the default root is the extraction's default output folder
    default = compose_cfg("train", ["data=videos"], tmp_path / "run2", tmp_path / "data")
    assert Path(default.data.source.root) == tmp_path / "data" / "poses"
