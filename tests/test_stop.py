"""StopRequest: SIGINT and SIGTERM become a flag, nothing is raised until the loop checks it."""
import os
import signal

import pytest

from svt_live.stop import StopRequest


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
