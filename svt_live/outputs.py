"""Writing output files without destroying anything.

Conventions:

- An output replaces a regular file atomically (a temporary file in the same
  folder, then a rename): a crash or Ctrl-C mid-write leaves the old file as
  it was, and no temporary file stays behind on any exit path.
- A symbolic link is written through (its target is replaced, the link stays),
  and a replaced file keeps its permission bits; a new file gets 0666 less the
  umask.
- A special file (``/dev/null``, a FIFO, a terminal, a device) is written
  into, never replaced; a failed write (``/dev/full``) is an error.
- Errors are ``OSError`` naming the path the caller gave, never the
  temporary file.
- An output path must be none of the inputs, and no two outputs may share a
  path: :func:`check_outputs` refuses both before any work.
"""
from __future__ import annotations

import os
import stat
import tempfile
from collections import Counter
from pathlib import Path


def _special(path: Path) -> bool:
    """Whether ``path`` exists and is neither a regular file nor a folder (device, FIFO, socket)."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode))


def atomic_write(path: str | Path, write) -> None:
    """Call ``write(tmp_path)`` and rename the result onto ``path``.

    ``path`` may be a symbolic link (its target is rewritten, keeping the
    target's mode) or a special file (``write`` then writes into it
    directly). Raises ``OSError`` naming ``path`` when the file cannot be
    written; the temporary file is removed whatever happens.
    """
    given = Path(path)
    target = Path(os.path.realpath(given))
    try:
        if _special(target):
            write(str(target))
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            mode = stat.S_IMODE(os.stat(target).st_mode)
        except FileNotFoundError:
            umask = os.umask(0)
            os.umask(umask)
            mode = 0o666 & ~umask
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as exc:
        raise OSError(exc.errno, exc.strerror, str(given)) from None
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise OSError(exc.errno, exc.strerror, str(given)) from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def same_file(a: str | Path, b: str | Path) -> bool:
    """Whether two paths name one file: the same inode where both exist, else the same resolved path."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.realpath(a) == os.path.realpath(b)


class OutputConflict(ValueError):
    """An output path that is an input, or that two outputs share."""


def check_outputs(outputs: list[tuple[str, str | Path]], inputs: list[tuple[str, str | Path]]) -> None:
    """Refuse outputs that would overwrite an input or each other.

    ``outputs`` and ``inputs``: ``(what, path)`` pairs, ``what`` naming the
    option for the message (``"--json"``, ``"input"``). Raises
    :class:`OutputConflict` naming both sides.
    """
    for i, (what, out) in enumerate(outputs):
        for kind, src in inputs:
            if same_file(out, src):
                raise OutputConflict(f"{what} {out} is the {kind} {src}: refusing to overwrite it")
        for other, out2 in outputs[:i]:
            if same_file(out, out2):
                raise OutputConflict(f"{other} and {what} both write {out}: give each its own path")


MIR_ST500_STEM = "Mixture"  # the MIR-ST500 layout names every song's audio <id>/Mixture.<ext>


def _song_id(f: Path) -> str:
    """A file's own song id: its stem, or its folder's name in the MIR-ST500 layout."""
    folder = f.absolute().parent.name
    return folder if f.stem == MIR_ST500_STEM and folder else f.stem


def song_keys(files: list[str | Path]) -> list[str]:
    """A distinct song id for each input file (same order), usable as a file name.

    Its stem, or for a file of the MIR-ST500 layout (``<id>/Mixture.mp3``) its
    folder's name, alone or among others; where keys repeat, its folder's name,
    else its file name (``a.wav``, ``a.flac``), else
    its folders joined by ``-``; a file given twice gets ``-2``, ``-3``, ...
    Keys differing only in case count as the same (case-insensitive file systems).

    Examples
    --------
    >>> song_keys(["1/Mixture.mp3", "2/Mixture.mp3", "x.wav"])
    ['1', '2', 'x']
    >>> song_keys(["train/62/Mixture.mp3"])
    ['62']
    >>> song_keys(["a.wav", "a.flac", "a.wav"])
    ['a.wav', 'a.flac', 'a.wav-2']
    """
    files = [Path(f) for f in files]
    levels = [
        lambda f: f.absolute().parent.name,
        lambda f: f.name,
        lambda f: "-".join(f.absolute().parts[1:]),
    ]
    keys = ["stdin" if str(f) == "-" else _song_id(f) for f in files]
    groups: dict[str, list[int]] = {}
    for i, key in enumerate(keys):
        groups.setdefault(key.casefold(), []).append(i)
    for members in groups.values():
        if len(members) > 1:  # the first level that tells most of them apart (the stem when none does)
            named = [[keys[i] for i in members]] + [[level(files[i]) for i in members] for level in levels]
            best = max(named, key=lambda ks: (all(ks), len({k.casefold() for k in ks})))
            if all(best):
                for i, key in zip(members, best):
                    keys[i] = key
    taken, seen = {k.casefold() for k in keys}, Counter()
    for i, key in enumerate(keys):
        seen[key.casefold()] += 1
        if seen[key.casefold()] > 1:  # the same file given twice: number the later ones
            n = seen[key.casefold()]
            while f"{key}-{n}".casefold() in taken:
                n += 1
            keys[i] = f"{key}-{n}"
            taken.add(keys[i].casefold())
    return keys


def printable(text: object, newlines: bool = False) -> str:
    """``text`` safe for a terminal: control and other non-printing characters (escape sequences,
    carriage returns, bidirectional overrides) shown as Python escapes; ``newlines`` keeps ``\\n``.

    Examples
    --------
    >>> printable("a\\x1b[2Jb\\rc.wav")
    'a\\\\x1b[2Jb\\\\rc.wav'
    """
    out = []
    for ch in str(text):
        if ch.isprintable() or ch == " " or (newlines and ch == "\n"):
            out.append(ch)
        else:
            out.append(repr(ch)[1:-1] if ch not in "'\"" else ch)
    return "".join(out)


def os_error_line(exc: OSError) -> str:
    """One printable line for a failed file operation, naming the file the user gave (not a temporary one)."""
    name = exc.filename2 if exc.filename2 is not None else exc.filename
    return printable(f"{name}: {exc.strerror}" if name is not None and exc.strerror else exc)
