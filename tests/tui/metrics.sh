#!/bin/bash
# `eval users=100` runs as a job and fills the metrics table; the `similar`
# latencies before it appear as sparklines next to their methods.
. "$(dirname "$0")/tmux.inc"
prepare_db
start
wait_for '2000 items'
run_cmd 'similar I00980'
wait_for 'similar I00980: 3 lists'
run_cmd 'similar I00055'
wait_for 'similar I00055: 3 lists'
s=$(screen)
echo "$s" | grep -qE '^Item2Vec +(- +){6} [▁▂▃▄▅▆▇█]{2} [0-9.]+ ms' || fail "Item2Vec sparkline of 2 queries"
echo "$s" | grep -q 'appear after `eval`' || fail "the hint before eval"
run_cmd 'eval users=100'
wait_for '^Metrics  \(last eval' "metrics title after eval"
s=$(screen)
echo "$s" | grep -qE '^method +P@k +R@k +NDCG@k +MRR +p50 ms +p95 ms' || fail "column header"
for m in 'Item2Vec' 'LLM' 'Hybrid \([a-z]+\)' 'Popularity'; do
    echo "$s" | grep -qE "^$m +[0-9]\.[0-9]{4} +[0-9]\.[0-9]{4} +[0-9]\.[0-9]{4} +[0-9]\.[0-9]{4}" ||
        fail "metrics row $m"
done
echo "$s" | grep -qE 'eval users=100: done in' || fail "status after eval"
quit_ok
echo ok
