#!/bin/bash
# The TUI starts on a database and its header names the data and the models.
. "$(dirname "$0")/tmux.inc"
prepare_db
start
wait_for '2000 items +8000 sessions' "header counts"
s=$(screen)
echo "$s" | grep -qE "^embedlab  $tmp/db" || fail "database path in the header"
echo "$s" | grep -q 'Item2Vec IN·OUT: SGNS, dim 64, window 5, 2 epochs; [0-9]* x 64' || fail "Item2Vec parameters"
echo "$s" | grep -q 'index none (exact scan)' || fail "index"
echo "$s" | grep -qE '^Text: .*hybrid [a-z]+, alpha [0-9.]+, k 10' || fail "Text line / hybrid settings"
echo "$s" | grep -qE '^Item2Vec +LLM +Hybrid' || fail "three pane titles"
echo "$s" | grep -q '^Metrics' || fail "metrics area"
quit_ok
# --max-frames ends the loop by itself (no key pressed)
rm -f "$tmp/exit"
launch "${S}f" 100 30 \
    "env TERM=xterm-256color LANG=C.UTF-8 $EMBEDLAB --tui --max-frames 3 --db $tmp/db; echo \$? >$tmp/exit; sleep 600"
end=$(($(date +%s%N) + WAIT * 1000000000))
while [ ! -s "$tmp/exit" ] && [ "$(date +%s%N)" -lt "$end" ]; do sleep 0.05; done
[ "$(cat "$tmp/exit" 2>/dev/null)" = 0 ] || fail "--max-frames 3 did not end with status 0"
# SIGTERM: the screen is restored (alternate screen left) and the status is 143
rm -f "$tmp/exit"
tmux kill-session -t "${S}f"
tmux kill-session -t "$S"
start
wait_for '2000 items'
shell=$(tmux display-message -p -t "$S" '#{pane_pid}')
pid=$(pgrep -P "$shell")   # env execs the binary, which may re-exec itself (OpenBLAS core)
[ -n "$pid" ] || fail "no embedlab process under the pane's shell $shell"
kill -TERM "$pid"
end=$(($(date +%s%N) + WAIT * 1000000000))
while [ ! -s "$tmp/exit" ] && [ "$(date +%s%N)" -lt "$end" ]; do sleep 0.05; done
[ "$(cat "$tmp/exit" 2>/dev/null)" = 143 ] || fail "SIGTERM: exit status $(cat "$tmp/exit" 2>/dev/null)"
wait_gone '2000 items'
echo ok
