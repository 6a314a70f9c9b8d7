"""Benchmarks (`make bench`): scripts that print `name=value unit` lines, never timed assertions."""
