"""Live inference: per-frame action recognition, repetition counting, tracked people and
their forecast paths, capture on its own thread, drawing, the loop that joins them
(``motionseq-webcam``), and the export of classifiers to ONNX / TorchScript
(``motionseq-export``)."""
