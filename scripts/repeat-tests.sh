#!/usr/bin/env bash
# Run the suite (or the named tests) N times in a row; stop at the first failed run.
#   PYTHON=.venv/bin/python bash scripts/repeat-tests.sh N [pytest arguments]   (make test-repeat N=5)
set -u
cd "$(dirname "$0")/.."
n=${1:?usage: repeat-tests.sh N [pytest arguments]}
shift
log_dir=$(mktemp -d "${TMPDIR:-/tmp}/svt-test-repeat.XXXXXX")
for i in $(seq 1 "$n"); do
  start=$(date +%s)
  if bash scripts/run-tests.sh -p no:cacheprovider "$@" > "$log_dir/run-$i.log" 2>&1; then
    echo "run $i of $n: $(tail -n 1 "$log_dir/run-$i.log") ($(( $(date +%s) - start )) s)"
  else
    echo "run $i of $n FAILED: $(tail -n 1 "$log_dir/run-$i.log"); log: $log_dir/run-$i.log"
    grep -E "^(FAILED|ERROR)|Fatal Python error|stopped .* test server" "$log_dir/run-$i.log" | head -20
    exit 1
  fi
  if grep -q "test server(s) left running" "$log_dir/run-$i.log"; then
    echo "run $i left servers running: $(grep 'left running' "$log_dir/run-$i.log")"
    exit 1
  fi
done
echo "$n of $n runs passed (logs: $log_dir)"
