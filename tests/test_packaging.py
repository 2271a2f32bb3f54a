"""What ships: the bundled default's notes for the bundled clip, and a wheel that works outside the clone."""
from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from compare import JSON_TOL, assert_same_notes

from svt_live.engine.checkpoint import DEFAULT_MODEL
from svt_live.io.annotations import load_notes

ROOT = Path(__file__).resolve().parents[1]
CLIP = ROOT / "svt_live" / "data" / "vocadito_10.wav"
GOLDEN = Path(__file__).parent / "golden" / f"vocadito_10.{DEFAULT_MODEL}.csv"


def test_the_default_model_still_hears_the_bundled_clip_as_committed():
    """A change to decoding, features or the bundled weights shows here as a diff. When the change is
    meant, rewrite the file: ``svt-live svt_live/data/vocadito_10.wav --csv tests/golden/vocadito_10.<default>.csv``
    (the CSV keeps 0.01 semitone, hence JSON_TOL)."""
    from svt_live import transcribe

    notes = [(n.onset, n.offset, n.pitch) for n in transcribe(str(CLIP))]
    assert_same_notes(notes, load_notes(GOLDEN), **JSON_TOL)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """A wheel built from a copy of the files git would commit (building in the clone leaves build/ there)."""
    import shutil

    source, out = tmp_path_factory.mktemp("source"), tmp_path_factory.mktemp("wheel")
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout: the files a wheel is built from are those git lists")
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                            capture_output=True, check=True).stdout.decode().split("\0")
    for rel in filter(None, listed):
        if (ROOT / rel).is_file():
            (source / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / rel, source / rel)
    p = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out),
                        str(source)], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr[-2000:]
    (whl,) = out.glob("svt_live-*.whl")
    return whl


def test_the_wheel_holds_every_module_and_the_bundled_files_and_no_data(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for tree in ("svt_live", "svt_train", "gui"):
        for source in (ROOT / tree).rglob("*.py"):
            rel = source.relative_to(ROOT).as_posix()
            assert rel in names, f"{rel} is not in the wheel (pyproject.toml's packages)"
    for bundled in ("svt_live/weights/singing_crnn.pt", "svt_live/weights/singing_crnn_live.pt",
                    "svt_live/data/vocadito_10.wav"):
        assert bundled in names
    assert not [n for n in names if n.endswith((".flac", ".mp3")) or "mir_st500" in n or "ssvd" in n.lower()]


def test_the_wheel_transcribes_the_bundled_clip_from_another_folder(wheel, tmp_path):
    """Installed without the clone on the path (dependencies come from this environment), run from an
    unrelated folder: the bundled model and clip are found inside the package."""
    site = tmp_path / "site"
    p = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(site), str(wheel)],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr[-2000:]
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    code = ("import sys, svt_live; from pathlib import Path; "
            "assert Path(svt_live.__file__).is_relative_to(Path(sys.argv[1])), svt_live.__file__; "
            "from svt_live.commands.cli import main; "
            "clip = Path(svt_live.__file__).parent / 'data' / 'vocadito_10.wav'; "
            "sys.exit(main([str(clip), '--csv', 'n.csv', '-q']))")
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(site), "HOME": str(tmp_path)}
    p = subprocess.run([sys.executable, "-c", code, str(site)], cwd=elsewhere, env=env, capture_output=True,
                       text=True, timeout=300)
    assert p.returncode == 0, p.stderr[-2000:]
    assert_same_notes(load_notes(elsewhere / "n.csv"), load_notes(GOLDEN), **JSON_TOL)
