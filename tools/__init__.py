"""Benchmarks and evaluation scripts, run from the checkout root as modules: python -m tools.bench."""
