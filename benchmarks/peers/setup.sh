#!/usr/bin/env bash
# Create benchmarks/peers/.venv and install the peer systems into it.
#
#   bash benchmarks/peers/setup.sh
#
# Separate from the project's .venv so the peers' pins (numpy, librosa...)
# never touch it. basic-pitch is installed WITHOUT TensorFlow: its wheel ships
# the ICASSP-2022 model as ONNX, which onnxruntime runs. Each peer group may
# fail on its own; the summary says which, and run_peers.py skips that peer.
# Writes .venv/peers-setup.txt ("<peer> ok|FAILED" lines) when done.
set -u
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="$HERE/.venv"
PY="${PYTHON:-python3}"

if [ ! -x "$VENV/bin/python" ]; then
    echo "[setup] creating $VENV with $($PY --version 2>&1)"
    "$PY" -m venv "$VENV" || { echo "[setup] FAILED to create the venv"; exit 1; }
fi
pipi() {  # pip install into the peers venv, without this machine's noise about absent local indexes
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "$@" 2>&1 \
        | grep -v "is ignored: it is neither a file nor a directory"
    return "${PIPESTATUS[0]}"
}

status=()
record() {  # record <peer name> <python import check>
    if "$VENV/bin/python" -c "$2" >/dev/null 2>&1; then
        status+=("$1 ok")
    else
        echo "[setup] $1: install or import FAILED (the benchmark will skip it)"
        status+=("$1 FAILED")
    fi
}

# shared: what svt_train.datasets / svt_live.io.audio need to list and decode songs
echo "[setup] common: numpy, av"
pipi "numpy<2.3" "av>=11"
record common "import numpy, av"

# pYIN + Tony-style segmentation
echo "[setup] pyin: librosa"
pipi "librosa>=0.10" scipy
record pyin "import librosa, scipy; librosa.pyin"

# basic-pitch without its TensorFlow requirement: the package alone, then the
# run-time dependencies it really imports, with onnxruntime as the backend
echo "[setup] basic-pitch: onnxruntime + deps, then basic-pitch --no-deps"
pipi onnxruntime "librosa>=0.10" "mir_eval>=0.6" "pretty_midi>=0.2.9" \
    "resampy>=0.2.2,<0.4.3" scikit-learn scipy typing_extensions \
  && pipi --no-deps "basic-pitch==0.4.0"
record basic-pitch "import onnxruntime, basic_pitch.inference"

printf '%s\n' "${status[@]}" > "$VENV/peers-setup.txt"
echo "[setup] summary:"; sed 's/^/  /' "$VENV/peers-setup.txt"
