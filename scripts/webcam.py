"""Live view from a camera or a video file: ``python scripts/webcam.py [source=0]
[ckpt=PATH] [headless=true]`` (see conf/webcam.yaml)."""

from motionseq.live.app import main

if __name__ == "__main__":
    main()
