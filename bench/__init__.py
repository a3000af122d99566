"""Benchmarks: ``python -m bench.run [name ...]`` (``make bench``) records their figures in
``bench/results.json`` and renders ``bench/results.md``."""
