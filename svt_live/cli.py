"""svt-live: transcribe singing to notes and MIDI, from files or live.

Examples:
    svt-live song.mp3                          print the notes
    svt-live song.mp3 --json notes.json --midi-file song.mid --plot roll.png
    svt-live song.mp3 --plot roll.png --plot-span 30 45   piano roll of 30-45 s only
    svt-live song.mp3 --eval annotations.json  score against a reference (mir_eval)
    svt-live a.flac b.flac --eval refs/        one row per file plus mean and pooled rows
    svt-live --input mic --midi-out            sing; notes go to a virtual MIDI port "svt-live"
    svt-live --input mic --json take.json --midi-file take.mid   Ctrl-C ends the take and saves it
    svt-live --list-devices | --list-midi-ports | --list-models

References for --eval: a MIR-ST500 annotations.json (song picked by --song-id
or the audio file's parent folder name, as in the course layout), an SSVD
.txt, a vocadito .csv, an svt-live .csv, a MIDI file, or a folder holding
one same-stem annotation per input file.

Every file written is announced on stderr as "wrote PATH" (-q silences it).
"""
from __future__ import annotations

import argparse
import math
import os
import sys
import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np

from . import __version__
from .decode import MAX_NOTE_FRAMES
from .notes import NoteError, format_notes
from .outputs import OutputConflict, check_outputs, os_error_line, printable, song_keys
from .stop import StopRequest

NOTE_EXTENSIONS = (".json", ".txt", ".csv", ".mid", ".midi")
LIMITS = {"seconds": 7 * 24 * 3600.0, "hop": 60.0, "onset_tolerance": 10.0}  # the largest sane value of each


class UsageError(ValueError):
    """Conflicting or incomplete command-line options."""


class _Parser(argparse.ArgumentParser):
    """Reports bad options as :class:`UsageError` (one line) instead of usage text and exit."""

    def error(self, message):
        raise UsageError(message)


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="svt-live", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    p.add_argument("files", nargs="*", help="audio files (mp3, wav, flac, m4a, ogg, ...); - reads standard input")
    src = p.add_argument_group("input")
    src.add_argument("--input", choices=["file", "mic"], default="file",
                     help="'mic' transcribes the microphone live until Ctrl-C (default: the files given)")
    src.add_argument("--input-device", help="microphone: device index or name (see --list-devices)")
    src.add_argument("--seconds", type=float, help="microphone: stop after this many seconds")
    src.add_argument("--save-audio", metavar="WAV", help="microphone: also save the take as a 16-bit WAV")
    mdl = p.add_argument_group("model")
    mdl.add_argument("--model", help="bundled model name or checkpoint path (default: the shipped default)")
    mdl.add_argument("--device", default="auto", help="auto (CUDA when present, else CPU), cpu or cuda")
    mdl.add_argument("--hop", type=float, help="seconds of audio per model call "
                                               "(default 0.02 live, 2.0 for files; notes do not change)")
    mdl.add_argument("--min-note-frames", type=int, metavar="N",
                     help="shortest note, in 20 ms frames (default: the model's, tuned on validation songs): "
                          "each frame fewer sends every live NoteOn 20 ms sooner and lets more short false "
                          "notes through")
    out = p.add_argument_group("output")
    out.add_argument("--json", metavar="PATH", help="notes as MIR-ST500 JSON {song: [[onset, offset, midi]]} "
                                                    "(song: the file stem, or its folder where stems repeat)")
    out.add_argument("--csv", metavar="PATH", help="notes as CSV (a folder when several files are given)")
    out.add_argument("--midi-file", metavar="PATH", help="notes as a MIDI file (a folder for several files)")
    out.add_argument("--midi-out", nargs="?", const="svt-live", metavar="PORT",
                     help="send live MIDI: no value opens a virtual port 'svt-live', or name an existing port "
                          "(MIDI system: $SVT_MIDI_API = alsa, jack, coremidi or winmm; default ALSA, then JACK)")
    out.add_argument("--plot", metavar="PATH", help="piano roll PNG of the whole take (with --eval: reference "
                                                    "overlaid; a folder for several files)")
    out.add_argument("--plot-span", nargs=2, type=float, metavar=("START", "END"),
                     help="--plot shows only START to END seconds")
    out.add_argument("-q", "--quiet", action="store_true", help="print neither the notes nor 'wrote PATH' lines")
    ev = p.add_argument_group("evaluation")
    ev.add_argument("--eval", metavar="REF", help="reference notes to score against (see above)")
    ev.add_argument("--song-id", help="song id inside a MIR-ST500 annotations.json")
    ev.add_argument("--onset-tolerance", type=float, default=0.05,
                    help="seconds (default 0.05, the standard; the course's script used 0.1)")
    sing = p.add_argument_group("sight-singing")
    sing.add_argument("--score", metavar="EXERCISE", help="check the take against this score (.mid, .musicxml, "
                                                          ".mxl): every note right, wrong or missed, extra notes")
    sing.add_argument("--report", metavar="PATH", help="--score: the verdicts as JSON (a folder for several files)")
    sing.add_argument("--tolerance-cents", type=float, metavar="CENTS",
                      help="--score: largest pitch error of a right note (default 50)")
    sing.add_argument("--count-in", type=int, metavar="BARS", help="--score with --input mic: click BARS bars at "
                                                                   "the score's tempo first (MIDI with --midi-out)")
    info = p.add_argument_group("information")
    info.add_argument("--list-devices", action="store_true", help="list audio input devices and exit")
    info.add_argument("--list-midi-ports", action="store_true", help="list MIDI output ports and exit")
    info.add_argument("--list-models", action="store_true", help="list bundled models and exit")
    return p


def reference_file(audio: Path, ref: str) -> Path:
    """The file ``--eval REF`` scores ``audio`` against: REF, or in a folder REF the same-stem annotation."""
    r = Path(ref)
    if r.is_dir():
        for ext in NOTE_EXTENSIONS:
            cand = r / f"{audio.stem}{ext}"
            if cand.exists():
                return cand
        raise NoteError(f"{r}: no annotation named {audio.stem}.* (json, txt, csv, mid)")
    return r


def reference_for(audio: Path, ref: str, song_id: str | None) -> np.ndarray:
    """Reference notes for one audio file from ``--eval REF``."""
    from .annotations import load_notes

    r = reference_file(audio, ref)
    if Path(ref).is_dir():
        return load_notes(r, song_id=song_id or audio.stem)
    if r.suffix.lower() == ".json":
        from .annotations import load_json_notes
        songs = load_json_notes(r)
        if len(songs) == 1 and song_id is None:
            return next(iter(songs.values()))
        key = song_id or audio.resolve().parent.name
        if key not in songs:
            key = audio.stem if audio.stem in songs else key
        if key not in songs:
            raise NoteError(f"{r}: no song {key!r} (give --song-id; the default is the audio's folder name)")
        return songs[key]
    return load_notes(r)


FILE_OUTPUTS = (("csv", ".csv"), ("midi_file", ".mid"), ("plot", ".png"))  # one file per input (a folder for many)


def _out_path(arg: str, key: str, ext: str, many: bool) -> Path:
    return Path(arg) / f"{key}{ext}" if many else Path(arg)


def wrote(path, quiet: bool) -> None:
    """Announce a written output on stderr as ``wrote PATH`` unless ``quiet``."""
    if not quiet:
        print(f"wrote {printable(path)}", file=sys.stderr, flush=True)


def _check_outputs(args) -> None:
    """Refuse, before any work, an output that is an input file or the ``--eval`` reference, and
    two outputs on one path (:func:`svt_live.outputs.check_outputs`)."""
    outputs = [(f"--{flag.replace('_', '-')}", getattr(args, flag)) for flag in ("json", "save_audio")
               if getattr(args, flag)]
    inputs = [("input", f) for f in args.files if f != "-"]
    if args.input == "mic":
        outputs += [(f"--{flag.replace('_', '-')}", getattr(args, flag)) for flag, _ in FILE_OUTPUTS[:2]
                    if getattr(args, flag)]
    else:
        many = len(args.files) > 1
        for f, key in zip(args.files, song_keys(args.files)):
            outputs += [(f"--{flag.replace('_', '-')}", _out_path(getattr(args, flag), key, ext, many))
                        for flag, ext in FILE_OUTPUTS if getattr(args, flag)]
            if args.eval:
                try:
                    inputs.append(("--eval reference", reference_file(Path(f), args.eval)))
                except NoteError:
                    pass  # reported when the references are read
    try:
        check_outputs(outputs, inputs)
    except OutputConflict as exc:
        raise UsageError(str(exc)) from None


def run_files(args, lm) -> int:
    """Transcribe ``args.files`` and write the requested outputs; returns the exit status.

    Ctrl-C or SIGTERM stops the batch at the next 5 s block (``KeyboardInterrupt``): the
    file in progress is dropped, the outputs of the files before it are complete, and
    ``--json`` (written at the end) is left as it was.
    """
    with StopRequest() as stop:
        return _run_files(args, lm, stop)


def _run_files(args, lm, stop: StopRequest) -> int:
    from tqdm import tqdm

    from .annotations import write_json
    from .audio import AudioError, iter_audio
    from .engine import FILE_HOP, Engine
    from .evaluate import format_table, score_songs

    files = [Path(f) for f in args.files]
    keys = song_keys(files)
    many = len(files) > 1
    results, pairs, failed = {}, {}, 0
    refs = {}
    if args.eval:  # read every reference first: a bad one fails before minutes of work
        refs = {key: reference_for(f, args.eval, args.song_id) for f, key in zip(files, keys)}
    for f, key in tqdm(list(zip(files, keys)), desc="transcribing", unit="file", disable=not many):
        stop.check()
        try:
            eng = Engine(lm, lm.features.sample_rate, args.hop or FILE_HOP, overlap=True)
            for block in iter_audio(f, lm.features.sample_rate, block_seconds=5.0):
                eng.push(block)
                stop.check()
            eng.finish()
        except AudioError as exc:
            print(f"svt-live: error: {printable(exc)}", file=sys.stderr)
            failed += 1
            continue
        notes = eng.notes
        results[key] = notes
        if not args.quiet:
            head = printable(f"{f}: {len(notes)} notes")
            print(head if not len(notes) else f"{head}\n{format_notes(notes)}")
        if args.eval:
            pairs[key] = (refs[key], notes)
        failed += not _write_outputs(args, f, key, many, notes, refs.get(key))
    try:
        if args.json and results:
            write_json(args.json, results)
            wrote(args.json, args.quiet)
    except OSError as exc:
        print(f"svt-live: error: {printable(_os_error(exc))}", file=sys.stderr)
        failed += 1
    if pairs:
        res = score_songs(pairs, args.onset_tolerance)
        print(printable(format_table(res, f"\nmir_eval, onset tolerance {args.onset_tolerance * 1000:.0f} ms, "
                                f"pitch 50 cents, offset 20 % / 50 ms (P / R / F1 %)"), newlines=True))
    return 1 if failed else 0


def _write_outputs(args, f: Path, key: str, many: bool, notes: np.ndarray, ref: np.ndarray | None) -> bool:
    """Write one input's CSV, MIDI file and plot; an output that fails is reported in one line and
    the others are still written. Returns whether all were."""
    from .annotations import write_csv

    ok = True
    for flag, ext in FILE_OUTPUTS:
        if not getattr(args, flag):
            continue
        path = _out_path(getattr(args, flag), key, ext, many)
        try:
            if flag == "csv":
                write_csv(path, notes)
            elif flag == "midi_file":
                from .midi import write_midi_file
                write_midi_file(path, notes)
            else:
                from .plot import plot_transcription
                plot_transcription(path, notes, ref, span=args.plot_span, title=f.name)
        except OSError as exc:
            print(f"svt-live: error: {printable(_os_error(exc))}", file=sys.stderr)
            ok = False
        else:
            wrote(path, args.quiet)
    return ok


def _check(args) -> None:
    listing = args.list_devices or args.list_midi_ports or args.list_models
    if args.input == "mic":
        if args.files:
            raise UsageError("--input mic takes no audio files")
        if args.eval or args.plot:
            raise UsageError("--eval and --plot work on files, not on --input mic")
    elif not args.files and not listing:
        raise UsageError("give audio files, or --input mic")
    if args.plot_span is not None:
        start, end = args.plot_span
        if not args.plot:
            raise UsageError("--plot-span needs --plot")
        if not (0 <= start < end < math.inf):
            raise UsageError(f"--plot-span START END: need 0 <= START < END, got {start:g} {end:g}")
    if args.input == "file" and (args.input_device or args.seconds or args.save_audio or args.midi_out):
        raise UsageError("--input-device, --seconds, --save-audio and --midi-out need --input mic")
    for flag, most in LIMITS.items():
        value = getattr(args, flag)
        if value is not None and not (0 < value <= most):  # also refuses nan
            raise UsageError(f"--{flag.replace('_', '-')} must be a positive number up to {most:g}, got {value}")
    if args.min_note_frames is not None and not 1 <= args.min_note_frames <= MAX_NOTE_FRAMES:
        most = "" if args.min_note_frames < 1 else f" and at most {MAX_NOTE_FRAMES}"
        raise UsageError(f"--min-note-frames must be 1 or more{most}, got {args.min_note_frames}")
    if args.files.count("-") > 1:
        raise UsageError("'-' (standard input) can be given once")
    _check_score(args)


def _check_score(args) -> None:
    """The sight-singing options: each needs --score; with files, --score writes only --report."""
    if args.score is None:
        if args.report or args.tolerance_cents is not None or args.count_in is not None:
            raise UsageError("--report, --tolerance-cents and --count-in need --score")
        return
    if args.input == "file" and (args.eval or args.json or args.csv or args.midi_file or args.plot):
        raise UsageError("--score checks files and writes --report; transcribe without --score for "
                         "--eval, --json, --csv, --midi-file and --plot")
    if args.count_in is not None and (args.input != "mic" or not 0 <= args.count_in <= 16):
        raise UsageError(f"--count-in takes 0 to 16 bars and needs --input mic, got {args.count_in}")
    if args.tolerance_cents is not None and not 0 < args.tolerance_cents <= 1200:
        raise UsageError(f"--tolerance-cents must be more than 0 and at most 1200, got {args.tolerance_cents}")


def _expected_errors() -> tuple:
    """The failures that end the command with one line and status 1 (imported only once
    needed: ``--help`` and usage errors must not wait for torch)."""
    from .audio import AudioError
    from .checkpoint import CheckpointError
    from .mic import MicError
    from .midi import MidiPortError
    return AudioError, NoteError, CheckpointError, MicError, MidiPortError


def _torch_device(name: str):
    """``--device``: auto, cpu, cuda or cuda:N -> a usable torch device, else :class:`UsageError`."""
    import torch

    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        device = None
    if device is None or device.type not in ("cpu", "cuda"):
        raise UsageError(f"--device {name!r}: use auto, cpu, cuda or cuda:N")
    if device.type == "cuda" and (device.index or 0) >= torch.cuda.device_count():
        raise UsageError(f"--device {name}: {torch.cuda.device_count()} CUDA device(s) available")
    return device


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Warnings (dropped or unsorted notes, skipped corrupt audio) as one line each."""
    print(f"svt-live: warning: {printable(message)}", file=sys.stderr)


def _os_error(exc: OSError) -> str:
    """One line for a failed file operation, naming the file the user gave (not a temporary one)."""
    return os_error_line(exc)


def main(argv=None) -> int:
    """The ``svt-live`` command: returns its exit status (0 ok, 1 failed, 2 bad usage, 130 interrupted)."""
    parser = build_parser()
    with warnings.catch_warnings():
        warnings.simplefilter("default")
        warnings.showwarning = _show_warning
        return _main(parser, argv)


def _usage_error(exc: UsageError) -> int:
    print(f"svt-live: error: {printable(exc)} (see svt-live --help)", file=sys.stderr)
    return 2


def _main(parser, argv) -> int:
    """:func:`main` without the warning set-up: every expected failure becomes one line and a status."""
    try:
        args = parser.parse_args(argv)
        _check(args)
        _check_outputs(args)
    except UsageError as exc:
        return _usage_error(exc)
    try:
        if args.list_models:
            from .checkpoint import DEFAULT_MODEL, bundled_descriptions

            for name, text in bundled_descriptions().items():
                print(f"{name:<16}{'default' if name == DEFAULT_MODEL else '':<9}{text}".rstrip())
            return 0
        if args.list_devices:
            from .mic import list_devices
            print(list_devices())
            return 0
        if args.list_midi_ports:
            from .midi import list_output_ports
            print(list_output_ports())
            return 0
        import torch

        from .checkpoint import load_model
        live = args.input == "mic"
        torch.set_num_threads(1 if live else min(4, os.cpu_count() or 1))
        lm = load_model(args.model, _torch_device(args.device))
        if args.min_note_frames is not None:
            lm = replace(lm, decoding=replace(lm.decoding, min_note_frames=args.min_note_frames))
        if args.score:
            from .exercise import run_exercise
            return run_exercise(args, lm)
        if live:
            from .live import run_live
            return run_live(args, lm)
        return run_files(args, lm)
    except UsageError as exc:
        return _usage_error(exc)
    except KeyboardInterrupt:  # before _expected_errors(): no imports while interrupted
        print("svt-live: interrupted", file=sys.stderr)
        return 130
    except _expected_errors() as exc:
        print(f"svt-live: error: {printable(exc)}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"svt-live: error: {printable(_os_error(exc))}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
