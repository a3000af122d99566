"""Cut :class:`~motionseq.sequence.Tracks` into fixed-length observe/predict windows.

The rule is the one of the Social-GAN ``TrajectoryDataset`` (also used, unchanged, by
STGAT and Social-STGCNN), so ETH/UCY counts match published work:

* a file's sorted *unique* frame ids form the time axis (frame ids that nobody occupies
  are not on it; the windows do not look at the id values);
* a window is ``obs_len + pred_len`` consecutive entries of that axis, starting at every
  ``stride``-th entry from the first;
* an agent gives a sample when it is present in every frame of the window;
* a window is kept only when it holds at least ``min_agents`` such agents. The loader
  writes ``num_peds_considered > min_ped``: the standard ETH/UCY test counts (eth 364,
  hotel 1197, univ 24334, zara1 2356, zara2 5910) are those of ``min_ped=0``, i.e.
  ``min_agents=1`` here. (The loaders' own default ``min_ped=1`` would drop windows with
  a lone pedestrian: ``min_agents=2`` gives eth 181, hotel 1053, zara1 2253, zara2 5833.)

Positions are not rounded (the loaders round to 4 decimals, i.e. 0.1 mm).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from motionseq.errors import ConfigError, DataError
from motionseq.sequence import Tracks

# min_ped=0 in the loaders' `num_peds_considered > min_ped`: the standard test counts.
STANDARD_MIN_AGENTS = 1


@dataclass
class TrajectoryWindows:
    """Observe/predict windows of single agents, one row per (window, agent).

    Attributes:
        obs: ``[N, obs_len, 2]`` float32 observed positions (metres).
        fut: ``[N, pred_len, 2]`` float32 future positions (metres).
        agent: ``[N]`` int64 agent id.
        start_frame: ``[N]`` int64 frame id of the window's first frame.
        scene: ``[N]`` int64 index of the Tracks the window came from.
        dt: seconds per step.
    """

    obs: np.ndarray
    fut: np.ndarray
    agent: np.ndarray
    start_frame: np.ndarray
    scene: np.ndarray
    dt: float

    def __post_init__(self) -> None:
        self.obs = np.asarray(self.obs, dtype=np.float32)
        self.fut = np.asarray(self.fut, dtype=np.float32)
        self.agent = np.asarray(self.agent, dtype=np.int64)
        self.start_frame = np.asarray(self.start_frame, dtype=np.int64)
        self.scene = np.asarray(self.scene, dtype=np.int64)
        n = self.obs.shape[0] if self.obs.ndim == 3 else -1
        if (
            n < 0
            or self.obs.shape[2] != 2
            or self.fut.ndim != 3
            or self.fut.shape[0] != n
            or self.fut.shape[2] != 2
            or any(a.shape != (n,) for a in (self.agent, self.start_frame, self.scene))
        ):
            raise DataError(
                "TrajectoryWindows need obs [N, T_obs, 2], fut [N, T_pred, 2] and agent, "
                f"start_frame, scene [N]; got {self.obs.shape}, {self.fut.shape}, "
                f"{self.agent.shape}, {self.start_frame.shape}, {self.scene.shape}"
            )
        if not (np.isfinite(self.dt) and self.dt > 0):
            raise DataError(f"dt must be a positive number of seconds, got {self.dt}")
        self.dt = float(self.dt)

    def __len__(self) -> int:
        return int(self.obs.shape[0])

    @property
    def obs_len(self) -> int:
        return int(self.obs.shape[1])

    @property
    def pred_len(self) -> int:
        return int(self.fut.shape[1])

    def groups(self) -> np.ndarray:
        """``[N]`` int64 id of each row's scene window (same recording, same start frame):
        the agents a social model sees together, numbered in order of appearance (rows of one
        window are contiguous, as :func:`make_windows` writes them)."""
        if len(self) == 0:
            return np.zeros(0, dtype=np.int64)
        new = np.r_[True, (np.diff(self.scene) != 0) | (np.diff(self.start_frame) != 0)]
        return np.cumsum(new).astype(np.int64) - 1


def _empty(obs_len: int, pred_len: int, dt: float) -> TrajectoryWindows:
    i = np.zeros(0, dtype=np.int64)
    return TrajectoryWindows(
        np.zeros((0, obs_len, 2), np.float32), np.zeros((0, pred_len, 2), np.float32),
        i, i.copy(), i.copy(), dt,
    )


def _windows_one(
    tracks: Tracks, seq_len: int, stride: int, min_agents: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(xy [M, seq_len, 2] float64, agent [M], start_frame [M])`` of one Tracks."""
    frames = np.unique(tracks.frame)
    pos = np.searchsorted(frames, tracks.frame)  # index on the unique-frame axis
    # Rows grouped by agent, in time order within each agent.
    order = np.lexsort((pos, tracks.agent))
    agent, pos, xy = tracks.agent[order], pos[order], tracks.xy[order]
    n = agent.shape[0]
    if n < seq_len:
        z = np.zeros(0, dtype=np.int64)
        return np.zeros((0, seq_len, 2)), z, z.copy()
    # Row j starts a full window when row j + seq_len - 1 is the same agent exactly
    # seq_len - 1 axis steps later: positions strictly increase per agent (no duplicate
    # (frame, agent) rows), so every step in between is then present too.
    j = np.arange(n - seq_len + 1)
    last = j + seq_len - 1
    full = (agent[last] == agent[j]) & (pos[last] - pos[j] == seq_len - 1)
    full &= pos[j] % stride == 0
    j = j[full]
    start = pos[j]
    # Keep windows (start positions) that hold enough agents.
    starts, counts = np.unique(start, return_counts=True)
    keep = np.isin(start, starts[counts >= min_agents])
    j, start = j[keep], start[keep]
    # Social-GAN order: by window, then by agent id.
    o = np.lexsort((agent[j], start))
    j, start = j[o], start[o]
    win = xy[j[:, None] + np.arange(seq_len)[None, :]]
    return win, agent[j], frames[start]


def make_windows(
    tracks: Tracks | Sequence[Tracks],
    obs_len: int = 8,
    pred_len: int = 12,
    stride: int = 1,
    min_agents: int = STANDARD_MIN_AGENTS,
) -> TrajectoryWindows:
    """Windows of ``obs_len + pred_len`` consecutive frames (rule in the module docstring).

    ``min_agents`` is the least number of agents present throughout a window for it to be
    kept (1 = the standard ETH/UCY counts; 2 = the loaders' default ``min_ped=1``).
    Tracks shorter than a window just give no windows. ``scene`` is the position of each
    Tracks in the input sequence.
    """
    for name, v in (("obs_len", obs_len), ("pred_len", pred_len), ("stride", stride),
                    ("min_agents", min_agents)):
        if int(v) != v or v < 1:
            raise ConfigError(f"{name} must be a whole number >= 1, got {v!r}")
    parts = [tracks] if isinstance(tracks, Tracks) else list(tracks)
    if not parts:
        raise DataError("make_windows got no Tracks")
    dts = {p.dt for p in parts}
    if len(dts) > 1:
        raise DataError(f"all Tracks must share one dt to be windowed together, got {sorted(dts)}")
    dt = parts[0].dt
    seq_len = obs_len + pred_len
    xs, agents, starts, scenes = [], [], [], []
    for k, tr in enumerate(parts):
        win, ag, st = _windows_one(tr, seq_len, stride, min_agents)
        xs.append(win)
        agents.append(ag)
        starts.append(st)
        scenes.append(np.full(ag.shape, k, dtype=np.int64))
    win = np.concatenate(xs).astype(np.float32)
    return TrajectoryWindows(
        obs=win[:, :obs_len], fut=win[:, obs_len:], agent=np.concatenate(agents),
        start_frame=np.concatenate(starts), scene=np.concatenate(scenes), dt=dt,
    )


def concat_windows(parts: Sequence[TrajectoryWindows]) -> TrajectoryWindows:
    """Stack windows of several sets (same lengths and dt).

    Scene indices are shifted so that windows of different parts never share a scene:
    part ``k``'s scenes follow the highest scene index of parts ``0..k-1``.
    """
    parts = list(parts)
    if not parts:
        raise DataError("concat_windows got no parts")
    shapes = {(p.obs_len, p.pred_len) for p in parts}
    if len(shapes) > 1:
        raise DataError(f"windows of different lengths cannot be stacked: {sorted(shapes)}")
    dts = {p.dt for p in parts}
    if len(dts) > 1:
        raise DataError(f"windows with different dt cannot be stacked: {sorted(dts)}")
    scenes, offset = [], 0
    for p in parts:
        scenes.append(p.scene + offset)
        if len(p):
            offset += int(p.scene.max()) + 1
    return TrajectoryWindows(
        obs=np.concatenate([p.obs for p in parts]),
        fut=np.concatenate([p.fut for p in parts]),
        agent=np.concatenate([p.agent for p in parts]),
        start_frame=np.concatenate([p.start_frame for p in parts]),
        scene=np.concatenate(scenes),
        dt=parts[0].dt,
    )


def read_split_dir(directory: str | Path, dt: float = 0.4) -> list[Tracks]:
    """Every ``*.txt`` of a folder (ETH/UCY ``frame agent x y`` rows), sorted by name."""
    directory = Path(directory)
    if not directory.is_dir():
        raise DataError(f"trajectory folder not found: {directory}")
    files = sorted(directory.glob("*.txt"))
    if not files:
        raise DataError(f"no .txt trajectory files in {directory}")
    return [Tracks.load_txt(f, dt=dt) for f in files]
