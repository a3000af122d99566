"""Multi-object tracking by detection: a constant-velocity Kalman filter per track on the box
centre and size, Hungarian assignment (``scipy.optimize.linear_sum_assignment``) on IoU,
centre distance and (given the image) colour histograms, with gating; tentative tracks are
confirmed after ``min_hits`` matches in a row and removed after ``max_misses`` frames
unmatched. Ids are 1, 2, ... in order of confirmation.

Offline output (:meth:`Tracker.results`) smooths each track (Rauch-Tung-Striebel), fills
short gaps and joins tracks broken by longer occlusions.

Boxes are (left, top, width, height) in pixels throughout.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np
from scipy.optimize import linear_sum_assignment

from motionseq.errors import ConfigError
from motionseq.extract.detect import Detections, box_iou

_INF_COST = 1e6


@dataclass
class TrackerConfig:
    """Tracker settings. The defaults were chosen on frames 1-400 of PETS09-S2L1 (at its
    ~7 fps) only, by ``python -m bench.tracking search`` (a coordinate search of MOTA + IDF1
    there), and are scored on frames 401-795 by ``make bench ARGS=tracking``.

    Attributes:
        min_hits: matches in a row that confirm a new track.
        max_misses: frames a confirmed track survives unmatched (coasting on its velocity).
        max_distance: largest centre distance between prediction and detection, in
            predicted box heights, for a match.
        min_iou: smallest IoU for a match when the centres are further apart than
            ``near_distance`` box heights.
        near_distance: centre distance (box heights) under which IoU is not required.
        max_size_change: largest height ratio (either way) between prediction and detection.
        distance_weight: weight of the centre distance next to ``1 - IoU`` in the cost.
        min_birth_score: detections scoring lower may update tracks but not start one.
        pos_noise, vel_noise: Kalman process noise per frame, as fractions of box height.
        meas_noise: measurement noise, fraction of box height.
        max_gap: offline output fills gaps of up to this many frames between two matches
            of a track by interpolation; 0 emits matched frames only.
        smooth: offline output uses the Rauch-Tung-Striebel smoothed boxes (else the
            filtered ones).
        appearance_weight: weight of the colour-histogram distance (0 to 1) in the cost;
            0, or no image passed to :meth:`Tracker.update`, tracks by geometry alone.
        max_appearance: largest colour distance for a match.
        appearance_momentum: how much of a track's colour model each isolated match
            replaces.
        link_gap: offline output joins a track that ended with one that started at most
            this many frames later when position, size and colour agree; 0 disables.
        link_distance: largest gap between the first track's extrapolated position and the
            second's start, in box heights, at a one-frame gap (grows with the square root
            of the gap).
    """

    min_hits: int = 6
    max_misses: int = 12
    max_distance: float = 0.8
    min_iou: float = 0.05
    near_distance: float = 0.35
    max_size_change: float = 1.6
    distance_weight: float = 1.0
    min_birth_score: float = 0.0
    pos_noise: float = 0.05
    vel_noise: float = 0.01
    meas_noise: float = 0.2
    max_gap: int = 12
    smooth: bool = True
    appearance_weight: float = 0.5
    max_appearance: float = 0.3
    appearance_momentum: float = 0.2
    link_gap: int = 25
    link_distance: float = 0.5

    def __post_init__(self) -> None:
        if self.min_hits < 1 or self.max_misses < 0 or self.max_gap < 0:
            raise ConfigError("tracker needs min_hits >= 1, max_misses >= 0 and max_gap >= 0; "
                              f"got {self.min_hits}, {self.max_misses}, {self.max_gap}")
        if self.max_distance <= 0 or self.max_size_change < 1:
            raise ConfigError("tracker needs max_distance > 0 and max_size_change >= 1; got "
                              f"{self.max_distance}, {self.max_size_change}")


class BoxKalman:
    """Constant-velocity Kalman filter on ``z = (cx, cy, w, h)``; state ``[8]`` = z and its
    per-frame velocity. Noise scales with the box height (a near person moves more pixels)."""

    def __init__(self, box: np.ndarray, pos_noise: float, vel_noise: float,
                 meas_noise: float) -> None:
        z = _to_z(box)
        self.x = np.r_[z, np.zeros(4)]
        h = z[3]
        self.P = np.diag(np.r_[np.full(4, (2 * meas_noise * h) ** 2),
                               np.full(4, (10 * vel_noise * h) ** 2)])
        self.F = np.eye(8)
        self.F[:4, 4:] = np.eye(4)
        self.H = np.eye(4, 8)
        self.qp, self.qv, self.r = pos_noise, vel_noise, meas_noise

    def predict(self) -> np.ndarray:
        h = max(self.x[3], 1.0)
        Q = np.diag(np.r_[np.full(4, (self.qp * h) ** 2), np.full(4, (self.qv * h) ** 2)])
        Q[2, 2] = Q[3, 3] = (0.5 * self.qp * h) ** 2  # size changes slower than position
        self.x = self.F @ self.x
        self.x[2:4] = np.maximum(self.x[2:4], 1.0)
        self.P = self.F @ self.P @ self.F.T + Q
        return self.x.copy()

    def update(self, box: np.ndarray) -> np.ndarray:
        z = _to_z(box)
        R = np.diag(np.full(4, (self.r * max(self.x[3], 1.0)) ** 2))
        S = self.H @ self.P @ self.H.T + R
        K = np.linalg.solve(S, self.H @ self.P).T
        self.x = self.x + K @ (z - self.H @ self.x)
        self.P = (np.eye(8) - K @ self.H) @ self.P
        return self.x.copy()

    @property
    def box(self) -> np.ndarray:
        return _to_box(self.x[:4])


@dataclass
class Track:
    """One tracked object. ``id`` is 0 while tentative; ``history`` holds per frame
    ``(frame, observed, x_prior [8], P_prior, x_post [8], P_post)`` for offline output;
    ``feature`` is the colour model (None without images)."""

    kf: BoxKalman
    first_frame: int
    id: int = 0
    hits: int = 1
    misses: int = 0
    feature: np.ndarray | None = None
    history: list[tuple[int, bool, np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = field(
        default_factory=list)

    @property
    def confirmed(self) -> bool:
        return self.id > 0


class Tracker:
    """Online multi-object tracker; feed :meth:`update` one frame's detections at a time.

    ``update`` returns the confirmed tracks' boxes for that frame (matched this frame, or
    predicted while coasting up to ``max_gap`` frames); :meth:`results` gives the offline
    paths: each track from its first detection (tentative frames included) to its last,
    short gaps filled, and tracks broken by longer occlusions joined. ``keep_history=False``
    (for endless live streams) keeps memory flat and disables :meth:`results`.
    """

    def __init__(self, config: TrackerConfig | None = None,
                 image_size: tuple[int, int] | None = None, keep_history: bool = True) -> None:
        self.config = config or TrackerConfig()
        self.image_size = image_size  # (width, height): tracks whose centre leaves it end
        self.keep_history = keep_history
        self.tracks: list[Track] = []
        self.finished: list[Track] = []
        self.next_id = 1
        self.frame: int | None = None

    def update(self, frame: int, detections: Detections, image: np.ndarray | None = None
               ) -> list[tuple[int, np.ndarray]]:
        """Advance to ``frame`` (increasing) with its detections and, for colour cues, the
        BGR image they came from; returns ``[(id, box [4])]`` of confirmed tracks."""
        if self.frame is not None and frame <= self.frame:
            raise ValueError(f"frames must increase: got {frame} after {self.frame}")
        cfg = self.config
        boxes, scores = detections.boxes, detections.scores
        feats = appearance_features(image, boxes) if (
            image is not None and cfg.appearance_weight > 0) else None
        priors = [(tr.kf.predict(), tr.kf.P.copy()) for tr in self.tracks]
        matches, unmatched_tracks, unmatched_dets = self._associate(boxes, feats)
        isolated = _isolated(boxes)
        for ti, di in matches:
            tr = self.tracks[ti]
            tr.kf.update(boxes[di])
            tr.hits += 1
            tr.misses = 0
            if feats is not None and isolated[di]:
                m = cfg.appearance_momentum
                tr.feature = feats[di] if tr.feature is None else _unit(
                    (1 - m) * tr.feature + m * feats[di])
            self._record(tr, frame, True, priors[ti])
            if not tr.confirmed and tr.hits >= cfg.min_hits:
                tr.id, self.next_id = self.next_id, self.next_id + 1
        for ti in unmatched_tracks:
            tr = self.tracks[ti]
            tr.misses += 1
            self._record(tr, frame, False, priors[ti])
        alive = []
        for tr in self.tracks:
            if not tr.confirmed and tr.misses > 0:
                continue  # a tentative track must match every frame
            if tr.misses <= cfg.max_misses and not self._outside(tr.kf.box):
                alive.append(tr)
            elif self.keep_history:
                self.finished.append(tr)
        self.tracks = alive
        for di in unmatched_dets:
            if scores[di] < cfg.min_birth_score or boxes[di, 2] < 1 or boxes[di, 3] < 1:
                continue
            kf = BoxKalman(boxes[di], cfg.pos_noise, cfg.vel_noise, cfg.meas_noise)
            tr = Track(kf=kf, first_frame=frame,
                       feature=feats[di] if feats is not None else None)
            self._record(tr, frame, True, (kf.x.copy(), kf.P.copy()))
            if cfg.min_hits <= 1:
                tr.id, self.next_id = self.next_id, self.next_id + 1
            self.tracks.append(tr)
        self.frame = frame
        return [(tr.id, tr.kf.box) for tr in self.tracks
                if tr.confirmed and tr.misses <= cfg.max_gap]

    def _record(self, tr: Track, frame: int, observed: bool,
                prior: tuple[np.ndarray, np.ndarray]) -> None:
        if self.keep_history:
            tr.history.append((frame, observed, *prior, tr.kf.x.copy(), tr.kf.P.copy()))

    def _outside(self, box: np.ndarray) -> bool:
        if self.image_size is None:
            return False
        w, h = self.image_size
        cx, cy = box[0] + box[2] / 2, box[1] + box[3] / 2
        return not (0 <= cx < w and 0 <= cy < h)

    def _associate(self, boxes: np.ndarray, feats: np.ndarray | None
                   ) -> tuple[list[tuple[int, int]], list[int], list[int]]:
        """Hungarian matching of confirmed tracks first, then of tentative tracks to the
        detections left over; gated pairs never match."""
        n_t, n_d = len(self.tracks), len(boxes)
        if n_t == 0 or n_d == 0:
            return [], list(range(n_t)), list(range(n_d))
        track_feats = None
        if feats is not None:
            track_feats = [t.feature for t in self.tracks]
        cost = self.cost_matrix(np.array([t.kf.box for t in self.tracks]), boxes,
                                track_feats, feats)
        matches: list[tuple[int, int]] = []
        free_d = set(range(n_d))
        for group in ([i for i, t in enumerate(self.tracks) if t.confirmed],
                      [i for i, t in enumerate(self.tracks) if not t.confirmed]):
            if not group or not free_d:
                continue
            cols = sorted(free_d)
            sub = cost[np.ix_(group, cols)]
            rows, cs = linear_sum_assignment(sub)
            for r, c in zip(rows, cs, strict=True):
                if sub[r, c] < _INF_COST:
                    matches.append((group[r], cols[c]))
                    free_d.discard(cols[c])
        matched_t = {t for t, _ in matches}
        return matches, [i for i in range(n_t) if i not in matched_t], sorted(free_d)

    def cost_matrix(self, predicted: np.ndarray, boxes: np.ndarray,
                    track_feats: list[np.ndarray | None] | None = None,
                    det_feats: np.ndarray | None = None) -> np.ndarray:
        """``[T, D]`` cost of matching predicted track boxes to detections: ``1 - IoU +
        distance_weight * centre distance / height + appearance_weight * colour distance``;
        gated pairs cost ``1e6``."""
        cfg = self.config
        iou = box_iou(predicted, boxes)
        cp = predicted[:, None, :2] + predicted[:, None, 2:] / 2
        cd = boxes[None, :, :2] + boxes[None, :, 2:] / 2
        h = np.maximum(predicted[:, None, 3], 1.0)
        dist = np.linalg.norm(cp - cd, axis=2) / h
        ratio = boxes[None, :, 3] / h
        ok = (dist <= cfg.max_distance) & (ratio <= cfg.max_size_change) \
            & (ratio >= 1 / cfg.max_size_change) & ((iou >= cfg.min_iou)
                                                     | (dist <= cfg.near_distance))
        cost = 1 - iou + cfg.distance_weight * dist
        if track_feats is not None and det_feats is not None:
            app = np.zeros_like(cost)
            for i, f in enumerate(track_feats):
                if f is not None:
                    app[i] = 1 - det_feats @ f
            ok &= app <= cfg.max_appearance
            cost = cost + cfg.appearance_weight * app
        return np.where(ok, cost, _INF_COST)

    def results(self) -> list[tuple[int, np.ndarray, np.ndarray]]:
        """Every confirmed track as ``(id, frames [n], boxes [n, 4])``, from its first to
        its last detection, gaps up to ``max_gap`` frames filled; tracks joined by
        ``link_gap`` keep the first one's id."""
        if not self.keep_history:
            raise RuntimeError("results() needs a Tracker made with keep_history=True")
        tracks = [t for t in self.finished + self.tracks if t.confirmed]
        paths = {}
        for tr in tracks:
            frames, boxes, velocity = self._track_path(tr)
            if len(frames):
                paths[tr.id] = (frames, boxes, velocity, tr.feature)
        chains = self._link(paths) if self.config.link_gap > 0 else [[k] for k in paths]
        out = []
        for chain in chains:
            frames = np.concatenate([paths[k][0] for k in chain])
            boxes = np.concatenate([paths[k][1] for k in chain])
            frames, boxes = _fill_gaps(frames, boxes, self.config.max_gap)
            out.append((chain[0], frames, boxes))
        return sorted(out, key=lambda r: r[0])

    def _track_path(self, tr: Track) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Frames and boxes of the matched frames (gaps filled later), and the velocity
        ``[4]`` per frame at the last match."""
        hist = tr.history
        last = max(i for i, h in enumerate(hist) if h[1])
        hist = hist[:last + 1]
        xs = rts_smooth(hist, tr.kf.F) if self.config.smooth else \
            np.array([h[4] for h in hist])
        observed = np.array([h[1] for h in hist])
        frames = np.array([h[0] for h in hist])[observed]
        boxes = np.array([_to_box(x[:4]) for x in xs])[observed]
        return frames, boxes, xs[-1, 4:].copy()

    def _link(self, paths: dict) -> list[list[int]]:
        """Chains of track ids: Hungarian matching of track ends to later track starts."""
        cfg = self.config
        ids = sorted(paths)
        n = len(ids)
        cost = np.full((n, n), _INF_COST)
        for i, a in enumerate(ids):
            fa, ba, va, feat_a = paths[a]
            end_f, end_box = fa[-1], ba[-1]
            for j, b in enumerate(ids):
                fb, bb, _, feat_b = paths[b]
                gap = fb[0] - end_f
                if i == j or not 0 < gap <= cfg.link_gap:
                    continue
                # Velocity extrapolation, capped: long gaps trust it less.
                reach = min(gap, 10)
                pred = _to_z(end_box) + np.r_[va[:2], 0, 0] * reach
                h = max(end_box[3], 1.0)
                dist = np.linalg.norm(pred[:2] - _to_z(bb[0])[:2]) / h
                ratio = bb[0][3] / h
                if (dist > cfg.link_distance * np.sqrt(gap)
                        or not 1 / cfg.max_size_change <= ratio <= cfg.max_size_change):
                    continue
                app = 0.0
                if feat_a is not None and feat_b is not None:
                    app = 1 - float(feat_a @ feat_b)
                    if app > cfg.max_appearance:
                        continue
                cost[i, j] = dist / np.sqrt(gap) + cfg.appearance_weight * app + 0.01 * gap
        rows, cols = linear_sum_assignment(cost)
        nxt = {ids[r]: ids[c] for r, c in zip(rows, cols, strict=True) if cost[r, c] < _INF_COST}
        has_prev = set(nxt.values())
        chains = []
        for k in ids:
            if k in has_prev:
                continue
            chain = [k]
            while chain[-1] in nxt:
                chain.append(nxt[chain[-1]])
            chains.append(chain)
        return chains


def appearance_features(image: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """Colour signature ``[K, 256]`` of each box: HSV histograms (8 x 4 x 4 bins) of the
    torso and the legs, from the middle half of the box width; unit length (square roots
    of frequencies, so ``1 - a @ b`` is the Hellinger-style distance in [0, 1])."""
    H, W = image.shape[:2]
    hsv = cv2.cvtColor(image, cv2.COLOR_BGR2HSV)
    out = np.zeros((len(boxes), 256), dtype=np.float64)
    for k, (x, t, w, h) in enumerate(np.asarray(boxes, dtype=np.float64).reshape(-1, 4)):
        x0, x1 = int(max(0, x + 0.25 * w)), int(min(W, x + 0.75 * w))
        for p, (y0, y1) in enumerate(((0.12, 0.5), (0.5, 0.95))):
            ya, yb = int(max(0, t + y0 * h)), int(min(H, t + y1 * h))
            if x1 <= x0 or yb <= ya:
                continue
            hist = cv2.calcHist([hsv[ya:yb, x0:x1]], [0, 1, 2], None, [8, 4, 4],
                                [0, 180, 0, 256, 0, 256]).ravel()
            out[k, 128 * p:128 * (p + 1)] = hist / max(float(hist.sum()), 1.0)
        out[k] = _unit(np.sqrt(out[k]))
    return out


def _unit(v: np.ndarray) -> np.ndarray:
    n = float(np.linalg.norm(v))
    return v / n if n > 0 else v


def _isolated(boxes: np.ndarray, overlap: float = 0.05) -> np.ndarray:
    """Boxes that overlap no other box (IoU <= ``overlap``): clean colour samples."""
    iou = box_iou(boxes, boxes)
    np.fill_diagonal(iou, 0.0)
    return (iou <= overlap).all(axis=1) if len(boxes) else np.zeros(0, dtype=bool)


def _fill_gaps(frames: np.ndarray, boxes: np.ndarray, max_gap: int
               ) -> tuple[np.ndarray, np.ndarray]:
    """Linear interpolation of boxes over missing frames in runs of at most ``max_gap``."""
    order = np.argsort(frames, kind="stable")
    frames, boxes = frames[order], boxes[order]
    out_f, out_b = [frames[:1]], [boxes[:1]]
    for k in range(1, len(frames)):
        gap = frames[k] - frames[k - 1]
        if 1 < gap <= max_gap + 1:
            steps = np.arange(1, gap)
            w = (steps / gap)[:, None]
            out_f.append(frames[k - 1] + steps)
            out_b.append((1 - w) * boxes[k - 1] + w * boxes[k])
        out_f.append(frames[k:k + 1])
        out_b.append(boxes[k:k + 1])
    return np.concatenate(out_f), np.concatenate(out_b)


def rts_smooth(history: list, F: np.ndarray) -> np.ndarray:
    """Rauch-Tung-Striebel smoothed states ``[n, 8]`` of one track's filter history."""
    n = len(history)
    xs = np.array([h[4] for h in history])
    Ps = np.array([h[5] for h in history])
    for k in range(n - 2, -1, -1):
        x_prior, P_prior = history[k + 1][2], history[k + 1][3]
        C = Ps[k] @ F.T @ np.linalg.pinv(P_prior)
        xs[k] = xs[k] + C @ (xs[k + 1] - x_prior)
        Ps[k] = Ps[k] + C @ (Ps[k + 1] - P_prior) @ C.T
    return xs


def _to_z(box: np.ndarray) -> np.ndarray:
    x, y, w, h = np.asarray(box, dtype=np.float64)
    return np.array([x + w / 2, y + h / 2, w, h])


def _to_box(z: np.ndarray) -> np.ndarray:
    cx, cy, w, h = z
    return np.array([cx - w / 2, cy - h / 2, w, h])
