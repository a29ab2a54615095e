#!/bin/bash
# eval and compare end to end on generated data: the tables have every row
# (the baselines too) and column, compare --json parses, the held-out items
# stay out of training, and each method wins the case it is built for.
set -u
app=${EMBEDLAB:?}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

"$app" --db "$tmp/db" -c 'gen demo --items 400 --sessions 3000' -c 'train item2vec epochs=10' \
    -c 'encode text' >/dev/null || fail "prepare"
"$app" --db "$tmp/db" --json -c 'compare users=300 threads=1' -c 'eval users=300 threads=1' \
    >"$tmp/c.json" || fail "compare"
if [ -x /usr/bin/python3 ]; then
/usr/bin/python3 - "$tmp/c.json" <<'PY' || fail "compare --json"
import json, sys
res = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
assert all(r["ok"] for r in res), res
t = [t for t in res[0]["tables"] if t.get("kind") == "compare"][0]
mets = ["P@10", "R@10", "NDCG@10", "MRR@10", "R@50"]
assert t["columns"] == ["model"] + mets + ["latency (ms)", "memory (MB)", "p vs best",
                                           "best (sig.)"], t["columns"]
names = [r["model"] for r in t["rows"]]
assert names == ["Item2Vec", "LLM + flat", "LLM + IVF (nprobe 32)", "LLM + IVF (nprobe 64)",
                 "LLM + HNSW (ef 64)", "Hybrid (rerank)", "Hybrid (blend)", "Hybrid (rrf)",
                 "Hybrid (fill)", "Fused (alpha 0.20)", "Blend (scores, alpha 0.20)",
                 "Popularity", "item-kNN", "Transition", "EASE"], names
for r in t["rows"]:
    for c in mets:   # every figure with its 95% interval around it
        assert isinstance(r[c], (int, float)), (r, c)
        assert r[c + " lo"] <= r[c] <= r[c + " hi"], (r, c)
    assert isinstance(r["latency (ms)"], (int, float)) and isinstance(r["memory (MB)"], (int, float))
by = {r["model"]: r for r in t["rows"]}
# the fused vectors are the score-level blend in one search
for c in mets:
    assert abs(by["Fused (alpha 0.20)"][c] - by["Blend (scores, alpha 0.20)"][c]) < 0.01, c
assert by["LLM + flat"]["R@50"] >= by["LLM + IVF (nprobe 32)"]["R@50"] - 1e-9
notes = " ".join(t["notes"])
assert "no leakage" in notes and "list of 50" in notes and "bootstrap" in notes, notes
# one definition: eval and compare give the same figures for the same model and split
ev = [t for t in res[1]["tables"] if t.get("kind") == "metrics"][0]
eb = {r["method"]: r for r in ev["rows"]}
for c in mets:
    assert eb["Item2Vec"][c] == by["Item2Vec"][c], (c, eb["Item2Vec"][c], by["Item2Vec"][c])
    assert eb["Popularity"][c] == by["Popularity"][c], c
    for b in ("item-kNN", "Transition", "EASE"):
        assert eb[b][c] == by[b][c], (b, c)
# the baselines say what they are and what they score from
assert "item-kNN (cosine, 100 neighbours per item), scored from the last 5 history items" in notes, notes
assert "EASE (lambda 200" in notes and "scored from the whole history" in notes, notes
# on the demo shop, the session-aware transition model beats popularity
assert by["Transition"]["R@10"] > by["Popularity"]["R@10"], (by["Transition"], by["Popularity"])
PY
fi
# cold start: only text can answer; Item2Vec scores nothing there
# (CSV: method, P@10 and its lo, hi, then R@10 in field 5)
out=$("$app" --db "$tmp/db" --csv -c 'eval --cold boot=200') || fail "eval --cold"
i2v=$(grep '^Item2Vec,' <<<"$out" | cut -d, -f5); llm=$(grep '^LLM,' <<<"$out" | cut -d, -f5)
[ "$i2v" = "0.0000" ] || fail "Item2Vec answered cold start: $out"
awk -v l="$llm" 'BEGIN { exit !(l > 0) }' || fail "LLM got no cold-start hit: $out"
# complements: behaviour beats text
out=$("$app" --db "$tmp/db" --csv -c 'eval --complements boot=200') || fail "eval --complements"
i2v=$(grep '^Item2Vec,' <<<"$out" | cut -d, -f5); llm=$(grep '^LLM,' <<<"$out" | cut -d, -f5)
awk -v a="$i2v" -v b="$llm" 'BEGIN { exit !(a > b) }' || fail "complements: Item2Vec $i2v <= LLM $llm"
# a bad option is an error, not a run
"$app" --db "$tmp/db" -c 'eval k=0' >/dev/null 2>&1 && fail "k=0 accepted"
echo ok
