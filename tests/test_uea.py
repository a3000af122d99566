"""UEA/UCR ``.ts`` files: the parser on small hand-written cases, NATOPS from the shared
data, the download code (on a local archive, no network) and a short training run."""

from __future__ import annotations

import zipfile
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from motionseq.data.uea import UeaSource, download_uea, find_problem, main, read_ts
from motionseq.errors import DataError
from motionseq.tasks.train import train
from tests.test_train import compose_cfg

HEADER = """# a comment
@problemName Toy
@timeStamps false
@missing true
@univariate false
@dimensions 2
@equalLength false
@classLabel true walk run
@data
"""


def _ts(tmp_path: Path, body: str, header: str = HEADER, name: str = "toy.ts") -> Path:
    path = tmp_path / name
    path.write_text(header + body)
    return path


def test_missing_values_unequal_lengths_and_string_labels(tmp_path):
    path = _ts(tmp_path, "1,2,3:4,5,6:walk\n"
                         "\n"
                         "# a comment between cases\n"
                         "1,?,3,4:5,6:run\n"
                         "7,8:9,10:walk  \n")
    data = read_ts(path)
    assert data.problem == "Toy" and data.dimensions == 2 and len(data) == 3
    assert data.labels == ["walk", "run", "walk"] and data.class_labels == ["walk", "run"]
    np.testing.assert_array_equal(data.series[0], [[1, 4], [2, 5], [3, 6]])
    second = data.series[1]  # channel 2 is shorter than channel 1: NaN at its end
    assert second.shape == (4, 2) and np.isnan(second[1, 0]) and np.isnan(second[2:, 1]).all()
    assert data.series[2].shape == (2, 2)
    assert data.padded().shape == (3, 4, 2)
    assert np.isnan(data.padded()[2, 2:]).all()


def test_header_variants(tmp_path):
    lower = ("@problemname U\n@timestamps false\n@univariate true\n@equallength true\n"
             "@serieslength 3\n@classlabel true 1 2\n@data\n")
    data = read_ts(_ts(tmp_path, "1,2,3:1\n4,5,6:2\n", header=lower))
    assert data.dimensions == 1 and data.series[1].shape == (3, 1) and data.labels == ["1", "2"]
    unlabelled = read_ts(_ts(tmp_path, "1,2:3,4\n", header="@classLabel false\n@data\n",
                             name="u.ts"))
    assert unlabelled.labels is None and unlabelled.series[0].shape == (2, 2)


@pytest.mark.parametrize("body,header,match", [
    ("1,2:3,4:walk\n1,x:3,4:run\n", HEADER, r"toy.ts:11: channel 1 holds 'x'"),
    ("1,2:3,4:walk\n1,2:run\n", HEADER, r"toy.ts:11: 1 channels, expected 2 \(@dimensions\)"),
    ("1,2:3,4:jump\n", HEADER, r"toy.ts:10: class label 'jump' is not one of"),
    ("1,2::walk\n", HEADER, r"toy.ts:10: channel 2 is empty"),
    ("1,2,3\n", HEADER, r"toy.ts:10: expected channels and a class label"),
    ("1,2:3,4:\n", HEADER, r"toy.ts:10: the class label is empty"),
    ("1,2:3,4:walk\n", HEADER.replace("@data\n", ""), r"toy.ts:9: expected a @header line, or @data"),
    ("", HEADER.replace("@data\n", ""), "has no @data line"),
    ("", HEADER, "no cases after @data"),
    ("1,2:3,4:walk\n", "@problemName T\n@timeStamps true\n@data\n", "timestamped"),
    ("(0,1),(1,2):walk\n", "@classLabel true walk\n@data\n", r"toy.ts:3: timestamped"),
    ("1,2:walk\n", "@dimensions two\n@data\n", r"toy.ts:1: @dimensions must be a whole"),
    ("1,2:walk\n", "@classLabel maybe\n@data\n", r"toy.ts:1: @classLabel must be true or"),
    ("1,2:walk\n", "stray text\n@data\n", r"toy.ts:1: expected a @header line"),
])
def test_malformed_files_name_the_line(tmp_path, body, header, match):
    with pytest.raises(DataError, match=match):
        read_ts(_ts(tmp_path, body, header=header))


def test_source_reads_both_layouts_of_a_problem_folder(tmp_path):
    body = "1,2,3,?:4,5,6,?:walk\n1,2:3,4:run\n"
    for root in (tmp_path / "flat", tmp_path / "nested" / "Toy"):
        root.mkdir(parents=True)
        for split in ("TRAIN", "TEST"):
            _ts(root, body, name=f"Toy_{split}.ts")
    for root in (tmp_path / "flat", tmp_path / "nested"):
        splits = UeaSource(str(root), "Toy", fps=50.0).load()
        seq = splits["train"][0]
        # raw layout, one value per channel; trailing frames missing everywhere are dropped
        assert seq.layout == "raw" and seq.keypoints.shape == (3, 2, 1) and seq.fps == 50.0
        assert seq.label == "walk" and seq.source == "Toy_TRAIN.ts#0"
        assert [s.label for s in splits["test"]] == ["walk", "run"]
    with pytest.raises(DataError, match=r"UEA problem 'Nope' not found.*python -m motionseq"):
        find_problem(tmp_path / "flat", "Nope")
    _ts(tmp_path / "flat", "1,2:3,4\n", header="@classLabel false\n@data\n", name="Toy_TEST.ts")
    with pytest.raises(DataError, match="no class labels"):
        UeaSource(str(tmp_path / "flat"), "Toy").load()


def test_natops_from_the_shared_data(shared_data: Path):
    natops = shared_data / "natops"
    if not (natops / "NATOPS_TRAIN.ts").is_file():
        pytest.skip(f"NATOPS not found under {natops}")
    for split in ("TRAIN", "TEST"):
        data = read_ts(natops / f"NATOPS_{split}.ts")
        assert data.problem == "NATOPS" and len(data) == 180 and data.dimensions == 24
        assert all(s.shape == (51, 24) and np.isfinite(s).all() for s in data.series)
        assert data.class_labels == ["1.0", "2.0", "3.0", "4.0", "5.0", "6.0"]
        assert Counter(data.labels) == {f"{k}.0": 30 for k in range(1, 7)}
    # the shared copy keeps NATOPS in a lower-case folder
    splits = UeaSource(str(shared_data), "NATOPS").load()
    assert {k: len(v) for k, v in splits.items()} == {"train": 180, "test": 180}
    assert all(s.keypoints.shape == (51, 24, 1) for s in splits["test"])


def test_natops_trains_well_above_chance(shared_data: Path, tmp_path):
    """``data=uea`` on NATOPS: three epochs of the default classifier, one thread."""
    if not (shared_data / "natops" / "NATOPS_TRAIN.ts").is_file():
        pytest.skip(f"NATOPS not found under {shared_data / 'natops'}")
    cfg = compose_cfg("train", ["data=uea", f"data.source.root={shared_data}",
                                "data.name=NATOPS", "trainer.max_epochs=3",
                                "logger=none", "callbacks=none"], tmp_path)
    metrics = train(cfg)
    assert metrics["test/acc"] > 0.5, metrics  # chance is 1/6


def test_validation_folds_partition_train_stratified(shared_data: Path):
    """data.val_fold=[k,5]: the five validation folds of NATOPS train are disjoint, cover
    all 180 cases, hold 6 of each class, and never touch test."""
    from motionseq.data.datamodules import ActionDataModule
    from motionseq.data.datasets import stratified_fold
    from motionseq.errors import ConfigError

    if not (shared_data / "natops" / "NATOPS_TRAIN.ts").is_file():
        pytest.skip(f"NATOPS not found under {shared_data / 'natops'}")
    seen = []
    for k in range(5):
        dm = ActionDataModule(UeaSource(str(shared_data), "NATOPS"), val_fold=[k, 5])
        splits, labels = dm._labelled_splits()
        assert len(splits["val"]) == 36 and len(splits["train"]) == 144
        assert len(splits["test"]) == 180
        assert Counter(labels["val"]) == {c: 6 for c in range(6)}
        val = {s.keypoints.tobytes() for s in splits["val"]}
        assert not val & {s.keypoints.tobytes() for s in splits["train"]}
        seen += val
    assert len(set(seen)) == 180  # every case validated once
    with pytest.raises(ConfigError, match="fold"):
        stratified_fold([0, 1], 5, 5, 0)


def _zip(tmp_path: Path, name: str, files: dict[str, str]) -> Path:
    archive = tmp_path / "server" / f"{name}.zip"
    archive.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(archive, "w") as z:
        for member, text in files.items():
            z.writestr(member, text)
    return archive


def test_download_from_a_local_archive(tmp_path):
    case = HEADER + "1,2:3,4:walk\n"
    _zip(tmp_path, "Toy", {"Toy/Toy_TRAIN.ts": case, "Toy/Toy_TEST.ts": case,
                           "Toy/Toy_TRAIN.arff": "ignored"})
    missing = (tmp_path / "server" / "missing" / "{name}.zip").as_uri()
    served = (tmp_path / "server").as_uri() + "/{name}.zip"
    dest = tmp_path / "data"
    # the first address fails, the next one serves the archive
    folder = download_uea("Toy", dest, urls=(missing, served))
    assert folder == dest / "Toy"
    assert sorted(p.name for p in folder.iterdir()) == ["Toy_TEST.ts", "Toy_TRAIN.ts"]
    assert [p.name for p in dest.iterdir()] == ["Toy"]  # no temporary files left behind
    assert len(UeaSource(str(dest), "Toy").load()["train"]) == 1


def test_download_errors_leave_nothing_behind(tmp_path, capsys):
    dest = tmp_path / "data"
    missing = (tmp_path / "nowhere" / "{name}.zip").as_uri()
    with pytest.raises(DataError, match="(?s)could not download UEA problem 'Toy'.*by hand"):
        download_uea("Toy", dest, urls=(missing,))
    _zip(tmp_path, "Bad", {"Bad/Bad_TRAIN.ts": HEADER + "1,2:3,4:walk\n"})
    served = (tmp_path / "server").as_uri() + "/{name}.zip"
    with pytest.raises(DataError, match="holds no Bad_TEST.ts"):
        download_uea("Bad", dest, urls=(served,))
    _zip(tmp_path, "Cut", {"Cut_TRAIN.ts": HEADER, "Cut_TEST.ts": HEADER})
    with pytest.raises(DataError, match="no cases after @data"):
        download_uea("Cut", dest, urls=(served,))
    assert list(dest.iterdir()) == []


def test_download_command_reports_errors(tmp_path, monkeypatch, capsys):
    import motionseq.data.uea as uea

    def offline(name, dest):
        raise DataError(f"could not download UEA problem {name!r}")

    monkeypatch.setattr(uea, "download_uea", offline)
    assert main(["Toy", str(tmp_path / "d")]) == 1
    assert "could not download UEA problem 'Toy'" in capsys.readouterr().out
