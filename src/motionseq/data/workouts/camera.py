"""The camera: a phone or webcam placed and aimed at random (:func:`draw_shot`) and the
pinhole projection of 3D joints to image-normalised keypoints with visibility."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from motionseq.data.workouts.body import DEG, FACING_MIX, mid, turn


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


def draw_shot(rng: np.random.Generator, side_view: bool) -> _Shot:
    """A phone or webcam at 2.2-4.5 m, 0.3-1.6 m high, aimed at the person with small
    pitch/roll/pan errors; landscape, 4:3 or portrait frames (push-ups: landscape, and
    their side-ish view comes from the pose)."""
    yaw = 0.0 if side_view else rng.uniform(-70, 70) * DEG
    dist, height, aim = rng.uniform(2.2, 4.5), rng.uniform(0.3, 1.6), rng.normal(0, 0.1)
    pitch_err, roll, pan = rng.normal(0, 3) * DEG, rng.normal(0, 2) * DEG, rng.normal(0, 3) * DEG
    u = 0.0 if side_view else rng.random()
    aspect = 16 / 9 if u < 0.6 else (4 / 3 if u < 0.8 else 9 / 16)
    focal = 0.5 / np.tan(rng.uniform(50, 75) * DEG / 2)
    # Sometimes a little too tight, so that limbs leave the picture.
    fill = rng.uniform(0.55, 0.92) if rng.random() > 0.1 else rng.uniform(0.95, 1.1)
    return _Shot(yaw, dist, height, aim, pitch_err, roll, pan, aspect, focal, fill,
                 rng.uniform(0, 1, 2))


def project(j: np.ndarray, axes: np.ndarray, shots: list[_Shot], lengths: np.ndarray
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Film clips joined along time: keypoints ``[F, 33, 3]``, visibility ``[F, 33]`` and
    each frame's aspect ratio ``[F]``.

    Pinhole projection; x, y are divided by image width/height (y down); z is depth
    relative to the hip midpoint in x units (MediaPipe's convention). A zoom/crop then
    frames each clip's bounding box at its drawn size and place, as phone videos do.
    """
    n = j.shape[0]
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    centres = np.add.reduceat(0.5 * (mid(j, "hip") + mid(j, "shoulder")), starts,
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
    m = turn(turn(turn(m, 2, per_clip("roll")), 0, pitch), 1, per_clip("pan"))
    m[:, 1:] *= -1.0  # times diag(1, -1, -1): the camera looks along -z, y points down
    m = turn(m, 1, yaw).transpose(2, 0, 1)  # [S, 3, 3]
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
    hip_depth = mid(depth, "hip")[:, None]
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
    facing = np.einsum("fk,kj->fj", along, FACING_MIX)
    u = 2.5 * (facing + 0.35)
    vis = 0.5 + 0.47 * u / np.sqrt(1.0 + u * u)  # a sigmoid; cheaper than tanh here
    outside = (x < 0) | (x > 1) | (y < 0) | (y > 1)
    vis = np.where(outside, vis * 0.3, vis)
    return np.stack([x, y, z], axis=-1), vis, per_frame(aspect)[:, 0]
