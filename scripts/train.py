"""Train a model from conf/train.yaml: ``python scripts/train.py [key=value ...]``."""

from motionseq.cli import train_main

if __name__ == "__main__":
    train_main()
