#!/bin/bash
# `load sessions` of a big file shows its bar moving: the total is
# estimated from the bytes read (it once stayed at 0% for 790k rows).
. "$(dirname "$0")/tmux.inc"
"${TUI_PREP:-$EMBEDLAB}" --db "$tmp/db" -c 'gen demo --items 2000 --sessions 10' >/dev/null ||
    fail "gen demo"
# 400,000 events over the demo's items, ~9 MB
awk 'BEGIN { print "session_id,item_id,timestamp"
             for (i = 0; i < 400000; i++)
                 printf "b%d,I%05d,%d\n", int(i / 8), 1 + (i * 7919) % 2000, i }' >"$tmp/big.csv"
start 80 24
wait_for '2000 items'
run_cmd "load sessions $tmp/big.csv"
wait_for '^import sessions .*\] +([1-9]|[1-9][0-9])%  [0-9]+ rows/s' "the bar between 1% and 99%"
WAIT=$((WAIT * 3)) wait_for 'big\.csv \(csv\): 400000 rows' "the end of the import"
wait_for '2000 items +50010 sessions' "the sessions in the header"
quit_ok
echo ok
