"""Frame pitch accuracy of a model by the singer's register.

For every annotated frame the model also calls voiced (voicing >= 0.5), the
frame pitch error is model minus reference in semitones. Frames an octave or
more off (|error| >= 2) are left out of the median, so the median shows a
register's bias; "within 50 cents" counts all of them. Registers are 6
semitones wide, by reference pitch (MIDI). This is how the sharp reading of
low voices (below MIDI 54) was found.

The model name ``f0`` stands for the audio itself: in every annotated frame,
a harmonic-sum search (the frame's magnitude spectrum summed at the first
harmonics below 4 kHz, 5-cent steps within a semitone of the reference)
finds the sung fundamental; its "error" is then the annotation's own offset
from the sung pitch. That is how SSVD's references were found to sit above
the sung f0, the more so the lower the voice, and the default model with
them.

    python -m benchmarks.pitch_by_register --sets mir_valid,ssvd_dev --models singing_crnn
    python -m benchmarks.pitch_by_register --sets ssvd_dev,vocadito --models singing_crnn,f0
"""
from __future__ import annotations

import sys

import numpy as np
import torch
from tqdm import tqdm

from benchmarks.common import sets_and_models
from svt_live.engine.checkpoint import load_model
from svt_live.engine.features import FeatureConfig
from svt_live.engine.offline import transcribe_file
from svt_live.io.audio import load_audio
from svt_train.datasets import named_set
from svt_train.f0 import frame_offsets
from svt_train.labels import notes_to_frames

REGISTERS = range(36, 84, 6)


def f0_errors(songs) -> tuple[np.ndarray, np.ndarray]:
    """(reference pitch, sung f0 - reference) over annotated frames: the references' own offset."""
    cfg = FeatureConfig()
    ref_p, err = [], []
    for s in tqdm(songs, desc="f0", leave=False):
        ref, f0 = frame_offsets(s.notes, load_audio(s.audio, cfg.sample_rate), cfg)
        voiced = ref > 0
        ref_p.append(ref[voiced])
        err.append(f0[voiced] - ref[voiced])
    return np.concatenate(ref_p), np.concatenate(err)


def frame_errors(model: str, songs) -> tuple[np.ndarray, np.ndarray]:
    """(reference pitch, model - reference) in MIDI / semitones, over frames both call voiced."""
    lm = load_model(model)
    ref_p, err = [], []
    for s in tqdm(songs, desc=model, leave=False):
        post = transcribe_file(s.audio, lm)[1]
        ref = notes_to_frames(s.notes, len(post["pitch"]), lm.features.frame_seconds)["pitch"]
        both = (ref > 0) & (post["voiced"] >= 0.5)
        ref_p.append(ref[both])
        err.append(post["pitch"][both] - ref[both])
    return np.concatenate(ref_p), np.concatenate(err)


def main(argv=None) -> int:
    args = sets_and_models(__doc__, "mir_valid,ssvd_dev", argv)
    torch.set_num_threads(1)
    print(f"{'set':<10} {'model':<28} {'register':<9} {'frames':>7} {'median err':>11} {'within 50c':>11}")
    for set_name in args.sets.split(","):
        songs = named_set(set_name, args.data_root)
        for model in args.models.split(","):
            pitch, err = f0_errors(songs) if model == "f0" else frame_errors(model, songs)
            for lo in REGISTERS:
                band = (pitch >= lo) & (pitch < lo + 6)
                if band.sum() < 50:
                    continue
                near = band & (np.abs(err) < 2)
                print(f"{set_name:<10} {model:<28} {lo}-{lo + 6:<6} {band.sum():>7} "
                      f"{np.median(err[near]):>+11.2f} {np.mean(np.abs(err[band]) < 0.5):>11.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
