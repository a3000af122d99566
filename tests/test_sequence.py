import numpy as np
import pytest

from motionseq.errors import DataError
from motionseq.sequence import PoseSequence, Tracks


def _pose(t=5, j=33, c=3, **kw):
    rng = np.random.default_rng(0)
    return PoseSequence(rng.random((t, j, c)), np.ones((t, j)), fps=30, layout="mediapipe33", **kw)


def test_pose_roundtrip(tmp_path):
    seq = _pose(label="squat", source="clip.mp4")
    seq.keypoints[2] = np.nan  # a frame without a person keeps its place
    seq = PoseSequence(seq.keypoints, seq.visibility, 30, "mediapipe33", "squat", "clip.mp4")
    assert (seq.visibility[2] == 0).all()
    path = seq.save(tmp_path / "a" / "seq.npz")
    back = PoseSequence.load(path)
    np.testing.assert_array_equal(back.keypoints, seq.keypoints)
    np.testing.assert_array_equal(back.visibility, seq.visibility)
    assert (back.label, back.source, back.fps, back.layout) == ("squat", "clip.mp4", 30.0, "mediapipe33")
    np.testing.assert_allclose(back.timestamps, np.arange(5) / 30)
    assert back.person_fraction() == pytest.approx(0.8)
    assert not list(tmp_path.rglob("*.tmp*")), "atomic write left a temporary file"


@pytest.mark.parametrize("kw,match", [
    (dict(keypoints=np.zeros((5, 17, 2))), "has 33 joints but keypoints have 17"),
    (dict(keypoints=np.zeros((5, 33))), r"must be \[T, J, 2 or 3\]"),
    (dict(visibility=np.ones((4, 33))), "visibility must be"),
    (dict(visibility=np.full((5, 33), 2.0)), "within \\[0, 1\\]"),
    (dict(fps=0), "fps must be a positive"),
    (dict(layout="nope"), "unknown skeleton layout"),
    (dict(timestamps=np.array([0, 1, 0.5, 2, 3.0])), "must not decrease"),
])
def test_pose_validation(kw, match):
    args = dict(keypoints=np.zeros((5, 33, 2)), visibility=np.ones((5, 33)), fps=30.0,
                layout="mediapipe33")
    args.update(kw)
    with pytest.raises(DataError, match=match):
        PoseSequence(**args)


def test_pose_inf_rejected():
    kp = np.zeros((2, 33, 2))
    kp[0, 0, 0] = np.inf
    with pytest.raises(DataError, match="inf"):
        PoseSequence(kp, np.ones((2, 33)), 30, "mediapipe33")


def test_pose_load_errors(tmp_path):
    with pytest.raises(DataError, match="not found"):
        PoseSequence.load(tmp_path / "missing.npz")
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(DataError, match="cannot read pose file"):
        PoseSequence.load(bad)


def test_pose_to_layout():
    seq = _pose(c=2)
    penn = seq.to_layout("penn13")
    assert penn.keypoints.shape == (5, 13, 2) and penn.layout == "penn13"


def test_tracks_text_roundtrip(tmp_path):
    tr = Tracks(frame=[10, 0, 0, 10], agent=[1, 1, 2, 2], xy=[[1, 2], [0, 0], [5, 5], [6, 5.5]], dt=0.4)
    assert tr.frame_step == 10 and list(tr.frame) == [0, 0, 10, 10]
    f, xy = tr.path(2)
    assert list(f) == [0, 10] and xy[1].tolist() == [6, 5.5]
    back = Tracks.load_txt(tr.save_txt(tmp_path / "t.txt"), dt=0.4)
    np.testing.assert_allclose(back.xy, tr.xy)
    assert list(back.agent) == list(tr.agent) and back.frame_step == 10


def test_tracks_validation(tmp_path):
    with pytest.raises(DataError, match="appears twice"):
        Tracks(frame=[0, 0], agent=[1, 1], xy=[[0, 0], [1, 1]], dt=0.4)
    with pytest.raises(DataError, match="NaN"):
        Tracks(frame=[0], agent=[1], xy=[[np.nan, 0]], dt=0.4)
    with pytest.raises(DataError, match="dt must be"):
        Tracks(frame=[0], agent=[1], xy=[[0, 0]], dt=0)
    p = tmp_path / "x.txt"
    p.write_text("0 1 a b\n")
    with pytest.raises(DataError, match="x.txt:1"):
        Tracks.load_txt(p)
    p.write_text("")
    with pytest.raises(DataError, match="empty"):
        Tracks.load_txt(p)


def test_tracks_file_out_of_order_and_nan_rows_are_reported(tmp_path, caplog):
    p = tmp_path / "t.txt"
    p.write_text("0 1 0 0\n10 1 1 0\n# note\n0 2 5 5\n10 2 nan 5\n20 1 2 0\n")
    with caplog.at_level("WARNING", logger="motionseq.sequence"):
        tr = Tracks.load_txt(p)
    text = caplog.text
    assert "t.txt:4: frame 0 comes after frame 10" in text and "1 rows with NaN" in text
    assert list(tr.frame) == [0, 0, 10, 20] and list(tr.agent) == [1, 2, 1, 1]
    p.write_text("0 1 nan 0\n")
    with pytest.raises(DataError, match="no rows without NaN"):
        Tracks.load_txt(p)


def test_tracks_too_short_for_a_window_say_so(tmp_path):
    from motionseq.data.datamodules import TrajectoryDataModule

    short = Tracks(frame=np.arange(5), agent=np.zeros(5), xy=np.zeros((5, 2)), dt=0.4)

    class Source:
        def load(self):
            return {"train": [short], "test": [short]}

    with pytest.raises(DataError, match="no 20-step windows in the 'train' split"):
        TrajectoryDataModule(Source()).setup()
