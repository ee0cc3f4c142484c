"""The replay kernel as it was before the lean kernel (commit 078c840), kept as a baseline.

A frozen copy of ``underlay.simulation``'s engine, stepper, contention, measures, GPU
shares and usage sampler, its imports pointed at this package (the modules it did not
change — blocks, pods, pod columns, power, summary, results — are the package's own). Two users:
``benchmarks/simulate.py --ab`` times it against the current engine in the same run, and
``tests/simulation/test_lean_kernel.py`` checks that both give the same figures. Not to be
edited: it is the measure of "same results" — with one exception, its normal draws:
since the engine's noise became Box–Muller (``underlay.simulation.normals``, in place
of NumPy's ziggurat ``standard_normal``), the baseline draws with the engine's function,
so that it still gives the same usage and the comparison is of kernels alone (the
generator's own speed-up is measured apart, ``benchmarks/simulate.py``'s draws line).
"""
