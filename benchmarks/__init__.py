"""Performance and literature benchmarks of siting; ``python -m benchmarks --help``."""
