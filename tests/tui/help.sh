#!/bin/bash
# Help in the TUI is a scrollable view wrapped to the window like a man
# page (`?` and `help COMMAND`), never cut with "…" or pushed off the
# screen; a resize wraps it again.  At 80x24 and 140x45.
. "$(dirname "$0")/tmux.inc"

# page_until REGEX: PgDn until REGEX is on the screen (at most 30 pages)
page_until() {
    for _ in $(seq 30); do
        screen | grep -qE -- "$1" && return 0
        send NPage
        sleep 0.1
    done
    wait_for "$1"
}

no_cut() {   # no line of the text view ends in "…" (put_fit's mark of a cut)
    screen | sed -n '4,$p' | head -n -2 | grep -q '…$' && fail "a help line is cut: $1"
    return 0
}

for size in "80 24" "140 45"; do
    set -- $size
    W=$1
    restart "$1" "$2"
    wait_for 'press / to type a command'
    send '?'
    wait_for '^keys:' "the keys heading"
    wait_for '^  /  or  : +command line \(readline' "a key and its description"
    no_cut "? at ${W}"
    page_until '^set k\|alpha'
    screen | grep -A1 '^set k|alpha' | grep -qE '^    Change a setting for the following' ||
        fail "set's description is not under its usage at $W"
    no_cut "commands at ${W}"
    send Escape
    run_cmd 'help train item2vec'
    wait_for '^usage: train item2vec \[dim=64\]' "help train item2vec at $W"
    [ "$W" = 80 ] && { screen | grep -qE '^ {22}\[ns_exponent=0\.75\]' || fail "usage not wrapped"; }
    page_until 'a full retraining\.'
    page_until '^    --update +continue the stored model on the sessions added since'
    no_cut "help train item2vec at $W"
    if [ "$W" = 80 ]; then   # wider window: the same help wraps to it
        n80=$(screen | grep -oE '; [0-9]+ lines\)' | grep -oE '[0-9]+')
        tmux resize-window -t "$S" -x 140 -y 45
        wait_gone "; $n80 lines\\)"   # fewer, longer lines
        for _ in 1 2 3; do send PPage; done
        wait_for '^ {4}.{90,}' "lines as wide as the window"
    fi
    quit_ok
done
echo ok
