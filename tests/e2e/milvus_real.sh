#!/bin/bash
# milvus_real.sh - the milvus index kind against a real Milvus: runs only when
# MILVUS_URI is set (e.g. MILVUS_URI=http://localhost:19530, and
# MILVUS_TOKEN=root:Milvus when authentication is on); reported as skipped
# otherwise.  It makes one collection named embedlab_it_<pid>_<time> and
# drops it at the end.
#  - build (IVF_FLAT, nlist=4): collection, batched inserts, index, load;
#  - with nprobe = nlist the IVF search is exact, so filtered searches through
#    Milvus give the ids exact search gives (category, title with LIKE's
#    wildcards and quotes, attributes as strings and numbers, exclusions);
#  - changed and new vectors are upserted, a deleted item is deleted, and
#    recall against exact search stays 1;
#  - `index info` reads Milvus's count, index type and state, load state, and
#    with MILVUS_METRICS set (its query nodes' Prometheus endpoints, e.g.
#    http://localhost:9091/metrics) the memory they report for the collection;
#  - a second build into the same collection is refused; --replace works.
set -u
if [ -z "${MILVUS_URI:-}" ]; then
    echo "MILVUS_URI not set: no real Milvus to test against"
    exit 77
fi
app=${EMBEDLAB:?}
py=/usr/bin/python3
tmp=$(mktemp -d)
coll=embedlab_it_$$_$(date +%s)
uri=${MILVUS_URI%/}
drop() {
    # the collection goes whatever happened (REST v2 collections/drop)
    "$py" - "$uri" "$coll" <<'PY' >/dev/null 2>&1
import json, os, sys, urllib.request
h = {"Content-Type": "application/json"}
if os.environ.get("MILVUS_TOKEN"):
    h["Authorization"] = "Bearer " + os.environ["MILVUS_TOKEN"]
req = urllib.request.Request(sys.argv[1] + "/v2/vectordb/collections/drop",
                             json.dumps({"collectionName": sys.argv[2]}).encode(), h)
urllib.request.urlopen(req, timeout=30).read()
PY
}
trap 'drop; rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
db=$tmp/db
run() { "$app" --db "$db" --no-timing "$@"; }

. "$(dirname "$0")/../milvus/data.sh"
mv_data
answers "$tmp/exact"

metrics=${MILVUS_METRICS:+metrics=$MILVUS_METRICS}
out=$(run -c "index build text milvus uri=$uri collection=$coll nlist=4 nprobe=4 $metrics") \
    || fail "build: $out"
echo "$out"
grep -q "over 177 vectors in collection $coll at $uri: Milvus counts 177 " <<<"$out" \
    || fail "build message: $out"
answers "$tmp/milvus"
diff -u "$tmp/exact" "$tmp/milvus" || fail "Milvus (nprobe = nlist) differs from exact search"

out=$(run -c 'index eval text queries=100') || fail "eval: $out"
echo "$out"
recall_ok "$out" || fail "recall: $out"

$py - "$tmp/v.txt" "$tmp/v2.txt" <<'PY' || fail "edit vectors"
import sys
lines = open(sys.argv[1]).read().split("\n")
head, rows = lines[0].split(), [l for l in lines[1:] if l]
d = int(head[1])
for i in range(3):
    w = rows[i].split()
    rows[i] = " ".join([w[0]] + ["%.6f" % (-float(x)) for x in w[1:]])
rows.append(" ".join(["ODD1"] + ["%.6f" % ((k * 7) % 5 - 2) for k in range(d)]))
open(sys.argv[2], "w").write("%d %d\n" % (len(rows), d) + "\n".join(rows) + "\n")
PY
out=$(run -c "import vectors $tmp/v2.txt --name text") || fail "update: $out"
grep -q '^index text (milvus): 1 added, 3 updated, 0 removed; 178 live' <<<"$out" \
    || fail "update report: $out"
out=$(run -c 'delete item I00003') || fail "delete: $out"
grep -q '0 added, 0 updated, 1 removed; 177 live' <<<"$out" || fail "delete report: $out"
out=$(run -c 'similar ODD1 k=3 title="\"Quoted\""' -c 'index eval text queries=100') \
    || fail "after changes: $out"
recall_ok "$out" || fail "recall after changes: $out"
out=$(run -c 'index info') || fail "info: $out"
echo "$out"
grep -qE "^text +milvus IVF_FLAT nlist=4 nprobe=4 cosine +177 +- .* remote: LoadStateLoaded; IVF_FLAT COSINE" <<<"$out" || fail "index info: $out"
if [ -n "$metrics" ]; then
    grep -q "^text: collection $coll at $uri; memory as its query nodes report it" <<<"$out" \
        || fail "memory from the metrics: $out"
fi

out=$(run -c "index build text milvus uri=$uri collection=$coll" 2>&1) && fail "built over an existing collection"
grep -q "collection $coll already exists" <<<"$out" || fail "exists: $out"
out=$(run -c "index build text milvus uri=$uri collection=$coll index_type=HNSW --replace" \
    -c 'similar I00010 k=10') || fail "replace: $out"
grep -q 'milvus HNSW M=16' <<<"$out" || fail "replace message: $out"
echo ok
