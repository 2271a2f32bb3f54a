"""svt-live: real-time singing voice transcription (audio -> notes -> MIDI).

The API (:mod:`svt_live.api`) loads on first use, so ``import svt_live``
stays light (no torch) for the command line:

- :func:`transcribe` (a file or samples -> list of :class:`Note`)
- :func:`load_model` (a bundled name or a checkpoint path)
- :class:`Transcriber` (streaming: ``push(samples)`` -> NoteOn / NoteOff events, ``finish()``)
- :func:`write` (notes -> a MusicXML lead sheet, MIDI, JSON or CSV file, by its extension)
"""
__version__ = "0.1.0"
__all__ = ["EXAMPLE_AUDIO", "Note", "Transcriber", "load_model", "transcribe", "write", "__version__"]


def __getattr__(name: str):
    if name == "write":
        from svt_live.io.export import write
        return write
    if name in __all__:
        from svt_live import api
        return getattr(api, name)
    raise AttributeError(f"module 'svt_live' has no attribute {name!r}")
