"""The Python API: svt_live.transcribe / load_model / Transcriber (the doctests cover the happy paths)."""
import subprocess
import sys

import numpy as np
import pytest

import svt_live
from svt_live.audio import AudioError, load_audio
from svt_live.checkpoint import CheckpointError


def test_import_is_light_and_exports_the_api():
    code = "import sys, svt_live; print(sorted(svt_live.__all__)); print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "'load_model', 'transcribe'" in out and "'Transcriber'" in out and out.strip().endswith("False")
    assert callable(svt_live.transcribe)
    code = "import sys, svt_live; svt_live.write; print(sorted(m for m in ('torch', 'music21') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"  # svt_live.write loads music21 only when it writes a score
    with pytest.raises(AttributeError):
        svt_live.nothing_here  # noqa: B018


def test_bad_inputs_raise_clear_errors(tmp_path):
    with pytest.raises(AudioError):
        svt_live.transcribe(tmp_path / "missing.wav")
    with pytest.raises(CheckpointError, match="no such checkpoint"):
        svt_live.load_model("no_such_model")


def test_stereo_int16_samples_at_another_rate_give_the_same_notes(note_model):
    audio = load_audio(svt_live.EXAMPLE_AUDIO, 22050)
    stereo = (np.stack([audio, audio], axis=1) * 32767).astype(np.int16)
    model = svt_live.load_model(note_model)
    a = svt_live.transcribe(audio, 22050, model=model)
    b = svt_live.transcribe(stereo, 22050, model=model)
    assert len(a) > 0 and [(n.onset, n.offset) for n in a] == [(n.onset, n.offset) for n in b]
    assert all(1 <= n.velocity <= 127 and n.onset < n.offset for n in a)
