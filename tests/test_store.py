"""The on-disk sequence store: a round trip through shards, items read lazily from
memory-mapped files, statistics accumulated while writing equal to the in-memory ones,
atomic writes, and training from a store reproduces training from memory."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from motionseq.data.datamodules import ActionDataModule
from motionseq.data.datasets import pad_collate
from motionseq.data.features import PoseFeatures, feature_stats
from motionseq.data.sources import WorkoutsSource
from motionseq.data.store import (
    MANIFEST,
    SequenceStore,
    StoreDataset,
    scan_stats,
    write_store,
)
from motionseq.errors import DataError
from motionseq.tasks.train import train
from tests.test_train import TINY, compose_cfg


def _sequences(n: int, dim: int = 5, seed: int = 0) -> list[tuple[np.ndarray, int]]:
    rng = np.random.default_rng(seed)
    return [(rng.normal(i % 3, 1 + i % 2, size=(int(rng.integers(3, 40)), dim))
             .astype(np.float32), i % 3) for i in range(n)]


def _write(root, splits, dim=5, **kw) -> SequenceStore:
    return write_store(root, {k: iter(v) for k, v in splits.items()}, dim, ["a", "b", "c"], **kw)


def test_round_trip_through_several_shards(tmp_path):
    data = {"train": _sequences(50), "val": _sequences(7, seed=1), "test": _sequences(9, seed=2)}
    store = _write(tmp_path / "s", data, meta={"note": "x"}, shard_mb=0.002)  # ~100 frames each
    assert store.splits == ["train", "val", "test"] and store.class_names == ["a", "b", "c"]
    assert store.meta == {"note": "x"} and store.feature_dim == 5
    assert len(store.manifest["splits"]["train"]["shards"]) > 3
    for split, items in data.items():
        ds = store.dataset(split)
        assert len(ds) == len(items)
        for i, (x, y) in enumerate(items):
            item = ds[i]
            assert item["x"].dtype == torch.float32 and np.array_equal(item["x"].numpy(), x)
            assert int(item["y"]) == y
    assert not list(tmp_path.glob(".s.tmp-*"))


def test_items_are_read_lazily(tmp_path):
    store = _write(tmp_path / "s", {"train": _sequences(200, dim=64)}, dim=64)
    ds = store.dataset("train")
    assert ds._open is None  # no file opened before the first item
    ds[3]
    assert len(ds._open) == len(store.manifest["splits"]["train"]["shards"])
    # a worker gets the index, not the frames: the pickle is far smaller than the store
    assert len(pickle.dumps(ds)) < store.size_bytes() / 5
    clone = pickle.loads(pickle.dumps(ds))
    assert clone._open is None and torch.equal(clone[7]["x"], ds[7]["x"])
    assert clone[7]["x"].numpy().flags.writeable
    loader = DataLoader(ds, batch_size=16, num_workers=2, collate_fn=pad_collate)
    assert sum(len(b["y"]) for b in loader) == 200
    chunks = list(ds.iter_chunks(frames=100))
    assert sum(len(c) for c in chunks) == store.manifest["splits"]["train"]["frames"]


def test_streaming_statistics_equal_in_memory_statistics(tmp_path):
    data = _sequences(120, dim=7, seed=4)
    store = _write(tmp_path / "s", {"train": data, "test": _sequences(3, dim=7)}, dim=7,
                   shard_mb=0.003)
    mean, std = feature_stats([x for x, _ in data])
    got_mean, got_std = store.stats()
    np.testing.assert_array_equal(got_mean, mean)  # same sums, same order: identical
    np.testing.assert_array_equal(got_std, std)
    scan_mean, scan_std = scan_stats(store.dataset("train"), frames=97)  # other order
    np.testing.assert_allclose(scan_mean, mean, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(scan_std, std, rtol=1e-5)


def test_a_failed_write_leaves_nothing_and_a_finished_store_is_kept(tmp_path):
    def broken():
        yield from _sequences(5)
        raise RuntimeError("source died")

    with pytest.raises(RuntimeError):
        write_store(tmp_path / "s", {"train": broken()}, 5, ["a", "b", "c"])
    assert list(tmp_path.iterdir()) == []
    first = _write(tmp_path / "s", {"train": _sequences(4)})
    # a second writer of the same store (another DDP rank) finds it done and keeps it
    second = _write(tmp_path / "s", {"train": _sequences(4, seed=9)})
    assert second.manifest == first.manifest
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s"]
    with pytest.raises(DataError, match="no sequence store"):
        SequenceStore(tmp_path / "none")


class _CountingSource(WorkoutsSource):
    loads = 0

    def load(self):
        type(self).loads += 1
        return super().load()


def _datamodule(**kw) -> ActionDataModule:
    source = _CountingSource(train_per_class=6, test_per_class=3, max_frames=40,
                             classes=["squat", "lunge"])
    dm = ActionDataModule(source, PoseFeatures(), batch_size=4, **kw)
    dm.setup()
    return dm


def test_datamodule_writes_the_store_once_and_matches_memory(tmp_path):
    memory = _datamodule()
    stored = _datamodule(store=str(tmp_path / "store"))
    assert isinstance(stored.datasets["train"], StoreDataset)
    assert stored.model_kwargs() == memory.model_kwargs()
    for k, v in memory.normalizer().items():
        np.testing.assert_array_equal(stored.normalizer()[k], v)
    for split in ("train", "val", "test"):
        a, b = memory.datasets[split], stored.datasets[split]
        assert len(a) == len(b)
        assert all(torch.equal(a[i]["x"], b[i]["x"]) and a[i]["y"] == b[i]["y"]
                   for i in range(len(a)))
    loads = _CountingSource.loads
    again = _datamodule(store=str(tmp_path / "store"))  # reads the store, not the source
    assert _CountingSource.loads == loads
    assert len(again.datasets["train"]) == len(memory.datasets["train"])
    bare = ActionDataModule(store=str(tmp_path / "store"), batch_size=4)  # no source at all
    bare.setup()
    assert bare.model_kwargs() == memory.model_kwargs()
    with pytest.raises(DataError, match="other data or settings.*val_fraction"):
        _datamodule(store=str(tmp_path / "store"), val_fraction=0.3)


def test_training_from_the_store_equals_training_in_memory(tmp_path):
    overrides = ["experiment=classify_workouts", *TINY["workouts"], "trainer.max_epochs=2",
                 "logger=none", "callbacks.progress_bar=null"]
    memory = train(compose_cfg("train", overrides, tmp_path / "memory"))
    stored = train(compose_cfg("train", [*overrides, f"+data.store={tmp_path / 'store'}"],
                               tmp_path / "stored"))
    assert (tmp_path / "store" / MANIFEST).is_file()
    keys = [k for k in memory if k.startswith(("test/", "val/"))]
    assert keys and {k: stored[k] for k in keys} == {k: memory[k] for k in keys}


def test_memory_benchmark_runs_on_a_small_store():
    from bench import memory

    load = memory.measure_dataload(passes=1, seconds=0.5)
    assert load["samples_per_s"] > 0 and load["batch_size"] == 64
    rss = memory.measure_rss(3000)
    assert rss["sequences"] == 3000 and rss["steps"] == -(-3000 // memory.RSS_BATCH)
    assert rss["store_mb"] > 0 and rss["rss_mb_peak"] >= rss["rss_mb_before"] > 0
