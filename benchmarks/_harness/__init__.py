"""Pieces of the benchmark harness (``benchmarks/harness.py``), small enough to unit-test.

- :mod:`.phantoms`: every phantom behind one call, ``load_case(phantom, seed)`` giving a
  ``Scan`` and a truth dict of one schema;
- :mod:`.metrics`: agreement figures from arrays (headline with targets, per segment,
  confusion, focal detection, extent);
- :mod:`.errors`: the error kinds a physician names, from (truth dict, result) pairs;
- :mod:`.runner`: one case generated, scored and classified (what a pool worker runs);
- :mod:`.page`: the Markdown page and the JSON summary.
"""
