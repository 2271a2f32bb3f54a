"""Crafted files: pickles that would run code on every path that loads a file (``--model``,
``init_from``, teachers, ``--resume``, the feature cache), checkpoints declaring absurd settings, and
reference files that read wrong or crash (deep JSON, odd MIDI, byte order marks, headers)."""
import json
import warnings

import numpy as np
import pytest
import synth
import torch
from test_cli import eval_rows

from svt_live.engine.features import FeatureConfig
from svt_live.io.annotations import load_notes
from svt_train.cli import main as train_main

from .helpers import case, midi_file, seen, svt

NOTES = [[0.2 + 0.5 * i, 0.6 + 0.5 * i, 60.0 + i] for i in range(4)]


class RunsCode:
    """Unpickled without the weights-only unpickler, this creates ``marker``: proof that code ran."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return open, (self.marker, "w")


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    """A folder with a tiny training config (and its songs)."""
    root = tmp_path_factory.mktemp("crafted")
    config = synth.tiny_training_setup(root)
    return root, config


def evil_checkpoint(path, marker):
    torch.save({"format": "svt-live-checkpoint", "version": 1, "model": RunsCode(marker)}, path)
    return path


def train(argv, capsys) -> tuple[int, list[str]]:
    rc = train_main([str(a) for a in argv])
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return rc, [line for line in err.splitlines() if line.startswith("svt-train: ")]


SAFE = "refused in one line; the code in the file never runs"


@pytest.mark.parametrize("path", [
    case("a pickle that runs code, as --model", "model", category="checkpoints", expected=SAFE),
    case("a pickle that runs code, as init_from", "init_from", category="checkpoints", expected=SAFE),
    case("a pickle that runs code, as a teacher", "teachers", category="checkpoints", expected=SAFE),
    case("a pickle that runs code, as OUT/last.pt for --resume", "resume", category="checkpoints", expected=SAFE),
])
def test_no_load_runs_code(path, setup, tmp_path, capsys, robust):
    root, config = setup
    marker = tmp_path / "code-ran"
    evil = evil_checkpoint(tmp_path / "evil.pt", marker)
    if path == "model":
        rc, _, lines = svt([synth.write_song(tmp_path, "s", NOTES, 2.5), "--model", evil, "-q"], capsys)
    else:
        text = config.read_text()
        if path == "init_from":
            text += f'init_from = "{evil.as_posix()}"\n'
        if path == "teachers":
            text += f'teachers = ["{evil.as_posix()}"]\n'
        (tmp_path / "c.toml").write_text(text)
        out = tmp_path / "run"
        if path == "resume":
            out.mkdir()
            evil_checkpoint(out / "last.pt", marker)
        rc, lines = train(["fit", tmp_path / "c.toml", "--out", out, "--cache", root / "cache", "--device", "cpu",
                           *(["--resume"] if path == "resume" else [])], capsys)
    robust(f"{seen(rc, lines)}; code ran: {marker.exists()}")
    assert rc in (1, 2) and len(lines) == 1 and ("evil.pt" in lines[0] or "last.pt" in lines[0])
    assert not marker.exists()


@pytest.mark.robustness("checkpoints", "the entry is refused (no code runs), rebuilt, one warning",
                        case="a feature-cache entry holding a pickle that runs code")
def test_cache_entry_cannot_run_code(tmp_path, robust):
    from svt_train.cache import cache_key, load_cached
    from svt_train.datasets import Song

    audio = synth.write_song(tmp_path, "s", NOTES, 2.5)
    song = Song("s", audio, np.array(NOTES))
    cfg = FeatureConfig()
    good = load_cached(song, cfg, tmp_path / "cache")
    key = cache_key(song, cfg)
    marker = tmp_path / "code-ran"
    np.savez(tmp_path / "cache" / f"{key}.labels.npz", **{k: np.array([RunsCode(marker)], dtype=object)
                                                        for k in good.labels})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        again = load_cached(song, cfg, tmp_path / "cache")
    robust(f"{len(caught)} warning: `{caught[0].message}`; code ran: {marker.exists()}")
    assert not marker.exists() and len(caught) == 1 and "corrupt" in str(caught[0].message)
    assert all(np.array_equal(again.labels[k], good.labels[k]) for k in good.labels)


def rewritten(source, path, section, **values):
    ck = torch.load(source, weights_only=True)
    ck[section] = {**ck[section], **values}
    torch.save(ck, path)


def declaring(**kwargs):
    return lambda src, p: rewritten(src, p, "model", kwargs={**torch.load(src, weights_only=True)["model"]["kwargs"],
                                                             **kwargs})


BOUNDED = "exit 1 at once, one line naming the setting; nothing built"


@pytest.mark.parametrize("make, says", [
    case("10^7 GRU layers declared", declaring(gru_layers=10 ** 7), "gru_layers", category="checkpoints",
         expected=BOUNDED),
    case("a 10^6-unit hidden layer declared", declaring(hidden=10 ** 6), "hidden", category="checkpoints",
         expected=BOUNDED),
    case("a model setting the network does not take", declaring(layers=3), "takes no setting", category="checkpoints",
         expected=BOUNDED),
    case("window of 10^9 samples", lambda s, p: rewritten(s, p, "features", win=10 ** 9, n_fft=10 ** 9), "win",
         category="checkpoints", expected=BOUNDED),
    case("sample rate of 10^12 Hz", lambda s, p: rewritten(s, p, "features", sample_rate=10 ** 12), "sample_rate",
         category="checkpoints", expected=BOUNDED),
    case("fmax infinite", lambda s, p: rewritten(s, p, "features", fmax=float("inf")), "fmax",
         category="checkpoints", expected=BOUNDED),
    case("min_note_frames = -5", lambda s, p: rewritten(s, p, "decoding", min_note_frames=-5), "min_note_frames",
         category="checkpoints", expected=BOUNDED),
    case("onset threshold NaN", lambda s, p: rewritten(s, p, "decoding", onset_threshold=float("nan")),
         "onset_threshold", category="checkpoints", expected=BOUNDED),
    case("weights holding NaN (a diverged run)", lambda s, p: torch.save({
        **torch.load(s, weights_only=True), "state_dict": {
        k: v * float("nan") if v.is_floating_point() else v
        for k, v in torch.load(s, weights_only=True)["state_dict"].items()}}, p), "NaN",
        category="checkpoints", expected="exit 1, one line: the model would find no notes"),
])
def test_checkpoint_settings_are_bounded(make, says, note_model, tmp_path, capsys, robust):
    path = tmp_path / "model.pt"
    make(note_model, path)
    rc, _, lines = svt(["--model", path, synth.write_song(tmp_path, "s", NOTES, 2.5), "-q"], capsys)
    robust(seen(rc, lines))
    assert rc == 1 and len(lines) == 1 and "model.pt: " in lines[0] and says in lines[0]


def midi(path, notes, kind: int = 1, division: int = 480):
    """``notes`` as a MIDI file of type ``kind`` at 120 BPM (:func:`helpers.midi_file`)."""
    return midi_file(path, notes, kind=kind, division=division)


ONE_LINE = "exit 1, one-line error"
SAME = "exit 0; the same scores as the plain file"


@pytest.mark.parametrize("name, write, same", [
    case("JSON nested 100000 deep", "ref.json", lambda p: p.write_text("[" * 100000 + "]" * 100000), False,
         category="annotations", expected=ONE_LINE),
    case("JSON with a 5000-digit number", "ref.json",
         lambda p: p.write_text('{"s": [[0.2, 0.6, ' + "6" * 5000 + "]]}"), False, category="annotations",
         expected=ONE_LINE),
    case("MIDI file with 0 ticks per beat", "ref.mid", lambda p: midi(p, NOTES, division=0), False,
         category="annotations", expected=ONE_LINE),
    case("type-2 MIDI file (one pattern per track)", "ref.mid", lambda p: midi(p, NOTES, kind=2), True,
         category="annotations", expected=SAME),
    case("MIDI file with SMPTE time (25 fps x 40 ticks)", "ref.mid",
         lambda p: midi(p, [[round(a * 1000 / 960, 4), round(b * 1000 / 960, 4), m] for a, b, m in NOTES],
                        division=(256 - 25) << 8 | 40), True, category="annotations", expected=SAME),
    case("CSV with a UTF-8 byte order mark (spreadsheet export)", "ref.csv",
         lambda p: p.write_text("onset,offset,midi\n" + "".join(f"{a},{b},{m}\n" for a, b, m in NOTES),
                                encoding="utf-8-sig"), True, category="annotations", expected=SAME),
    case("SSVD .txt with a UTF-8 byte order mark", "ref.txt",
         lambda p: p.write_text("".join(f"{a}\t{b}\t{m}\n" for a, b, m in NOTES), encoding="utf-8-sig"), True,
         category="annotations", expected=SAME + " (the first note kept)"),
    case("JSON with a UTF-8 byte order mark", "ref.json",
         lambda p: p.write_text(json.dumps({"s": NOTES}), encoding="utf-8-sig"), True, category="annotations",
         expected=SAME),
    case("CSV header with spaces (onset, offset, midi)", "ref.csv",
         lambda p: p.write_text("onset, offset, midi\n" + "".join(f"{a}, {b}, {m}\n" for a, b, m in NOTES)), True,
         category="annotations", expected=SAME),
    case("first line a damaged note, not a header", "ref.txt",
         lambda p: p.write_text("0.2\t0.6\t6O\n" + "".join(f"{a}\t{b}\t{m}\n" for a, b, m in NOTES[1:])), False,
         category="annotations", expected=ONE_LINE + " naming the line (was: the note silently dropped)"),
])
def test_reference_files(name, write, same, note_model, tmp_path, capsys, robust):
    song = synth.write_song(tmp_path, "s", NOTES, 2.5)
    plain = tmp_path / "plain.json"
    plain.write_text(json.dumps({"s": NOTES}))
    ref = tmp_path / name
    write(ref)
    rc, out, lines = svt([song, "--model", note_model, "--eval", ref, "-q"], capsys)
    robust(seen(rc, lines))
    if not same:
        assert rc == 1 and len(lines) == 1 and name in lines[0]
        return
    assert rc == 0 and not lines
    _, plain_out, _ = svt([song, "--model", note_model, "--eval", plain, "-q"], capsys)
    assert eval_rows(out) == eval_rows(plain_out)
    np.testing.assert_allclose(load_notes(ref, song_id="s"), NOTES, atol=2e-3)


@pytest.mark.robustness("annotations", "exit 2, one line naming the file",
                        case="svt-train eval on a folder whose annotation is a MIDI file with 0 ticks per beat")
def test_train_eval_with_a_bad_reference(note_model, tmp_path, capsys, robust):
    synth.write_song(tmp_path / "set", "s", NOTES, 2.5)
    (tmp_path / "set" / "s.txt").unlink()
    midi(tmp_path / "set" / "s.mid", NOTES, division=0)
    rc, lines = train(["eval", note_model, "--set", tmp_path / "set", "--device", "cpu"], capsys)
    robust(seen(rc, lines))
    assert rc == 2 and len(lines) == 1 and "s.mid" in lines[0]
