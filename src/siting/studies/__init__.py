"""Many runs: bench, pareto, robust, alternatives, and where they execute."""
