"""Servers the tests start (jackd, PulseAudio, Xvfb), stopped whatever happens to the test.

Each server runs in its own process group (its pid is the group's id) and is
started so that the kernel sends it SIGTERM when the interpreter that started
it dies (``PR_SET_PDEATHSIG``): a segfault in a test leaves no server behind.
Its group is also written to the file named by ``$SVT_TEST_SERVERS`` (set by
``scripts/run-tests.sh``, which ``make test`` and ``.ci/run`` use), whose exit
trap stops every group still listed there (``scripts/stop-test-servers.sh``).
Fixtures stop their server with :func:`stop` in their finalizer, which also
takes it off the list.
"""
from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import time
from pathlib import Path

REGISTRY_ENV = "SVT_TEST_SERVERS"
PR_SET_PDEATHSIG = 1


def jackd_command(name: str) -> list[str]:
    """A test JACK server named ``name``: dummy driver, 16 kHz, 256-frame periods, synchronous.

    Synchronous (``--sync``, clients given 5 s a cycle): on a loaded machine a client late for its
    cycle is waited for, where the default asynchronous server would count an xrun and drop the MIDI
    that client had to read, and the tests check every byte.
    """
    return ["jackd", "--no-realtime", "--sync", "-t", "5000", "-n", name, "-d", "dummy", "-r", "16000", "-p", "256"]


def die_with_parent() -> None:  # runs in the child between fork and exec
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


def _registry() -> Path | None:
    path = os.environ.get(REGISTRY_ENV)
    return Path(path) if path else None


def _register(proc: subprocess.Popen, argv0: str) -> None:
    reg = _registry()
    if reg is not None:
        with open(reg, "a") as f:  # "<process group> <command name>", one server a line
            f.write(f"{proc.pid} {Path(argv0).name[:15]}\n")


def _unregister(proc: subprocess.Popen) -> None:
    reg = _registry()
    if reg is None or not reg.exists():
        return
    lines = [line for line in reg.read_text().splitlines() if line.split(" ", 1)[0] != str(proc.pid)]
    reg.write_text("".join(line + "\n" for line in lines))


def start(argv: list[str], **popen_kwargs) -> subprocess.Popen:
    """Start a server process in its own process group that dies with this interpreter."""
    proc = subprocess.Popen(argv, start_new_session=True, preexec_fn=die_with_parent, **popen_kwargs)
    _register(proc, argv[0])
    return proc


def group_alive(pgid: int) -> bool:
    """Whether any process is still in process group ``pgid`` (zombies not yet reaped included)."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def stop(proc: subprocess.Popen | None, timeout_s: float = 10.0) -> None:
    """Stop a server started by :func:`start` and everything in its process group (idempotent): SIGTERM
    to the group, then SIGKILL to whatever is still in it after ``timeout_s``; returns once the group
    is gone (a member left by its leader is gone when its new parent has reaped it)."""
    if proc is None:
        return
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break  # the whole group is gone
        end = time.monotonic() + timeout_s
        while (proc.poll() is None or group_alive(proc.pid)) and time.monotonic() < end:
            time.sleep(0.02)
        if proc.poll() is not None and not group_alive(proc.pid):
            break
    if proc.poll() is None:
        proc.wait()
    _unregister(proc)
    _remove_jack_files(proc)


SHM = Path("/dev/shm")


def jack_files(server: str) -> list[Path]:
    """The shared-memory files of JACK server ``server`` and of its clients (``jack_<server>_*``,
    ``jack_sem.<uid>_<server>_<client>``)."""
    return [p for p in SHM.glob(f"jack*_{server}_*") if p.name.startswith(("jack_", "jack_sem."))]


def _remove_jack_files(proc: subprocess.Popen) -> None:
    """A jackd that was killed, or whose clients were, leaves semaphores and segments in /dev/shm:
    remove those of the stopped server's name (each test server has a name of its own)."""
    args = proc.args if isinstance(proc.args, list) else []
    if args and Path(str(args[0])).name == "jackd" and "-n" in args[:-1]:
        for path in jack_files(str(args[args.index("-n") + 1])):
            path.unlink(missing_ok=True)
