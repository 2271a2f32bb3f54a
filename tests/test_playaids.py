"""The live port's playing aids: --scale snaps NoteOns (the files keep what was sung), --hold-ms holds
through short gaps; on event streams, on the live engine with sung tones and on a real JACK MIDI port."""
from __future__ import annotations

import os
import time
from itertools import pairwise

import numpy as np
import pytest
from test_early import check_stream

from svt_live.engine.playaids import PortAids
from svt_live.events import NoteOff, NoteOn, PitchBend
from svt_live.theory.scale import MODES, Scale, parse_scale, snap

D_MINOR = Scale(2, "minor")


def run(aids: PortAids, events: list) -> list:
    """The events emitted at one instant pushed together at that time, as the driver's sink gets them;
    then the end."""
    out, batch = [], []
    for ev in events:
        if batch and ev.emitted_at != batch[0].emitted_at:
            out += aids(batch, now=batch[0].emitted_at)
            batch = []
        batch.append(ev)
    return out + aids(batch, now=batch[0].emitted_at) + aids([], now=events[-1].emitted_at + 10.0) + aids.flush()


def note(on: float, off: float, number: int, sung: float | None = None, lag: float = 0.04) -> list:
    """A NoteOn emitted ``lag`` after ``on`` and its NoteOff emitted ``lag`` after ``off``."""
    sung = float(number) if sung is None else sung
    return [NoteOn(on, number, 80, on + lag, sung), NoteOff(off, number, on, sung, off + lag)]


def summary(events: list) -> list:
    return [(type(e).__name__, round(e.time, 3), e.pitch) for e in events if not isinstance(e, PitchBend)]


@pytest.mark.parametrize("text, tonic, mode", [("D:minor", 2, "minor"), ("C:major", 0, "major"),
                                               ("A:dorian", 9, "dorian"), ("Bb:harmonic-minor", 10, "harmonic-minor"),
                                               ("G:mixolydian", 7, "mixolydian"), ("E:pentatonic minor", 4,
                                                                                   "pentatonic-minor"),
                                               ("F#m", 6, "minor"), ("eb", 3, "major")])
def test_scales_parse(text, tonic, mode):
    assert parse_scale(text) == Scale(tonic, mode)


@pytest.mark.parametrize("text", ["H:minor", "D:bebop", "", ":minor", "D:minor:x"])
def test_a_bad_scale_is_one_clear_error(text):
    with pytest.raises(ValueError, match="--scale takes KEY:MODE such as D:minor"):
        parse_scale(text)


def test_snapping_goes_to_the_nearest_scale_note_and_ties_the_melody_way():
    # D natural minor: D E F G A Bb C
    assert [snap(m, D_MINOR) for m in (62.0, 63.0, 63.4, 65.8, 66.0, 66.6, 68.2, 71.0, 71.4)] == \
        [62, 64, 64, 65, 67, 67, 69, 72, 72]  # Eb, F#, B exactly: ties, up; the others by side
    assert snap(63.0, D_MINOR, direction=-1) == 62 and snap(63.0, D_MINOR, direction=1) == 64
    penta = Scale(0, "pentatonic-major")  # C D E G A: F# sits between E and G
    assert snap(65.0, penta) == 64 and snap(66.0, penta) == 67 and snap(65.5, penta, -1) == 64
    assert all(snap(m + 0.2, Scale(t, mode)) % 12 in Scale(t, mode).pitch_classes
               for m in range(24, 100) for t in range(12) for mode in MODES)
    assert snap(127.6, Scale(1, "major")) <= 127 and snap(-3.0, D_MINOR) >= 0


def test_the_port_gets_snapped_numbers_and_their_noteoffs():
    events = note(0.1, 0.5, 61, 61.3) + note(0.6, 1.0, 63, 62.8) + [PitchBend(1.1, 0.2, 1.12)] \
        + note(1.1, 1.5, 66, 66.1)
    out = run(PortAids(D_MINOR), events)
    assert summary(out) == [("NoteOn", 0.1, 62), ("NoteOff", 0.5, 62), ("NoteOn", 0.6, 62), ("NoteOff", 1.0, 62),
                            ("NoteOn", 1.1, 67), ("NoteOff", 1.5, 67)]
    assert [e.semitones for e in out if isinstance(e, PitchBend)] == [0.2]  # the sung offset, kept
    check_stream([e for e in out if not isinstance(e, PitchBend)])


def test_a_tie_follows_the_melody():
    up = note(0.0, 0.3, 60) + note(0.4, 0.7, 63, 63.0)  # C then Eb exactly: between D and E in D minor
    down = note(0.0, 0.3, 65) + note(0.4, 0.7, 63, 63.0)
    assert summary(run(PortAids(D_MINOR), up))[2][2] == 64
    assert summary(run(PortAids(D_MINOR), down))[2][2] == 62


def test_a_retrigger_snapped_to_the_same_note_is_no_blip():
    """The early decoder corrects 63 to 64 at one instant; in D minor both are E: one note on the port."""
    events = [NoteOn(0.1, 63, 80, 0.14, 63.4), NoteOff(0.3, 63, 0.1, 63.4, 0.34), NoteOn(0.3, 64, 80, 0.34, 63.8),
              NoteOff(0.6, 64, 0.3, 63.8, 0.64)]
    assert summary(run(PortAids(D_MINOR), events)) == [("NoteOn", 0.1, 64), ("NoteOff", 0.6, 64)]
    assert summary(run(PortAids(), events)) == summary(events)  # no aids: the events as they are


def test_hold_keeps_a_note_through_a_short_gap_only():
    gap = note(0.1, 0.5, 62) + note(0.58, 1.0, 62) + note(1.3, 1.6, 62) + note(1.65, 1.9, 64)
    aids = PortAids(hold_seconds=0.1)
    out = run(aids, gap)
    # 80 ms gap: held; 300 ms gap: not; 50 ms gap to another number: not
    assert summary(out) == [("NoteOn", 0.1, 62), ("NoteOff", 1.0, 62), ("NoteOn", 1.3, 62), ("NoteOff", 1.6, 62),
                            ("NoteOn", 1.65, 64), ("NoteOff", 1.9, 64)]
    assert aids.n_held == 1
    check_stream(out)


def test_a_held_noteoff_goes_out_once_the_hold_ends_or_at_the_end():
    aids = PortAids(hold_seconds=0.1)
    assert aids(note(0.0, 0.5, 62)[:1], now=0.04) and aids(note(0.0, 0.5, 62)[1:], now=0.54) == []
    assert aids([], now=0.6) == []
    assert summary(aids([], now=0.65)) == [("NoteOff", 0.5, 62)]  # 100 ms after it was emitted
    aids([NoteOn(1.0, 60, 80, 1.04)], now=1.04)
    aids([NoteOff(1.5, 60, 1.0, 60.0, 1.54)], now=1.54)
    assert summary(aids.flush()) == [("NoteOff", 1.5, 60)] and aids.flush() == []


def test_random_streams_never_go_back_and_never_hang():
    """Event streams of the early decoder (gaps, legato, retriggers, bends) through every aid."""
    from test_early import decode, posteriors

    rng = np.random.default_rng(7)
    for trial in range(30):
        t, notes = 2, []
        while t < 300:
            length = int(rng.integers(3, 30))
            notes.append((t, t + length, float(rng.uniform(55, 70))))
            t += length + int(rng.choice([0, 1, 2, 3, 5, 12]))
        events, _ = decode(posteriors(notes, 320, rng, jitter=0.3), bends=bool(trial % 2))
        for aids in (PortAids(D_MINOR), PortAids(hold_seconds=0.08), PortAids(Scale(7, "pentatonic-minor"), 0.2)):
            out = run(aids, events)
            check_stream([e for e in out if not isinstance(e, PitchBend)])
            assert all(b.time >= a.time for a, b in pairwise(out))
            if aids.scale is not None:
                assert all(e.pitch % 12 in aids.scale.pitch_classes for e in out if isinstance(e, NoteOn))


def test_bad_hold_is_refused():
    with pytest.raises(ValueError, match="hold_seconds must be >= 0"):
        PortAids(hold_seconds=-0.1)


# ---------------------------------------------------------------- the live engine, sung tones

SUNG = [(0.30, 0.80, 61.3), (0.88, 1.40, 61.3), (1.80, 2.40, 65.3), (2.70, 3.30, 69.1)]  # C#+30, again after
# an 80 ms breath, F+30 and A+10 cents (vibrato +-40 cents); in D minor: D (61.3 is nearer 62 than 60), D, F, A


@pytest.fixture(scope="module")
def sung_take():
    from synth import sung_tones

    from svt_live.engine.checkpoint import load_model
    from svt_live.engine.lowlatency import LowLatencyEngine, load_live_model

    audio = sung_tones(SUNG, 3.8, seed=5)
    lm = load_model()
    eng = LowLatencyEngine(lm, load_live_model(), 16000)
    aids = PortAids(D_MINOR, hold_seconds=0.2)
    events, port = [], []
    for i in range(0, len(audio), 160):  # 10 ms blocks, the sink's clock is the engine's stream time
        new = eng.push(audio[i:i + 160])
        events += new
        port += aids(new, now=eng.stream_time)
    last = eng.finish()
    return eng, events + last, port + aids(last, now=eng.stream_time) + aids.flush()


def test_the_engine_port_plays_the_scale_and_holds_the_breath(sung_take):
    eng, events, port = sung_take
    check_stream([e for e in port if not isinstance(e, PitchBend)])
    ons = [e for e in port if isinstance(e, NoteOn)]
    assert all(e.pitch % 12 in D_MINOR.pitch_classes for e in ons)
    # each sung note sounds on the port as its scale note: D (held through the breath), F, A
    assert [e.pitch for e in ons] == [62, 65, 69], summary(port)
    assert ons[0].time == pytest.approx(0.30, abs=0.05)
    raw = {round(e.time, 6): e for e in events if isinstance(e, NoteOn)}
    # every port NoteOn is the scale note nearest what the live network sent at that instant (its
    # corrections inside a held note sound as the same scale note, so the port sends none of them);
    # the network sent an F# (66) for the sung F+30, whose pitch nearer F than G makes the port's F
    assert all(round(e.time, 6) in raw and e.pitch == snap(raw[round(e.time, 6)].midi, D_MINOR) for e in ons)
    assert 66 in [e.pitch for e in raw.values()] and ons[1].midi == pytest.approx(65.8, abs=0.15)
    assert [round(m) for m in eng.notes[:, 2]][:2] == [61, 61]  # the take's files keep what was sung


# ---------------------------------------------------------------- a real JACK MIDI port

def test_a_jack_port_receives_the_snapped_notes(jack_server):
    import rtmidi
    from test_midi import receive

    from svt_live.engine.driver import Driver, MidiSink
    from svt_live.io.midiport import MidiOut

    class Echo:  # an engine whose events are given with the blocks
        stream_time = 0.0

        def push(self, block):
            self.stream_time = max([self.stream_time] + [e.emitted_at for e in block])
            return block

        def finish(self):
            return [NoteOff(2.0, 66, 1.6, 66.2, 2.04)]

    synth_in = rtmidi.MidiIn(rtmidi.API_UNIX_JACK, name=f"aids-synth-{os.getpid()}")
    synth_in.open_virtual_port("Aids In")
    try:
        out = MidiOut("aids in", api="jack")
        time.sleep(0.1)
        engine = Echo()
        sink = MidiSink(out, print, PortAids(D_MINOR, hold_seconds=0.1), clock=lambda: engine.stream_time)
        driver = Driver(engine, [sink])
        driver.run([[e] for e in note(0.1, 0.5, 61, 61.3) + note(0.55, 1.0, 61, 61.2) + note(1.2, 1.5, 63, 63.2)
                    + [NoteOn(1.6, 66, 90, 1.64, 66.2)]])
        sink.close()
        # C#+30 -> D held through a 50 ms gap, Eb+20 -> E, F#+20 -> G, closed at the end
        assert receive(synth_in, 7) == [[0x90, 62, 80], [0x80, 62, 0], [0x90, 64, 80], [0x80, 64, 0],
                                        [0x90, 67, 90], [0x80, 67, 0], [0xB0, 123, 0]]
    finally:
        synth_in.close_port()
        synth_in.delete()
