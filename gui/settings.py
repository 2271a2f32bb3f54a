"""The window's stored choices (a ``QSettings``): typed reads that survive corrupt values, and dialog folders.

Conventions: keys are ``group/name`` (``input/kind``, ``view/px_per_s``,
``dirs/audio``...). A stored value that is not what the window expects
(a hand-edited or corrupt settings file: zoom 0, NaN, nested lists) is
ignored with a one-line warning on stderr and the default is used, never
a failed start. Dialog folders are kept under ``dirs/<kind>``.

The store is an ini file: ``svt-gui --settings PATH``, else the user's
(:func:`default_settings_path`: where Qt keeps svt-live/svt-gui's own). Either
way (:func:`settings_file`) Qt reads and writes a private copy of it, and the
copy is written back through the project's one writer
(:func:`svt_live.io.outputs.atomic_write`) when the window closes, so Qt never
writes a user's file itself. PATH is a regular file or a new one; a device,
FIFO, folder or open descriptor is refused (Qt would replace the device with a
file, and wait for ever on a FIFO).
"""
from __future__ import annotations

import json
import math
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path


def stored_value(settings, key: str, default=None, kind: type = str, valid=lambda value: True):
    """The stored choice ``key`` when it is a ``kind`` (str, bool, a finite float, QByteArray)
    that ``valid`` accepts, else ``default`` (with a warning when something unusable was stored)."""
    raw = settings.value(key, None)
    if raw is None:
        return default
    value = None
    if kind is bool:
        value = raw if isinstance(raw, bool) else {"true": True, "false": False}.get(str(raw).lower())
    elif kind is float and isinstance(raw, (str, int, float)) and not isinstance(raw, bool):
        try:
            value = float(raw)
        except ValueError:
            pass
        value = value if value is not None and math.isfinite(value) else None
    elif isinstance(raw, kind):
        value = raw
    if value is None or not valid(value):
        print(f"svt-gui: warning: ignored the stored setting {key} (not a usable {kind.__name__})",
              file=sys.stderr)
        return default
    return value


def stored_list(settings, key: str) -> list[str]:
    """The stored list of paths ``key`` (JSON), else ``[]``."""
    raw = settings.value(key, "[]")
    try:
        value = json.loads(raw) if isinstance(raw, str) else list(raw)
    except (ValueError, TypeError, RecursionError):
        value = None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        print(f"svt-gui: warning: ignored the stored setting {key} (not a list of paths)", file=sys.stderr)
        return []
    return value


def last_folder(settings, kind: str) -> str:
    """The folder a file dialog of ``kind`` (audio, annotation, score, checkpoint, save) last used, or ''."""
    return stored_value(settings, f"dirs/{kind}", "")


def remember_folder(settings, kind: str, path: str | Path) -> None:
    """Start the next file dialog of ``kind`` in the folder of ``path``."""
    settings.setValue(f"dirs/{kind}", str(Path(path).resolve().parent))


def default_settings_path() -> Path:
    """The user's svt-gui settings file: the one Qt's own store for svt-live/svt-gui uses on Linux
    (``~/.config/svt-live/svt-gui.conf``, an ini file), an ``.ini`` in the user's settings folder elsewhere
    (Qt's native stores there are the registry and property lists, which are not files to copy)."""
    from PySide6.QtCore import QSettings

    fmt = QSettings.Format.NativeFormat if sys.platform.startswith("linux") else QSettings.Format.IniFormat
    return Path(QSettings(fmt, QSettings.Scope.UserScope, "svt-live", "svt-gui").fileName())


def settings_file(path: str | Path) -> tuple[object, Callable[[], None]]:
    """``(QSettings, save)`` for ``svt-gui --settings PATH``.

    The ``QSettings`` (ini format) works on a private copy of ``path``;
    ``save()`` writes the copy to ``path`` (atomically; a symbolic link is
    written through) and removes the copy. Nothing is written when Qt stored
    nothing.

    Raises
    ------
    ValueError
        ``path`` is a device, FIFO, socket, folder or open descriptor.
    OSError
        ``path`` exists but cannot be read.
    """
    from PySide6.QtCore import QSettings

    from svt_live.io.outputs import atomic_write, open_fd

    given = Path(path)
    if open_fd(given) is not None or (given.exists() and not given.is_file()):
        raise ValueError(f"--settings {path}: not a regular file (a device, FIFO, folder or stream); "
                         "give an .ini file's path")
    folder = Path(tempfile.mkdtemp(prefix="svt-gui-settings-"))
    copy = folder / "settings.ini"
    try:
        if given.exists():
            shutil.copyfile(given, copy)
    except OSError:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    settings = QSettings(str(copy), QSettings.Format.IniFormat)

    def save() -> None:
        settings.sync()
        try:
            if copy.exists():
                atomic_write(given, lambda tmp: shutil.copyfile(copy, tmp))
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    return settings, save
