"""ETH/UCY pedestrian trajectories: the five leave-one-scene-out splits.

Layout (as published with Social-GAN and Trajectron++): ``<root>/<scene>/<split>/*.txt``
with ``scene`` one of :data:`SCENES` and ``split`` train / val / test; each file holds
``frame agent x y`` rows in metres, one frame id step (10) = 0.4 s. The test split of a
scene is that scene's recording; train and val are the other four (val is the last ~20%
by frame of each training recording).

:func:`download` fetches the same files from the public Trajectron++ repository.
"""

from __future__ import annotations

import logging
import urllib.error
import urllib.request
from pathlib import Path

from motionseq.errors import ConfigError, DataError
from motionseq.fileio import atomic_write
from motionseq.sequence import Tracks

log = logging.getLogger(__name__)

SCENES = ("eth", "hotel", "univ", "zara1", "zara2")
SPLITS = ("train", "val", "test")
DT = 0.4
BASE_URL = ("https://raw.githubusercontent.com/StanfordASL/Trajectron-plus-plus/master/"
            "experiments/pedestrians/raw")

# Recordings and the scene whose test split each one is.
_TEST_FILES = {
    "eth": ["biwi_eth.txt"],
    "hotel": ["biwi_hotel.txt"],
    "univ": ["students001.txt", "students003.txt"],
    "zara1": ["crowds_zara01.txt"],
    "zara2": ["crowds_zara02.txt"],
}
# Training recordings (stems); a scene trains on every one that is not its own.
_TRAIN_STEMS = {
    "eth": ["biwi_eth"],
    "hotel": ["biwi_hotel"],
    "univ": ["students001", "students003", "uni_examples"],
    "zara1": ["crowds_zara01"],
    "zara2": ["crowds_zara02", "crowds_zara03"],
}
# univ's own training files are its test files; zara3 and uni_examples belong to no test.
_OWN_TRAIN = {"eth": {"biwi_eth"}, "hotel": {"biwi_hotel"},
              "univ": {"students001", "students003"}, "zara1": {"crowds_zara01"},
              "zara2": {"crowds_zara02"}}


def scene_files(scene: str, val_scene: str | None = None) -> dict[str, list[str]]:
    """File names of each split of ``scene`` (leave-one-scene-out).

    ``val_scene`` (one of the training scenes) holds that whole scene out of training and
    validates on all of its training recordings (their ``_train`` and ``_val`` files): a
    validation on a scene the model has never seen, as the test is, instead of on the last
    part of the recordings it trains on."""
    check_scene(scene)
    stems = sorted(s for stems in _TRAIN_STEMS.values() for s in stems
                   if s not in _OWN_TRAIN[scene])
    files = {"train": [f"{s}_train.txt" for s in stems],
             "val": [f"{s}_val.txt" for s in stems], "test": list(_TEST_FILES[scene])}
    if val_scene is None:
        return files
    check_scene(val_scene)
    if val_scene == scene:
        raise ConfigError(f"val_scene must be one of the training scenes of {scene!r}, not "
                          f"{scene!r} itself (its recording is the test split)")
    held = [s for s in stems if s in _TRAIN_STEMS[val_scene]]
    return {"train": [f"{s}_train.txt" for s in stems if s not in held],
            "val": [f"{s}_{split}.txt" for s in held for split in ("train", "val")],
            "test": files["test"]}


def check_scene(scene: str) -> None:
    if scene not in SCENES:
        raise ConfigError(f"unknown ETH/UCY scene {scene!r}; choose one of {', '.join(SCENES)}")


def read_scene(root: str | Path, scene: str, dt: float = DT,
               splits: tuple[str, ...] = SPLITS,
               val_scene: str | None = None) -> dict[str, list[Tracks]]:
    """``{split: the scene's recordings as :class:`Tracks`}`` for each of ``splits``
    (default train, val and test); ``val_scene``: see :func:`scene_files`."""
    root = Path(root)
    files = {k: v for k, v in scene_files(scene, val_scene).items() if k in splits}
    # a held-out validation scene reads its _train files from train/ (see scene_files)
    folder = {split: [root / scene / ("train" if n.endswith("_train.txt") else split) / n
                      for n in names] for split, names in files.items()}
    missing = [path for paths in folder.values() for path in paths if not path.is_file()]
    if missing:
        raise DataError(
            f"ETH/UCY files missing under {root} (first: {missing[0]}); download them with "
            f"`python -m motionseq.data.ethucy {root}` or point data.source.root at a copy"
        )
    return {split: [Tracks.load_txt(path, dt=dt) for path in paths]
            for split, paths in folder.items()}


def download(root: str | Path, scenes: tuple[str, ...] = SCENES, base_url: str = BASE_URL,
             timeout: float = 60.0) -> Path:
    """Fetch the ETH/UCY split files into ``root/<scene>/<split>/``; files already there are
    kept, each new file is written atomically. Returns ``root``."""
    root = Path(root)
    for scene in scenes:
        for split, names in scene_files(scene).items():
            for name in names:
                path = root / scene / split / name
                if path.is_file():
                    continue
                url = f"{base_url}/{scene}/{split}/{name}"
                log.info("downloading %s", url)
                try:
                    with urllib.request.urlopen(url, timeout=timeout) as response:
                        data = response.read()
                except (urllib.error.URLError, TimeoutError) as e:
                    raise DataError(f"could not download {url}: {e}") from e
                atomic_write(path, lambda tmp, data=data: tmp.write_bytes(data))
    return root


def main(argv: list[str] | None = None) -> int:
    """``python -m motionseq.data.ethucy ROOT``: download the five scenes into ROOT."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m motionseq.data.ethucy",
                                     description="Download the ETH/UCY splits.")
    parser.add_argument("root", nargs="?", default="data/ethucy")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    print(download(args.root))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
