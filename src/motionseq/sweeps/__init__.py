"""Hydra multiruns (a grid or an Optuna search): every trial in one ranked table, the
metric plotted against each swept parameter, the best trial as a ready experiment config,
and the checks and preparation before a multirun starts.

``summary`` reads and ranks the trials, ``plots`` draws them, ``best_experiment`` turns the
best into an ``experiment/`` file, ``report`` writes all of it into the sweep directory
(``motionseq-sweep-summary SWEEP_DIR``), ``checks`` and ``optuna_study`` run before the
first job, and ``callback`` (``conf/hydra/default.yaml``) ties them to Hydra.
"""
