"""Data sources: each turns a dataset into named splits of contract objects.

An action source returns ``{"train": [PoseSequence, ...], "test": [...]}`` (and may add
``"val"``); a trajectory source returns the same keys with lists of :class:`Tracks`.
Sources are built from config with ``_target_``.
"""

from __future__ import annotations

from pathlib import Path

from motionseq.sequence import PoseSequence, Tracks


class WorkoutsSource:
    """Synthetic home-workout poses (:mod:`motionseq.data.workouts`), made from a seed.

    Train and test use different seeds, so no sequence is shared between them.
    """

    def __init__(self, train_per_class: int = 150, test_per_class: int = 50, seed: int = 0,
                 min_frames: int = 30, max_frames: int = 150, fps: float = 30.0,
                 noise: float = 1.0, drop_prob: float = 0.02,
                 classes: list[str] | None = None) -> None:
        from motionseq.data.workouts import WORKOUT_CLASSES

        self.train_per_class, self.test_per_class, self.seed = train_per_class, test_per_class, seed
        self.kwargs = dict(min_frames=min_frames, max_frames=max_frames, fps=fps, noise=noise,
                           drop_prob=drop_prob, classes=tuple(classes or WORKOUT_CLASSES))

    def load(self) -> dict[str, list[PoseSequence]]:
        from motionseq.data.workouts import generate_workouts

        train = generate_workouts(self.train_per_class, seed=2 * self.seed, **self.kwargs)
        test = generate_workouts(self.test_per_class, seed=2 * self.seed + 1, **self.kwargs)
        return {"train": [s.sequence for s in train], "test": [s.sequence for s in test]}


class CrowdsSource:
    """Synthetic pedestrian crowds (:mod:`motionseq.data.crowds`), written once as
    ETH/UCY-style text under ``root`` and read back with the same reader as ETH/UCY."""

    def __init__(self, root: str, seed: int = 0, train_scenes: int = 24, val_scenes: int = 2,
                 test_scenes: int = 3, dt: float = 0.4) -> None:
        self.root, self.seed, self.dt = Path(root), seed, dt
        self.scenes = {"train": train_scenes, "val": val_scenes, "test": test_scenes}

    def load(self) -> dict[str, list[Tracks]]:
        from motionseq.data.crowds import write_crowds
        from motionseq.data.trajectories import read_split_dir

        # One folder per seed and split sizes, so runs that differ only there (a sweep,
        # processes started side by side) never rewrite each other's files.
        counts = "-".join(str(self.scenes[k]) for k in ("train", "val", "test"))
        root = write_crowds(self.root / f"seed{self.seed}_{counts}", seed=self.seed,
                            scenes=self.scenes)
        return {split: read_split_dir(root / split, dt=self.dt) for split in self.scenes}


class EthUcySource:
    """One ETH/UCY leave-one-scene-out split (:mod:`motionseq.data.ethucy`): train and val
    from the other four scenes, test from ``scene``; ``val_scene`` validates on one of those
    four held out of training instead (see :func:`~motionseq.data.ethucy.scene_files`)."""

    def __init__(self, root: str, scene: str = "zara1", dt: float = 0.4,
                 val_scene: str | None = None) -> None:
        from motionseq.data.ethucy import check_scene, scene_files

        check_scene(scene)
        scene_files(scene, val_scene)  # a bad val_scene fails here, before any training
        self.root, self.scene, self.dt, self.val_scene = Path(root), scene, dt, val_scene

    def load(self) -> dict[str, list[Tracks]]:
        from motionseq.data.ethucy import read_scene

        return read_scene(self.root, self.scene, dt=self.dt, val_scene=self.val_scene)
