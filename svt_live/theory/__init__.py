"""Music theory over notes: tuning, tempo and grid, beats and meter, keys and spelling, scales, lead sheets.
"""
