#!/bin/bash
# Chinese titles (two columns per character) line up: every pane separator
# sits at the same display column on every row.
. "$(dirname "$0")/tmux.inc"
prepare_db --lang zh
start
wait_for '2000 items'
run_cmd 'similar I00980'
wait_for '^Query: similar I00980'
s=$(screen)
echo "$s" | grep -qP '\p{Han}' || fail "no Chinese text on screen"
rows=0
while IFS= read -r line; do
    case "$line" in *│*│*) ;; *) continue ;; esac
    a=${line%%│*}
    rest=${line#*│}
    b=${rest%%│*}
    wa=$(printf '%s' "$a" | wc -L)
    wb=$(printf '%s' "$b" | wc -L)
    [ "$wa" = 39 ] && [ "$wb" = 39 ] || fail "misaligned ($wa, $wb): $line"
    rows=$((rows + 1))
done <<<"$s"
[ "$rows" -ge 10 ] || fail "only $rows pane rows"
# the full screen width is never exceeded
w=$(echo "$s" | wc -L)
[ "$w" -le 120 ] || fail "a line is $w columns wide"
quit_ok
echo ok
