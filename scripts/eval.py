"""Evaluate a checkpoint: ``python scripts/eval.py ckpt_path=PATH [data=...]``."""

from motionseq.cli import eval_main

if __name__ == "__main__":
    eval_main()
