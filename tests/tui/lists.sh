#!/bin/bash
# The panes use the window and follow the settings, at 80x24 and 140x45:
#  - a query without k= fills the rows the window has (and a resize refits);
#  - `set hybrid` / `set alpha` / `set i2v` run the last query again: the
#    pane titles and rows change, the status says so;
#  - the header, the Item2Vec pane and `info` show the Item2Vec scoring;
#  - the metrics table shows coverage and memory and names what the last
#    eval measured (all items, then complements: it once said
#    "leave-last-out" whatever the cases);
#  - the map's legend says how many categories it could not show, and its
#    key hints leave with it.
. "$(dirname "$0")/tmux.inc"
fx=$(cd "$(dirname "$0")/../fixtures" && pwd)
prepare_db --items 300 --sessions 3000
"${TUI_PREP:-$EMBEDLAB}" --db "$tmp/db" -c "encode text model=$fx/tiny-bert" >"$tmp/enc" 2>&1 ||
    { cat "$tmp/enc"; exit 1; }

# rows of the Item2Vec pane on the screen (at 80 columns it drops the rank)
rows_shown() { screen | grep -cE '^. +([0-9]+ )?I[0-9]{5} '; }

for size in "80 24" "140 45"; do
    set -- $size
    W=$1 H=$2
    restart "$W" "$H"
    wait_for '300 items'
    run_cmd 'set hybrid fill'
    wait_for 'hybrid = fill'
    run_cmd 'set i2v inout'
    wait_for 'i2v = inout'
    run_cmd 'similar I00010'
    wait_for 'similar I00010: 3 lists' "the lists at $size"
    # as many rows as fit: 11 at 80x24, 32 at 140x45 (3 header, query line,
    # titles, metrics 6, status, command line)
    rows=$((H - 3 - 2 - 6 - 1 - 1))
    [ "$(rows_shown)" = "$rows" ] || fail "$(rows_shown) rows, not $rows, at $size"
    screen | grep -qE '^Item2Vec IN·OUT: SGNS' || fail "header: Item2Vec's scoring"
    run_cmd 'set hybrid rrf'
    wait_for 'hybrid = rrf; `similar I00010` again: 3 lists' "the status says it ran again"
    [ "$W" -ge 140 ] && { screen | grep -qE '^.{40,}Hybrid \(rrf\)' || fail "Hybrid (rrf) title"; }
    run_cmd 'set hybrid blend'
    wait_for 'hybrid = blend; `similar I00010` again'
    [ "$W" -ge 140 ] && { screen | grep -q 'Hybrid (blend, alpha 0\.20)' || fail "blend title"; }
    run_cmd 'set alpha 1'
    wait_for 'alpha = 1; `similar I00010` again' "set alpha re-runs"
    [ "$W" -ge 140 ] && { screen | grep -q 'Hybrid (blend, alpha 1\.00)' || fail "alpha title"; }
    # alpha 1 is the text score alone: Hybrid's first row is LLM's first
    l1=$(screen | grep -oE '│. +([0-9]+ )?I[0-9]{5}[^│]*│' | head -1 | grep -oE 'I[0-9]{5}')
    h1=$(screen | grep -oE '│. +([0-9]+ )?I[0-9]{5}[^│]*$' | head -1 | grep -oE 'I[0-9]{5}')
    [ -n "$h1" ] && [ "$h1" = "$l1" ] || fail "alpha 1: Hybrid's first ($h1) is not LLM's ($l1)"
    run_cmd 'set i2v inin'
    wait_for '^Item2Vec IN·IN: SGNS' "header after set i2v inin"
    wait_for '^Item2Vec \(IN·' "the Item2Vec pane's title"
    run_cmd 'info'
    wait_for '^i2v +inin \(IN·IN, used alike' "info"
    send Escape
    run_cmd 'set i2v inout'
    wait_for 'i2v = inout'
    run_cmd 'eval users=50'
    wait_for '^Metrics  \(last eval: all items, leave-last-out, k 10\)' "metrics title"
    wait_for 'eval users=50: done in' "eval finished (live snapshots have no intervals)"
    wait_for '^method +P@10 +R@10 +NDCG@10 +MRR@10 +cover +mem MB' "metrics columns"
    screen | grep -qE '^Item2Vec +([0-9]\.[0-9]{3}±\.[0-9]{3}\*? +){4}[0-9]\.[0-9]{4} +[0-9]+\.[0-9]{2}' ||
        fail "coverage and memory figures"
    run_cmd 'eval --complements users=50'
    wait_for '^Metrics  \(last eval: complements, leave-last-out' "title after eval --complements"
    send m
    wait_for 'Embedding map' "the map"
    [ "$W" = 80 ] && { wait_for '… [0-9]+ more' "the legend says what it left out"; }
    wait_for '^map: ' "the map's key hints"
    send Escape
    wait_gone '^map: '
    quit_ok
done

# the lists grow with the window
restart 80 24
wait_for '300 items'
run_cmd 'similar I00010'
wait_for 'similar I00010: 3 lists'
[ "$(rows_shown)" = 11 ] || fail "$(rows_shown) rows at 80x24"
tmux resize-window -t "$S" -x 140 -y 45
wait_for '^. +32 I[0-9]{5} ' "the lists grew to 32 rows after the resize"
[ "$(rows_shown)" = 32 ] || fail "$(rows_shown) rows at 140x45"
quit_ok
echo ok
