"""Key estimation from notes, and note spelling in a key.

Conventions: a key is ``(tonic pitch class 0-11 with C = 0, mode 'major' or
'minor')``; notes are ``(onset_s, offset_s, midi)`` rows whose MIDI numbers
are rounded (against a tuning, see :mod:`svt_live.theory.tuning`) before counting.
Each pitch class is weighted by the total duration of its notes. The key
signature is the one whose seven notes cover the most of that duration
(within :data:`COVERAGE_SLACK`, so that a melody leaving out a scale step
still gets a signature); among the major and minor keys of the signatures
that qualify, the key is the one whose key profile correlates
best with the histogram (the Krumhansl-Schmuckler method, with the
Temperley-Kostka-Payne profiles), with a bonus of :data:`FINAL_TONIC_BONUS`
for the key whose tonic the melody ends on (the strongest tonic cue in folk
song). A melody on the five notes of an anhemitonic pentatonic scale (C D E G
A), covered by three signatures, takes its root's major signature
(:func:`pentatonic_root`).

Spelling works on the line of fifths (F -1, C 0, G 1, ... each sharp +7):
a key with ``s`` sharps holds the positions ``s - 1`` to ``s + 5``; a note
outside it is spelled raised (sharp side) when the melody steps up from it
by a semitone or came up to it by one, lowered when it steps down, else
whichever spelling lies nearer the key's centre (the raised seventh in minor
on a tie). Double sharps and flats only for the raised seventh of a minor
key that needs one (G# minor's F##).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from svt_live.theory.tuning import round_to_tuning

# Key profiles of Temperley, Kostka and Payne (Temperley 2007, from the Kostka-Payne textbook's
# excerpts; values as Humdrum's keycor gives them): a corpus independent of benchmarks.notation's melodies.
MAJOR_PROFILE = np.array([0.748, 0.060, 0.488, 0.082, 0.670, 0.460, 0.096, 0.715, 0.104, 0.366, 0.057, 0.400])
MINOR_PROFILE = np.array([0.712, 0.084, 0.474, 0.618, 0.049, 0.460, 0.105, 0.747, 0.404, 0.067, 0.133, 0.330])
# Tonic names as key signatures spell them: the fewest accidentals (F# major / Eb minor by convention).
MAJOR_NAMES = ("C", "Db", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
MINOR_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "G#", "A", "Bb", "B")


@dataclass(frozen=True)
class Key:
    """An estimated key: ``tonic`` pitch class (C = 0), ``mode`` and its correlation ``score`` (-1..1)."""

    tonic: int
    mode: str
    score: float = 0.0

    @property
    def name(self) -> str:
        """E.g. ``'G major'``, ``'F# minor'``."""
        return f"{(MAJOR_NAMES if self.mode == 'major' else MINOR_NAMES)[self.tonic]} {self.mode}"

    @property
    def sharps(self) -> int:
        """Key-signature accidentals: sharps positive, flats negative (G major 1, F major -1)."""
        major_tonic = self.tonic if self.mode == "major" else (self.tonic + 3) % 12
        fifths = (major_tonic * 7) % 12  # steps round the circle of fifths from C
        if fifths == 6:  # F# major (6 sharps) but Eb minor (6 flats), as the names spell them
            return 6 if self.mode == "major" else -6
        return fifths - 12 if fifths > 6 else fifths

    @property
    def midi_name(self) -> str:
        """The key as a MIDI ``key_signature`` meta message names it: ``'G'``, ``'F#m'``."""
        return self.name.split()[0] + ("m" if self.mode == "minor" else "")


def pitch_class_weights(notes, tuning_cents: float = 0.0) -> np.ndarray:
    """Total duration (s) of the notes of each pitch class ``[12]``, C first."""
    arr = np.asarray(notes, dtype=np.float64).reshape(-1, 3)
    pcs = round_to_tuning(arr[:, 2], tuning_cents) % 12
    return np.bincount(pcs, weights=np.maximum(arr[:, 1] - arr[:, 0], 0.0), minlength=12)


COVERAGE_SLACK = 0.02
# Correlation added to the key whose tonic is the melody's last note: enough to settle keys that
# correlate within about 0.1 (relative major and minor, neighbouring signatures of a hexatonic tune).
FINAL_TONIC_BONUS = 0.1  # share of the notes' duration a signature may leave uncovered more than the best one


def signature_pitch_classes(sharps: int) -> set[int]:
    """The seven pitch classes a key signature covers (``sharps`` < 0 for flats).

    >>> sorted(signature_pitch_classes(1))  # G major: F#
    [0, 2, 4, 6, 7, 9, 11]
    """
    return {(7 * p) % 12 for p in range(sharps - 1, sharps + 6)}


def estimate_key(notes, tuning_cents: float = 0.0) -> Key | None:
    """The key that best explains the notes, or ``None`` without notes.

    Parameters
    ----------
    notes : array_like, shape (n, 3)
        ``(onset_s, offset_s, midi)`` rows.
    tuning_cents : float
        Tuning the pitches are rounded against.

    Returns
    -------
    Key or None

    Examples
    --------
    >>> scale = [55, 57, 59, 60, 62, 64, 66, 67, 62, 59, 55]  # G major, up and back to G
    >>> estimate_key([[i, i + 1, p] for i, p in enumerate(scale)]).name
    'G major'
    >>> estimate_key([]) is None
    True
    """
    weights = pitch_class_weights(notes, tuning_cents)
    if weights.sum() <= 0 or np.count_nonzero(weights) < 2:
        return None if weights.sum() <= 0 else Key(int(np.argmax(weights)), "major", 1.0)
    keys = [Key(tonic, mode, float(np.corrcoef(weights, np.roll(profile, tonic))[0, 1]))
            for mode, profile in (("major", MAJOR_PROFILE), ("minor", MINOR_PROFILE)) for tonic in range(12)]
    cover = {k: weights[sorted(signature_pitch_classes(k.sharps))].sum() / weights.sum() for k in keys}
    top = max(cover.values())
    arr = np.asarray(notes, dtype=np.float64).reshape(-1, 3)
    final = int(round_to_tuning(arr[np.argmax(arr[:, 0]), 2:3], tuning_cents)[0]) % 12
    root = pentatonic_root(weights)
    candidates = [k for k in keys if (cover[k] >= top - COVERAGE_SLACK if root is None
                                      else k.sharps == Key(root, "major").sharps)]
    return max(candidates, key=lambda k: k.score + FINAL_TONIC_BONUS * (k.tonic == final))


def pentatonic_root(weights: np.ndarray) -> int | None:
    """The root of the anhemitonic pentatonic scale (five pitch classes, consecutive on the line
    of fifths: C D E G A, root C) that a melody's pitch classes ``weights [12]`` make up, else ``None``.

    Such a melody is covered by three key signatures; it is notated with its root's major one
    (C D E G A in C major, whichever note it ends on).

    >>> w = np.zeros(12); w[[7, 9, 11, 2, 4]] = 1.0  # G A B D E
    >>> pentatonic_root(w), pentatonic_root(np.ones(12))
    (7, None)
    """
    used = set(np.flatnonzero(np.asarray(weights) > 0).tolist())
    if len(used) != 5:
        return None
    return next((r for r in range(12) if used == {(r + 7 * i) % 12 for i in range(5)}), None)


LETTERS = "FCGDAEB"  # line-of-fifths order: F is -1, C 0, G 1 ...


def _spelling_at(position: int) -> tuple[str, int]:
    """Line-of-fifths position -> ``(step letter, alteration in semitones)``."""
    return LETTERS[(position + 1) % 7], (position + 1) // 7


def spell(midi, key: Key | None = None) -> list[tuple[str, int]]:
    """Steps and alterations for a melody in a key: by scale degree and melodic direction.

    Parameters
    ----------
    midi : array_like of int
        MIDI note numbers in melodic order.
    key : Key, optional
        The key (C major when ``None``).

    Returns
    -------
    list of (str, int)
        Step letter and alteration (-2..2) per note.

    Examples
    --------
    >>> spell([60, 61, 62, 63, 62, 70])  # C major: C# on the way up, Eb coming down, Bb
    [('C', 0), ('C', 1), ('D', 0), ('E', -1), ('D', 0), ('B', -1)]
    >>> spell([68, 69], Key(9, "minor"))  # A minor's leading tone
    [('G', 1), ('A', 0)]
    """
    key = key or Key(0, "major")
    s = key.sharps
    notes = [int(m) for m in np.asarray(midi).reshape(-1)]
    out = []
    for i, m in enumerate(notes):
        pc = m % 12
        base = (7 * pc) % 12  # positions of this pitch class: base + 12 j
        inside = [p for p in range(s - 13, s + 19) if (p - base) % 12 == 0 and s - 1 <= p <= s + 5]
        if inside:
            out.append(_spelling_at(inside[0]))
            continue
        up = next(p for p in range(s + 6, s + 11) if (p - base) % 12 == 0)
        down = up - 12
        nxt = notes[i + 1] - m if i + 1 < len(notes) else 0
        prev = m - notes[i - 1] if i else 0
        if nxt == 1 or (nxt != -1 and prev == 1):
            choice = up
        elif nxt == -1 or prev == -1:
            choice = down
        else:
            centre = s + 2
            d_up, d_down = up - centre, centre - down
            leading = key.mode == "minor" and pc == (key.tonic - 1) % 12
            choice = up if d_up < d_down or (d_up == d_down and (leading or key.mode == "minor")) else down
        spelled = _spelling_at(choice)
        if abs(spelled[1]) >= 2 and not (key.mode == "minor" and pc == (key.tonic - 1) % 12):
            spelled = _spelling_at(down if choice == up else up)
        out.append(spelled)
    return out


def parse_key(text: str) -> Key:
    """``'F major'``, ``'D minor'``, ``'Bb'``, ``'F#m'`` or ``'c# min'`` -> :class:`Key`; a clear
    :class:`ValueError` otherwise.

    >>> parse_key("Bb").name, parse_key("F#m").name, parse_key("e minor").name
    ('Bb major', 'F# minor', 'E minor')
    """
    import re

    m = re.fullmatch(r"\s*([A-Ga-g])\s*(#|b|♯|♭|-)?\s*(m|min|minor|maj|major)?\s*", text or "")
    if not m:
        raise ValueError(f"--key takes a key such as C, F#m, Bb major or D minor, got {text!r}")
    tonic = (dict(C=0, D=2, E=4, F=5, G=7, A=9, B=11)[m[1].upper()]
             + {"#": 1, "♯": 1, "b": -1, "♭": -1, "-": -1}.get(m[2] or "", 0)) % 12
    return Key(tonic, "minor" if (m[3] or "").startswith("m") and m[3] not in ("maj", "major") else "major")
