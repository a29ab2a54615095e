#!/bin/bash
# tune (validation split, budget, record, eval --tuned; the baselines' grids)
# and fuse (stored fused vectors, indexed by inner product, exported) end to
# end on small generated data.
set -u
app=${EMBEDLAB:?}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
run() { "$app" --db "$tmp/db" --no-timing "$@"; }

run -c 'gen demo --items 200 --sessions 1500' -c 'train item2vec epochs=5' -c 'encode text' \
    >/dev/null || fail "prepare"
# fused vectors: counts, inner-product index, export
out=$(run -c 'fuse text item2vec alpha=0.3' -c 'index build fused flat' \
      -c "export vectors fused $tmp/f.csv") || fail "fuse: $out"
grep -q 'the inner product is 0.30 cos_text + 0.70 cos_item2vec' <<<"$out" || fail "fuse note: $out"
grep -qE '^[0-9]+ items have both parts; [0-9]+ only text, 0 only item2vec' <<<"$out" ||
    fail "fuse counts: $out"
grep -q 'flat ip over' <<<"$out" || fail "fused index is not inner product: $out"
[ "$(head -1 "$tmp/f.csv" | tr ',' '\n' | wc -l)" -gt 100 ] || fail "export width"
run -c 'fuse text item2vec alpha=2' >/dev/null 2>&1 && fail "alpha=2 accepted"
run -c 'fuse text nosuch' >/dev/null 2>&1 && fail "a missing model accepted"

# tune: a budget of 3 trials, the record, then eval --tuned has the rows
out=$(run -c 'tune item2vec trials=3 users=120 threads=1') || fail "tune item2vec: $out"
[ "$(grep -cE '^ +[0-2] ' <<<"$out")" = 3 ] || fail "3 trials: $out"
[ "$(grep -cE '\*$' <<<"$out")" = 1 ] || fail "one best trial: $out"
grep -q "second-to-last item is the target" <<<"$out" || fail "validation note: $out"
out=$(run -c 'tune item2vec trials=50 time=0.001 users=120 threads=1') || fail "time budget"
grep -q 'stopped by time=' <<<"$out" || fail "time= did not stop the search: $out"
run -c 'tune hybrid users=120 threads=1' -c 'tune fused users=120 threads=1' >"$tmp/t" ||
    fail "tune hybrid/fused: $(cat "$tmp/t")"
grep -qE '^alpha +rerank +blend +rrf +fill' "$tmp/t" || fail "hybrid grid: $(cat "$tmp/t")"
# the baselines' grids: 36 + 36 + 9 rows, one best per kind
out=$(run -c 'tune baselines users=120 threads=1') || fail "tune baselines: $out"
[ "$(grep -cE '^(knn|transition|ease) ' <<<"$out")" = 81 ] || fail "81 grid rows: $out"
[ "$(grep -cE '\*$' <<<"$out")" = 3 ] || fail "one best per kind: $out"
grep -qE '^knn: [0-9]+ neighbours, scored from (the last [0-9]+ history items?|the whole history) \(validation R@10 ' <<<"$out" ||
    fail "knn note: $out"
out=$(run -c 'tune ease users=120') || fail "tune ease: $out"
[ "$(grep -cE '^ease ' <<<"$out")" = 9 ] || fail "tune ease: 9 rows: $out"
run -c 'tune nosuch' >/dev/null 2>&1 && fail "tune nosuch accepted"
out=$(run -c 'tune show')
for w in item2vec hybrid fused knn transition ease; do
    grep -q "^$w: " <<<"$out" || fail "tune show $w: $out"
done
out=$(run --csv -c 'eval --tuned users=120 boot=200 threads=1') || fail "eval --tuned: $out"
for r in 'Item2Vec (tuned)' 'Hybrid (tuned: ' 'Fused (tuned, alpha ' 'item-kNN (tuned)' \
         'Transition (tuned)' 'EASE (tuned)'; do
    grep -qF "$r" <<<"$out" || fail "eval --tuned row $r: $out"
done
"$app" --db "$tmp/db2" -c 'gen demo --items 100 --sessions 300' -c 'eval --tuned' \
    >/dev/null 2>"$tmp/err" && fail "eval --tuned without tuning"
grep -q 'nothing tuned yet' "$tmp/err" || fail "eval --tuned message: $(cat "$tmp/err")"
echo ok
