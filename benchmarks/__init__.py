"""Benchmarks: figures are recorded in BENCHMARKS.md with the command that produced them."""
