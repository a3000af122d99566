"""Entry points as plain functions: ``train(cfg) -> dict`` and ``evaluate(cfg) -> dict``."""
