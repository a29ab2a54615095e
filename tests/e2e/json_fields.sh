#!/bin/bash
# --json carries numbers as numbers: counts of info, a list's method and
# latency as fields of the similar tables, and the facts of the message
# tables (gen demo, train item2vec, index build, delete item) as fields, so
# nothing has to parse display text.
set -u
app=${EMBEDLAB:?}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
command -v /usr/bin/python3 >/dev/null || { echo "python3 missing"; exit 77; }

"$app" --db :memory: --json -c 'gen demo --items 60 --sessions 200' \
    -c 'train item2vec dim=8 epochs=2 threads=1' -c 'index build item2vec hnsw' \
    -c info -c 'similar I00010 k=3' -c 'delete item I00011' >"$tmp/j" || fail "run"
/usr/bin/python3 - "$tmp/j" <<'PY' || fail "JSON fields"
import json, sys
runs = [json.loads(l) for l in open(sys.argv[1])]
assert all(r["ok"] for r in runs), runs
gen, train, build, info, sim, dele = (r["tables"] for r in runs)
f = gen[0]["fields"]
assert f["items"] == 60 and f["sessions"] == 200 and isinstance(f["events"], int), f
f = train[0]["fields"]
assert f["dim"] == 8 and f["epochs"] == 2 and f["items"] > 0 and f["seconds"] > 0, f
f = build[0]["fields"]
assert f["vectors"] == train[0]["fields"]["items"] and f["memory_mb"] > 0, f
assert f["index"].startswith("hnsw"), f
rows = {r["what"]: r["value"] for r in info[0]["rows"]}
assert rows["items"] == 60 and isinstance(rows["events"], int), rows
lists = [t for t in sim if t.get("kind") == "similar"]
assert [t["fields"]["method"] for t in lists] == ["Item2Vec", "LLM", "Hybrid"], lists
assert isinstance(lists[0]["fields"]["latency_ms"], float), lists[0]["fields"]
assert lists[1]["fields"]["reason"], lists[1]["fields"]   # no text vectors: says why
assert all(isinstance(r["score"], float) for r in lists[0]["rows"]), lists[0]["rows"]
f = dele[0]["fields"]
assert f["items"] == 1 and isinstance(f["events"], int), f
PY
# --no-timing: measured times are null, never a made-up number
"$app" --db :memory: --json --no-timing -c 'gen demo --items 60 --sessions 200' \
    -c 'train item2vec dim=8 epochs=2 threads=1' -c 'similar I00010 k=3' >"$tmp/n" || fail "run 2"
/usr/bin/python3 - "$tmp/n" <<'PY' || fail "no-timing nulls"
import json, sys
runs = [json.loads(l) for l in open(sys.argv[1])]
assert runs[1]["tables"][0]["fields"]["seconds"] is None, runs[1]
assert runs[2]["tables"][0]["fields"]["latency_ms"] is None, runs[2]
PY
echo ok
