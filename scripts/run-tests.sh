#!/usr/bin/env bash
# The test suite (make test): the linter (ruff, configured in pyproject.toml), then pytest with every server the tests start (jackd, PulseAudio, Xvfb)
# stopped when it ends, however it ends (a failed test, a crashed interpreter, Ctrl-C).
#   PYTHON=.venv/bin/python bash scripts/run-tests.sh [pytest arguments]
set -u
cd "$(dirname "$0")/.."
python=${PYTHON:-.venv/bin/python}
own_registry=0
if [ -z "${SVT_TEST_SERVERS:-}" ]; then
  SVT_TEST_SERVERS=$(mktemp "${TMPDIR:-/tmp}/svt-test-servers.XXXXXX")
  own_registry=1
fi
export SVT_TEST_SERVERS
# Audio clients (PortAudio's ALSA "pulse" device, tests that move HOME) create PulseAudio runtime
# folders; a private XDG_RUNTIME_DIR keeps them out of /tmp and goes with the run.
runtime_dir=$(mktemp -d "${TMPDIR:-/tmp}/svt-test-runtime.XXXXXX")
export XDG_RUNTIME_DIR=$runtime_dir
cleanup() {
  bash scripts/stop-test-servers.sh "$SVT_TEST_SERVERS"
  [ "$own_registry" -eq 0 ] || rm -f "$SVT_TEST_SERVERS"
  rm -rf "$runtime_dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
"$python" -m ruff check --quiet . || { echo "ruff found the problems above (ruff check --fix fixes some)" >&2; exit 1; }
QT_QPA_PLATFORM=offscreen "$python" -X faulthandler -m pytest -q "$@"
