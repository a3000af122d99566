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

# Tempo ranges in repetitions (cycles) per second, from typical home-workout videos.
_TEMPO = {
    "squat": (0.35, 0.8),
    "push_up": (0.4, 1.0),
    "jumping_jack": (0.9, 1.6),
    "lunge": (0.3, 0.6),
    "arm_circles": (0.7, 1.8),
}


def _arms_variant(rng: np.random.Generator, p: Pose, c: np.ndarray) -> None:
    """Arm carriage for the leg exercises: forward raise with the movement, hands
    clasped at the chest, or hands on the hips."""
    v = rng.integers(3)
    if v == 0:
        p.sh_flex = c * rng.uniform(60, 95) * DEG + rng.uniform(0, 10) * DEG
        p.sh_abd = rng.uniform(0, 15) * DEG
        p.elbow = rng.uniform(0, 20) * DEG
    elif v == 1:
        p.sh_flex = rng.uniform(25, 45) * DEG
        p.sh_abd = rng.uniform(15, 30) * DEG
        p.sh_rot = -rng.uniform(40, 70) * DEG
        p.elbow = rng.uniform(100, 125) * DEG
    else:
        p.sh_flex = -rng.uniform(0, 15) * DEG
        p.sh_abd = rng.uniform(35, 50) * DEG
        p.sh_rot = -rng.uniform(70, 95) * DEG
        p.elbow = rng.uniform(90, 115) * DEG


def _squat(rng: np.random.Generator, t: np.ndarray, b: Body) -> tuple[Pose, np.ndarray, int]:
    """Hips sink and travel back (leg IK, feet flat), trunk leans forward, arms per
    :func:`_arms_variant`. Returns the pose, phase and completed reps."""
    phase, reps = draw_phase(rng, t, _TEMPO["squat"])
    c = curve(phase) * per_rep(rng, phase, 0.12, 0.65, 1.2)
    p = Pose()
    leg = b.thigh + b.shin
    drop = rng.uniform(0.32, 0.55) * leg * c  # half squat .. near parallel
    back = drop * rng.uniform(0.3, 0.45)  # hips travel back as they sink
    p.thigh, p.knee = leg_ik(b, back, -(0.995 * leg - drop))
    p.hip_abd = rng.uniform(4, 14) * DEG
    p.toe_out = rng.uniform(8, 30) * DEG
    p.lumbar_pitch = c * rng.uniform(15, 35) * DEG
    p.chest_pitch = c * rng.uniform(0, 15) * DEG
    p.neck_pitch = -0.6 * (p.lumbar_pitch + p.chest_pitch)
    _arms_variant(rng, p, c)
    idle(rng, t, p, 0.6)
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


def _push_up(rng: np.random.Generator, t: np.ndarray, b: Body
             ) -> tuple[Pose, np.ndarray, int, _PushUp]:
    """Plank pivoting on the toes; the shoulders sink from straight-arm height toward
    the floor. Arm and body angles are solved in :func:`_solve_push_up`."""
    phase, reps = draw_phase(rng, t, _TEMPO["push_up"])
    c = curve(phase) * per_rep(rng, phase, 0.12, 0.6, 1.15)
    p = Pose()
    arm = b.upper_arm + b.forearm
    wrist_h = 0.03 * b.height
    top = wrist_h + 0.97 * arm
    bottom = wrist_h + rng.uniform(0.38, 0.6) * arm
    p.thigh = rng.normal(0, 3) * DEG  # hips sag (< 0) or pike
    p.knee = rng.uniform(0, 6) * DEG
    p.hip_abd = rng.uniform(2, 8) * DEG
    p.foot_world = False
    p.foot = rng.uniform(0, 25) * DEG  # soles point back, toes on the floor
    p.neck_pitch = rng.uniform(-25, 10) * DEG
    idle(rng, t, p, 0.3)
    # A side-ish view: the body's long axis 50-110 degrees from the camera axis. Set
    # after idle: a plank does not sway about the vertical.
    p.yaw = rng.choice([-1.0, 1.0]) * rng.uniform(50, 110) * DEG
    p.lumbar_pitch = p.lumbar_pitch + rng.normal(0, 4) * DEG  # sag or pike
    info = _PushUp(shoulder_h=top - c * (top - bottom), wrist_h=wrist_h,
                   hand_ahead=rng.uniform(-0.03, 0.06), hand_wide=rng.uniform(0.0, 0.12),
                   flare=rng.uniform(15, 60) * DEG)
    return p, phase, reps, info


def _solve_push_up(b: Body, p: Pose, info: _PushUp, lengths: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Body angle about the toes, and arm angles that keep the hands planted, for
    push-up clips joined along time (``b``, ``p`` and ``info`` hold per-frame arrays).

    An FK pass (arms arbitrary) measures the toe->shoulder distance and the angle
    between that line and the pelvis, which the feet and trunk shape fix; the body angle
    then follows from the wanted shoulder height. Turning that pass to the new angle
    gives the shoulders and chest axes; a two-link IK from each shoulder to its fixed
    hand point (elbow toward the feet, flared out) becomes shoulder/elbow angles, and a
    second FK pass is the result.
    Returns joints and body axes (see :func:`forward_kinematics`), the toe midpoint at the origin.
    """
    n = int(lengths.sum())
    guess = 75 * DEG
    p.pelvis_pitch = guess
    j, axes = forward_kinematics(b, p, n)
    toe = mid(j, "foot_index")
    v = mid(j, "shoulder") - toe
    dist = np.linalg.norm(v, axis=1)
    line = np.arctan2(v[:, 1], np.linalg.norm(v[:, [0, 2]], axis=1))
    offset = line - (np.pi / 2 - guess)
    alpha = np.arcsin(np.clip(info.shoulder_h / dist, 0.0, 0.95))
    p.pelvis_pitch = np.pi / 2 - alpha + offset

    # Pass 2 without a full FK: the same body pitched by (new - guess) about its hip
    # midpoint (the FK origin); only the shoulders, toes and chest axes are needed.
    yaw = np.broadcast_to(np.asarray(p.yaw, dtype=np.float64), (n,))
    cy, sy = np.cos(yaw)[:, None], np.sin(yaw)[:, None]
    pts = np.concatenate([j[:, pair("shoulder")], toe[:, None], axes[:, 2:4]], axis=1)
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
    side = SIDE[None, :, None]
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
    p.sh_flex, p.sh_abd, p.sh_rot = flex.T, abd_s.T * SIDE[:, None], rot_s.T * SIDE[:, None]
    p.elbow = elbow_flex.T
    # Hand flat on the floor, fingers forward: bend the wrist by the forearm's tilt.
    tilt = np.arctan2((fore_dir * fwd).sum(-1), -fore_dir[..., 1])
    p.wrist = (np.pi / 2 - tilt).T
    j, axes = forward_kinematics(b, p, n)
    return j - mid(j, "foot_index")[:, None], axes


def _jumping_jack(rng: np.random.Generator, t: np.ndarray, b: Body
                  ) -> tuple[Pose, np.ndarray, int]:
    """Arms swing out and up to overhead while the legs open, with a small hop at each
    switch (on the toes while airborne)."""
    phase, reps = draw_phase(rng, t, _TEMPO["jumping_jack"])
    u = curve(phase)
    u = u * u * (3 - 2 * u)  # jumps snap between the two positions
    c = u * per_rep(rng, phase, 0.08, 0.85, 1.1)
    p = Pose()
    base = rng.uniform(5, 15)
    p.sh_abd = np.minimum((base + c * (rng.uniform(150, 172) - base)) * DEG, 178 * DEG)
    p.sh_flex = rng.uniform(0, 20) * DEG
    p.elbow = rng.uniform(5, 25) * DEG
    p.hip_abd = (rng.uniform(1, 4) + c * rng.uniform(10, 18)) * DEG
    airborne = np.abs(np.sin(2 * np.pi * phase))  # in the air between the two stances
    p.knee = (rng.uniform(3, 8) + 10 * (1 - airborne) * rng.uniform(0.3, 1.0)) * DEG
    p.thigh = -0.5 * np.asarray(p.knee)
    p.foot = 20 * DEG * airborne
    p.toe_out = rng.uniform(5, 20) * DEG
    p.hop = rng.uniform(0.02, 0.08) * airborne
    idle(rng, t, p, 0.5)
    return p, phase, reps


def _lunge(rng: np.random.Generator, t: np.ndarray, b: Body
           ) -> tuple[Pose, np.ndarray, int, np.ndarray]:
    """Step lunge: one foot steps (forward, or back for a reverse lunge), both knees
    bend, the foot returns. Returns the pose, phase, reps and, per frame, the index
    (0 left / 1 right) of the foot that stays planted."""
    phase, reps = draw_phase(rng, t, _TEMPO["lunge"])
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
    """Arms held out to the side (~90 degrees abduction) trace circles forward or
    backward: abduction and flexion follow cosine and sine of the phase."""
    phase, reps = draw_phase(rng, t, _TEMPO["arm_circles"])
    r = rng.uniform(12, 35) * DEG * per_rep(rng, phase, 0.1, 0.7, 1.2)
    direction = rng.choice([-1.0, 1.0])  # forward or backward circles
    ang = 2 * np.pi * phase
    p = Pose()
    p.sh_abd = rng.uniform(78, 95) * DEG + r * np.cos(ang)
    p.sh_flex = rng.uniform(-5, 10) * DEG + direction * r * np.sin(ang)
    p.elbow = rng.uniform(0, 15) * DEG
    p.hip_abd = rng.uniform(3, 10) * DEG
    p.toe_out = rng.uniform(5, 20) * DEG
    p.knee = rng.uniform(0, 6) * DEG
    p.thigh = -0.5 * np.asarray(p.knee)
    idle(rng, t, p, 0.8)
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


@dataclass
class _Motion:
    """One clip's drawn motion: body, joint-angle curves and, per class, the foot that
    stays planted (lunge) or the push-up targets."""

    n: int
    phase: np.ndarray
    reps: int
    body: Body
    pose: Pose
    planted: np.ndarray | None = None
    push_up: _PushUp | None = None


def draw_motion(name: str, rng: np.random.Generator, n: int, fps: float) -> _Motion:
    """Body and joint-angle curves of one clip of ``name`` with ``n`` frames."""
    t = np.arange(n, dtype=np.float64) / fps
    b = sample_body(rng)
    if name == "push_up":
        p, phase, reps, info = _push_up(rng, t, b)
        return _Motion(n, phase, reps, b, p, push_up=info)
    planted = None
    if name == "lunge":
        p, phase, reps, planted = _lunge(rng, t, b)
    else:
        p, phase, reps = _MOTIONS[name](rng, t, b)
    return _Motion(n, phase, reps, b, pose=p, planted=planted)


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
            for k in ("wrist_h", "hand_ahead", "hand_wide", "flare")))
        return _solve_push_up(b, p, info, lengths)
    n = int(lengths.sum())
    j, axes = forward_kinematics(b, p, n)
    planted = (None if motions[0].planted is None
               else np.concatenate([m.planted for m in motions]))
    j = _ground(j, planted)
    j[..., 1] += np.broadcast_to(np.asarray(p.hop, dtype=np.float64), (n,))[:, None]
    return j, axes


_MOTIONS = {
    "squat": _squat,
    "jumping_jack": _jumping_jack,
    "arm_circles": _arm_circles,
    "standing": _standing,
}
