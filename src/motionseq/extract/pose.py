"""Body pose from video with MediaPipe Pose: one person's 33 landmarks per frame as a
:class:`~motionseq.sequence.PoseSequence` in the ``mediapipe33`` layout.

Coordinates are image-normalised: ``x`` and ``y`` in [0, 1] of the frame width and height
(slightly outside when a joint is out of view), ``z`` depth relative to the hips on about
the scale of ``x``. A frame where no person is found keeps its place with NaN keypoints
and visibility 0.

Two back ends: ``mediapipe.solutions.pose`` (default; ``model_complexity`` 1 ships with
the wheel, 0 and 2 are downloaded by MediaPipe on first use) and, when ``model_path``
names a ``.task`` file, the MediaPipe Tasks ``PoseLandmarker`` in video mode.
MediaPipe is imported when an extractor is built, not with this module, so a parent
process that only hands out work never loads it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from motionseq.errors import ConfigError, DataError
from motionseq.extract.native_logs import NativeLogFilter
from motionseq.extract.video import FrameSource, progress_frames
from motionseq.sequence import PoseSequence
from motionseq.skeleton import get_layout

__all__ = ["PoseOptions", "PoseExtractor", "extract_pose"]

LAYOUT = "mediapipe33"
QUIET_FRAMES = 60  # MediaPipe's native start-up lines are filtered for at most these frames
NUM_JOINTS = get_layout(LAYOUT).num_joints


@dataclass(frozen=True)
class PoseOptions:
    """Settings of a :class:`PoseExtractor` (plain values, so they pickle to workers).

    Attributes:
        model_complexity: 0 (lite), 1 (full) or 2 (heavy); solutions back end only.
        smooth_landmarks: filter landmarks across frames; solutions back end only.
        min_detection_confidence: person detector threshold in [0, 1].
        min_tracking_confidence: below this the person is detected again, in [0, 1].
        static_image_mode: detect in every frame independently (no tracking).
        model_path: a MediaPipe Tasks ``pose_landmarker*.task`` file; selects the Tasks
            back end.
    """

    model_complexity: int = 1
    smooth_landmarks: bool = True
    min_detection_confidence: float = 0.5
    min_tracking_confidence: float = 0.5
    static_image_mode: bool = False
    model_path: str | None = None

    def __post_init__(self) -> None:
        if self.model_complexity not in (0, 1, 2):
            raise ConfigError(f"model_complexity must be 0, 1 or 2, got "
                              f"{self.model_complexity!r}")
        for name in ("min_detection_confidence", "min_tracking_confidence"):
            v = getattr(self, name)
            if not 0.0 <= float(v) <= 1.0:
                raise ConfigError(f"{name} must be within [0, 1], got {v!r}")


class PoseExtractor:
    """One MediaPipe pose graph; use as a context manager (or call :meth:`close`).

    Keyword arguments are the fields of :class:`PoseOptions` (or pass ``options=``).

    Raises:
        ConfigError: a bad option, a ``model_path`` that does not exist, or a model
            MediaPipe cannot load or download.
    """

    def __init__(self, options: PoseOptions | None = None, **kwargs: Any) -> None:
        if options is not None and kwargs:
            raise ConfigError("pass either options= or keyword settings, not both")
        self.options = options if options is not None else PoseOptions(**kwargs)
        self._rgb: np.ndarray | None = None  # reused conversion buffer
        self._clock_ms = 0  # Tasks video mode needs increasing timestamps across videos
        self._pose: Any = None
        self._landmarker: Any = None
        # MediaPipe's native start-up lines, until the graph has run and found someone
        # (the graph starts its threads here and logs from them while the first frames
        # run, so the filter stays on from here until QUIET_FRAMES frames or the tenth
        # frame with a person; what else is written meanwhile is passed on at the end)
        self._quiet: NativeLogFilter | None = None
        self._start_quiet()
        try:
            if self.options.model_path is not None:
                self._landmarker = _make_landmarker(self.options)
            else:
                self._pose = _make_solution(self.options)
        except BaseException:
            self._stop_quiet()
            raise

    @property
    def backend(self) -> str:
        return "tasks" if self._landmarker is not None else "solutions"

    def close(self) -> None:
        """Release the graph (idempotent)."""
        self._stop_quiet()
        if self._pose is not None:
            self._pose.close()
            self._pose = None
        if self._landmarker is not None:
            self._landmarker.close()
            self._landmarker = None

    def __enter__(self) -> PoseExtractor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def reset(self) -> None:
        """Forget the tracked person (call between unrelated videos)."""
        if self._pose is not None:
            # the solution restarts its graph, which logs its start-up lines again
            self._start_quiet()
            self._pose.reset()
        self._clock_ms += 1000  # a gap the Tasks tracker treats as a new clip

    def process(self, frame: np.ndarray, timestamp_ms: int | None = None
                ) -> tuple[np.ndarray, np.ndarray] | None:
        """Landmarks of one BGR frame ``[H, W, 3]`` uint8.

        Returns ``(keypoints [33, 3], visibility [33])`` float32, or None when no person
        is found. ``timestamp_ms`` (Tasks back end in video mode) must increase from call
        to call; None uses an internal clock stepping by 33 ms.
        """
        if self._pose is None and self._landmarker is None:
            raise DataError("this PoseExtractor is closed")
        if frame.ndim != 3 or frame.shape[2] != 3:
            raise DataError(f"expected a BGR frame [H, W, 3], got shape {frame.shape}")
        if self._rgb is None or self._rgb.shape != frame.shape:
            self._rgb = np.empty_like(frame)
        rgb = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB, dst=self._rgb)
        lms = None
        try:
            lms = self._detect(rgb, timestamp_ms)
        finally:
            if self._quiet is not None:
                self._quiet_frames += 1
                self._quiet_found += 1 if lms else 0
                if self._quiet_found >= 10 or self._quiet_frames >= QUIET_FRAMES:
                    self._stop_quiet()
        if not lms:
            return None
        a = np.array([(p.x, p.y, p.z, p.visibility) for p in lms], dtype=np.float32)
        return a[:, :3], np.clip(np.nan_to_num(a[:, 3]), 0.0, 1.0)

    def _detect(self, rgb: np.ndarray, timestamp_ms: int | None) -> list | None:
        if self._pose is not None:
            res = self._pose.process(rgb)
            return res.pose_landmarks.landmark if res.pose_landmarks is not None else None
        return self._detect_tasks(rgb, timestamp_ms)

    def _start_quiet(self) -> None:
        """Filter MediaPipe's native lines until the (re)started graph has found someone."""
        if self._quiet is None:
            self._quiet = NativeLogFilter().__enter__()
        self._quiet_frames = self._quiet_found = 0

    def _stop_quiet(self) -> None:
        """Give descriptor 2 back and pass on what was written meanwhile."""
        if self._quiet is not None:
            quiet, self._quiet = self._quiet, None
            quiet.__exit__(None, None, None)
            quiet.close()

    def __del__(self) -> None:
        self._stop_quiet()

    def _detect_tasks(self, rgb: np.ndarray, timestamp_ms: int | None) -> list | None:
        import mediapipe as mp

        image = mp.Image(image_format=mp.ImageFormat.SRGB, data=rgb)
        if self.options.static_image_mode:
            res = self._landmarker.detect(image)
        else:
            ts = self._clock_ms + 33 if timestamp_ms is None else int(timestamp_ms)
            ts = max(ts, self._clock_ms + 1)
            self._clock_ms = ts
            res = self._landmarker.detect_for_video(image, ts)
        return res.pose_landmarks[0] if res.pose_landmarks else None

    def extract(self, source: str | Path | int, fps: float | None = None, start: int = 0,
                stop: int | None = None, label: str | None = None, progress: bool = False,
                stats: dict | None = None) -> PoseSequence:
        """The pose sequence of a video file, image folder or camera.

        Args:
            source: see :class:`~motionseq.extract.video.FrameSource`.
            fps: frame rate to use instead of the source's.
            start, stop: frame range (0-based, stop exclusive).
            label: class name stored in the sequence.
            progress: show a progress bar.
            stats: if given, filled with ``frames``, ``seconds``, ``fps`` (processing
                speed), ``person_fraction``, ``expected_frames`` (the count the file's
                header gives for a whole-file read, else None), and where the seconds went:
                ``pose_seconds`` (colour conversion and the pose model) and
                ``read_seconds`` (opening and decoding the source, the rest).

        Returns:
            ``PoseSequence`` with keypoints ``[T, 33, 3]`` (NaN rows where no person),
            visibility ``[T, 33]``, timestamps ``frame index / fps`` (for a camera, seconds
            since the first frame).

        Raises:
            DataError: the source cannot be opened or yields no frames.
        """
        t0 = time.perf_counter()
        self.reset()
        base_ms = self._clock_ms
        kps: list[np.ndarray] = []
        vis: list[np.ndarray] = []
        times: list[float] = []
        missing_kp = np.full((NUM_JOINTS, 3), np.nan, dtype=np.float32)
        missing_vis = np.zeros(NUM_JOINTS, dtype=np.float32)
        with FrameSource(source, fps=fps, start=start, stop=stop) as src:
            rate = src.fps
            camera = src.name.startswith("camera ")
            expected = src.num_frames  # read before iterating: the source closes at the end
            frames = progress_frames(src, len(src) or None, progress, src.name)
            pose_s = 0.0
            try:
                for index, frame in frames:
                    t = time.perf_counter() - t0 if camera else index / rate
                    tp = time.perf_counter()
                    found = self.process(frame, base_ms + int(round(t * 1000)) + 1)
                    pose_s += time.perf_counter() - tp
                    kp, v = found if found is not None else (missing_kp, missing_vis)
                    kps.append(kp)
                    vis.append(v)
                    times.append(t)
            except KeyboardInterrupt:
                if not camera:
                    raise  # a file interrupted half-way is not a sequence
            name = src.name
        if not kps:
            raise DataError(f"{name}: no frames in the range {start}..{stop}")
        timestamps = np.asarray(times, dtype=np.float64)
        if camera:
            timestamps -= timestamps[0]
        seq = PoseSequence(np.stack(kps), np.stack(vis), rate, LAYOUT, label=label,
                           source=None if camera else str(source), timestamps=timestamps)
        seconds = time.perf_counter() - t0
        if stats is not None:
            stats.update(frames=len(kps), seconds=seconds, pose_seconds=pose_s,
                         read_seconds=seconds - pose_s,
                         fps=len(kps) / seconds if seconds > 0 else 0.0,
                         person_fraction=seq.person_fraction(),
                         expected_frames=None if expected is None or stop is not None or start
                         else expected)
        return seq


def extract_pose(source: str | Path | int, options: PoseOptions | None = None,
                 **kwargs: Any) -> PoseSequence:
    """One-shot :meth:`PoseExtractor.extract` with default or given options; ``kwargs``
    go to ``extract`` (``fps``, ``start``, ``stop``, ``label``, ``progress``, ``stats``)."""
    with PoseExtractor(options) as ex:
        return ex.extract(source, **kwargs)


def _make_solution(opts: PoseOptions) -> Any:
    import mediapipe as mp

    try:
        return mp.solutions.pose.Pose(
            static_image_mode=opts.static_image_mode, model_complexity=opts.model_complexity,
            smooth_landmarks=opts.smooth_landmarks, enable_segmentation=False,
            min_detection_confidence=opts.min_detection_confidence,
            min_tracking_confidence=opts.min_tracking_confidence)
    except Exception as e:  # download failure for the lite/heavy models, graph errors
        raise ConfigError(
            f"MediaPipe Pose with model_complexity={opts.model_complexity} did not start: {e}. "
            f"Complexity 1 ships with mediapipe; 0 and 2 are downloaded on first use and need "
            f"internet access once (or pass model_path= a pose_landmarker .task file)") from e


def _make_landmarker(opts: PoseOptions) -> Any:
    path = Path(opts.model_path or "")
    if not path.is_file():
        raise ConfigError(
            f"pose model file not found: {path} (download a pose_landmarker_lite/full/heavy "
            f".task file from the MediaPipe models page, or leave model_path unset to use "
            f"the solutions model that ships with mediapipe)")
    from mediapipe.tasks.python import BaseOptions, vision

    mode = vision.RunningMode.IMAGE if opts.static_image_mode else vision.RunningMode.VIDEO
    try:
        return vision.PoseLandmarker.create_from_options(vision.PoseLandmarkerOptions(
            base_options=BaseOptions(model_asset_path=str(path)), running_mode=mode,
            num_poses=1, min_pose_detection_confidence=opts.min_detection_confidence,
            min_pose_presence_confidence=opts.min_detection_confidence,
            min_tracking_confidence=opts.min_tracking_confidence,
            output_segmentation_masks=False))
    except Exception as e:
        raise ConfigError(f"cannot load pose model {path}: {e} (is it a MediaPipe "
                          f"pose_landmarker .task file?)") from e
