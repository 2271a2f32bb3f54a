"""Input and output: audio files and the microphone, note files (MIDI, JSON, CSV, MusicXML), MIDI ports, plots.

Every file the project writes goes through :mod:`svt_live.io.outputs`.
"""
