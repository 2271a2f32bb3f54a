"""What the per-set, per-model benchmark scripts share: their command line."""
from __future__ import annotations

import argparse
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def sets_and_models(doc: str, sets: str, argv=None) -> argparse.Namespace:
    """Parse ``--sets`` (comma-separated named sets), ``--models`` (bundled names or checkpoint
    paths, comma-separated) and ``--data-root`` (default ``../shared/data`` beside the repo)."""
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sets", default=sets)
    ap.add_argument("--models", default="singing_crnn")
    ap.add_argument("--data-root", default=str(ROOT.parent / "shared" / "data"))
    return ap.parse_args(argv)
