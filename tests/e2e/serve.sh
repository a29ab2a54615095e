#!/bin/bash
# `embedlab serve` driven with curl on a free loopback port: every endpoint,
# vectors equal to `embed --jsonl`'s, lists equal to the REPL's, errors with
# the right status, bearer auth, the database never written, a change by
# another process served atomically, SIGTERM/SIGINT exit 0.
set -u
app=${EMBEDLAB:?}
tmp=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
command -v curl >/dev/null || { echo "curl is not installed"; exit 77; }
py=/usr/bin/python3
[ -x "$py" ] || { echo "/usr/bin/python3 is not installed (checks the JSON)"; exit 77; }
. "$(dirname "$0")/serve_lib.bash"

db=$tmp/db
serve_db "$db"
user=$(sqlite3 "$db" 'SELECT user FROM events WHERE user IS NOT NULL LIMIT 1')
sum_before=$(sha256sum "$db" | cut -d' ' -f1)
serve_start "$db"

# ---- health, models, items
out=$(req "$base/healthz"); [ "$(status_of "$out")" = 200 ] || fail "healthz: $out"
grep -q '"status":"ok"' <<<"$out" || fail "healthz body: $out"
out=$(req "$base/v1/models")
[ "$(status_of "$out")" = 200 ] || fail "models: $out"
$py - <<PY || fail "models body: $out"
import json
j = json.loads('''$(body_of "$out")''')
m = {x["id"]: x for x in j["data"]}
assert m["text"]["index"]["kind"] == "hnsw" and m["text"]["dimensions"] == 32, m["text"]
assert m["item2vec"]["object"] == "model" and j["encoder"]["model"] == "tiny-bert", j
assert j["encoder"]["max_tokens"] == 16
PY
out=$(req "$base/v1/items/I00003"); [ "$(status_of "$out")" = 200 ] || fail "item: $out"
grep -q '"title":"Microwave Safe Mug by Kaffa (350 ml)"' <<<"$out" || fail "item body: $out"
out=$(req "$base/v1/items/NOPE"); [ "$(status_of "$out")" = 404 ] || fail "unknown item: $out"
grep -q '"code":"item_not_found"' <<<"$out" || fail "unknown item body: $out"

# ---- embeddings: the PyTorch reference sentences (all but the one with a
# NUL, which JSON clients cannot send as text here) against embed --jsonl
$py - "$fx/tiny-bert/reference.json" "$tmp" <<'PY' || fail "write inputs"
import json, sys
ref = [s for s in json.load(open(sys.argv[1]))["sentences"] if "\x00" not in s["text"]]
with open(sys.argv[2] + "/in.jsonl", "w") as f:
    for s in ref:
        f.write(json.dumps(s["text"]) + "\n")
json.dump({"input": [s["text"] for s in ref], "model": "text"}, open(sys.argv[2] + "/req.json", "w"))
json.dump({"input": [s["text"] for s in ref], "model": "tiny-bert", "encoding_format": "base64"},
          open(sys.argv[2] + "/req64.json", "w"))
json.dump({"inputs": [s["text"] for s in ref]}, open(sys.argv[2] + "/tei.json", "w"))
json.dump(sum(len(s["ids"]) for s in ref), open(sys.argv[2] + "/tokens.json", "w"))
PY
"$app" --db "$db" -c "embed --jsonl $tmp/in.jsonl" >"$tmp/embed.out" || fail "embed --jsonl"
for f in req req64 tei; do
    path=/v1/embeddings; [ $f = tei ] && path=/embed
    out=$(req -H 'Content-Type: application/json' --data-binary "@$tmp/$f.json" "$base$path")
    [ "$(status_of "$out")" = 200 ] || fail "$path ($f): $out"
    body_of "$out" >"$tmp/$f.out"
done
$py - "$tmp" <<'PY' || fail "embeddings differ from embed --jsonl"
import base64, json, struct, sys
d = sys.argv[1]
want = [json.loads(l) for l in open(d + "/embed.out") if l.startswith("[")]
f, b, t = (json.load(open(d + "/" + n + ".out")) for n in ("req", "req64", "tei"))
assert f["object"] == "list" and f["model"] == "tiny-bert", f.keys()
assert f["usage"]["prompt_tokens"] == json.load(open(d + "/tokens.json")) == f["usage"]["total_tokens"], f["usage"]
assert [x["index"] for x in f["data"]] == list(range(len(want)))
got64 = [list(struct.unpack("<%df" % (len(base64.b64decode(x["embedding"])) // 4),
                            base64.b64decode(x["embedding"]))) for x in b["data"]]
for name, got in (("float", [x["embedding"] for x in f["data"]]), ("base64", got64), ("tei", t)):
    assert len(got) == len(want), (name, len(got), len(want))
    for g, w in zip(got, want):
        assert len(g) == len(w) == 32 and max(abs(x - y) for x, y in zip(g, w)) <= 1e-6, name
print("embeddings equal embed --jsonl over", len(want), "texts")
PY

# a single string; dimensions equal to the model's is fine, others are not
out=$(req -d '{"input":"hello world","dimensions":32}' "$base/v1/embeddings")
[ "$(status_of "$out")" = 200 ] || fail "single input: $out"
out=$(req -d '{"input":"hello world","dimensions":16}' "$base/v1/embeddings")
[ "$(status_of "$out")" = 400 ] && grep -q "'dimensions' 16 is not supported" <<<"$out" ||
    fail "dimensions: $out"
out=$(req -d '{"input":"hi","model":"text-embedding-3-small"}' "$base/v1/embeddings")
[ "$(status_of "$out")" = 404 ] && grep -q model_not_found <<<"$out" || fail "unknown model: $out"
long=$(printf 'word %.0s' $(seq 40))
out=$(req -d "{\"input\":[\"short\",\"$long\"],\"truncate\":false}" "$base/v1/embeddings")
[ "$(status_of "$out")" = 400 ] && grep -q "'input\[1\]' is longer than the model's 16 tokens" <<<"$out" ||
    fail "truncate=false: $out"
out=$(req -d "{\"inputs\":\"$long\",\"truncate\":false}" "$base/embed")
[ "$(status_of "$out")" = 413 ] || fail "TEI truncate=false: $out"
out=$(req -d "{\"input\":\"$long\"}" "$base/v1/embeddings")
[ "$(status_of "$out")" = 200 ] && grep -q '"prompt_tokens":16,' <<<"$out" || fail "truncated: $out"

# ---- the three lists equal the REPL's
for q in 'similar I00003 k=5|{"item":"I00003","k":5}|similar' \
         "recommend user $user k=4|{\"user\":\"$user\",\"k\":4}|recommend" \
         'query "running shoes" k=3|{"text":"running shoes","k":3}|query' \
         'similar I00003 k=5 category=mug|{"item":"I00003","k":5,"filters":{"category":"mug"}}|similar'; do
    IFS='|' read -r cmd body ep <<<"$q"
    "$app" --db "$db" --json -c "$cmd" >"$tmp/cli.json" || fail "$cmd"
    out=$(req -d "$body" "$base/v1/$ep"); [ "$(status_of "$out")" = 200 ] || fail "$ep: $out"
    body_of "$out" >"$tmp/srv.json"
    $py - "$tmp" "$cmd" <<'PY' || fail "$cmd: the server's lists differ from the REPL's"
import json, sys
d = sys.argv[1]
cli = [t for t in json.load(open(d + "/cli.json"))["tables"] if t.get("kind") == "similar"]
srv = json.load(open(d + "/srv.json"))["lists"]
assert [t["title"] for t in cli] == [l["title"] for l in srv], ([t["title"] for t in cli], [l["title"] for l in srv])
for t, l in zip(cli, srv):
    assert [r["id"] for r in t["rows"]] == [r["id"] for r in l["data"]], (t["title"], t["rows"], l["data"])
    assert all(abs(r["score"] - s["score"]) < 1e-5 for r, s in zip(t["rows"], l["data"]))
    assert all(s["model"] in ("item2vec", "text", "item2vec+text") for s in l["data"])
print(sys.argv[2], "ok:", [len(l["data"]) for l in srv])
PY
done
out=$(req -d '{"history":["I00003","I00007"],"query":"mug","k":3,"method":"hybrid","hybrid":"rrf"}' "$base/v1/recommend")
[ "$(status_of "$out")" = 200 ] && grep -q '"title":"Hybrid (rrf)"' <<<"$out" || fail "history+query: $out"
out=$(req -d '{"user":"nobody"}' "$base/v1/recommend")
[ "$(status_of "$out")" = 404 ] && grep -q "unknown user 'nobody'" <<<"$out" || fail "unknown user: $out"

# ---- bad requests get 4xx with a message
while IFS='|' read -r want path body what; do
    out=$(req -d "$body" "$base$path")
    [ "$(status_of "$out")" = "$want" ] || fail "$what: want $want, got $out"
    grep -q '"error":{"message":"[^"]' <<<"$out" || fail "$what: no error message: $out"
done <<'EOF'
400|/v1/embeddings|{"input":|truncated JSON
400|/v1/embeddings|[1,2]|not an object
400|/v1/embeddings|{"input":42}|wrong type
400|/v1/embeddings|{"input":[[1,2,3]]}|token ids
400|/v1/embeddings|{"input":[]}|empty input
400|/v1/embeddings|{"input":"a","encoding_format":"int8"}|bad encoding
400|/v1/embeddings|{"input":"a\u0000b"}|NUL character
400|/v1/similar|{"item":"I00003","k":0}|k out of range
400|/v1/similar|{"item":"I00003","k":2.5}|fractional k
400|/v1/similar|{"item":"I00003","method":"magic"}|bad method
400|/v1/similar|{"item":"I00003","filters":{"color":[1]}}|bad filter
400|/v1/similar|{"item":{"id":1}}|object id
404|/v1/similar|{"item":"missing"}|unknown item
400|/v1/query|{}|missing text
400|/v1/recommend|{"user":"a","history":[]}|user and history
404|/v2/nothing|{}|unknown path
EOF
out=$(printf '{"input":"\xff\xfe"}' | req --data-binary @- "$base/v1/embeddings")
[ "$(status_of "$out")" = 400 ] && grep -q 'not valid UTF-8' <<<"$out" || fail "invalid UTF-8: $out"
out=$(printf '{"input":"a\0b"}' | req --data-binary @- "$base/v1/embeddings")
[ "$(status_of "$out")" = 400 ] && grep -q 'NUL byte' <<<"$out" || fail "NUL byte: $out"
out=$(req -X GET "$base/v1/embeddings"); [ "$(status_of "$out")" = 405 ] || fail "GET embeddings: $out"
out=$(curl -s -m 5 -D - -o /dev/null -X DELETE "$base/v1/models")
grep -q '^HTTP/1.1 405' <<<"$out" && grep -qi '^Allow: GET, HEAD' <<<"$out" || fail "DELETE models: $out"

# ---- metrics and the request log
out=$(req "$base/metrics"); [ "$(status_of "$out")" = 200 ] || fail "metrics: $out"
grep -q '^embedlab_http_requests_total{endpoint="/v1/embeddings",status="200"} [1-9]' <<<"$out" &&
    grep -q '^embedlab_http_request_duration_seconds_bucket{endpoint="/v1/similar",le="+Inf"} [1-9]' <<<"$out" &&
    grep -q '^embedlab_encoder_batch_size_count [1-9]' <<<"$out" &&
    grep -q '^embedlab_http_requests_in_flight 1$' <<<"$out" || fail "metrics body: $out"
grep -qE '^[0-9T:.-]+Z 127\.0\.0\.1 POST /v1/similar 200 [0-9.]+ ms$' "$log" || fail "log line: $(tail -3 "$log")"

# ---- another process changes the database: the server switches whole
for i in $(seq 200); do curl -s -o /dev/null -w '%{http_code}\n' -d '{"item":"I00003","k":3}' "$base/v1/similar"; done >"$tmp/codes" &
loop=$!
"$app" --db "$db" -c 'index build text flat' >/dev/null || fail "index build flat"
for _ in $(seq 50); do
    req "$base/v1/models" | grep -q '"index":{"kind":"flat"' && break
    sleep 0.1
done
req "$base/v1/models" | grep -q '"index":{"kind":"flat"' || fail "the new index was not picked up: $(tail -3 "$log")"
wait "$loop"
[ "$(sort -u "$tmp/codes")" = 200 ] || fail "requests failed during the switch: $(sort "$tmp/codes" | uniq -c)"
grep -q 'the database changed; new snapshot loaded' "$log" || fail "no reload logged"

# ---- SIGTERM drains: a request still uploading (1.5 s at 100 kB/s) is answered
$py -c 'import json; print(json.dumps({"input": ["word " * 20] * 1500}))' >"$tmp/big.json"
curl -s -m 20 -o "$tmp/drain.out" -w '%{http_code}' --limit-rate 100k --data-binary @"$tmp/big.json" \
    "$base/v1/embeddings" >"$tmp/drain.code" &
drain=$!
sleep 0.5
serve_stop TERM
wait "$drain"
[ "$(cat "$tmp/drain.code")" = 200 ] && grep -q '"index":1499,' "$tmp/drain.out" ||
    fail "the request in flight at SIGTERM: $(cat "$tmp/drain.code") $(head -c 300 "$tmp/drain.out")"
grep -q 'draining 1 request' "$log" || fail "no drain logged: $(tail -3 "$log")"

# ---- bearer auth; the database is never written
"$app" --db "$db" -c 'index build text hnsw' >/dev/null || fail "index build hnsw"
sum_before=$(sha256sum "$db" | cut -d' ' -f1)
printf 's3cret-token\n' >"$tmp/token"
serve_start "$db" --token-file "$tmp/token"
out=$(req "$base/healthz"); [ "$(status_of "$out")" = 200 ] || fail "healthz without token: $out"
out=$(req "$base/v1/models"); [ "$(status_of "$out")" = 401 ] || fail "no token: $out"
out=$(req -H 'Authorization: Bearer s3cret-tokeX' "$base/v1/models")
[ "$(status_of "$out")" = 401 ] || fail "wrong token: $out"
out=$(req -H 'Authorization: Bearer s3cret-token-longer' "$base/v1/models")
[ "$(status_of "$out")" = 401 ] || fail "longer token: $out"
out=$(req -H 'Authorization: Bearer s3cret-token' -d '{"item":"I00003"}' "$base/v1/similar")
[ "$(status_of "$out")" = 200 ] || fail "right token: $out"
serve_stop INT
[ "$(sha256sum "$db" | cut -d' ' -f1)" = "$sum_before" ] || fail "the server wrote to the database"

# ---- a non-loopback address without a token is warned about
"$app" serve --db "$db" --listen 0.0.0.0:0 2>"$tmp/any.log" &
pid=$!
for _ in $(seq 50); do grep -q listening "$tmp/any.log" && break; sleep 0.05; done
grep -q 'warning: listening on 0.0.0.0:0 without --token-file' "$tmp/any.log" || fail "no warning: $(cat "$tmp/any.log")"
kill "$pid"; wait "$pid"; pid=

# ---- the builtin encoder (no BERT model) through the same endpoints
"$app" --db "$tmp/bdb" --strict -c 'gen demo --items 40 --sessions 40' \
    -c 'encode text model=builtin' >/dev/null || fail "builtin encoder"
printf '%s\n' '"wireless earbuds"' '"Kaffa mug"' >"$tmp/b.jsonl"
"$app" --db "$tmp/bdb" -c "embed --jsonl $tmp/b.jsonl" >"$tmp/b.out" || fail "embed (builtin)"
serve_start "$tmp/bdb"
out=$(req -d '{"input":["wireless earbuds","Kaffa mug"],"model":"builtin (trained on this catalog)"}' "$base/v1/embeddings")
[ "$(status_of "$out")" = 200 ] || fail "builtin embeddings: $out"
body_of "$out" >"$tmp/b.json"
$py - "$tmp" <<'PY' || fail "builtin vectors differ from embed --jsonl"
import json, sys
d = sys.argv[1]
want = [json.loads(l) for l in open(d + "/b.out") if l.startswith("[")]
got = [x["embedding"] for x in json.load(open(d + "/b.json"))["data"]]
assert len(got) == len(want) == 2 and all(len(g) == 96 for g in got)
assert all(max(abs(x - y) for x, y in zip(g, w)) <= 1e-6 for g, w in zip(got, want))
PY
out=$(req -d '{"text":"earbuds","k":2}' "$base/v1/query")
[ "$(status_of "$out")" = 200 ] && grep -q '"method":"llm"' <<<"$out" || fail "builtin query: $out"
serve_stop TERM

# ---- usage errors
"$app" serve --db "$tmp/none.db" --listen 127.0.0.1:0 2>"$tmp/e" && fail "missing database accepted"
grep -q "none.db" "$tmp/e" || fail "missing database: $(cat "$tmp/e")"
"$app" serve --threads 0 2>"$tmp/e"; [ $? -eq 2 ] || fail "--threads 0 accepted"
"$app" serve --listen nonsense 2>"$tmp/e" && fail "bad --listen accepted"
echo ok
