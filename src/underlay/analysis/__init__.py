"""Analyses of a placement: capacity, overheads, stranded resources, sharing, cost."""
