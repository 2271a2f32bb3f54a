"""``svt-train eval``: transcribe sets of songs and score them."""
from __future__ import annotations

from tqdm import tqdm

from svt_live.engine.checkpoint import load_model
from svt_live.engine.device import pick_device
from svt_live.engine.offline import transcribe_file
from svt_live.evaluate import evaluate_songs, format_table
from svt_live.io.annotations import write_json
from svt_live.io.outputs import printable

from .datasets import named_set


def run_eval(model: str, sets: list[str], data_root: str, json_out: str | None, plot: str | None,
             device: str = "auto") -> dict:
    """Transcribe and score; prints tables; returns ``{set: {tolerance: result}}``."""
    lm = load_model(model, pick_device(device))
    results, predictions, first = {}, {}, None
    for name in sets:
        songs = named_set(name, data_root)
        pairs = {}
        for s in tqdm(songs, desc=f"transcribing {name}", unit="song"):
            notes, post = transcribe_file(s.audio, lm)
            pairs[s.id] = (s.notes, notes)
            predictions[s.id] = notes
            if first is None:
                first = (s, notes, post)
        results[name] = {}
        for tol in (0.05, 0.1):
            res = evaluate_songs(pairs, tol)
            results[name][tol] = res
            print(printable(format_table(res, f"\n{name}: {len(songs)} songs, model {lm.label}, onset tolerance "
                                              f"{int(tol * 1000)} ms (P / R / F1 %)"), newlines=True))
    if json_out:
        write_json(json_out, predictions)
        print(f"\npredictions written to {printable(json_out)}")
    if plot and first:
        from svt_live.io.plot import excerpt_span, plot_transcription
        s, notes, post = first
        plot_transcription(plot, notes, s.notes, post, lm.features.frame_seconds, span=excerpt_span(notes, s.notes),
                           title=f"{s.id} ({lm.label})")
        print(f"piano roll written to {printable(plot)}")
    return results
