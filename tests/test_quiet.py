"""What `make train` prints: the run's own information, not library noise a user cannot act
on (Lightning's cloud-logging tip, its deprecated-API warning, a FLOPs total of 0, counts of
modules in eval mode)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOISE = ("💡 Tip", "litlogger", "LeafSpec", "Total FLOPs", "Modules in eval mode",
         "smaller than the logging interval")


def test_training_prints_no_library_noise(tmp_path):
    proc = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "train.py"), "trainer.max_epochs=1",
         "data.source.train_per_class=8", "data.source.test_per_class=2",
         "data.batch_size=8", "trainer.log_every_n_steps=1", f"hydra.run.dir={tmp_path}"],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
        env={**os.environ, "OMP_NUM_THREADS": "1"})
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    assert "Trainable params" in out and "test/acc" in out  # the run's own output is there
    found = [n for n in NOISE if n in out]
    assert not found, f"library noise in the output: {found}"


def test_pose_extraction_keeps_mediapipe_native_lines_off_the_console(shared_data):
    """MediaPipe's start-up lines (written by its C++ threads straight to descriptor 2) are
    dropped, also when a reset between videos restarts its graph; anything else written
    meanwhile still arrives; MOTIONSEQ_NATIVE_LOGS=1 shows them."""
    import pytest

    from motionseq.extract.native_logs import NOISE

    video = shared_data / "videos" / "ntu_a001_drink_water.avi"
    if not video.is_file():
        pytest.skip(f"{video} not found (the shared real data)")
    script = (
        "import sys, cv2\n"
        "from motionseq.extract.pose import PoseExtractor\n"
        f"cap = cv2.VideoCapture({str(video)!r})\n"
        "ex = PoseExtractor()\n"
        "print('still here', file=sys.stderr)\n"
        "found = 0\n"
        "for k in range(40):\n"
        "    if k == 20:\n"
        "        ex.reset()  # a new video: the solution restarts its graph\n"
        "    ok, frame = cap.read()\n"
        "    found += ex.process(frame) is not None\n"
        "ex.close()\n"
        "print('found', found, file=sys.stderr)\n")

    def run(**env):
        return subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                              text=True, timeout=300,
                              env={**os.environ, "OMP_NUM_THREADS": "1", **env})

    quiet = run()
    assert quiet.returncode == 0, quiet.stderr[-3000:]
    assert "still here" in quiet.stderr and "found 40" in quiet.stderr
    assert not [n for n in NOISE if n in quiet.stderr], quiet.stderr
    loud = run(MOTIONSEQ_NATIVE_LOGS="1")
    assert any(n in loud.stderr for n in NOISE), "MediaPipe no longer logs: update NOISE"
