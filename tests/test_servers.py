"""The servers tests start are stopped even when the interpreter that started them dies."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from processes import gone
from servers import group_alive, jack_files, jackd_command

ROOT = Path(__file__).resolve().parents[1]
TESTS = Path(__file__).resolve().parent

# A child interpreter starts a "server" through tests/servers.py, prints its process group, then dies
# by SIGSEGV as a crashed test would.
CRASH = textwrap.dedent("""
    import os, signal, subprocess, sys, time
    sys.path.insert(0, {tests!r})
    import servers
    proc = servers.start({argv!r}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.3)
    print(proc.pid, flush=True)
    os.kill(os.getpid(), signal.SIGSEGV)
""")


def wait_gone(pgid: int, timeout_s: float = 10.0) -> bool:
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        if not group_alive(pgid):
            return True
        time.sleep(0.05)
    return False


def crash(tmp_path, argv: list[str]) -> tuple[int, Path]:
    registry = tmp_path / "servers.txt"
    p = subprocess.run([sys.executable, "-c", CRASH.format(tests=str(TESTS), argv=argv)], capture_output=True,
                       text=True, timeout=60, env=dict(os.environ, SVT_TEST_SERVERS=str(registry)))
    assert p.returncode == -signal.SIGSEGV, p.stderr
    return int(p.stdout.split()[0]), registry


def test_a_server_dies_with_the_interpreter_that_crashed(tmp_path):
    pgid, registry = crash(tmp_path, ["sleep", "120"])
    try:
        assert wait_gone(pgid), "the server outlived the interpreter that started it"
        assert registry.read_text().split() == [str(pgid), "sleep"]
    finally:
        if group_alive(pgid):
            os.killpg(pgid, signal.SIGKILL)


def test_the_exit_trap_stops_a_group_that_survived(tmp_path):
    """A server deaf to SIGTERM, with a process of its own in its group, outlives the crash: the script
    that .ci/run and scripts/run-tests.sh call on exit stops the whole group."""
    pgid, registry = crash(tmp_path, ["bash", "-c", "trap '' TERM; sleep 120 & wait"])
    try:
        time.sleep(0.5)
        assert group_alive(pgid)
        out = subprocess.run(["bash", str(ROOT / "scripts" / "stop-test-servers.sh"), str(registry)],
                             capture_output=True, text=True, timeout=30)
        assert wait_gone(pgid), "the exit trap's script left the group running"
        assert "stopped 1 test server(s) left running" in out.stderr
        assert registry.read_text() == ""
    finally:
        if group_alive(pgid):
            os.killpg(pgid, signal.SIGKILL)


def test_a_stopped_server_is_off_the_list_and_a_recycled_pid_is_never_hit(tmp_path, monkeypatch):
    import servers

    registry = tmp_path / "servers.txt"
    monkeypatch.setenv("SVT_TEST_SERVERS", str(registry))
    proc = servers.start(["bash", "-c", "sleep 120 & wait"])
    servers.stop(proc)
    assert not group_alive(proc.pid) and registry.read_text() == ""
    bystander = subprocess.Popen(["sleep", "60"], start_new_session=True)  # its group id, but not "bash"
    try:
        registry.write_text(f"{bystander.pid} bash\n")
        subprocess.run(["bash", str(ROOT / "scripts" / "stop-test-servers.sh"), str(registry)], timeout=30)
        assert bystander.poll() is None
    finally:
        bystander.kill()
        bystander.wait()


@pytest.mark.skipif(not shutil.which("jackd"), reason="jackd not installed (scripts/setup-system.sh installs jackd2)")
def test_the_jack_fixture_server_dies_with_a_crashed_test_session(tmp_path):
    """The real thing: jackd started the way the fixtures start it, then the interpreter segfaults."""
    name = f"svt-crash-{os.getpid()}"
    start = textwrap.dedent(f"""
        import os, signal, subprocess, sys
        sys.path.insert(0, {str(TESTS)!r})
        import servers
        proc = servers.start(["jackd", "--no-realtime", "-n", {name!r}, "-d", "dummy", "-r", "16000", "-p", "256"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        subprocess.run(["jack_wait", "-s", {name!r}, "-w", "-t", "10"], capture_output=True)
        print(proc.pid, flush=True)
        os.kill(os.getpid(), signal.SIGSEGV)
    """)
    p = subprocess.run([sys.executable, "-c", start], capture_output=True, text=True, timeout=60,
                       env=dict(os.environ, SVT_TEST_SERVERS=str(tmp_path / "servers.txt")))
    pgid = int(p.stdout.split()[0])
    try:
        assert wait_gone(pgid), "jackd outlived the crashed interpreter"
    finally:
        if group_alive(pgid):
            os.killpg(pgid, signal.SIGKILL)


def test_a_killed_jack_server_leaves_nothing_in_dev_shm():
    """A server killed under its client (as the dying-server tests do) leaves its semaphores behind
    unless stop() removes them."""
    if not shutil.which("jackd") or not shutil.which("jack_lsp"):
        pytest.skip("jackd not installed (scripts/setup-system.sh)")
    import servers

    name = f"svt-shm-{os.getpid()}"
    proc = servers.start(jackd_command(name), stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        subprocess.run(["jack_wait", "-s", name, "-w", "-t", "10"], capture_output=True, timeout=30)
        subprocess.run(["jack_lsp", "-s", name], capture_output=True, timeout=30)  # a client comes and goes
        assert jack_files(name), "the running server has no files in /dev/shm"
        os.killpg(proc.pid, signal.SIGKILL)
    finally:
        servers.stop(proc)
    assert jack_files(name) == []


KILLED = textwrap.dedent("""
    import sys, time
    sys.path.insert(0, {tests!r})
    from processes import start
    proc = start(["sleep", "120"])
    print(proc.pid, flush=True)
    time.sleep(120)
""")


def test_a_program_under_test_ends_with_the_pytest_killed_from_outside():
    """processes.start: an svt-live or svt-gui a test started gets SIGTERM when its pytest is killed
    (SIGKILL, as a timeout does), where a plain Popen would leave it running."""
    parent = subprocess.Popen([sys.executable, "-c", KILLED.format(tests=str(TESTS))], stdout=subprocess.PIPE,
                              text=True)
    pid = int(parent.stdout.readline())
    parent.kill()
    parent.wait()
    end = time.monotonic() + 10
    try:
        while time.monotonic() < end and not gone(pid):
            time.sleep(0.05)
        assert gone(pid), "the program outlived its pytest"
    finally:
        if not gone(pid):
            os.kill(pid, signal.SIGKILL)
