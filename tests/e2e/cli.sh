#!/bin/bash
# The command line: -c, --json, --help/--version, exit codes, scripts, stdin.
set -u
app=${EMBEDLAB:?}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

out=$("$app" --db :memory: -c 'gen demo' -c info) || fail "gen demo + info exited $?"
grep -q '^items  *2000$' <<<"$out" || fail "info does not show 2000 items: $out"
grep -q '^events  *[0-9]' <<<"$out" || fail "info has no event count"

"$app" --db :memory: -c 'show NOPE' >/dev/null 2>"$tmp/err" && fail "-c with an error exited 0"
grep -q "unknown item 'NOPE'" "$tmp/err" || fail "no error message: $(cat "$tmp/err")"

"$app" --help | grep -q -- '--db FILE' || fail "--help"
"$app" --version | grep -q '^embedlab [0-9]' || fail "--version"
"$app" --bogus 2>/dev/null; [ $? -eq 2 ] || fail "unknown option must exit 2"

# JSON: one object per command, parseable, with rows
"$app" --db :memory: --json -c 'gen demo --items 60 --sessions 50' -c 'items limit=2' >"$tmp/j" \
    || fail "json run"
[ "$(wc -l <"$tmp/j")" -eq 2 ] || fail "expected 2 JSON lines"
if command -v /usr/bin/python3 >/dev/null; then
    /usr/bin/python3 -c '
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
assert lines[1]["ok"] and lines[1]["tables"][0]["rows"][0]["id"], lines
' "$tmp/j" || fail "JSON does not parse"
fi
"$app" --db :memory: --json -c 'show X' >"$tmp/j2"
grep -q '"ok":false' "$tmp/j2" || fail "JSON error object"

# A script file and stdin batch mode; --strict stops at the first error
printf 'gen demo --items 60 --sessions 20\nshow NOPE\ninfo\n' >"$tmp/s.cmd"
"$app" --db :memory: "$tmp/s.cmd" >"$tmp/o" 2>&1; [ $? -eq 1 ] || fail "script with an error must exit 1"
grep -q '^items' "$tmp/o" || fail "script continued after the error without --strict"
"$app" --db :memory: --strict --batch <"$tmp/s.cmd" >"$tmp/o" 2>&1
grep -q '^items' "$tmp/o" && fail "--strict did not stop"

# A file database persists between runs
"$app" --db "$tmp/x.db" -c 'gen demo --items 60 --sessions 20' >/dev/null || fail "file db"
"$app" --db "$tmp/x.db" -c info | grep -q '^items  *60$' || fail "file db did not persist"
echo ok
