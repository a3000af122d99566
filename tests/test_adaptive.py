"""Settings chosen from the data (``adaptive=auto``): what is chosen for tiny and large data,
that an explicit value wins, that the printed table is the config used, and the pieces the
choices rely on (time warp, conv pooling, training on every case without validation)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from motionseq.data.own import save_sequence_folder
from motionseq.data.pose_augment import PoseAugment, time_warp
from motionseq.models.rnn import SequenceEncoder
from motionseq.sequence import PoseSequence
from motionseq.tasks.adaptive import DataProfile, adapt, choose
from motionseq.tasks.train import build, train
from tests.test_train import compose_cfg


def _profile(cases: int, frames: int = 50, layout: str = "raw", classes: int = 3
             ) -> DataProfile:
    val = round(0.15 * cases)
    return DataProfile(cases=cases - val, all_cases=cases, val_cases=val, val_given=False,
                       classes=classes, min_class=cases // classes, frames_median=frames,
                       frames_max=frames, channels=6, layout=layout)


def _chosen(p: DataProfile) -> dict:
    return {c.key: c.value for c in choose(p)}


def test_tiny_data_trains_on_everything_and_runs_the_schedule_out():
    got = _chosen(_profile(40))
    assert got["data.val_fraction"] == 0.0
    assert got["callbacks.model_checkpoint.monitor"] is None
    assert got["data.batch_size"] == 8
    # 100 passes over 40 cases in batches of 8 = 500 steps
    assert got["trainer.max_epochs"] == 100
    assert got["model.conv_pool"] == 1 and got["data.features.resample"] is None


def test_large_data_selects_on_validation_within_a_step_budget():
    got = _chosen(_profile(50_000, frames=60))
    assert got["data.val_fraction"] == 0.15
    assert got["callbacks.model_checkpoint.monitor"] == "<model>"
    assert got["data.batch_size"] == 64
    per_epoch = -(-round(0.85 * 50_000) // 64)
    assert got["trainer.max_epochs"] * per_epoch <= 20_000 + per_epoch
    assert got["trainer.max_epochs"] >= 1


def test_long_sequences_are_shortened_and_pooled():
    got = _chosen(_profile(200, frames=427))
    assert got["data.features.resample"] == 128
    assert got["model.conv_pool"] == 2
    # the work budget caps 100 epochs of a long problem
    assert got["trainer.max_epochs"] < 100


def test_short_sequences_are_capped_by_the_recurrent_steps_they_cost():
    """Some 270 short sequences: 100 passes would be cheap in frames but not in the
    recurrent steps run one after another, which the time budget caps; the same data at
    eight times the size may train longer (the budgets grow with the data)."""
    from motionseq.tasks.adaptive import STEP_BUDGET

    small = {c.key: c for c in choose(_profile(270, frames=29))}
    per_epoch = -(-270 // small["data.batch_size"].value)  # 40 val cases: all train
    epochs = small["trainer.max_epochs"].value
    assert epochs < 100 and "time budget" in small["trainer.max_epochs"].why
    assert (epochs - 1) * per_epoch * 29 < STEP_BUDGET * (270 / 200) ** 0.5
    large = _chosen(_profile(2160, frames=29))
    per_epoch_large = -(-round(0.85 * 2160) // large["data.batch_size"])
    large_steps = large["trainer.max_epochs"] * per_epoch_large
    assert large_steps > epochs * per_epoch


def test_skeletons_get_geometric_augmentation_and_values_get_value_augmentation():
    skel = _chosen(_profile(300, layout="penn13"))["data.augment"]
    vals = _chosen(_profile(300))["data.augment"]
    assert skel["mirror_p"] > 0 and "noise" not in skel
    assert vals["noise"] > 0 and vals["time_warp"] > 0 and "mirror_p" not in vals


def _folder(root, n_train: int = 12, frames: int = 30, classes=("a", "b")):
    rng = np.random.default_rng(0)
    splits = {}
    for split, n in (("train", n_train), ("test", 4)):
        seqs = []
        for i in range(n):
            label = classes[i % len(classes)]
            t = np.linspace(0, 2 * np.pi, frames)
            x = np.sin(t * (1 + classes.index(label)))[:, None] * np.ones((1, 3))
            x = x + 0.05 * rng.standard_normal(x.shape)
            seqs.append(PoseSequence.from_values(x.astype(np.float32), 30.0, "raw", label,
                                                 f"{split}{i}"))
        splits[split] = seqs
    return save_sequence_folder(root, splits)


def test_printed_table_is_the_config_used(tmp_path, capsys):
    root = _folder(tmp_path / "seqs")
    cfg = compose_cfg("train", ["data=sequences", f"data.source.root={root}", "logger=none"],
                      tmp_path / "run")
    loaded, applied = adapt(cfg)
    printed = capsys.readouterr().out
    assert loaded is not None and applied
    for choice in applied:
        from omegaconf import OmegaConf

        used = OmegaConf.select(cfg, choice.key)
        shown = "PoseAugment" if isinstance(choice.value, dict) else str(choice.value)
        assert choice.key in printed and shown in printed
        if not isinstance(choice.value, dict):
            assert used == choice.value
    assert cfg.data.val_fraction == 0.0 and cfg.trainer.limit_val_batches == 0
    assert cfg.callbacks.early_stopping is None
    assert cfg.trainer.max_steps == -1 and cfg.trainer.max_epochs >= 1
    assert cfg.data.augment.seed == cfg.seed


def test_an_explicit_value_wins(tmp_path):
    root = _folder(tmp_path / "seqs")
    cfg = compose_cfg("train", ["data=sequences", f"data.source.root={root}", "logger=none",
                                "data.batch_size=5", "trainer.max_epochs=3",
                                "data.val_fraction=0.25", "data.augment=null"],
                      tmp_path / "run")
    _, applied = adapt(cfg)
    keys = {c.key for c in applied}
    assert cfg.data.batch_size == 5 and "data.batch_size" not in keys
    assert cfg.trainer.max_epochs == 3 and cfg.trainer.max_steps == -1
    assert cfg.data.val_fraction == 0.25 and cfg.data.augment is None
    # an explicit validation split selects the checkpoint
    assert cfg.callbacks.model_checkpoint.monitor == cfg.model.monitor
    none = compose_cfg("train", ["data=sequences", f"data.source.root={root}",
                                 "adaptive=none"], tmp_path / "run2")
    assert adapt(none) == (None, [])


def test_tiny_folder_trains_end_to_end_without_validation(tmp_path):
    root = _folder(tmp_path / "seqs")
    cfg = compose_cfg("train", ["data=sequences", f"data.source.root={root}", "logger=none",
                                "callbacks.progress_bar=null", "callbacks.model_summary=null",
                                "trainer.max_epochs=4"], tmp_path / "run")
    datamodule, _ = build(cfg)
    assert len(datamodule.datasets["train"]) == 12 and len(datamodule.datasets["val"]) == 0
    metrics = train(cfg)
    assert "test/acc" in metrics and metrics["checkpoint"]
    assert "val/acc" not in metrics
    # the last weights are kept: the model is written once, at the end, beside last.ckpt
    assert cfg.callbacks.model_checkpoint.every_n_epochs == cfg.trainer.max_epochs == 4
    ckpts = sorted(p.name for p in Path(metrics["checkpoint"]).parent.glob("*.ckpt"))
    assert ckpts == ["epoch_003.ckpt", "last.ckpt"], ckpts


def test_time_warp_keeps_length_ends_and_order():
    rng = np.random.default_rng(3)
    t = np.arange(40, dtype=np.float32)
    kp = np.stack([t, t * 2], axis=1)[:, :, None]  # [T, 2, 1], increasing
    vis = np.ones((40, 2), np.float32)
    warped, wvis = time_warp(kp, vis, 0.3, rng)
    assert warped.shape == kp.shape and wvis.shape == vis.shape
    assert warped[0, 0, 0] == 0 and warped[-1, 0, 0] == pytest.approx(39)
    assert np.all(np.diff(warped[:, 0, 0]) > 0)  # monotone re-timing
    assert not np.allclose(warped, kp)
    aug = PoseAugment(time_warp=0.2, seed=0)
    assert aug.active


def test_conv_pool_shortens_and_ignores_padding():
    torch.manual_seed(0)
    enc = SequenceEncoder(3, 8, 1, "gru", True, 0.0, "mean", conv_channels=[6],
                          conv_kernel=[3], conv_layers=1, conv_norm="layer", conv_pool=3).eval()
    x = torch.randn(2, 11, 3)
    lengths = torch.tensor([11, 7])
    out, summary = enc(x, lengths)
    assert out.shape[1] == 4  # ceil(11 / 3)
    _, alone = enc(x[1:, :7], torch.tensor([7]))
    assert torch.allclose(summary[1], alone[0], atol=1e-5)
    with pytest.raises(Exception, match="conv_pool"):
        SequenceEncoder(3, 8, conv_pool=2)


def test_unnamed_3d_skeleton_is_body_centred_and_scaled_from_the_data():
    from motionseq.data.features import PoseFeatures

    rng = np.random.default_rng(1)
    body = rng.normal(size=(20, 3)) * 0.3  # 20 joints, metres
    walk = np.linspace(0, 2, 30)[:, None, None] * np.array([1.0, 0, 0.5])
    clip = (body[None] + walk + 0.02 * rng.normal(size=(30, 20, 3))).astype(np.float32)
    moved = (clip * 2.5 + np.array([3.0, -1.0, 4.0])).astype(np.float32)  # another room/unit
    feats = PoseFeatures(layout="raw", velocities=False, visibility=False)
    a = feats(PoseSequence(clip, np.ones((30, 20), np.float32), 30.0, "raw"))
    b = PoseFeatures(layout="raw", velocities=False, visibility=False)(
        PoseSequence(moved, np.ones((30, 20), np.float32), 30.0, "raw"))
    assert np.allclose(a, b, atol=1e-4)
    assert abs(a.reshape(30, 20, 3).mean(axis=1)).max() < 1e-4  # centred every frame
    kept = PoseFeatures(layout="raw", velocities=False, visibility=False,
                        normalize_body=False)(PoseSequence(clip, np.ones((30, 20), np.float32),
                                                           30.0, "raw"))
    assert np.allclose(kept, clip.reshape(30, -1))


@pytest.mark.parametrize("override, key", [
    ("trainer.max_epochs=-3", "trainer.max_epochs"),
    ("data.batch_size=0", "data.batch_size"),
    ("model.hidden=abc", "model.hidden"),
    ("model.dropout=2", "model.dropout"),
    ("data.val_fraction=1.5", "data.val_fraction"),
    ("model.optimizer.lr=-0.1", "model.optimizer.lr"),
])
def test_a_setting_of_the_wrong_type_or_range_is_one_clear_line(tmp_path, override, key):
    from motionseq.errors import ConfigError
    from motionseq.tasks.config_check import check_config

    cfg = compose_cfg("train", [override], tmp_path)
    with pytest.raises(ConfigError, match=rf"{key}=.*must be .*e\.g\. {key}="):
        check_config(cfg)
    check_config(compose_cfg("train", [], tmp_path))  # the defaults pass
    check_config(compose_cfg("train", ["data=uea"], tmp_path))  # `auto` passes


def test_the_cli_prints_one_line_and_no_stack_trace(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    proc = subprocess.run([sys.executable, str(root / "scripts" / "train.py"),
                           "data.batch_size=0", f"hydra.run.dir={tmp_path}"], cwd=root,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2
    assert "data.batch_size=0: must be an integer >= 1" in proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout


def test_given_steps_become_whole_epochs_of_the_schedule(tmp_path):
    root = _folder(tmp_path / "seqs")
    cfg = compose_cfg("train", ["data=sequences", f"data.source.root={root}",
                                "trainer.max_steps=30"], tmp_path / "run")
    adapt(cfg)
    # 12 cases, all training (too few to validate), batch 8: 2 steps per epoch
    assert cfg.trainer.max_steps == 30 and cfg.trainer.max_epochs == 15
    assert cfg.model.scheduler.T_max == 15


def test_one_class_and_test_only_labels_are_clear_errors(tmp_path):
    from motionseq.errors import DataError

    one = _folder(tmp_path / "one", classes=("a",))
    cfg = compose_cfg("train", ["data=sequences", f"data.source.root={one}"], tmp_path / "r1")
    with pytest.raises(DataError, match="one class .*at least two"):
        build(cfg)
    seqs = _folder(tmp_path / "two")
    extra = seqs / "test" / "c"
    extra.mkdir()
    (extra / "0.csv").write_text("1,2,3\n4,5,6\n")
    cfg = compose_cfg("train", ["data=sequences", f"data.source.root={seqs}"], tmp_path / "r2")
    with pytest.raises(DataError, match=r"not in train: \['c'\]; add training examples"):
        build(cfg)
