"""Re-runnable measurements of svt-live, run as modules from the repository root:
``python -m benchmarks.accuracy`` and so on (each prints a table)."""
