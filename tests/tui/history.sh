#!/bin/bash
# Command history is kept even when its folder's parents are missing: the
# default ~/.local/state/embedlab on a home without .local, and an
# $XDG_STATE_HOME that does not exist yet.
. "$(dirname "$0")/tmux.inc"
mkdir -p "$tmp/home"
TUI_ENV="XDG_STATE_HOME= HOME=$tmp/home" start 80 24
wait_for 'press / to type a command'
run_cmd 'info'
wait_for '^database ' "info"
send Escape
quit_ok
grep -qx 'info' "$tmp/home/.local/state/embedlab/history" 2>/dev/null ||
    fail "no history in $tmp/home/.local/state/embedlab: $(find "$tmp/home" | head)"
TUI_ENV="XDG_STATE_HOME=$tmp/not/yet/there" restart 140 45
wait_for 'press / to type a command'
run_cmd 'models'
wait_for 'no models yet' "models"
send Escape
quit_ok
grep -qx 'models' "$tmp/not/yet/there/embedlab/history" 2>/dev/null ||
    fail "no history under a new \$XDG_STATE_HOME"
# and the history is read back: Up brings the last command
TUI_ENV="XDG_STATE_HOME=$tmp/not/yet/there" restart 80 24
wait_for 'press / to type a command'
send / Up
wait_for '^embedlab> models' "the last command from the history"
send Escape
quit_ok
echo ok
