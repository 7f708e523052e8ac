"""Benchmarks: each ``bench_*.py`` module here defines ``main() -> str`` (a Markdown section)."""
