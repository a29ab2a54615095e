#!/bin/bash
# `similar ITEM` fills the three panes side by side; Enter opens the detail.
. "$(dirname "$0")/tmux.inc"
prepare_db
text=0
if "${TUI_PREP:-$EMBEDLAB}" --db "$tmp/db" -c 'help encode text' >/dev/null 2>&1; then
    "${TUI_PREP:-$EMBEDLAB}" --db "$tmp/db" -c 'encode text' >"$tmp/enc.log" 2>&1 && text=1
fi
start
wait_for '2000 items'
run_cmd 'similar I00980'
wait_for '^Query: similar I00980' "the query line"
wait_for 'similar I00980: 3 lists in' "the status line"
s=$(screen)
echo "$s" | grep -qE '^Item2Vec +[0-9.]+ ms +LLM +[0-9.]+ ms +Hybrid \([a-z]+, alpha [0-9.]+\)' ||
    fail "pane titles with latencies"
# ten ranked rows in the Item2Vec pane (the first of three columns)
for r in 1 2 3 4 5 6 7 8 9 10; do
    echo "$s" | grep -qE "^. +$r I[0-9]{5} .* -?[0-9]+\.[0-9]{4}│" || fail "Item2Vec row $r"
done
# the Hybrid pane (third column) has its rows too
echo "$s" | grep -qE '│. +10 I[0-9]{5} [^│]* -?[0-9]+\.[0-9]{4} [ILB]$' || fail "Hybrid row 10 with its source"
if [ $text = 1 ]; then
    echo "$s" | grep -qE '│. +10 I[0-9]{5} [^│]* -?[0-9]+\.[0-9]{4}│' || fail "LLM row 10"
else
    echo "$s" | grep -q '│no text vectors' || fail "LLM pane explains why it is empty"
fi
# agreement marks: Hybrid blends Item2Vec in, so some items are in two lists
echo "$s" | grep -qE '^[◇◆] ' || fail "agreement marks"
# Down twice, Enter: the detail of the third item of the focused pane
third=$(echo "$s" | grep -oE '^. +3 I[0-9]{5}' | grep -oE 'I[0-9]{5}')
send Down Down Enter
wait_for "^$third  " "detail of $third"
wait_for '^category ' "category in the detail"
wait_for 'times it occurs in sessions' "sessions count"
wait_for '^Neighbours in each model' "neighbours"
send Escape
wait_for '^Query: similar I00980' "back to the panes"
# a mouse click (SGR 1006 report) on screen line 8, column 90: Hybrid's rank 3
hyb3=$(screen | grep -oE '│. +3 I[0-9]{5}[^│]*$' | grep -oE 'I[0-9]{5}')
send -l $'\e[<0;90;8M\e[<0;90;8m'
send Enter
wait_for "^$hyb3  " "detail of the clicked Hybrid row ($hyb3)"
send Escape
quit_ok
echo ok
