"""Synthetic test audio: harmonic tones with known notes, written with real encoders."""
from __future__ import annotations

import wave
from pathlib import Path

import av
import numpy as np

SR = 16000


def midi_to_hz(midi: float) -> float:
    return 440.0 * 2.0 ** ((midi - 69.0) / 12.0)


def harmonic_tones(notes, duration: float, sr: int = SR, harmonics: int = 4, amp: float = 0.3,
                   fade: float = 0.005) -> np.ndarray:
    """Mono float32 audio of ``duration`` seconds: one harmonic tone per note row (onset, offset, midi).

    Harmonic ``k`` has amplitude ``amp / k``; each note has ``fade`` s linear
    fades so onsets and offsets are clean but click-free.
    """
    n = int(round(duration * sr))
    out = np.zeros(n, np.float64)
    for on, off, midi in np.asarray(notes, dtype=np.float64).reshape(-1, 3):
        a, b = int(round(on * sr)), min(n, int(round(off * sr)))
        t = np.arange(b - a) / sr
        f0 = midi_to_hz(midi)
        tone = sum(np.sin(2 * np.pi * k * f0 * t) / k for k in range(1, harmonics + 1) if k * f0 < sr / 2)
        env = np.ones(b - a)
        nf = min(int(fade * sr), (b - a) // 2)
        if nf:
            env[:nf] = np.linspace(0, 1, nf)
            env[-nf:] = np.linspace(1, 0, nf)
        out[a:b] += amp * tone * env
    return out.astype(np.float32)


def sung_tones(notes, duration: float, sr: int = SR, seed: int = 0) -> np.ndarray:
    """Sung-like mono float32 audio ``[N]``: each note row (onset, offset, midi) a harmonic tone with
    5.5 Hz, +-40 cent vibrato, a soft attack and release, over a faint noise floor."""
    rng = np.random.default_rng(seed)
    n = int(duration * sr)
    out = rng.normal(0, 1e-3, n)
    for on, off, midi in np.asarray(notes, dtype=np.float64).reshape(-1, 3):
        a, b = int(on * sr), min(n, int(off * sr))
        t = np.arange(b - a) / sr
        f0 = midi_to_hz(midi) * 2.0 ** (0.4 / 12 * np.sin(2 * np.pi * 5.5 * t))
        phase = 2 * np.pi * np.cumsum(f0) / sr
        env = np.minimum(1.0, np.minimum(t / 0.03, (t[-1] - t) / 0.05))
        out[a:b] += 0.25 * env * sum(np.sin(k * phase) / k for k in range(1, 7))
    return out.astype(np.float32)


def write_wav(path, audio: np.ndarray, sr: int = SR) -> Path:
    """16-bit mono PCM WAV with the standard-library ``wave`` module."""
    path = Path(path)
    pcm = (np.clip(audio, -1, 1) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(sr)
        w.writeframes(pcm.tobytes())
    return path


LAYOUTS = {1: "mono", 2: "stereo", 3: "2.1", 4: "quad", 5: "5.0", 6: "5.1", 7: "6.1", 8: "7.1"}


def encode(path, audio: np.ndarray, sr: int = SR, codec: str = "flac", stereo: bool = False) -> Path:
    """Encode ``audio`` with PyAV (``flac``, ``libmp3lame``, ``pcm_s24le``...): mono ``[n]`` (``stereo``
    duplicates the channel) or ``[n, channels]`` with 1 to 8 channels, full scale 1.0."""
    path = Path(path)
    data = np.clip(audio, -1, 1).astype(np.float32)
    data = data.reshape(len(data), -1).T  # [channels, n]
    if stereo:
        data = np.repeat(data, 2, axis=0)
    layout = LAYOUTS[len(data)]
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=sr, layout=layout)
        fmt = stream.codec_context.codec.audio_formats[0].name
        if fmt in ("s16", "s16p"):
            samples = (data * 32767).astype(np.int16)
        elif fmt in ("s32", "s32p"):  # also 24-bit PCM: the encoder keeps the top 24 bits
            samples = (data * 2147483647).astype(np.int32)
        elif fmt in ("u8", "u8p"):
            samples = np.clip(np.round(data * 128 + 128), 0, 255).astype(np.uint8)
        else:
            samples = data.astype(np.float64) if fmt.startswith("dbl") else data
        if not fmt.endswith("p"):  # packed: interleave channels into one row
            samples = samples.T.reshape(1, -1)
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(samples), format=fmt, layout=layout)
        frame.sample_rate = sr
        for packet in stream.encode(frame):
            container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path


def write_ssvd_txt(path, notes) -> Path:
    """SSVD annotation: ``onset<TAB>offset<TAB>midi`` lines."""
    path = Path(path)
    path.write_text("".join(f"{a:.4f}\t{b:.4f}\t{p:.4f}\n" for a, b, p in np.asarray(notes).reshape(-1, 3)))
    return path


def write_song(directory, stem: str, notes, duration: float, ext: str = ".wav") -> Path:
    """Audio ``<stem><ext>`` of harmonic tones plus a same-stem SSVD ``.txt``; returns the audio path."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    audio = harmonic_tones(notes, duration)
    path = directory / f"{stem}{ext}"
    if ext == ".wav":
        write_wav(path, audio)
    else:
        encode(path, audio, codec={".flac": "flac", ".mp3": "libmp3lame"}[ext])
    write_ssvd_txt(path.with_suffix(".txt"), notes)
    return path


def write_midi(path, notes, ticks_per_beat: int = 480, tempo: int = 500000) -> Path:
    """A one-track MIDI file of ``notes``; endings alternate note_off and note_on velocity 0."""
    import mido

    mid = mido.MidiFile(ticks_per_beat=ticks_per_beat)
    track = mido.MidiTrack()
    mid.tracks.append(track)
    track.append(mido.MetaMessage("set_tempo", tempo=tempo, time=0))
    events = []
    for i, (on, off, pitch) in enumerate(notes):
        events.append((on, 1, mido.Message("note_on", note=int(pitch), velocity=90)))
        # alternate note_off and note_on with velocity 0, both mean "note ends"
        end = mido.Message("note_off", note=int(pitch)) if i % 2 else mido.Message("note_on", note=int(pitch),
                                                                                     velocity=0)
        events.append((off, 0, end))
    now = 0
    for t, _, msg in sorted(events, key=lambda e: (e[0], e[1])):
        tick = int(round(mido.second2tick(t, ticks_per_beat, tempo)))
        track.append(msg.copy(time=tick - now))
        now = tick
    mid.save(str(path))
    return Path(path)


TRAIN_SONGS = {
    "a": [[0.10, 0.50, 60.0], [0.60, 1.00, 64.0], [1.10, 1.70, 67.0]],
    "b": [[0.20, 0.70, 62.0], [0.80, 1.20, 65.0], [1.30, 1.80, 69.0]],
    "c": [[0.10, 0.40, 57.0], [0.50, 1.10, 60.0], [1.20, 1.60, 72.0]],
}
VALID_SONGS = {"v": [[0.15, 0.55, 61.0], [0.70, 1.20, 66.0], [1.30, 1.80, 64.0]]}


def tiny_training_setup(root, model: str = "base_cnn_mini", duration: float = 2.0) -> Path:
    """Folders ``train/`` and ``valid/`` of short harmonic-tone songs (WAV + SSVD .txt) and a TOML
    config training ``model`` on them with tiny batches; returns the config path."""
    root = Path(root)
    for sub, songs in (("train", TRAIN_SONGS), ("valid", VALID_SONGS)):
        for stem, notes in songs.items():
            write_song(root / sub, stem, notes, duration)
    config = root / "tiny.toml"
    config.write_text(f'''model = "{model}"
data_root = "{root.as_posix()}"
epochs = 2
batch_size = 4
segment_frames = 50
lr = 1e-3
seed = 0
select_measure = "COnP"
train = [{{ kind = "folder", path = "train" }}]
valid = [{{ kind = "folder", path = "valid" }}]
''')
    return config
