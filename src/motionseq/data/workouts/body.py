"""The body model: a random adult's segment lengths (:class:`Body`), joint angles over
time (:class:`Pose`) and forward kinematics to the 33 mediapipe33 joints in metres
(x = the person's left, y = up, z = forward), with each joint's outward normal."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from motionseq.skeleton import get_layout

_LAYOUT = get_layout("mediapipe33")
_IDX = {name: _LAYOUT.index(name) for name in _LAYOUT.joints}
DEG = np.pi / 180.0
# Left/right sign: left-side offsets point along +x, right-side ones along -x.
SIDE = np.array([1.0, -1.0])

# Face points in units of head radius, in the head frame (x left, y up, z forward).
_FACE = {
    "nose": (0.0, -0.10, 1.10),
    "left_eye_inner": (0.20, 0.20, 0.97), "right_eye_inner": (-0.20, 0.20, 0.97),
    "left_eye": (0.36, 0.22, 0.92), "right_eye": (-0.36, 0.22, 0.92),
    "left_eye_outer": (0.52, 0.20, 0.82), "right_eye_outer": (-0.52, 0.20, 0.82),
    "left_ear": (0.88, 0.02, 0.05), "right_ear": (-0.88, 0.02, 0.05),
    "mouth_left": (0.28, -0.55, 0.90), "mouth_right": (-0.28, -0.55, 0.90),
}
FACE_IDX = np.array([_IDX[k] for k in _FACE])
_FACE_OFF = np.array(list(_FACE.values()))
# How much each face point looks sideways (0 = straight ahead, 1 = to its side).
_FACE_SIDE = np.array([0.0, 0.25, -0.25, 0.4, -0.4, 0.55, -0.55, 0.95, -0.95, 0.3, -0.3])

# Hand points in units of hand length, in the forearm frame of the left hand (fingers
# along -y, thumb side +z, medial -x); the right hand mirrors x.
_HAND = {"pinky": (-0.02, -0.45, -0.12), "index": (-0.02, -0.50, 0.12),
         "thumb": (-0.06, -0.30, 0.22)}
_HAND_OFF = np.array(list(_HAND.values()))


def pair(joint: str) -> list[int]:
    return [_IDX["left_" + joint], _IDX["right_" + joint]]


def mid(a: np.ndarray, joint: str) -> np.ndarray:
    """Midpoint of the left and right ``joint`` of ``a [T, 33, ...]``, ``[T, ...]``
    (two integer-indexed views: cheaper than fancy indexing and a mean)."""
    left, right = pair(joint)
    return 0.5 * (a[:, left] + a[:, right])


@dataclass
class Body:
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


def sample_body(rng: np.random.Generator) -> Body:
    """A random adult: Drillis & Contini segment proportions times height (trunk and arms
    adjusted to where pose estimators put the joints), with jitter."""
    h = float(np.clip(rng.normal(1.70, 0.09), 1.50, 1.95))
    # Per-person proportion jitter (~3.5 %), so no two bodies share ratios exactly.
    jit = rng.normal(1.0, 0.035, 13)
    # Joints where pose estimators put them, not bone landmarks. Upright frames, lengths
    # over the torso (shoulder midpoint to hip midpoint): leg (thigh + shin) 1.38-1.47 in
    # Penn Action (class medians), 1.44-1.62 in MediaPipe tracks of real clips (1.83 with
    # the anthropometric 0.288 h torso); arm (upper arm + forearm) 0.85-0.99 and 0.94-0.99
    # (was 1.24); nose above the shoulders 0.32-0.46 and 0.35-0.49. Hence a longer
    # trunk (0.34 h) and shorter arms. Shoulder width / hip width: 1.35 in Penn Action's
    # front views (jumping jacks, median), ~1.65 in the real clips (was 2.1); shoulder
    # width / torso 0.58 (10-90 %: 0.45-0.71).
    return Body(
        height=h, thigh=0.245 * h * jit[0], shin=0.246 * h * jit[1],
        upper_arm=0.175 * h * jit[2], forearm=0.137 * h * jit[3], hand=0.108 * h * jit[4],
        lumbar=0.155 * h * jit[5], thoracic=0.185 * h * jit[6], neck=0.100 * h * jit[7],
        head=0.052 * h * jit[8], hip_half=0.066 * h * jit[9],
        shoulder_half=0.100 * h * jit[10], ankle_h=0.039 * h * jit[11],
        foot=0.152 * h * jit[12],
    )


_Angle = float | np.ndarray  # scalar, [T] or [2, T]


@dataclass
class Pose:
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


def turn(r: np.ndarray, axis: int, angle: float | np.ndarray) -> np.ndarray:
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


# Order in which forward_kinematics builds the joints; _BUILD_INV maps them to mediapipe33 order.
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
    m[0, FACE_IDX] = _FACE_SIDE * _FACE_NORM
    m[1, FACE_IDX] = (1.0 - np.abs(_FACE_SIDE)) * _FACE_NORM
    groups = ((2, ("shoulder", "elbow", "wrist", "pinky", "index", "thumb")),
              (4, ("hip", "knee", "ankle", "heel", "foot_index")))
    for row, names in groups:
        for name in names:
            left, right = pair(name)
            m[row, left], m[row, right] = 0.8, -0.8
            m[row + 1, left] = m[row + 1, right] = 0.6
    return m


FACING_MIX = _facing_mix()


def forward_kinematics(b: Body, p: Pose, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Forward kinematics with the hip midpoint at the origin, for ``n`` frames (one clip,
    or several clips joined along time with per-frame ``[T]`` body lengths).

    Returns joints ``[T, 33, 3]`` (metres) and body axes ``[T, 6, 3]`` (head, chest and
    pelvis left and forward unit vectors; with :data:`FACING_MIX` they give each joint's
    outward normal, used to tell which joints face the camera).

    Internally rotations are ``[3, 3, T]`` or ``[3, 3, 2, T]`` (per side) and points
    ``[3, T]`` or ``[3, 2, T]``: frames last keeps every array operation contiguous.
    """
    side = SIDE[:, None]  # [2, 1]: +1 left, -1 right

    def sided(v: _Angle) -> np.ndarray:
        return np.asarray(v, dtype=np.float64) * side

    def col(r: np.ndarray, k: int) -> np.ndarray:
        return r[:, k]

    # Trunk chain: pelvis -> lumbar -> chest -> head.
    r_pel = np.broadcast_to(np.eye(3)[:, :, None], (3, 3, n))
    r_pel = turn(turn(turn(r_pel, 1, p.yaw), 0, p.pelvis_pitch), 2, p.pelvis_roll)
    r_lum = turn(turn(r_pel, 0, p.lumbar_pitch), 2, p.lumbar_roll)
    r_chest = turn(turn(r_lum, 0, p.chest_pitch), 1, p.chest_twist)
    top = col(r_lum, 1) * b.lumbar + col(r_chest, 1) * b.thoracic  # shoulder midpoint
    r_head = turn(turn(turn(r_chest, 0, p.neck_pitch), 1, p.neck_yaw), 2, p.neck_roll)
    head_c = top + col(r_head, 1) * b.neck + col(r_head, 2) * (0.15 * b.head)
    off = _FACE_OFF[..., None] * b.head  # [11, 3, T or 1]
    face = head_c[:, None] + sum(col(r_head, k)[:, None] * off[:, k] for k in range(3))

    # Arms: shoulder (abduction, flexion, rotation) -> elbow flexion -> wrist -> hand.
    chest2 = r_chest[:, :, None]  # [3, 3, 1, T], broadcasts over the two sides
    r_ua = turn(turn(turn(chest2, 2, sided(p.sh_abd)), 0, -np.asarray(p.sh_flex)),
                1, sided(p.sh_rot))
    # A raised arm lifts its shoulder (the shoulder blade turns up): with the arms
    # overhead the nose is 1.27-1.30 torso lengths over the hips instead of 1.45-1.47
    # (real clips and Penn Action, jumping jacks), about 0.04 body heights of lift.
    raised = -(col(r_ua, 1) * col(chest2, 1)).sum(axis=0)  # [2, T]: 1 = arm straight up
    lift = 0.04 * b.height * np.clip((raised - 0.3) / 0.7, 0.0, 1.0)
    sh = (top[:, None] + col(chest2, 0) * (b.shoulder_half * side)
          + col(chest2, 1) * (lift - 0.02 * b.height))
    elbow = sh - col(r_ua, 1) * b.upper_arm
    r_fa = turn(r_ua, 0, -np.asarray(p.elbow))
    wrist = elbow - col(r_fa, 1) * b.forearm
    r_hand = turn(r_fa, 0, -np.asarray(p.wrist))
    hand_off = _HAND_OFF[..., None] * b.hand  # [3 points, 3, T or 1]
    mirror = SIDE[:, None, None]  # [2 sides, 1, 1]: the right hand mirrors x
    hand = (wrist[:, :, None]
            + col(r_hand, 0)[:, :, None] * (hand_off[:, 0] * mirror)
            + col(r_hand, 1)[:, :, None] * hand_off[:, 1]
            + col(r_hand, 2)[:, :, None] * hand_off[:, 2])  # [3, 2, 3 points, T]

    # Legs: hip (abduction, pitch) -> knee flexion -> foot.
    pel2 = r_pel[:, :, None]
    hips = col(pel2, 0) * (b.hip_half * side)
    r_th = turn(turn(pel2, 2, sided(p.hip_abd)), 0, p.thigh)
    knee = hips - col(r_th, 1) * b.thigh
    r_sh = turn(r_th, 0, p.knee)
    ankle = knee - col(r_sh, 1) * b.shin
    foot = np.asarray(p.foot, dtype=np.float64)
    if p.foot_world:
        # Choose the ankle angle that gives the requested foot pitch over the floor.
        foot = foot - (np.asarray(p.pelvis_pitch) + np.asarray(p.thigh) + np.asarray(p.knee))
    r_ft = turn(turn(r_sh, 0, foot), 1, sided(p.toe_out))
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


def leg_ik(b: Body, dz: np.ndarray, dy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Thigh pitch and knee flexion that put the ankle at ``(dz forward, dy up)`` from the
    hip (sagittal plane, knee bending forward). Arrays broadcast; radians."""
    l1, l2 = b.thigh, b.shin
    d = np.clip(np.hypot(dz, dy), 0.35 * (l1 + l2), 0.999 * (l1 + l2))
    knee = np.pi - np.arccos(np.clip((l1**2 + l2**2 - d**2) / (2 * l1 * l2), -1, 1))
    alpha = np.arctan2(dz, -dy)  # hip->ankle line, forward of vertical
    beta = np.arccos(np.clip((l1**2 + d**2 - l2**2) / (2 * l1 * d), -1, 1))
    return -(alpha + beta), knee
