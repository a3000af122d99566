"""The camera: a phone or webcam placed and aimed at random (:func:`draw_shot`) and the
pinhole projection of 3D joints to image-normalised keypoints with visibility.

The ranges are fitted to real footage: 46 home-workout clips through MediaPipe Pose
("real clips") and the Penn Action train split (annotated, 1258 clips), both measured
with the same statistics as the generator's output (torso length / image height, share
of joints out of frame, shoulder width / torso as a view-angle proxy, visibility of the
far-side joints).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from motionseq.data.workouts.body import DEG, FACING_MIX, mid, turn

# Image width / height and how often each occurs (real clips: 76 % 16:9, 17 % portrait
# 9:16, a few square; Penn Action: 60 % 16:9, 27 % 4:3).
_ASPECTS = np.array([16 / 9, 4 / 3, 1.0, 9 / 16])
_ASPECT_P = np.cumsum([0.62, 0.15, 0.05, 0.18])


def _occlusion_mix() -> np.ndarray:
    """``[6, 33]``: like :data:`FACING_MIX`, but limb joints count only their sideways
    component: an arm or leg is hidden behind the body when seen from the other side,
    not when seen from behind (MediaPipe sees a back view's limbs well). Face points
    keep the head's forward axis: a back view hides the face."""
    m = FACING_MIX.copy()
    m[[3, 5]] = 0.0  # chest and pelvis forward: limb joints only
    m[[2, 4]] /= 0.8
    return m


_OCCLUSION_MIX = _occlusion_mix()


@dataclass
class _Shot:
    """Camera and framing draws for one clip (angles in radians, lengths in metres)."""

    yaw: float  # the person's turn about the vertical, 0 = facing the camera
    height: float  # camera height over the floor
    aim: float  # aim point above the body centre
    pitch_err: float
    roll: float
    pan: float
    aspect: float  # image width / height
    focal: float  # focal length in image widths
    fill: float  # share of the frame the clip's bounding box fills (> 1: cut by the edge)
    place: np.ndarray  # [2] uniform in [0, 1): where the box sits (see project)


# Share of front (|yaw| < 25 deg), oblique (25-70), side (70-110) and back (110-180)
# views per class: how people film each exercise. Penn Action train views: jumping jacks
# 50 front of 56, jump rope 32 of 40, pull-ups 36 front / 36 back / 26 side, squats 89
# side of 114; real clips: jumping jacks, arm circles and jump rope all from the front,
# 3 of 8 squats and 1 of 3 lunges in profile. Every class keeps every view sometimes.
_VIEWS = {
    "squat": (0.2, 0.2, 0.5, 0.1),
    "lunge": (0.3, 0.3, 0.3, 0.1),
    "jumping_jack": (0.6, 0.25, 0.1, 0.05),
    "jump_rope": (0.55, 0.25, 0.15, 0.05),
    "arm_circles": (0.5, 0.3, 0.1, 0.1),
    "pull_up": (0.3, 0.15, 0.2, 0.35),
}
_VIEWS_ANY = (0.33, 0.24, 0.3, 0.13)  # other classes (standing, other ...)
# Exercises usually framed on the upper body, legs cut by the frame: share of clips.
# Penn Action train pull-ups: ankles in frame in 46-49 % of frames, knees in 73 %.
_TIGHT = {"pull_up": 0.5}
_VIEW_YAW = ((0, 25), (25, 70), (70, 110), (110, 180))  # degrees


def _draw_yaw(rng: np.random.Generator, side_view: bool, name: str | None) -> float:
    """The person's turn away from the camera (radians)."""
    if side_view:
        # Floor exercises lie side-on in their own pose (push-up: 50-110 deg); the
        # camera adds an oblique turn, not so much that the body points at the lens.
        return float(np.clip(rng.normal(0.0, 12.0), -25.0, 25.0)) * DEG
    p = np.cumsum(_VIEWS.get(name, _VIEWS_ANY))
    lo, hi = _VIEW_YAW[int(np.searchsorted(p, rng.random() * p[-1]))]
    return float(rng.choice([-1.0, 1.0]) * rng.uniform(lo, hi)) * DEG


def _draw_height(rng: np.random.Generator, side_view: bool) -> float:
    """Camera height over the floor (m): on the floor leaning on something, on a chair
    or table, on a shelf or tripod, or high up looking down."""
    p = (0.35, 0.75, 0.93) if side_view else (0.15, 0.5, 0.85)
    k = int(np.searchsorted(p, rng.random()))
    lo, hi = ((0.05, 0.4), (0.4, 1.1), (1.1, 1.7), (1.7, 2.4))[k]
    return float(rng.uniform(lo, hi))


def draw_shot(rng: np.random.Generator, side_view: bool, *, name: str | None = None
              ) -> _Shot:
    """A phone or webcam from floor level to above head height, aimed at the person with
    small pitch/pan errors and now and then a clear tilt (roll); front, oblique, side or
    back views as often as that exercise is filmed so (``name``: the class; see
    ``_VIEWS``), floor exercises (``side_view``: already side-on in their pose) from the
    side or obliquely; a phone's or webcam's lens; landscape, 4:3, square or portrait
    frames; the person usually well inside the frame, sometimes cut by its edge.

    The camera distance follows from lens, frame and fill (see :func:`project`), so
    close shots with strong perspective (about 1-2 m) come from wide lenses, portrait
    frames and tight framing, as they do with real phones.
    """
    yaw = _draw_yaw(rng, side_view, name)
    height, aim = _draw_height(rng, side_view), rng.normal(0, 0.1)
    pitch_err, pan = rng.normal(0, 3) * DEG, rng.normal(0, 3) * DEG
    # Mostly level; a phone leant against a wall or a chair is often tilted.
    roll = (rng.normal(0, 2) if rng.random() < 0.8
            else rng.choice([-1.0, 1.0]) * rng.uniform(4, 12)) * DEG
    aspect = float(_ASPECTS[np.searchsorted(_ASPECT_P, rng.random() * _ASPECT_P[-1])])
    # Field of view across the frame's long side: phone main cameras and webcams
    # (50-72 deg), now and then an ultra-wide lens (72-105 deg).
    fov = rng.uniform(50, 72) if rng.random() < 0.85 else rng.uniform(72, 105)
    # The horizontal one is the long side's, or the short side's in a portrait frame.
    focal = 0.5 / (np.tan(fov * DEG / 2) * min(aspect, 1.0))
    # Real clips: torso / image height p10/50/90 = 0.15/0.24/0.42 (Penn Action
    # 0.10/0.23/0.53); 22 % of clips have joints out of frame, most of them only a few
    # (out-of-frame share per cut clip median 2 %, a few 10-35 %: legs or arms cut).
    u = rng.random()
    if side_view:  # a body lying along the frame: real push-ups' torso 0.30 (Penn 0.16)
        fill = rng.uniform(0.4, 0.85) if u < 0.75 else rng.uniform(0.85, 1.15)
    else:
        fill = (rng.uniform(0.7, 1.0) if u < 0.7 else
                rng.uniform(1.0, 1.15) if u < 0.92 else rng.uniform(1.15, 1.5))
    if rng.random() < _TIGHT.get(name, 0.0):
        fill = rng.uniform(1.25, 1.8)  # framed on the upper body, the legs cut
    return _Shot(yaw, height, aim, pitch_err, roll, pan, aspect, float(focal), fill,
                 rng.uniform(0, 1, 2))


def _rotations(shots: list[_Shot], centres: np.ndarray, dist: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray]:
    """Each clip's world -> camera rotation ``[S, 3, 3]`` (acting on body-frame points)
    and camera position ``[S, 3]`` in the body frame, for cameras ``dist`` m away."""
    yaw = np.array([sh.yaw for sh in shots])
    cy, sy = np.cos(yaw), np.sin(yaw)
    # Work in each body's own frame: turning the person by yaw is turning the camera
    # the other way around them. Camera position there (centre + R_y^T (0, h - c_y, d)):
    up = np.array([sh.height for sh in shots]) - centres[:, 1]
    cam_b = centres + np.stack([-sy * dist, up, cy * dist], axis=1)
    pitch = (np.arctan2(up - np.array([sh.aim for sh in shots]), dist)
             + np.array([sh.pitch_err for sh in shots]))
    # World -> camera rotations [3, 3, S]: roll, pitch, pan, then axes flipped to
    # x right, y down, z along the view; times R_y(yaw) to act on body-frame points.
    m = np.broadcast_to(np.eye(3)[:, :, None], (3, 3, len(shots)))
    m = turn(turn(turn(m, 2, np.array([sh.roll for sh in shots])), 0, pitch), 1,
             np.array([sh.pan for sh in shots]))
    m[:, 1:] *= -1.0  # times diag(1, -1, -1): the camera looks along -z, y points down
    return turn(m, 1, yaw).transpose(2, 0, 1), cam_b


def _distances(j: np.ndarray, starts: np.ndarray, shots: list[_Shot], centres: np.ndarray
               ) -> np.ndarray:
    """Camera distance per clip ``[S]`` (m): where this lens frames the clip's body at
    the drawn fill. The body's extent across and up the view is that of the corners of
    its 3D box over the clip, seen from 2.5 m (pitch changes little with distance)."""
    m, _ = _rotations(shots, centres, np.full(len(shots), 2.5))
    lo = np.minimum.reduceat(j.min(axis=1), starts)  # [S, 3]
    hi = np.maximum.reduceat(j.max(axis=1), starts)
    pick = np.array(np.meshgrid([0, 1], [0, 1], [0, 1])).reshape(3, 8).T  # [8, 3]
    corners = np.where(pick[None] == 1, hi[:, None], lo[:, None])  # [S, 8, 3]
    across = np.einsum("sij,skj->ski", m[:, :2], corners)  # [S, 8, 2] along camera x, y
    ext = np.ptp(across, axis=1)
    aspect = np.array([sh.aspect for sh in shots])
    focal = np.array([sh.focal for sh in shots])
    fill = np.array([sh.fill for sh in shots])
    # Image width at distance d is d / focal metres, its height d / (focal * aspect).
    need = np.maximum(ext[:, 0], ext[:, 1] * aspect)
    return np.clip(focal * need / fill, 1.0, 7.0)


def project(j: np.ndarray, axes: np.ndarray, shots: list[_Shot], lengths: np.ndarray
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Film clips joined along time: keypoints ``[F, 33, 3]``, visibility ``[F, 33]`` and
    each frame's aspect ratio ``[F]``.

    Pinhole projection; x, y are divided by image width/height (y down); z is depth
    relative to the hip midpoint in x units (MediaPipe's convention). A zoom/crop then
    frames each clip's bounding box at its drawn size and place, as phone videos do;
    joints beyond the frame edge keep their position with a low visibility (MediaPipe
    guesses them).
    """
    n = j.shape[0]
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    centres = np.add.reduceat(0.5 * (mid(j, "hip") + mid(j, "shoulder")), starts,
                              axis=0) / lengths[:, None]  # [S, 3], body frame
    dist = _distances(j, starts, shots, centres)
    m, cam_b = _rotations(shots, centres, dist)
    shift = np.einsum("sij,sj->si", m, cam_b)
    pcs = [j[a:a + ln].reshape(-1, 3) @ m[k].T - shift[k]
           for k, (a, ln) in enumerate(zip(starts, lengths, strict=True))]
    # One viewing direction per clip (from the body centre), for visibility.
    to_cam = (cam_b - centres) / np.linalg.norm(cam_b - centres, axis=1, keepdims=True)
    pc = np.concatenate(pcs).reshape(n, 33, 3)

    def per_frame(v: np.ndarray) -> np.ndarray:
        return np.repeat(v, lengths, axis=0)[:, None]

    aspect = np.array([sh.aspect for sh in shots])
    focal = per_frame(np.array([sh.focal for sh in shots]))
    depth = np.maximum(pc[..., 2], 0.3)
    x = focal * pc[..., 0] / depth
    y = (focal * per_frame(aspect)) * pc[..., 1] / depth
    hip_depth = mid(depth, "hip")[:, None]
    z = focal * (depth - hip_depth) / hip_depth

    lo = np.stack([np.minimum.reduceat(x.min(axis=1), starts),
                   np.minimum.reduceat(y.min(axis=1), starts)], axis=1)  # [S, 2]
    hi = np.stack([np.maximum.reduceat(x.max(axis=1), starts),
                   np.maximum.reduceat(y.max(axis=1), starts)], axis=1)
    zoom = np.array([sh.fill for sh in shots]) / (hi - lo).max(axis=1)
    size = (hi - lo) * zoom[:, None]
    u = np.array([sh.place for sh in shots])  # [S, 2] uniform
    # Where the box sits in the room left (corner = place * room). Real clips put the
    # hips at x p10/50/90 = 0.41/0.51/0.67 of the width and y 0.45/0.54/0.77 of the
    # height: near the middle across, with more room above than below. A box taller
    # than the frame (negative room) is cut mostly at the legs: the camera is aimed at
    # the upper body (place near 0: the box's top at the frame's top).
    place = np.stack([0.2 + 0.6 * u[:, 0],
                      np.where(size[:, 1] > 1.0, u[:, 1] ** 2, 0.5 + 0.5 * u[:, 1])], axis=1)
    corner = place * (1.0 - size)
    zoom_t = per_frame(zoom)
    x = (x - per_frame(lo[:, 0])) * zoom_t + per_frame(corner[:, 0])
    y = (y - per_frame(lo[:, 1])) * zoom_t + per_frame(corner[:, 1])
    z = z * zoom_t
    vis = _visibility(x, y, axes, per_frame(to_cam)[:, 0])
    return np.stack([x, y, z], axis=-1), vis, per_frame(aspect)[:, 0]


def _visibility(x: np.ndarray, y: np.ndarray, axes: np.ndarray, to_cam: np.ndarray
                ) -> np.ndarray:
    """MediaPipe-like visibility ``[F, 33]`` from image positions ``x, y [F, 33]``, body
    axes ``[F, 6, 3]`` and the way to the camera ``[F, 3]``.

    A logit: high unless the joint is hidden behind the body (its outward side faces away
    from the camera) or beyond the frame edge. Real clips: near-side joints median 0.99
    (p10 0.88); far-side joints of side views median 0.78, p25 0.37, p10 0.16;
    out-of-frame joints median 0.08, p90 0.74.
    """
    # einsum, not @: a BLAS product this size would start threads for no gain.
    along = np.einsum("fkc,fc->fk", axes, to_cam)  # [F, 6]
    facing = np.einsum("fk,kj->fj", along, _OCCLUSION_MIX)  # [F, 33], in [-1, 1]
    logit = 4.5 + 4.0 * np.minimum(facing, 0.0)
    # Beyond the edge (in image units): just outside is still often seen, well outside
    # is a guess.
    out = np.maximum(np.maximum(-x, x - 1.0), np.maximum(-y, y - 1.0))
    logit = np.where(out > 0, logit - 3.0 - 60.0 * out, logit)
    return 1.0 / (1.0 + np.exp(-logit))
