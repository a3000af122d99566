"""Frame sources: a video file, a folder of images or a camera, read as ``(index, BGR image)``.

Frame indices are 0-based and count every decoded frame (a folder's images in name order).
"""

from __future__ import annotations

import configparser
import logging
from collections.abc import Iterable, Iterator
from pathlib import Path

import cv2
import numpy as np

from motionseq.errors import DataError

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")
DEFAULT_FPS = 25.0
_PROBE_FRAMES = 5  # a video must decode one of its first few frames to count as readable


def open_capture(src: str | int) -> cv2.VideoCapture:
    """``cv2.VideoCapture(src)`` without OpenCV's own log lines when it cannot open
    (``Camera index out of range``, backend probing): the caller says what went wrong in
    one line of its own."""
    level = cv2.getLogLevel()
    cv2.setLogLevel(0)  # silent
    try:
        return cv2.VideoCapture(src)
    finally:
        cv2.setLogLevel(level)


class FrameSource:
    """Iterate ``(index, frame)`` over a video file, image folder or camera.

    Args:
        source: a video path, a folder of images, or a camera index (``0`` or ``"0"``).
        fps: frames per second to report instead of the one the source gives (a folder has
            none: it reads ``frameRate`` from a MOTChallenge ``seqinfo.ini`` beside it, else
            uses 25 and says so).
        start: first frame index to yield. stop: index to stop before (None: to the end).

    Raises:
        DataError: the path does not exist, the folder holds no images, the video cannot be
            opened or none of its first frames decode, the camera does not open.
    """

    def __init__(self, source: str | Path | int, fps: float | None = None, start: int = 0,
                 stop: int | None = None) -> None:
        if start < 0 or (stop is not None and stop < start):
            raise DataError(f"frame range must satisfy 0 <= start <= stop, got {start}, {stop}")
        self.start, self.stop = int(start), stop
        self._cap: cv2.VideoCapture | None = None
        self._images: list[Path] | None = None
        self._first: np.ndarray | None = None  # the frame the probe decoded, yielded first
        camera = _camera_index(source)
        if camera is not None:
            self.name = f"camera {camera}"
            self._open_capture(camera, is_camera=True)
        else:
            path = Path(source)
            self.name = str(path)
            if not path.exists():
                raise DataError(f"video not found: {path} (check the path, or pass a camera "
                                f"index such as 0)")
            if path.is_dir():
                self._images = sorted(p for p in path.iterdir()
                                      if p.suffix.lower() in IMAGE_SUFFIXES)
                if not self._images:
                    raise DataError(f"image folder {path} holds no images "
                                    f"({', '.join(IMAGE_SUFFIXES)})")
                self._first = _read_image(self._images[0])
            else:
                self._open_capture(str(path), is_camera=False)
        self.height, self.width = self._first.shape[:2]
        self.fps = float(fps) if fps is not None else self._native_fps()
        if not (np.isfinite(self.fps) and self.fps > 0):
            raise DataError(f"fps must be a positive number, got {self.fps}")

    def _open_capture(self, src: str | int, is_camera: bool) -> None:
        cap = open_capture(src)
        if not cap.isOpened():
            cap.release()
            what = ("camera does not open (is it connected and free?)" if is_camera else
                    "cannot open video (unknown format or corrupt file; re-encode it, e.g. "
                    "`ffmpeg -i in.avi -c:v libx264 out.mp4`)")
            raise DataError(f"{self.name}: {what}")
        # Seek only files; a failed seek falls back to reading and dropping frames.
        self._skipped = 0
        if not is_camera and self.start > 0 and cap.set(cv2.CAP_PROP_POS_FRAMES, self.start):
            self._skipped = int(cap.get(cv2.CAP_PROP_POS_FRAMES))
        for _ in range(_PROBE_FRAMES):
            ok, frame = cap.read()
            if ok and frame is not None and frame.size:
                self._first = frame
                break
            self._skipped += 1
        else:
            cap.release()
            raise DataError(f"{self.name}: none of the first {_PROBE_FRAMES} frames decode "
                            f"(corrupt or truncated file, or a codec OpenCV lacks; re-encode "
                            f"it, e.g. `ffmpeg -i in.avi -c:v libx264 out.mp4`)")
        self._cap = cap

    def _native_fps(self) -> float:
        if self._cap is not None:
            fps = float(self._cap.get(cv2.CAP_PROP_FPS) or 0.0)
            if np.isfinite(fps) and 0 < fps < 1000:
                return fps
            log.warning("%s reports no frame rate; assuming %g fps (pass fps= to set it)",
                        self.name, DEFAULT_FPS)
            return DEFAULT_FPS
        fps = _seqinfo_fps(Path(self.name))
        if fps is None:
            log.warning("image folder %s has no seqinfo.ini frameRate; assuming %g fps (pass "
                        "fps= to set it)", self.name, DEFAULT_FPS)
            return DEFAULT_FPS
        return fps

    @property
    def num_frames(self) -> int | None:
        """Frames the source holds (None for a camera or a video that does not say)."""
        if self._images is not None:
            return len(self._images)
        if self._cap is None or self.name.startswith("camera "):
            return None
        n = int(self._cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        return n if n > 0 else None

    def __len__(self) -> int:
        """Frames this source will yield at most (0 when unknown)."""
        n = self.num_frames
        if n is None:
            return 0 if self.stop is None else self.stop - self.start
        stop = n if self.stop is None else min(n, self.stop)
        return max(0, stop - self.start)

    def __iter__(self) -> Iterator[tuple[int, np.ndarray]]:
        if self._images is not None:
            stop = len(self._images) if self.stop is None else min(self.stop, len(self._images))
            for i in range(self.start, stop):
                frame = self._first if i == 0 and self._first is not None else None
                yield i, frame if frame is not None else _read_image(self._images[i])
            return
        cap, index = self._cap, self._skipped
        if cap is None:
            raise DataError(f"{self.name} is closed")
        frame, self._first = self._first, None
        if frame is None:
            raise DataError(f"{self.name} can be iterated once; open it again")
        while True:
            if self.stop is not None and index >= self.stop:
                break
            if index >= self.start:
                yield index, frame
            index += 1
            ok, frame = cap.read()
            if not ok or frame is None:
                break
        self.close()

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None

    def __enter__(self) -> FrameSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_frames(source: str | Path | int, fps: float | None = None, start: int = 0,
                stop: int | None = None) -> FrameSource:
    """A :class:`FrameSource` (see there for arguments and errors)."""
    return FrameSource(source, fps=fps, start=start, stop=stop)


def read_fps(source: str | Path | int) -> float:
    """Frames per second of a video, image folder or camera (see :class:`FrameSource`)."""
    with FrameSource(source) as src:
        return src.fps


def _camera_index(source: str | Path | int) -> int | None:
    if isinstance(source, bool):
        raise DataError(f"not a video source: {source!r}")
    if isinstance(source, int):
        return source
    if isinstance(source, str) and source.isdigit() and not Path(source).exists():
        return int(source)
    return None


def _read_image(path: Path) -> np.ndarray:
    img = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if img is None:
        raise DataError(f"cannot decode image {path} (corrupt or not an image)")
    return img


def _seqinfo_fps(folder: Path) -> float | None:
    """``frameRate`` from a MOTChallenge ``seqinfo.ini`` in the folder or its parent."""
    for ini in (folder / "seqinfo.ini", folder.parent / "seqinfo.ini"):
        if ini.is_file():
            cp = configparser.ConfigParser()
            try:
                cp.read(ini)
                return float(cp["Sequence"]["frameRate"])
            except (configparser.Error, KeyError, ValueError):
                log.warning("cannot read frameRate from %s", ini)
    return None


def progress_frames(items: Iterable, total: int | None, show: bool, name: str) -> Iterable:
    """``items`` with a tqdm bar named after ``name`` when ``show``."""
    if not show:
        return items
    from tqdm import tqdm

    return tqdm(items, total=total, desc=Path(name).name, unit="frame", dynamic_ncols=True)
