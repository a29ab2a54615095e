#!/bin/bash
# The TUI starts on a database and its header names the data and the models.
. "$(dirname "$0")/tmux.inc"
prepare_db
start
wait_for '2000 items +8000 sessions' "header counts"
s=$(screen)
echo "$s" | grep -qE "^embedlab  $tmp/db" || fail "database path in the header"
echo "$s" | grep -q 'Item2Vec: SGNS, dim 64, window 5, 2 epochs; [0-9]* x 64' || fail "Item2Vec parameters"
echo "$s" | grep -q 'index none (exact scan)' || fail "index"
echo "$s" | grep -qE '^LLM: .*hybrid [a-z]+, alpha [0-9.]+, k 10' || fail "LLM line / hybrid settings"
echo "$s" | grep -qE '^Item2Vec +LLM +Hybrid' || fail "three pane titles"
echo "$s" | grep -q '^Metrics' || fail "metrics area"
quit_ok
echo ok
