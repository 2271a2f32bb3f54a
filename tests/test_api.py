"""The Python API: svt_live.transcribe / load_model / Transcriber (the doctests cover the happy paths)."""
import subprocess
import sys

import numpy as np
import pytest

import svt_live
from svt_live.engine.checkpoint import CheckpointError
from svt_live.io.audio import AudioError, load_audio


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


def test_the_live_path_streams_early_events_and_keeps_the_file_paths_notes():
    """Transcriber(live=True): NoteOns come out while pushing, tens of ms after their note time; at
    finish() its notes are those of the file path."""
    from compare import assert_same_notes

    from svt_live.engine.offline import transcribe_path
    from svt_live.events import NoteOff, NoteOn, PitchBend

    audio = load_audio(svt_live.EXAMPLE_AUDIO, 48000)
    live = svt_live.Transcriber(sample_rate=48000, live=True, bends=True)
    pushed = []
    for i in range(0, len(audio), 480):  # 10 ms blocks
        pushed += live.push(audio[i:i + 480])
    last = live.finish()
    ons = [e for e in pushed if isinstance(e, NoteOn)]
    assert len(ons) >= 10 and any(isinstance(e, PitchBend) for e in pushed)
    lags = [e.emitted_at - e.time for e in ons]
    assert max(lags) <= 0.2 and np.median(lags) <= 0.06  # the default path's NoteOns come 60-100 ms late
    assert sum(isinstance(e, NoteOff) for e in pushed + last) == len(ons)
    files = transcribe_path(svt_live.EXAMPLE_AUDIO, svt_live.load_model())
    assert_same_notes([(n.onset, n.offset, n.pitch) for n in live.notes], files.notes)
    assert [n.velocity for n in live.notes] == list(files.velocities)


def test_live_options_are_checked():
    with pytest.raises(ValueError, match="live_model and bends need live=True"):
        svt_live.Transcriber(sample_rate=16000, bends=True)
    with pytest.raises(CheckpointError, match="no such checkpoint"):
        svt_live.Transcriber(sample_rate=16000, live=True, live_model="no_such_model")
