#!/usr/bin/env bash
# One command: set up the peers venv (first time), predict, score.
#
#   bash benchmarks/peers/run.sh [--sets ssvd_dev,mir_test,vocadito] [--force] [--data-root DIR]
#
# Predictions run niced in benchmarks/peers/.venv and are cached under
# benchmarks/peers/out/; scoring runs in the project's .venv.
set -u
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
SETS="ssvd_dev,mir_test,vocadito"; FORCE=(); DATA=()
while [ $# -gt 0 ]; do
    case "$1" in
        --sets) SETS="$2"; shift 2 ;;
        --force) FORCE=(--force); shift ;;
        --data-root) DATA=(--data-root "$2"); shift 2 ;;
        *) echo "usage: $0 [--sets a,b] [--force] [--data-root DIR]"; exit 2 ;;
    esac
done

if [ ! -f "$HERE/.venv/peers-setup.txt" ]; then
    bash "$HERE/setup.sh" || exit 1
fi
grep FAILED "$HERE/.venv/peers-setup.txt" | sed 's/^/[run] setup reported: /'

cd "$ROOT" || exit 1  # both run as modules of the repository (benchmarks.peers)
nice -n 10 "$HERE/.venv/bin/python" -m benchmarks.peers.run_peers --sets "$SETS" "${FORCE[@]}" "${DATA[@]}"
"$ROOT/.venv/bin/python" -m benchmarks.peers.score --sets "$SETS" "${DATA[@]}"
