"""The sight-singing check's reports: JSON, one HTML page to look at, and a class's table.

- :func:`write_json_report`: the verdicts as JSON (:func:`report_dict`).
- :func:`write_html_report`: one self-contained page (inline CSS and SVG, nothing
  fetched): the summary, the exercise on a staff with each note coloured by its
  verdict and the sung cents under it, the take's piano roll, the note table.
- :func:`write_class_table`: ``class.csv``, a row per take.

Every file goes through the project's writers (:func:`svt_live.io.outputs.write_bytes`, and
:func:`svt_live.io.annotations.write_csv_rows` for the table).
"""
from __future__ import annotations

import html
import json
from pathlib import Path

import numpy as np

from svt_live.io.outputs import write_bytes
from svt_live.notes import note_name
from svt_live.sight.check import SUNG_RIGHT, CheckResult, summary_line
from svt_live.sight.score import Score

COLOURS = {"right": "#2e9d48", "held": "#2e9d48", "octave": "#6bb77b", "borderline": "#e09b00",
           "wrong": "#d43c3c", "missed": "#ffffff", "extra": "#3b7dd8", "sung": "#9aa4b1"}
MISSED_EDGE = "#d43c3c"
CLASS_COLUMNS = ("take", "score_notes", "right", "borderline", "wrong", "missed", "extra",
                 "mean_cents_off", "onset_spread_ms")


def report_dict(score: Score, take: str, model: str, result: CheckResult) -> dict:
    """The ``--report`` JSON: what was checked against what, then :meth:`CheckResult.to_dict`."""
    return {"score": score.path, "voice": score.voice, "take": take, "model": model} | result.to_dict()


def write_json_report(path: str | Path, report: dict) -> None:
    write_bytes(path, (json.dumps(report, indent=1) + "\n").encode())


def class_row(take: str, result: CheckResult) -> list:
    """One take's row of ``class.csv`` (:data:`CLASS_COLUMNS`); ``right`` counts held and octave notes,
    ``None`` (an empty cell) where nothing was sung to measure."""
    s = result.summary()
    return [take, s["score_notes"], sum(s[k] for k in SUNG_RIGHT), s["borderline"], s["wrong"], s["missed"],
            s["extra"], s["mean_abs_cents"], s["onset_spread_ms"]]


def write_class_table(path: str | Path, results: dict[str, CheckResult]) -> None:
    """``class.csv``: a header (:data:`CLASS_COLUMNS`), then a row per take (``{take: result}``), through the
    project's one CSV writer (:func:`svt_live.io.annotations.write_csv_rows`: no cell read as a formula)."""
    from svt_live.io.annotations import write_csv_rows

    write_csv_rows(path, list(CLASS_COLUMNS), [class_row(take, r) for take, r in results.items()])


# ---- the page ------------------------------------------------------------------------------------------
LETTER_STEPS = {0: (0, ""), 1: (0, "#"), 2: (1, ""), 3: (1, "#"), 4: (2, ""), 5: (3, ""), 6: (3, "#"),
                7: (4, ""), 8: (4, "#"), 9: (5, ""), 10: (5, "#"), 11: (6, "")}  # pitch class -> (C=0.. step, sign)
GAP = 10.0  # px between staff lines
BEATS_PER_ROW_BARS = 4  # bars on one staff row


def staff_step(midi: float) -> tuple[int, str]:
    """``(diatonic step from C-1, accidental)`` of a MIDI pitch, sharps for black keys.

    >>> staff_step(60), staff_step(61), staff_step(64)
    ((35, ''), (35, '#'), (37, ''))
    """
    m = int(round(midi))
    step, sign = LETTER_STEPS[m % 12]
    return 7 * (m // 12) + step, sign


def _svt(tag: str, **attrs) -> str:
    a = " ".join(f'{k.rstrip("_").replace("_", "-")}="{html.escape(str(v))}"' for k, v in attrs.items())
    return f"<{tag} {a}/>"


def _text(x, y, text, **attrs) -> str:
    a = " ".join(f'{k.replace("_", "-")}="{html.escape(str(v))}"' for k, v in attrs.items())
    return f'<text x="{x:.1f}" y="{y:.1f}" {a}>{html.escape(text)}</text>'


def staff_svg(score: Score, result: CheckResult, width: float = 980.0) -> str:
    """The exercise on a five-line staff (treble clef, or bass for a low voice), rows of four bars: each
    note head coloured by its verdict, the sung cents (or ``missed``) under it, its number above."""
    notes = score.notes
    beat = score.beat_seconds
    bar_beats = max(1, score.beats_per_bar)
    row_beats = bar_beats * BEATS_PER_ROW_BARS
    bass = float(np.median(notes[:, 2])) < 57
    bottom = staff_step(43)[0] if bass else staff_step(64)[0]  # G2 / E4 on the bottom line
    steps = [staff_step(p)[0] for p in notes[:, 2]]
    above = max(0, max(steps) - (bottom + 8))  # steps above the top line / below the bottom one
    below = max(0, bottom - min(steps))
    row_h = 120 + (above + below) * GAP / 2
    left, right = 84.0, width - 20.0
    px_beat = (right - left - 20) / row_beats
    n_rows = int(notes[-1, 0] / beat // row_beats) + 1
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{n_rows * row_h:.0f}" '
           f'viewBox="0 0 {width:.0f} {n_rows * row_h:.0f}" font-family="sans-serif">']
    last_label = None  # (x, row, lowered) of the last cents label
    for r in range(n_rows):
        y_bottom = r * row_h + 40 + above * GAP / 2 + 4 * GAP

        def y_of(step, y_bottom=y_bottom):
            return y_bottom - (step - bottom) * GAP / 2
        for k in range(5):
            out.append(_svt("line", x1=left - 64, x2=right, y1=y_bottom - k * GAP, y2=y_bottom - k * GAP,
                            stroke="#444", stroke_width=1))
        out.append(_clef(left - 48, y_bottom - (3 if bass else 1) * GAP, bass, GAP))
        for k, digits in enumerate((str(bar_beats), "4")):  # the time signature
            out.append(_text(left - 20, y_bottom - (2 - k) * GAP - 1, digits, font_size=15, font_weight="bold",
                             text_anchor="middle", fill="#222"))
        for b in range(BEATS_PER_ROW_BARS + 1):
            x = left + b * bar_beats * px_beat
            out.append(_svt("line", x1=x, x2=x, y1=y_bottom - 4 * GAP, y2=y_bottom, stroke="#444", stroke_width=1))
        for c in result.notes:
            if int(c.onset / beat // row_beats) != r:
                continue
            step, sign = staff_step(c.pitch)
            x = left + 14 + (c.onset / beat - r * row_beats) * px_beat
            y = y_of(step)
            for ledger in range(bottom - 2, step - 1, -2):  # ledger lines below the staff
                out.append(_svt("line", x1=x - 11, x2=x + 11, y1=y_of(ledger), y2=y_of(ledger), stroke="#444"))
            for ledger in range(bottom + 10, step + 1, 2):  # and above it
                out.append(_svt("line", x1=x - 11, x2=x + 11, y1=y_of(ledger), y2=y_of(ledger), stroke="#444"))
            beats = (c.offset - c.onset) / beat
            fill = COLOURS[c.status]
            edge = MISSED_EDGE if c.status == "missed" else "#222"
            if sign:
                out.append(_text(x - 18, y + 5, "♯", font_size=15, fill="#222"))
            out.append(f'<ellipse cx="{x:.1f}" cy="{y:.1f}" rx="6.5" ry="4.8" transform="rotate(-20 {x:.1f} {y:.1f})" '
                       f'fill="{fill}" stroke="{edge}" stroke-width="{2.2 if c.status == "missed" else 1.2}">'
                       f'<title>{html.escape(_note_title(c))}</title></ellipse>')
            if beats >= 2:  # a half or whole note: hollow inside
                out.append(f'<ellipse cx="{x:.1f}" cy="{y:.1f}" rx="3.6" ry="2" '
                           f'transform="rotate(-20 {x:.1f} {y:.1f})" fill="#fff"/>')
            if beats < 4:
                up = step < bottom + 4
                sx = x + 6 if up else x - 6
                sy = y - 32 if up else y + 32
                out.append(_svt("line", x1=sx, x2=sx, y1=y, y2=sy, stroke="#222", stroke_width=1.2))
                for f in range(int(beats <= 0.55) + int(beats <= 0.3)):  # eighth and sixteenth flags
                    fy = sy + (f * 7 if up else -f * 7)
                    out.append(_svt("line", x1=sx, x2=sx + 8, y1=fy, y2=fy + (10 if up else -10), stroke="#222",
                                    stroke_width=1.6))
            low = y_bottom + max(0, bottom - step) * GAP / 2 + 22
            crowded = last_label is not None and x - last_label[0] < 36 and last_label[1] == r
            low += 13 if crowded and not last_label[2] else 0  # labels of close notes alternate in height
            last_label = (x, r, crowded and not last_label[2])
            label = "missed" if c.pitch_error_cents is None else f"{c.pitch_error_cents:+.0f}"
            out.append(_text(x, low, label, font_size=11, text_anchor="middle",
                             fill=MISSED_EDGE if c.status in ("wrong", "missed") else
                             COLOURS["borderline"] if c.status == "borderline" else "#333"))
            out.append(_text(x, y_bottom - 4 * GAP - max(0, step - bottom - 8) * GAP / 2 - 24, str(c.index + 1),
                             font_size=10, text_anchor="middle", fill="#777"))
    out.append("</svg>")
    return "\n".join(out)


TREBLE_CLEF = ("M 1,-2 C -3,-2 -3,4 1,4 C 6,4 8,-1 7,-4 C 5,-10 -3,-11 -7,-6 C -11,-1 -8,9 0,10 "
               "C 8,11 12,3 10,-4 C 8,-14 2,-22 1,-30 C 0,-40 6,-46 6,-40 C 6,-33 -2,-28 -2,-20 L 3,20 "
               "C 4,26 -4,28 -5,23")  # drawn around the G line (y 0), staff gap 10, y down
BASS_CLEF = "M -4,0 C -4,-8 8,-9 9,-1 C 10,8 2,18 -7,23"  # from the F line (y 0)


def _clef(x: float, y_line: float, bass: bool, gap: float) -> str:
    """A treble clef curled around its G line at ``y_line`` (or a bass clef from its F line), drawn."""
    k = gap / 10
    t = f'transform="translate({x:.1f} {y_line:.1f}) scale({k:.3f})"'
    if bass:
        dots = "".join(f'<circle cx="{cx}" cy="{cy}" r="{r}" fill="#222"/>' for cx, cy, r in
                       ((-4, 0, 3), (13, -4, 1.6), (13, 4, 1.6)))
        return f'<g {t}><path d="{BASS_CLEF}" fill="none" stroke="#222" stroke-width="2.4"/>{dots}</g>'
    return (f'<g {t}><path d="{TREBLE_CLEF}" fill="none" stroke="#222" stroke-width="2.2" '
            f'stroke-linecap="round"/><circle cx="-3" cy="22" r="2.6" fill="#222"/></g>')


def _note_title(c) -> str:
    sung = "" if c.pitch_error_cents is None else f", sung {c.pitch_error_cents:+.0f} cents"
    return f"note {c.index + 1} {note_name(c.pitch)}: {c.status}{sung}"


def roll_svg(result: CheckResult, width: float = 980.0, height: float = 300.0) -> str:
    """The take as a piano roll: the exercise's notes where the check expects them (outlined, coloured by
    verdict) and the sung notes over them (grey, extra notes blue); time in seconds across."""
    sung = result.sung
    lanes = [(c.expected_s, c.expected_s + (c.offset - c.onset) * result.tempo_ratio,
              c.pitch + 12 * result.octave_shift, c.status) for c in result.notes]
    t0 = min([a for a, _, _, _ in lanes] + list(sung[:, 0])) - 0.3
    t1 = max([b for _, b, _, _ in lanes] + list(sung[:, 1])) + 0.3
    pitches = [p for _, _, p, _ in lanes] + list(sung[:, 2])
    lo, hi = int(np.floor(min(pitches))) - 2, int(np.ceil(max(pitches))) + 2
    left, top, bottom = 44.0, 10.0, height - 24.0
    sx = (width - left - 10) / max(t1 - t0, 1e-3)
    sy = (bottom - top) / (hi - lo)

    def x(t):
        return left + (t - t0) * sx

    def y(p):
        return bottom - (p - lo) * sy

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
           f'viewBox="0 0 {width:.0f} {height:.0f}" font-family="sans-serif" font-size="10">',
           _svt("rect", x=left, y=top, width=width - left - 10, height=bottom - top, fill="#fafafa", stroke="#ccc")]
    for m in range(lo, hi + 1):
        if m % 12 in (0, 5, 7) or hi - lo < 14:
            out.append(_svt("line", x1=left, x2=width - 10, y1=y(m), y2=y(m), stroke="#e4e4e4"))
            out.append(_text(left - 4, y(m) + 3, note_name(m), text_anchor="end", fill="#666"))
    step = max(1, int(round((t1 - t0) / 12)))
    for t in range(int(np.ceil(t0)), int(t1) + 1, step):
        out.append(_svt("line", x1=x(t), x2=x(t), y1=bottom, y2=bottom + 4, stroke="#888"))
        out.append(_text(x(t), bottom + 15, f"{t} s", text_anchor="middle", fill="#666"))
    lane_h = max(4.0, sy * 0.9)
    for a, b, p, status in lanes:
        out.append(_svt("rect", x=x(a), y=y(p) - lane_h / 2, width=max(2.0, x(b) - x(a)), height=lane_h,
                        fill=COLOURS[status] if status != "missed" else "none", fill_opacity=0.25,
                        stroke=MISSED_EDGE if status == "missed" else COLOURS[status], stroke_width=1.5))
    extra = set(result.extra)
    for j, (a, b, p) in enumerate(sung):
        colour = COLOURS["extra"] if j in extra else COLOURS["sung"]
        out.append(f'<rect x="{x(a):.1f}" y="{y(p) - 2.5:.1f}" width="{max(1.5, x(b) - x(a)):.1f}" height="5" '
                   f'fill="{colour}"><title>{html.escape(f"{note_name(p)} {a:.2f}-{b:.2f} s")}</title></rect>')
    out.append("</svg>")
    return "\n".join(out)


CSS = """body{font-family:sans-serif;margin:24px;color:#222;max-width:1000px}
h1{font-size:20px;margin:0 0 4px}.meta{color:#666;font-size:13px;margin-bottom:12px}
.summary{font-size:15px;background:#f3f5f7;border-radius:6px;padding:10px 14px;margin-bottom:10px}
.counts span{display:inline-block;margin-right:16px;font-weight:bold}
.key{font-size:12px;color:#555;margin:8px 0}.key i{display:inline-block;width:12px;height:10px;margin:0 4px 0 10px;
border:1px solid #222;vertical-align:middle}h2{font-size:16px;margin:18px 0 6px}
table{border-collapse:collapse;font-size:12px}td,th{padding:2px 10px;text-align:right;border-bottom:1px solid #eee}
td.s{text-align:left;font-weight:bold}"""


def html_page(report: dict, score: Score, result: CheckResult) -> str:
    """The report page (see the module docstring) as one HTML string."""
    s = result.summary()
    e = html.escape
    counts = [("sung right", sum(s[k] for k in SUNG_RIGHT), COLOURS["right"]),
              ("borderline", s["borderline"], COLOURS["borderline"]), ("wrong", s["wrong"], COLOURS["wrong"]),
              ("missed", s["missed"], MISSED_EDGE), ("extra", s["extra"], COLOURS["extra"])]
    key = "".join(f'<i style="background:{COLOURS[k] if k != "missed" else "#fff"};'
                  f'{"border-color:" + MISSED_EDGE if k == "missed" else ""}"></i>{k}'
                  for k in ("right", "borderline", "wrong", "missed", "extra"))
    rows = []
    for c in result.notes:
        cents = "" if c.pitch_error_cents is None else f"{c.pitch_error_cents:+.0f}"
        onset = "" if c.onset_error_ms is None else f"{c.onset_error_ms:+.0f}"
        sung = "" if c.pitch_error_cents is None else note_name(c.pitch + 12 * result.octave_shift
                                                                + c.pitch_error_cents / 100)
        colour = MISSED_EDGE if c.status == "missed" else COLOURS[c.status]
        rows.append(f'<tr><td>{c.index + 1}</td><td>{note_name(c.pitch)}</td><td class="s" style="color:{colour}">'
                    f'{c.status}</td><td>{sung}</td><td>{cents}</td><td>{onset}</td></tr>')
    extra = "".join(f"<li>{note_name(result.sung[j, 2])} at {result.sung[j, 0]:.2f} s</li>" for j in result.extra)
    roll = roll_svg(result) if len(result.sung) else "<p>No notes sung.</p>"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{e(Path(report["take"]).name)}: sight-singing check</title>
<style>{CSS}</style></head><body>
<h1>{e(Path(report["take"]).name)}</h1>
<div class="meta">exercise {e(str(report["score"]))} ({e(str(report["voice"]))}), model {e(str(report["model"]))},
tolerance {result.tolerance_cents:g} cents</div>
<div class="summary"><div class="counts">{"".join(f'<span style="color:{c}">{n} {e(k)}</span>' for k, n, c in counts)}
</div>{e(summary_line(result))}</div>
<div class="key">{key}</div>
<h2>The exercise (sung cents under each note)</h2>
{staff_svg(score, result)}
<h2>The take</h2>
{roll}
{f"<h2>Extra notes</h2><ul>{extra}</ul>" if extra else ""}
<h2>Every note</h2>
<table><tr><th>#</th><th>note</th><th>verdict</th><th>sung</th><th>cents</th><th>onset ms</th></tr>
{"".join(rows)}</table>
</body></html>
"""


def write_html_report(path: str | Path, report: dict, score: Score, result: CheckResult) -> None:
    """The one-page HTML report (:func:`html_page`), written through :func:`svt_live.io.outputs.write_bytes`."""
    write_bytes(path, html_page(report, score, result).encode("utf-8"))
