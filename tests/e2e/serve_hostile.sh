#!/bin/bash
# 1,000 hostile HTTP requests and slow clients against `embedlab serve`
# (serve_hostile.py): no crash, the server still answers, and it stops with
# exit status 0 -- under `make asan` that exit also means no leak and no
# sanitizer report.
set -u
app=${EMBEDLAB:?}
tmp=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
[ -x /usr/bin/python3 ] || { echo "/usr/bin/python3 is not installed (the hostile client)"; exit 77; }
. "$(dirname "$0")/serve_lib.bash"

db=$tmp/db
serve_db "$db"
printf 'hostile-test-token\n' >"$tmp/token"
serve_start "$db" --token-file "$tmp/token" --timeout 2 --max-body 65536 --quiet
/usr/bin/python3 "$(dirname "$0")/serve_hostile.py" "$port" hostile-test-token "${HOSTILE_N:-1000}" ||
    fail "hostile requests (server log: $(tail -20 "$log"))"
kill -0 "$pid" || fail "the server died: $(tail -20 "$log")"
serve_stop TERM
if grep -qE 'ERROR: (Address|Leak|Undefined)Sanitizer|runtime error:' "$log"; then
    fail "sanitizer report: $(grep -A20 -E 'Sanitizer|runtime error' "$log" | head -40)"
fi
echo ok
