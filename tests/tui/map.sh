#!/bin/bash
# `m` shows the embedding map: PCA projections drawn in Braille, Item2Vec
# and LLM side by side, the selected item marked; m or Esc goes back.
. "$(dirname "$0")/tmux.inc"
prepare_db
start
wait_for '2000 items'
run_cmd 'similar I00980'
wait_for '^Query: similar I00980'
send m
wait_for '^Embedding map \(PCA to 2-D\) +selected: I[0-9]{5}' "map title with the selected item"
s=$(screen)
echo "$s" | grep -q 'Item2Vec: PCA of [0-9]* vectors (64-D)' || fail "Item2Vec map title"
echo "$s" | grep -qE '│LLM: ' || fail "LLM map side by side"
n=$(echo "$s" | grep -oP '[\x{2801}-\x{28FF}]' | wc -l)
[ "$n" -gt 100 ] || fail "only $n Braille cells"
echo "$s" | grep -q '◉' || fail "the selected item"
echo "$s" | grep -q '•' || fail "its neighbours"
# Down moves the selection in the panes; the map follows it
first=$(echo "$s" | grep -oE 'selected: I[0-9]{5}' | grep -oE 'I[0-9]{5}')
send Down
wait_gone "selected: $first"
wait_for 'selected: I[0-9]{5}' "a new selection"
echo "$s" | grep -qE '■ [a-z]' || fail "category legend"
send Escape
wait_for '^Query: similar I00980' "back to the panes"
quit_ok
echo ok
