"""svt_live.io.audio: real decoding of synthetic files, resampling, and refusal of bad files."""
import numpy as np
import pytest
from synth import encode, harmonic_tones, write_wav

from svt_live.io.audio import AudioError, load_audio


def dominant_hz(audio, sr=16000):
    spec = np.abs(np.fft.rfft(audio * np.hanning(len(audio))))
    return np.fft.rfftfreq(len(audio), 1 / sr)[spec.argmax()]


def test_wav_decodes_to_the_written_samples(tmp_path):
    audio = harmonic_tones([[0.0, 1.0, 69.0]], 1.0)
    out = load_audio(write_wav(tmp_path / "a.wav", audio))
    assert out.dtype == np.float32 and out.shape == (16000,)
    np.testing.assert_allclose(out, audio, atol=3 / 32768)  # 16-bit quantisation


def test_flac_is_lossless(tmp_path):
    audio = harmonic_tones([[0.1, 0.9, 60.0]], 1.0)
    out = load_audio(encode(tmp_path / "a.flac", audio))
    np.testing.assert_allclose(out, audio, atol=3 / 32768)  # 16-bit quantisation


def test_stereo_44k_mp3_resampled_to_16k_mono_keeps_pitch_and_length(tmp_path):
    sr = 44100
    audio = harmonic_tones([[0.0, 2.0, 69.0]], 2.0, sr=sr)
    out = load_audio(encode(tmp_path / "Mixture.mp3", audio, sr=sr, codec="libmp3lame", stereo=True))
    assert abs(len(out) - 32000) < 16000 * 0.06  # mp3 frames pad the end a little
    assert dominant_hz(out[1000:30000]) == pytest.approx(440.0, abs=2.0)
    assert 0.15 < np.abs(out).max() < 1.0  # channels averaged, not summed (+3 dB) or clipped


def test_resamples_to_requested_rate(tmp_path):
    audio = harmonic_tones([[0.0, 1.0, 57.0]], 1.0)
    out = load_audio(write_wav(tmp_path / "a.wav", audio), sample_rate=8000)
    assert out.shape[0] == pytest.approx(8000, abs=32)
    assert dominant_hz(out[500:7500], 8000) == pytest.approx(220.0, abs=2.0)


def test_missing_file(tmp_path):
    with pytest.raises(AudioError, match="missing.wav: no such file"):
        load_audio(tmp_path / "missing.wav")


def test_empty_file(tmp_path):
    (tmp_path / "empty.wav").write_bytes(b"")
    with pytest.raises(AudioError, match="empty.wav: file is empty"):
        load_audio(tmp_path / "empty.wav")


def test_text_file_renamed_wav(tmp_path):
    (tmp_path / "notes.wav").write_text("onset,offset,midi\n0.5,1.0,60\n" * 20)
    with pytest.raises(AudioError, match="notes.wav: not a readable audio file"):
        load_audio(tmp_path / "notes.wav")


def test_directory_is_not_audio(tmp_path):
    with pytest.raises(AudioError, match="is a directory"):
        load_audio(tmp_path)


def test_audio_error_is_a_value_error():
    assert issubclass(AudioError, ValueError)


def test_iter_audio_blocks_concatenate_to_load_audio(tmp_path):
    from svt_live.io.audio import iter_audio

    path = write_wav(tmp_path / "a.wav", harmonic_tones([[0.2, 2.2, 62.0]], 2.5))
    blocks = list(iter_audio(path, block_seconds=0.3))
    assert len(blocks) >= 8 and all(b.ndim == 1 for b in blocks)
    np.testing.assert_array_equal(np.concatenate(blocks), load_audio(path))


def test_truncated_file_keeps_what_decoded(tmp_path):
    path = write_wav(tmp_path / "a.wav", harmonic_tones([[0.0, 2.0, 60.0]], 2.0))
    data = path.read_bytes()
    path.write_bytes(data[:len(data) // 2])
    out = load_audio(path)
    assert 15000 < len(out) <= 16000


def _spin_until(cond, n=100_000):
    """Run Python bytecode until ``cond()`` (a signal's Python handler runs between bytecodes)."""
    for _ in range(n):
        if cond():
            return True
    return cond()


def test_a_ctrl_c_while_ffmpeg_decodes_is_raised_after_it_not_lost():
    import os
    import signal

    from svt_live.io.audio import deferred_signals

    before = signal.getsignal(signal.SIGINT)
    reached = []
    with pytest.raises(KeyboardInterrupt):
        with deferred_signals():
            os.kill(os.getpid(), signal.SIGINT)
            _spin_until(lambda: False, 10_000)  # the handler runs in here: it must only record
            reached.append("end of the block")
    assert reached == ["end of the block"]
    assert signal.getsignal(signal.SIGINT) is before


def test_deferred_signals_hand_them_to_the_handler_in_place(tmp_path):
    import os
    import signal

    from svt_live.engine.stop import StopRequest
    from svt_live.io.audio import deferred_signals, iter_audio

    write_wav(tmp_path / "a.wav", harmonic_tones([[0.1, 0.9, 57.0]], 1.0))
    with StopRequest() as stop:
        with deferred_signals():
            os.kill(os.getpid(), signal.SIGTERM)
            assert not _spin_until(lambda: bool(stop), 10_000)  # held back while FFmpeg would run
        assert stop.signal == signal.SIGTERM  # then given to StopRequest's handler: a flag, no exception
        handler = signal.getsignal(signal.SIGINT)
        assert len(np.concatenate(list(iter_audio(tmp_path / "a.wav", 16000, 0.25)))) == 16000
        assert signal.getsignal(signal.SIGINT) is handler  # iter_audio put it back
