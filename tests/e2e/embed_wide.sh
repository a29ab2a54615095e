#!/bin/bash
# Output is never cut: `embed` with a model of all-MiniLM-L6-v2's width
# (384 dims: ~5 KB of JSON per vector, once cut at 512 bytes) prints whole
# JSON arrays in text mode, equal to --json's; a long catalog text comes
# out whole in `show`.  `embed --model DIR` and the model search order work
# on an empty database, like sentence-transformers' encode.
set -u
app=${EMBEDLAB:?}
fx=$(cd "$(dirname "$0")/../fixtures" && pwd)
py=/usr/bin/python3
[ -x $py ] || { echo "python3 missing"; exit 77; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
$py "$fx/make_wide_bert.py" "$tmp/minilm" || fail "make_wide_bert.py"

# count DIM FILE: every line of FILE is a JSON array of DIM finite numbers
count() {
    $py - "$1" "$2" <<'PY'
import json, math, sys
dim, lines = int(sys.argv[1]), open(sys.argv[2]).read().splitlines()
assert lines, "no output"
for l in lines:
    v = json.loads(l)
    assert len(v) == dim and all(math.isfinite(x) for x in v), (len(v), l[:80])
print(len(lines))
PY
}

# an empty database: the folder named, then $EMBEDLAB_MODEL, then $XDG_DATA_HOME
"$app" --db :memory: -c "embed --model $tmp/minilm \"hello world\"" >"$tmp/a" || fail "embed --model"
[ "$(count 384 "$tmp/a")" = 1 ] || fail "embed --model: $(head -c 300 "$tmp/a")"
EMBEDLAB_MODEL=$tmp/minilm "$app" --db :memory: -c 'embed "hello world"' >"$tmp/b" ||
    fail "embed with \$EMBEDLAB_MODEL"
cmp -s "$tmp/a" "$tmp/b" || fail "\$EMBEDLAB_MODEL gave another vector"
mkdir -p "$tmp/xdg/embedlab/models" && cp -r "$tmp/minilm" "$tmp/xdg/embedlab/models/"
XDG_DATA_HOME=$tmp/xdg HOME=$tmp "$app" --db :memory: -c 'embed "hello world"' >"$tmp/c" ||
    fail "embed with a model in \$XDG_DATA_HOME"
cmp -s "$tmp/a" "$tmp/c" || fail "\$XDG_DATA_HOME gave another vector"
# no vectors, no folder: says what to do
XDG_DATA_HOME=$tmp/none HOME=$tmp "$app" --db :memory: -c 'embed "hello world"' >"$tmp/o" 2>&1 &&
    fail "embed without any encoder succeeded"
grep -q 'encode text.*--model DIR' "$tmp/o" || fail "no advice: $(cat "$tmp/o")"

# the stored text vectors' encoder: text, --json and --jsonl agree, whole
printf '"hello world"\n"caf\\u00e9 cr\\u00e8me"\n' >"$tmp/in.jsonl"
"$app" --db "$tmp/db" -c 'gen demo --items 60 --sessions 50' \
    -c "encode text model=$tmp/minilm" >/dev/null || fail "encode text"
"$app" --db "$tmp/db" -c 'embed "hello world"' >"$tmp/d" || fail "embed"
cmp -s "$tmp/a" "$tmp/d" || fail "the stored encoder gave another vector"
"$app" --db "$tmp/db" -c "embed --jsonl $tmp/in.jsonl" >"$tmp/e" || fail "embed --jsonl"
[ "$(count 384 "$tmp/e")" = 2 ] || fail "embed --jsonl: $(head -c 300 "$tmp/e")"
"$app" --db "$tmp/db" --json -c 'embed "hello world"' >"$tmp/j" || fail "embed --json"
$py - "$tmp/j" "$tmp/d" <<'PY' || fail "--json and text output differ"
import json, sys
j = json.loads(open(sys.argv[1]).read())
assert json.loads(j["tables"][0]["notes"][0]) == json.loads(open(sys.argv[2]).read())
PY

# a long text is shown whole (and title, category, description in full)
long=$(printf 'word%.0s ' $(seq 700))
printf 'id,title,description,category\nL1,Long one,%s,misc\n' "$long" >"$tmp/cat.csv"
"$app" --db "$tmp/long" -c "load catalog $tmp/cat.csv" -c 'show L1' >"$tmp/s" || fail "show"
grep -qF "${long% }" "$tmp/s" || fail "show cut the description ($(wc -c <"$tmp/s") bytes)"
echo ok
