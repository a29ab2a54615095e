#!/bin/bash
# The text encoder through the commands: a sentence-transformers folder (the
# tiny BERT fixture) found by model=, $EMBEDLAB_MODEL, reopened for queries in
# a later process; embed --jsonl matches the PyTorch reference vectors.
set -u
app=${EMBEDLAB:?}
fx=$(cd "$(dirname "$0")/../fixtures" && pwd)
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

"$app" --db "$tmp/db" -c 'gen demo --items 60 --sessions 50' >/dev/null || fail "gen demo"
out=$("$app" --db "$tmp/db" -c "encode text model=$fx/tiny-bert") || fail "encode text: $out"
grep -q 'text: 60 items x 32 dims with tiny-bert' <<<"$out" || fail "label/dims: $out"
"$app" --db "$tmp/db" -c models | grep -q '^text  *bert  *tiny-bert' || fail "models row"

# a later process reopens the same folder for the query
out=$("$app" --db "$tmp/db" -c 'query "hello world" k=3') || fail "query: $out"
grep -q 'query encoded by tiny-bert' <<<"$out" || fail "query encoder: $out"
[ "$(grep -cE '^[0-9] +I[0-9]{5} ' <<<"$out")" -ge 3 ] || fail "query results: $out"

# $EMBEDLAB_MODEL is searched when model= is not given
out=$(EMBEDLAB_MODEL="$fx/tiny-bert" "$app" --db "$tmp/db" -c 'encode text') || fail "env: $out"
grep -q 'with tiny-bert' <<<"$out" || fail "EMBEDLAB_MODEL not used: $out"

# a folder that is not a model: clear error, previous vectors kept
"$app" --db "$tmp/db" -c "encode text model=$tmp" >"$tmp/o" 2>&1 && fail "bad model dir accepted"
grep -q "$tmp" "$tmp/o" || fail "error does not name the folder: $(cat "$tmp/o")"
"$app" --db "$tmp/db" -c models | grep -q '^text  *bert  *tiny-bert' || fail "vectors lost"

# embed --jsonl: exact texts (any characters) against the PyTorch reference
[ -x /usr/bin/python3 ] || { echo "python3 missing: reference check skipped"; exit 0; }
/usr/bin/python3 - "$fx/tiny-bert/reference.json" "$tmp/in.jsonl" <<'PY' || fail "write jsonl"
import json, sys
ref = json.load(open(sys.argv[1]))
with open(sys.argv[2], "w") as f:
    for s in ref["sentences"]:
        f.write(json.dumps(s["text"]) + "\n")
PY
"$app" --db "$tmp/db" -c "embed --jsonl $tmp/in.jsonl" >"$tmp/vec" || fail "embed --jsonl"
/usr/bin/python3 - "$fx/tiny-bert/reference.json" "$tmp/vec" <<'PY' || fail "vectors differ from the reference"
import json, math, sys
ref = json.load(open(sys.argv[1]))["sentences"]
got = [json.loads(l) for l in open(sys.argv[2]) if l.startswith("[")]
assert len(got) == len(ref), (len(got), len(ref))
for r, g in zip(ref, got):
    e = r["embedding"]
    dot = sum(a * b for a, b in zip(e, g))
    cos = dot / (math.sqrt(sum(a * a for a in e)) * math.sqrt(sum(b * b for b in g)))
    assert cos >= 0.99999 and max(abs(a - b) for a, b in zip(e, g)) <= 1e-5, (r["text"], cos)
print("embed parity ok over", len(ref), "sentences")
PY
echo ok
