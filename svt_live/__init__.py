"""svt-live: real-time singing voice transcription (audio -> notes -> MIDI)."""
__version__ = "0.1.0"
