"""Reference notes shown over a take: read from an annotation file, and which takes they belong to.

Conventions: notes are ``[n, 3]`` rows ``(onset_s, offset_s, midi)``; a
reference scores every microphone take, and a file's takes only when it
was read while that file was the input.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from svt_live.io.annotations import load_json_notes, load_notes, pick_song
from svt_live.notes import NoteError


@dataclass(frozen=True)
class Reference:
    """``notes [n, 3]``, the ``name`` shown (file, and song id for a MIR-ST500 JSON), and the ``audio``
    file whose takes it scores (None: microphone takes only)."""

    notes: np.ndarray
    name: str
    audio: str | None = None

    def belongs_to(self, kind: str, audio_path: str | None) -> bool:
        """Whether a take of source ``kind`` ('file' or 'mic') from ``audio_path`` is scored against it."""
        return kind != "file" or (self.audio is not None and self.audio == audio_path)


def read_reference(path: str | Path, song_id: str | None = None, audio_path: str | None = None,
                   ask: Callable | None = None) -> Reference | None:
    """Read reference notes; ``None`` when the user picked no song.

    A MIR-ST500 JSON with several songs gives ``song_id``'s, else that of
    ``audio_path`` (its folder name or stem, :func:`svt_live.io.annotations.pick_song`),
    else the one ``ask(song ids, suggested id)`` returns. Raises
    ``NoteError`` or ``OSError`` for a file that cannot be read.
    """
    path = Path(path)
    if path.suffix.lower() != ".json":
        return Reference(load_notes(path), path.name)
    songs = load_json_notes(path)
    key = pick_song(songs, song_id, audio_path or None)
    if key is None and song_id is not None:
        raise NoteError(f"{path}: no song with id {song_id!r}")
    if key is None and ask is not None:
        key = ask(sorted(songs, key=lambda k: (len(k), k)), Path(audio_path).parent.name if audio_path else None)
    return Reference(songs[key], f"{path.name} [{key}]") if key in songs else None
