"""The Python API with what a careless call hands it: a long array (memory stays flat), librosa's
``[channels, n]`` layout, no or absurd sample rates, a device the machine lacks. Each bad argument is
one ``ValueError`` saying what to give, never a raw exception from deep inside."""
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import svt_live
from svt_live.io.audio import load_audio

from .helpers import case

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def model(note_model):
    return svt_live.load_model(note_model)


@pytest.mark.robustness("engine", "the same notes as [n, 2] and as mono",
                        case="API: transcribe a [2, n] array (librosa's channels-first layout)")
def test_channels_first_is_understood(model, robust):
    mono = load_audio(svt_live.EXAMPLE_AUDIO, 22050)
    want = [(n.onset, n.offset) for n in svt_live.transcribe(mono, sample_rate=22050, model=model)]
    got = {layout: [(n.onset, n.offset) for n in svt_live.transcribe(a, sample_rate=22050, model=model)]
           for layout, a in (("[2, n]", np.stack([mono, mono])), ("[n, 2]", np.stack([mono, mono], axis=1)))}
    robust(f"{len(want)} notes mono; " + "; ".join(f"{k}: {len(v)} notes" for k, v in got.items()))
    assert len(want) > 0 and got["[2, n]"] == got["[n, 2]"] == want


@pytest.mark.robustness("engine", "ValueError naming both limits", case="API: an array of shape [100, 100]")
def test_an_array_with_no_channel_axis_is_refused(model, robust):
    with pytest.raises(ValueError, match=r"at most 64 channels") as err:
        svt_live.transcribe(np.zeros((100, 100)), sample_rate=16000, model=model)
    robust(f"ValueError: {err.value}")


@pytest.mark.parametrize("rate, says", [
    case("API: an array without sample_rate", None, "sample_rate is required", category="engine",
         expected="ValueError: sample_rate is required"),
    *[case(f"API: sample_rate={r!r}", r, "sample_rate must be a whole number of Hz from 1000 to 768000",
           category="engine", expected="one ValueError giving the range")
      for r in (1, math.nan, 1e12, -44100, 44100.5, "44.1k")],
])
def test_bad_sample_rates_are_one_clear_error(rate, says, model, robust):
    for call in (lambda: svt_live.transcribe(np.zeros(16000), sample_rate=rate, model=model),
                 lambda: svt_live.Transcriber(model, sample_rate=rate)):
        with pytest.raises(ValueError) as err:
            call()
        assert str(err.value).startswith(says), err.value
    robust(f"ValueError: {err.value}")


@pytest.mark.parametrize("device", [
    case("API: load_model(device='cuda') on a machine without CUDA", "cuda", category="engine",
         expected="ValueError: no CUDA device"),
    case("API: load_model(device='tpu')", "tpu", category="engine", expected="ValueError naming the choices"),
])
def test_unusable_devices_are_one_clear_error(device, robust):
    if device == "cuda" and torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(ValueError, match=rf"^load_model\(device='{device}'\): ") as err:
        svt_live.load_model(device=device)
    robust(f"ValueError: {err.value}")


MEMORY = """
import resource, sys
import numpy as np
import svt_live
model = svt_live.load_model(sys.argv[1])
peak_mb = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
noise = np.random.default_rng(0).standard_normal(16000 * 60).astype(np.float32) * 0.1
svt_live.transcribe(noise[:16000 * 10], sample_rate=16000, model=model)
before = peak_mb()
svt_live.transcribe(noise, sample_rate=16000, model=model)
t = svt_live.Transcriber(model, sample_rate=16000)
t.push(noise)
t.finish()
print(peak_mb() - before)
"""


@pytest.mark.robustness("load", "the process's peak memory grows by less than 30 MB (the array's own 4 MB aside)",
                        case="API: transcribe() and one Transcriber.push of 60 s after 10 s")
def test_a_long_array_keeps_memory_flat(note_model, robust):
    p = subprocess.run([sys.executable, "-c", MEMORY, str(note_model)], capture_output=True, text=True,
                       timeout=120, env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert p.returncode == 0, p.stderr
    grown = float(p.stdout.strip())
    robust(f"peak memory grew {grown:.0f} MB from 10 s to 60 s of audio")
    assert grown < 30


@pytest.mark.parametrize("name, notes, options, says", [
    case("API: svt_live.write to an unknown extension", "x.pdf", [[0, 1, 60]], {}, "cannot tell the format",
         category="engine", expected="ValueError naming the extensions; nothing written"),
    case("API: svt_live.write rows with NaN", "x.musicxml", [[0, math.nan, 60]], {}, "notes need finite",
         category="engine", expected="ValueError; nothing written"),
    case("API: svt_live.write a note ending before it starts", "x.mid", [[1, 0.5, 60]], {}, "notes need finite",
         category="engine", expected="ValueError; nothing written"),
    case("API: svt_live.write rows of two columns", "x.csv", [[0, 1]], {}, "rows of numbers",
         category="engine", expected="ValueError; nothing written"),
    case("API: svt_live.write bpm=0", "x.musicxml", [[0, 1, 60]], {"bpm": 0}, "--bpm must be between 20 and 400",
         category="engine", expected="ValueError giving the range; nothing written"),
    case("API: svt_live.write meter='four'", "x.musicxml", [[0, 1, 60]], {"meter": "four"}, "--meter takes",
         category="engine", expected="ValueError with examples; nothing written"),
    case("API: svt_live.write key='H'", "x.mid", [[0, 1, 60]], {"key": "H"}, "--key takes",
         category="engine", expected="ValueError with examples; nothing written"),
])
def test_write_refuses_bad_arguments_before_writing(name, notes, options, says, tmp_path, robust):
    with pytest.raises(ValueError) as err:
        svt_live.write(notes, tmp_path / name, **options)
    assert says in str(err.value), err.value
    assert not list(tmp_path.iterdir())
    robust(f"ValueError: {err.value}")


@pytest.mark.robustness("engine", "ValueError: live_model and bends need live=True",
                        case="API: Transcriber(bends=True) or live_model= without live=True")
def test_live_options_without_the_live_path_are_refused(model, robust):
    for kwargs in ({"bends": True}, {"live_model": "singing_crnn_live"}):
        with pytest.raises(ValueError, match="live_model and bends need live=True") as err:
            svt_live.Transcriber(model, 16000, **kwargs)
    robust(f"ValueError: {err.value}")
