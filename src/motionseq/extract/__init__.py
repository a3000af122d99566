"""From video to data: frame sources and object paths (detection, tracking, MOT files)."""
