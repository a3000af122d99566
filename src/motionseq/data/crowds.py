"""Synthetic pedestrian crowds (no download), written as ETH/UCY-style :class:`Tracks`.

Pedestrians enter at the edges of a rectangular area (Poisson births, alone or in small
groups), walk towards a goal on another edge at their own preferred speed and leave
there. Motion follows a social-force model (Helbing & Molnar 1995; Helbing, Farkas &
Vicsek 2000): relaxation towards the desired velocity, anisotropic exponential repulsion
between pedestrians, plus an anticipatory term on the predicted closest approach
(Zanlungo et al. 2011) so that people curve around each other early rather than at
contact. A slowly wandering heading and speed make paths less straight. The model runs
at ``dt / 4`` and positions are recorded every ``dt`` with small Gaussian noise.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from motionseq.errors import ConfigError, DataError
from motionseq.fileio import atomic_write
from motionseq.sequence import Tracks

SUBSTEPS = 4  # internal steps per recorded step
WARMUP_S = 24.0  # simulated before recording so the first frames already hold a crowd
NOISE_M = 0.02  # measurement noise (std, metres) added to recorded positions

# Social-force parameters (accelerations in m/s^2, lengths in m, times in s).
TAU = 0.5  # relaxation time towards the desired velocity
REP_A, REP_B = 3.0, 0.3  # near-field repulsion strength and range
ANT_A, ANT_B, ANT_T = 2.0, 0.6, 3.0  # anticipatory repulsion: strength, range, horizon
LAMBDA = 0.3  # anisotropy: weight of what happens behind a pedestrian
CONTACT_K = 60.0  # body compression when two discs overlap
GROUP_K = 1.0  # attraction towards the group's centre beyond GROUP_GAP
GROUP_GAP = 0.9
GROUP_REP = 0.3  # group members repel each other less
HEADING_SIGMA, HEADING_TAU, HEADING_BACK = 0.12, 2.0, 4.0  # wandering turn rate (rad/s)
SPEED_SIGMA, SPEED_TAU = 0.08, 6.0  # relative wandering of the preferred speed
META_NAME = "crowds_meta.json"
META_VERSION = 1


def _edge_point(rng: np.random.Generator, edge: int, w: float, h: float) -> np.ndarray:
    """A point on edge 0 left, 1 right, 2 bottom, 3 top, away from the corners."""
    m = 1.0
    if edge in (0, 1):
        return np.array([0.0 if edge == 0 else w, rng.uniform(m, h - m)])
    return np.array([rng.uniform(m, w - m), 0.0 if edge == 2 else h])


def _unit(v: np.ndarray) -> np.ndarray:
    return v / max(float(np.linalg.norm(v)), 1e-9)


_OUTWARD = np.array([[-1.0, 0.0], [1.0, 0.0], [0.0, -1.0], [0.0, 1.0]])  # per edge


class _Crowd:
    """State of the pedestrians inside the area; one row per pedestrian (compacted)."""

    fields = ("pos", "vel", "goal", "v0", "radius", "group", "ident", "turn", "turn_rate",
              "speed_dev", "age")

    def __init__(self, rng: np.random.Generator, w: float, h: float, max_agents: int) -> None:
        self.rng, self.w, self.h, self.max_agents = rng, w, h, max_agents
        self.pos = np.zeros((0, 2))
        self.vel = np.zeros((0, 2))
        self.goal = np.zeros((0, 2))
        self.v0 = np.zeros(0)
        self.radius = np.zeros(0)
        self.group = np.zeros(0, dtype=np.int64)  # one id per arrival (a person or a group)
        self.ident = np.zeros(0, dtype=np.int64)
        self.turn = np.zeros(0)  # heading offset from the goal direction (rad)
        self.turn_rate = np.zeros(0)
        self.speed_dev = np.zeros(0)  # relative deviation from the preferred speed
        self.age = np.zeros(0)
        self.next_id, self.next_group = 1, 0
        self._members_changed()

    def __len__(self) -> int:
        return int(self.pos.shape[0])

    def _members_changed(self) -> None:
        # Group members share one heading/speed wander: each row copies the noise of its
        # group's first row, so their (equal at birth) states stay equal.
        _, first, inv = np.unique(self.group, return_index=True, return_inverse=True)
        self.first = first[inv]
        self.same = self.group[:, None] == self.group[None, :]
        self.group_size = self.same.sum(1)
        self.pair_gain = np.where(self.same, GROUP_REP, 1.0)
        self.diag = np.eye(len(self.group), dtype=bool)

    def spawn(self) -> None:
        """One arrival (1-3 people side by side) at a random edge, if there is room."""
        rng = self.rng
        size = int(rng.choice([1, 2, 3], p=[0.7, 0.22, 0.08]))
        if len(self) + size > self.max_agents:
            return
        edge = int(rng.integers(4))
        start = _edge_point(rng, edge, self.w, self.h)
        for _ in range(10):  # a goal on another edge, far enough to be a real crossing
            if rng.random() < 0.6:
                other = edge ^ 1
            else:
                other = int(rng.choice([(edge + 2) % 4, (edge + 3) % 4]))
            end = _edge_point(rng, other, self.w, self.h)
            if np.linalg.norm(end - start) > 6.0:
                break
        # The goal lies beyond the edge, so people walk out instead of stopping on it.
        end = end + 1.5 * _OUTWARD[other]
        d = _unit(end - start)
        side = np.array([-d[1], d[0]])
        offsets = (np.arange(size) - (size - 1) / 2) * 0.75
        # Side by side across the walking direction, everyone inside the area.
        starts = np.clip(start + offsets[:, None] * side, 0.0, [self.w, self.h])
        if len(self):
            gap = np.linalg.norm(starts[:, None] - self.pos[None], axis=-1)
            if gap.min() < 1.2:  # the entrance is occupied: this arrival is lost
                return
        speed = float(np.clip(rng.normal(1.3, 0.2), 0.7, 1.9))
        new = {
            "pos": starts, "vel": np.tile(d * speed, (size, 1)),
            "goal": end + offsets[:, None] * side, "v0": np.full(size, speed),
            "radius": rng.uniform(0.22, 0.3, size), "group": np.full(size, self.next_group),
            "ident": np.arange(self.next_id, self.next_id + size),
            "turn": np.zeros(size), "turn_rate": np.zeros(size), "speed_dev": np.zeros(size),
            "age": np.zeros(size),
        }
        for f in self.fields:
            setattr(self, f, np.concatenate([getattr(self, f), new[f]]))
        self.next_id += size
        self.next_group += 1
        self._members_changed()

    def step(self, hstep: float) -> None:
        """Advance every pedestrian by ``hstep`` seconds (semi-implicit Euler)."""
        n = len(self)
        if n == 0:
            return
        x, v = self.pos, self.vel
        # Slow random wandering of heading and speed (Ornstein-Uhlenbeck processes).
        z = self.rng.normal(size=(2, n))[:, self.first]
        self.turn_rate += (-self.turn_rate * (hstep / HEADING_TAU)
                           + HEADING_SIGMA * np.sqrt(2 * hstep / HEADING_TAU) * z[0])
        self.turn += (self.turn_rate - self.turn / HEADING_BACK) * hstep
        self.speed_dev += (-self.speed_dev * (hstep / SPEED_TAU)
                           + SPEED_SIGMA * np.sqrt(2 * hstep / SPEED_TAU) * z[1])
        to_goal = self.goal - x
        dgoal = np.sqrt((to_goal**2).sum(1))
        e = to_goal / np.maximum(dgoal, 1e-9)[:, None]
        # Wander fades out near the goal, so nobody circles around it.
        ang = self.turn * np.minimum(np.maximum((dgoal - 1.5) / 3.0, 0.0), 1.0)
        c, s = np.cos(ang), np.sin(ang)
        e = np.column_stack([c * e[:, 0] - s * e[:, 1], s * e[:, 0] + c * e[:, 1]])
        acc = (e * (self.v0 * (1.0 + self.speed_dev))[:, None] - v) / TAU
        if n > 1:
            acc += self._social(x, v, e)
        v = v + acc * hstep
        speed = np.sqrt((v**2).sum(1))
        vmax = 1.4 * self.v0
        v *= np.minimum(1.0, vmax / np.maximum(speed, 1e-9))[:, None]
        self.pos = x + v * hstep
        self.vel = v
        self.age += hstep
        # Leave once outside the area (the goals are), or when stuck far too long.
        p = self.pos
        out = (p[:, 0] < -0.3) | (p[:, 0] > self.w + 0.3) | (p[:, 1] < -0.3) | (
            p[:, 1] > self.h + 0.3)
        gone = (out & (self.age > 3.0)) | (self.age > 90.0)
        if gone.any():
            keep = ~gone
            for f in self.fields:
                setattr(self, f, getattr(self, f)[keep])
            self._members_changed()

    def _social(self, x: np.ndarray, v: np.ndarray, e: np.ndarray) -> np.ndarray:
        """Accelerations ``[n, 2]`` from the others: repulsion, anticipation, cohesion."""
        d = x[:, None, :] - x[None, :, :]  # d[i, j] points from j to i
        dist = np.sqrt((d**2).sum(-1))
        dist[self.diag] = np.inf
        nrm = d / dist[..., None]
        rsum = self.radius[:, None] + self.radius[None, :]
        speed = np.sqrt((v**2).sum(1, keepdims=True))
        heading = np.where(speed > 0.1, v / np.maximum(speed, 1e-9), e)
        # Anisotropy: people ahead (nrm against the heading) matter more than behind.
        cos_phi = -(nrm * heading[:, None, :]).sum(-1)
        weight = LAMBDA + (1 - LAMBDA) * (1 + cos_phi) / 2
        mag = REP_A * np.exp((rsum - dist) / REP_B) * weight * self.pair_gain
        mag += CONTACT_K * np.maximum(rsum - dist, 0.0)
        acc = (mag[..., None] * nrm).sum(1)
        # Anticipation: push away from where the other will be at closest approach.
        dv = v[:, None, :] - v[None, :, :]
        t_star = -(d * dv).sum(-1) / np.maximum((dv**2).sum(-1), 1e-6)
        t_star = np.minimum(np.maximum(t_star, 0.0), ANT_T)
        d_star = d + dv * t_star[..., None]
        dist_star = np.maximum(np.sqrt((d_star**2).sum(-1)), 1e-3)
        ahead = (cos_phi > 0.0) & ~self.same
        ant = ANT_A * np.exp((rsum - dist_star) / ANT_B - t_star / ANT_T) * ahead
        acc += ((ant / dist_star)[..., None] * d_star).sum(1)
        # Group members are pulled towards their centre once they drift apart.
        centre = (self.same @ x) / self.group_size[:, None]
        to_c = centre - x
        dc = np.sqrt((to_c**2).sum(1, keepdims=True))
        acc += GROUP_K * np.maximum(dc - GROUP_GAP / 2, 0.0) * to_c / np.maximum(dc, 1e-9)
        return acc


def simulate_crowd(
    seed: int,
    *,
    num_steps: int = 240,
    dt: float = 0.4,
    area: tuple[float, float] = (16.0, 12.0),
    spawn_rate: float = 0.35,
    max_agents: int = 25,
    frame_step: int = 10,
) -> Tracks:
    """One scene of ``num_steps`` recorded frames (ids ``0, frame_step, ...``), metres.

    ``spawn_rate`` is arrivals (a person or a group of 2-3) per second over all edges;
    no one enters while ``max_agents`` are inside. Same seed, same scene.
    """
    if num_steps < 1 or frame_step < 1 or max_agents < 1:
        raise ConfigError("num_steps, frame_step and max_agents must be >= 1, got "
                          f"{num_steps}, {frame_step}, {max_agents}")
    if not (dt > 0 and spawn_rate >= 0 and len(area) == 2 and min(area) >= 8.0):
        raise ConfigError(f"need dt > 0, spawn_rate >= 0 and an area of at least 8x8 m; got "
                          f"dt={dt}, spawn_rate={spawn_rate}, area={area}")
    rng = np.random.default_rng(seed)
    crowd = _Crowd(rng, float(area[0]), float(area[1]), max_agents)
    hstep = dt / SUBSTEPS
    warm = int(round(WARMUP_S / dt))
    frames, agents, xys = [], [], []
    for k in range(warm + num_steps):
        for _ in range(SUBSTEPS):
            for _ in range(rng.poisson(spawn_rate * hstep)):
                crowd.spawn()
            crowd.step(hstep)
        if k >= warm and len(crowd):
            frames.append(np.full(len(crowd), (k - warm) * frame_step, dtype=np.int64))
            agents.append(crowd.ident.copy())
            xys.append(crowd.pos + rng.normal(0.0, NOISE_M, size=crowd.pos.shape))
    if not frames:
        raise DataError(f"crowd seed {seed}: nobody entered (spawn_rate={spawn_rate})")
    # Rounded as the text files hold them, so a saved and re-read scene equals this one.
    return Tracks(frame=np.concatenate(frames), agent=np.concatenate(agents),
                  xy=np.round(np.concatenate(xys), 6), dt=dt, frame_step=frame_step)


def _derived_seed(*entropy: int) -> int:
    return int(np.random.SeedSequence(list(entropy)).generate_state(1)[0])


def split_seed(seed: int, split: str) -> int:
    """The seed :func:`write_crowds` hands to :func:`generate_crowds` for one split."""
    return _derived_seed(seed, *split.encode())


def generate_crowds(num_scenes: int, seed: int, **kwargs) -> list[Tracks]:
    """``num_scenes`` independent scenes; scene ``i`` uses a seed derived from ``(seed, i)``."""
    if num_scenes < 0:
        raise ConfigError(f"num_scenes must be >= 0, got {num_scenes}")
    return [simulate_crowd(_derived_seed(seed, i), **kwargs) for i in range(num_scenes)]


def write_crowds(
    root: str | Path, seed: int = 0, scenes: dict[str, int] | None = None, **kwargs
) -> Path:
    """Write ``root/<split>/scene_XXX.txt`` (ETH/UCY text) for each split; return ``root``.

    Default splits: ``{"train": 8, "val": 2, "test": 3}``; each split has its own seeds
    (derived from ``seed`` and the split's name).
    Nothing is written when ``root`` already holds the same files (``crowds_meta.json``
    records the arguments). Files are written atomically and the meta file last, so an
    interrupted run is redone next time.
    """
    root = Path(root)
    scenes = {"train": 8, "val": 2, "test": 3} if scenes is None else dict(scenes)
    if not scenes or any(int(n) != n or n < 0 for n in scenes.values()):
        raise ConfigError(f"scenes must map split names to counts >= 0, got {scenes}")
    meta = json.loads(json.dumps({"version": META_VERSION, "seed": seed, "scenes": scenes,
                                  "kwargs": kwargs}))  # tuples -> lists, as read back
    meta_path = root / META_NAME
    expected = {split: [root / split / f"scene_{i:03d}.txt" for i in range(n)]
                for split, n in scenes.items()}
    if meta_path.is_file():
        try:
            old = json.loads(meta_path.read_text())
        except (OSError, ValueError):
            old = None
        if old == meta and all(p.is_file() for ps in expected.values() for p in ps):
            return root
        meta_path.unlink(missing_ok=True)  # another process may have removed it
    for split, paths in expected.items():
        # Seeds follow the split's name, so adding a split does not change the others.
        crowds = generate_crowds(len(paths), split_seed(seed, split), **kwargs)
        for tr, path in zip(crowds, paths, strict=True):
            tr.save_txt(path)
        # Scenes of an earlier, larger run must not be read as part of this one.
        for stale in (root / split).glob("scene_*.txt"):
            if stale not in paths:
                stale.unlink(missing_ok=True)
    atomic_write(meta_path, lambda tmp: tmp.write_text(json.dumps(meta, indent=1)))
    return root

