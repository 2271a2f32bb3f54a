"""The sight-singing check: exercise scores, the sung take, the note-by-note judgement and its reports.
"""
