"""The peer systems (basic-pitch, pYIN) run in their own venv and scored with svt-live's
scoring: ``bash benchmarks/peers/run.sh`` (see README.md here)."""
