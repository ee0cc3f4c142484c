"""Reference implementations used by the benchmarks (not part of underlay)."""
