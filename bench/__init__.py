"""Benchmarks for Duck: `python -m bench` (full) or `python -m bench --quick` (seconds)."""
