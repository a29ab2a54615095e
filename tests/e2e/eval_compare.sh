#!/bin/bash
# eval and compare end to end on generated data: the tables have every row
# and column, compare --json parses, the held-out items stay out of training,
# and each method wins the case it is built for.
set -u
app=${EMBEDLAB:?}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

"$app" --db "$tmp/db" -c 'gen demo --items 400 --sessions 3000' -c 'train item2vec epochs=10' \
    -c 'encode text' >/dev/null || fail "prepare"
"$app" --db "$tmp/db" --json -c 'compare users=300' >"$tmp/c.json" || fail "compare"
if [ -x /usr/bin/python3 ]; then
/usr/bin/python3 - "$tmp/c.json" <<'PY' || fail "compare --json"
import json, sys
res = json.loads(open(sys.argv[1]).read())
assert res["ok"], res
t = [t for t in res["tables"] if t.get("kind") == "compare"][0]
assert t["columns"] == ["model", "Precision@10", "Recall@50", "latency (ms)", "memory (MB)"], t["columns"]
names = [r["model"] for r in t["rows"]]
assert names == ["Item2Vec", "LLM + flat", "LLM + IVF (nprobe 32)", "LLM + IVF (nprobe 64)",
                 "Hybrid (rerank)", "Hybrid (blend)", "Hybrid (rrf)", "Hybrid (fill)",
                 "Popularity"], names
for r in t["rows"]:
    for c in t["columns"][1:]:
        assert isinstance(r[c], (int, float)), (r, c)
assert any("no leakage" in n for n in t["notes"]), t["notes"]
PY
fi
# cold start: only text can answer; Item2Vec scores nothing there
out=$("$app" --db "$tmp/db" --csv -c 'eval --cold') || fail "eval --cold"
i2v=$(grep '^Item2Vec,' <<<"$out" | cut -d, -f3); llm=$(grep '^LLM,' <<<"$out" | cut -d, -f3)
[ "$i2v" = "0.0000" ] || fail "Item2Vec answered cold start: $out"
awk -v l="$llm" 'BEGIN { exit !(l > 0) }' || fail "LLM got no cold-start hit: $out"
# complements: behaviour beats text
out=$("$app" --db "$tmp/db" --csv -c 'eval --complements') || fail "eval --complements"
i2v=$(grep '^Item2Vec,' <<<"$out" | cut -d, -f3); llm=$(grep '^LLM,' <<<"$out" | cut -d, -f3)
awk -v a="$i2v" -v b="$llm" 'BEGIN { exit !(a > b) }' || fail "complements: Item2Vec $i2v <= LLM $llm"
# a bad option is an error, not a run
"$app" --db "$tmp/db" -c 'eval k=0' >/dev/null 2>&1 && fail "k=0 accepted"
echo ok
