"""Skeleton layouts: the only place joint indices live.

A :class:`Layout` names the joints of one keypoint format, its bones (also the drawing
edges), its left/right mirror pairs and the joints that define the body centre and
scale. Mappings between layouts go through canonical joint names.

The ``raw`` layout is the layout-free case (Kinect channels, IMU, pen strokes): any
number of unnamed joints, no bones, no mirror pairs, no centre; its values are used as
they are.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from motionseq.errors import ConfigError


@dataclass(frozen=True)
class Layout:
    """A keypoint format.

    Attributes:
        name: registry name, e.g. ``"mediapipe33"``.
        joints: joint names in index order.
        edges: bones as index pairs; also what overlays draw.
        flip_pairs: (left, right) index pairs swapped by a horizontal mirror.
        center_joints: joints whose mean is the body centre (the hips).
        scale_joints: joints whose mean, with the centre, spans the torso (the shoulders);
            the distance between the two means is the body scale.
        aliases: joint name -> canonical name, for joints named differently from the
            canonical (MediaPipe/COCO) names, e.g. Penn Action's ``head`` -> ``nose``.
        scale_fallbacks: ``(joints, ratio)`` pairs for frames where the scale joints are
            unknown: the distance from the centre to the mean of ``joints``, divided by
            ``ratio`` (its typical length in torso lengths), stands in for the scale.
        generic: True for a layout without named joints (``raw``): a sequence may have
            any number of joints and channels, and nothing maps into or out of it.
    """

    name: str
    joints: tuple[str, ...]
    edges: tuple[tuple[int, int], ...]
    flip_pairs: tuple[tuple[int, int], ...]
    center_joints: tuple[int, ...]
    scale_joints: tuple[int, ...]
    aliases: dict[str, str] = field(default_factory=dict)
    generic: bool = False
    scale_fallbacks: tuple[tuple[tuple[int, ...], float], ...] = ()

    @property
    def num_joints(self) -> int:
        """Number of named joints (0 for a generic layout: its joint count is the data's)."""
        return len(self.joints)

    def index(self, joint: str) -> int:
        """Index of a joint by name; raises ConfigError listing the names if unknown."""
        try:
            return self.joints.index(joint)
        except ValueError:
            raise ConfigError(
                f"layout {self.name!r} has no joint {joint!r}; joints: {', '.join(self.joints)}"
            ) from None

    def canonical(self, joint: str) -> str:
        return self.aliases.get(joint, joint)

    def flip_permutation(self) -> np.ndarray:
        """Index array ``perm`` so that ``keypoints[:, perm]`` swaps left and right. Shape [J]."""
        perm = np.arange(self.num_joints)
        for a, b in self.flip_pairs:
            perm[a], perm[b] = b, a
        return perm


def _build(
    name: str,
    joints: list[str],
    edges: list[tuple[str, str]],
    center: list[str],
    scale: list[str],
    aliases: dict[str, str] | None = None,
    fallbacks: list[tuple[list[str], float]] | None = None,
) -> Layout:
    idx = {j: i for i, j in enumerate(joints)}
    flips = []
    for j in joints:  # "left_x"/"right_x" and "x_left"/"x_right" (MediaPipe's mouth)
        if j.startswith("left_") and "right_" + j[5:] in idx:
            flips.append((idx[j], idx["right_" + j[5:]]))
        elif j.endswith("_left") and j[:-5] + "_right" in idx:
            flips.append((idx[j], idx[j[:-5] + "_right"]))
    return Layout(
        name=name,
        joints=tuple(joints),
        edges=tuple((idx[a], idx[b]) for a, b in edges),
        flip_pairs=tuple(flips),
        center_joints=tuple(idx[j] for j in center),
        scale_joints=tuple(idx[j] for j in scale),
        aliases=dict(aliases or {}),
        scale_fallbacks=tuple((tuple(idx[j] for j in names), ratio)
                              for names, ratio in fallbacks or ()),
    )


def _limbs(prefix_pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The same chain on both sides: [("shoulder", "elbow")] -> left and right bones."""
    return [(f"{s}_{a}", f"{s}_{b}") for s in ("left", "right") for a, b in prefix_pairs]


# Median head-to-hip-centre and knee-midpoint-to-hip-centre distances in torso lengths,
# over the Penn Action train split (10-90 %: 1.23-1.62 and 0.49-1.13): the body scale when
# the shoulders are unknown (Penn Action leaves both unannotated in many squat clips).
_HEAD_RATIO, _KNEE_RATIO = 1.39, 0.76

_BODY_CORE = [
    ("left_shoulder", "right_shoulder"),
    ("left_hip", "right_hip"),
    *_limbs([("shoulder", "elbow"), ("elbow", "wrist"), ("shoulder", "hip"),
             ("hip", "knee"), ("knee", "ankle")]),
]

MEDIAPIPE33 = _build(
    "mediapipe33",
    [
        "nose", "left_eye_inner", "left_eye", "left_eye_outer", "right_eye_inner",
        "right_eye", "right_eye_outer", "left_ear", "right_ear", "mouth_left",
        "mouth_right", "left_shoulder", "right_shoulder", "left_elbow", "right_elbow",
        "left_wrist", "right_wrist", "left_pinky", "right_pinky", "left_index",
        "right_index", "left_thumb", "right_thumb", "left_hip", "right_hip",
        "left_knee", "right_knee", "left_ankle", "right_ankle", "left_heel",
        "right_heel", "left_foot_index", "right_foot_index",
    ],
    [
        ("nose", "left_eye_inner"), ("left_eye_inner", "left_eye"),
        ("left_eye", "left_eye_outer"), ("left_eye_outer", "left_ear"),
        ("nose", "right_eye_inner"), ("right_eye_inner", "right_eye"),
        ("right_eye", "right_eye_outer"), ("right_eye_outer", "right_ear"),
        ("mouth_left", "mouth_right"),
        *_BODY_CORE,
        *_limbs([("wrist", "pinky"), ("wrist", "index"), ("pinky", "index"),
                 ("wrist", "thumb"), ("ankle", "heel"), ("heel", "foot_index"),
                 ("ankle", "foot_index")]),
    ],
    center=["left_hip", "right_hip"],
    scale=["left_shoulder", "right_shoulder"],
    fallbacks=[(["nose"], _HEAD_RATIO), (["left_knee", "right_knee"], _KNEE_RATIO)],
)

COCO17 = _build(
    "coco17",
    [
        "nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder",
        "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
        "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
    ],
    [
        ("nose", "left_eye"), ("nose", "right_eye"), ("left_eye", "left_ear"),
        ("right_eye", "right_ear"), *_BODY_CORE,
    ],
    center=["left_hip", "right_hip"],
    scale=["left_shoulder", "right_shoulder"],
    fallbacks=[(["nose"], _HEAD_RATIO), (["left_knee", "right_knee"], _KNEE_RATIO)],
)

PENN13 = _build(
    "penn13",
    [
        "head", "left_shoulder", "right_shoulder", "left_elbow", "right_elbow",
        "left_wrist", "right_wrist", "left_hip", "right_hip", "left_knee",
        "right_knee", "left_ankle", "right_ankle",
    ],
    [("head", "left_shoulder"), ("head", "right_shoulder"), *_BODY_CORE],
    center=["left_hip", "right_hip"],
    scale=["left_shoulder", "right_shoulder"],
    aliases={"head": "nose"},
    fallbacks=[(["head"], _HEAD_RATIO), (["left_knee", "right_knee"], _KNEE_RATIO)],
)

RAW_LAYOUT = "raw"
RAW = Layout(name=RAW_LAYOUT, joints=(), edges=(), flip_pairs=(), center_joints=(),
             scale_joints=(), generic=True)

LAYOUTS: dict[str, Layout] = {lay.name: lay for lay in (MEDIAPIPE33, COCO17, PENN13, RAW)}


def get_layout(name: str) -> Layout:
    """The layout registered under ``name``; ConfigError listing known names otherwise."""
    try:
        return LAYOUTS[name]
    except KeyError:
        raise ConfigError(
            f"unknown skeleton layout {name!r}; known layouts: {', '.join(sorted(LAYOUTS))}"
        ) from None


def joint_mapping(src: str | Layout, dst: str | Layout) -> np.ndarray:
    """For each joint of ``dst``, the index of the same joint in ``src`` or -1. Shape [J_dst]."""
    src_l = src if isinstance(src, Layout) else get_layout(src)
    dst_l = dst if isinstance(dst, Layout) else get_layout(dst)
    if src_l.generic or dst_l.generic:
        raise ConfigError(
            f"cannot map joints between {src_l.name!r} and {dst_l.name!r}: the "
            f"{RAW_LAYOUT!r} layout has no named joints"
        )
    by_name = {src_l.canonical(j): i for i, j in enumerate(src_l.joints)}
    return np.array([by_name.get(dst_l.canonical(j), -1) for j in dst_l.joints], dtype=np.int64)


def can_map(src: str | Layout, dst: str | Layout) -> bool:
    """True when every joint of ``dst`` exists in ``src`` (never into or out of ``raw``)."""
    src_l = src if isinstance(src, Layout) else get_layout(src)
    dst_l = dst if isinstance(dst, Layout) else get_layout(dst)
    if src_l.generic or dst_l.generic:
        return False
    return bool((joint_mapping(src, dst) >= 0).all())


def convert_keypoints(
    keypoints: np.ndarray, visibility: np.ndarray, src: str | Layout, dst: str | Layout
) -> tuple[np.ndarray, np.ndarray]:
    """Re-index keypoints ``[T, J_src, C]`` and visibility ``[T, J_src]`` into ``dst``.

    Joints ``dst`` has and ``src`` lacks come back as NaN with visibility 0.
    Returns ``([T, J_dst, C], [T, J_dst])``.
    """
    m = joint_mapping(src, dst)
    t, _, c = keypoints.shape
    out = np.full((t, len(m), c), np.nan, dtype=keypoints.dtype)
    vis = np.zeros((t, len(m)), dtype=visibility.dtype)
    ok = m >= 0
    out[:, ok] = keypoints[:, m[ok]]
    vis[:, ok] = visibility[:, m[ok]]
    return out, vis
