#!/bin/bash
# embed --jsonl streams: the file is read and encoded in parts and each
# part's vectors are printed before the next is read, so peak memory does not
# grow with the file (20,000 lines need no more than 2,000 do; holding the
# output alone would add about 8 MB).  The parts give the same vectors as
# texts embedded one by one; a bad line still prints the vectors before it;
# --json gets one valid object with "ok" after the streamed tables.
set -u
app=${EMBEDLAB:?}
fx=$(cd "$(dirname "$0")/../fixtures" && pwd)
py=/usr/bin/python3
[ -x $py ] || { echo "python3 missing: skipped"; exit 77; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

"$app" --db "$tmp/db" -c 'gen demo --items 60 --sessions 50' \
    -c "encode text model=$fx/tiny-bert" >/dev/null || fail "setup"
$py - "$tmp" <<'PY' || fail "write inputs"
import json, random, sys
r = random.Random(1)
w = "hello world kaffa mug wireless earbuds blue red running socks phone".split()
for n in (2000, 20000):
    with open("%s/in%d.jsonl" % (sys.argv[1], n), "w") as f:
        for i in range(n):
            f.write(json.dumps(" ".join(r.choice(w) for _ in range(r.randint(1, 14)))) + "\n")
PY

# peak RSS of each run (the child's ru_maxrss), and every line answered
$py - "$app" "$tmp" <<'PY' || fail "memory grows with the input"
import os, resource, subprocess, sys
app, d = sys.argv[1], sys.argv[2]
# under AddressSanitizer freed blocks wait in a quarantine (256 MB): off
env = dict(os.environ, ASAN_OPTIONS=os.environ.get("ASAN_OPTIONS", "") + ":quarantine_size_mb=0")
rss = {}
for n in (2000, 20000):
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    with open("%s/out%d" % (d, n), "w") as out:
        subprocess.run([app, "--db", d + "/db", "-c", "embed --jsonl %s/in%d.jsonl" % (d, n)],
                       stdout=out, check=True, env=env)
    rss[n] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    assert rss[n] >= before
    lines = sum(1 for l in open("%s/out%d" % (d, n)) if l.startswith("["))
    assert lines == n, (n, lines)
# ru_maxrss of children is the largest so far: the 20,000-line run may not
# exceed the 2,000-line one by more than 2 MB
assert rss[20000] - rss[2000] <= 2048, rss
print("peak RSS %d kB (2,000 lines), %d kB (20,000 lines)" % (rss[2000], rss[20000]))
PY

# the same vectors as one text at a time (batching only reorders sums)
head -5 "$tmp/in2000.jsonl" >"$tmp/five.jsonl"
for i in 1 2 3 4 5; do
    t=$(sed -n "${i}p" "$tmp/five.jsonl" | $py -c 'import json,sys; print(json.loads(sys.stdin.read()))')
    "$app" --db "$tmp/db" -c "embed $t" >>"$tmp/one.out" || fail "embed $t"
done
$py - "$tmp/one.out" "$tmp/out2000" <<'PY' || fail "batched vectors differ"
import json, sys
a = [json.loads(l) for l in open(sys.argv[1])]
b = [json.loads(l) for l in open(sys.argv[2])][:5]
assert len(a) == 5
assert max(abs(x - y) for u, v in zip(a, b) for x, y in zip(u, v)) <= 1e-6
PY

# a bad line: the vectors before it, then the error naming file and line
{ head -1500 "$tmp/in2000.jsonl"; echo 'not json'; head -3 "$tmp/in2000.jsonl"; } >"$tmp/bad.jsonl"
"$app" --db "$tmp/db" -c "embed --jsonl $tmp/bad.jsonl" >"$tmp/bad.out" 2>"$tmp/bad.err" &&
    fail "bad line accepted"
[ "$(grep -c '^\[' "$tmp/bad.out")" = 1500 ] || fail "vectors before the bad line: $(grep -c '^\[' "$tmp/bad.out")"
grep -q "bad.jsonl:1501: expected one JSON string per line" "$tmp/bad.err" ||
    fail "error: $(cat "$tmp/bad.err")"

# --json: one object per command, the streamed tables, then ok / the error
"$app" --db "$tmp/db" --json -c "embed --jsonl $tmp/in2000.jsonl" \
    -c "embed --jsonl $tmp/bad.jsonl" >"$tmp/j.out"
$py - "$tmp/j.out" <<'PY' || fail "--json output"
import json, sys
objs = [json.loads(l) for l in open(sys.argv[1])]
assert len(objs) == 2, len(objs)
good, bad = objs
assert good["ok"] is True and sum(len(t["notes"]) for t in good["tables"]) == 2000
assert bad["ok"] is False and bad["code"] == "parse", bad.get("code")
assert sum(len(t["notes"]) for t in bad["tables"]) == 1500
PY
echo ok
