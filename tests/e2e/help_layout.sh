#!/bin/bash
# help reads like man or git: each usage line, then its description
# indented four and word-wrapped to the terminal's width (80 in a pipe);
# nothing cut: whole help texts and summaries (`set`'s "alpha in 0..1",
# `gen demo`'s "data/demo/README.md"), every option with its help.
set -u
app=${EMBEDLAB:?}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
export LANG=C.UTF-8 LC_ALL=C.UTF-8   # wc -L counts characters

"$app" --db :memory: -c help >"$tmp/h" || fail "help"
[ "$(wc -L <"$tmp/h")" -le 80 ] || fail "help is wider than 80 in a pipe: $(wc -L <"$tmp/h")"
grep -q ' $' "$tmp/h" && fail "padded lines: $(grep -n ' $' "$tmp/h" | head -3)"
grep -A1 '^set k|alpha' "$tmp/h" | grep -q '^    Change a setting' || fail "layout: $(head -20 "$tmp/h")"
tr '\n' ' ' <"$tmp/h" | grep -q 'alpha in 0\.\.1; history' || fail "set's summary cut at 0."
tr '\n' ' ' <"$tmp/h" | grep -q 'data/demo/README\.md) into the' || fail "gen demo's summary cut"
n=$(grep -c '^[a-z]' "$tmp/h")
[ "$n" -ge 25 ] || fail "only $n commands listed"

"$app" --db :memory: -c 'help train item2vec' >"$tmp/t" || fail "help train item2vec"
[ "$(wc -L <"$tmp/t")" -le 80 ] || fail "help train item2vec wider than 80"
grep -q '^usage: train item2vec \[dim=64\]' "$tmp/t" || fail "no usage line: $(head -3 "$tmp/t")"
tr '\n' ' ' <"$tmp/t" | tr -s ' ' | grep -q 'Without --update: a full retraining\.' ||
    fail "description cut: $(cat "$tmp/t")"
grep -qE '^    ns_exponent=0\.75 +noise distribution' "$tmp/t" || fail "options: $(cat "$tmp/t")"
grep -qE '^    --update +continue the stored model' "$tmp/t" || fail "--update: $(cat "$tmp/t")"

# at a terminal: its width (a pty 60 columns wide)
if command -v script >/dev/null; then
    script -qec "stty cols 60; $app --db :memory: -c 'help train item2vec'" /dev/null |
        tr -d '\r' >"$tmp/p"
    w=$(wc -L <"$tmp/p")
    [ "$w" -le 60 ] && [ "$w" -ge 50 ] || fail "not wrapped to the terminal's 60: $w"
fi

# --json: the same help as data
"$app" --db :memory: --json -c 'help similar' >"$tmp/j" || fail "help --json"
grep -q '"kind":"help"' "$tmp/j" && grep -q '"option":"k=10"' "$tmp/j" || fail "json: $(cat "$tmp/j")"
echo ok
