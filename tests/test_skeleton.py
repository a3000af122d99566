import numpy as np
import pytest

from motionseq.errors import ConfigError
from motionseq.skeleton import LAYOUTS, can_map, convert_keypoints, get_layout, joint_mapping


@pytest.mark.parametrize("name,joints", [("mediapipe33", 33), ("coco17", 17), ("penn13", 13)])
def test_layout_sizes_and_indices(name, joints):
    lay = get_layout(name)
    assert lay.num_joints == joints
    for a, b in lay.edges + lay.flip_pairs:
        assert 0 <= a < joints and 0 <= b < joints and a != b
    assert len(set(lay.edges)) == len(lay.edges)
    assert lay.center_joints and lay.scale_joints


def test_mediapipe_order_matches_the_mediapipe_enum():
    lay = get_layout("mediapipe33")
    assert lay.index("nose") == 0
    assert lay.index("left_shoulder") == 11 and lay.index("right_shoulder") == 12
    assert lay.index("left_wrist") == 15 and lay.index("right_hip") == 24
    assert lay.index("right_foot_index") == 32


def test_flip_pairs_are_left_right_and_involutive():
    for lay in LAYOUTS.values():
        for a, b in lay.flip_pairs:
            assert lay.joints[a].replace("left", "right") == lay.joints[b]
        perm = lay.flip_permutation()
        assert (perm[perm] == np.arange(lay.num_joints)).all()
    # every left joint of mediapipe has its mirror
    mp = get_layout("mediapipe33")
    assert len(mp.flip_pairs) == sum("left" in j for j in mp.joints) == 16


def test_mappings_between_layouts():
    m = joint_mapping("mediapipe33", "penn13")
    mp, penn = get_layout("mediapipe33"), get_layout("penn13")
    assert m[penn.index("head")] == mp.index("nose")
    assert m[penn.index("right_ankle")] == mp.index("right_ankle")
    assert can_map("mediapipe33", "penn13") and can_map("mediapipe33", "coco17")
    assert not can_map("penn13", "coco17")  # penn has no eyes or ears
    back = joint_mapping("penn13", "mediapipe33")
    assert (back >= 0).sum() == 13


def test_convert_keypoints_missing_joints_are_nan_and_invisible():
    t = 4
    kp = np.random.default_rng(0).random((t, 13, 2)).astype(np.float32)
    vis = np.ones((t, 13), np.float32)
    out, ovis = convert_keypoints(kp, vis, "penn13", "coco17")
    coco, penn = get_layout("coco17"), get_layout("penn13")
    assert out.shape == (t, 17, 2)
    assert np.isnan(out[:, coco.index("left_eye")]).all() and (ovis[:, coco.index("left_eye")] == 0).all()
    np.testing.assert_array_equal(out[:, coco.index("nose")], kp[:, penn.index("head")])


def test_unknown_layout_and_joint_errors_list_the_options():
    with pytest.raises(ConfigError, match="known layouts: coco17, mediapipe33, penn13"):
        get_layout("openpose25")
    with pytest.raises(ConfigError, match="has no joint 'tail'"):
        get_layout("coco17").index("tail")
