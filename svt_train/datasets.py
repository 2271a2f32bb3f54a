"""Readers for annotated singing: each returns a list of :class:`Song`.

Supported layouts (see ``../shared/data/README.md``):

- ``mir_st500``: ``<root>/<split>/<id>/Mixture.mp3`` + ``<root>/annotations.json``
- ``ssvd``: ``<dir>/<id>.flac`` beside ``<dir>/<id>.txt``
- ``vocadito``: ``<dir>/vocadito_<n>.wav`` + ``vocadito_<n>_notesA1.csv``
- ``folder``: any audio file with a same-stem ``.json``/``.txt``/``.csv``/``.mid`` beside it
- ``mir1k``: ``<root>/Wavfile/*.wav`` + ``PitchLabel/*.pv``, split by singer (:mod:`svt_train.mir1k`)
"""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

from svt_live.io.annotations import ANNOTATION_EXTENSIONS, load_json_notes, load_notes, load_ssvd_txt, load_vocadito_csv
from svt_live.io.audio import AUDIO_EXTENSIONS
from svt_live.notes import NoteError

from .song import Song


def speed_variant(song: Song, semitones: float, sample_rate: int = 16000) -> Song:
    """A copy of ``song`` played faster or slower so its pitch moves by about ``semitones``.

    Like a tape played at another speed: decoding the audio at
    ``round(sample_rate / speed)`` Hz and reading it as ``sample_rate`` Hz
    raises every pitch by ``12 log2(speed)`` semitones and divides every time
    by ``speed``. The speed is snapped to that whole decoding rate, so the
    notes (times divided, pitches raised) match the audio exactly.
    """
    speed = sample_rate / round(sample_rate / (song.speed * 2.0 ** (semitones / 12)))
    ratio = speed / song.speed
    notes = np.array(song.notes, dtype=np.float64).reshape(-1, 3) * [1 / ratio, 1 / ratio, 1.0]
    notes[:, 2] += 12 * np.log2(ratio)
    contour = None
    if song.contour is not None:
        contour = np.array(song.contour, dtype=np.float64) * [1 / ratio, 1.0]
        contour[:, 1] = np.where(contour[:, 1] > 0, contour[:, 1] + 12 * np.log2(ratio), 0.0)
    return replace(song, id=f"{song.id}@{semitones:+g}st", notes=notes, speed=speed, contour=contour)


def mir_st500(root: str | Path, split: str) -> list[Song]:
    """The MIR-ST500 course layout; songs without audio are skipped."""
    root = Path(root)
    ann = root / "annotations.json"
    if not ann.exists():
        raise NoteError(f"{ann}: no such annotation file (expected the MIR-ST500 course layout)")
    notes = load_json_notes(ann)
    songs = []
    for d in sorted((root / split).iterdir(), key=lambda p: p.name) if (root / split).is_dir() else []:
        audio = d / "Mixture.mp3"
        if audio.exists() and d.name in notes:
            songs.append(Song(d.name, audio, notes[d.name]))
    if not songs:
        raise NoteError(f"{root / split}: no songs with audio and annotations")
    return songs


def ssvd(directory: str | Path, pitch_offset: float = 0.0, exclude: tuple = ()) -> list[Song]:
    """SSVD: ``<id>.flac`` + ``<id>.txt``. ``pitch_offset`` (semitones) is added to every pitch."""
    directory = Path(directory)
    songs = []
    for txt in sorted(directory.glob("*.txt")):
        audio = txt.with_suffix(".flac")
        if txt.stem in exclude or not audio.exists():
            continue
        notes = load_ssvd_txt(txt)
        notes[:, 2] += pitch_offset
        songs.append(Song(txt.stem, audio, notes))
    if not songs:
        raise NoteError(f"{directory}: no SSVD .flac/.txt pairs")
    return songs


def vocadito(directory: str | Path, annotator: str = "A1") -> list[Song]:
    """vocadito clips with one annotator's notes (``A1`` or ``A2``)."""
    directory = Path(directory)
    songs = []
    for wav in sorted(directory.glob("vocadito_*.wav")):
        csv = wav.with_name(f"{wav.stem}_notes{annotator}.csv")
        if csv.exists():
            songs.append(Song(wav.stem, wav, load_vocadito_csv(csv)))
    if not songs:
        raise NoteError(f"{directory}: no vocadito clips with {annotator} annotations")
    return songs


def folder(directory: str | Path) -> list[Song]:
    """Every audio file that has a same-stem note file beside it."""
    directory = Path(directory)
    songs = []
    for audio in sorted(p for p in directory.iterdir() if p.suffix.lower() in AUDIO_EXTENSIONS):
        for ext in ANNOTATION_EXTENSIONS:
            ann = audio.with_suffix(ext)
            if ann.exists():
                songs.append(Song(audio.stem, audio, load_notes(ann, song_id=audio.stem if ext == ".json" else None)))
                break
    if not songs:
        raise NoteError(f"{directory}: no audio files with a same-stem annotation")
    return songs


def load_set(spec: dict, data_root: str | Path = ".") -> list[Song]:
    """Songs for one data spec from a training config, e.g.
    ``{"kind": "ssvd", "path": "ssvd/train", "exclude": ["364"], "pitch_offset": -0.21}``.
    Relative paths are taken from ``data_root`` (``~`` is expanded). ``"pitch_from_f0": true``
    re-measures every note's pitch from the audio (:func:`svt_train.f0.f0_pitched`; about 0.15 s per
    minute of audio). A ``mir1k`` spec gives its clips' voices alone (see :func:`load_groups` for
    their mixes with the band).
    """
    return [song for song, _ in load_groups(spec, data_root)]


def load_groups(spec: dict, data_root: str | Path = ".") -> list[tuple[Song, list[Song]]]:
    """:func:`load_set`'s songs, each with its copies: for ``mir1k``, ``{"kind": "mir1k", "path":
    "~/svt-data/mir1k", "split": "train", "voice_db": [10, 5, 0, -5], "band_alone": true}`` gives each
    clip's voice alone with, as copies, the voice over its own band at those levels (dB) and the
    band alone (:func:`svt_train.mir1k.mir1k`); other kinds have no copies. A mir1k spec's ``"notes":
    "~/svt-data/mir1k_notes/notes.json"`` (taken from ``data_root`` when relative) gives the clips
    the notes ``svt-train mir1k-notes`` kept, for the full note losses."""
    kind = spec.get("kind")
    path = (Path(data_root) / Path(spec["path"]).expanduser())
    if kind == "mir1k":
        from .mir1k import mir1k

        levels = spec.get("voice_db", [])
        if not (isinstance(levels, list) and all(isinstance(x, (int, float)) and not isinstance(x, bool)
                                                 and -30 <= x <= 30 for x in levels)):
            raise ValueError(f"mir1k voice_db must be a list of levels in dB within +-30, got {levels!r}")
        notes = spec.get("notes")
        if notes is not None and not (isinstance(notes, str) and notes):
            raise ValueError(f"mir1k notes must be the path of svt-train mir1k-notes' notes.json, got {notes!r}")
        notes = load_json_notes(Path(data_root) / Path(notes).expanduser()) if notes else None
        return mir1k(path, spec.get("split", "train"), tuple(levels), bool(spec.get("band_alone", False)), notes)
    if kind == "mir_st500":
        songs = mir_st500(path, spec["split"])
    elif kind == "ssvd":
        songs = ssvd(path, spec.get("pitch_offset", 0.0), tuple(spec.get("exclude", ())))
    elif kind == "vocadito":
        songs = vocadito(path, spec.get("annotator", "A1"))
    elif kind == "folder":
        songs = folder(path)
    else:
        raise ValueError(f"unknown data kind {kind!r} (mir_st500, ssvd, vocadito, folder, mir1k)")
    f0 = spec.get("pitch_from_f0", False)
    if not isinstance(f0, bool):
        raise ValueError(f"pitch_from_f0 must be true or false, got {f0!r}")
    if f0:
        from .f0 import f0_pitched  # torch: imported only here, so the peers' venv can read the sets

        songs = [f0_pitched(s) for s in songs]
    return [(s, []) for s in songs]


NAMED_SETS = {
    "mir_train": {"kind": "mir_st500", "path": "mir_st500_mini", "split": "train"},
    "mir_valid": {"kind": "mir_st500", "path": "mir_st500_mini", "split": "valid"},
    "mir_test": {"kind": "mir_st500", "path": "mir_st500_mini", "split": "test"},
    "ssvd_train": {"kind": "ssvd", "path": "ssvd/train"},
    "ssvd_dev": {"kind": "ssvd", "path": "ssvd/dev"},
    "ssvd_dev_f0": {"kind": "ssvd", "path": "ssvd/dev", "pitch_from_f0": True},  # pitches as sung
    "vocadito": {"kind": "vocadito", "path": "vocadito"},
    "vocadito_a2": {"kind": "vocadito", "path": "vocadito", "annotator": "A2"},
}


def named_set(name: str, data_root: str | Path) -> list[Song]:
    """Songs of a named evaluation set (``mir_test``, ``ssvd_dev``, ...) or a folder path."""
    if name in NAMED_SETS:
        return load_set(NAMED_SETS[name], data_root)
    if Path(name).is_dir():
        return folder(name)
    raise ValueError(f"unknown set {name!r}: use one of {', '.join(NAMED_SETS)} or a folder path")
