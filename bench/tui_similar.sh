#!/bin/bash
# bench/tui_similar.sh [N] - the TUI's `similar` response time on the demo
# data: N queries, each timed inside the TUI loop from submit (what Enter
# does) to the frame written to the terminal (doupdate), i.e. cmd_exec with
# all three recommenders + the view model + the curses paint.  Runs
# bench_tui (the TUI's own objects, bench/bench_tui.c) in a 120x40 tmux
# window (curses needs a terminal).
# Needs: tmux, EMBEDLAB or build/release/embedlab, and BENCH_TUI or
# build/release/bench/bench_tui (make bench builds it).
set -u
N=${1:-500}
APP=${EMBEDLAB:-$PWD/build/release/embedlab}
BENCH_TUI=${BENCH_TUI:-$(dirname "$APP")/bench/bench_tui}
command -v tmux >/dev/null || { echo "tmux not installed"; exit 77; }
tmp=$(mktemp -d)
export TMUX_TMPDIR=$tmp
trap 'tmux kill-server 2>/dev/null; rm -rf "$tmp"' EXIT
"$APP" --db "$tmp/db" -c 'gen demo' -c 'train item2vec' >"$tmp/prep.log" 2>&1 || { cat "$tmp/prep.log"; exit 1; }
if "$APP" --db "$tmp/db" -c 'help encode text' >/dev/null 2>&1; then
    "$APP" --db "$tmp/db" -c 'encode text' >>"$tmp/prep.log" 2>&1 && echo "text vectors: encoded"
else
    echo "text vectors: none (no \`encode text\` in this build; the LLM pane is empty)"
fi
tmux new-session -d -x 120 -y 40 -s b \
    "env TERM=xterm-256color LANG=C.UTF-8 $BENCH_TUI $tmp/db $N 2>$tmp/out; echo \$? >$tmp/exit"
for _ in $(seq 1200); do [ -s "$tmp/exit" ] && break; sleep 0.1; done
cat "$tmp/out"
[ "$(cat "$tmp/exit" 2>/dev/null)" = 0 ]
