"""The decision: scorecard, least-cost hybrid, Pareto frontier, sensitivity."""
