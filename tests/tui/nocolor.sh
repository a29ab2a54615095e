#!/bin/bash
# Colours by default on a 256-colour terminal; none with NO_COLOR set
# (https://no-color.org/), where roles fall back to bold/reverse.
. "$(dirname "$0")/tmux.inc"
prepare_db
start
wait_for '2000 items'
tmux capture-pane -p -e -t "$S" | grep -qE $'\e\\[(3[0-7]|4[0-7]|38;5;[0-9]+)m' || fail "no colour by default"
quit_ok
TUI_ENV=NO_COLOR=1 restart
wait_for '2000 items'
run_cmd 'similar I00980'
wait_for '^Query: similar I00980'
wait_for 'similar I00980: 3 lists'   # the whole frame of the answer is drawn
e=$(tmux capture-pane -p -e -t "$S")
echo "$e" | grep -qE $'\e\\[(3[0-7]|4[0-7]|38;5;[0-9]+|48;5;[0-9]+)m' && fail "colour despite NO_COLOR"
echo "$e" | grep -qE $'\e\\[7m' || fail "no reverse video for the header/selection"
quit_ok
echo ok
