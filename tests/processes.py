"""Programs the tests start: started so that they end with the tests, and waited for by what they do
rather than by a fixed sleep."""
from __future__ import annotations

import os
import subprocess
import time

from servers import die_with_parent

_TICK_S = 1.0 / os.sysconf("SC_CLK_TCK")


def start(argv: list, **popen_kwargs) -> subprocess.Popen:
    """Start a program under test (svt-live, svt-gui, a player) that gets SIGTERM when the interpreter
    that started it dies (``PR_SET_PDEATHSIG``): a pytest killed from outside, by a timeout or by hand,
    leaves none of them running (svt-live and svt-gui save what they have and exit on SIGTERM). Tests
    still stop what they start in their own ``finally``."""
    return subprocess.Popen(argv, preexec_fn=die_with_parent, **popen_kwargs)


def _stat_fields(pid: int) -> list[str]:
    """The fields of ``/proc/PID/stat`` after the command name (field 3 of stat(5) onwards)."""
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process so far (its threads included)."""
    fields = _stat_fields(pid)
    return (int(fields[11]) + int(fields[12])) * _TICK_S  # utime and stime: fields 14 and 15 of stat(5)


def gone(pid: int) -> bool:
    """Whether process ``pid`` has ended (no longer there, or a zombie waiting for its parent)."""
    try:
        return _stat_fields(pid)[0] == "Z"
    except FileNotFoundError:
        return True


def wait_until_idle(proc: subprocess.Popen, min_s: float = 5.0, idle_s: float = 1.5, timeout_s: float = 180.0,
                    busy_cpu_s: float = 0.05) -> float:
    """Wait until ``proc`` has run ``min_s`` seconds and then used less than ``busy_cpu_s`` of CPU over
    ``idle_s`` seconds: a GUI that finished starting up and the work it was given. Start-up takes 2 s on an
    idle machine and over 15 s on a loaded one, so a fixed sleep is either slow or flaky.
    Returns the seconds waited; raises TimeoutError (or returns early when the process ended)."""
    start = time.monotonic()
    time.sleep(min_s)
    last, since = cpu_seconds(proc.pid), time.monotonic()
    while time.monotonic() - start < timeout_s:
        if proc.poll() is not None:
            return time.monotonic() - start
        time.sleep(0.25)
        try:
            now = cpu_seconds(proc.pid)
        except FileNotFoundError:
            return time.monotonic() - start
        if now - last >= busy_cpu_s:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= idle_s:
            return time.monotonic() - start
    raise TimeoutError(f"process {proc.pid} still busy after {timeout_s:.0f} s")
