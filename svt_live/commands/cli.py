"""svt-live: transcribe singing to notes and MIDI, from files or live.

Examples:
    svt-live song.mp3                          print the notes
    svt-live song.mp3 --json notes.json --midi-file song.mid --plot roll.png
    svt-live song.mp3 --plot roll.png --plot-span 30 45   piano roll of 30-45 s only
    svt-live song.mp3 --eval annotations.json  score against a reference (mir_eval)
    svt-live a.flac b.flac --eval refs/        one row per file plus mean and pooled rows
    svt-live song.mp3 --midi-file song.mid --quantize 1/16 --pitch-bends
    svt-live song.mp3 --musicxml song.musicxml   a lead sheet: tempo, meter, key inferred
    svt-live song.mp3 --musicxml song.musicxml --bpm 96 --meter 3/4 --key F   given instead
    svt-live songs/ --output-dir out --midi-file --musicxml --jobs 2  a folder, its layout kept
    svt-live song.mp3 --midi-out --realtime     play the notes to MIDI as the song goes
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
from contextlib import closing
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from svt_live import __version__
from svt_live.console import Parser, UsageError, wrote
from svt_live.engine.batch import output_path
from svt_live.engine.decode import MAX_NOTE_FRAMES
from svt_live.engine.stop import StopRequest
from svt_live.io.outputs import OutputConflict, check_outputs, os_error_line, printable, same_file, song_keys
from svt_live.notes import NoteError, format_notes
from svt_live.theory.tuning import describe_tuning

IN_OUTPUT_DIR = "\0--output-dir"  # an output flag given without a path (no real path holds a NUL)
MAX_HOLD_MS = 2000.0  # --hold-ms: longer holds turn phrases into one note
LIMITS = {"seconds": 7 * 24 * 3600.0, "hop": 60.0, "onset_tolerance": 10.0}  # the largest sane value of each


def build_parser() -> argparse.ArgumentParser:
    p = Parser(prog="svt-live", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    p.add_argument("files", nargs="*", help="audio files (mp3, wav, flac, m4a, ogg, ...) or folders (every "
                                            "audio file under them); - reads standard input")
    src = p.add_argument_group("input")
    src.add_argument("--input", choices=["file", "mic"], default="file",
                     help="'mic' transcribes the microphone live until Ctrl-C, printing each NoteOn with its "
                          "engine latency (from the audio reaching svt-live; the sound card's and PortAudio's "
                          "buffering come on top) (default: the files given)")
    src.add_argument("--input-device", help="microphone: device index or name (see --list-devices)")
    src.add_argument("--seconds", type=float, help="microphone: stop after this many seconds")
    src.add_argument("--save-audio", metavar="WAV", help="microphone: also save the take as a 16-bit WAV")
    mdl = p.add_argument_group("model")
    mdl.add_argument("--model", help="bundled model name or checkpoint path (default: the shipped default)")
    mdl.add_argument("--live-model", metavar="NAME|PATH",
                     help="live mode: the network whose early NoteOns go to the MIDI port (default "
                          "singing_crnn_live; the files always hold --model's notes)")
    mdl.add_argument("--device", default="auto",
                     help="auto (CUDA when present, then MPS, else CPU), cpu, cuda, cuda:N or mps")
    mdl.add_argument("--hop", type=float, help="seconds of audio per model call "
                                               "(default 0.02 live, 2.0 for files; notes do not change)")
    mdl.add_argument("--min-note-frames", type=int, metavar="N",
                     help="shortest note, in 20 ms frames, of the notes files get and a live take's saved "
                          "files hold (default: the model's, tuned on validation songs): each frame fewer keeps "
                          "shorter notes and more short false ones; the live MIDI port's NoteOns do not change")
    out = p.add_argument_group("output")
    out.add_argument("--json", nargs="?", const=IN_OUTPUT_DIR, metavar="PATH",
                     help="notes as MIR-ST500 JSON {song: [[onset, offset, midi]]} (song: the file stem, or its "
                          "folder where stems repeat)")
    out.add_argument("--csv", nargs="?", const=IN_OUTPUT_DIR, metavar="PATH",
                     help="notes as CSV; several files go into one CSV with a file column")
    out.add_argument("--midi-file", nargs="?", const=IN_OUTPUT_DIR, metavar="PATH",
                     help="notes as a MIDI file (a folder for several files)")
    out.add_argument("--musicxml", nargs="?", const=IN_OUTPUT_DIR, metavar="PATH",
                     help="a lead sheet as MusicXML: notes on the grid, measures, key, tempo (a folder for "
                          "several files)")
    out.add_argument("--midi-out", nargs="?", const="svt-live", metavar="PORT",
                     help="send live MIDI: no value opens a virtual port 'svt-live', or name an existing port "
                          "(MIDI system: $SVT_MIDI_API = alsa, jack, coremidi or winmm; default ALSA, then JACK)")
    out.add_argument("--scale", metavar="KEY:MODE",
                     help="live MIDI port: snap each NoteOn to the nearest note of this scale (e.g. D:minor, "
                          "C:major, A:dorian; modes: major, minor, harmonic-minor, dorian, phrygian, lydian, "
                          "mixolydian, pentatonic-major, pentatonic-minor, blues, chromatic = off; an exact tie "
                          "goes the way the melody went); the saved files keep what was sung")
    out.add_argument("--hold-ms", type=float, default=0.0, metavar="N",
                     help="live MIDI port: keep a note sounding through an unvoiced gap when the next NoteOn, "
                          "within N ms, has the same number (its NoteOff waits up to N ms; default 0 = off)")
    out.add_argument("--plot", nargs="?", const=IN_OUTPUT_DIR, metavar="PATH",
                     help="piano roll PNG of the whole take (with --eval: reference overlaid; "
                          "a folder for several files)")
    out.add_argument("--plot-span", nargs=2, type=float, metavar=("START", "END"),
                     help="--plot shows only START to END seconds")
    out.add_argument("-q", "--quiet", action="store_true", help="print neither the notes nor 'wrote PATH' lines")
    out.add_argument("--realtime", action="store_true",
                     help="one file: play it through the live engine at real-time pace (with --midi-out: to the port)")
    mus = p.add_argument_group("MIDI file and score")
    mus.add_argument("--bpm", type=float,
                     help="a constant tempo for the MIDI file and score, quarter notes per minute (default: "
                          "inferred from the sung notes, following the singer's drift: the MIDI file carries "
                          "the tempo map)")
    mus.add_argument("--meter", help="time signature such as 3/4 or 6/8 (default: inferred: 2/4, 3/4, 4/4 or 6/8, "
                                     "with a pickup bar where the song starts on an upbeat)")
    mus.add_argument("--key", help="key such as F, F#m, Bb major or D minor, for the key signature and spelling "
                                   "(default: inferred from the notes)")
    mus.add_argument("--quantize", metavar="GRID", help="MIDI file: move notes to the lead sheet's note values, "
                                                        "rounded to 1/8, 1/16 or 1/32 notes (default: real timing "
                                                        "on the inferred tempo map)")
    mus.add_argument("--pitch-bends", action="store_true",
                     help="MIDI: each note's cents and sung contour as pitch-wheel messages (bend range by RPN)")
    mus.add_argument("--tuning", default="440", help="A4 in Hz that pitches are rounded against to MIDI notes and "
                                                     "the key (default 440), or auto: the singer's tuning, "
                                                     "estimated from the notes and printed either way")
    bat = p.add_argument_group("batches")
    bat.add_argument("--output-dir", metavar="DIR", help="one file per input and output kind under DIR, keeping "
                                                         "the inputs' layout (kinds: --json --csv --midi-file "
                                                         "--musicxml --plot given without a path; default "
                                                         "--midi-file)")
    bat.add_argument("--jobs", type=int, default=1, metavar="N",
                     help="transcribe N files at once (processes; at most one per core)")
    bat.add_argument("--skip-existing", action="store_true",
                     help="leave out inputs whose every output file exists already (and is not empty)")
    ev = p.add_argument_group("evaluation")
    ev.add_argument("--eval", metavar="REF", help="reference notes to score against (see above)")
    ev.add_argument("--song-id", help="song id inside a MIR-ST500 annotations.json")
    ev.add_argument("--onset-tolerance", type=float, default=0.05,
                    help="seconds (default 0.05, the standard; the course's script used 0.1)")
    sing = p.add_argument_group("sight-singing")
    sing.add_argument("--score", metavar="EXERCISE", help="check the take against this score (.mid, .musicxml, "
                                                          ".mxl): every note right, wrong or missed, extra notes")
    sing.add_argument("--report", metavar="PATH", help="--score: the verdicts, an .html page or JSON; a folder "
                      "(several takes, or a path ending in /) gets both per take and class.csv")
    sing.add_argument("--tolerance-cents", type=float, metavar="CENTS",
                      help="--score: largest pitch error of a right note (default 50)")
    sing.add_argument("--count-in", type=int, metavar="BARS", help="--score with --input mic: click BARS bars at "
                                                                   "the score's tempo first (MIDI with --midi-out)")
    info = p.add_argument_group("information")
    info.add_argument("--list-devices", action="store_true", help="list audio input devices and exit")
    info.add_argument("--list-midi-ports", action="store_true", help="list MIDI output ports and exit")
    info.add_argument("--list-models", action="store_true", help="list bundled models and exit")
    return p


def reference_file(audio: Path, ref: str, rel: Path | None = None) -> Path:
    """The file ``--eval REF`` scores ``audio`` against: REF, or in a folder REF the annotation at the
    audio's path ``rel`` under the folder it was found in (``REF/x/a.txt`` for ``songs/x/a.wav``), else
    the same-stem one at REF's top."""
    from svt_live.io.annotations import ANNOTATION_EXTENSIONS

    r = Path(ref)
    if r.is_dir():
        places = ([rel.with_suffix("")] if rel is not None and rel.parent != Path(".") else []) + [Path(audio.stem)]
        for place in places:
            for ext in ANNOTATION_EXTENSIONS:
                cand = r / place.parent / f"{place.name}{ext}"
                if cand.exists():
                    return cand
        raise NoteError(f"{r}: no annotation named {places[0]}.* (json, txt, csv, mid)")
    return r


def reference_for(audio: Path, ref: str, song_id: str | None, rel: Path | None = None) -> np.ndarray:
    """Reference notes for one audio file from ``--eval REF`` (``rel``: its path under its input folder)."""
    from svt_live.io.annotations import load_notes

    r = reference_file(audio, ref, rel)
    if Path(ref).is_dir():
        return load_notes(r, song_id=song_id or audio.stem)
    if r.suffix.lower() == ".json":
        from svt_live.io.annotations import load_json_notes, pick_song
        songs = load_json_notes(r)
        key = pick_song(songs, song_id, audio)
        if key is None:
            raise NoteError(f"{r}: no song {song_id or audio.resolve().parent.name!r} "
                            "(give --song-id; the default is the audio's folder name)")
        return songs[key]
    return load_notes(r)


FILE_OUTPUTS = (("csv", ".csv"), ("midi_file", ".mid"), ("musicxml", ".musicxml"), ("plot", ".png"))
PER_INPUT = FILE_OUTPUTS + (("json", ".json"),)  # with --output-dir every kind is one file per input


def _out_path(arg: str, key: str, ext: str, many: bool) -> Path:
    return Path(arg) / f"{key}{ext}" if many else Path(arg)


def _targets(args, i: int, many: bool) -> list[tuple[str, Path]]:
    """``(flag, path)`` of every file written for input ``i``: under ``--output-dir`` one per kind,
    else the path given (a folder for several inputs; --json and a several-input --csv are one
    file for all and not listed)."""
    key, out = args.keys[i], []
    for flag, ext in PER_INPUT:
        value = getattr(args, flag)
        if value is None:
            continue
        if args.output_dir:
            out.append((flag, output_path(args.output_dir, args.out_stems[i], ext)))
        elif flag != "json" and not (flag == "csv" and many):
            out.append((flag, _out_path(value, key, ext, many)))
    return out


def _check_outputs(args) -> None:
    """Refuse, before any work, an output that is an input file or the ``--eval`` reference, and
    two outputs on one path (:func:`svt_live.io.outputs.check_outputs`)."""
    outputs = [(f"--{flag.replace('_', '-')}", getattr(args, flag)) for flag in ("json", "save_audio")
               if getattr(args, flag) and not args.output_dir]
    inputs = [("input", f) for f in args.files if f != "-"]
    if args.score:
        inputs.append(("--score exercise", args.score))
    if args.input == "mic":
        outputs += [(f"--{flag.replace('_', '-')}", getattr(args, flag)) for flag, _ in FILE_OUTPUTS[:2]
                    if getattr(args, flag)]
        if args.report:
            outputs.append(("--report", args.report))
    else:
        many = len(args.files) > 1
        if many and args.csv and not args.output_dir:
            outputs.append(("--csv", args.csv))
        for i, item in enumerate(args.inputs):
            outputs += [(f"--{flag.replace('_', '-')}", path) for flag, path in _targets(args, i, many)]
            if args.eval:
                try:
                    inputs.append(("--eval reference", reference_file(item.path, args.eval, item.rel)))
                except NoteError:
                    pass  # reported when the references are read
    try:
        check_outputs(outputs, inputs)
    except OutputConflict as exc:
        if args.output_dir and "both write" in str(exc):  # the paths are not the user's to give
            raise UsageError(f"{str(exc).split(': give')[0]}: two inputs share that name under --output-dir; "
                             "rename one of them or transcribe them in separate runs") from None
        raise UsageError(str(exc)) from None


def run_files(args, lm) -> int:
    """Transcribe ``args.files`` and write the requested outputs; returns the exit status.

    Ctrl-C or SIGTERM stops the batch at the next 5 s block (``KeyboardInterrupt``): the
    file in progress is dropped, the outputs of the files before it are complete, and
    ``--json`` and a several-file ``--csv`` (written at the end) are left as they were.
    With ``--jobs N`` the files run in N processes; the notes are the same.
    """
    with StopRequest() as stop:
        return _run_files(args, lm, stop)


def _run_files(args, lm, stop: StopRequest) -> int:
    from tqdm import tqdm

    from svt_live.engine.batch import map_files
    from svt_live.evaluate import evaluate_songs, format_table
    from svt_live.io.annotations import write_csv_table, write_json

    keys = args.keys
    many = len(args.inputs) > 1
    results, pairs, failed = {}, {}, 0
    refs = {}
    if args.eval:  # read every reference first: a bad one fails before minutes of work
        refs = {key: reference_for(i.path, args.eval, args.song_id, i.rel) for i, key in zip(args.inputs, keys)}
    jobs = []
    for i, (item, key) in enumerate(zip(args.inputs, keys)):
        targets = _targets(args, i, many)
        if args.skip_existing and targets and all(_done(path) for _, path in targets):
            if not args.quiet:
                print(f"svt-live: {printable(item.path)}: skipped, its outputs exist", file=sys.stderr)
            continue
        jobs.append((item, key, targets))
    state = (args, lm, refs, stop if args.jobs == 1 else StopRequest())  # workers: the parent stops them
    with closing(map_files(_transcribe_one, state, jobs, args.jobs, stop.check)) as done:  # workers reaped on any exit
        for res in tqdm(done, total=len(jobs), desc="transcribing", unit="file", disable=len(jobs) < 2 or args.quiet):
            failed += not res.ok
            if res.text:
                print(res.text, flush=True)
            if res.notes is None:
                continue
            results[res.key] = res.notes
            if args.eval:
                pairs[res.key] = (refs[res.key], res.notes)
    stop.check()
    for flag, write in (("json", write_json), ("csv", write_csv_table)):
        path = getattr(args, flag)
        if not path or args.output_dir or not results or (flag == "csv" and not many):
            continue
        try:
            write(path, results)
            wrote(path, args.quiet)
        except OSError as exc:
            print(f"svt-live: error: {printable(_os_error(exc))}", file=sys.stderr)
            failed += 1
    if pairs:
        res = evaluate_songs(pairs, args.onset_tolerance)
        print(printable(format_table(res, f"\nmir_eval, onset tolerance {args.onset_tolerance * 1000:.0f} ms, "
                                f"pitch 50 cents, offset 20 % / 50 ms (P / R / F1 %)"), newlines=True))
    return 1 if failed else 0


def _done(path: Path) -> bool:
    """``--skip-existing``: an output counts as done when it is a file with something in it (an empty
    one is what an interrupted or failed write of another program leaves)."""
    try:
        return path.is_file() and path.stat().st_size > 0
    except OSError:
        return False


@dataclass
class _FileResult:
    """One input's outcome: its notes (``None`` when its audio could not be read), the text to print
    and whether every step went right."""

    key: str
    notes: np.ndarray | None
    text: str
    ok: bool


def _transcribe_one(state, job) -> _FileResult:
    """Transcribe one input and write its own outputs (in a worker process with ``--jobs``)."""
    from svt_live.engine.batch import in_worker
    from svt_live.engine.offline import transcribe_path
    from svt_live.io.audio import AudioError

    args, lm, refs, stop = state
    item, key, targets = job
    stop.check()
    try:
        if args.realtime:
            from svt_live.commands.playback import play_path
            t = play_path(item.path, lm, args.midi_out, stop, args.quiet, args.pitch_bends, args.hop)
        else:
            t = transcribe_path(item.path, lm, contours=args.pitch_bends, hop_seconds=args.hop,
                                on_block=stop.check, overlap=not in_worker())
    except AudioError as exc:
        print(f"svt-live: error: {printable(exc)}", file=sys.stderr)
        return _FileResult(key, None, "", False)
    music = _music(args, t.notes, targets)
    sung = describe_tuning(music.pop("sung_cents"))
    text = ""
    if not args.quiet:
        key_text = f", key {music['key'].name}" if music["key"] else ""
        if music["sheet"] is not None and len(t.notes):
            meter = music["sheet"].meter
            key_text += f", {music['sheet'].qpm:.0f} BPM in {meter[0]}/{meter[1]}"
        head = printable(f"{item.path}: {len(t.notes)} notes{key_text}, sung at {sung}")
        text = head if not len(t.notes) else f"{head}\n{format_notes(t.notes)}"
    ok = _write_outputs(args, item.path, key, t, refs.get(key), targets, music)
    return _FileResult(key, t.notes, text, ok)


def _music(args, notes: np.ndarray, targets: list) -> dict:
    """Tuning and key of one transcription, its lead sheet (``sheet``: tempo, beats, meter; only when a
    MIDI file or score is written) and the singer's estimated tuning (``sung_cents``, printed)."""
    from svt_live.theory.key import estimate_key
    from svt_live.theory.tuning import estimate_tuning_cents

    sung = estimate_tuning_cents(notes)
    tuning = sung if args.tuning_cents == "auto" else args.tuning_cents
    key = args.key_given or estimate_key(notes, tuning)
    sheet = None
    if any(flag in ("midi_file", "musicxml") for flag, _ in targets):
        from svt_live.theory.leadsheet import infer_lead_sheet
        sheet = infer_lead_sheet(notes, bpm=args.bpm, meter=args.meter_pair, key=key, tuning_cents=tuning)
    return {"tuning_cents": tuning, "key": key, "sheet": sheet, "sung_cents": sung}


FLAG_FORMATS = {"json": "JSON", "csv": "CSV", "midi_file": "MIDI", "musicxml": "MusicXML"}  # each flag's format


def _write_outputs(args, f: Path, key: str, t, ref: np.ndarray | None, targets: list, music: dict) -> bool:
    """Write one input's own files; an output that fails is reported in one line and
    the others are still written. Returns whether all were."""
    ok = True
    for flag, path in targets:
        try:
            if flag == "plot":
                from svt_live.io.plot import plot_transcription
                plot_transcription(path, t.notes, ref, span=args.plot_span, title=f.name)
            else:  # --json, --csv, --midi-file, --musicxml: the note-format table
                from svt_live.io.annotations import write_notes
                write_notes(path, t.notes, t.velocities, fmt=FLAG_FORMATS[flag], name=key, title=f.stem,
                            sheet=music["sheet"],
                            midi_options={"pitch_bends": args.pitch_bends, "contours": t.contours,
                                          "division": args.division, "tuning_cents": music["tuning_cents"],
                                          "key": music["key"]})
        except OSError as exc:
            print(f"svt-live: error: {printable(_os_error(exc))}", file=sys.stderr)
            ok = False
        else:
            wrote(path, args.quiet)
    return ok


def _check_batch(args) -> None:
    """Folders become their audio files (``args.inputs``); the MIDI, score and batch options are checked."""
    from svt_live.engine.batch import cap_jobs, check_jobs, expand_inputs, output_stems
    from svt_live.theory.grid import check_bpm, parse_division, parse_meter
    from svt_live.theory.key import parse_key
    from svt_live.theory.tuning import parse_tuning

    try:
        args.inputs = expand_inputs(args.files) if args.input == "file" else []
        args.files = [str(i.path) for i in args.inputs]
        args.keys = song_keys(args.files)
        args.out_stems = output_stems(args.inputs, args.keys)
        args.meter_pair = parse_meter(args.meter) if args.meter is not None else None
        args.key_given = parse_key(args.key) if args.key is not None else None
        args.division = parse_division(args.quantize) if args.quantize else None
        args.tuning_cents = parse_tuning(args.tuning)
        if args.bpm is not None:
            check_bpm(args.bpm)
        args.jobs = cap_jobs(check_jobs(args.jobs), len(args.inputs))
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    given = [f"--{flag.replace('_', '-')}" for flag, _ in PER_INPUT if getattr(args, flag) == IN_OUTPUT_DIR]
    if args.output_dir:
        if args.input == "mic":
            raise UsageError("--output-dir works on files, not on --input mic")
        named = [f"--{flag.replace('_', '-')}" for flag, _ in PER_INPUT
                 if getattr(args, flag) not in (None, IN_OUTPUT_DIR)]
        if named:
            raise UsageError(f"with --output-dir give {named[0]} without a path")
        if not given:
            args.midi_file = IN_OUTPUT_DIR
    elif given:
        raise UsageError(f"{given[0]} needs a PATH (or --output-dir DIR)")
    if args.musicxml and args.input == "mic":
        raise UsageError("--musicxml works on files, not on --input mic")
    if args.jobs > 1 and "-" in args.files:
        raise UsageError("--jobs reads files, not standard input")
    if args.realtime and (args.input != "file" or len(args.files) != 1 or args.jobs > 1):
        raise UsageError("--realtime plays one audio file")
    if len(args.files) > 1 and args.csv and not args.output_dir and (Path(args.csv).is_dir() or args.csv.endswith("/")):
        raise UsageError(f"--csv {args.csv} is a folder: several inputs go into one CSV table (a file column "
                         "names each), so give a file path, or --output-dir DIR --csv for one CSV per input")
    if args.eval:
        _check_eval(args)


def _check_eval(args) -> None:
    """Two different inputs must not be scored against one reference file found in an ``--eval`` folder
    (``x/a.wav`` and ``y/a.wav`` both against ``REF/a.txt``)."""
    if not Path(args.eval).is_dir():
        return
    seen: dict[Path, Path] = {}
    for item in args.inputs:
        try:
            ref = reference_file(item.path, args.eval, item.rel).resolve()
        except NoteError:
            continue  # reported when the references are read
        other = seen.setdefault(ref, item.path)
        if other != item.path and not same_file(other, item.path):
            raise UsageError(f"--eval {args.eval}: {other} and {item.path} would both be scored against {ref}; "
                             "put their annotations in subfolders as the audio is (give the audio's folder, "
                             "whose layout the --eval folder mirrors), or score them in separate runs")


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
    if args.input == "file" and (args.input_device or args.seconds or args.save_audio):
        raise UsageError("--input-device, --seconds and --save-audio need --input mic")
    if args.input == "file" and args.live_model:
        raise UsageError("--live-model needs --input mic")
    if args.midi_out is not None and not args.midi_out.strip():
        raise UsageError("--midi-out '': give a port's name (see --list-midi-ports), or no value for a virtual "
                         "port 'svt-live'")
    if (args.scale is not None or args.hold_ms) and not (args.input == "mic" and args.midi_out):
        raise UsageError("--scale and --hold-ms shape the live MIDI port: they need --input mic --midi-out")
    if not 0 <= args.hold_ms <= MAX_HOLD_MS:  # also refuses nan
        raise UsageError(f"--hold-ms must be 0 to {MAX_HOLD_MS:g} ms, got {args.hold_ms}")
    try:
        from svt_live.theory.scale import parse_scale
        args.scale_given = parse_scale(args.scale) if args.scale is not None else None
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if args.input == "file" and args.midi_out and not args.realtime:
        raise UsageError("--midi-out with files needs --realtime (or use --input mic)")
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
    _check_batch(args)


def _check_score(args) -> None:
    """The sight-singing options: each needs --score; with files, --score writes only --report."""
    if args.score is None:
        if args.report or args.tolerance_cents is not None or args.count_in is not None:
            raise UsageError("--report, --tolerance-cents and --count-in need --score")
        return
    if args.input == "file" and (args.eval or args.json or args.csv or args.midi_file or args.plot
                                 or args.musicxml or args.output_dir):
        raise UsageError("--score checks files and writes --report; transcribe without --score for "
                         "--eval, --json, --csv, --midi-file, --musicxml, --plot and --output-dir")
    ignored = [flag for flag, given in (("--jobs", args.jobs != 1), ("--skip-existing", args.skip_existing),
                                        ("--realtime", args.realtime)) if given]
    if ignored:
        raise UsageError(f"--score checks one take after another; {ignored[0]} does not work with it")
    if args.count_in is not None and (args.input != "mic" or not 0 <= args.count_in <= 16):
        raise UsageError(f"--count-in takes 0 to 16 bars and needs --input mic, got {args.count_in}")
    if args.tolerance_cents is not None and not 0 < args.tolerance_cents <= 1200:
        raise UsageError(f"--tolerance-cents must be more than 0 and at most 1200, got {args.tolerance_cents}")


def _expected_errors() -> tuple:
    """The failures that end the command with one line and status 1 (imported only once
    needed: ``--help`` and usage errors must not wait for torch)."""
    from svt_live.engine.checkpoint import CheckpointError
    from svt_live.io.audio import AudioError
    from svt_live.io.mic import MicError
    from svt_live.io.midiport import MidiPortError
    return AudioError, NoteError, CheckpointError, MicError, MidiPortError


def _torch_device(name: str):
    """``--device`` -> a usable torch device (:func:`svt_live.engine.device.pick_device`), else :class:`UsageError`."""
    from svt_live.engine.device import pick_device

    try:
        return pick_device(name)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


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
            from svt_live.engine.checkpoint import DEFAULT_MODEL, bundled_descriptions

            described = bundled_descriptions()
            width = max(map(len, described), default=0) + 2
            for name, text in described.items():
                print(f"{name:<{width}}{'default' if name == DEFAULT_MODEL else '':<9}{text}".rstrip())
            return 0
        if args.list_devices:
            from svt_live.io.mic import list_devices
            print(list_devices())
            return 0
        if args.list_midi_ports:
            from svt_live.io.midiport import list_output_ports
            print(list_output_ports())
            return 0
        import torch

        from svt_live.engine.checkpoint import load_model
        live = args.input == "mic"
        torch.set_num_threads(1 if live else min(4, os.cpu_count() or 1))
        lm = load_model(args.model, _torch_device(args.device))
        if args.min_note_frames is not None:
            lm = replace(lm, decoding=replace(lm.decoding, min_note_frames=args.min_note_frames))
        if args.score:
            from svt_live.commands.exercise import run_exercise
            return run_exercise(args, lm)
        if live:
            from svt_live.commands.live import live_options, run_live
            return run_live(lm, **live_options(args))
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
