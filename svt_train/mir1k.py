"""MIR-1K: karaoke clips with the voice and its band on separate channels, frame pitch as sung.

Conventions (``../shared/data/mir1k/README.md``; Hsu & Jang, IEEE TASLP 18(2), 2010):

- ``Wavfile/<singer>_<song>_<clip>.wav``: 16 kHz stereo, **left = the band, right = the voice alone**.
- ``PitchLabel/<same>.pv``: one value per line, the voice's pitch in fractional MIDI semitones as
  sung, 0 = unvoiced; line ``i`` is the frame centred at ``0.02 * i + 0.02`` s.
- Files are checked as read: a ``.pv`` must hold at least one value, each 0 or a sung pitch
  (:data:`~svt_live.notes.MIDI_MIN` to :data:`~svt_live.notes.MIDI_MAX`); a clip must be stereo at
  :data:`MIN_RATE` to :data:`MAX_RATE` Hz (a header claiming 1 Hz would resample each stored sample into
  thousands). Anything else is a one-line error naming the file.
- There are no note boundaries. A clip becomes a :class:`~svt_train.song.Song` whose
  ``contour [n, 2]`` holds ``(time s, MIDI)`` rows (0 = unvoiced) and whose notes are empty (unless
  given, see below); its
  onset and offset labels are marked unknown (-1) so the note-boundary losses skip it, and its
  pitch labels (:func:`contour_labels`) supervise pitch and voicing.
- ``stems = (voice gain, band gain)`` picks what is heard: ``(1, 0)`` the voice alone, ``(1, g)``
  the voice over its own band at ``-20 log10(g)`` dB voice-to-band power ratio (the band is first
  brought to the voice's mean power over the clip), ``(0, 1)`` the band alone
  (then the contour is dropped: every frame is silence, and the note labels are the real ones,
  no notes, so the boundary losses see it too).
- Singers are split, never clips: :data:`SPLITS` holds out three test singers (two male, one
  low) and two validation singers (one male), never trained on.
- Notes (optional): :func:`transcribe_voices` transcribes each clip's voice alone with a trained
  model and keeps the notes it is sure of (:func:`sure_notes`), each pitched by the clip's own
  ``.pv`` as sung; a clip given notes gets full note labels there (:func:`voice_labels`), and
  boundaries stay unknown only where the ``.pv`` is voiced outside every kept note.
"""
from __future__ import annotations

import warnings
from dataclasses import replace
from pathlib import Path

import av
import numpy as np

from svt_live.io.audio import READ_ERRORS, AudioError
from svt_live.notes import MIDI_MAX, MIDI_MIN, NoteError

MALE = ("abjones", "bobon", "bug", "davidson", "fdps", "geniusturtle", "jmzen", "Kenshin", "khair", "leon",
        "stool")
FEMALE = ("amy", "Ani", "annar", "ariel", "heycat", "tammy", "titon", "yifen")
SPLITS = {
    "test": ("abjones", "stool", "Ani"),  # abjones: median MIDI 50.6, the second lowest voice
    "valid": ("khair", "heycat"),
}
SPLITS["train"] = tuple(s for s in MALE + FEMALE if s not in SPLITS["test"] + SPLITS["valid"])
PV_FRAME_S, PV_FIRST_S = 0.02, 0.02  # .pv frame i is centred at PV_FIRST_S + PV_FRAME_S * i
MAX_GAP_FRAMES = 2  # unvoiced gaps this short inside a voiced stretch (consonants) count as voiced
MIN_RATE, MAX_RATE = 8000, 192000  # sample rates (Hz) a clip may have (MIR-1K's: 16 kHz)


def read_contour(pv_path: str | Path) -> np.ndarray:
    """A ``.pv`` pitch file -> ``[n, 2]`` rows ``(time s, MIDI)``, 0 = unvoiced.

    Unvoiced gaps of at most :data:`MAX_GAP_FRAMES` between voiced frames take the pitch
    interpolated across them: a note's consonants are part of the note in the note-annotated sets.
    A file that is empty, not one number a line, or holds a value that is neither 0 nor a sung
    pitch (NaN, negative, outside MIDI 21-108) is a :class:`~svt_live.notes.NoteError` naming it.
    """
    if not Path(pv_path).is_file():  # a FIFO would block, a device never end
        raise NoteError(f"{pv_path}: not a regular file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # numpy's "input contained no data": refused below
            midi = np.loadtxt(pv_path, dtype=np.float64, ndmin=2)
    except OSError as exc:
        raise NoteError(f"{pv_path}: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise NoteError(f"{pv_path}: not a MIR-1K pitch file ({' '.join(str(exc).split())[:120]})") from None
    if midi.size == 0:
        raise NoteError(f"{pv_path}: no pitch values (a .pv holds one a line)")
    if midi.shape[1] != 1:
        raise NoteError(f"{pv_path}: {midi.shape[1]} values a line, a .pv holds one")
    midi = midi[:, 0]
    bad = np.nonzero(~((midi == 0) | ((midi >= MIDI_MIN) & (midi <= MIDI_MAX))))[0]
    if len(bad):
        raise NoteError(f"{pv_path}: value {midi[bad[0]]!r} (row {bad[0] + 1}) is neither 0 (unvoiced) nor a sung "
                        f"pitch, MIDI {MIDI_MIN:g} to {MIDI_MAX:g}")
    voiced = np.nonzero(midi > 0)[0]
    for a, b in zip(voiced[:-1], voiced[1:]):
        if 1 < b - a <= MAX_GAP_FRAMES + 1:
            midi[a + 1:b] = np.interp(np.arange(a + 1, b), [a, b], [midi[a], midi[b]])
    return np.stack([PV_FIRST_S + PV_FRAME_S * np.arange(len(midi)), midi], axis=1)


def contour_labels(contour: np.ndarray, n_frames: int, frame_seconds: float = 0.02) -> dict:
    """``contour [n, 2]`` -> frame labels (as :func:`svt_train.labels.notes_to_frames`) of ``n_frames``.

    ``pitch [T]`` is the contour's nearest row in time (0 beyond half a row's spacing of any row);
    ``onset`` and ``offset`` are -1 (unknown); ``octave`` and ``pitch_class`` follow the pitch.
    """
    from .labels import pitch_classes

    times, midi = contour[:, 0], contour[:, 1]
    t = np.arange(n_frames) * frame_seconds
    spacing = float(np.median(np.diff(times))) if len(times) > 1 else PV_FRAME_S
    idx = np.clip(np.searchsorted(times, t), 1, max(1, len(times) - 1)) if len(times) > 1 else np.zeros(n_frames, int)
    if len(times) > 1:
        idx = np.where(np.abs(times[idx - 1] - t) <= np.abs(times[idx] - t), idx - 1, idx)
    pitch = np.where(np.abs(times[idx] - t) <= spacing / 2 + 1e-9, midi[idx], 0.0).astype(np.float32)
    octave, pitch_class = pitch_classes(pitch)
    return {"onset": np.full(n_frames, -1, np.float32), "offset": np.full(n_frames, -1, np.float32),
            "octave": octave, "pitch_class": pitch_class, "pitch": pitch}


# sure_notes' rule: a transcribed note is kept when all of these hold
SURE_VOICED_SHARE = 0.8  # at least this share of its frames is voiced in the .pv
SURE_PITCH_GAP = 0.5  # semitones: the model's pitch is this near the .pv's median over the note
SURE_STEADY_SHARE, SURE_STEADY_SEMITONES = 0.9, 1.0  # this share of its voiced .pv frames lies this near
# the median (one steady note, not a glide across two)
SURE_VOICED_POSTERIOR = 0.8  # the model's mean voiced probability over the note
SURE_ONSET_POSTERIOR = 0.5  # the model's onset probability peaks this high at the note's first 2 frames
UNSURE_MARGIN_FRAMES = 3  # boundaries unknown this far around .pv-voiced frames outside every kept note


def sure_notes(notes: np.ndarray, post: dict, contour_pitch: np.ndarray, frame_seconds: float = 0.02
               ) -> np.ndarray:
    """The transcribed ``notes [n, 3]`` a model is sure of, each pitched as sung: ``[k, 3]``.

    Parameters
    ----------
    notes : ndarray ``[n, 3]``
        The model's notes (onset s, offset s, MIDI) on the clip's voice alone.
    post : dict
        The model's frame posteriors on it (``onset``, ``voiced``, ``pitch``, each ``[T]``).
    contour_pitch : ndarray ``[T]``
        The clip's ``.pv`` pitch on the model's frames (MIDI, 0 = unvoiced;
        :func:`contour_labels`' ``pitch``).
    frame_seconds : float
        Frame spacing (s).

    Returns
    -------
    ndarray ``[k, 3]``
        The notes that pass every ``SURE_*`` rule, their pitch the median ``.pv`` pitch over their
        voiced frames.
    """
    kept = []
    n_frames = len(contour_pitch)
    for on, off, midi in np.asarray(notes, dtype=np.float64).reshape(-1, 3):
        a = int(round(on / frame_seconds))
        b = min(max(int(round(off / frame_seconds)), a + 1), n_frames)
        if a >= b:
            continue
        sung = contour_pitch[a:b][contour_pitch[a:b] > 0]
        if len(sung) < SURE_VOICED_SHARE * (b - a):
            continue
        median = float(np.median(sung))
        steady = np.mean(np.abs(sung - median) <= SURE_STEADY_SEMITONES)
        if (abs(midi - median) <= SURE_PITCH_GAP and steady >= SURE_STEADY_SHARE
                and float(np.mean(post["voiced"][a:b])) >= SURE_VOICED_POSTERIOR
                and float(np.max(post["onset"][a:a + 2])) >= SURE_ONSET_POSTERIOR):
            kept.append((on, off, median))
    return np.array(kept, dtype=np.float64).reshape(-1, 3)


def voice_labels(notes: np.ndarray, contour: np.ndarray, n_frames: int, frame_seconds: float = 0.02) -> dict:
    """Frame labels of a clip with kept ``notes [k, 3]`` and its ``contour [n, 2]`` (as
    :func:`svt_train.labels.notes_to_frames`, each ``[n_frames]``).

    The notes give onsets, offsets and pitch as in a note-annotated song. Where the contour is
    voiced outside every note (a note the model was not sure of), the pitch is the contour's and
    onsets and offsets are unknown (-1) over those frames and ``UNSURE_MARGIN_FRAMES`` either side,
    except at the kept notes' own boundaries. Without notes: :func:`contour_labels`.
    """
    from .labels import notes_to_frames, pitch_classes

    if not len(notes):
        return contour_labels(contour, n_frames, frame_seconds)
    lab = notes_to_frames(notes, n_frames, frame_seconds)
    sung = contour_labels(contour, n_frames, frame_seconds)["pitch"]
    loose = (sung > 0) & (lab["pitch"] == 0)
    if loose.any():
        m = UNSURE_MARGIN_FRAMES
        near = np.convolve(loose.astype(np.int64), np.ones(2 * m + 1, np.int64), mode="same") > 0
        for key in ("onset", "offset"):
            lab[key] = np.where(near & (lab[key] != 1), -1.0, lab[key]).astype(np.float32)
        lab["pitch"] = np.where(loose, sung, lab["pitch"]).astype(np.float32)
        lab["octave"], lab["pitch_class"] = pitch_classes(lab["pitch"])
    return lab


def load_stems(path: str | Path, sample_rate: int, stems: tuple[float, float]) -> np.ndarray:
    """Mono float32 ``[N]`` at ``sample_rate`` of a MIR-1K clip: ``stems[0] * voice + stems[1] * band``,
    the band scaled to the voice's mean power when both are heard (see the module docstring)."""
    if not Path(path).is_file():
        raise AudioError(f"{path}: not a regular file")
    shape = None  # (channels, sample rate) when they are not a MIR-1K clip's
    try:
        with av.open(str(path)) as container:
            stream = container.streams.audio[0] if container.streams.audio else None
            if stream is None or stream.channels != 2 or not MIN_RATE <= (stream.sample_rate or 0) <= MAX_RATE:
                shape = (stream.channels, stream.sample_rate) if stream is not None else (0, 0)
            else:
                resampler = av.AudioResampler(format="flt", layout="stereo", rate=sample_rate)
                frames = [f for pkt in container.demux(stream) for f in pkt.decode()]
                out = [o.to_ndarray().reshape(-1, 2) for f in frames + [None] for o in resampler.resample(f)]
    except READ_ERRORS as exc:
        raise AudioError(f"{path}: not a readable audio file ({exc.__class__.__name__})") from None
    if shape is not None:
        raise AudioError(f"{path}: {shape[0]} channel(s) at {shape[1]} Hz; a MIR-1K clip is stereo (band left, "
                         f"voice right) at {MIN_RATE} to {MAX_RATE} Hz")
    x = np.concatenate(out) if out else np.zeros((0, 2), np.float32)
    voice, band = x[:, 1], x[:, 0]
    if stems[0] and stems[1]:  # the band brought to the voice's power first: stems set the ratio
        band = band * np.sqrt(np.mean(voice ** 2) / max(float(np.mean(band ** 2)), 1e-12))
    return (stems[0] * voice + stems[1] * band).astype(np.float32)


def clip_paths(root: str | Path, split: str) -> list[tuple[Path, Path]]:
    """``[(wav, pv)]`` of the clips of one singer split that have a ``.pv``, sorted by name."""
    root = Path(root).expanduser()
    if split not in SPLITS:
        raise ValueError(f"mir1k split must be one of {', '.join(SPLITS)}, got {split!r}")
    if not (root / "Wavfile").is_dir():
        raise FileNotFoundError(f"{root}: no MIR-1K extract (Wavfile/ missing); see ../shared/data/mir1k/README.md")
    pairs = [(wav, root / "PitchLabel" / f"{wav.stem}.pv") for wav in sorted((root / "Wavfile").glob("*.wav"))]
    pairs = [(wav, pv) for wav, pv in pairs if wav.stem.split("_")[0] in SPLITS[split] and pv.exists()]
    if not pairs:
        raise FileNotFoundError(f"{root}: no MIR-1K clips of the {split} singers")
    return pairs


def mir1k(root: str | Path, split: str, voice_db: tuple = (), band_alone: bool = False,
          notes: dict | None = None) -> list[tuple]:
    """The clips of one singer split: ``[(song, [its copies])]``.

    Each song is the voice alone; its copies are the voice over its own band at each of ``voice_db``
    (dB, voice to band) and, with ``band_alone``, the band alone. ``notes``: ``{clip id: notes
    [k, 3]}`` (:func:`transcribe_voices`' kept notes), given to the voice and its mixes.
    """
    from .song import Song

    out = []
    for wav, pv in clip_paths(root, split):
        mine = np.asarray((notes or {}).get(wav.stem, np.zeros((0, 3))), dtype=np.float64).reshape(-1, 3)
        song = Song(wav.stem, wav, mine, contour=read_contour(pv), stems=(1.0, 0.0))
        copies = [replace(song, id=f"{wav.stem}@{db:+g}dB", stems=(1.0, 10 ** (-db / 20))) for db in voice_db]
        if band_alone:
            copies.append(replace(song, id=f"{wav.stem}@band", notes=np.zeros((0, 3)), contour=None,
                                  stems=(0.0, 1.0)))
        out.append((song, copies))
    return out


def transcribe_voices(root: str | Path, split: str, lm, progress: bool = True) -> tuple[dict, dict]:
    """Transcribe the voice alone of every clip of ``split`` with the loaded model ``lm``; keep the
    notes it is sure of (:func:`sure_notes`), pitched by the clip's ``.pv``.

    Returns ``({clip id: kept notes [k, 3]}, counts)``: ``counts`` holds the clips, the clips with at
    least one kept note, the notes transcribed and kept, and the share of the ``.pv``'s voiced frames
    the kept notes cover.
    """
    from tqdm import tqdm

    from svt_live.engine.offline import transcribe_audio

    from .labels import notes_to_frames

    fs = lm.features.frame_seconds
    kept, counts = {}, {"clips": 0, "clips_with_notes": 0, "notes": 0, "kept_notes": 0}
    voiced = covered = 0
    for wav, pv in tqdm(clip_paths(root, split), desc=f"mir1k {split}", unit="clip", disable=not progress):
        notes, post = transcribe_audio(load_stems(wav, lm.features.sample_rate, (1.0, 0.0)), lm)
        contour = read_contour(pv)
        sung = contour_labels(contour, len(post["onset"]), fs)["pitch"]
        sure = sure_notes(notes, post, sung, fs)
        kept[wav.stem] = sure
        counts["clips"] += 1
        counts["clips_with_notes"] += int(len(sure) > 0)
        counts["notes"] += len(notes)
        counts["kept_notes"] += len(sure)
        inside = notes_to_frames(sure, len(sung), fs)["pitch"] > 0
        voiced += int((sung > 0).sum())
        covered += int(((sung > 0) & inside).sum())
    counts["voiced_frames_covered"] = round(covered / max(voiced, 1), 4)
    return kept, counts
