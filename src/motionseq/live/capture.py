"""Frame capture on its own thread.

:class:`Capture` reads a camera, a video file or an image folder on a background thread
into a bounded queue. From a camera (``drop_stale``, the default there) a full queue drops
its oldest frame and a read takes the newest queued frame (dropping older ones), so a slow
consumer always gets the newest picture and latency cannot grow; from a file every frame
is kept (the reader waits), so a headless run sees them all. ``realtime`` releases a
file's frames at the file's own rate, as a camera gives them: with ``drop_stale`` it
replays a file as a live source (for latency figures).

Errors are raised where the caller can act on them: a camera index that opens nothing, a
camera that opens but gives no frames, a file that cannot be decoded (see
:class:`~motionseq.extract.video.FrameSource`).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from motionseq.errors import DataError
from motionseq.extract.video import FrameSource, open_capture

__all__ = ["Capture", "Frame"]

log = logging.getLogger(__name__)

_END = object()  # end of stream marker in the queue
CAMERA_FPS = 30.0  # assumed when a camera does not report its rate


@dataclass
class Frame:
    """One captured frame.

    Attributes:
        index: frame number from the start of the source (cameras: frames read, dropped
            ones included).
        image: BGR ``[H, W, 3]`` uint8.
        timestamp: seconds into the stream (files: ``index / fps``; cameras: since the
            first frame).
        captured: ``time.perf_counter()`` when it was read (for latency figures).
    """

    index: int
    image: np.ndarray
    timestamp: float
    captured: float


def camera_index(source: str | Path | int) -> int | None:
    """The camera index ``source`` names (an int or a string of digits that is no file)."""
    if isinstance(source, bool):
        return None
    if isinstance(source, int):
        return source
    if isinstance(source, str) and source.isdigit() and not Path(source).exists():
        return int(source)
    return None


class Capture:
    """Frames of a camera, video file or image folder, read on a background thread.

    Args:
        source: a camera index (``0``) or a path (see :class:`FrameSource`).
        fps: frame rate to report instead of the source's.
        start, stop: frame range of a file (0-based, stop exclusive).
        queue_size: frames the queue holds (>= 1).
        drop_stale: drop the oldest queued frame when the queue is full; None = for
            cameras only.
        timeout: seconds a camera may go without giving a frame before it is reported.
        realtime: release a file's (or iterable's) frames no faster than ``fps``, as a
            camera does (cameras pace themselves).

    Raises:
        DataError: no camera at that index, a camera that gives no frames (raised by
            :meth:`start`), a missing or undecodable file.
    """

    def __init__(self, source: str | Path | int, fps: float | None = None, start: int = 0,
                 stop: int | None = None, queue_size: int = 2, drop_stale: bool | None = None,
                 timeout: float = 5.0, realtime: bool = False) -> None:
        if queue_size < 1:
            raise DataError(f"queue_size must be at least 1, got {queue_size}")
        self.timeout = float(timeout)
        cam = camera_index(source)
        self.is_camera = cam is not None
        if cam is not None:
            self.name = f"camera {cam}"
            cap = open_capture(cam)
            if not cap.isOpened():
                cap.release()
                raise DataError(
                    f"no camera at index {cam} (none connected, or another program holds "
                    f"it); try another index (source=1), or a video file (source=clip.mp4)")
            self._cap = cap
            rate = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
            self.fps = float(fps) if fps else (rate if 0 < rate < 1000 else CAMERA_FPS)
            self.width = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH) or 0)
            self.height = int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT) or 0)
            self.num_frames: int | None = None
            self._frames: Iterable[tuple[int, np.ndarray]] = self._camera_frames()
        else:
            src = FrameSource(source, fps=fps, start=start, stop=stop)
            self._cap = None
            self._source = src
            self.name, self.fps = src.name, src.fps
            self.width, self.height = src.width, src.height
            self.num_frames = len(src) or None
            self._frames = src
        self._setup(queue_size, self.is_camera if drop_stale is None else drop_stale,
                    realtime and not self.is_camera)

    @classmethod
    def from_frames(cls, frames: Iterable[tuple[int, np.ndarray]], fps: float,
                    name: str = "frames", queue_size: int = 2, drop_stale: bool = True,
                    timeout: float = 5.0, realtime: bool = False) -> Capture:
        """A capture over any iterable of ``(index, BGR image)`` (tests, other readers)."""
        self = cls.__new__(cls)
        self.timeout, self.is_camera, self.name, self.fps = float(timeout), False, name, fps
        self._cap = None
        self.width = self.height = 0
        self.num_frames = None
        self._frames = frames
        self._setup(queue_size, drop_stale, realtime)
        return self

    def _setup(self, queue_size: int, drop_stale: bool, realtime: bool = False) -> None:
        self.drop_stale = bool(drop_stale)
        self.realtime = bool(realtime)
        self._dropped_full = 0  # by the reader thread: the queue was full
        self._dropped_old = 0  # by read(): newer frames were queued
        self._end_next = False  # read() drained the end marker after a frame
        self._queue: queue.Queue = queue.Queue(maxsize=queue_size)
        self._stop = threading.Event()
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None
        self._t0: float | None = None
        self._ended = False

    # ------------------------------------------------------------------ reader thread

    def _camera_frames(self) -> Iterator[tuple[int, np.ndarray]]:
        index, last_good = 0, time.perf_counter()
        while not self._stop.is_set():
            ok, frame = self._cap.read()
            if ok and frame is not None and frame.size:
                last_good = time.perf_counter()
                yield index, frame
                index += 1
                continue
            if time.perf_counter() - last_good > self.timeout:
                what = "gave no frames" if index == 0 else "stopped giving frames"
                raise DataError(
                    f"{self.name} opened but {what} for {self.timeout:g} s (in use by "
                    f"another program, a virtual camera without a stream, or unplugged?); "
                    f"try another index, or a video file (source=clip.mp4)")
            time.sleep(0.01)

    def _put(self, item: object) -> None:
        """Queue an item; a full queue drops its oldest frame (drop_stale) or waits."""
        while not self._stop.is_set():
            if self.drop_stale and item is not _END:
                try:
                    self._queue.put_nowait(item)
                    return
                except queue.Full:
                    try:
                        self._queue.get_nowait()
                        self._dropped_full += 1
                    except queue.Empty:
                        pass
                    continue
            try:
                self._queue.put(item, timeout=0.05)
                return
            except queue.Full:
                continue

    def _run(self) -> None:
        try:
            for k, (index, image) in enumerate(self._frames):
                if self._stop.is_set():
                    break
                now = time.perf_counter()
                if self._t0 is None:
                    self._t0 = now
                if self.realtime:  # not before the frame's time since the first one
                    wait = self._t0 + k / self.fps - now
                    if wait > 0:
                        time.sleep(wait)
                        now = time.perf_counter()
                ts = now - self._t0 if self.is_camera else index / self.fps
                self._put(Frame(int(index), image, float(ts), now))
        except BaseException as e:  # handed to the consumer by read()
            self._error = e
        finally:
            self._put(_END)

    # ------------------------------------------------------------------ consumer side

    @property
    def dropped(self) -> int:
        """Frames dropped because the consumer was slower than the source."""
        return self._dropped_full + self._dropped_old

    def start(self) -> Capture:
        """Start the reader thread (idempotent)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name=f"capture {self.name}",
                                            daemon=True)
            self._thread.start()
        return self

    def read(self, timeout: float | None = None) -> Frame | None:
        """The next frame (the newest one when frames are dropped); None at the end of
        the stream. Raises what the reader hit (DataError for a camera without frames);
        DataError after ``timeout`` seconds (default: the capture's) without a frame."""
        if self._ended:
            return None
        self.start()
        wait = self.timeout + 1.0 if timeout is None else timeout
        if self._end_next:
            item = _END
        else:
            try:
                item = self._queue.get(timeout=wait)
            except queue.Empty:
                raise DataError(f"{self.name}: no frame for {wait:g} s") from None
        while self.drop_stale and item is not _END:  # skip to the newest queued frame
            try:
                newer = self._queue.get_nowait()
            except queue.Empty:
                break
            if newer is _END:
                self._end_next = True
                break
            item = newer
            self._dropped_old += 1
        if item is _END:
            self._ended = True
            if self._error is not None:
                raise self._error
            return None
        return item

    def __iter__(self) -> Iterator[Frame]:
        while (frame := self.read()) is not None:
            yield frame

    def close(self) -> None:
        """Stop the reader and release the source (idempotent)."""
        self._stop.set()
        while True:  # unblock a waiting reader thread
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break
        if self._thread is not None:
            self._thread.join(timeout=2.0)
        try:  # and a consumer waiting in read(): the stream has ended
            self._queue.put_nowait(_END)
        except queue.Full:
            pass
        if self._cap is not None:
            self._cap.release()
            self._cap = None
        src = getattr(self, "_source", None)
        if src is not None:
            src.close()

    def __enter__(self) -> Capture:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()
