"""Writing output files without destroying anything.

Conventions:

- An output replaces a regular file atomically (a temporary file in the same
  folder, then a rename): a crash or Ctrl-C mid-write leaves the old file as
  it was, and no temporary file stays behind on any exit path.
- A symbolic link is written through (its target is replaced, the link stays),
  and a replaced file keeps its permission bits; a new file gets 0666 less the
  umask.
- A special file (``/dev/null``, a FIFO, a terminal, a device) and an open
  file descriptor (``/dev/stdout``, ``/dev/stderr``, ``/dev/fd/N``,
  ``/proc/PID/fd/N``) are written into, never replaced: a file the shell
  opened with ``>>`` is appended to, a pipe gets the data. The bytes are
  written into it once complete; a failed write (``/dev/full``) is an error.
- Every file the project writes goes through :func:`atomic_write` (or
  :class:`OutputFile`), whoever formats it: a library that writes to a path
  of its own choosing (music21 adds a suffix) formats into memory and
  :func:`write_bytes` writes the result.
- Errors are ``OSError`` naming the path the caller gave, never the
  temporary file.
- An output path must be none of the inputs, and no two outputs may share a
  path: :func:`check_outputs` refuses both before any work.
"""
from __future__ import annotations

import os
import re
import select
import stat
import sys
import tempfile
import wave
from collections import Counter
from pathlib import Path


def _special(path: Path) -> bool:
    """Whether ``path`` exists and is neither a regular file nor a folder (device, FIFO, socket)."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode))


_FD_LINK = re.compile(r"/proc/(\d+)(?:/task/\d+)?/fd/(\d+)")
_DEV_FD = re.compile(r"/dev/(?:fd/(\d+)|std(out|err))")  # where /dev/fd is a device folder (BSD, macOS)
_MAX_LINKS = 40  # symbolic links followed before giving up, as the kernel does


def open_fd(path: str | Path) -> tuple[int, int] | None:
    """``(pid, fd)`` when ``path`` names an open file descriptor, else ``None``.

    ``/dev/stdout``, ``/dev/stderr``, ``/dev/fd/N``, ``/proc/self/fd/N``,
    ``/proc/PID/fd/N`` and symbolic links to them name the file that the
    descriptor has open (a file a shell redirected to, a pipe, a terminal);
    resolving them to that file's path would lose the descriptor's offset and
    append mode, or fail for a pipe.

    Examples
    --------
    >>> import os
    >>> open_fd("/dev/stdout") == (os.getpid(), 1), open_fd("/tmp/notes.json")
    (True, None)
    """
    p = os.path.abspath(path)
    for _ in range(_MAX_LINKS):
        head, name = os.path.split(p)
        real_head = os.path.realpath(head)  # /proc/self -> /proc/PID, /dev/fd -> /proc/PID/fd
        p = os.path.join(real_head, name)
        found = _FD_LINK.fullmatch(p)
        if found:
            return int(found[1]), int(found[2])
        try:
            link = os.readlink(p)
        except OSError:  # not a link: a file, a folder, or nothing
            dev = _DEV_FD.fullmatch(p)
            return (os.getpid(), int(dev[1]) if dev[1] else {"out": 1, "err": 2}[dev[2]]) if dev else None
        p = os.path.join(real_head, link)
    return None


_CHUNK_BYTES = 1 << 20


def _copy_into(tmp: str, target: str, fd: tuple[int, int] | None) -> None:
    """Write the bytes of ``tmp`` into ``target`` without replacing it: into a duplicate of this
    process's descriptor (its offset and append mode kept), into another process's descriptor
    in append mode, or into a device or FIFO opened as it is (no truncation, no creation)."""
    if fd is not None and fd[0] == os.getpid():
        for stream in (sys.stdout, sys.stderr):  # what was printed comes first
            if stream is not None and not stream.closed:
                stream.flush()
        out = os.dup(fd[1])
    else:
        out = os.open(target, os.O_WRONLY | os.O_NOCTTY | (os.O_APPEND if fd is not None else 0))
    try:
        with open(tmp, "rb") as src:
            while chunk := src.read(_CHUNK_BYTES):
                view = memoryview(chunk)
                while view:
                    try:
                        view = view[os.write(out, view):]
                    except BlockingIOError:  # a non-blocking pipe that is full: wait for its reader
                        select.select([], [out], [])
    finally:
        os.close(out)


class OutputFile:
    """An output being written: write :attr:`tmp`, then :meth:`commit` puts it at ``path`` by the
    rules above (or :meth:`discard` drops it). For writers that hold the file open a long time
    (a recording); :func:`atomic_write` is the one-call form.

    The temporary file is ``.svt-XXXXXXXX.tmp`` in the target's folder (short: a name that fits
    the file system's limit still fits), or in the system's temporary folder when the target is
    written into (a device, FIFO or descriptor).
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._fd = open_fd(path)
        self._target = Path(os.path.realpath(path)) if self._fd is None else None
        self._into = self._fd is not None or _special(self._target)
        try:
            if self._into:
                handle, self.tmp = tempfile.mkstemp(prefix=".svt-", suffix=".tmp")
                self._mode = None
            else:
                self._target.parent.mkdir(parents=True, exist_ok=True)
                try:
                    self._mode = stat.S_IMODE(os.stat(self._target).st_mode)
                except FileNotFoundError:
                    umask = os.umask(0)
                    os.umask(umask)
                    self._mode = 0o666 & ~umask
                handle, self.tmp = tempfile.mkstemp(prefix=".svt-", suffix=".tmp", dir=self._target.parent)
        except OSError as exc:
            raise OSError(exc.errno, exc.strerror, str(self.path)) from None
        os.close(handle)

    def commit(self) -> None:
        """Put the written temporary file in place; raises ``OSError`` naming :attr:`path`."""
        try:
            if self._into:
                target = str(self.path) if self._fd is not None else str(self._target)
                _copy_into(self.tmp, target, self._fd)
            else:
                os.chmod(self.tmp, self._mode)
                os.replace(self.tmp, self._target)
        except OSError as exc:
            raise OSError(exc.errno, exc.strerror, str(self.path)) from None
        finally:
            self.discard()

    def discard(self) -> None:
        """Remove the temporary file (nothing is written to ``path``)."""
        Path(self.tmp).unlink(missing_ok=True)


def atomic_write(path: str | Path, write) -> None:
    """Call ``write(tmp_path)`` and put the result at ``path`` (:class:`OutputFile`).

    ``path`` may be a symbolic link (its target is rewritten, keeping the
    target's mode), a special file or an open descriptor (``/dev/stdout``:
    the bytes are written into it). Raises ``OSError`` naming ``path`` when
    the file cannot be written; the temporary file is removed whatever happens.
    """
    out = OutputFile(path)
    try:
        write(out.tmp)
    except OSError as exc:
        out.discard()
        raise OSError(exc.errno, exc.strerror, str(path)) from None
    except BaseException:
        out.discard()
        raise
    out.commit()


def write_bytes(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` by the rules above (for what a library formats in memory)."""
    atomic_write(path, lambda tmp: Path(tmp).write_bytes(data))


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


class WavRecorder:
    """Streams a take to a 16-bit PCM WAV; the file appears under ``path`` only on :meth:`close`."""

    def __init__(self, path: str | Path, sample_rate: int, channels: int):
        self.path = Path(path)
        self._out = OutputFile(path)
        self._wav = wave.open(self._out.tmp, "wb")
        self._wav.setnchannels(channels)
        self._wav.setsampwidth(2)
        self._wav.setframerate(sample_rate)

    def write(self, block) -> None:
        """Append samples ``[n, channels]`` float (full scale 1.0)."""
        import numpy as np

        pcm = np.clip(np.round(np.asarray(block, np.float64) * 32768.0), -32768, 32767).astype("<i2")
        self._wav.writeframes(pcm.tobytes())

    def close(self) -> None:
        """Finish the WAV and put it at ``path`` (:class:`OutputFile`)."""
        try:
            self._wav.close()
        except BaseException:
            self._out.discard()
            raise
        self._out.commit()
