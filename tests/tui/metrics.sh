#!/bin/bash
# `eval users=100` runs as a job and fills the metrics table (the baselines
# among its rows); the `similar` latencies before it appear as sparklines
# next to their methods.
. "$(dirname "$0")/tmux.inc"
prepare_db
start
wait_for '2000 items'
run_cmd 'similar I00980'
wait_for 'similar I00980: 3 lists'
run_cmd 'similar I00055'
wait_for 'similar I00055: 3 lists'
s=$(screen)
echo "$s" | grep -qE '^Item2Vec +(- +){8} [▁▂▃▄▅▆▇█]{2} [0-9.]+ ms' || fail "Item2Vec sparkline of 2 queries"
echo "$s" | grep -q 'appear after `eval`' || fail "the hint before eval"
run_cmd 'eval users=100'
wait_for '^Metrics  \(last eval' "metrics title after eval"
wait_for 'eval users=100: done in' "eval finished (live snapshots have no intervals yet)"
s=$(screen)
echo "$s" | grep -qE '^method +P@10 +R@10 +NDCG@10 +MRR@10 +cover +mem MB +p50 ms +p95 ms' || fail "column header"
f='[0-9]\.[0-9]{3}±\.[0-9]{3}\*?'   # a figure and half its 95% interval
for m in 'Item2Vec' 'Hybrid \([a-z]+\)' 'Popularity' 'item-kNN' 'Transition' 'EASE'; do
    echo "$s" | grep -qE "^$m +$f +$f +$f +$f" || fail "metrics row $m"
done
# this database has no text vectors: the LLM row says so instead of scoring 0
echo "$s" | grep -qE "^LLM +- +- +- +- " || fail "metrics row LLM without text vectors"
echo "$s" | grep -qE 'eval users=100: done in' || fail "status after eval"
quit_ok
echo ok
