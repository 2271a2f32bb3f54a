#!/usr/bin/env bash
# Keep a long svt-train fit going: when it dies (killed, out of memory, a crash), resume it from the
# last.pt in its --out folder, at most TRIES times; stop when it exits 0. Run it in the background:
#   nohup bash scripts/supervise-training.sh LOG [TRIES] -- PYTHON -m svt_train.cli fit CONFIG --out DIR [options] &
# Each start and exit is logged to LOG as a line "=== supervise: ...", with the exit status.
set -u
log=${1:?usage: supervise-training.sh LOG [TRIES] -- command}
shift
tries=5
if [ "${1:-}" != "--" ]; then tries=$1; shift; fi
[ "${1:-}" = "--" ] || { echo "usage: supervise-training.sh LOG [TRIES] -- command" >&2; exit 2; }
shift
out=""
prev=""
for arg in "$@"; do [ "$prev" = "--out" ] && out=$arg; prev=$arg; done
[ -n "$out" ] || { echo "supervise-training.sh: the command needs --out DIR" >&2; exit 2; }
for try in $(seq 1 "$tries"); do
  resume=()
  [ -f "$out/last.pt" ] && resume=(--resume)
  echo "=== supervise: start $try of $tries at $(date -u +%FT%TZ) ${resume[*]}" >> "$log"
  "$@" "${resume[@]}" >> "$log" 2>&1
  rc=$?
  echo "=== supervise: exit $rc at $(date -u +%FT%TZ)" >> "$log"
  [ "$rc" -eq 0 ] && exit 0
  sleep "${SVT_SUPERVISE_PAUSE_S:-30}"  # let whatever killed it (memory, a restart) pass
done
exit 1
