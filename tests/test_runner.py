"""One way to run a take: MidiChoice and its one opening policy on real JACK ports
(svt_live.io.midiport), the block sources (svt_live.io.blocks) and the take runner
(svt_live.engine.runner) finishing cleanly when its source fails, is stopped or is interrupted."""
import inspect
import os
import threading
import wave
from pathlib import Path

import mido
import numpy as np
import pytest
from compare import assert_same_notes
from test_live import drain

from svt_live.engine.checkpoint import load_model
from svt_live.engine.driver import MidiSink
from svt_live.engine.lowlatency import LowLatencyEngine, load_live_model
from svt_live.engine.offline import transcribe_path
from svt_live.engine.runner import pick_engine, run_take
from svt_live.engine.streaming import FILE_HOP, LIVE_HOP, Engine
from svt_live.events import NoteOff, NoteOn
from svt_live.io.audio import AudioError, load_audio
from svt_live.io.blocks import file_blocks
from svt_live.io.midifile import write_midi_file
from svt_live.io.midiport import MidiChoice, MidiPortError, open_midi

CLIP = Path(__file__).resolve().parents[1] / "svt_live" / "data" / "vocadito_10.wav"
SR = 16000


# ---- MidiChoice: the CLI's and svt-gui's spellings --------------------------------------------------

@pytest.mark.parametrize("text, kind, name", [(None, "none", ""), ("", "none", ""), ("none", "none", ""),
                                              ("virtual", "virtual", "svt-live"),
                                              ("port:FLUID Synth:0", "port", "FLUID Synth:0")])
def test_gui_spelling_reads_back(text, kind, name):
    choice = MidiChoice.parse(text)
    assert (choice.kind, choice.name, choice.create) == (kind, name, False)
    assert MidiChoice.parse(choice.spelling) == choice


@pytest.mark.parametrize("text", ["port:", "port:  ", "Port:x", "loopMIDI", 3])
def test_junk_spelling_is_an_error_or_no_midi(text):
    with pytest.raises(ValueError, match="not a MIDI choice"):
        MidiChoice.parse(text)
    assert MidiChoice.parse(text, strict=False) == MidiChoice()  # a stored setting no longer understood


def test_cli_option_and_checks():
    assert MidiChoice.from_option(None) == MidiChoice("none")
    assert MidiChoice.from_option("svt-live") == MidiChoice("port", "svt-live", create=True)  # --midi-out alone
    with pytest.raises(ValueError, match="unknown MIDI choice 'alsa'"):
        MidiChoice("alsa")
    with pytest.raises(ValueError, match="needs the port's name"):
        MidiChoice("port", " ")
    with pytest.raises(AttributeError):
        MidiChoice().kind = "virtual"  # frozen


# ---- open_midi: one policy, real JACK ports --------------------------------------------------------

class Synth:
    """A synth's MIDI input port 'Runner In' on JACK: what a take's MIDI output plays to."""

    def __init__(self, rtmidi):
        self.port = rtmidi.MidiIn(rtmidi.API_UNIX_JACK, name=f"runner-synth-{os.getpid()}")
        self.port.open_virtual_port("Runner In")

    def ports(self) -> list[str]:
        """The MIDI sources the synth could connect to."""
        return self.port.get_ports()

    def heard(self) -> list:
        """Every message received, then the port is closed (:func:`test_live.drain`)."""
        port, self.port = self.port, None
        return drain(port)

    def close(self) -> None:
        if self.port is not None:
            self.port.close_port()
            self.port.delete()
            self.port = None


@pytest.fixture
def jack_midi(jack_server, monkeypatch):
    """rtmidi on the test JACK server, with a :class:`Synth` to play to."""
    rtmidi = pytest.importorskip("rtmidi")
    monkeypatch.setenv("SVT_MIDI_API", "jack")
    synth = Synth(rtmidi)
    yield synth
    synth.close()


def test_open_each_kind_on_jack(jack_midi):
    warned = []
    assert open_midi(MidiChoice(), warned.append) is None
    virtual = open_midi(MidiChoice.parse("virtual"), warned.append, bends=True)
    try:
        assert (virtual.port_name, virtual.api) == ("svt-live", "jack")
        assert any("svt-live" in p for p in jack_midi.ports())  # a source a synth can connect
        assert virtual.describe() == "'svt-live' (jack), pitch bends +-2 semitones"
    finally:
        virtual.close()
    named = open_midi(MidiChoice.parse("port:runner in"), warned.append)  # svt-gui: an existing port
    try:
        assert "Runner In" in named.port_name and named.describe().endswith("(jack)")
    finally:
        named.close()
    created = open_midi(MidiChoice.from_option("svt-runner-new"), warned.append)  # --midi-out NAME: none matches
    try:
        assert created.port_name == "svt-runner-new"
    finally:
        created.close()
    assert warned == []


def test_a_port_that_cannot_open_warns_or_raises(jack_midi):
    """A named port that is not there: given ``warn``, one line and the take goes on; else the error."""
    warned = []
    assert open_midi(MidiChoice("port", "organ"), warned.append) is None
    assert len(warned) == 1
    assert warned[0].startswith("MIDI out unavailable: no MIDI output port matching 'organ' (available: ")
    assert "Runner In" in warned[0] and warned[0].endswith("; transcribing without MIDI")
    with pytest.raises(MidiPortError, match=r"^no MIDI output port matching 'organ'"):
        open_midi(MidiChoice("port", "organ"))


def test_no_midi_system_warns(monkeypatch):
    monkeypatch.setenv("SVT_MIDI_API", "jack")
    monkeypatch.setenv("JACK_DEFAULT_SERVER", "svt-no-such-server")
    pytest.importorskip("rtmidi")
    warned = []
    assert open_midi(MidiChoice("virtual"), warned.append) is None
    assert warned == ["MIDI out unavailable: no MIDI system available (tried jack: JACK needs a running jackd); "
                      "transcribing without MIDI"]


# ---- block sources ------------------------------------------------------------------------------

def test_paced_file_blocks_end_at_a_stop_event():
    """svt-gui's stop (a threading.Event) ends a paced file (short blocks, at the song's pace) at once."""
    stop = threading.Event()
    got = []
    for block in file_blocks(CLIP, SR, paced=True, stop=stop):
        got.append(block)
        if len(got) == 5:
            stop.set()
    assert len(got) == 5 and len(got[1]) < 0.2 * SR
    head = np.concatenate(got)
    np.testing.assert_array_equal(head, load_audio(CLIP)[:len(head)])


def test_pick_engine(note_model):
    lm = load_model(note_model)
    engine = pick_engine(lm, 44100)
    assert type(engine) is Engine and engine.hop == int(FILE_HOP * SR) and engine.input_rate == 44100
    live = pick_engine(lm, SR, load_live_model())
    assert isinstance(live, LowLatencyEngine) and live.live.hop == int(LIVE_HOP * SR)


# ---- the runner: however the take ends, the engine is finished and the port silenced ---------------

@pytest.fixture(scope="module")
def clip16(tmp_path_factory) -> Path:
    """The bundled clip as a 16 kHz 16-bit WAV (9.1 s): its blocks need no resampling."""
    path = tmp_path_factory.mktemp("runner") / "clip16.wav"
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SR)
        w.writeframes(np.clip(np.round(load_audio(CLIP) * 32768), -32768, 32767).astype("<i2").tobytes())
    return path


def head_of(wav: Path, frames: int, out: Path) -> Path:
    """The first ``frames`` samples of a WAV, copied as they are."""
    with wave.open(str(wav)) as r, wave.open(str(out), "wb") as w:
        w.setparams(r.getparams())
        w.writeframes(r.readframes(frames))
    return out


def breaking(blocks, sent: list):
    """The first of ``blocks`` (its length appended to ``sent``), then the error of a file that breaks off."""
    for block in blocks:
        yield block
        sent.append(len(block))
        raise AudioError("clip16.wav: decoding failed mid-way")


def port_bytes(events) -> list[list[int]]:
    return [[0x90, e.pitch, e.velocity] if isinstance(e, NoteOn) else [0x80, e.pitch, 0] for e in events
            if isinstance(e, (NoteOn, NoteOff))]


def test_a_failing_source_ends_the_take_cleanly(jack_midi, note_model, clip16, tmp_path):
    """The file breaks off after its first (5 s) block: the runner returns the reason, the take keeps the
    notes file mode gives on that audio (the sounding note closed), the port gets every note-off and
    all-notes-off, and the take's MIDI file reads back with those notes."""
    lm = load_model(note_model)
    engine = pick_engine(lm, SR)
    warned, seen = [], []
    midi = MidiSink(open_midi(MidiChoice.parse("port:Runner In"), warned.append), warned.append)
    sent = []
    failure = run_take(engine, breaking(file_blocks(clip16, SR), sent), [midi, seen.extend])
    assert failure == "clip16.wav: decoding failed mid-way"
    assert midi.midi is None and warned == []  # the port was closed
    assert sent[0] > 4.9 * SR and engine.stream_time == sent[0] / SR
    expected = transcribe_path(head_of(clip16, sent[0], tmp_path / "head.wav"), lm).notes
    assert len(expected) > 3 and expected[-1, 1] == pytest.approx(sent[0] / SR, abs=0.03)  # sounding at the break
    assert_same_notes(engine.notes, expected)
    got = jack_midi.heard()
    assert got == port_bytes(seen) + [[0xB0, 123, 0]]
    assert sum(m[0] == 0x90 for m in got) == sum(m[0] == 0x80 for m in got) == len(expected)
    write_midi_file(tmp_path / "take.mid", engine.notes, engine.velocities.tolist())
    ons = [m for m in mido.MidiFile(tmp_path / "take.mid") if m.type == "note_on" and m.velocity > 0]
    assert [m.note for m in ons] == [int(p) for p in np.round(expected[:, 2])]


def test_a_stop_request_closes_the_source(jack_midi, note_model, clip16):
    lm = load_model(note_model)
    engine = pick_engine(lm, SR)
    pushed = []
    midi = MidiSink(open_midi(MidiChoice.parse("port:Runner In")), print)
    blocks = file_blocks(clip16, SR)
    assert run_take(engine, blocks, [midi, pushed.append], stop=lambda: len(pushed) >= 1) is None
    assert inspect.getgeneratorstate(blocks) == inspect.GEN_CLOSED  # the file is closed
    assert 4.9 < engine.stream_time < 5.1 and len(pushed) == 2  # one 5 s block of 9.1 s, and the finish
    assert midi.midi is None
    assert jack_midi.heard()[-1] == [0xB0, 123, 0]


def test_an_interrupt_still_silences_the_port(jack_midi, note_model, clip16):
    """Ctrl-C raised in a sink (file mode's stop check): the runner closes the source and the port, then
    lets it through."""
    engine = pick_engine(load_model(note_model), SR)
    midi = MidiSink(open_midi(MidiChoice.parse("port:Runner In")), print)
    blocks = file_blocks(clip16, SR)

    def interrupt(events):
        raise KeyboardInterrupt
    with pytest.raises(KeyboardInterrupt):
        run_take(engine, blocks, [midi, interrupt])
    assert inspect.getgeneratorstate(blocks) == inspect.GEN_CLOSED and midi.midi is None
    got = jack_midi.heard()
    assert got[-1] == [0xB0, 123, 0]
    assert sum(m[0] == 0x90 for m in got) == sum(m[0] == 0x80 for m in got)  # no note left hanging
