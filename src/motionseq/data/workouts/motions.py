"""The per-class motions: joint-angle curves of each workout class, drawn from a
generator, and their 3D joints on the floor (clips of one class joined along time)."""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from motionseq.data.workouts.body import (
    DEG,
    SIDE,
    Body,
    Pose,
    forward_kinematics,
    leg_ik,
    mid,
    pair,
    sample_body,
)
from motionseq.data.workouts.timing import bump, curve, draw_phase, idle, per_rep, smooth

# Tempo ranges in repetitions (cycles) per second, pauses included. Each Penn Action
# clip holds one repetition, rest to rest, so 30 fps / clip length is its rate ("Penn");
# "real clips": dominant frequency of the class's key signal in MediaPipe tracks of
# home-workout videos (a handful per class).
_TEMPO = {
    "squat": (0.25, 0.6),  # Penn: median 0.34, 10-90 % 0.26-0.52; real clips 0.35-0.65
    # Penn: median 0.67, 10-90 % 0.42-1.0; real clips 0.18-0.73 (not below 0.3 here:
    # tests/test_reps.py counts >= 3 reps in whole sets of >= 8 s)
    "push_up": (0.3, 1.0),
    "jumping_jack": (0.7, 1.4),  # Penn: median 1.0, 10-90 % 0.88-1.18; real 0.47-1.26
    "lunge": (0.25, 0.6),  # real clips 0.42-0.48
    "arm_circles": (0.35, 1.5),  # real clip 0.42
    "sit_up": (0.2, 0.8),  # Penn: median 0.40, 10-90 % 0.20-0.74; real clips 0.28-0.70
    "pull_up": (0.2, 0.8),  # Penn: median 0.44, 10-90 % 0.24-0.75; real clips 0.21-0.40
    # hops: Penn head bob median 2.0 Hz, 10-90 % 1.3-2.7; real clips 2.1-2.2
    "jump_rope": (1.3, 2.8),
}
# The most of each repetition spent paused at rest and at the turning point (shares of
# its duration; draw_phase). Penn Action clips often rest at the start and end.
_HOLD = {"squat": (0.35, 0.15), "push_up": (0.4, 0.15), "jumping_jack": (0.1, 0.2),
         "lunge": (0.3, 0.15), "sit_up": (0.35, 0.15), "pull_up": (0.35, 0.2)}
# Share of the moving time spent going from rest to the turning point.
_DOWN = (0.4, 0.6)


def _arms_variant(rng: np.random.Generator, p: Pose, c: np.ndarray,
                  overhead: float = 0.0,
                  weights: tuple[float, float, float, float] = (0.3, 0.2, 0.15, 0.35)
                  ) -> None:
    """Arm carriage for the leg exercises: forward raise with the movement, hands
    clasped at the chest, hands on the hips, hands at the shoulders or behind the head
    (a barbell on the back or a prisoner squat: Penn Action squats keep the elbows at
    20-37 degrees between upper arm and forearm) or, with probability ``overhead``,
    arms held overhead. ``weights``: the shares of the first four."""
    u = rng.random()
    v = 4 if u < overhead else int(np.searchsorted(np.cumsum(weights)[:-1] / sum(weights),
                                                   rng.random()))
    if v == 0:
        p.sh_flex = c * rng.uniform(60, 95) * DEG + rng.uniform(0, 10) * DEG
        p.sh_abd = rng.uniform(0, 15) * DEG
        p.elbow = rng.uniform(0, 20) * DEG
    elif v == 1:
        p.sh_flex = rng.uniform(25, 45) * DEG
        p.sh_abd = rng.uniform(15, 30) * DEG
        p.sh_rot = -rng.uniform(40, 70) * DEG
        p.elbow = rng.uniform(100, 125) * DEG
    elif v == 2:
        p.sh_flex = -rng.uniform(0, 15) * DEG
        p.sh_abd = rng.uniform(35, 50) * DEG
        p.sh_rot = -rng.uniform(70, 95) * DEG
        p.elbow = rng.uniform(90, 115) * DEG
    elif v == 3:
        p.sh_flex = rng.uniform(-10, 15) * DEG
        p.sh_abd = rng.uniform(35, 70) * DEG
        p.sh_rot = rng.uniform(60, 95) * DEG  # external: forearms point up and back
        p.elbow = rng.uniform(110, 150) * DEG
    else:
        p.sh_flex = rng.uniform(0, 25) * DEG
        p.sh_abd = rng.uniform(150, 172) * DEG
        p.elbow = rng.uniform(0, 15) * DEG


def _squat(rng: np.random.Generator, t: np.ndarray, b: Body) -> tuple[Pose, np.ndarray, int]:
    """Hips sink and travel back (leg IK, feet flat), trunk leans forward; regular, sumo
    (wide stance, toes out, upright trunk) or jump squats (a hop out of each rep), half
    to deep, partial reps and pauses; arms per :func:`_arms_variant`. Returns the pose,
    phase and completed reps."""
    kind = int(np.searchsorted([0.65, 0.85], rng.random()))  # regular, sumo, jump
    hold = (0.0, 0.1) if kind == 2 else _HOLD["squat"]
    phase, reps = draw_phase(rng, t, _TEMPO["squat"], hold, _DOWN)
    c = curve(phase) * per_rep(rng, phase, 0.15, 0.5, 1.2)
    p = Pose()
    leg = b.thigh + b.shin
    # Half squat .. below parallel (Penn Action, mostly side views: knee flexion 112
    # degrees at the bottom in 2D, 10-90 %: 78-133; the knees reach hip height).
    drop = rng.uniform(0.32, 0.7) * leg * c
    back = drop * rng.uniform(0.3, 0.45)  # hips travel back as they sink
    p.thigh, p.knee = leg_ik(b, back, -(0.995 * leg - drop))
    # Penn Action (2D, mostly side views): the hip closes to 84 degrees between trunk
    # and thigh at the bottom (10-90 %: 58-116); the trunk leans 22 degrees (7-38).
    lean = rng.uniform(10, 30)
    if kind == 1:  # sumo: wide stance, toes out, upright trunk
        p.hip_abd = rng.uniform(18, 32) * DEG
        p.toe_out = rng.uniform(30, 50) * DEG
        lean *= 0.5
    else:
        p.hip_abd = rng.uniform(4, 14) * DEG
        p.toe_out = rng.uniform(8, 30) * DEG
    p.lumbar_pitch = c * lean * DEG
    p.chest_pitch = c * rng.uniform(0, 10) * DEG
    p.neck_pitch = -0.6 * (p.lumbar_pitch + p.chest_pitch)
    if kind == 2:  # jump squat: airborne around the top, on the toes
        near = np.abs(phase - np.round(phase))
        air = np.clip(1.0 - (near / 0.18) ** 2, 0.0, None)
        p.hop = rng.uniform(0.08, 0.25) * air
        p.foot = 35 * DEG * np.sqrt(air)
    # Penn Action train squats (wrist height against the shoulders, per clip median, in
    # torso lengths): 18 % overhead (< -0.4), 20 % above the shoulders, 47 % at them
    # (a barbell on the back), 14 % below
    _arms_variant(rng, p, c, overhead=0.18, weights=(0.12, 0.12, 0.08, 0.68))
    idle(rng, t, p, 0.6)
    return p, phase, reps


@dataclass
class _PushUp:
    """What the push-up (and plank) solve needs besides the pose: shoulder height over
    the floor ``[T]`` (m), wrist height (m), hand placement relative to the shoulders at
    the top (m forward, m wider), how far the elbows flare out (radians), and whether
    the body pivots on the knees instead of the toes (0/1)."""

    shoulder_h: np.ndarray
    wrist_h: float | np.ndarray
    hand_ahead: float | np.ndarray
    hand_wide: float | np.ndarray
    flare: float | np.ndarray
    on_knees: float | np.ndarray = 0.0


def _floor_legs(rng: np.random.Generator, p: Pose, on_knees: bool) -> None:
    """Legs of a body held up on the hands: nearly straight on the toes, or bent at the
    knees (shins up behind) for knee push-ups and planks. Penn Action push-ups: the more
    bent knee reaches 23 degrees (median, 2D), the hip 19."""
    if on_knees:
        p.knee = rng.uniform(70, 115) * DEG
        p.thigh = -rng.uniform(0, 15) * DEG
    else:
        p.knee = rng.uniform(0, 14) * DEG
        p.thigh = rng.normal(0, 5) * DEG  # hips sag (< 0) or pike
    p.hip_abd = rng.uniform(2, 8) * DEG
    p.foot_world = False
    p.foot = rng.uniform(0, 25) * DEG  # soles point back, toes on the floor


def _floor_yaw(rng: np.random.Generator, front: float) -> float:
    """The body's long axis seen side-on (50-110 degrees from the camera axis), or with
    probability ``front`` head-on, the head toward the camera (Penn Action train: 18 of
    104 push-ups filmed from the front)."""
    sign = rng.choice([-1.0, 1.0])
    if rng.random() < front:
        return sign * rng.uniform(0, 30) * DEG
    return sign * rng.uniform(50, 110) * DEG


def _push_up(rng: np.random.Generator, t: np.ndarray, b: Body
             ) -> tuple[Pose, np.ndarray, int, _PushUp]:
    """Plank pivoting on the toes (or on the knees: knee push-ups; or hands raised on a
    bench: incline push-ups); the shoulders sink from straight-arm height toward the
    floor, partial reps and pauses. Arm and body angles are solved in
    :func:`_solve_push_up`."""
    kind = int(np.searchsorted([0.7, 0.9], rng.random()))  # toes, knees, incline
    phase, reps = draw_phase(rng, t, _TEMPO["push_up"], _HOLD["push_up"], _DOWN)
    c = curve(phase) * per_rep(rng, phase, 0.1, 0.75, 1.1)
    p = Pose()
    arm = b.upper_arm + b.forearm
    wrist_h = 0.03 * b.height if kind != 2 else rng.uniform(0.25, 0.5)  # a bench, a step
    # Penn Action: elbow 168 degrees at the top (10-90 %: 157-177), 69 at the bottom
    # (46-97), in 2D.
    top = wrist_h + rng.uniform(0.94, 0.99) * arm
    bottom = wrist_h + rng.uniform(0.35, 0.6) * arm
    _floor_legs(rng, p, kind == 1)
    # The head drops and the hips sag or lag with each rep (Penn Action: the head moves
    # 0.94 torso lengths up and down, the hips over the ankles 0.52; median p5-p95).
    p.neck_pitch = (rng.uniform(-25, 10) + c * rng.uniform(0, 25)) * DEG
    p.thigh = p.thigh + c * rng.normal(0, 6) * DEG
    idle(rng, t, p, 0.3)
    # Set after idle: a plank does not sway about the vertical.
    p.yaw = _floor_yaw(rng, 0.15)
    p.lumbar_pitch = p.lumbar_pitch + rng.normal(0, 5) * DEG  # sag or pike
    info = _PushUp(shoulder_h=top - c * (top - bottom), wrist_h=wrist_h,
                   hand_ahead=rng.uniform(-0.03, 0.06), hand_wide=rng.uniform(-0.02, 0.14),
                   flare=rng.uniform(15, 60) * DEG, on_knees=float(kind == 1))
    return p, phase, reps, info


def _plank(rng: np.random.Generator, t: np.ndarray, b: Body
           ) -> tuple[Pose, np.ndarray, int, _PushUp]:
    """A held plank on the forearms or on straight arms (now and then on the knees):
    breathing, a little sway and a slow drift of the hips (sag or pike). No reps."""
    n = t.size
    p = Pose()
    wrist_h = 0.03 * b.height
    forearms = rng.random() < 0.55
    if forearms:  # elbows under the shoulders, forearms flat on the floor
        sh_h = wrist_h + rng.uniform(0.9, 1.0) * b.upper_arm
        ahead, wide = rng.uniform(0.8, 0.95) * b.forearm, rng.uniform(-0.1, 0.02)
        flare = rng.uniform(0, 15) * DEG
    else:
        sh_h = wrist_h + rng.uniform(0.93, 0.99) * (b.upper_arm + b.forearm)
        ahead, wide = rng.uniform(-0.03, 0.08), rng.uniform(-0.02, 0.12)
        flare = rng.uniform(10, 40) * DEG
    on_knees = rng.random() < 0.12
    _floor_legs(rng, p, on_knees)
    # Sag or pike that drifts slowly (a tiring plank), plus breathing in the trunk.
    p.thigh = p.thigh + smooth(rng, t, 1, 0.15, rng.uniform(1, 4) * DEG)[0]
    p.neck_pitch = rng.uniform(-25, 10) * DEG
    idle(rng, t, p, 0.4)
    p.yaw = _floor_yaw(rng, 0.15)
    p.lumbar_pitch = p.lumbar_pitch + rng.normal(0, 5) * DEG
    sway = smooth(rng, t, 1, 0.3, rng.uniform(0.003, 0.012))[0]
    info = _PushUp(shoulder_h=sh_h + sway, wrist_h=wrist_h, hand_ahead=ahead,
                   hand_wide=wide, flare=flare, on_knees=float(on_knees))
    return p, np.zeros(n), 0, info


def _two_link(vec: np.ndarray, ua: np.ndarray, fa: np.ndarray, want: np.ndarray
              ) -> tuple[np.ndarray, np.ndarray]:
    """Upper arm and forearm unit directions ``[..., 3]`` that reach ``vec`` (shoulder to
    hand, ``[..., 3]``, m) with segments ``ua``, ``fa`` (broadcast), the elbow bent toward
    ``want`` (a direction, made orthogonal to the reach)."""
    d = np.linalg.norm(vec, axis=-1, keepdims=True)
    u = vec / d
    d = np.clip(d, 0.3 * (ua + fa), 0.999 * (ua + fa))
    w = want - (want * u).sum(-1, keepdims=True) * u
    w /= np.linalg.norm(w, axis=-1, keepdims=True)
    beta1 = np.arccos(np.clip((ua**2 + d**2 - fa**2) / (2 * ua * d), -1, 1))
    up_dir = np.cos(beta1) * u + np.sin(beta1) * w
    fore_dir = vec - ua * up_dir
    fore_dir /= np.linalg.norm(fore_dir, axis=-1, keepdims=True)
    return up_dir, fore_dir


def _arm_angles(a: np.ndarray, q: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Shoulder flexion, abduction, rotation and elbow flexion ``[2, T]`` (radians) that
    point the upper arm along ``a`` and the forearm along ``q`` (unit ``[T, 2, 3]`` in the
    chest frame, side 0 = left).

    Inverts upper arm = Rz(s*abd) Rx(-flex) (0, -1, 0) and forearm = Rz(s*abd) Rx(-flex)
    Ry(s*rot) Rx(-elbow) (0, -1, 0); s = +1 left, -1 right.
    """
    flex = np.arcsin(np.clip(a[..., 2], -1, 1))
    abd_s = np.arctan2(a[..., 0], -a[..., 1])  # s * abduction
    # q in the upper-arm frame: Rx(flex) Rz(-s*abd) q.
    ca, sa = np.cos(abd_s), np.sin(abd_s)
    qx, qy = ca * q[..., 0] + sa * q[..., 1], -sa * q[..., 0] + ca * q[..., 1]
    cf, sf = np.cos(flex), np.sin(flex)
    qy, qz = cf * qy - sf * q[..., 2], sf * qy + cf * q[..., 2]
    elbow = np.arccos(np.clip(-qy, -1, 1))
    rot_s = np.arctan2(qx, qz)  # s * humeral rotation
    side = SIDE[:, None]
    return flex.T, abd_s.T * side, rot_s.T * side, elbow.T


def _solve_push_up(b: Body, p: Pose, info: _PushUp, lengths: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Body angle about the toes (or knees), and arm angles that keep the hands planted,
    for push-up or plank clips joined along time (``b``, ``p`` and ``info`` hold
    per-frame arrays).

    An FK pass (arms arbitrary) measures the pivot->shoulder distance and the angle
    between that line and the pelvis, which the legs and trunk shape fix; the body angle
    then follows from the wanted shoulder height. Turning that pass to the new angle
    gives the shoulders and chest axes; a two-link IK from each shoulder to its fixed
    hand point (elbow toward the feet, flared out) becomes shoulder/elbow angles, and a
    second FK pass is the result.
    Returns joints and body axes (see :func:`forward_kinematics`), the pivot on the floor
    below the origin.
    """
    n = int(lengths.sum())
    guess = 75 * DEG
    p.pelvis_pitch = guess
    j, axes = forward_kinematics(b, p, n)
    knees = (info.on_knees > 0.5)[:, None]
    # Toe tips touch the floor; a kneecap is about 0.03 body heights thick.
    pivot = np.where(knees, mid(j, "knee"), mid(j, "foot_index"))
    pivot_h = np.where(knees[:, 0], 0.03 * b.height, 0.0)
    v = mid(j, "shoulder") - pivot
    dist = np.linalg.norm(v, axis=1)
    line = np.arctan2(v[:, 1], np.linalg.norm(v[:, [0, 2]], axis=1))
    offset = line - (np.pi / 2 - guess)
    alpha = np.arcsin(np.clip((info.shoulder_h - pivot_h) / dist, 0.0, 0.95))
    p.pelvis_pitch = np.pi / 2 - alpha + offset

    # Pass 2 without a full FK: the same body pitched by (new - guess) about its hip
    # midpoint (the FK origin); only the shoulders, pivot and chest axes are needed.
    yaw = np.broadcast_to(np.asarray(p.yaw, dtype=np.float64), (n,))
    cy, sy = np.cos(yaw)[:, None], np.sin(yaw)[:, None]
    pts = np.concatenate([j[:, pair("shoulder")], pivot[:, None], axes[:, 2:4]], axis=1)
    # Into the un-yawed body frame (R_y^T), pitch about x, back (R_y); pts are [T, 5, 3].
    ux, uy, uz = cy * pts[..., 0] - sy * pts[..., 2], pts[..., 1], sy * pts[..., 0] + cy * pts[..., 2]
    delta = (p.pelvis_pitch - guess)[:, None]
    c, s_ = np.cos(delta), np.sin(delta)
    uy, uz = c * uy - s_ * uz, s_ * uy + c * uz
    pts = np.stack([cy * ux + sy * uz, uy, cy * uz - sy * ux], axis=-1)
    sh = pts[:, :2] - pts[:, 2:3]  # [T, 2, 3], pivot at the origin
    sh[..., 1] += pivot_h[:, None]  # floor at y = 0
    cx, cz = pts[:, 3], pts[:, 4]  # chest left and forward axes
    zero = np.zeros(n)
    fwd = np.stack([sy[:, 0], zero, cy[:, 0]], axis=-1)[:, None]  # toward the head
    left = np.stack([cy[:, 0], zero, -sy[:, 0]], axis=-1)[:, None]
    side = SIDE[None, :, None]
    # The body turns about the pivot, so the shoulders move toward the head as they sink
    # (a lot on the knees). Hands sit halfway between where the shoulders are at each
    # clip's highest and lowest frames, a bit ahead and wider.
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    top, bottom = (np.array([a + int(arg(info.shoulder_h[a:a + ln]))
                             for a, ln in zip(starts, lengths, strict=True)])
                   for arg in (np.argmax, np.argmin))
    hand = (np.repeat(0.5 * (sh[top] + sh[bottom]), lengths, axis=0)
            + info.hand_ahead[:, None, None] * fwd
            + side * info.hand_wide[:, None, None] * left)
    hand[..., 1] = info.wrist_h[:, None]
    ua, fa = b.upper_arm[:, None, None], b.forearm[:, None, None]
    # Elbow direction: toward the feet, flared outward.
    flare = info.flare[:, None, None]
    want = -np.cos(flare) * fwd + np.sin(flare) * side * left
    up_dir, fore_dir = _two_link(hand - sh, ua, fa, want)
    # Into the chest frame, then to joint angles.
    chest = np.stack([cx, np.cross(cz, cx), cz], axis=-1)  # [T, 3, 3], columns x y z
    a = np.einsum("tji,tsj->tsi", chest, up_dir)  # [T, 2, 3]
    q = np.einsum("tji,tsj->tsi", chest, fore_dir)
    p.sh_flex, p.sh_abd, p.sh_rot, p.elbow = _arm_angles(a, q)
    # Hand flat on the floor, fingers forward: bend the wrist by the forearm's tilt.
    tilt = np.arctan2((fore_dir * fwd).sum(-1), -fore_dir[..., 1])
    p.wrist = (np.pi / 2 - tilt).T
    j, axes = forward_kinematics(b, p, n)
    floor = np.where(knees, mid(j, "knee"), mid(j, "foot_index"))
    floor[:, 1] -= pivot_h
    return j - floor[:, None], axes


def _jumping_jack(rng: np.random.Generator, t: np.ndarray, b: Body
                  ) -> tuple[Pose, np.ndarray, int]:
    """Arms swing out and up to overhead (elbows straight or bent to a clap) while the
    legs open, with a small hop at each switch (on the toes while airborne)."""
    phase, reps = draw_phase(rng, t, _TEMPO["jumping_jack"], _HOLD["jumping_jack"], _DOWN)
    u = curve(phase)
    u = 0.5 * u + 0.5 * u * u * (3 - 2 * u)  # jumps snap between the two positions
    c = u * per_rep(rng, phase, 0.1, 0.75, 1.1)
    p = Pose()
    base = rng.uniform(5, 15)
    # Penn Action: wrists rise 1.7 torso lengths (median, 10-90 %: 1.3-2.0) and the
    # elbows bend to 115 degrees at some point of each clip (83-144); at the top the
    # elbows are 0.34 torso lengths over the shoulders (front views, Penn and real).
    p.sh_abd = np.minimum((base + c * (rng.uniform(130, 168) - base)) * DEG, 178 * DEG)
    p.sh_flex = rng.uniform(0, 20) * DEG
    # Front views show the bend: the forearms fold toward the head in the frontal
    # plane (Penn Action, front views: 115 degrees; straight-armed here gives 161).
    bent = rng.uniform(20, 80) if rng.random() < 0.8 else rng.uniform(0, 15)
    p.elbow = (rng.uniform(5, 25) + c * bent) * DEG
    p.sh_rot = c * bent / 80 * rng.uniform(40, 80) * DEG  # bent elbows: hands meet above
    # Feet together, then wide apart, landing with bent knees: in front views the
    # ankles go from 0.1 to 0.4-0.6 torso lengths off the midline and rise from 1.4-1.5
    # to 1.2 under the hips (Penn Action / real clips, medians); the 2D knee angle
    # reaches 163 degrees in Penn Action (10-90 %: 151-169).
    p.hip_abd = (rng.uniform(-3, 1) + c * rng.uniform(16, 26)) * DEG
    airborne = np.abs(np.sin(2 * np.pi * phase))  # in the air between the two stances
    p.knee = (rng.uniform(3, 8) + (1 - airborne) * rng.uniform(5, 15)
              + c * (1 - airborne) * rng.uniform(25, 55)) * DEG
    p.thigh = -0.5 * np.asarray(p.knee)
    p.foot = 20 * DEG * airborne
    p.toe_out = rng.uniform(10, 35) * DEG
    p.hop = rng.uniform(0.02, 0.08) * airborne
    idle(rng, t, p, 0.5)
    return p, phase, reps


def _lunge(rng: np.random.Generator, t: np.ndarray, b: Body
           ) -> tuple[Pose, np.ndarray, int, np.ndarray]:
    """Step lunge: one foot steps (forward, or back for a reverse lunge), both knees
    bend, the foot returns. Returns the pose, phase, reps and, per frame, the index
    (0 left / 1 right) of the foot that stays planted."""
    phase, reps = draw_phase(rng, t, _TEMPO["lunge"], _HOLD["lunge"], _DOWN)
    amp = per_rep(rng, phase, 0.1, 0.7, 1.15)
    u = curve(phase)
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
    pf = 45 * DEG * np.clip(gap / (0.4 * b.height), 0, 1) * (0.5 + 0.5 * sink)
    toe_len = 0.75 * b.foot
    rise = b.ankle_h * (np.cos(pf) - 1) + toe_len * np.sin(pf)
    th_f, kn_f = leg_ik(b, zf, -hip_h)
    th_b, kn_b = leg_ik(b, -zb, -(hip_h - rise))
    is_left_front = front == 0
    p = Pose()
    p.thigh = np.stack([np.where(is_left_front, th_f, th_b), np.where(is_left_front, th_b, th_f)])
    p.knee = np.stack([np.where(is_left_front, kn_f, kn_b), np.where(is_left_front, kn_b, kn_f)])
    p.foot = np.stack([np.where(is_left_front, 0.0, pf), np.where(is_left_front, pf, 0.0)])
    p.hip_abd = rng.uniform(1, 5) * DEG
    p.toe_out = rng.uniform(3, 15) * DEG
    p.lumbar_pitch = (rng.uniform(0, 8) + sink * rng.uniform(0, 10)) * DEG
    p.neck_pitch = -0.5 * np.asarray(p.lumbar_pitch)
    _arms_variant(rng, p, 0.3 * sink)
    idle(rng, t, p, 0.6)
    # Forward lunge: the back foot stays; reverse lunge: the front foot stays.
    planted = np.where(reverse, front, 1 - front)
    return p, phase, reps, planted


def _arm_circles(rng: np.random.Generator, t: np.ndarray, b: Body
                 ) -> tuple[Pose, np.ndarray, int]:
    """Arms held out to the side (~90 degrees abduction) trace small to large circles
    forward or backward: abduction and flexion follow cosine and sine of the phase."""
    phase, reps = draw_phase(rng, t, _TEMPO["arm_circles"])
    r = rng.uniform(12, 45) * DEG * per_rep(rng, phase, 0.1, 0.7, 1.2)
    direction = rng.choice([-1.0, 1.0])  # forward or backward circles
    ang = 2 * np.pi * phase
    p = Pose()
    p.sh_abd = rng.uniform(75, 100) * DEG + r * np.cos(ang)
    p.sh_flex = rng.uniform(-5, 15) * DEG + direction * r * np.sin(ang)
    p.elbow = rng.uniform(0, 15) * DEG
    p.hip_abd = rng.uniform(3, 10) * DEG
    p.toe_out = rng.uniform(5, 20) * DEG
    p.knee = rng.uniform(0, 6) * DEG
    p.thigh = -0.5 * np.asarray(p.knee)
    idle(rng, t, p, 0.8)
    return p, phase, reps


def _sit_up(rng: np.random.Generator, t: np.ndarray, b: Body) -> tuple[Pose, np.ndarray, int]:
    """Lying on the back, knees bent and feet flat on the floor: the trunk curls up to
    sitting and back (sit-ups) or only the shoulders lift (crunches). The spine curls
    first, then the hips flex; the feet stay planted (leg IK about the hip, which stays
    on the floor). Seen from the side mostly."""
    phase, reps = draw_phase(rng, t, _TEMPO["sit_up"], _HOLD["sit_up"], _DOWN)
    c = curve(phase) * per_rep(rng, phase, 0.12, 0.6, 1.1)
    p = Pose()
    # Penn Action: the trunk rises to a median 84 degrees over the floor (2D, 10-90 %:
    # 41-88) and the hip closes to 52 degrees between trunk and thigh (31-100).
    rise = rng.uniform(70, 100) if rng.random() < 0.8 else rng.uniform(20, 45)
    spine = min(rise, rng.uniform(25, 40))
    theta = rise * DEG * c  # trunk angle over the floor
    curl = np.minimum(theta, spine * DEG)
    p.pelvis_pitch = (rng.uniform(-93, -87) * DEG) + (theta - curl)  # < 0: lying back
    p.lumbar_pitch = 0.6 * curl
    p.chest_pitch = 0.4 * curl
    p.neck_pitch = (rng.uniform(5, 25) + c * rng.uniform(0, 15)) * DEG  # chin tucked
    # Feet planted: knee flexion lying down 80-125 degrees (Penn Action: 100-106 in 2D,
    # median, 10-90 %: 78-135); the hip joint 0.05-0.065 body heights over the floor.
    k = rng.uniform(80, 125) * DEG
    hip_h = rng.uniform(0.05, 0.065) * b.height
    reach = np.sqrt(b.thigh**2 + b.shin**2 + 2 * b.thigh * b.shin * np.cos(k))
    vy = b.ankle_h - hip_h
    vz = np.sqrt(max(reach**2 - vy**2, 1e-6))
    # The hip->ankle vector (vz toward the feet, vy up) in the pelvis frame.
    cp, sp = np.cos(p.pelvis_pitch), np.sin(p.pelvis_pitch)
    p.thigh, p.knee = leg_ik(b, -vy * sp + vz * cp, vy * cp + vz * sp)
    p.hip_abd = rng.uniform(0, 5) * DEG  # more would slide the feet as the hips flex
    p.toe_out = rng.uniform(0, 20) * DEG
    v = int(np.searchsorted([0.5, 0.75], rng.random()))
    if v == 0:  # hands behind the head, elbows out
        p.sh_abd = rng.uniform(110, 140) * DEG
        p.sh_flex = rng.uniform(10, 40) * DEG
        p.sh_rot = rng.uniform(60, 90) * DEG
        p.elbow = rng.uniform(120, 150) * DEG
    elif v == 1:  # arms crossed on the chest
        p.sh_flex = rng.uniform(20, 40) * DEG
        p.sh_abd = rng.uniform(10, 25) * DEG
        p.sh_rot = -rng.uniform(60, 80) * DEG
        p.elbow = rng.uniform(110, 135) * DEG
    else:  # reaching toward the knees
        p.sh_flex = (rng.uniform(30, 70) + c * rng.uniform(0, 30)) * DEG
        p.sh_abd = rng.uniform(5, 20) * DEG
        p.elbow = rng.uniform(0, 20) * DEG
    idle(rng, t, p, 0.3)
    # Penn Action train: 46 of 50 sit-ups filmed from the side; yaw 0 = feet toward the
    # camera.
    sign = rng.choice([-1.0, 1.0])
    p.yaw = sign * (rng.uniform(0, 30) if rng.random() < 0.1 else rng.uniform(60, 115)) * DEG
    return p, phase, reps


def _pull_up(rng: np.random.Generator, t: np.ndarray, b: Body
             ) -> tuple[Pose, np.ndarray, int, float]:
    """Hanging from a bar, hands above the shoulders: the body rises until the chin is at
    the bar as the elbows bend (a wide overhand grip with the elbows out, or a close
    chin-up grip with the elbows forward); legs hang straight, bent (ankles crossed) or
    a little forward. A two-link IK in the chest frame gives the arm angles; the clip is
    then hung by its hands (:func:`_hang`). Returns the pose, phase, reps and the
    clearance of the lowest joint over the floor (m)."""
    phase, reps = draw_phase(rng, t, _TEMPO["pull_up"], _HOLD["pull_up"], _DOWN)
    c = curve(phase) * per_rep(rng, phase, 0.12, 0.55, 1.1)
    n = t.size
    p = Pose()
    ua, fa = b.upper_arm, b.forearm
    arm = ua + fa
    if rng.random() < 0.6:  # wide overhand grip: elbows out to the side
        dx = rng.uniform(0.08, 0.3)
        e = rng.uniform(0, 30) * DEG
        want = np.array([np.cos(e), 0.0, np.sin(e)])
    else:  # chin-up: hands about shoulder width, elbows forward
        dx = rng.uniform(-0.06, 0.04)
        e = rng.uniform(10, 35) * DEG
        want = np.array([np.sin(e), 0.0, np.cos(e)])
    ahead = rng.uniform(-0.02, 0.12)  # the bar in front of the shoulders
    reach = np.sqrt(arm**2 - dx**2 - ahead**2)
    # Penn Action (2D): elbows at 158 degrees hanging (10-90 %: 136-170), 34 at the top
    # (15-63); the wrists end 0.09 torso lengths over the shoulders at the top (-0.08 to
    # 0.27): hanging nearly straight, the shoulders up to about the hands (chin over
    # the bar), as far as an elbow bent 150 degrees (0.3 arm lengths) allows.
    low = rng.uniform(0.9, 0.99) * reach
    high = max(rng.uniform(0.0, 0.25) * arm,
               np.sqrt(max((0.31 * arm) ** 2 - dx**2 - ahead**2, 0.0)))
    vec = np.empty((n, 2, 3))
    vec[..., 0] = SIDE * dx
    vec[..., 1] = (low - c * (low - high))[:, None]
    vec[..., 2] = ahead
    want = want * np.array([[1.0, 1.0, 1.0], [-1.0, 1.0, 1.0]])  # the right side mirrors x
    p.sh_flex, p.sh_abd, p.sh_rot, p.elbow = _arm_angles(*_two_link(vec, ua, fa, want))
    p.wrist = rng.uniform(-10, 10) * DEG
    # Penn Action train pull-ups: the angle between trunk and thigh moves by 12 degrees in
    # the median clip (25-75 %: 7-19) and by over 40 in 15 % of them (kipping: the knees
    # swing up as the body pulls).
    legs = int(np.searchsorted([0.47, 0.73, 0.85], rng.random()))
    if legs == 0:  # hanging straight
        p.knee, p.thigh = rng.uniform(0, 10) * DEG, -rng.uniform(0, 10) * DEG
    elif legs == 1:  # knees bent, ankles crossed behind
        p.knee, p.thigh = rng.uniform(50, 100) * DEG, -rng.uniform(0, 30) * DEG
    elif legs == 2:  # legs a little forward
        p.knee, p.thigh = rng.uniform(0, 25) * DEG, -rng.uniform(20, 50) * DEG
    else:  # kipping: hips and knees flex with each pull
        p.knee = (rng.uniform(0, 20) + c * rng.uniform(20, 80)) * DEG
        p.thigh = -(rng.uniform(0, 15) + c * rng.uniform(50, 100)) * DEG
    if legs < 3:  # the legs swing a little with the pull
        p.thigh = p.thigh - c * rng.uniform(0, 20) * DEG
    p.hip_abd = rng.uniform(0, 8) * DEG
    p.foot = rng.uniform(10, 40) * DEG  # toes point down
    # The body leans back a little at the top and swings gently.
    p.pelvis_pitch = (-c * rng.uniform(0, 15)
                      + smooth(rng, t, 1, 0.6, rng.uniform(0.5, 4))[0]) * DEG
    p.neck_pitch = -c * rng.uniform(0, 20) * DEG  # looks up at the bar
    idle(rng, t, p, 0.4)
    p.yaw = p.lumbar_roll = 0.0  # the hands on the bar keep the trunk from turning
    return p, phase, reps, float(rng.uniform(0.05, 0.5))


def _jump_rope(rng: np.random.Generator, t: np.ndarray, b: Body
               ) -> tuple[Pose, np.ndarray, int]:
    """Small fast hops over a turning rope: feet together or one at a time (a boxer
    skip), the knees giving on each landing, elbows near the trunk and the wrists
    circling at hip height once per hop. Phase: whole = mid ground contact, +0.5 = the
    top of a hop."""
    phase, reps = draw_phase(rng, t, _TEMPO["jump_rope"])
    p = Pose()
    frac = phase - np.floor(phase)
    x = (frac - 0.5) / (0.5 * rng.uniform(0.35, 0.6))  # 35-60 % of each hop in the air
    air = np.clip(1.0 - x * x, 0.0, None)  # a ballistic (parabolic) flight
    # Penn Action: the head bobs 0.31 torso lengths (median p5-p95 range, 10-90 %:
    # 0.13-0.53), hops plus the knees giving.
    p.hop = rng.uniform(0.03, 0.14) * air
    dip = np.clip(np.cos(2 * np.pi * phase), 0.0, None)
    # Relative to the hips (1.2-3.5 Hz band, Penn Action, median std in torso lengths):
    # ankles 0.06 and knees 0.04 up and down, wrists 0.063 up and down but 0.022 sideways,
    # the head 0.03: the knees tuck the feet up in flight and give on landing, the head
    # nods, the wrists circle in the body's sagittal plane.
    knee = (rng.uniform(3, 8) + rng.uniform(15, 35) * air + rng.uniform(3, 15) * dip) * DEG
    tuck = rng.uniform(10, 25) * DEG * air  # the thighs come forward in flight
    if rng.random() < 0.3:  # boxer skip: the free knee lifts on alternate hops
        lift = rng.uniform(15, 40) * DEG * np.sin(np.pi * phase)
        knee = np.stack([knee + np.maximum(lift, 0), knee + np.maximum(-lift, 0)])
    p.knee = knee
    p.thigh = -0.5 * knee - tuck
    p.foot = (rng.uniform(10, 25) + 15 * air) * DEG  # on the balls of the feet
    p.hip_abd = rng.uniform(0, 4) * DEG
    p.toe_out = rng.uniform(0, 15) * DEG
    # Penn Action (2D, mostly front views): elbows between 160 and 119 degrees (medians
    # of the clips' extremes): bent 20-60 degrees, the forearms out to the sides.
    ang = 2 * np.pi * phase + rng.uniform(0, 2 * np.pi)
    r = rng.uniform(6, 15) * DEG
    p.sh_abd = rng.uniform(10, 30) * DEG + 0.3 * r * np.cos(ang)
    p.sh_flex = rng.uniform(0, 25) * DEG + r * np.sin(ang)
    p.sh_rot = rng.uniform(20, 60) * DEG
    p.elbow = (rng.uniform(25, 55) + rng.uniform(5, 12) * np.sin(ang + rng.uniform(0, 6.3))) * DEG
    p.lumbar_pitch = (rng.uniform(0, 8) + rng.uniform(1, 4) * dip) * DEG
    p.neck_pitch = rng.uniform(5, 15) * DEG * dip
    idle(rng, t, p, 0.5)
    return p, phase, reps


def _standing(rng: np.random.Generator, t: np.ndarray, b: Body
              ) -> tuple[Pose, np.ndarray, int]:
    """Idle standing: sway, breathing, and now and then a weight shift or an arm move."""
    n = t.size
    dur = float(t[-1]) if n > 1 else 0.0
    p = Pose()
    p.hip_abd = np.full((2, n), rng.uniform(2, 8) * DEG)
    p.knee = np.full((2, n), rng.uniform(0, 5) * DEG)
    p.thigh = -0.5 * p.knee
    p.toe_out = rng.uniform(5, 20) * DEG
    p.sh_abd = rng.uniform(3, 12) * DEG
    p.sh_flex = rng.uniform(-5, 10) * DEG
    p.elbow = np.full((2, n), rng.uniform(5, 25) * DEG)
    sway = smooth(rng, t, 1, 0.4, 1.2 * DEG)[0]
    p.hip_abd = p.hip_abd + sway * SIDE[:, None]  # pelvis drifts over the feet
    if rng.random() < 0.45:  # weight shift onto one leg, the other knee relaxes
        s = bump(t, rng.uniform(-0.3, 0.8) * dur, rng.uniform(0.4, 1.0), rng.uniform(0.5, 4))
        d = rng.choice([-1.0, 1.0])
        shift = rng.uniform(3, 6) * DEG * s
        p.hip_abd = p.hip_abd + d * shift * SIDE[:, None]
        p.pelvis_roll = -d * 0.6 * shift
        relaxed = 0 if d > 0 else 1
        p.knee[relaxed] += 12 * DEG * s
        p.thigh = -0.5 * p.knee
    if rng.random() < 0.55:  # touch the face, fold the arms, hands on hips, check a phone
        s = bump(t, rng.uniform(-0.2, 0.8) * dur, rng.uniform(0.4, 0.9), rng.uniform(0.3, 2.5))
        kind = rng.integers(4)
        arm = rng.integers(2)
        both = kind in (1, 2)
        rows = [0, 1] if both else [arm]
        flex = {0: 45, 1: 30, 2: -10, 3: 40}[int(kind)] * DEG
        abd = {0: 15, 1: 10, 2: 40, 3: 10}[int(kind)] * DEG
        elb = {0: 135, 1: 100, 2: 100, 3: 90}[int(kind)] * DEG
        rot = {0: 0, 1: -70, 2: -85, 3: -30}[int(kind)] * DEG
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
        s = bump(t, rng.uniform(0, 0.8) * dur, rng.uniform(0.3, 0.7), rng.uniform(0.2, 2))
        p.neck_yaw = rng.uniform(-45, 45) * DEG * s
    idle(rng, t, p, 1.0)
    return p, np.zeros(n), 0


# --------------------------------------------------------------------------- other
# The background class: everyday motion from kinematics and common sense. Each behaviour
# adds to a standing pose whose angles are all per-frame arrays ([T] or [2, T] per side).


def _window(rng: np.random.Generator, t: np.ndarray, rise: tuple[float, float],
            hold: tuple[float, float]) -> np.ndarray:
    """A 0 -> 1 -> 0 envelope ``[T]`` at a random time, often cut by the clip's ends."""
    dur = float(t[-1]) if t.size > 1 else 0.0
    return bump(t, rng.uniform(-0.3, 0.6) * dur, rng.uniform(*rise), rng.uniform(*hold))


def _toward(a: np.ndarray, target: float, env: np.ndarray) -> None:
    """Blend the angle row ``a`` toward ``target`` by ``env`` in place."""
    a += (target - a) * env


def _walk(rng: np.random.Generator, t: np.ndarray, p: Pose, b: Body) -> None:
    """Walking (or marching) in place, arms swinging, now and then turning around."""
    f = rng.uniform(0.75, 1.1)  # strides per second: 1.5-2.2 steps
    env = np.ones(t.size) if rng.random() < 0.6 else _window(rng, t, (0.3, 0.8), (1, 4))
    ph = 2 * np.pi * f * t + rng.uniform(0, 2 * np.pi) + np.array([[0.0], [np.pi]])
    if rng.random() < 0.6:  # walking: thighs swing both ways, the knee bends in swing
        a = rng.uniform(12, 25) * DEG
        p.thigh += -a * np.sin(ph) * env
        p.knee += rng.uniform(30, 60) * DEG * np.clip(np.sin(ph + 1.2), 0, None) ** 2 * env
    else:  # marching: knees lift in turn
        a = rng.uniform(30, 60) * DEG
        lift = np.clip(np.sin(ph), 0, None) * env
        p.thigh += -a * lift
        p.knee += 1.3 * a * lift
    p.sh_flex += rng.uniform(8, 25) * DEG * np.sin(ph[::-1]) * env  # arms opposite the legs
    p.elbow += rng.uniform(5, 25) * DEG * env
    if rng.random() < 0.4:
        turn = bump(t, rng.uniform(-0.2, 0.6) * t[-1], rng.uniform(1, 3), 100.0)
        p.yaw += rng.choice([-1.0, 1.0]) * rng.uniform(90, 200) * DEG * turn


def _wave(rng: np.random.Generator, t: np.ndarray, p: Pose, b: Body) -> None:
    """One hand raised and waving (forearm swinging side to side)."""
    env = _window(rng, t, (0.3, 0.6), (1, 4))
    k = rng.integers(2)
    _toward(p.sh_abd[k], rng.uniform(100, 160) * DEG, env)
    _toward(p.sh_flex[k], rng.uniform(0, 40) * DEG, env)
    _toward(p.elbow[k], rng.uniform(20, 90) * DEG, env)
    wag = np.sin(2 * np.pi * rng.uniform(1.5, 3.0) * t + rng.uniform(0, 6.3)) * env
    p.sh_rot[k] += rng.uniform(15, 40) * DEG * wag
    p.elbow[k] += rng.uniform(0, 20) * DEG * wag


def _reach(rng: np.random.Generator, t: np.ndarray, p: Pose, b: Body) -> None:
    """One or both arms reach out or up for something and come back."""
    env = _window(rng, t, (0.4, 1.0), (0.2, 2))
    flex = rng.uniform(60, 175) * DEG
    for k in ([0, 1] if rng.random() < 0.35 else [int(rng.integers(2))]):
        _toward(p.sh_flex[k], flex + rng.normal(0, 5) * DEG, env)
        _toward(p.sh_abd[k], rng.uniform(0, 60) * DEG, env)
        _toward(p.elbow[k], rng.uniform(0, 25) * DEG, env)
    if flex > 140 * DEG and rng.random() < 0.5:  # up on the toes
        p.foot += rng.uniform(10, 25) * DEG * env


def _pick_up(rng: np.random.Generator, t: np.ndarray, p: Pose, b: Body) -> None:
    """Bending down (hinging at the hips, knees a little bent) to pick something up,
    one arm reaching to the floor."""
    env = _window(rng, t, (0.6, 1.5), (0.2, 1.5))
    hinge = rng.uniform(30, 60) * DEG * env
    p.pelvis_pitch += hinge
    p.thigh -= hinge  # the legs stay upright while the pelvis tips forward
    p.lumbar_pitch += rng.uniform(20, 40) * DEG * env
    bend = rng.uniform(5, 35) * DEG * env
    p.knee += bend
    p.thigh -= 0.5 * bend
    p.neck_pitch -= rng.uniform(0, 20) * DEG * env
    k = rng.integers(2)
    p.sh_flex[k] += rng.uniform(40, 80) * DEG * env


def _side_bend(rng: np.random.Generator, t: np.ndarray, p: Pose, b: Body) -> None:
    """Bending to the side, once or to and fro, the other arm over the head or not."""
    amp = rng.uniform(15, 35) * DEG
    if rng.random() < 0.5:
        d = rng.choice([-1.0, 1.0])
        env = _window(rng, t, (0.6, 1.5), (0.3, 2))
        roll = d * amp * env
    else:
        env = np.ones(t.size)
        roll = amp * np.sin(2 * np.pi * rng.uniform(0.2, 0.5) * t + rng.uniform(0, 6.3))
    p.lumbar_roll += roll
    if rng.random() < 0.5:  # the arm on the far side goes over the head
        over = np.clip(np.stack([-roll, roll]), 0, None) / amp
        p.sh_abd += (rng.uniform(130, 165) * DEG - p.sh_abd) * over
        p.elbow += rng.uniform(0, 40) * DEG * over


def _twist(rng: np.random.Generator, t: np.ndarray, p: Pose, b: Body) -> None:
    """Turning the torso left and right, arms out or bent at the chest."""
    f = rng.uniform(0.3, 0.8)
    env = np.ones(t.size) if rng.random() < 0.6 else _window(rng, t, (0.3, 0.8), (1, 4))
    w = np.sin(2 * np.pi * f * t + rng.uniform(0, 6.3)) * env
    p.chest_twist += rng.uniform(20, 45) * DEG * w
    p.yaw += rng.uniform(0, 10) * DEG * w
    if rng.random() < 0.5:
        p.sh_abd += (rng.uniform(60, 90) * DEG - p.sh_abd) * env
    else:
        p.sh_flex += (rng.uniform(40, 70) * DEG - p.sh_flex) * env
        p.elbow += (rng.uniform(80, 120) * DEG - p.elbow) * env


def _stretch(rng: np.random.Generator, t: np.ndarray, p: Pose, b: Body) -> None:
    """A held stretch: arms overhead, one arm across the chest, or a standing quad
    stretch (one foot held behind)."""
    env = _window(rng, t, (0.5, 1.2), (1, 4))
    v = rng.integers(3)
    if v == 0:
        p.sh_abd += (rng.uniform(140, 175) * DEG - p.sh_abd) * env
        p.elbow += (rng.uniform(0, 30) * DEG - p.elbow) * env
        p.lumbar_pitch -= rng.uniform(0, 12) * DEG * env
    elif v == 1:
        k = rng.integers(2)
        _toward(p.sh_flex[k], rng.uniform(80, 100) * DEG, env)
        _toward(p.sh_abd[k], -rng.uniform(20, 40) * DEG, env)
        _toward(p.elbow[k], rng.uniform(0, 20) * DEG, env)
        _toward(p.sh_flex[1 - k], rng.uniform(50, 80) * DEG, env)
        _toward(p.elbow[1 - k], rng.uniform(90, 120) * DEG, env)
    else:
        k = rng.integers(2)
        p.knee[k] += rng.uniform(120, 145) * DEG * env
        p.thigh[k] += rng.uniform(0, 15) * DEG * env
        _toward(p.sh_flex[k], -rng.uniform(20, 40) * DEG, env)
        _toward(p.elbow[k], rng.uniform(30, 60) * DEG, env)


def _sit_or_stand(rng: np.random.Generator, t: np.ndarray, p: Pose, b: Body) -> None:
    """Sitting down on a chair (or standing up from one): hips back and down to knee
    height, the trunk leaning forward while the weight moves; no return."""
    dur = float(t[-1]) if t.size > 1 else 0.0
    seat = bump(t, rng.uniform(-0.2, 0.6) * dur, rng.uniform(0.8, 2.0), 100.0)
    if rng.random() < 0.5:
        seat = 1.0 - seat  # standing up
    leg = b.thigh + b.shin
    # The ankle goes from under the hip to about a thigh length ahead and a shin below.
    dz = rng.uniform(0.8, 1.0) * b.thigh * seat
    dy = -(0.995 * leg + (rng.uniform(0.95, 1.05) * b.shin - 0.995 * leg) * seat)
    th, kn = leg_ik(b, dz, dy)
    th0, kn0 = leg_ik(b, 0.0, -0.995 * leg)
    p.thigh += th - th0
    p.knee += kn - kn0
    moving = 4 * seat * (1 - seat)  # leaning forward while the weight moves
    p.lumbar_pitch += (rng.uniform(25, 45) * moving + rng.uniform(0, 12) * seat) * DEG


def _gesture(rng: np.random.Generator, t: np.ndarray, p: Pose, b: Body) -> None:
    """Talking with the hands: forearms in front, moving irregularly; the head nods."""
    env = np.ones(t.size) if rng.random() < 0.7 else _window(rng, t, (0.3, 0.8), (1, 4))
    p.sh_flex += (rng.uniform(10, 35) * DEG - p.sh_flex) * env
    p.elbow += (rng.uniform(60, 100) * DEG - p.elbow) * env
    f = rng.uniform(0.8, 2.0)
    s = smooth(rng, t, 9, f, 1.0) * env
    p.sh_flex += rng.uniform(8, 20) * DEG * s[0:2]
    p.sh_abd += rng.uniform(5, 15) * DEG * s[2:4]
    p.elbow += rng.uniform(10, 25) * DEG * s[4:6]
    p.sh_rot += rng.uniform(10, 30) * DEG * s[6:8]
    p.neck_pitch += rng.uniform(2, 6) * DEG * s[8]


def _throw(rng: np.random.Generator, t: np.ndarray, p: Pose, b: Body) -> None:
    """An arm swing: a throw (wind up, fast swing forward, follow through, the trunk
    turning with it) or both arms swinging loosely back and forth."""
    if rng.random() < 0.5:
        swing = np.sin(2 * np.pi * rng.uniform(0.5, 1.2) * t + rng.uniform(0, 6.3))
        env = np.ones(t.size) if rng.random() < 0.5 else _window(rng, t, (0.3, 0.8), (1, 3))
        p.sh_flex += rng.uniform(20, 50) * DEG * swing * env
        p.chest_twist += rng.uniform(0, 15) * DEG * swing * env
        return
    k = rng.integers(2)
    dur = float(t[-1]) if t.size > 1 else 0.0
    t0 = rng.uniform(0.0, 0.7) * dur
    cock = bump(t, t0, rng.uniform(0.4, 0.8), rng.uniform(0, 0.3))
    release = bump(t, t0 + rng.uniform(0.5, 1.0), rng.uniform(0.12, 0.25),
                   rng.uniform(0, 0.2))
    _toward(p.sh_abd[k], rng.uniform(70, 100) * DEG, cock)
    _toward(p.sh_rot[k], rng.uniform(60, 100) * DEG, cock)
    _toward(p.elbow[k], rng.uniform(70, 100) * DEG, cock)
    _toward(p.sh_flex[k], rng.uniform(60, 110) * DEG, release)
    _toward(p.elbow[k], rng.uniform(0, 20) * DEG, release)
    d = 1.0 if k == 0 else -1.0
    p.chest_twist += d * rng.uniform(15, 35) * DEG * (release - cock)


def _swing(rng: np.random.Generator, t: np.ndarray, p: Pose, b: Body) -> None:
    """A two-handed swing of a bat, club or racket: a wide athletic stance, knees bent and
    the trunk leaning over the hands held together in front; the trunk winds up away from
    the target, then turns fast through it with the arms rising into the follow-through,
    the weight shifting from the back leg to the front one. Once to three times."""
    n = t.size
    dur = float(t[-1]) if n > 1 else 0.0
    wide = rng.uniform(8, 20) * DEG
    bend = rng.uniform(10, 35) * DEG
    p.hip_abd += wide
    p.knee += bend
    p.thigh -= 0.5 * bend
    p.lumbar_pitch += rng.uniform(5, 30) * DEG
    p.sh_flex += rng.uniform(20, 50) * DEG   # the hands low in front
    p.sh_abd -= 0.5 * p.sh_abd               # and together
    p.elbow += rng.uniform(0, 30) * DEG
    d = rng.choice([-1.0, 1.0])              # which way the swing goes
    lead = 0 if d > 0 else 1
    t0 = rng.uniform(-0.2, 0.5) * dur
    for _ in range(int(rng.integers(1, 4))):
        if t0 > dur:
            break
        wind = bump(t, t0, rng.uniform(0.4, 0.9), rng.uniform(0.0, 0.4))
        through = bump(t, t0 + rng.uniform(0.6, 1.2), rng.uniform(0.12, 0.3),
                       rng.uniform(0.1, 0.6))
        p.chest_twist += d * (rng.uniform(60, 90) * through - rng.uniform(30, 60) * wind) * DEG
        p.sh_flex += (rng.uniform(20, 60) * wind + rng.uniform(40, 100) * through) * DEG
        p.elbow[lead] += rng.uniform(20, 60) * DEG * wind
        shift = rng.uniform(5, 15) * DEG
        p.knee[1 - lead] += shift * wind     # the weight on the back leg, then the front
        p.knee[lead] += shift * through
        t0 += rng.uniform(1.5, 3.5)


def _fidget(rng: np.random.Generator, t: np.ndarray, p: Pose, b: Body) -> None:
    """Random smooth motion of every joint within comfortable ranges."""
    s = smooth(rng, t, 14, rng.uniform(0.3, 1.2), 1.0)
    a = rng.uniform(0.5, 1.0)
    p.sh_flex += a * 30 * DEG * s[0:2]
    p.sh_abd += a * 20 * DEG * np.abs(s[2:4])
    p.elbow += a * 35 * DEG * np.abs(s[4:6])
    p.sh_rot += a * 25 * DEG * s[6:8]
    bend = a * 15 * DEG * np.abs(s[8:10])
    p.knee += bend
    p.thigh -= 0.5 * bend
    p.lumbar_pitch += a * 10 * DEG * s[10]
    p.lumbar_roll += a * 6 * DEG * s[11]
    p.chest_twist += a * 12 * DEG * s[12]
    p.neck_yaw += a * 20 * DEG * s[13]


_BEHAVIOURS = (_walk, _wave, _reach, _pick_up, _side_bend, _twist, _stretch, _sit_or_stand,
               _gesture, _throw, _swing, _fidget)


def standing_pose(rng: np.random.Generator, n: int) -> Pose:
    """A relaxed standing pose whose angles are all per-frame arrays (``[T]``, or
    ``[2, T]`` per side): what the background behaviours add to."""
    p = Pose()
    for name in ("hip_abd", "knee", "thigh", "foot", "sh_abd", "sh_flex", "sh_rot", "elbow"):
        setattr(p, name, np.zeros((2, n)))
    for name in ("yaw", "pelvis_pitch", "lumbar_pitch", "lumbar_roll", "chest_twist",
                 "neck_pitch", "neck_yaw"):
        setattr(p, name, np.zeros(n))
    p.hip_abd += rng.uniform(2, 10) * DEG
    p.knee += rng.uniform(0, 8) * DEG
    p.thigh -= 0.5 * p.knee
    p.toe_out = rng.uniform(5, 25) * DEG
    p.sh_abd += rng.uniform(3, 15) * DEG
    p.sh_flex += rng.uniform(-5, 15) * DEG
    p.elbow += rng.uniform(5, 30) * DEG
    return p


def _other(rng: np.random.Generator, t: np.ndarray, b: Body) -> tuple[Pose, np.ndarray, int]:
    """Everyday motion that is none of the workouts (the background class): one to three
    of :data:`_BEHAVIOURS` on a standing pose with some random smooth joint motion.
    Built from common sense, not fitted to any data set. No reps."""
    n = t.size
    p = standing_pose(rng, n)
    k = int(np.searchsorted([0.55, 0.9], rng.random())) + 1
    chosen = [_BEHAVIOURS[i] for i in rng.choice(len(_BEHAVIOURS), size=k, replace=False)]
    if _sit_or_stand in chosen and _pick_up in chosen:
        chosen.remove(_pick_up)  # reaching for the floor from a chair: hands through it
    for behaviour in chosen:
        behaviour(rng, t, p, b)
    s = smooth(rng, t, 4, 0.6, rng.uniform(0.2, 0.6))  # a little motion everywhere
    p.sh_flex += 10 * DEG * s[0:2]
    p.elbow += 10 * DEG * s[2:4]
    p.elbow = np.clip(p.elbow, 0.0, 150 * DEG)
    p.knee = np.clip(p.knee, 0.0, 150 * DEG)
    idle(rng, t, p, 1.0)
    return p, np.zeros(n), 0


# --------------------------------------------------------------------------- 3D motion


def _ground(j: np.ndarray, planted: np.ndarray | None) -> np.ndarray:
    """Translate per frame so that the feet touch the floor (y = 0) and stay put.

    Horizontally the heel midpoint is pinned at the origin; with ``planted`` (a [T]
    array of 0 = left / 1 = right) the planted foot's toe pins the forward axis instead.
    """
    feet = j[:, pair("heel") + pair("foot_index")]
    heels = j[:, pair("heel")]
    anchor = heels.mean(axis=1)
    anchor[:, 1] = feet[..., 1].min(axis=1)
    if planted is not None:
        toes = j[:, pair("foot_index"), 2]
        anchor[:, 2] = np.take_along_axis(toes, planted[:, None], axis=1)[:, 0]
    return j - anchor[:, None]


def _hang(j: np.ndarray, lengths: np.ndarray, clearance: np.ndarray) -> np.ndarray:
    """Translate clips joined along time so that the hands hold a fixed bar: the wrist
    midpoint at the origin horizontally and at each clip's bar height, which puts the
    clip's lowest joint ``clearance [S]`` m over the floor."""
    j = j - mid(j, "wrist")[:, None]
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    low = np.minimum.reduceat(j[..., 1].min(axis=1), starts)
    j[..., 1] += np.repeat(clearance - low, lengths)[:, None]
    return j


@dataclass
class _Motion:
    """One clip's drawn motion: body, joint-angle curves and, per class, the foot that
    stays planted (lunge), the push-up / plank targets or the feet's clearance over the
    floor while hanging (pull-up)."""

    n: int
    phase: np.ndarray
    reps: int
    body: Body
    pose: Pose
    planted: np.ndarray | None = None
    push_up: _PushUp | None = None
    hang: float | None = None


def draw_motion(name: str, rng: np.random.Generator, n: int, fps: float) -> _Motion:
    """Body and joint-angle curves of one clip of ``name`` with ``n`` frames."""
    t = np.arange(n, dtype=np.float64) / fps
    b = sample_body(rng)
    if name in ("push_up", "plank"):
        p, phase, reps, info = (_push_up if name == "push_up" else _plank)(rng, t, b)
        return _Motion(n, phase, reps, b, p, push_up=info)
    if name == "lunge":
        p, phase, reps, planted = _lunge(rng, t, b)
        return _Motion(n, phase, reps, b, p, planted=planted)
    if name == "pull_up":
        p, phase, reps, clearance = _pull_up(rng, t, b)
        return _Motion(n, phase, reps, b, p, hang=clearance)
    p, phase, reps = _MOTIONS[name](rng, t, b)
    return _Motion(n, phase, reps, b, pose=p)


def _join_bodies(bodies: list[Body], lengths: np.ndarray) -> Body:
    """One body with per-frame ``[sum(lengths)]`` segment lengths."""
    return Body(**{f.name: np.repeat([getattr(b, f.name) for b in bodies], lengths)
                   for f in fields(Body)})


def _join_poses(poses: list[Pose], lengths: np.ndarray) -> Pose:
    """One pose for clips joined along time: each angle becomes ``[F]`` or ``[2, F]``,
    except constants shared by all clips, which stay scalars (zeros are then skipped)."""
    out = Pose(foot_world=poses[0].foot_world)
    ends = np.cumsum(lengths)
    for f in fields(Pose):
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


def motions_3d(motions: list[_Motion]) -> tuple[np.ndarray, np.ndarray]:
    """World joints ``[F, 33, 3]`` and body axes ``[F, 6, 3]`` of clips of one class,
    joined along time (``F`` = all their frames)."""
    lengths = np.array([m.n for m in motions])
    b = _join_bodies([m.body for m in motions], lengths)
    p = _join_poses([m.pose for m in motions], lengths)
    if motions[0].push_up is not None:
        infos = [m.push_up for m in motions]
        info = _PushUp(np.concatenate([i.shoulder_h for i in infos]), *(
            np.repeat([getattr(i, k) for i in infos], lengths)
            for k in ("wrist_h", "hand_ahead", "hand_wide", "flare", "on_knees")))
        return _solve_push_up(b, p, info, lengths)
    n = int(lengths.sum())
    j, axes = forward_kinematics(b, p, n)
    if motions[0].hang is not None:
        return _hang(j, lengths, np.array([m.hang for m in motions])), axes
    planted = (None if motions[0].planted is None
               else np.concatenate([m.planted for m in motions]))
    j = _ground(j, planted)
    j[..., 1] += np.broadcast_to(np.asarray(p.hop, dtype=np.float64), (n,))[:, None]
    return j, axes


_MOTIONS = {
    "squat": _squat,
    "jumping_jack": _jumping_jack,
    "arm_circles": _arm_circles,
    "sit_up": _sit_up,
    "jump_rope": _jump_rope,
    "standing": _standing,
    "other": _other,
}
