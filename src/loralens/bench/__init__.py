"""Benchmarks: timed comparisons of loralens computations against lower bounds and peers."""
