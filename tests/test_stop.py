"""StopRequest: SIGINT and SIGTERM become a flag, nothing is raised until the loop checks it."""
import os
import signal

import pytest

from svt_live.engine.stop import StopRequest


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_sets_the_flag_and_check_raises(signum):
    before = signal.getsignal(signum)
    with StopRequest() as stop:
        assert not stop
        stop.check()  # nothing requested: no exception
        os.kill(os.getpid(), signum)  # handled in the main thread at the next bytecode: no exception here
        for _ in range(1000):
            if stop:
                break
        assert stop and stop.signal == signum
        with pytest.raises(KeyboardInterrupt):
            stop.check()
        stop.clear()
        assert not stop
        stop.check()
    assert signal.getsignal(signum) is before


def test_a_ctrl_c_lost_during_start_up_stops_the_first_stop_request():
    """A KeyboardInterrupt raised inside C code that drops it (as PortAudio's JACK start-up did) is not lost:
    the signal is remembered, and the command's first StopRequest stops at once."""
    import signal as sig

    from svt_live.engine import stop as stop_module

    saved = sig.getsignal(sig.SIGINT)
    try:
        sig.signal(sig.SIGINT, sig.default_int_handler)
        with stop_module.early_interrupts():
            try:
                sig.raise_signal(sig.SIGINT)
            except KeyboardInterrupt:
                pass  # dropped, as a C callback would drop it
            with stop_module.StopRequest() as request:
                assert request and request.signal == sig.SIGINT
            with stop_module.StopRequest() as later:
                assert not later  # remembered once
            try:
                sig.raise_signal(sig.SIGINT)
            except KeyboardInterrupt:
                pass
        # after the block (an entry point called in-process returned) nothing is remembered or installed
        assert sig.getsignal(sig.SIGINT) is sig.default_int_handler
        with stop_module.StopRequest() as after:
            assert not after
    finally:
        sig.signal(sig.SIGINT, saved)


def test_a_ctrl_c_that_c_code_turned_into_another_error_is_still_an_interrupt(tmp_path, monkeypatch, capsys):
    """numpy's C extension reports an import that a Ctrl-C cut short as an ImportError (seen at 0.2 s
    after `svt-live --input mic` started): the command still ends as interrupted, status 130."""
    from svt_live.commands.entry import guarded

    (tmp_path / "cut_short.py").write_text(
        "import os, signal\n"
        "try:\n"
        "    os.kill(os.getpid(), signal.SIGINT)\n"
        "except KeyboardInterrupt:\n"
        "    raise ImportError('PyCapsule_Import could not import module \"datetime\"') from None\n")
    (tmp_path / "broken.py").write_text("raise ImportError('a real one')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert guarded("svt-x", "cut_short") == 130
    assert capsys.readouterr().err == "svt-x: interrupted\n"
    with pytest.raises(ImportError, match="a real one"):  # without a Ctrl-C, an error stays an error
        guarded("svt-x", "broken")


def test_a_ctrl_c_inside_the_import_machinery_is_recorded_not_raised():
    """A module lock's callback in importlib prints an exception raised inside it ("Exception ignored
    in: ... _get_module_lock ... KeyboardInterrupt") and drops it: there the Ctrl-C is only recorded."""
    import sys
    import types

    from svt_live.engine import stop as stop_module

    frozen = types.SimpleNamespace(f_code=types.SimpleNamespace(co_filename="<frozen importlib._bootstrap>"))
    with stop_module.early_interrupts() as start:
        stop_module._early_interrupt(signal.SIGINT, frozen)  # returns: recorded only
        assert start.signal == signal.SIGINT
        with pytest.raises(KeyboardInterrupt):
            stop_module._early_interrupt(signal.SIGINT, sys._getframe())
        with StopRequest() as stop:  # the first stop request still sees it
            assert stop
