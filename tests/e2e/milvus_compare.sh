#!/bin/bash
# milvus_compare.sh - `compare` with the text model's index in Milvus (the
# contract server, tests/milvus/contract_server.py: exact search):
#  - IVF_FLAT gives the rows "LLM + Milvus (nprobe 32)" and "(nprobe 64)"
#    after the local index rows; every one of their queries reaches the server
#    with that nprobe; the server searches exactly, so their figures are LLM +
#    flat's; memory is the collection's (from Milvus's entity count and the
#    index type) and the note says where the collection is and that latency
#    includes the round trip;
#  - the stored nprobe is what the next search sends (compare restores it);
#  - with metrics= the memory is what Milvus's query nodes report (their
#    Prometheus gauge), in compare and `index info`; a metrics endpoint that
#    fails or answers nonsense leaves the estimate, and the note says why;
#  - HNSW gives rows "(ef 64)" and "(ef 128)" (and `set ef` reaches the
#    search request), AUTOINDEX one row with no
#    parameter and no memory figure;
#  - a server that stops answering fails compare with a clear error.
set -u
. "$(dirname "$0")/../milvus/lib.sh"
mv_start
db=$tmp/db
. "$(dirname "$0")/../milvus/data.sh"
mv_data
users=60

# compare --json into $tmp/c.json, checked by python: rows (the Milvus names
# after the HNSW row), figures equal to LLM + flat, memory, the note
compare_check() {   # compare_check ROW_NAMES_JSON MEMORY_MB_OR_null MEMORY_NOTE
    ctl get search_params >"$tmp/before"
    run --json -c "compare users=$users threads=1" -c 'similar I00010 k=3' >"$tmp/c.json" \
        || fail "compare: $(head -c 600 "$tmp/c.json")"
    $py - "$tmp/c.json" "$1" "$2" "$uri" "$3" <<'PY' || fail "compare: $(head -c 3000 "$tmp/c.json")"
import json, sys
res = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
assert all(r["ok"] for r in res), res
want, mem, uri = json.loads(sys.argv[2]), json.loads(sys.argv[3]), sys.argv[4]
mem_note = sys.argv[5]
t = [t for t in res[0]["tables"] if t.get("kind") == "compare"][0]
names = [r["model"] for r in t["rows"]]
at = names.index("LLM + HNSW (ef 64)") + 1
assert names[at:at + len(want)] == want, names
assert not any("Milvus" in n for n in names[at + len(want):]), names
by = {r["model"]: r for r in t["rows"]}
for w in want:
    for c in ["P@10", "R@10", "NDCG@10", "MRR@10", "R@50"]:
        # the server ranks in float64, our flat search in float32: a near tie
        # may swap two neighbours, so the figures agree within a hair
        assert abs(by[w][c] - by["LLM + flat"][c]) <= 0.02, (w, c, by[w][c], by["LLM + flat"][c])
    assert by[w]["memory (MB)"] == mem or (mem is not None and
                                            abs(by[w]["memory (MB)"] - mem) < 1e-9), by[w]
notes = " ".join(t["notes"])
assert f"LLM + Milvus: collection " in notes and f" at {uri}, each query a request " \
    "(latency includes the round trip); memory: the collection's in Milvus, " + mem_note \
    in notes, (notes, mem_note)
PY
    ctl get search_params >"$tmp/after"
}
# searched PARAM=VALUE N: compare_check's run sent N searches with it
searched() {
    $py - "$tmp/before" "$tmp/after" "$1" "$2" <<'PY' || fail "$2 searches with $1 expected: $(cat "$tmp/after")"
import json, sys
b, a = (json.load(open(f)) for f in sys.argv[1:3])
b = b if isinstance(b, dict) else {}
sys.exit(a.get(sys.argv[3], 0) - b.get(sys.argv[3], 0) != int(sys.argv[4]))
PY
}

# IVF_FLAT: the paper's rows, nlist above 64 so neither nprobe is clamped
out=$(run -c "index build text milvus uri=$uri collection=emb_ivf nlist=100") || fail "build: $out"
# 177 entities x (64 x 4 bytes + an 8-byte id)
estimated='estimated from the index type and entity count (docs/SCALE.md)'
compare_check '["LLM + Milvus (nprobe 32)", "LLM + Milvus (nprobe 64)"]' 0.046728 "$estimated"
searched nprobe=32 $users
searched nprobe=64 $users
# the `similar` after compare in the same process sends the stored nprobe again
# (twice: the LLM pane and the hybrid's text candidates)
searched nprobe=16 2
ctl clean || fail "contract"

# HNSW: the rows vary ef (Milvus wants ef >= the list of 50)
out=$(run -c "index build text milvus uri=$uri collection=emb_hnsw index_type=HNSW M=8") \
    || fail "build hnsw: $out"
# 177 x (64 x 4 + M=8 x 2 links x 4 bytes + 8)
compare_check '["LLM + Milvus (ef 64)", "LLM + Milvus (ef 128)"]' 0.058056 "$estimated"
searched ef=64 $((users + 2))   # the stored ef is 64 too
searched ef=128 $users
# set ef reaches the request
out=$(run -c 'set ef 90' -c 'similar I00010 k=3') || fail "set ef: $out"
grep -q '"ef": 90' <<<"$(ctl get last_search)" || fail "ef not sent: $(ctl get last_search)"
ctl clean || fail "contract"

# AUTOINDEX: Milvus picks the parameters, and nobody knows its memory
out=$(run -c "index build text milvus uri=$uri collection=emb_auto index_type=AUTOINDEX") \
    || fail "build autoindex: $out"
compare_check '["LLM + Milvus (AUTOINDEX)"]' null "unknown (Milvus chooses the AUTOINDEX index"
searched none $((users + 2))
ctl clean || fail "contract"

# memory as Milvus reports it: metrics= names the query nodes' endpoint (the
# contract server's own figure, not the estimate); the token never goes there
out=$(run -c "index build text milvus uri=$uri collection=emb_m nlist=100 metrics=$uri/metrics retries=1 backoff_ms=10") \
    || fail "build with metrics: $out"
mem=$(ctl get memory.emb_m)
[ "$mem" = $((177 * (64 * 4 + 8) + 65536)) ] || fail "server memory: $(ctl stats)"
mb=$($py -c "print($mem / 1e6)")
reported="as its query nodes report it (metrics at $uri/metrics)"
m0=$(ctl get requests.metrics)
compare_check '["LLM + Milvus (nprobe 32)", "LLM + Milvus (nprobe 64)"]' "$mb" "$reported"
[ "$(ctl get requests.metrics)" -gt "$m0" ] || fail "the metrics were not read"
out=$(run -c 'index info') || fail "index info: $out"
grep -qE "^text +milvus IVF_FLAT .* 177 +- +0\.1 +remote: LoadStateLoaded" <<<"$out" \
    || fail "index info memory: $out"
grep -q "^text: collection emb_m at $uri; memory $reported" <<<"$out" || fail "info note: $out"
# an endpoint that fails, or answers nonsense: the estimate, and why
ctl faults '[{"path": "metrics", "kind": "status", "status": 503, "times": 2}]'
compare_check '["LLM + Milvus (nprobe 32)", "LLM + Milvus (nprobe 64)"]' 0.046728 \
    "$estimated; metrics: after 2 attempts: memory of collection emb_m from $uri/metrics: HTTP 503"
ctl faults '[{"path": "metrics", "kind": "malformed"}]'
compare_check '["LLM + Milvus (nprobe 32)", "LLM + Milvus (nprobe 64)"]' 0.046728 \
    "$estimated; metrics: memory of collection emb_m from $uri/metrics: metrics: line "
grep -q 'metrics: line [0-9]*: not a sample of the Prometheus text format' "$tmp/c.json" \
    || fail "malformed metrics: $(cat "$tmp/c.json")"
ctl faults '[{"path": "metrics", "kind": "hostile"}]'
compare_check '["LLM + Milvus (nprobe 32)", "LLM + Milvus (nprobe 64)"]' 0.046728 \
    "$estimated; metrics: memory of collection emb_m from $uri/metrics: metrics: line "
grep -q 'metrics: line [0-9]*: milvus_querynode_entity_size is not a byte count' "$tmp/c.json" \
    || fail "hostile metrics: $(cat "$tmp/c.json")"
ctl clear
ctl clean || fail "contract"

# a server that drops every search: compare fails and says why
ctl faults '[{"path": "entities/search", "kind": "drop", "times": 1000}]'
out=$(run -c "compare users=$users threads=1" 2>&1) && fail "compare ignored a dead server: $out"
grep -q 'search collection emb_m: connection to .* dropped' <<<"$out" || fail "compare error: $out"
ctl clear
echo ok
