#!/bin/bash
# Resizing at any moment: 80x24 still shows everything, below it a clear
# message, and back to 120x40 the panes return.
. "$(dirname "$0")/tmux.inc"
prepare_db
start
wait_for '2000 items'
run_cmd 'similar I00980'
wait_for '^Query: similar I00980'
tmux resize-window -t "$S" -x 80 -y 24
wait_for '^Item2Vec +[0-9.]+ ms LLM' "panes at 80 columns"
s=$(screen)
[ "$(echo "$s" | wc -l)" -le 24 ] || fail "more than 24 lines"
# 26-column panes drop the rank: mark, id, title, score; the lists fill the
# 11 rows left (3 header, query line, titles, metrics 6, status, command line)
n=$(echo "$s" | grep -cE '^. I[0-9]{5} [^│]+ -?[0-9]+\.[0-9]{4}│')
[ "$n" = 11 ] || fail "$n rows instead of 11 at 80x24"
echo "$s" | grep -q '^Metrics' || fail "metrics at 80x24"
echo "$s" | grep -q '^embedlab  ' || fail "header at 80x24"
tmux resize-window -t "$S" -x 70 -y 20
wait_for 'terminal too small: 70x20' "the too-small message"
wait_for 'needs at least 80x24'
tmux resize-window -t "$S" -x 120 -y 40
wait_for '^Query: similar I00980' "panes back at 120x40"
wait_for '^Item2Vec +[0-9.]+ ms +LLM'
quit_ok
echo ok
