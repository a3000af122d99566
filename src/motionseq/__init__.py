"""motionseq: video to motion sequences, and recurrent models that learn from them."""

__version__ = "0.1.0"
