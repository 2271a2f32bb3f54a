"""svt_live.io.midifile and midiport: MIDI files read back exactly; live ports carry exactly the engine's events
(real JACK)."""
import os
import time

import mido
import numpy as np
import pytest
import synth

from svt_live.engine.checkpoint import load_model
from svt_live.engine.streaming import Engine
from svt_live.events import NoteOff, NoteOn
from svt_live.io.annotations import load_midi_notes
from svt_live.io.midifile import write_midi_file
from svt_live.io.midiport import MidiOut, MidiPortError, list_output_ports, output_port_names

rtmidi = pytest.importorskip("rtmidi")


def test_midi_file_reads_back_within_1ms(tmp_path, rng):
    onsets = np.cumsum(rng.uniform(0.05, 0.7, 60))
    notes = np.stack([onsets, onsets + rng.uniform(0.03, 0.5, 60), rng.integers(40, 90, 60)], axis=1)
    notes[10, 0] = notes[9, 1]  # a note starting exactly where the previous one ends
    notes[10, 2] = notes[9, 2]  # ... on the same pitch
    notes = notes[np.argsort(notes[:, 0])]
    velocities = rng.integers(1, 128, len(notes))
    path = tmp_path / "n.mid"
    write_midi_file(path, notes, velocities)
    back = load_midi_notes(path)
    assert back.shape == notes.shape
    np.testing.assert_allclose(back[:, :2], notes[:, :2], atol=1e-3)
    np.testing.assert_array_equal(back[:, 2], notes[:, 2])
    ons = [m.velocity for m in mido.MidiFile(path) if m.type == "note_on" and m.velocity > 0]
    assert ons == list(velocities)


def test_midi_file_of_no_notes(tmp_path):
    write_midi_file(tmp_path / "e.mid", np.zeros((0, 3)))
    assert len(load_midi_notes(tmp_path / "e.mid")) == 0


def test_unknown_api_is_a_clear_error():
    with pytest.raises(MidiPortError, match="unknown MIDI API 'nope'"):
        MidiOut(api="nope")


@pytest.mark.skipif(os.path.exists("/dev/snd/seq"), reason="this machine has an ALSA sequencer")
def test_no_midi_system_is_a_clear_error():
    with pytest.raises(MidiPortError, match="no MIDI system available.*ALSA needs /dev/snd/seq"):
        MidiOut(api="alsa")
    assert output_port_names(api="alsa") == []
    assert "alsa: not available" in list_output_ports(api="alsa")


def receive(midi_in, n: int, timeout: float = 5.0) -> list[list[int]]:
    """Poll a MidiIn until ``n`` messages arrived (or ``timeout`` s)."""
    got, end = [], time.monotonic() + timeout
    while len(got) < n and time.monotonic() < end:
        msg = midi_in.get_message()
        if msg is None:
            time.sleep(0.01)
        else:
            got.append(msg[0])
    time.sleep(0.1)  # nothing more should come
    while (msg := midi_in.get_message()) is not None:
        got.append(msg[0])
    return got


def expected_bytes(events) -> list[list[int]]:
    return [[0x90, e.pitch, e.velocity] if isinstance(e, NoteOn) else [0x80, e.pitch, 0] for e in events]


def test_virtual_jack_port_carries_the_engine_events(jack_server, note_model):
    lm = load_model(note_model)
    audio = synth.harmonic_tones([[0.2, 0.7, 60], [0.8, 1.5, 64], [1.6, 2.4, 67]], 2.6)
    audio += np.random.default_rng(0).normal(0, 1e-3, len(audio)).astype(np.float32)
    with MidiOut("svt-test-out", api="jack") as out:
        assert out.api == "jack" and out.port_name == "svt-test-out"
        listener = rtmidi.MidiIn(rtmidi.API_UNIX_JACK, name=f"listener-{os.getpid()}")
        ports = listener.get_ports()
        listener.open_port(next(i for i, p in enumerate(ports) if "svt-test-out" in p))
        time.sleep(0.1)  # the connection is made in the server's next cycle
        eng = Engine(lm, 16000)
        events = []
        for i in range(0, len(audio), 160):  # 10 ms blocks, as from a microphone
            for ev in eng.push(audio[i:i + 160]):
                out.send(ev)
                events.append(ev)
        for ev in eng.finish():
            out.send(ev)
            events.append(ev)
    assert any(isinstance(e, NoteOn) for e in events) and any(isinstance(e, NoteOff) for e in events)
    want = expected_bytes(events) + [[0xB0, 123, 0]]  # close(): all notes off
    assert receive(listener, len(want)) == want
    listener.close_port()
    listener.delete()


def test_existing_port_is_found_by_name(jack_server):
    """``virtual=None`` opens an existing port (here a 'synth' input) whose name contains the text."""
    synth_in = rtmidi.MidiIn(rtmidi.API_UNIX_JACK, name=f"fake-synth-{os.getpid()}")
    synth_in.open_virtual_port("Piano In")
    try:
        assert any("Piano In" in p for p in output_port_names(api="jack"))
        assert "Piano In" in list_output_ports(api="jack")
        out = MidiOut("piano in", api="jack")
        assert "Piano In" in out.port_name
        time.sleep(0.1)
        out.send(NoteOn(0.0, 62, 90))
        out.send(NoteOff(0.5, 62, 0.0, 62.1))
        out.send(NoteOn(0.6, 64, 70))  # still sounding at close: close releases it
        out.close()
        out.close()  # idempotent
        assert receive(synth_in, 5) == [[0x90, 62, 90], [0x80, 62, 0], [0x90, 64, 70], [0x80, 64, 0],
                                        [0xB0, 123, 0]]
        with pytest.raises(MidiPortError, match="closed"):
            out.send(NoteOn(1.0, 60, 80))
        with pytest.raises(MidiPortError, match=r"no MIDI output port matching 'organ' \(available: .*Piano In"):
            MidiOut("organ", virtual=False, api="jack")
    finally:
        synth_in.close_port()
        synth_in.delete()


def test_api_from_environment(jack_server, monkeypatch):
    monkeypatch.setenv("SVT_MIDI_API", "jack")
    with MidiOut("svt-env-port", virtual=True) as out:
        assert out.api == "jack"


def test_midi_sink_warns_once_and_the_take_goes_on(jack_server):
    """svt_live.engine.driver.MidiSink: a port that fails mid-take gives one warning; later events are dropped."""
    from svt_live.engine.driver import Driver, MidiSink

    class Echo:  # an engine whose events are given with the blocks
        def push(self, block):
            return block

        def finish(self):
            return [NoteOff(2.0, 64, 0.0, 64.0)]

    synth_in = rtmidi.MidiIn(rtmidi.API_UNIX_JACK, name=f"sink-synth-{os.getpid()}")
    synth_in.open_virtual_port("Sink In")
    try:
        out = MidiOut("sink in", api="jack")
        time.sleep(0.1)
        warnings, seen = [], []
        sink = MidiSink(out, warnings.append)
        driver = Driver(Echo(), [sink, seen.extend])
        driver.feed([[NoteOn(0.0, 62, 90)], [NoteOff(0.5, 62, 0.0, 62.0)]])
        out.close()  # the port goes away under the sink
        driver.feed([[NoteOn(1.0, 64, 80)], [NoteOn(1.5, 65, 80)]])
        driver.finish()
        assert warnings == ["MIDI port is closed; transcription goes on without MIDI"]
        assert sink.midi is None and len(seen) == 5  # every event still reached the other sinks
        assert receive(synth_in, 3) == [[0x90, 62, 90], [0x80, 62, 0], [0xB0, 123, 0]]
    finally:
        synth_in.close_port()
        synth_in.delete()
