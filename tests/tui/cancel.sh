#!/bin/bash
# A long job runs on the worker thread with a progress bar; other commands
# are refused meanwhile; Esc cancels it, the screen stays up and the
# previous model is kept.
. "$(dirname "$0")/tmux.inc"
prepare_db
start
wait_for '2 epochs; [0-9]* x 64'
run_cmd 'train item2vec epochs=2000'
wait_for '^train .*\[.*\] +[0-9]+% +[0-9]+ tokens/s .*ETA .*Esc cancels' "progress bar"
run_cmd 'similar I00980'
wait_for 'busy: `train item2vec epochs=2000` is running' "refusal while busy"
send Escape
wait_for 'training cancelled: the previous model is kept' "cancelled message"
s=$(screen)
echo "$s" | grep -q 'Item2Vec IN·OUT: SGNS, dim 64, window 5, 2 epochs; [0-9]* x 64' || fail "old model in header"
# the lab is usable again
run_cmd 'similar I00980'
wait_for 'similar I00980: 3 lists' "query after the cancel"
# q while a job runs asks first
run_cmd 'train item2vec epochs=2000'
wait_for 'Esc cancels' "second job"
send q
wait_for 'press q again to cancel it and quit' "quit confirmation"
send x
wait_for 'still running' "stayed"
send C-c
wait_for 'training cancelled' "Ctrl-C cancels too"
quit_ok
echo ok
