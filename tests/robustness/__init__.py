"""Robustness tests: what real users throw at svt-live (bad input, faults, load), each a row of
``docs/robustness.md`` (see :mod:`robustness.report`)."""
