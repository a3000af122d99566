"""Synthetic home-workout pose sequences, generated on the fly from a seed.

A kinematic 3D body (forward kinematics from joint angles, anthropometric limb lengths)
performs one of :data:`WORKOUT_CLASSES`; a randomly placed camera projects it to
MediaPipe-style image-normalised keypoints (``mediapipe33`` layout) with realistic
noise, low visibility on the side turned away, dropped joints and person-less frames.

World coordinates are metres with x = the person's left, y = up, z = the person's
forward (a right-handed frame); the floor is y = 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from motionseq.errors import ConfigError
from motionseq.sequence import PoseSequence
from motionseq.skeleton import get_layout

WORKOUT_CLASSES: tuple[str, ...] = (
    "squat", "push_up", "jumping_jack", "lunge", "arm_circles", "standing",
)

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


def _pair(joint: str) -> list[int]:
    return [_IDX["left_" + joint], _IDX["right_" + joint]]


# --------------------------------------------------------------------------- body model


@dataclass
class _Body:
    """Segment lengths in metres."""

    height: float
    thigh: float
    shin: float
    upper_arm: float
    forearm: float
    hand: float
    lumbar: float  # hip midpoint -> mid spine
    thoracic: float  # mid spine -> shoulder midpoint
    neck: float  # shoulder midpoint -> head centre
    head: float  # head radius
    hip_half: float
    shoulder_half: float
    ankle_h: float
    foot: float  # heel to toe tip


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


@dataclass
class _Pose:
    """Joint angles (radians) over T frames; each is a scalar, ``[T]``, or ``[2, T]`` for
    sided angles (row 0 = left, row 1 = right).

    Pitch angles rotate about the segment's x axis: positive moves a hanging segment
    backward (thigh, upper-arm *flexion* is therefore negative pitch and stored as
    positive ``sh_flex``). Abductions are positive away from the midline on both sides.
    """

    yaw: object = 0.0
    pelvis_pitch: object = 0.0  # > 0 leans the whole body forward
    pelvis_roll: object = 0.0
    lumbar_pitch: object = 0.0  # > 0 bends the trunk forward
    lumbar_roll: object = 0.0
    chest_pitch: object = 0.0
    chest_twist: object = 0.0
    neck_pitch: object = 0.0  # > 0 looks down
    neck_yaw: object = 0.0
    neck_roll: object = 0.0
    sh_abd: object = 0.0
    sh_flex: object = 0.0  # > 0 raises the arm forward
    sh_rot: object = 0.0
    elbow: object = 0.0  # flexion, > 0
    wrist: object = 0.0  # > 0 bends the hand toward the thumb side
    hip_abd: object = 0.0
    thigh: object = 0.0  # pitch: < 0 is hip flexion (thigh forward)
    knee: object = 0.0  # flexion, > 0
    foot: object = 0.0  # > 0 points the toes down
    toe_out: object = 0.0
    foot_world: bool = True  # foot pitch is relative to the floor (True) or the shin
    hop: object = 0.0  # metres above the floor contact, [T]


def _rot(axis: int, angle: float | np.ndarray) -> np.ndarray | None:
    """Rotation matrices ``[*angle.shape, 3, 3]`` about axis 0/1/2 (x/y/z) by ``angle``
    radians; None for a constant zero angle (skipped by :func:`_mul`)."""
    a = np.asarray(angle, dtype=np.float64)
    if a.ndim == 0 and a == 0.0:
        return None
    c, s = np.cos(a), np.sin(a)
    r = np.zeros(a.shape + (3, 3))
    i, j = ((1, 2), (2, 0), (0, 1))[axis]
    r[..., axis, axis] = 1.0
    r[..., i, i] = c
    r[..., j, j] = c
    r[..., i, j] = -s
    r[..., j, i] = s
    return r


def _mul(*mats: np.ndarray | None) -> np.ndarray:
    """Product of rotation stacks (broadcasting), skipping Nones. The first is required."""
    out = mats[0]
    for m in mats[1:]:
        if m is not None:
            out = out @ m
    return out


def _apply(r: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Rotate vectors: ``r [..., 3, 3]`` times ``v [..., 3]`` (broadcast)."""
    return (r @ v[..., None])[..., 0]


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
    """Forward kinematics with the hip midpoint at the origin.

    Returns joints ``[T, 33, 3]`` (metres) and body axes ``[T, 6, 3]`` (head, chest and
    pelvis left and forward unit vectors; with :data:`_FACING_MIX` they give each joint's
    outward normal, used to tell which joints face the camera).
    """
    side = _SIDE[:, None]
    mirror = np.array([[1.0, 1.0, 1.0], [-1.0, 1.0, 1.0]])[:, None]  # [2, 1, 3]

    def sided(v: float | np.ndarray) -> np.ndarray:
        return np.asarray(v, dtype=np.float64) * side

    # Trunk chain: pelvis -> lumbar -> chest -> head.
    eye = np.broadcast_to(np.eye(3), (n, 3, 3))
    r_pel = _mul(eye, _rot(1, p.yaw), _rot(0, p.pelvis_pitch), _rot(2, p.pelvis_roll))
    r_lum = _mul(r_pel, _rot(0, p.lumbar_pitch), _rot(2, p.lumbar_roll))
    r_chest = _mul(r_lum, _rot(0, p.chest_pitch), _rot(1, p.chest_twist))
    top = r_lum[..., 1] * b.lumbar + r_chest[..., 1] * b.thoracic  # shoulder midpoint
    r_head = _mul(r_chest, _rot(0, p.neck_pitch), _rot(1, p.neck_yaw), _rot(2, p.neck_roll))
    head_c = top + _apply(r_head, np.array([0.0, b.neck, 0.15 * b.head]))
    face = head_c[:, None] + _apply(r_head[:, None], _FACE_OFF * b.head)  # [T, 11, 3]

    # Arms: shoulder (abduction, flexion, rotation) -> elbow flexion -> wrist -> hand.
    sh = top[None] + _apply(r_chest[None],
                            np.array([b.shoulder_half, -0.02 * b.height, 0.0]) * mirror)
    r_ua = _mul(r_chest[None], _rot(2, sided(p.sh_abd)), _rot(0, -np.asarray(p.sh_flex)),
                _rot(1, sided(p.sh_rot)))
    elbow = sh - r_ua[..., 1] * b.upper_arm
    r_fa = _mul(r_ua, _rot(0, -np.asarray(p.elbow)))
    wrist = elbow - r_fa[..., 1] * b.forearm
    r_hand = _mul(r_fa, _rot(0, -np.asarray(p.wrist)))
    hand_off = np.array(list(_HAND.values())) * b.hand  # [3, 3] pinky, index, thumb
    hand_off = hand_off[None] * mirror  # [2, 3, 3]
    hand = wrist[:, :, None] + _apply(r_hand[:, :, None], hand_off[:, None])  # [2, T, 3, 3]

    # Legs: hip (abduction, pitch) -> knee flexion -> foot.
    hips = _apply(r_pel[None], np.array([b.hip_half, 0.0, 0.0]) * mirror)
    r_th = _mul(r_pel[None], _rot(2, sided(p.hip_abd)), _rot(0, p.thigh))
    knee = hips - r_th[..., 1] * b.thigh
    r_sh = _mul(r_th, _rot(0, p.knee))
    ankle = knee - r_sh[..., 1] * b.shin
    foot = np.asarray(p.foot, dtype=np.float64)
    if p.foot_world:
        # Choose the ankle angle that gives the requested foot pitch over the floor.
        foot = foot - (np.asarray(p.pelvis_pitch) + np.asarray(p.thigh) + np.asarray(p.knee))
    r_ft = _mul(r_sh, _rot(0, foot), _rot(1, sided(p.toe_out)))
    foot_off = np.array([[0.0, -b.ankle_h, -0.25 * b.foot], [0.0, -b.ankle_h, 0.75 * b.foot]])
    feet = ankle[:, :, None] + _apply(r_ft[:, :, None], foot_off)  # [2, T, 2, 3] heel, toe

    # [2, T, 11, 3] per side in _BUILD order, then [T, 22, 3] interleaving left/right.
    limbs = np.concatenate([sh[:, :, None], elbow[:, :, None], wrist[:, :, None], hand,
                            hips[:, :, None], knee[:, :, None], ankle[:, :, None], feet],
                           axis=2)
    limbs = limbs.transpose(1, 2, 0, 3).reshape(n, 22, 3)
    joints = np.concatenate([face, limbs], axis=1)[:, _BUILD_INV]
    axes = np.stack([r_head[..., 0], r_head[..., 2], r_chest[..., 0], r_chest[..., 2],
                     r_pel[..., 0], r_pel[..., 2]], axis=1)
    return joints, axes


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


def _smooth(rng: np.random.Generator, t: np.ndarray, rows: int, fmax: float, amp: float,
            shared: int = 0, shared_gain: float = 0.0) -> np.ndarray:
    """Smooth random signals with about ``amp`` standard deviation and no content much
    above ``fmax`` Hz: Gaussian knots every ``1 / (2 fmax)`` s joined by cosine
    interpolation (one small matrix product, cheap for many rows).

    Returns ``[rows, T]``; with ``shared`` > 0, ``[T, rows]`` where ``shared`` further
    signals (times ``shared_gain``) are added to every row, tiled (for drift common to
    all joints of a ``[T, J, shared]`` array).
    """
    step = 0.5 / fmax
    pos = t / step + rng.uniform()  # random knot offset, so knots do not align with t=0
    k0 = pos.astype(np.int64)
    frac = 0.5 - 0.5 * np.cos(np.pi * (pos - k0))
    weights = np.zeros((t.size, int(k0[-1]) + 2))
    rows_t = np.arange(t.size)
    weights[rows_t, k0] = 1.0 - frac
    weights[rows_t, k0 + 1] = frac
    # 1.2 makes up for the variance lost between knots (cosine blend of two knots).
    knots = rng.standard_normal((weights.shape[1], rows + shared)) * (1.2 * amp)
    if shared:
        common = knots[:, rows:] * shared_gain
        knots = knots[:, :rows] + np.tile(common, rows // shared)
        return weights @ knots
    return (weights @ knots).T


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
    wrist_h: float
    hand_ahead: float
    hand_wide: float
    flare: float


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


def _solve_push_up(b: _Body, p: _Pose, info: _PushUp, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Body angle about the toes, and arm angles that keep the hands planted.

    Pass 1 (arms arbitrary) measures the toe->shoulder distance and the angle between
    that line and the pelvis, which the feet and trunk shape fix; the body angle then
    follows from the wanted shoulder height. Pass 2 gives the shoulders and chest
    frames; a two-link IK from each shoulder to its fixed hand point (elbow toward the
    feet, flared out) becomes shoulder/elbow angles. Pass 3 is the result.
    Returns joints and body axes (see :func:`_forward`), the toe midpoint at the origin.
    """
    p.pelvis_pitch = np.full(n, 75 * _DEG)
    j, _ = _forward(b, p, n)
    v = j[:, _pair("shoulder")].mean(axis=1) - j[:, _pair("foot_index")].mean(axis=1)
    dist = np.linalg.norm(v, axis=1)
    line = np.arctan2(v[:, 1], np.linalg.norm(v[:, [0, 2]], axis=1))
    offset = line - (np.pi / 2 - p.pelvis_pitch)
    alpha = np.arcsin(np.clip(info.shoulder_h / dist, 0.0, 0.95))
    p.pelvis_pitch = np.pi / 2 - alpha + offset

    j, axes = _forward(b, p, n)
    j = j - j[:, _pair("foot_index")].mean(axis=1)[:, None]  # toes at the origin, floor y=0
    yaw = float(np.asarray(p.yaw))
    fwd = np.array([np.sin(yaw), 0.0, np.cos(yaw)])  # toward the head, horizontal
    left = np.array([np.cos(yaw), 0.0, -np.sin(yaw)])
    side = _SIDE[None, :, None]
    sh = j[:, _pair("shoulder")]  # [T, 2, 3]
    top = int(np.argmax(info.shoulder_h))
    hand = sh[top] + info.hand_ahead * fwd + side[0] * info.hand_wide * left
    hand[:, 1] = info.wrist_h
    ua, fa = b.upper_arm, b.forearm
    vec = hand[None] - sh
    d = np.linalg.norm(vec, axis=-1, keepdims=True)
    u = vec / d
    d = np.clip(d, 0.3 * (ua + fa), 0.999 * (ua + fa))
    # Elbow direction: toward the feet, flared outward, made orthogonal to u.
    want = -np.cos(info.flare) * fwd + np.sin(info.flare) * side * left
    w = want - (want * u).sum(-1, keepdims=True) * u
    w /= np.linalg.norm(w, axis=-1, keepdims=True)
    beta1 = np.arccos(np.clip((ua**2 + d**2 - fa**2) / (2 * ua * d), -1, 1))
    up_dir = np.cos(beta1) * u + np.sin(beta1) * w  # upper arm, unit
    elbow = sh + ua * up_dir
    fore_dir = hand[None] - elbow
    fore_dir /= np.linalg.norm(fore_dir, axis=-1, keepdims=True)
    # Into the chest frame, then invert upper arm = Rz(s*abd) Rx(-flex) (0, -1, 0) and
    # forearm = Rz(s*abd) Rx(-flex) Ry(s*rot) Rx(-elbow) (0, -1, 0); s = +1 left, -1 right.
    cx, cz = axes[:, 2], axes[:, 3]
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
    return j - j[:, _pair("foot_index")].mean(axis=1)[:, None], axes


def _jumping_jack(rng: np.random.Generator, t: np.ndarray, b: _Body
                  ) -> tuple[_Pose, np.ndarray, int]:
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


def simulate_workout_3d(
    name: str, rng: np.random.Generator, n_frames: int, fps: float = 30.0
) -> tuple[np.ndarray, np.ndarray, int]:
    """One person performing ``name`` in 3D world coordinates (no camera, no noise).

    Returns ``(joints [T, 33, 3], phase [T], reps)``: joints in metres in mediapipe33
    order, x = the person's left, y = up, z = forward, floor at y = 0; phase in cycles.
    """
    j, _, phase, reps = _simulate(name, rng, n_frames, fps)
    return j, phase, reps


def _simulate(name: str, rng: np.random.Generator, n_frames: int, fps: float
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """:func:`simulate_workout_3d` plus the body axes ``[T, 6, 3]`` (see :func:`_forward`)."""
    _check_name(name)
    t = np.arange(n_frames, dtype=np.float64) / fps
    b = _sample_body(rng)
    if name == "push_up":
        p, phase, reps, info = _push_up(rng, t, b)
        j, axes = _solve_push_up(b, p, info, n_frames)
    else:
        planted = None
        if name == "lunge":
            p, phase, reps, planted = _lunge(rng, t, b)
        else:
            p, phase, reps = _MOTIONS[name](rng, t, b)
        j, axes = _forward(b, p, n_frames)
        j = _ground(j, planted)
        j[..., 1] += np.broadcast_to(np.asarray(p.hop, dtype=np.float64), (n_frames,))[:, None]
    return j, axes, phase, reps


_MOTIONS = {
    "squat": _squat,
    "jumping_jack": _jumping_jack,
    "arm_circles": _arm_circles,
    "standing": _standing,
}


# --------------------------------------------------------------------------- camera


def _camera(
    rng: np.random.Generator, j: np.ndarray, axes: np.ndarray, side_view: bool
) -> tuple[np.ndarray, np.ndarray, float]:
    """Project world joints to image-normalised ``[T, 33, 3]``, visibility ``[T, 33]``; also
    returns the image aspect ratio (width / height).

    A pinhole camera at 2.2-4.5 m, 0.3-1.6 m high, looking at the person with small
    pitch/roll error; the person is turned by a random yaw about the vertical. x, y are
    divided by image width/height (y down); z is depth relative to the hip midpoint in
    x units (MediaPipe's convention). A zoom/crop then frames the person at a random
    size and place, as phone videos do.
    """
    yaw = 0.0 if side_view else rng.uniform(-70, 70) * _DEG
    r_yaw = _rot(1, yaw) if yaw else np.eye(3)
    n = j.shape[0]
    centre = r_yaw @ j[:, _pair("hip") + _pair("shoulder")].reshape(-1, 3).mean(axis=0)
    dist = rng.uniform(2.2, 4.5)
    cam_h = rng.uniform(0.3, 1.6)
    cam = np.array([centre[0], cam_h, centre[2] + dist])
    target_y = centre[1] + rng.normal(0, 0.1)
    pitch = np.arctan2(cam_h - target_y, dist) + rng.normal(0, 3) * _DEG
    # World -> camera: x right, y down, z along the view (camera looks along -z world).
    base = np.diag([1.0, -1.0, -1.0])
    r_cam = (_rot(2, rng.normal(0, 2) * _DEG) @ _rot(0, pitch)
             @ _rot(1, rng.normal(0, 3) * _DEG) @ base)
    # Turning the person by yaw = turning the camera the other way around them, so work
    # in the body's frame: one matrix product for all joints and frames.
    cam_b = r_yaw.T @ cam
    pc = ((j.reshape(-1, 3) - cam_b) @ (r_cam @ r_yaw).T).reshape(n, 33, 3)
    depth = np.maximum(pc[..., 2], 0.3)
    # Landscape, 4:3 or portrait (phone) frames; push-ups are filmed in landscape.
    u = 0.0 if side_view else rng.random()
    aspect = 16 / 9 if u < 0.6 else (4 / 3 if u < 0.8 else 9 / 16)
    f = 0.5 / np.tan(rng.uniform(50, 75) * _DEG / 2)  # focal length in image widths
    x = f * pc[..., 0] / depth
    y = f * aspect * pc[..., 1] / depth
    hip_depth = depth[:, _pair("hip")].mean(axis=1, keepdims=True)
    z = f * (depth - hip_depth) / hip_depth

    # Framing: zoom so the whole clip's bounding box fills a random share of the frame
    # (sometimes a little too much, so limbs leave the picture), then place it.
    lo = np.array([x.min(), y.min()])
    hi = np.array([x.max(), y.max()])
    fill = rng.uniform(0.55, 0.92) if rng.random() > 0.1 else rng.uniform(0.95, 1.1)
    zoom = fill / max(hi - lo)
    size = (hi - lo) * zoom
    room = np.maximum(1.0 - size, 0.0)
    corner = rng.uniform(0, 1, 2) * room + np.minimum(1.0 - size, 0.0) / 2
    x = (x - lo[0]) * zoom + corner[0]
    y = (y - lo[1]) * zoom + corner[1]
    z = z * zoom

    # Visibility: high where the joint's surface faces the camera, low when turned away.
    # The camera is far compared with the body, so one viewing direction serves all
    # joints: facing = cosine between each joint's normal and the way to the camera.
    to_cam = cam_b - r_yaw.T @ centre
    facing = (axes @ (to_cam / np.linalg.norm(to_cam))) @ _FACING_MIX
    vis = 0.5 + 0.47 * np.tanh(2.5 * (facing + 0.35))
    outside = (x < 0) | (x > 1) | (y < 0) | (y > 1)
    vis = np.where(outside, vis * 0.3, vis)
    return np.stack([x, y, z], axis=-1), vis, float(aspect)


# --------------------------------------------------------------------------- noise

_HAND_JOINTS = _pair("wrist") + _pair("pinky") + _pair("index") + _pair("thumb")
_FOOT_JOINTS = _pair("heel") + _pair("foot_index")
_JITTER = np.full(33, 0.02)  # per-joint jitter, as a share of the torso length
_JITTER[list(_FACE_IDX)] = 0.03
_JITTER[_HAND_JOINTS] = 0.05
_JITTER[_FOOT_JOINTS] = 0.035


def _observe(
    rng: np.random.Generator, kp: np.ndarray, vis: np.ndarray, fps: float, noise: float,
    drop_prob: float, scale: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Add detector noise to clean keypoints ``[T, 33, 3]`` and visibility ``[T, 33]``.

    ``scale`` is the torso length in the image (x units); jitter and drift are shares
    of it, so they do not depend on how large the person appears.
    """
    n = kp.shape[0]
    if noise > 0:
        s = noise * scale
        # Occluded joints are guessed by the detector, so they wobble more.
        sd = (s * _JITTER[None, :] * (1.0 + 1.5 * (1.0 - vis)))[..., None]
        jit = rng.standard_normal(kp.shape, dtype=np.float32) * (sd * np.array([1.0, 1.0, 3.0]))
        # Slow drift: shared (camera shake, tracker bias) and per joint, ~1 s knots.
        t = np.arange(n) / fps
        drift = _smooth(rng, t, 33 * 3, 0.5, 0.015 * s, shared=3, shared_gain=1.3)
        kp = kp + jit
        kp += drift.reshape(n, 33, 3)
        vis = vis + rng.standard_normal(vis.shape) * (0.04 * noise)
    vis = np.clip(vis, 0.0, 1.0)
    if drop_prob > 0:
        lost = rng.random(vis.shape) < drop_prob
        # A few person-less frames (detector misses), in short runs.
        for _ in range(rng.poisson(0.1 * drop_prob * n)):
            start = rng.integers(n)
            lost[start:start + rng.integers(1, 7)] = True
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
    (NaN, visibility 0); person-less runs of frames occur at a rate that scales with it.
    """
    _check_name(name)
    _check_args(min_frames, max_frames, fps, noise, drop_prob)
    n = int(rng.integers(min_frames, max_frames + 1))
    j, axes, phase, reps = _simulate(name, rng, n, fps)
    kp, vis, _ = _camera(rng, j, axes, side_view=(name == "push_up"))
    hips = kp[:, _pair("hip"), :2].mean(axis=1)
    shoulders = kp[:, _pair("shoulder"), :2].mean(axis=1)
    torso = float(np.median(np.linalg.norm(shoulders - hips, axis=1)))
    kp, vis = _observe(rng, kp, vis, fps, noise, drop_prob, torso)
    seq = PoseSequence(keypoints=kp, visibility=vis, fps=fps, layout="mediapipe33",
                       label=name, source=f"workouts/{name}")
    return WorkoutSample(sequence=seq, reps=reps, phase=phase.astype(np.float64))


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
    if not classes:
        raise ConfigError(f"classes must not be empty; known classes: {', '.join(WORKOUT_CLASSES)}")
    if n_per_class < 1:
        raise ConfigError(f"n_per_class must be at least 1, got {n_per_class}")
    _check_args(min_frames, max_frames, fps, noise, drop_prob)
    out = []
    for name in classes:
        c = WORKOUT_CLASSES.index(name)
        for i in range(n_per_class):
            rng = np.random.default_rng([seed, c, i])
            out.append(make_workout(name, rng, min_frames=min_frames, max_frames=max_frames,
                                    fps=fps, noise=noise, drop_prob=drop_prob))
    order = np.random.default_rng([seed, 1_000_003]).permutation(len(out))
    out = [out[k] for k in order]
    for i, s in enumerate(out):
        s.sequence.source = f"workouts/seed{seed}/{i}"
    return out
