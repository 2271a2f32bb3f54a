"""The engine and decoders: features, networks' inference, streaming and offline transcription, note decoding.
"""
