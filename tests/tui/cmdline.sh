#!/bin/bash
# The command line: readline editing, tab completion of commands,
# parameters and item ids, persistent history in $XDG_STATE_HOME.
. "$(dirname "$0")/tmux.inc"
prepare_db
start
wait_for '2000 items'
send /
send -l 'simi'
send Tab
wait_for '^embedlab> similar ?$' "command completed"
send -l 'I0098'
send Tab Tab
wait_for '^10 matches: I00980 I00981' "item id candidates on the status line"
send -l '0'
send Enter
wait_for '^Query: similar I00980' "completed command ran"
run_cmd 'train item2vec ep'
# Enter ran `train item2vec ep` literally: a usage error, shown, lab unchanged
wait_for 'error: ' "error on the status line"
send /
send -l 'train item2vec ep'
send Tab
wait_for '^embedlab> train item2vec epochs=$' "parameter completed"
# editing: Home, a typo fix, Ctrl-U clears
send C-u
send -l 'xshow I00001'
send Home Delete Enter
wait_for '^show I00001 ' "edited line ran (text view)"
send Escape
# history: Up recalls the last line, and it is in the history file
send / Up
wait_for '^embedlab> show I00001$' "Up recalls history"
send Escape
grep -qx 'similar I00980' "$tmp/state/embedlab/history" || fail "history file: $(cat "$tmp/state/embedlab/history")"
quit_ok
echo ok
