"""Heuristics of the run: Lagrangian relaxation, DROP, transport, local search."""
