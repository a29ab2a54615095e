#!/bin/bash
# map MODEL: the embedding map in batch, CSV and JSON form; its coordinates
# and explained variance against numpy's PCA of the same vectors (when
# numpy is installed); clear errors for a missing or too small model.
set -u
app=${EMBEDLAB:?}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
db=$tmp/db

"$app" --db "$db" -c 'gen demo --items 80 --sessions 300' \
    -c 'train item2vec dim=8 epochs=2 threads=1 seed=3' >/dev/null || fail "prepare"
n=$("$app" --db "$db" --json -c models | /usr/bin/python3 -c '
import json, sys
print([r["vectors"] for r in json.load(sys.stdin)["tables"][0]["rows"] if r["name"] == "item2vec"][0])')

out=$("$app" --db "$db" --no-timing -c 'map item2vec') || fail "map exited $?"
head -2 <<<"$out" | tail -1 | grep -qE '^id +category +x +y$' || fail "no header: $out"
[ "$(grep -cE '^I[0-9]+ ' <<<"$out")" -eq "$n" ] || fail "expected $n rows: $out"
grep -qE "^PCA of $n vectors \(8-D\) to 2-D: x keeps [0-9.]+% of the variance, y [0-9.]+%$" <<<"$out" ||
    fail "no explained-variance note: $(tail -1 <<<"$out")"

"$app" --db "$db" --csv -c 'map item2vec' >"$tmp/map.csv" || fail "csv"
[ "$(head -1 "$tmp/map.csv")" = "id,category,x,y" ] || fail "csv header: $(head -1 "$tmp/map.csv")"

"$app" --db "$db" --json -c 'map item2vec' >"$tmp/map.json" || fail "json"
"$app" --db "$db" -c "export vectors item2vec $tmp/v.csv" >/dev/null || fail "export"
/usr/bin/python3 - "$tmp/map.json" "$tmp/v.csv" "$n" <<'PY' || fail "JSON or PCA check"
import csv, json, sys
doc = json.load(open(sys.argv[1]))
assert doc["ok"], doc
t = doc["tables"][0]
assert t["kind"] == "map", t["kind"]
f = t["fields"]
n = int(sys.argv[3])
assert f["n"] == n and f["dim"] == 8 and len(t["rows"]) == n, (f, len(t["rows"]))
ex, ey = f["explained_x"], f["explained_y"]
assert 0 < ey <= ex <= 1 and ex + ey <= 1 + 1e-6, (ex, ey)
for r in t["rows"]:
    assert isinstance(r["x"], (int, float)) and isinstance(r["y"], (int, float)), r
    assert r["category"], r
try:
    import numpy as np
except ImportError:
    print("numpy absent: PCA not cross-checked")
    sys.exit(0)
rows = list(csv.reader(open(sys.argv[2])))[1:]
ids = [r[0] for r in rows]
X = np.array([[float(v) for v in r[1:]] for r in rows])
X /= np.linalg.norm(X, axis=1, keepdims=True)
Xc = X - X.mean(axis=0)
w, V = np.linalg.eigh(Xc.T @ Xc / len(X))
order = np.argsort(w)[::-1]
ratio = w[order[:2]] / w.sum()
assert abs(ratio[0] - ex) < 2e-3 and abs(ratio[1] - ey) < 2e-3, (ratio, ex, ey)
proj = Xc @ V[:, order[:2]]
got = {r["id"]: (r["x"], r["y"]) for r in t["rows"]}
for i, k in enumerate(ids):
    for a in range(2):   # an axis' sign is a convention
        assert abs(abs(got[k][a]) - abs(proj[i, a])) < 2e-3, (k, a, got[k], proj[i])
print("PCA matches numpy:", ratio)
PY

"$app" --db "$db" -c 'map nosuch' >/dev/null 2>"$tmp/err" && fail "map of a missing model exited 0"
grep -q "nosuch" "$tmp/err" || fail "no message for a missing model: $(cat "$tmp/err")"
"$app" --db "$db" -c 'map' >/dev/null 2>"$tmp/err" && fail "map without a model exited 0"
grep -q '^error: usage: map MODEL$' "$tmp/err" || fail "usage: $(cat "$tmp/err")"
echo ok
