"""Timing of the motions: repetition phase over the clip, per-repetition amplitude, and
smooth random signals (sway, breathing, drift) from cosine-interpolated knots."""

from __future__ import annotations

import numpy as np

from motionseq.data.workouts.body import DEG, Pose


def draw_phase(rng: np.random.Generator, t: np.ndarray, tempo: tuple[float, float],
               hold: tuple[float, float] = (0.0, 0.0), down: tuple[float, float] = (0.5, 0.5)
               ) -> tuple[np.ndarray, int]:
    """Motion phase in cycles ``[T]`` and the number of completed repetitions.

    ``tempo``: repetitions per second, pauses included. ``hold``: the most of each
    repetition spent paused at rest (split between its start and end) and at the turning
    point (phase +0.5), as shares of its duration. ``down``: the range of the share of
    the moving time spent going from rest to the turning point (e.g. a slower descent).

    Half of the clips hold a whole number of repetitions (phase 0 .. reps, tempo nudged
    to fit) when the clip is long enough; the rest start at a random phase. Each rep
    gets its own duration (±8 %) and pauses, as people do not keep a metronome.
    """
    dur = float(t[-1]) if t.size > 1 else 1.0 / 30.0
    f = rng.uniform(*tempo)
    n_whole = int(round(f * dur))
    whole = (rng.random() < 0.5 and n_whole >= 1
             and 0.75 * tempo[0] <= n_whole / dur <= 1.25 * tempo[1])
    phi0 = 0.0 if whole else rng.uniform()
    k = int(np.ceil(1.3 * (f * dur + 1.0))) + 2
    d = np.clip(rng.normal(1.0, 0.08, k), 0.8, 1.25) / f
    starts = np.concatenate([[0.0], np.cumsum(d)]) - phi0 * d[0]
    if whole:
        starts = starts * (dur / starts[n_whole])
    if hold == (0.0, 0.0) and down == (0.5, 0.5):
        knots_t, knots_p = starts, np.arange(k + 1, dtype=np.float64)
    else:
        # Per repetition: half the rest pause, the way down, the turn pause, the way up,
        # the other half of the rest pause: six knots at shares of its duration.
        rest = rng.uniform(0, hold[0]) * np.clip(rng.normal(1.0, 0.3, k), 0.3, 1.7)
        turn = rng.uniform(0, hold[1]) * np.clip(rng.normal(1.0, 0.3, k), 0.3, 1.7)
        paused = np.maximum(rest + turn, 0.6)  # at least 40 % of a rep is movement
        rest, turn = rest * (0.6 / paused), turn * (0.6 / paused)
        move = 1.0 - rest - turn
        share = np.clip(rng.uniform(*down) + rng.normal(0, 0.03, k), 0.2, 0.8)
        x = np.stack([np.zeros(k), rest / 2, rest / 2 + share * move,
                      rest / 2 + share * move + turn, 1.0 - rest / 2, np.ones(k)], axis=1)
        y = np.arange(k, dtype=np.float64)[:, None] + np.array([0, 0, 0.5, 0.5, 1, 1])
        knots_t = (starts[:-1, None] + x * np.diff(starts)[:, None]).ravel()
        knots_p = y.ravel()
    phase = np.interp(t, knots_t, knots_p)
    reps = max(0, int(np.floor(phase[-1] + 1e-9)) - int(np.ceil(phase[0] - 1e-9)))
    return phase, reps


def per_rep(rng: np.random.Generator, phase: np.ndarray, sd: float, lo: float, hi: float
            ) -> np.ndarray:
    """A per-repetition amplitude factor around 1, interpolated smoothly over phase."""
    first = np.floor(phase[0])
    n = int(np.floor(phase[-1]) - first) + 2
    vals = np.clip(rng.normal(1.0, sd, n), lo, hi)
    return np.interp(phase, first + 0.5 + np.arange(n), vals)


def curve(phase: np.ndarray) -> np.ndarray:
    """0 at the rest position (whole phases), 1 at the turning point (half phases)."""
    return 0.5 - 0.5 * np.cos(2 * np.pi * phase)


def draw_knots(rng: np.random.Generator, t: np.ndarray, rows: int, fmax: float
               ) -> tuple[np.ndarray, np.ndarray]:
    """Random knots for smooth signals without content much above ``fmax`` Hz: each
    frame's position on the knot grid ``[T]`` (knots every ``1 / (2 fmax)`` s, at a random
    offset so they do not align with t = 0) and standard normal knots ``[K, rows]``."""
    pos = t * (2.0 * fmax) + rng.uniform()
    knots = rng.standard_normal((int(pos[-1]) + 2, rows))
    return pos, knots


def interp_knots(pos: np.ndarray, knots: np.ndarray) -> np.ndarray:
    """Cosine interpolation of ``knots [K, rows]`` at grid positions ``pos [T]``:
    ``[T, rows]``, about unit standard deviation for standard normal knots."""
    k0 = pos.astype(np.int64)
    frac = (0.5 - 0.5 * np.cos(np.pi * (pos - k0)))[:, None]
    # 1.2 makes up for the variance lost between knots (a blend of two knots).
    return 1.2 * (knots[k0] * (1.0 - frac) + knots[k0 + 1] * frac)


def smooth(rng: np.random.Generator, t: np.ndarray, rows: int, fmax: float,
           amp: float) -> np.ndarray:
    """Smooth random signals ``[rows, T]`` with about ``amp`` standard deviation and no
    content much above ``fmax`` Hz."""
    return amp * interp_knots(*draw_knots(rng, t, rows, fmax)).T


def bump(t: np.ndarray, start: float, rise: float, hold: float) -> np.ndarray:
    """0 -> 1 -> 0 with smooth (cosine) ramps of ``rise`` s, holding 1 for ``hold`` s."""
    up = np.clip((t - start) / rise, 0, 1)
    down = np.clip((t - start - rise - hold) / rise, 0, 1)
    return 0.5 - 0.5 * np.cos(np.pi * (up - down))


def idle(rng: np.random.Generator, t: np.ndarray, p: Pose, amount: float = 1.0) -> None:
    """Postural sway, breathing and head motion that every standing person shows."""
    s = smooth(rng, t, 6, 0.5, amount * DEG)
    p.lumbar_pitch = p.lumbar_pitch + 1.5 * s[0]
    p.lumbar_roll = p.lumbar_roll + 1.5 * s[1]
    p.neck_pitch = p.neck_pitch + 4.0 * s[2]
    p.neck_yaw = p.neck_yaw + 6.0 * s[3]
    p.yaw = p.yaw + 2.0 * s[4]
    breath = np.sin(2 * np.pi * rng.uniform(0.2, 0.35) * t + rng.uniform(0, 6.3))
    p.chest_pitch = p.chest_pitch - amount * 1.0 * DEG * breath
