"""refold's benchmark suite: ``python -m bench`` (see docs/benchmarks.md).

Kept outside ``src/`` on purpose: it measures the package from the outside, as a
release pipeline would use it, and may compare it with tools refold does not depend on.
"""
