"""Repetition counting from the pose, one frame at a time.

Each exercise names a joint angle (three joints ``a - vertex - b``; a name without a side,
e.g. ``knee``, means both sides, averaged with their visibility as weights) and which end
of its range is the rest position. Per frame the angle (degrees, in the image plane) is
smoothed, normalised by its own range over the last ``envelope_s`` seconds, and run
through a two-threshold trigger: a repetition is counted when the angle comes back to the
rest side after reaching the far side, at least ``min_period_s`` after the previous one.
A range smaller than ``min_range_deg`` (standing still, jitter) counts nothing.

:class:`RepCounters` runs one counter per configured exercise on the same frames, so that
the count of an exercise is already right when the classifier settles on its label.
"""

from __future__ import annotations

import bisect
import math
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from motionseq.errors import ConfigError
from motionseq.skeleton import get_layout

__all__ = ["DEFAULT_EXERCISES", "RepCounter", "RepCounters", "RepSpec", "joint_angle"]


@dataclass(frozen=True)
class RepSpec:
    """How to count one exercise.

    Attributes:
        joints: ``(a, vertex, b)`` joint names; without a ``left_``/``right_`` prefix both
            sides are used.
        rest: ``high`` when the rest position is the large angle (a straight knee),
            ``low`` when it is the small one (arms down in a jumping jack).
        min_period_s: shortest time between two counted repetitions.
        min_range_deg: smallest angle range (over ``envelope_s``) that counts as moving.
        smoothing_s: time constant of the exponential smoothing of the angle.
        envelope_s: seconds over which the angle's range is measured.
        low, high: trigger thresholds as fractions of the range (far side below ``low``,
            rest side above ``high`` for ``rest: high``; mirrored for ``rest: low``).
        use_z: measure the angle in 3D with the pose's depth (``z``, MediaPipe's relative
            depth on the scale of x) where the frames have it: a squat seen from the
            front bends the knee toward the camera, which the image plane hardly shows.
    """

    joints: tuple[str, str, str]
    rest: Literal["high", "low"] = "high"
    min_period_s: float = 0.5
    min_range_deg: float = 25.0
    smoothing_s: float = 0.08
    envelope_s: float = 5.0
    low: float = 0.3
    high: float = 0.8
    use_z: bool = False

    def __post_init__(self) -> None:
        if len(self.joints) != 3:
            raise ConfigError(f"a repetition angle needs three joints (a, vertex, b), got "
                              f"{list(self.joints)}")
        if self.rest not in ("high", "low"):
            raise ConfigError(f"rest must be high or low, got {self.rest!r}")
        if not 0.0 <= self.low < self.high <= 1.0:
            raise ConfigError(f"thresholds need 0 <= low < high <= 1, got {self.low}, "
                              f"{self.high}")
        if self.min_period_s < 0 or self.min_range_deg < 0 or self.smoothing_s < 0 \
                or self.envelope_s <= 0:
            raise ConfigError("min_period_s, min_range_deg and smoothing_s must be >= 0 and "
                              "envelope_s > 0")


# Angles that swing once per repetition in any camera view of the synthetic workouts.
DEFAULT_EXERCISES: dict[str, RepSpec] = {
    "squat": RepSpec(("hip", "knee", "ankle"), "high", 0.8, 25.0, use_z=True),
    "lunge": RepSpec(("hip", "knee", "ankle"), "high", 1.0, 25.0, use_z=True),
    "push_up": RepSpec(("shoulder", "elbow", "wrist"), "high", 0.6, 25.0, use_z=True,
                       high=0.7),
    "jumping_jack": RepSpec(("hip", "shoulder", "elbow"), "low", 0.4, 40.0),
    "arm_circles": RepSpec(("hip", "shoulder", "wrist"), "high", 0.3, 10.0,
                           smoothing_s=0.05, low=0.35, high=0.65),
}


def percentile_sorted(values: list[float], q: float) -> float:
    """``np.percentile(values, q)`` (linear interpolation, bit for bit) of an already
    sorted non-empty list, without numpy's per-call overhead (it runs per frame and
    exercise)."""
    n = len(values)
    f = q / 100.0
    virtual = (n - 1) * f  # numpy's virtual index of the linear method
    if virtual >= n - 1:
        return values[-1]
    if virtual < 0:
        return values[0]
    i = math.floor(virtual)
    a, b, t = values[i], values[i + 1], virtual - i
    d = b - a
    return b - d * (1.0 - t) if t >= 0.5 else a + d * t


def _sides(layout: str, joints: tuple[str, str, str]) -> list[tuple[int, int, int]]:
    lay = get_layout(layout)
    if all(j.startswith(("left_", "right_")) for j in joints):
        return [tuple(lay.index(j) for j in joints)]
    return [tuple(lay.index(j if j.startswith(("left_", "right_")) else f"{side}_{j}")
                  for j in joints) for side in ("left", "right")]


def joint_angle(keypoints: np.ndarray, visibility: np.ndarray,
                triples: list[tuple[int, int, int]], aspect: float = 1.0,
                use_z: bool = False) -> float:
    """The angle (degrees) at the vertex of ``a - vertex - b`` in one frame, averaged over
    ``triples`` (e.g. left and right) weighted by each triple's lowest visibility; NaN
    when no triple is known.

    Args:
        keypoints: ``[J, >=2]`` image-normalised x, y (and z); visibility: ``[J]``.
        aspect: image width / height, so that x, y (and z, on the scale of x) share units.
        use_z: a 3D angle when the keypoints have z.
    """
    total, weight = 0.0, 0.0
    z = use_z and keypoints.shape[1] > 2
    for a, v, b in triples:
        pa, pv, pb = keypoints[a], keypoints[v], keypoints[b]
        u = ((pa[0] - pv[0]) * aspect, pa[1] - pv[1], (pa[2] - pv[2]) * aspect if z else 0.0)
        w = ((pb[0] - pv[0]) * aspect, pb[1] - pv[1], (pb[2] - pv[2]) * aspect if z else 0.0)
        nu, nw = math.hypot(*u), math.hypot(*w)
        if not (nu > 0 and nw > 0):  # also False for NaN
            continue
        cos = (u[0] * w[0] + u[1] * w[1] + u[2] * w[2]) / (nu * nw)
        ang = math.degrees(math.acos(min(1.0, max(-1.0, cos))))
        wt = max(float(min(visibility[a], visibility[v], visibility[b])), 1e-3)
        total += wt * ang
        weight += wt
    return total / weight if weight > 0 else math.nan


class RepCounter:
    """Counts repetitions of one exercise from frames pushed one at a time.

    Args:
        spec: the exercise's :class:`RepSpec`.
        layout: layout of the pushed keypoints.
        fps: frame rate (used when no timestamps are given).
    """

    def __init__(self, spec: RepSpec, layout: str = "mediapipe33", fps: float = 30.0) -> None:
        self.spec = spec
        self.triples = _sides(layout, spec.joints)
        self.fps = float(fps)
        self.reset()

    def reset(self) -> None:
        self._count = 0
        self._undecided = False  # the first repetition awaits _decide
        self._lo = self._hi = math.nan  # the angle's current range
        self.angle = math.nan  # smoothed angle, degrees
        self.phase: str | None = None  # "rest", "far" or None before the first crossing
        self._recent: deque[tuple[float, float]] = deque()  # (time, smoothed angle)
        self._sorted: list[float] = []  # the angles of _recent, sorted
        self._last_rep = -math.inf
        self._last_t: float | None = None
        self._n = 0
        self._start = math.nan  # the first smoothed angle
        self._first = False  # the far side was reached before any rest was seen

    def push(self, keypoints: np.ndarray | None, visibility: np.ndarray | None,
             t: float | None = None, aspect: float = 1.0) -> int:
        """Add one frame (``keypoints [J, C]``, ``visibility [J]``, None when nobody) at time
        ``t`` seconds (default: frame count / fps); returns the count."""
        t = self._n / self.fps if t is None else float(t)
        self._n += 1
        if keypoints is None:
            return self.count
        if visibility is None:
            visibility = np.ones(len(keypoints))
        raw = joint_angle(keypoints, visibility, self.triples, aspect, self.spec.use_z)
        if math.isnan(raw):
            return self.count
        s = self.spec
        if math.isnan(self.angle) or self._last_t is None:
            self.angle = raw
            if math.isnan(self._start):
                self._start = raw
        else:
            dt = max(t - self._last_t, 0.0)
            a = 1.0 - math.exp(-dt / s.smoothing_s) if s.smoothing_s > 0 else 1.0
            self.angle += a * (raw - self.angle)
        self._last_t = t
        recent, ordered = self._recent, self._sorted
        recent.append((t, self.angle))
        bisect.insort(ordered, self.angle)
        while recent and recent[0][0] < t - s.envelope_s:
            old = recent.popleft()[1]
            del ordered[bisect.bisect_left(ordered, old)]
        # Robust ends of the range: one jittery frame must not stretch it.
        lo, hi = percentile_sorted(ordered, 5.0), percentile_sorted(ordered, 95.0)
        if hi - lo < s.min_range_deg:
            return self.count
        self._lo, self._hi = lo, hi
        u = self._norm(self.angle, lo, hi)
        if u <= s.low:
            if self.phase is None:  # the set began before the counter saw a rest
                self._first = True
            elif self.phase == "rest" and self._undecided:
                self._decide()
            self.phase = "far"
        elif u >= s.high:
            if self.phase == "far" and t - self._last_rep >= s.min_period_s:
                if self._first:
                    # Reaching the far side before any rest was seen: the set may have
                    # begun mid-repetition, which does not count. Whether it began at
                    # rest is judged once this rest's level is known (next descent).
                    self._undecided = True
                else:
                    self._count += 1
                self._last_rep = t
            self.phase, self._first = "rest", False
        return self.count

    def _decide(self) -> None:
        """Settle the first repetition: it counts if the set started at rest."""
        if self._norm(self._start, self._lo, self._hi) >= self.spec.high:
            self._count += 1
        self._undecided = False

    @property
    def count(self) -> int:
        """Repetitions so far (the first one provisionally, until the next descent)."""
        extra = self._undecided and \
            self._norm(self._start, self._lo, self._hi) >= self.spec.high
        return self._count + int(extra)

    def _norm(self, angle: float, lo: float, hi: float) -> float:
        """``angle`` as a fraction of the range from the far side (0) to rest (1)."""
        u = (angle - lo) / (hi - lo)
        return 1.0 - u if self.spec.rest == "low" else u


class RepCounters:
    """One :class:`RepCounter` per exercise, all fed the same frames.

    Args:
        exercises: ``{name: RepSpec or a mapping of its fields}``; None = the defaults
            (:data:`DEFAULT_EXERCISES`).
        layout, fps: as for :class:`RepCounter`.
    """

    def __init__(self, exercises: Mapping[str, RepSpec | Mapping[str, Any]] | None = None,
                 layout: str = "mediapipe33", fps: float = 30.0) -> None:
        specs = DEFAULT_EXERCISES if exercises is None else exercises
        self.counters: dict[str, RepCounter] = {}
        for name, spec in specs.items():
            if not isinstance(spec, RepSpec):
                fields = dict(spec)
                if "joints" not in fields:
                    raise ConfigError(f"reps.exercises.{name} needs joints: [a, vertex, b]")
                fields["joints"] = tuple(fields["joints"])
                try:
                    spec = RepSpec(**fields)
                except TypeError as e:
                    raise ConfigError(f"reps.exercises.{name}: {e}") from None
            try:
                self.counters[str(name)] = RepCounter(spec, layout, fps)
            except ConfigError as e:
                raise ConfigError(f"reps.exercises.{name}: {e}") from None

    def push(self, keypoints: np.ndarray | None, visibility: np.ndarray | None,
             t: float | None = None, aspect: float = 1.0) -> dict[str, int]:
        """Feed one frame to every counter; returns ``{exercise: count}``."""
        return {name: c.push(keypoints, visibility, t, aspect)
                for name, c in self.counters.items()}

    def count(self, exercise: str) -> int | None:
        """The count of ``exercise`` (None when it is not a counted exercise)."""
        c = self.counters.get(exercise)
        return None if c is None else c.count

    def reset(self) -> None:
        for c in self.counters.values():
            c.reset()
