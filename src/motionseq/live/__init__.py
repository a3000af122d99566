"""Live inference: per-frame action recognition, repetition counting, capture on its own
thread, drawing, and the loop that joins them (``motionseq-webcam``)."""
