"""Synthetic home-workout pose sequences, generated on the fly from a seed.

A kinematic 3D body (forward kinematics from joint angles, anthropometric limb lengths)
performs one of :data:`WORKOUT_CLASSES`; a randomly placed camera projects it to
MediaPipe-style image-normalised keypoints (``mediapipe33`` layout) with realistic
noise, low visibility on the side turned away, dropped joints and person-less frames.

The classes: ``squat`` (hips sink and go back, knees bend, trunk leans, arms forward
or held), ``push_up`` (plank pivoting on the toes, hands planted, elbows bend and
flare), ``jumping_jack`` (arms to overhead and legs apart with a small hop),
``lunge`` (a step forward or back, both knees bend, same or alternating legs),
``arm_circles`` (arms out to the side tracing circles, forward or backward) and
``standing`` (sway, breathing, now and then a weight shift, arm or head movement).

World coordinates are metres with x = the person's left, y = up, z = the person's
forward (a right-handed frame); the floor is y = 0.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, fields

import numpy as np

from motionseq.errors import ConfigError
from motionseq.sequence import PoseSequence
from motionseq.skeleton import get_layout

__all__ = ["WORKOUT_CLASSES", "WorkoutSample", "generate_workouts", "make_workout",
           "simulate_workout_3d"]

WORKOUT_CLASSES: tuple[str, ...] = (
    "squat", "push_up", "jumping_jack", "lunge", "arm_circles", "standing",
)

_BATCH = 64  # clips made together by generate_workouts (bounds the memory used)
_LAYOUT = get_layout("mediapipe33")
_IDX = {name: _LAYOUT.index(name) for name in _LAYOUT.joints}
_DEG = np.pi / 180.0
# Left/right sign: left-side offsets point along +x, right-side ones along -x.
_SIDE = np.array([1.0, -1.0])

# Tempo ranges in repetitions (cycles) per second, from typical home-workout videos.
_TEMPO = {
    "squat": (0.35, 0.8),
    "push_up": (0.4, 1.0),
    "jumping_jack": (0.9, 1.6),
    "lunge": (0.3, 0.6),
    "arm_circles": (0.7, 1.8),
}

# Face points in units of head radius, in the head frame (x left, y up, z forward).
_FACE = {
    "nose": (0.0, -0.10, 1.10),
    "left_eye_inner": (0.20, 0.20, 0.97), "right_eye_inner": (-0.20, 0.20, 0.97),
    "left_eye": (0.36, 0.22, 0.92), "right_eye": (-0.36, 0.22, 0.92),
    "left_eye_outer": (0.52, 0.20, 0.82), "right_eye_outer": (-0.52, 0.20, 0.82),
    "left_ear": (0.88, 0.02, 0.05), "right_ear": (-0.88, 0.02, 0.05),
    "mouth_left": (0.28, -0.55, 0.90), "mouth_right": (-0.28, -0.55, 0.90),
}
_FACE_IDX = np.array([_IDX[k] for k in _FACE])
_FACE_OFF = np.array(list(_FACE.values()))
# How much each face point looks sideways (0 = straight ahead, 1 = to its side).
_FACE_SIDE = np.array([0.0, 0.25, -0.25, 0.4, -0.4, 0.55, -0.55, 0.95, -0.95, 0.3, -0.3])

# Hand points in units of hand length, in the forearm frame of the left hand (fingers
# along -y, thumb side +z, medial -x); the right hand mirrors x.
_HAND = {"pinky": (-0.02, -0.45, -0.12), "index": (-0.02, -0.50, 0.12),
         "thumb": (-0.06, -0.30, 0.22)}
_HAND_OFF = np.array(list(_HAND.values()))


def _pair(joint: str) -> list[int]:
    return [_IDX["left_" + joint], _IDX["right_" + joint]]


def _mid(a: np.ndarray, joint: str) -> np.ndarray:
    """Midpoint of the left and right ``joint`` of ``a [T, 33, ...]``, ``[T, ...]``
    (two integer-indexed views: cheaper than fancy indexing and a mean)."""
    left, right = _pair(joint)
    return 0.5 * (a[:, left] + a[:, right])


# --------------------------------------------------------------------------- body model


@dataclass
class _Body:
    """Segment lengths in metres: one person (floats) or, for clips joined along time,
    per-frame ``[T]`` arrays (see :func:`_join_bodies`)."""

    height: float | np.ndarray
    thigh: float | np.ndarray
    shin: float | np.ndarray
    upper_arm: float | np.ndarray
    forearm: float | np.ndarray
    hand: float | np.ndarray
    lumbar: float | np.ndarray  # hip midpoint -> mid spine
    thoracic: float | np.ndarray  # mid spine -> shoulder midpoint
    neck: float | np.ndarray  # shoulder midpoint -> head centre
    head: float | np.ndarray  # head radius
    hip_half: float | np.ndarray
    shoulder_half: float | np.ndarray
    ankle_h: float | np.ndarray
    foot: float | np.ndarray  # heel to toe tip


def _sample_body(rng: np.random.Generator) -> _Body:
    """A random adult: Drillis & Contini segment proportions times height, with jitter."""
    h = float(np.clip(rng.normal(1.70, 0.09), 1.50, 1.95))
    # Per-person proportion jitter (~3.5 %), so no two bodies share ratios exactly.
    jit = rng.normal(1.0, 0.035, 13)
    return _Body(
        height=h, thigh=0.245 * h * jit[0], shin=0.246 * h * jit[1],
        upper_arm=0.186 * h * jit[2], forearm=0.146 * h * jit[3], hand=0.108 * h * jit[4],
        lumbar=0.130 * h * jit[5], thoracic=0.158 * h * jit[6], neck=0.100 * h * jit[7],
        head=0.052 * h * jit[8], hip_half=0.055 * h * jit[9],
        shoulder_half=0.115 * h * jit[10], ankle_h=0.039 * h * jit[11],
        foot=0.152 * h * jit[12],
    )


_Angle = float | np.ndarray  # scalar, [T] or [2, T]


@dataclass
class _Pose:
    """Joint angles (radians) over T frames; each is a scalar, ``[T]``, or ``[2, T]`` for
    sided angles (row 0 = left, row 1 = right).

    Pitch angles rotate about the segment's x axis: positive moves a hanging segment
    backward (thigh, upper-arm *flexion* is therefore negative pitch and stored as
    positive ``sh_flex``). Abductions are positive away from the midline on both sides.
    """

    yaw: _Angle = 0.0
    pelvis_pitch: _Angle = 0.0  # > 0 leans the whole body forward
    pelvis_roll: _Angle = 0.0
    lumbar_pitch: _Angle = 0.0  # > 0 bends the trunk forward
    lumbar_roll: _Angle = 0.0
    chest_pitch: _Angle = 0.0
    chest_twist: _Angle = 0.0
    neck_pitch: _Angle = 0.0  # > 0 looks down
    neck_yaw: _Angle = 0.0
    neck_roll: _Angle = 0.0
    sh_abd: _Angle = 0.0
    sh_flex: _Angle = 0.0  # > 0 raises the arm forward
    sh_rot: _Angle = 0.0
    elbow: _Angle = 0.0  # flexion, > 0
    wrist: _Angle = 0.0  # > 0 bends the hand toward the thumb side
    hip_abd: _Angle = 0.0
    thigh: _Angle = 0.0  # pitch: < 0 is hip flexion (thigh forward)
    knee: _Angle = 0.0  # flexion, > 0
    foot: _Angle = 0.0  # > 0 points the toes down
    toe_out: _Angle = 0.0
    foot_world: bool = True  # foot pitch is relative to the floor (True) or the shin
    hop: _Angle = 0.0  # metres above the floor contact, [T]


def _turn(r: np.ndarray, axis: int, angle: float | np.ndarray) -> np.ndarray:
    """``r @ R_axis(angle)`` for rotation stacks stored as ``[3, 3, *lead]`` (row, column,
    then frames: contiguous columns make this a few fast array updates).

    ``angle`` (radians) broadcasts against ``lead``; axis 0/1/2 = x/y/z.
    """
    if np.ndim(angle) == 0:
        if angle == 0.0:
            return r
        c, s = math.cos(angle), math.sin(angle)
    else:
        c, s = np.cos(angle), np.sin(angle)
    i, j = ((1, 2), (2, 0), (0, 1))[axis]
    ri, rj = r[:, i], r[:, j]
    new_i = ri * c + rj * s
    out = np.empty((3, 3) + new_i.shape[1:])
    out[:, i] = new_i
    out[:, j] = rj * c - ri * s
    out[:, axis] = r[:, axis]
    return out


# Order in which _forward builds the joints; _BUILD_INV maps them to mediapipe33 order.
_BUILD = (list(_FACE) + [f"{sd}_{j}" for j in ("shoulder", "elbow", "wrist", "pinky", "index",
                                                "thumb", "hip", "knee", "ankle", "heel",
                                                "foot_index") for sd in ("left", "right")])
_BUILD_INV = np.argsort([_IDX[k] for k in _BUILD])
# Face normals blend the head's forward and sideways axes; this makes them unit length.
_FACE_NORM = 1.0 / np.hypot(1.0 - np.abs(_FACE_SIDE), _FACE_SIDE)


def _facing_mix() -> np.ndarray:
    """``[6, 33]``: each joint's outward normal as a mix of six body axes (head left,
    head forward, chest left, chest forward, pelvis left, pelvis forward). A joint on
    the body's side points mostly sideways and a bit forward (0.8^2 + 0.6^2 = 1): it is
    seen from the front too, but not from the opposite side."""
    m = np.zeros((6, 33))
    m[0, _FACE_IDX] = _FACE_SIDE * _FACE_NORM
    m[1, _FACE_IDX] = (1.0 - np.abs(_FACE_SIDE)) * _FACE_NORM
    groups = ((2, ("shoulder", "elbow", "wrist", "pinky", "index", "thumb")),
              (4, ("hip", "knee", "ankle", "heel", "foot_index")))
    for row, names in groups:
        for name in names:
            left, right = _pair(name)
            m[row, left], m[row, right] = 0.8, -0.8
            m[row + 1, left] = m[row + 1, right] = 0.6
    return m


_FACING_MIX = _facing_mix()


def _forward(b: _Body, p: _Pose, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Forward kinematics with the hip midpoint at the origin, for ``n`` frames (one clip,
    or several clips joined along time with per-frame ``[T]`` body lengths).

    Returns joints ``[T, 33, 3]`` (metres) and body axes ``[T, 6, 3]`` (head, chest and
    pelvis left and forward unit vectors; with :data:`_FACING_MIX` they give each joint's
    outward normal, used to tell which joints face the camera).

    Internally rotations are ``[3, 3, T]`` or ``[3, 3, 2, T]`` (per side) and points
    ``[3, T]`` or ``[3, 2, T]``: frames last keeps every array operation contiguous.
    """
    side = _SIDE[:, None]  # [2, 1]: +1 left, -1 right

    def sided(v: _Angle) -> np.ndarray:
        return np.asarray(v, dtype=np.float64) * side

    def col(r: np.ndarray, k: int) -> np.ndarray:
        return r[:, k]

    # Trunk chain: pelvis -> lumbar -> chest -> head.
    r_pel = np.broadcast_to(np.eye(3)[:, :, None], (3, 3, n))
    r_pel = _turn(_turn(_turn(r_pel, 1, p.yaw), 0, p.pelvis_pitch), 2, p.pelvis_roll)
    r_lum = _turn(_turn(r_pel, 0, p.lumbar_pitch), 2, p.lumbar_roll)
    r_chest = _turn(_turn(r_lum, 0, p.chest_pitch), 1, p.chest_twist)
    top = col(r_lum, 1) * b.lumbar + col(r_chest, 1) * b.thoracic  # shoulder midpoint
    r_head = _turn(_turn(_turn(r_chest, 0, p.neck_pitch), 1, p.neck_yaw), 2, p.neck_roll)
    head_c = top + col(r_head, 1) * b.neck + col(r_head, 2) * (0.15 * b.head)
    off = _FACE_OFF[..., None] * b.head  # [11, 3, T or 1]
    face = head_c[:, None] + sum(col(r_head, k)[:, None] * off[:, k] for k in range(3))

    # Arms: shoulder (abduction, flexion, rotation) -> elbow flexion -> wrist -> hand.
    chest2 = r_chest[:, :, None]  # [3, 3, 1, T], broadcasts over the two sides
    sh = (top[:, None] + col(chest2, 0) * (b.shoulder_half * side)
          - col(chest2, 1) * (0.02 * b.height))
    r_ua = _turn(_turn(_turn(chest2, 2, sided(p.sh_abd)), 0, -np.asarray(p.sh_flex)),
                 1, sided(p.sh_rot))
    elbow = sh - col(r_ua, 1) * b.upper_arm
    r_fa = _turn(r_ua, 0, -np.asarray(p.elbow))
    wrist = elbow - col(r_fa, 1) * b.forearm
    r_hand = _turn(r_fa, 0, -np.asarray(p.wrist))
    hand_off = _HAND_OFF[..., None] * b.hand  # [3 points, 3, T or 1]
    mirror = _SIDE[:, None, None]  # [2 sides, 1, 1]: the right hand mirrors x
    hand = (wrist[:, :, None]
            + col(r_hand, 0)[:, :, None] * (hand_off[:, 0] * mirror)
            + col(r_hand, 1)[:, :, None] * hand_off[:, 1]
            + col(r_hand, 2)[:, :, None] * hand_off[:, 2])  # [3, 2, 3 points, T]

    # Legs: hip (abduction, pitch) -> knee flexion -> foot.
    pel2 = r_pel[:, :, None]
    hips = col(pel2, 0) * (b.hip_half * side)
    r_th = _turn(_turn(pel2, 2, sided(p.hip_abd)), 0, p.thigh)
    knee = hips - col(r_th, 1) * b.thigh
    r_sh = _turn(r_th, 0, p.knee)
    ankle = knee - col(r_sh, 1) * b.shin
    foot = np.asarray(p.foot, dtype=np.float64)
    if p.foot_world:
        # Choose the ankle angle that gives the requested foot pitch over the floor.
        foot = foot - (np.asarray(p.pelvis_pitch) + np.asarray(p.thigh) + np.asarray(p.knee))
    r_ft = _turn(_turn(r_sh, 0, foot), 1, sided(p.toe_out))
    down = ankle - col(r_ft, 1) * b.ankle_h
    feet = np.stack([down - col(r_ft, 2) * (0.25 * b.foot),  # heel
                     down + col(r_ft, 2) * (0.75 * b.foot)], axis=2)  # toe tip

    # [3, 11 kinds, 2 sides, T] in _BUILD order, then [3, 33, T] with the face first.
    limbs = np.concatenate([sh[:, None], elbow[:, None], wrist[:, None],
                            hand.transpose(0, 2, 1, 3), hips[:, None], knee[:, None],
                            ankle[:, None], feet.transpose(0, 2, 1, 3)], axis=1)
    joints = np.concatenate([face, limbs.reshape(3, 22, n)], axis=1)[:, _BUILD_INV]
    axes = np.stack([col(r_head, 0), col(r_head, 2), col(r_chest, 0), col(r_chest, 2),
                     col(r_pel, 0), col(r_pel, 2)])  # [6, 3, T]
    return joints.transpose(2, 1, 0), axes.transpose(2, 0, 1)


def _leg_ik(b: _Body, dz: np.ndarray, dy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Thigh pitch and knee flexion that put the ankle at ``(dz forward, dy up)`` from the
    hip (sagittal plane, knee bending forward). Arrays broadcast; radians."""
    l1, l2 = b.thigh, b.shin
    d = np.clip(np.hypot(dz, dy), 0.35 * (l1 + l2), 0.999 * (l1 + l2))
    knee = np.pi - np.arccos(np.clip((l1**2 + l2**2 - d**2) / (2 * l1 * l2), -1, 1))
    alpha = np.arctan2(dz, -dy)  # hip->ankle line, forward of vertical
    beta = np.arccos(np.clip((l1**2 + d**2 - l2**2) / (2 * l1 * d), -1, 1))
    return -(alpha + beta), knee


# --------------------------------------------------------------------------- timing


def _phase(rng: np.random.Generator, t: np.ndarray, tempo: tuple[float, float]
           ) -> tuple[np.ndarray, int]:
    """Motion phase in cycles ``[T]`` and the number of completed repetitions.

    Half of the clips hold a whole number of repetitions (phase 0 .. reps, tempo nudged
    to fit) when the clip is long enough; the rest start at a random phase. Each rep
    gets its own duration (±8 %), as people do not keep a metronome.
    """
    dur = float(t[-1]) if t.size > 1 else 1.0 / 30.0
    f = rng.uniform(*tempo)
    n_whole = int(round(f * dur))
    whole = (rng.random() < 0.5 and n_whole >= 1
             and 0.75 * tempo[0] <= n_whole / dur <= 1.25 * tempo[1])
    phi0 = 0.0 if whole else rng.uniform()
    k = int(np.ceil(1.3 * (f * dur + 1.0))) + 2
    d = np.clip(rng.normal(1.0, 0.08, k), 0.8, 1.25) / f
    knots = np.concatenate([[0.0], np.cumsum(d)]) - phi0 * d[0]
    if whole:
        knots = knots * (dur / knots[n_whole])
    phase = np.interp(t, knots, np.arange(k + 1, dtype=np.float64))
    reps = max(0, int(np.floor(phase[-1] + 1e-9)) - int(np.ceil(phase[0] - 1e-9)))
    return phase, reps


def _per_rep(rng: np.random.Generator, phase: np.ndarray, sd: float, lo: float, hi: float
             ) -> np.ndarray:
    """A per-repetition amplitude factor around 1, interpolated smoothly over phase."""
    first = np.floor(phase[0])
    n = int(np.floor(phase[-1]) - first) + 2
    vals = np.clip(rng.normal(1.0, sd, n), lo, hi)
    return np.interp(phase, first + 0.5 + np.arange(n), vals)


def _curve(phase: np.ndarray) -> np.ndarray:
    """0 at the rest position (whole phases), 1 at the turning point (half phases)."""
    return 0.5 - 0.5 * np.cos(2 * np.pi * phase)


def _knots(rng: np.random.Generator, t: np.ndarray, rows: int, fmax: float
           ) -> tuple[np.ndarray, np.ndarray]:
    """Random knots for smooth signals without content much above ``fmax`` Hz: each
    frame's position on the knot grid ``[T]`` (knots every ``1 / (2 fmax)`` s, at a random
    offset so they do not align with t = 0) and standard normal knots ``[K, rows]``."""
    pos = t * (2.0 * fmax) + rng.uniform()
    knots = rng.standard_normal((int(pos[-1]) + 2, rows))
    return pos, knots


def _interp_knots(pos: np.ndarray, knots: np.ndarray) -> np.ndarray:
    """Cosine interpolation of ``knots [K, rows]`` at grid positions ``pos [T]``:
    ``[T, rows]``, about unit standard deviation for standard normal knots."""
    k0 = pos.astype(np.int64)
    frac = (0.5 - 0.5 * np.cos(np.pi * (pos - k0)))[:, None]
    # 1.2 makes up for the variance lost between knots (a blend of two knots).
    return 1.2 * (knots[k0] * (1.0 - frac) + knots[k0 + 1] * frac)


def _smooth(rng: np.random.Generator, t: np.ndarray, rows: int, fmax: float,
            amp: float) -> np.ndarray:
    """Smooth random signals ``[rows, T]`` with about ``amp`` standard deviation and no
    content much above ``fmax`` Hz."""
    return amp * _interp_knots(*_knots(rng, t, rows, fmax)).T


def _bump(t: np.ndarray, start: float, rise: float, hold: float) -> np.ndarray:
    """0 -> 1 -> 0 with smooth (cosine) ramps of ``rise`` s, holding 1 for ``hold`` s."""
    up = np.clip((t - start) / rise, 0, 1)
    down = np.clip((t - start - rise - hold) / rise, 0, 1)
    return 0.5 - 0.5 * np.cos(np.pi * (up - down))


def _idle(rng: np.random.Generator, t: np.ndarray, p: _Pose, amount: float = 1.0) -> None:
    """Postural sway, breathing and head motion that every standing person shows."""
    s = _smooth(rng, t, 6, 0.5, amount * _DEG)
    p.lumbar_pitch = p.lumbar_pitch + 1.5 * s[0]
    p.lumbar_roll = p.lumbar_roll + 1.5 * s[1]
    p.neck_pitch = p.neck_pitch + 4.0 * s[2]
    p.neck_yaw = p.neck_yaw + 6.0 * s[3]
    p.yaw = p.yaw + 2.0 * s[4]
    breath = np.sin(2 * np.pi * rng.uniform(0.2, 0.35) * t + rng.uniform(0, 6.3))
    p.chest_pitch = p.chest_pitch - amount * 1.0 * _DEG * breath


# --------------------------------------------------------------------------- the classes


def _arms_variant(rng: np.random.Generator, p: _Pose, c: np.ndarray) -> None:
    """Arm carriage for the leg exercises: forward raise with the movement, hands
    clasped at the chest, or hands on the hips."""
    v = rng.integers(3)
    if v == 0:
        p.sh_flex = c * rng.uniform(60, 95) * _DEG + rng.uniform(0, 10) * _DEG
        p.sh_abd = rng.uniform(0, 15) * _DEG
        p.elbow = rng.uniform(0, 20) * _DEG
    elif v == 1:
        p.sh_flex = rng.uniform(25, 45) * _DEG
        p.sh_abd = rng.uniform(15, 30) * _DEG
        p.sh_rot = -rng.uniform(40, 70) * _DEG
        p.elbow = rng.uniform(100, 125) * _DEG
    else:
        p.sh_flex = -rng.uniform(0, 15) * _DEG
        p.sh_abd = rng.uniform(35, 50) * _DEG
        p.sh_rot = -rng.uniform(70, 95) * _DEG
        p.elbow = rng.uniform(90, 115) * _DEG


def _squat(rng: np.random.Generator, t: np.ndarray, b: _Body) -> tuple[_Pose, np.ndarray, int]:
    """Hips sink and travel back (leg IK, feet flat), trunk leans forward, arms per
    :func:`_arms_variant`. Returns the pose, phase and completed reps."""
    phase, reps = _phase(rng, t, _TEMPO["squat"])
    c = _curve(phase) * _per_rep(rng, phase, 0.12, 0.65, 1.2)
    p = _Pose()
    leg = b.thigh + b.shin
    drop = rng.uniform(0.32, 0.55) * leg * c  # half squat .. near parallel
    back = drop * rng.uniform(0.3, 0.45)  # hips travel back as they sink
    p.thigh, p.knee = _leg_ik(b, back, -(0.995 * leg - drop))
    p.hip_abd = rng.uniform(4, 14) * _DEG
    p.toe_out = rng.uniform(8, 30) * _DEG
    p.lumbar_pitch = c * rng.uniform(15, 35) * _DEG
    p.chest_pitch = c * rng.uniform(0, 15) * _DEG
    p.neck_pitch = -0.6 * (p.lumbar_pitch + p.chest_pitch)
    _arms_variant(rng, p, c)
    _idle(rng, t, p, 0.6)
    return p, phase, reps


@dataclass
class _PushUp:
    """What the push-up solve needs besides the pose: shoulder height over the floor
    ``[T]`` (m), wrist height (m), hand placement relative to the shoulders at the top
    (m forward, m wider) and how far the elbows flare out (radians)."""

    shoulder_h: np.ndarray
    wrist_h: float | np.ndarray
    hand_ahead: float | np.ndarray
    hand_wide: float | np.ndarray
    flare: float | np.ndarray


def _push_up(rng: np.random.Generator, t: np.ndarray, b: _Body
             ) -> tuple[_Pose, np.ndarray, int, _PushUp]:
    """Plank pivoting on the toes; the shoulders sink from straight-arm height toward
    the floor. Arm and body angles are solved in :func:`_solve_push_up`."""
    phase, reps = _phase(rng, t, _TEMPO["push_up"])
    c = _curve(phase) * _per_rep(rng, phase, 0.12, 0.6, 1.15)
    p = _Pose()
    arm = b.upper_arm + b.forearm
    wrist_h = 0.03 * b.height
    top = wrist_h + 0.97 * arm
    bottom = wrist_h + rng.uniform(0.38, 0.6) * arm
    p.thigh = rng.normal(0, 3) * _DEG  # hips sag (< 0) or pike
    p.knee = rng.uniform(0, 6) * _DEG
    p.hip_abd = rng.uniform(2, 8) * _DEG
    p.foot_world = False
    p.foot = rng.uniform(0, 25) * _DEG  # soles point back, toes on the floor
    p.neck_pitch = rng.uniform(-25, 10) * _DEG
    _idle(rng, t, p, 0.3)
    # A side-ish view: the body's long axis 50-110 degrees from the camera axis. Set
    # after _idle: a plank does not sway about the vertical.
    p.yaw = rng.choice([-1.0, 1.0]) * rng.uniform(50, 110) * _DEG
    p.lumbar_pitch = p.lumbar_pitch + rng.normal(0, 4) * _DEG  # sag or pike
    info = _PushUp(shoulder_h=top - c * (top - bottom), wrist_h=wrist_h,
                   hand_ahead=rng.uniform(-0.03, 0.06), hand_wide=rng.uniform(0.0, 0.12),
                   flare=rng.uniform(15, 60) * _DEG)
    return p, phase, reps, info


def _solve_push_up(b: _Body, p: _Pose, info: _PushUp, lengths: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Body angle about the toes, and arm angles that keep the hands planted, for
    push-up clips joined along time (``b``, ``p`` and ``info`` hold per-frame arrays).

    An FK pass (arms arbitrary) measures the toe->shoulder distance and the angle
    between that line and the pelvis, which the feet and trunk shape fix; the body angle
    then follows from the wanted shoulder height. Turning that pass to the new angle
    gives the shoulders and chest axes; a two-link IK from each shoulder to its fixed
    hand point (elbow toward the feet, flared out) becomes shoulder/elbow angles, and a
    second FK pass is the result.
    Returns joints and body axes (see :func:`_forward`), the toe midpoint at the origin.
    """
    n = int(lengths.sum())
    guess = 75 * _DEG
    p.pelvis_pitch = guess
    j, axes = _forward(b, p, n)
    toe = _mid(j, "foot_index")
    v = _mid(j, "shoulder") - toe
    dist = np.linalg.norm(v, axis=1)
    line = np.arctan2(v[:, 1], np.linalg.norm(v[:, [0, 2]], axis=1))
    offset = line - (np.pi / 2 - guess)
    alpha = np.arcsin(np.clip(info.shoulder_h / dist, 0.0, 0.95))
    p.pelvis_pitch = np.pi / 2 - alpha + offset

    # Pass 2 without a full FK: the same body pitched by (new - guess) about its hip
    # midpoint (the FK origin); only the shoulders, toes and chest axes are needed.
    yaw = np.broadcast_to(np.asarray(p.yaw, dtype=np.float64), (n,))
    cy, sy = np.cos(yaw)[:, None], np.sin(yaw)[:, None]
    pts = np.concatenate([j[:, _pair("shoulder")], toe[:, None], axes[:, 2:4]], axis=1)
    # Into the un-yawed body frame (R_y^T), pitch about x, back (R_y); pts are [T, 5, 3].
    ux, uy, uz = cy * pts[..., 0] - sy * pts[..., 2], pts[..., 1], sy * pts[..., 0] + cy * pts[..., 2]
    delta = (p.pelvis_pitch - guess)[:, None]
    c, s_ = np.cos(delta), np.sin(delta)
    uy, uz = c * uy - s_ * uz, s_ * uy + c * uz
    pts = np.stack([cy * ux + sy * uz, uy, cy * uz - sy * ux], axis=-1)
    sh = pts[:, :2] - pts[:, 2:3]  # [T, 2, 3], toes at the origin, floor at y = 0
    cx, cz = pts[:, 3], pts[:, 4]  # chest left and forward axes
    zero = np.zeros(n)
    fwd = np.stack([sy[:, 0], zero, cy[:, 0]], axis=-1)[:, None]  # toward the head
    left = np.stack([cy[:, 0], zero, -sy[:, 0]], axis=-1)[:, None]
    side = _SIDE[None, :, None]
    # Hands sit where the shoulders are at each clip's highest frame, a bit ahead, wider.
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    top = np.array([a + int(np.argmax(info.shoulder_h[a:a + ln]))
                    for a, ln in zip(starts, lengths, strict=True)])
    hand = (np.repeat(sh[top], lengths, axis=0) + info.hand_ahead[:, None, None] * fwd
            + side * info.hand_wide[:, None, None] * left)
    hand[..., 1] = info.wrist_h[:, None]
    ua, fa = b.upper_arm[:, None, None], b.forearm[:, None, None]
    vec = hand - sh
    d = np.linalg.norm(vec, axis=-1, keepdims=True)
    u = vec / d
    d = np.clip(d, 0.3 * (ua + fa), 0.999 * (ua + fa))
    # Elbow direction: toward the feet, flared outward, made orthogonal to u.
    flare = info.flare[:, None, None]
    want = -np.cos(flare) * fwd + np.sin(flare) * side * left
    w = want - (want * u).sum(-1, keepdims=True) * u
    w /= np.linalg.norm(w, axis=-1, keepdims=True)
    beta1 = np.arccos(np.clip((ua**2 + d**2 - fa**2) / (2 * ua * d), -1, 1))
    up_dir = np.cos(beta1) * u + np.sin(beta1) * w  # upper arm, unit
    elbow = sh + ua * up_dir
    fore_dir = hand - elbow
    fore_dir /= np.linalg.norm(fore_dir, axis=-1, keepdims=True)
    # Into the chest frame, then invert upper arm = Rz(s*abd) Rx(-flex) (0, -1, 0) and
    # forearm = Rz(s*abd) Rx(-flex) Ry(s*rot) Rx(-elbow) (0, -1, 0); s = +1 left, -1 right.
    chest = np.stack([cx, np.cross(cz, cx), cz], axis=-1)  # [T, 3, 3], columns x y z
    a = np.einsum("tji,tsj->tsi", chest, up_dir)  # [T, 2, 3]
    q = np.einsum("tji,tsj->tsi", chest, fore_dir)
    flex = np.arcsin(np.clip(a[..., 2], -1, 1))
    abd_s = np.arctan2(a[..., 0], -a[..., 1])  # s * abduction
    # q in the upper-arm frame: Rx(flex) Rz(-s*abd) q.
    ca, sa = np.cos(abd_s), np.sin(abd_s)
    qx, qy = ca * q[..., 0] + sa * q[..., 1], -sa * q[..., 0] + ca * q[..., 1]
    cf, sf = np.cos(flex), np.sin(flex)
    qy, qz = cf * qy - sf * q[..., 2], sf * qy + cf * q[..., 2]
    elbow_flex = np.arccos(np.clip(-qy, -1, 1))
    rot_s = np.arctan2(qx, qz)  # s * humeral rotation
    p.sh_flex, p.sh_abd, p.sh_rot = flex.T, abd_s.T * _SIDE[:, None], rot_s.T * _SIDE[:, None]
    p.elbow = elbow_flex.T
    # Hand flat on the floor, fingers forward: bend the wrist by the forearm's tilt.
    tilt = np.arctan2((fore_dir * fwd).sum(-1), -fore_dir[..., 1])
    p.wrist = (np.pi / 2 - tilt).T
    j, axes = _forward(b, p, n)
    return j - _mid(j, "foot_index")[:, None], axes


def _jumping_jack(rng: np.random.Generator, t: np.ndarray, b: _Body
                  ) -> tuple[_Pose, np.ndarray, int]:
    """Arms swing out and up to overhead while the legs open, with a small hop at each
    switch (on the toes while airborne)."""
    phase, reps = _phase(rng, t, _TEMPO["jumping_jack"])
    u = _curve(phase)
    u = u * u * (3 - 2 * u)  # jumps snap between the two positions
    c = u * _per_rep(rng, phase, 0.08, 0.85, 1.1)
    p = _Pose()
    base = rng.uniform(5, 15)
    p.sh_abd = np.minimum((base + c * (rng.uniform(150, 172) - base)) * _DEG, 178 * _DEG)
    p.sh_flex = rng.uniform(0, 20) * _DEG
    p.elbow = rng.uniform(5, 25) * _DEG
    p.hip_abd = (rng.uniform(1, 4) + c * rng.uniform(10, 18)) * _DEG
    airborne = np.abs(np.sin(2 * np.pi * phase))  # in the air between the two stances
    p.knee = (rng.uniform(3, 8) + 10 * (1 - airborne) * rng.uniform(0.3, 1.0)) * _DEG
    p.thigh = -0.5 * np.asarray(p.knee)
    p.foot = 20 * _DEG * airborne
    p.toe_out = rng.uniform(5, 20) * _DEG
    p.hop = rng.uniform(0.02, 0.08) * airborne
    _idle(rng, t, p, 0.5)
    return p, phase, reps


def _lunge(rng: np.random.Generator, t: np.ndarray, b: _Body
           ) -> tuple[_Pose, np.ndarray, int, np.ndarray]:
    """Step lunge: one foot steps (forward, or back for a reverse lunge), both knees
    bend, the foot returns. Returns the pose, phase, reps and, per frame, the index
    (0 left / 1 right) of the foot that stays planted."""
    phase, reps = _phase(rng, t, _TEMPO["lunge"])
    amp = _per_rep(rng, phase, 0.1, 0.7, 1.15)
    u = _curve(phase)
    step = np.clip(u / 0.5, 0, 1)
    step = step * step * (3 - 2 * step)
    sink = np.clip((u - 0.3) / 0.7, 0, 1) * amp
    rep = np.floor(phase).astype(np.int64)
    first = rng.integers(2)
    alternate = rng.random() < 0.6
    front = (first + (rep - rep[0]) * alternate) % 2  # 0 = left leg in front
    reverse = rng.random() < 0.35

    leg = b.thigh + b.shin
    gap = rng.uniform(0.38, 0.5) * b.height * step  # ankle-to-ankle distance
    hip_h = (0.995 - rng.uniform(0.32, 0.42) * sink) * leg
    zf = gap * rng.uniform(0.42, 0.52)  # the pelvis sits nearer the front foot
    zb = gap - zf
    # The back heel rises as the back foot rolls onto its toes.
    pf = 45 * _DEG * np.clip(gap / (0.4 * b.height), 0, 1) * (0.5 + 0.5 * sink)
    toe_len = 0.75 * b.foot
    rise = b.ankle_h * (np.cos(pf) - 1) + toe_len * np.sin(pf)
    th_f, kn_f = _leg_ik(b, zf, -hip_h)
    th_b, kn_b = _leg_ik(b, -zb, -(hip_h - rise))
    is_left_front = front == 0
    p = _Pose()
    p.thigh = np.stack([np.where(is_left_front, th_f, th_b), np.where(is_left_front, th_b, th_f)])
    p.knee = np.stack([np.where(is_left_front, kn_f, kn_b), np.where(is_left_front, kn_b, kn_f)])
    p.foot = np.stack([np.where(is_left_front, 0.0, pf), np.where(is_left_front, pf, 0.0)])
    p.hip_abd = rng.uniform(1, 5) * _DEG
    p.toe_out = rng.uniform(3, 15) * _DEG
    p.lumbar_pitch = (rng.uniform(0, 8) + sink * rng.uniform(0, 10)) * _DEG
    p.neck_pitch = -0.5 * np.asarray(p.lumbar_pitch)
    _arms_variant(rng, p, 0.3 * sink)
    _idle(rng, t, p, 0.6)
    # Forward lunge: the back foot stays; reverse lunge: the front foot stays.
    planted = np.where(reverse, front, 1 - front)
    return p, phase, reps, planted


def _arm_circles(rng: np.random.Generator, t: np.ndarray, b: _Body
                 ) -> tuple[_Pose, np.ndarray, int]:
    """Arms held out to the side (~90 degrees abduction) trace circles forward or
    backward: abduction and flexion follow cosine and sine of the phase."""
    phase, reps = _phase(rng, t, _TEMPO["arm_circles"])
    r = rng.uniform(12, 35) * _DEG * _per_rep(rng, phase, 0.1, 0.7, 1.2)
    direction = rng.choice([-1.0, 1.0])  # forward or backward circles
    ang = 2 * np.pi * phase
    p = _Pose()
    p.sh_abd = rng.uniform(78, 95) * _DEG + r * np.cos(ang)
    p.sh_flex = rng.uniform(-5, 10) * _DEG + direction * r * np.sin(ang)
    p.elbow = rng.uniform(0, 15) * _DEG
    p.hip_abd = rng.uniform(3, 10) * _DEG
    p.toe_out = rng.uniform(5, 20) * _DEG
    p.knee = rng.uniform(0, 6) * _DEG
    p.thigh = -0.5 * np.asarray(p.knee)
    _idle(rng, t, p, 0.8)
    return p, phase, reps


def _standing(rng: np.random.Generator, t: np.ndarray, b: _Body
              ) -> tuple[_Pose, np.ndarray, int]:
    """Idle standing: sway, breathing, and now and then a weight shift or an arm move."""
    n = t.size
    dur = float(t[-1]) if n > 1 else 0.0
    p = _Pose()
    p.hip_abd = np.full((2, n), rng.uniform(2, 8) * _DEG)
    p.knee = np.full((2, n), rng.uniform(0, 5) * _DEG)
    p.thigh = -0.5 * p.knee
    p.toe_out = rng.uniform(5, 20) * _DEG
    p.sh_abd = rng.uniform(3, 12) * _DEG
    p.sh_flex = rng.uniform(-5, 10) * _DEG
    p.elbow = np.full((2, n), rng.uniform(5, 25) * _DEG)
    sway = _smooth(rng, t, 1, 0.4, 1.2 * _DEG)[0]
    p.hip_abd = p.hip_abd + sway * _SIDE[:, None]  # pelvis drifts over the feet
    if rng.random() < 0.45:  # weight shift onto one leg, the other knee relaxes
        s = _bump(t, rng.uniform(-0.3, 0.8) * dur, rng.uniform(0.4, 1.0), rng.uniform(0.5, 4))
        d = rng.choice([-1.0, 1.0])
        shift = rng.uniform(3, 6) * _DEG * s
        p.hip_abd = p.hip_abd + d * shift * _SIDE[:, None]
        p.pelvis_roll = -d * 0.6 * shift
        relaxed = 0 if d > 0 else 1
        p.knee[relaxed] += 12 * _DEG * s
        p.thigh = -0.5 * p.knee
    if rng.random() < 0.55:  # touch the face, fold the arms, hands on hips, check a phone
        s = _bump(t, rng.uniform(-0.2, 0.8) * dur, rng.uniform(0.4, 0.9), rng.uniform(0.3, 2.5))
        kind = rng.integers(4)
        arm = rng.integers(2)
        both = kind in (1, 2)
        rows = [0, 1] if both else [arm]
        flex = {0: 45, 1: 30, 2: -10, 3: 40}[int(kind)] * _DEG
        abd = {0: 15, 1: 10, 2: 40, 3: 10}[int(kind)] * _DEG
        elb = {0: 135, 1: 100, 2: 100, 3: 90}[int(kind)] * _DEG
        rot = {0: 0, 1: -70, 2: -85, 3: -30}[int(kind)] * _DEG
        sh_flex = np.broadcast_to(np.asarray(p.sh_flex, float), (2, n)).copy()
        sh_abd = np.broadcast_to(np.asarray(p.sh_abd, float), (2, n)).copy()
        sh_rot = np.zeros((2, n))
        for r in rows:
            sh_flex[r] += (flex - sh_flex[r]) * s
            sh_abd[r] += (abd - sh_abd[r]) * s
            sh_rot[r] = rot * s
            p.elbow[r] += (elb - p.elbow[r]) * s
        p.sh_flex, p.sh_abd, p.sh_rot = sh_flex, sh_abd, sh_rot
    if rng.random() < 0.4:  # look around
        s = _bump(t, rng.uniform(0, 0.8) * dur, rng.uniform(0.3, 0.7), rng.uniform(0.2, 2))
        p.neck_yaw = rng.uniform(-45, 45) * _DEG * s
    _idle(rng, t, p, 1.0)
    return p, np.zeros(n), 0


# --------------------------------------------------------------------------- 3D motion


def _ground(j: np.ndarray, planted: np.ndarray | None) -> np.ndarray:
    """Translate per frame so that the feet touch the floor (y = 0) and stay put.

    Horizontally the heel midpoint is pinned at the origin; with ``planted`` (a [T]
    array of 0 = left / 1 = right) the planted foot's toe pins the forward axis instead.
    """
    feet = j[:, _pair("heel") + _pair("foot_index")]
    heels = j[:, _pair("heel")]
    anchor = heels.mean(axis=1)
    anchor[:, 1] = feet[..., 1].min(axis=1)
    if planted is not None:
        toes = j[:, _pair("foot_index"), 2]
        anchor[:, 2] = np.take_along_axis(toes, planted[:, None], axis=1)[:, 0]
    return j - anchor[:, None]


@dataclass
class _Motion:
    """One clip's drawn motion: body, joint-angle curves and, per class, the foot that
    stays planted (lunge) or the push-up targets."""

    n: int
    phase: np.ndarray
    reps: int
    body: _Body
    pose: _Pose
    planted: np.ndarray | None = None
    push_up: _PushUp | None = None


def _draw_motion(name: str, rng: np.random.Generator, n: int, fps: float) -> _Motion:
    """Body and joint-angle curves of one clip of ``name`` with ``n`` frames."""
    t = np.arange(n, dtype=np.float64) / fps
    b = _sample_body(rng)
    if name == "push_up":
        p, phase, reps, info = _push_up(rng, t, b)
        return _Motion(n, phase, reps, b, p, push_up=info)
    planted = None
    if name == "lunge":
        p, phase, reps, planted = _lunge(rng, t, b)
    else:
        p, phase, reps = _MOTIONS[name](rng, t, b)
    return _Motion(n, phase, reps, b, pose=p, planted=planted)


def _join_bodies(bodies: list[_Body], lengths: np.ndarray) -> _Body:
    """One body with per-frame ``[sum(lengths)]`` segment lengths."""
    return _Body(**{f.name: np.repeat([getattr(b, f.name) for b in bodies], lengths)
                    for f in fields(_Body)})


def _join_poses(poses: list[_Pose], lengths: np.ndarray) -> _Pose:
    """One pose for clips joined along time: each angle becomes ``[F]`` or ``[2, F]``,
    except constants shared by all clips, which stay scalars (zeros are then skipped)."""
    out = _Pose(foot_world=poses[0].foot_world)
    ends = np.cumsum(lengths)
    for f in fields(_Pose):
        if f.name == "foot_world":
            continue
        vals = [getattr(p, f.name) for p in poses]
        if all(np.ndim(v) == 0 and v == vals[0] for v in vals):
            setattr(out, f.name, float(vals[0]))
            continue
        lead = (2,) if any(np.ndim(v) == 2 for v in vals) else ()
        joined = np.empty(lead + (int(ends[-1]),))
        for v, e, ln in zip(vals, ends, lengths, strict=True):
            joined[..., e - ln:e] = v  # broadcasts scalars and [T] over sides
        setattr(out, f.name, joined)
    return out


def _motions_3d(motions: list[_Motion]) -> tuple[np.ndarray, np.ndarray]:
    """World joints ``[F, 33, 3]`` and body axes ``[F, 6, 3]`` of clips of one class,
    joined along time (``F`` = all their frames)."""
    lengths = np.array([m.n for m in motions])
    b = _join_bodies([m.body for m in motions], lengths)
    p = _join_poses([m.pose for m in motions], lengths)
    if motions[0].push_up is not None:
        infos = [m.push_up for m in motions]
        info = _PushUp(np.concatenate([i.shoulder_h for i in infos]), *(
            np.repeat([getattr(i, k) for i in infos], lengths)
            for k in ("wrist_h", "hand_ahead", "hand_wide", "flare")))
        return _solve_push_up(b, p, info, lengths)
    n = int(lengths.sum())
    j, axes = _forward(b, p, n)
    planted = (None if motions[0].planted is None
               else np.concatenate([m.planted for m in motions]))
    j = _ground(j, planted)
    j[..., 1] += np.broadcast_to(np.asarray(p.hop, dtype=np.float64), (n,))[:, None]
    return j, axes


def simulate_workout_3d(
    name: str, rng: np.random.Generator, n_frames: int, fps: float = 30.0
) -> tuple[np.ndarray, np.ndarray, int]:
    """One person performing ``name`` in 3D world coordinates (no camera, no noise).

    Returns ``(joints [T, 33, 3], phase [T], reps)``: joints in metres in mediapipe33
    order, x = the person's left, y = up, z = forward, floor at y = 0; phase in cycles.
    """
    _check_name(name)
    m = _draw_motion(name, rng, n_frames, fps)
    j, _ = _motions_3d([m])
    return j, m.phase, m.reps


_MOTIONS = {
    "squat": _squat,
    "jumping_jack": _jumping_jack,
    "arm_circles": _arm_circles,
    "standing": _standing,
}


# --------------------------------------------------------------------------- camera


@dataclass
class _Shot:
    """Camera and framing draws for one clip (angles in radians, lengths in metres)."""

    yaw: float  # the person's turn about the vertical, 0 = facing the camera
    dist: float
    height: float
    aim: float  # aim point above the body centre
    pitch_err: float
    roll: float
    pan: float
    aspect: float  # image width / height
    focal: float  # focal length in image widths
    fill: float  # share of the frame the clip's bounding box fills
    place: np.ndarray  # [2] where the box sits in the room left, in [0, 1)


def _draw_shot(rng: np.random.Generator, side_view: bool) -> _Shot:
    """A phone or webcam at 2.2-4.5 m, 0.3-1.6 m high, aimed at the person with small
    pitch/roll/pan errors; landscape, 4:3 or portrait frames (push-ups: landscape, and
    their side-ish view comes from the pose)."""
    yaw = 0.0 if side_view else rng.uniform(-70, 70) * _DEG
    dist, height, aim = rng.uniform(2.2, 4.5), rng.uniform(0.3, 1.6), rng.normal(0, 0.1)
    pitch_err, roll, pan = rng.normal(0, 3) * _DEG, rng.normal(0, 2) * _DEG, rng.normal(0, 3) * _DEG
    u = 0.0 if side_view else rng.random()
    aspect = 16 / 9 if u < 0.6 else (4 / 3 if u < 0.8 else 9 / 16)
    focal = 0.5 / np.tan(rng.uniform(50, 75) * _DEG / 2)
    # Sometimes a little too tight, so that limbs leave the picture.
    fill = rng.uniform(0.55, 0.92) if rng.random() > 0.1 else rng.uniform(0.95, 1.1)
    return _Shot(yaw, dist, height, aim, pitch_err, roll, pan, aspect, focal, fill,
                 rng.uniform(0, 1, 2))


def _project(j: np.ndarray, axes: np.ndarray, shots: list[_Shot], lengths: np.ndarray
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Film clips joined along time: keypoints ``[F, 33, 3]``, visibility ``[F, 33]`` and
    each frame's aspect ratio ``[F]``.

    Pinhole projection; x, y are divided by image width/height (y down); z is depth
    relative to the hip midpoint in x units (MediaPipe's convention). A zoom/crop then
    frames each clip's bounding box at its drawn size and place, as phone videos do.
    """
    n = j.shape[0]
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    centres = np.add.reduceat(0.5 * (_mid(j, "hip") + _mid(j, "shoulder")), starts,
                              axis=0) / lengths[:, None]  # [S, 3], body frame

    def per_clip(key: str) -> np.ndarray:
        return np.array([getattr(sh, key) for sh in shots])

    yaw, dist, height = per_clip("yaw"), per_clip("dist"), per_clip("height")
    cy, sy = np.cos(yaw), np.sin(yaw)
    # Work in each body's own frame: turning the person by yaw is turning the camera
    # the other way around them. Camera position there (centre + R_y^T (0, h - c_y, d)):
    up = height - centres[:, 1]
    cam_b = centres + np.stack([-sy * dist, up, cy * dist], axis=1)
    pitch = np.arctan2(up - per_clip("aim"), dist) + per_clip("pitch_err")
    # World -> camera rotations [3, 3, S]: roll, pitch, pan, then axes flipped to
    # x right, y down, z along the view; times R_y(yaw) to act on body-frame points.
    m = np.broadcast_to(np.eye(3)[:, :, None], (3, 3, len(shots)))
    m = _turn(_turn(_turn(m, 2, per_clip("roll")), 0, pitch), 1, per_clip("pan"))
    m[:, 1:] *= -1.0  # times diag(1, -1, -1): the camera looks along -z, y points down
    m = _turn(m, 1, yaw).transpose(2, 0, 1)  # [S, 3, 3]
    shift = np.einsum("sij,sj->si", m, cam_b)
    pcs = [j[a:a + ln].reshape(-1, 3) @ m[k].T - shift[k]
           for k, (a, ln) in enumerate(zip(starts, lengths, strict=True))]
    # The camera is far compared with the body: one viewing direction per clip.
    to_cam = (cam_b - centres) / np.linalg.norm(cam_b - centres, axis=1, keepdims=True)
    pc = np.concatenate(pcs).reshape(n, 33, 3)

    def per_frame(v: np.ndarray) -> np.ndarray:
        return np.repeat(v, lengths, axis=0)[:, None]

    aspect = np.array([sh.aspect for sh in shots])
    focal = per_frame(np.array([sh.focal for sh in shots]))
    depth = np.maximum(pc[..., 2], 0.3)
    x = focal * pc[..., 0] / depth
    y = (focal * per_frame(aspect)) * pc[..., 1] / depth
    hip_depth = _mid(depth, "hip")[:, None]
    z = focal * (depth - hip_depth) / hip_depth

    lo = np.stack([np.minimum.reduceat(x.min(axis=1), starts),
                   np.minimum.reduceat(y.min(axis=1), starts)], axis=1)  # [S, 2]
    hi = np.stack([np.maximum.reduceat(x.max(axis=1), starts),
                   np.maximum.reduceat(y.max(axis=1), starts)], axis=1)
    zoom = np.array([sh.fill for sh in shots]) / (hi - lo).max(axis=1)
    size = (hi - lo) * zoom[:, None]
    place = np.array([sh.place for sh in shots])
    corner = place * np.maximum(1.0 - size, 0.0) + np.minimum(1.0 - size, 0.0) / 2
    zoom_t = per_frame(zoom)
    x = (x - per_frame(lo[:, 0])) * zoom_t + per_frame(corner[:, 0])
    y = (y - per_frame(lo[:, 1])) * zoom_t + per_frame(corner[:, 1])
    z = z * zoom_t

    # Visibility: high where the joint's surface faces the camera, low when turned away;
    # facing = cosine between each joint's normal and the way to the camera.
    along = np.einsum("fkc,fc->fk", axes, per_frame(to_cam)[:, 0])  # [F, 6]
    # einsum, not @: a BLAS product this size would start threads for no gain.
    facing = np.einsum("fk,kj->fj", along, _FACING_MIX)
    u = 2.5 * (facing + 0.35)
    vis = 0.5 + 0.47 * u / np.sqrt(1.0 + u * u)  # a sigmoid; cheaper than tanh here
    outside = (x < 0) | (x > 1) | (y < 0) | (y > 1)
    vis = np.where(outside, vis * 0.3, vis)
    return np.stack([x, y, z], axis=-1), vis, per_frame(aspect)[:, 0]


# --------------------------------------------------------------------------- noise

_HAND_JOINTS = _pair("wrist") + _pair("pinky") + _pair("index") + _pair("thumb")
_FOOT_JOINTS = _pair("heel") + _pair("foot_index")
_JITTER = np.full(33, 0.02)  # per-joint jitter, as a share of the torso length
_JITTER[list(_FACE_IDX)] = 0.03
_JITTER[_HAND_JOINTS] = 0.05
_JITTER[_FOOT_JOINTS] = 0.035


@dataclass
class _Noise:
    """One clip's random draws for :func:`_observe`, at unit scale (None = not used)."""

    jitter: np.ndarray | None  # [T, 33, 3] standard normal
    drift: tuple[np.ndarray, np.ndarray] | None  # slow drift knots, see _knots
    vis: np.ndarray | None  # [T, 33] standard normal
    lost: np.ndarray | None  # [T, 33] joints the detector loses


def _draw_noise(rng: np.random.Generator, n: int, fps: float, noise: float,
                drop_prob: float) -> _Noise:
    """One clip's noise draws: nothing for ``noise == 0`` or ``drop_prob == 0``."""
    jitter = drift = vis = lost = None
    if noise > 0:
        jitter = rng.standard_normal((n, 33, 3), dtype=np.float32)
        # Slow drift, ~1 s knots: 99 per-joint coordinates plus 3 shared ones (camera
        # shake, tracker bias).
        drift = _knots(rng, np.arange(n) / fps, 33 * 3 + 3, 0.5)
        vis = rng.standard_normal((n, 33), dtype=np.float32)
    if drop_prob > 0:
        lost = rng.random((n, 33)) < drop_prob
        # A few person-less frames (detector misses), in short runs.
        for _ in range(rng.poisson(0.1 * drop_prob * n)):
            start = rng.integers(n)
            lost[start:start + rng.integers(1, 7)] = True
    return _Noise(jitter, drift, vis, lost)


def _observe(kp: np.ndarray, vis: np.ndarray, aspect: np.ndarray, lengths: np.ndarray,
             draws: list[_Noise], noise: float) -> tuple[np.ndarray, np.ndarray]:
    """Add detector noise to clean keypoints ``[F, 33, 3]`` and visibility ``[F, 33]`` of
    clips joined along time (``aspect`` ``[F]`` = image width / height).

    Jitter and drift are shares of each clip's torso length in the image, so they do not
    depend on how large the person appears, and are the same in pixels along x and y.
    """
    n = kp.shape[0]
    if noise > 0:
        dx, dy = (_mid(kp, "shoulder") - _mid(kp, "hip"))[:, :2].T
        torso = np.hypot(dx, dy / aspect)  # in image widths
        ends = np.cumsum(lengths)
        scale = noise * np.array([np.median(torso[e - ln:e]) for e, ln in
                                  zip(ends, lengths, strict=True)])
        scale = np.repeat(scale, lengths)[:, None]
        # Per axis: y is in image heights; the detector's depth is much noisier than x, y.
        axis_sd = np.stack([np.ones(n), aspect, np.full(n, 3.0)], axis=-1)[:, None]
        # Occluded joints are guessed by the detector, so they wobble more.
        sd = scale * _JITTER * (1.0 + 1.5 * (1.0 - vis))
        kp = kp + np.concatenate([d.jitter for d in draws]) * sd[..., None] * axis_sd
        # Slow drift, ~1 s knots, per joint plus a shared part: all clips' knots stacked,
        # each clip's grid positions shifted to its own knots.
        knots = np.concatenate([d.drift[1] for d in draws])
        first = np.cumsum([0] + [len(d.drift[1]) for d in draws[:-1]])
        pos = np.concatenate([d.drift[0] + k for d, k in zip(draws, first, strict=True)])
        knots = knots[:, :99] + 1.3 * np.tile(knots[:, 99:], 33)
        drift = _interp_knots(pos, knots) * (0.015 * scale)
        kp += drift.reshape(n, 33, 3) * axis_sd
        # MediaPipe's z is relative to the hip midpoint by construction: keep it at 0.
        kp[..., 2] -= _mid(kp[..., 2], "hip")[:, None]
        vis = vis + np.concatenate([d.vis for d in draws]) * (0.04 * noise)
    vis = np.clip(vis, 0.0, 1.0)
    if draws[0].lost is not None:
        lost = np.concatenate([d.lost for d in draws])
        kp[lost] = np.nan
        vis[lost] = 0.0
    return kp.astype(np.float32), vis.astype(np.float32)


# --------------------------------------------------------------------------- public API


@dataclass
class WorkoutSample:
    """One synthetic clip.

    Attributes:
        sequence: keypoints ``[T, 33, 3]`` (mediapipe33), label = class name.
        reps: completed repetitions in the clip (whole cycles; 0 for ``standing``).
        phase: ``[T]`` motion phase in cycles (integer = rest position, +0.5 = the
            turning point, e.g. the bottom of a squat); zeros for ``standing``.
    """

    sequence: PoseSequence
    reps: int
    phase: np.ndarray


def _check_name(name: str) -> None:
    if name not in WORKOUT_CLASSES:
        raise ConfigError(
            f"unknown workout class {name!r}; known classes: {', '.join(WORKOUT_CLASSES)}"
        )


def _check_args(min_frames: int, max_frames: int, fps: float, noise: float,
                drop_prob: float) -> None:
    if min_frames < 2:
        raise ConfigError(f"min_frames must be at least 2, got {min_frames}")
    if min_frames > max_frames:
        raise ConfigError(f"min_frames ({min_frames}) must not exceed max_frames ({max_frames})")
    if not (np.isfinite(fps) and fps > 0):
        raise ConfigError(f"fps must be a positive number, got {fps}")
    if not (np.isfinite(noise) and noise >= 0):
        raise ConfigError(f"noise must be >= 0, got {noise}")
    if not (0 <= drop_prob < 1):
        raise ConfigError(f"drop_prob must be within [0, 1), got {drop_prob}")


def make_workout(
    name: str,
    rng: np.random.Generator,
    *,
    min_frames: int = 30,
    max_frames: int = 150,
    fps: float = 30.0,
    noise: float = 1.0,
    drop_prob: float = 0.02,
) -> WorkoutSample:
    """One random clip of workout ``name`` with ``T ~ U[min_frames, max_frames]`` frames.

    ``noise`` scales the observation noise (keypoint jitter, drift, visibility noise;
    0 = clean projections). ``drop_prob`` is the chance that a joint is lost in a frame
    (NaN, visibility 0); besides, about ``0.1 * drop_prob * T`` runs of 1-6 person-less
    frames (all NaN) occur. Frames are never removed: ``len(sequence) == T``.
    """
    _check_name(name)
    _check_args(min_frames, max_frames, fps, noise, drop_prob)
    return _make_batch(name, [rng], min_frames, max_frames, fps, noise, drop_prob)[0]


def _make_batch(name: str, rngs: list[np.random.Generator], min_frames: int, max_frames: int,
                fps: float, noise: float, drop_prob: float) -> list[WorkoutSample]:
    """One clip of ``name`` per generator.

    Each generator makes all of its clip's random draws, in a fixed order, so a clip is
    the same whatever batch it is made in; the clips are then posed, filmed and noised
    together, joined along time: a few large array operations instead of many small ones.
    """
    motions, shots, noises = [], [], []
    for rng in rngs:
        n = int(rng.integers(min_frames, max_frames + 1))
        motions.append(_draw_motion(name, rng, n, fps))
        shots.append(_draw_shot(rng, side_view=(name == "push_up")))
        noises.append(_draw_noise(rng, n, fps, noise, drop_prob))
    lengths = np.array([m.n for m in motions])
    j, axes = _motions_3d(motions)
    kp, vis, aspect = _project(j, axes, shots, lengths)
    kp, vis = _observe(kp, vis, aspect, lengths, noises, noise)
    out, start = [], 0
    for m in motions:
        part = slice(start, start + m.n)
        start += m.n
        seq = PoseSequence(keypoints=kp[part].copy(), visibility=vis[part].copy(), fps=fps,
                           layout="mediapipe33", label=name, source=f"workouts/{name}")
        out.append(WorkoutSample(sequence=seq, reps=m.reps, phase=m.phase.astype(np.float64)))
    return out


def generate_workouts(
    n_per_class: int,
    seed: int,
    *,
    classes: Sequence[str] = WORKOUT_CLASSES,
    min_frames: int = 30,
    max_frames: int = 150,
    fps: float = 30.0,
    noise: float = 1.0,
    drop_prob: float = 0.02,
) -> list[WorkoutSample]:
    """``n_per_class`` clips of each class, in a shuffled order fixed by ``seed``.

    Each clip draws from its own generator seeded by ``(seed, class, i)``, so a clip does
    not change when other classes are added or removed. ``sequence.source`` is
    ``workouts/seed{seed}/{i}`` with ``i`` the position in the returned list.
    """
    if isinstance(classes, str):
        classes = (classes,)
    classes = tuple(classes)
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ConfigError(f"seed must be a non-negative integer, got {seed!r}")
    for name in classes:
        _check_name(name)
    if len(set(classes)) != len(classes):
        raise ConfigError(f"classes must not repeat a name, got {list(classes)}")
    if not classes:
        raise ConfigError(f"classes must not be empty; known classes: {', '.join(WORKOUT_CLASSES)}")
    if n_per_class < 1:
        raise ConfigError(f"n_per_class must be at least 1, got {n_per_class}")
    _check_args(min_frames, max_frames, fps, noise, drop_prob)
    out = []
    for name in classes:
        c = WORKOUT_CLASSES.index(name)
        for first in range(0, n_per_class, _BATCH):
            rngs = [np.random.default_rng([seed, c, i])
                    for i in range(first, min(first + _BATCH, n_per_class))]
            out += _make_batch(name, rngs, min_frames, max_frames, fps, noise, drop_prob)
    order = np.random.default_rng([seed, 1_000_003]).permutation(len(out))
    out = [out[k] for k in order]
    for i, s in enumerate(out):
        s.sequence.source = f"workouts/seed{seed}/{i}"
    return out
