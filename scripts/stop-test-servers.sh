#!/usr/bin/env bash
# Stop the servers the tests registered in FILE (tests/servers.py): each line is "<process group> <name>".
# A group is signalled while it has members, unless its leader's pid now runs another command (a
# recycled pid: Linux reuses no pid that is still a live group's id, so members left behind by a dead
# leader are still that group). Prints how many groups were still running.
#   bash scripts/stop-test-servers.sh FILE
set -u
file=${1:?usage: stop-test-servers.sh FILE}
[ -f "$file" ] || exit 0
left=0
while read -r pgid name; do
  [ -n "${pgid:-}" ] || continue
  leader=$(cat "/proc/$pgid/comm" 2>/dev/null)
  if [ -n "$leader" ] && [ "$leader" != "$name" ]; then continue; fi
  if kill -0 -- "-$pgid" 2>/dev/null; then
    left=$((left + 1))
    kill -TERM -- "-$pgid" 2>/dev/null
    for _ in $(seq 50); do kill -0 -- "-$pgid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- "-$pgid" 2>/dev/null
  fi
done < "$file"
: > "$file"
[ "$left" -eq 0 ] || echo "stopped $left test server(s) left running" >&2
exit 0
