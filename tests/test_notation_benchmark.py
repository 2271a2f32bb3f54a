"""benchmarks.notation's --errors breakdown: tempo error classes and where the figures are lost."""
import numpy as np

from benchmarks.notation import Melody, error_lines, tempo_error


def test_tempo_error_classes():
    assert [tempo_error(r) for r in (1.02, 2.05, 0.49, 1.5, 0.67, 1.25)] == ["ok", "x2", "/2", "x1.5", "/1.5", "other"]


def test_error_lines_name_the_failures():
    mel = [Melody(f"tune{i}", "2/4", 2.0, 1.0, 0, np.zeros(2), np.ones(2), np.zeros(2), np.zeros(2))
           for i in range(3)]
    rows = [{"tempo": True, "bar": True, "key": True, "pos": (0, 10), "ratio": 1.0, "meters": ("2/4", "2/4"),
             "shift_q": 1.0, "sharps": (1, 1)},
            {"tempo": False, "bar": False, "key": False, "pos": (0, 10), "ratio": 2.01, "meters": ("2/4", "4/4"),
             "shift_q": 0.0, "sharps": (1, 0)},
            {"tempo": True, "bar": True, "key": True, "pos": (10, 10), "ratio": 0.99, "meters": ("2/4", "2/4"),
             "shift_q": 0.0, "sharps": (0, 0)}]
    text = "\n".join(error_lines(mel, rows))
    assert "ok 2, x2 1" in text and "2/4->4/4 x2 1" in text and "of 2 melodies" in text and "1.0 1" in text
    assert "1->0 1" in text and "failing tempo: tune1 x2" in text
