"""Benchmarks: ``make bench`` (``python -m bench``). Results are written to docs/benchmarks.md."""
