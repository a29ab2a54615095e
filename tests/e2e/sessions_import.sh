#!/bin/bash
# Sessions are never doubled: the same file again is refused, and so is a
# file whose every event is stored already (same session, item, time);
# some such events are skipped and counted; --append forces.  "lines" files
# number their sessions on, never merging with an earlier file's.
# --add-items: Item2Vec from click logs alone (no catalog).
set -u
app=${EMBEDLAB:?}
ex=$(cd "$(dirname "$0")/../../data/examples" && pwd)
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
db=$tmp/db
run() { "$app" --db "$db" --no-timing "$@"; }
events() { run -c info | awk '$1 == "events" {print $2}'; }

run -c "load catalog $ex/catalog.csv" -c "load sessions $ex/sessions.csv" >/dev/null || fail "load"
n=$(events)
run -c "load sessions $ex/sessions.csv" >"$tmp/o" 2>&1 && fail "a second load was accepted"
grep -q 'imported already.*--append' "$tmp/o" || fail "no clear message: $(cat "$tmp/o")"
[ "$(events)" = "$n" ] || fail "events changed from $n to $(events)"
run -c sessions | grep -qE '^S1 +U1 +3 +P100 P203 P501$' || fail "S1 changed: $(run -c sessions)"

# the same events in another file (rows reordered, CRLF): refused as well
{ head -1 "$ex/sessions.csv"; tail -n +2 "$ex/sessions.csv" | tac; } | sed 's/$/\r/' >"$tmp/again.csv"
run -c "load sessions $tmp/again.csv" >"$tmp/o" 2>&1 && fail "the same events were accepted"
grep -q "all $n events are stored already" "$tmp/o" || fail "message: $(cat "$tmp/o")"
[ "$(events)" = "$n" ] || fail "events changed"

# a log exported again with one new row: that row in, the others counted
{ cat "$ex/sessions.csv"; echo "S4,P305,1704300000,U4"; } >"$tmp/more.csv"
run --json -c "load sessions $tmp/more.csv" >"$tmp/j" || fail "partial overlap refused"
grep -q '"events":1,' "$tmp/j" && grep -q "\"duplicates\":$n" "$tmp/j" ||
    fail "fields: $(cat "$tmp/j")"
grep -q "$n events were stored already" "$tmp/j" || fail "not said what was skipped"
[ "$(events)" = $((n + 1)) ] || fail "events: $(events)"

# --append really appends
run -c "load sessions $ex/sessions.csv --append" >/dev/null || fail "--append refused"
[ "$(events)" = $((2 * n + 1)) ] || fail "--append: $(events) events"

# one session per line: numbered on after an earlier lines file, never merged
db=$tmp/lines
printf 'P100 P203\nP501 P305\n' >"$tmp/b.txt"
run -c "load catalog $ex/catalog.csv" -c "load sessions $ex/sessions.txt" >/dev/null || fail "lines"
run -c "load sessions $ex/sessions.txt" >"$tmp/o" 2>&1 && fail "lines file loaded twice"
run -c "load sessions $tmp/b.txt" >"$tmp/o" || fail "second lines file: $(cat "$tmp/o")"
grep -q 'numbered from 4' "$tmp/o" || fail "numbering not said: $(cat "$tmp/o")"
run -c sessions >"$tmp/s"
grep -qE '^1 +3 +P100 P203 P501$' "$tmp/s" && grep -qE '^4 +2 +P100 P203$' "$tmp/s" ||
    fail "sessions: $(cat "$tmp/s")"

# click logs alone: --add-items creates bare items and says how many
db=$tmp/logs
run -c "load sessions $ex/sessions.txt" >"$tmp/o" 2>&1 && fail "unknown ids accepted"
grep -q -- '--add-items' "$tmp/o" || fail "no hint at --add-items: $(cat "$tmp/o")"
run --json -c "load sessions $ex/sessions.txt --add-items" >"$tmp/j" || fail "--add-items"
grep -q '"items":4,' "$tmp/j" && grep -q '4 unknown item ids became items' "$tmp/j" ||
    fail "--add-items report: $(cat "$tmp/j")"
run -c 'show P305' | grep -qE '^title +P305$' || fail "bare item: $(run -c 'show P305')"
run -c 'train item2vec epochs=5' -c 'similar P100 k=3' >"$tmp/o" || fail "train on logs: $(cat "$tmp/o")"
grep -A4 '^Item2Vec' "$tmp/o" | grep -qE '^1 +P[0-9]{3} ' || fail "no Item2Vec list: $(cat "$tmp/o")"
echo ok
