"""Fixtures of the robustness tests (the ``robust`` fixture comes with the report plugin)."""
from test_cli import keep_torch_threads  # noqa: F401  (autouse: file mode changes torch's thread count)
