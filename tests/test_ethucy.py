"""ETH/UCY: the split layout, the download code (on a local copy), and the scene table of a
multirun, on the shared copy of the real files."""

from __future__ import annotations

import filecmp
import itertools
import json
from pathlib import Path

import pytest
import torch

from motionseq.data.ethucy import SCENES, download, read_scene, scene_files
from motionseq.data.trajectories import make_windows
from motionseq.errors import ConfigError, DataError
from motionseq.sequence import Tracks
from motionseq.tasks.ethucy import ethucy_table, find_scene_runs, load_forecaster, main
from tests.test_train import _run_script

STANDARD_TEST_COUNTS = {"eth": 364, "hotel": 1197, "univ": 24334, "zara1": 2356, "zara2": 5910}


def test_scene_files_match_the_published_layout(shared_data: Path):
    root = shared_data / "ethucy"
    for scene in SCENES:
        for split, names in scene_files(scene).items():
            on_disk = sorted(p.name for p in (root / scene / split).glob("*.txt"))
            assert sorted(names) == on_disk, (scene, split)


def test_read_scene_gives_standard_test_counts(shared_data: Path):
    for scene in ("eth", "hotel", "zara1"):
        splits = read_scene(shared_data / "ethucy", scene)
        assert len(make_windows(splits["test"])) == STANDARD_TEST_COUNTS[scene]


def test_unknown_scene_and_missing_files_say_what_to_do(tmp_path):
    with pytest.raises(ConfigError, match="eth, hotel, univ, zara1, zara2"):
        scene_files("zara3")
    with pytest.raises(DataError, match="python -m motionseq.data.ethucy"):
        read_scene(tmp_path, "hotel")


def test_a_held_out_validation_scene_leaves_training(shared_data: Path):
    from motionseq.data.sources import EthUcySource

    files = scene_files("eth", val_scene="univ")
    univ = ("students001", "students003", "uni_examples")
    assert not [f for f in files["train"] if f.startswith(univ)]
    assert sorted(files["val"]) == sorted(f"{s}_{k}.txt" for s in univ for k in ("train", "val"))
    assert files["test"] == scene_files("eth")["test"]
    # zara3 belongs to zara2's recordings: held out with it
    assert {"crowds_zara02_train.txt", "crowds_zara03_train.txt"} <= set(
        scene_files("eth", val_scene="zara2")["val"])
    root = shared_data / "ethucy"
    data = EthUcySource(str(root), "eth", val_scene="hotel").load()
    assert len(data["train"]) == len(read_scene(root, "eth")["train"]) - 1
    hotel = [Tracks.load_txt(root / "eth" / k / f"biwi_hotel_{k}.txt", dt=0.4)
             for k in ("train", "val")]
    assert len(make_windows(data["val"])) == len(make_windows(hotel)) > 0
    with pytest.raises(ConfigError, match="training scenes"):
        EthUcySource(str(root), "eth", val_scene="eth")
    with pytest.raises(ConfigError, match="unknown ETH/UCY scene"):
        scene_files("eth", val_scene="zara3")


def test_download_fetches_every_file_and_resumes(shared_data: Path, tmp_path):
    source = (shared_data / "ethucy").resolve()
    out = tmp_path / "ethucy"
    download(out, scenes=("hotel",), base_url=source.as_uri())
    for split, names in scene_files("hotel").items():
        for name in names:
            assert filecmp.cmp(out / "hotel" / split / name, source / "hotel" / split / name,
                               shallow=False)
    # files already present are kept (no second fetch): a broken address does not matter
    download(out, scenes=("hotel",), base_url=(tmp_path / "nowhere").as_uri())
    with pytest.raises(DataError, match="could not download"):
        download(tmp_path / "other", scenes=("hotel",), base_url=(tmp_path / "nowhere").as_uri())


def test_find_scene_runs_explains_an_empty_folder(tmp_path):
    with pytest.raises(DataError, match="experiment=forecast_ethucy"):
        find_scene_runs(tmp_path)
    assert main([str(tmp_path / "missing")]) == 2


@pytest.mark.slow
def test_multirun_then_table_matches_baselines(shared_data: Path, tmp_path, capsys):
    sweep = tmp_path / "sweep"
    proc = _run_script("train.py", [
        "-m", "experiment=forecast_ethucy", "data.scene=hotel,zara1",
        f"data.source.root={shared_data / 'ethucy'}", "trainer.max_epochs=1",
        "trainer.limit_train_batches=10", "trainer.limit_val_batches=5", "logger=csv",
        f"hydra.sweep.dir={sweep}"], tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert main([str(sweep)]) == 0
    table = json.loads((sweep / "ethucy_table.json").read_text())
    assert list(table["scenes"]) == ["hotel", "zara1"] and not table["complete"]
    hotel, zara1 = table["scenes"]["hotel"], table["scenes"]["zara1"]
    assert hotel["windows"] == 1197 and zara1["windows"] == 2356
    # the baselines on the same windows reproduce the published table
    assert (round(hotel["cv_ade"], 3), round(hotel["cv_fde"], 3)) == (0.319, 0.614)
    assert (round(zara1["linear_ade"], 3), round(zara1["linear_fde"], 3)) == (0.603, 1.183)
    assert (sweep / "plots" / "ethucy_hotel.png").is_file()
    assert "**mean**" in (sweep / "ethucy_table.md").read_text()
    assert "Only 2 of the 5 scenes" in capsys.readouterr().out
    # the same checkpoints without the mirror average (the recipe's own setting is on)
    assert load_forecaster(hotel["checkpoint"]).hparams.mirror_average
    plain = ethucy_table(sweep, shared_data / "ethucy", plots=False, mirror_average=False)
    for scene, row in plain["scenes"].items():
        assert row["cv_ade"] == table["scenes"][scene]["cv_ade"]
        assert row["model_ade"] != table["scenes"][scene]["model_ade"]


@pytest.mark.slow
def test_multimodal_table_adds_best_of_20(shared_data: Path, tmp_path):
    sweep = tmp_path / "sweep"
    proc = _run_script("train.py", [
        "-m", "experiment=forecast_ethucy_cvae", "data.scene=hotel",
        f"data.source.root={shared_data / 'ethucy'}", "trainer.max_epochs=1",
        "trainer.limit_train_batches=20", "trainer.limit_val_batches=2", "logger=csv",
        f"hydra.sweep.dir={sweep}"], tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert main([str(sweep), "--no-plots"]) == 0
    hotel = json.loads((sweep / "ethucy_table.json").read_text())["scenes"]["hotel"]
    assert hotel["best_k"] == 20
    # the closest of 20 forecasts beats the single most likely one
    assert hotel["best_ade"] < hotel["model_ade"] and hotel["best_fde"] < hotel["model_fde"]
    assert "best of 20" in (sweep / "ethucy_table.md").read_text()
    with pytest.raises(ConfigError, match="no mirror average"):
        load_forecaster(hotel["checkpoint"], mirror_average=False)


@pytest.mark.slow
def test_short_training_on_one_scene_learns(shared_data: Path, tmp_path):
    import pytorch_lightning as pl

    from motionseq.tasks.train import build
    from tests.test_train import compose_cfg

    cfg = compose_cfg("train", ["experiment=forecast_ethucy", "data.scene=hotel",
                                f"data.source.root={shared_data / 'ethucy'}", "logger=none",
                                "callbacks=none", "trainer.max_epochs=2",
                                "trainer.limit_train_batches=40", "trainer.limit_val_batches=8"],
                      tmp_path)
    pl.seed_everything(0, verbose=False)
    datamodule, model = build(cfg)
    trainer = pl.Trainer(accelerator="cpu", max_epochs=2, limit_train_batches=40,
                         limit_val_batches=8, logger=False, enable_checkpointing=False,
                         enable_progress_bar=False, enable_model_summary=False)
    val = list(itertools.islice(datamodule.val_dataloader(), 8))

    def val_ade() -> float:
        model.eval()
        with torch.no_grad():
            return float(torch.cat([(model(b["obs"], b["group"]) - b["fut"]).norm(dim=-1)
                                    .mean(dim=1) for b in val]).mean())

    before = val_ade()
    trainer.fit(model, datamodule=datamodule)
    assert val_ade() < before
