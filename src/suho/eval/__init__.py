"""Benchmarks registry, metrics and report rendering."""
