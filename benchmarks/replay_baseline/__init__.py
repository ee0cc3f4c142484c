"""The replay kernel as it was before the lean kernel (commit 078c840), kept as a baseline.

A frozen copy of ``underlay.simulation``'s engine, stepper, contention, measures, GPU
shares and usage sampler, its imports pointed at this package (the modules it did not
change — blocks, pods, pod columns, power, summary, results — are the package's own). Two users:
``benchmarks/simulate.py --ab`` times it against the current engine in the same run, and
``tests/simulation/test_lean_kernel.py`` checks that both give the same figures. Not to be
edited: it is the measure of "same results".
"""
