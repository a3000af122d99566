"""Tracked people and their forecast paths, online, for a static camera.

Each frame goes through the detector and the online :class:`~motionseq.extract.track.Tracker`
of the path extractor; every confirmed person with a foot point at each of the
forecaster's ``obs_len`` steps (``step`` video frames apart, from
:func:`~motionseq.live.track_forecast.frame_step_for`) is forecast by the trained
:class:`~motionseq.modules.forecaster.TrajectoryForecaster` in one batch
(:func:`~motionseq.live.track_forecast.forecast_windows`).

The forecaster works in metres. With a homography (image to ground) the foot points are
mapped through it and the forecast mapped back; without one each person's path is scaled
by their apparent size (``person_height_m`` over the median box height of the observed
steps), which is right near that person and good enough to draw.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from motionseq.errors import CheckpointError, ConfigError
from motionseq.extract.detect import Detections, make_detector
from motionseq.extract.mot import foot_points
from motionseq.extract.paths import apply_homography, check_homography
from motionseq.extract.track import Tracker, TrackerConfig
from motionseq.live.track_forecast import VideoWindows, forecast_windows, frame_step_for
from motionseq.sequence import Tracks

__all__ = ["People", "PeopleForecaster"]


@dataclass
class People:
    """One frame's people: ``boxes {id: [4]}`` (l, t, w, h px), ``forecasts {id: [K, 2]}``
    (px, starting at the current foot point) and ``history``, the recent pixel tracks
    with boxes (for drawing trails)."""

    boxes: dict[int, np.ndarray]
    forecasts: dict[int, np.ndarray]
    history: Tracks | None


class PeopleForecaster:
    """Detect, track and forecast people frame by frame.

    Args:
        model: a trained TrajectoryForecaster (``hparams`` give obs_len, pred_len, dt).
        fps: frame rate of the video.
        image_size: ``(width, height)``: tracks that leave the picture end.
        detector: ``mog2``, ``knn``, ``hog`` or ``both`` (see ``make_detector``).
        min_height: detections shorter than this (px) are ignored.
        homography: 3x3 image-to-ground matrix, or None (scale by apparent size).
        person_height_m: assumed height of a person without a homography.
        trail: frames of past path kept for drawing.
        tracker: tracker settings.
    """

    def __init__(self, model, fps: float, image_size: tuple[int, int] | None = None,
                 detector: str = "mog2", min_height: float = 0.0,
                 homography: np.ndarray | None = None, person_height_m: float = 1.7,
                 trail: int = 30, tracker: TrackerConfig | None = None) -> None:
        from motionseq.modules.forecaster import TrajectoryForecaster

        if not isinstance(model, TrajectoryForecaster):
            raise CheckpointError(f"the people view needs a trajectory forecaster checkpoint, "
                                  f"got a {type(model).__name__}")
        hp = model.hparams
        if not hp.get("dt"):
            raise CheckpointError("this forecaster does not record its time step (dt); "
                                  "re-train it with this version")
        if person_height_m <= 0:
            raise ConfigError(f"person_height_m must be positive, got {person_height_m}")
        self.model = model.eval()
        self.obs_len, self.pred_len = int(hp.obs_len), int(hp.pred_len)
        self.step = frame_step_for(1.0 / fps, float(hp.dt))
        kwargs = {"min_height": min_height} if detector != "hog" else {}
        self.detector = make_detector(detector, **kwargs)
        self.min_height = float(min_height)
        self.tracker = Tracker(tracker, image_size=image_size, keep_history=False)
        self.H = None if homography is None else check_homography(homography)
        self.H_inv = None if self.H is None else np.linalg.inv(self.H)
        self.person_height_m = float(person_height_m)
        self.trail = int(trail)
        self.keep = max(self.trail, (self.obs_len - 1) * self.step + 1)
        self._paths: dict[int, deque[tuple[int, np.ndarray]]] = {}

    def update(self, index: int, image: np.ndarray) -> People:
        """Advance to video frame ``index`` (increasing) with its BGR image."""
        dets = self.detector(image)
        if self.min_height > 0:
            tall = dets.boxes[:, 3] >= self.min_height
            dets = Detections(dets.boxes[tall], dets.scores[tall])
        boxes = {int(i): b for i, b in self.tracker.update(index, dets, image)}
        for i, b in boxes.items():
            self._paths.setdefault(i, deque()).append((index, b))
        for i in list(self._paths):  # forget what is too old to draw or forecast
            path = self._paths[i]
            while path and path[0][0] <= index - self.keep:
                path.popleft()
            if not path:
                del self._paths[i]
        return People(boxes, self._forecast(index, boxes), self._history())

    def _history(self) -> Tracks | None:
        rows = [(f, i, b) for i, path in self._paths.items() for f, b in path]
        if not rows:
            return None
        frames = np.array([r[0] for r in rows])
        boxes = np.array([r[2] for r in rows])
        return Tracks(frame=frames, agent=np.array([r[1] for r in rows]),
                      xy=foot_points(boxes), dt=self.model.hparams.dt / self.step,
                      frame_step=1, boxes=boxes)

    def _forecast(self, index: int, boxes: dict[int, np.ndarray]) -> dict[int, np.ndarray]:
        want = [index - d * self.step for d in range(self.obs_len - 1, -1, -1)]
        ids, obs_px, heights = [], [], []
        for i in boxes:
            at = dict(self._paths.get(i, ()))
            if all(f in at for f in want):
                b = np.array([at[f] for f in want])
                ids.append(i)
                obs_px.append(foot_points(b))
                heights.append(float(np.median(b[:, 3])))
        if not ids:
            return {}
        obs_px = np.array(obs_px)  # [N, obs_len, 2]
        if self.H is not None:
            obs = apply_homography(self.H, obs_px.reshape(-1, 2)).reshape(obs_px.shape)
        else:
            scale = self.person_height_m / np.maximum(np.array(heights), 1.0)  # m per px
            obs = obs_px * scale[:, None, None]
        windows = VideoWindows(obs.astype(np.float32), np.array(ids),
                               np.zeros((len(ids), self.obs_len + self.pred_len), np.int64),
                               self.step)
        pred = forecast_windows(self.model, windows).astype(np.float64)  # [N, pred_len, 2]
        if self.H_inv is not None:
            px = apply_homography(self.H_inv, pred.reshape(-1, 2)).reshape(pred.shape)
        else:
            px = pred / scale[:, None, None]
        return {i: np.vstack([obs_px[k, -1], px[k]]) for k, i in enumerate(ids)}
