#!/bin/bash
# The terminal going away (the tmux session killed: SIGHUP) ends the TUI
# promptly, also while a job runs on the worker thread: no process is left
# spinning on a dead terminal (tmux.inc's check at the end covers the rest
# of the process group).
. "$(dirname "$0")/tmux.inc"
prepare_db
start
wait_for '2000 items'
shell=$(tmux display-message -p -t "$S" '#{pane_pid}')
pid=$(pgrep -P "$shell")
[ -n "$pid" ] || fail "no embedlab process under the pane's shell $shell"
run_cmd 'train item2vec epochs=2000'
wait_for 'Esc cancels' "the job's progress bar"
tmux kill-session -t "$S"
end=$(($(date +%s%N) + WAIT * 1000000000))
while kill -0 "$pid" 2>/dev/null && [ "$(date +%s%N)" -lt "$end" ]; do sleep 0.05; done
if kill -0 "$pid" 2>/dev/null; then
    ps -o pid,ppid,stat,pcpu,etime,args -p "$pid"
    echo "FAIL: embedlab still runs ${WAIT}s after its terminal hung up"
    exit 1
fi
echo ok
