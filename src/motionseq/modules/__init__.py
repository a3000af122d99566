"""LightningModules: the action classifier (many-to-one) and the trajectory forecaster
(many-to-many), with their metrics and self-contained checkpoints."""
