#!/bin/bash
# eval_tables.sh [demo|ml|epub|groceries|all] - the README's result tables,
# one command per dataset: load, train Item2Vec with its defaults, encode text
# (builtin encoder), tune Item2Vec, the hybrid and the fused vectors on the
# validation split, then `compare --tuned` on the test split with 95%
# intervals over users and Item2Vec seeds.  Prints each table as Markdown
# (value ± half the interval; * = significantly best in that column) with the
# CPU and load it ran under.
#
#   demo       the synthetic shop (`gen demo`, 2,000 items)
#   ml         MovieLens ml-latest-small from $DATA/ml-latest-small
#   epub       ePub-WU document downloads ($DATA/epub-wu: ~900 docs, 15k sessions),
#              the small-catalog click dataset
#   groceries  arules Groceries baskets ($DATA/groceries: 169 items, 9,835 baskets)
#
# DATA defaults to /work/shared/data (read only: converted copies go to a
# temporary folder, never into the repository).  Budgets: TRIALS (20),
# TUNE_TIME seconds (300), REPEATS (3), THREADS (2).  A dataset that is absent
# is skipped with a message.
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
APP=${EMBEDLAB:-$here/build/release/embedlab}
DATA=${DATA:-/work/shared/data}
TRIALS=${TRIALS:-20}
TUNE_TIME=${TUNE_TIME:-300}
REPEATS=${REPEATS:-3}
THREADS=${THREADS:-2}
PY=/usr/bin/python3
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
what=${1:-all}

[ -x "$APP" ] || { echo "build embedlab first (make)"; exit 1; }
[ -x "$PY" ] || { echo "needs $PY (scripts/deps.sh bench)"; exit 1; }

# `compare --json` -> a Markdown table (value ± half the 95% interval; bold:
# significantly best in that column) and its notes.
md() {
    "$PY" -c '
import json, sys
res = [json.loads(l) for l in sys.stdin if l.strip()]
t = [t for r in res for t in r["tables"] if t.get("kind") == "compare"][0]
mets = [c for c in t["columns"] if "@" in c]
cols = ["model"] + mets + ["latency (ms)", "memory (MB)", "p vs best"]
print("| " + " | ".join(cols) + " |")
print("| --- |" + " ---: |" * (len(cols) - 1))
for r in t["rows"]:
    cells = [r["model"]]
    best = (r.get("best (sig.)") or "").split()
    for m in mets:
        v, lo, hi = r.get(m), r.get(m + " lo"), r.get(m + " hi")
        if v is None:
            cells.append("-")
        elif lo is None:
            cells.append("%.4f" % v)
        else:
            s = "%.4f ± %.4f" % (v, (hi - lo) / 2)
            cells.append("**" + s + "**" if m in best else s)
    lat, mem, p = r.get("latency (ms)"), r.get("memory (MB)"), r.get("p vs best")
    cells.append("-" if lat is None else "%.3f" % lat)
    cells.append("-" if mem is None else "%.2f" % mem)
    cells.append("best" if p is None and r.get(mets[0]) is not None else "-" if p is None else "%.3f" % p)
    print("| " + " | ".join(cells) + " |")
print()
for n in t["notes"]:
    print("    " + n)
'
}

# Several `eval --json` runs (all, --cold, --complements, --substitutes) ->
# one Markdown table of R@k per method and case kind.
md_cases() {
    "$PY" -c '
import json, sys
res = [json.loads(l) for l in sys.stdin if l.strip()]
tabs = [t for r in res for t in r["tables"] if t.get("kind") == "metrics"]
rk = [c for c in tabs[0]["columns"] if c.startswith("R@")][0]
heads = [rk + " " + w for w in ("all", "cold start", "complements", "substitutes")]
print("| method | " + " | ".join(heads) + " |")
print("| --- |" + " ---: |" * len(heads))
for i, r in enumerate(tabs[0]["rows"]):
    cells = [r["method"]]
    for t in tabs:
        x = t["rows"][i]
        v, lo, hi = x.get(rk), x.get(rk + " lo"), x.get(rk + " hi")
        s = "-" if v is None else "%.4f" % v if lo is None else "%.4f ± %.4f" % (v, (hi - lo) / 2)
        best = rk in (x.get("best (sig.)") or "").split()
        cells.append("**" + s + "**" if best else s)
    print("| " + " | ".join(cells) + " |")
'
}

header() {
    echo
    echo "### $1"
    echo
    echo "CPU: $(lscpu | sed -n 's/^Model name: *//p' | head -1); load before: $(cut -d' ' -f1-3 /proc/loadavg); $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo
}

# Tune on the validation split, then compare on the test split.
evaluate() {
    local db=$1 args=${2:-}
    "$APP" --db "$db" -c "tune item2vec trials=$TRIALS time=$TUNE_TIME threads=$THREADS $args" \
        -c "tune hybrid threads=$THREADS $args" -c "tune fused threads=$THREADS $args" \
        -c "tune show" >"$tmp/tune.txt" || { cat "$tmp/tune.txt"; return 1; }
    sed -n '/^item2vec: \|^hybrid: \|^fused: /p' "$tmp/tune.txt" | sed 's/^/    tuned /'
    local t0=$(date +%s.%N)
    "$APP" --db "$db" --json -c "compare --tuned repeats=$REPEATS threads=$THREADS $args" \
        >"$tmp/cmp.json" || { cat "$tmp/cmp.json"; return 1; }
    local t1=$(date +%s.%N)
    echo
    md <"$tmp/cmp.json" || return 1
    printf '    (compare --tuned repeats=%s took %.0f s)\n' "$REPEATS" "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')"
}

demo() {
    header "The demo shop (gen demo: 2,000 items)"
    "$APP" --db "$tmp/demo.db" -c 'gen demo' -c 'train item2vec' -c 'encode text' \
        -c 'fuse text item2vec' >/dev/null || return 1
    "$APP" --db "$tmp/demo.db" --json -c "eval threads=$THREADS" -c "eval --cold threads=$THREADS" \
        -c "eval --complements threads=$THREADS" -c "eval --substitutes threads=$THREADS" \
        >"$tmp/cases.json" || { cat "$tmp/cases.json"; return 1; }
    md_cases <"$tmp/cases.json" || return 1
    evaluate "$tmp/demo.db"
}

ml() {
    local d=$DATA/ml-latest-small
    [ -f "$d/ratings.csv" ] || { echo "(skipped: no $d)"; return 0; }
    header "MovieLens ml-latest-small (9,742 movies, 100,836 ratings, 610 users)"
    "$APP" --db "$tmp/ml.db" -c "load movielens $d" -c 'train item2vec' -c 'encode text' \
        -c 'fuse text item2vec' >/dev/null || return 1
    evaluate "$tmp/ml.db"
}

# epub.dat (session;doc) + epub.time (session;date) + info.csv -> catalog and
# sessions CSV with timestamps.
epub() {
    local d=$DATA/epub-wu
    [ -f "$d/epub.dat" ] || { echo "(skipped: no $d)"; return 0; }
    "$PY" - "$d" "$tmp" <<'PY' || return 1
import csv, sys, time
d, out = sys.argv[1], sys.argv[2]
ts = {}
for line in open(f"{d}/epub.time", encoding="utf-8"):
    s, t = line.rstrip("\n").split(";", 1)
    ts[s] = int(time.mktime(time.strptime(" ".join(t.split()), "%a %b %d %H:%M:%S %Y")))
meta = {}
with open(f"{d}/info.csv", encoding="utf-8", newline="") as f:
    r = csv.reader(f, delimiter=";")
    next(r)
    for row in r:
        if len(row) >= 9:
            meta[row[0]] = row
docs, ev = [], []
for line in open(f"{d}/epub.dat", encoding="utf-8"):
    s, doc = line.strip().split(";")
    ev.append((s, doc, ts.get(s, 0)))
    docs.append(doc)
with open(f"{out}/epub_items.csv", "w", newline="", encoding="utf-8") as f:
    w = csv.writer(f)
    w.writerow(["id", "title", "description", "category"])
    for doc in sorted(set(docs)):
        m = meta.get(doc)
        if m:
            w.writerow([doc, m[3] or doc, (m[4] + ". " + m[8])[:2000], m[6] or "none"])
        else:
            w.writerow([doc, doc, "", "none"])
with open(f"{out}/epub_sessions.csv", "w", newline="", encoding="utf-8") as f:
    w = csv.writer(f)
    w.writerow(["session_id", "item_id", "timestamp"])
    for i, (s, doc, t) in enumerate(ev):
        w.writerow([s, doc, t])
PY
    header "ePub-WU downloads (small-catalog click data: $(($(cut -d, -f1 "$tmp/epub_items.csv" | wc -l) - 1)) documents, 15,732 sessions)"
    "$APP" --db "$tmp/epub.db" -c "load catalog $tmp/epub_items.csv" \
        -c "load sessions $tmp/epub_sessions.csv" -c 'train item2vec' -c 'encode text' \
        -c 'fuse text item2vec' >/dev/null || return 1
    evaluate "$tmp/epub.db"
}

# groceries.csv baskets (names) + Groceries.labels -> catalog and one basket
# per line.
groceries() {
    local d=$DATA/groceries
    [ -f "$d/groceries.csv" ] || { echo "(skipped: no $d)"; return 0; }
    "$PY" - "$d" "$tmp" <<'PY' || return 1
import csv, sys
d, out = sys.argv[1], sys.argv[2]
cat1 = {}
for line in open(f"{d}/Groceries.cat1.labels", encoding="utf-8"):
    p = line.rstrip("\r\n").split("\t")
    cat1[p[0]] = p[1]
ids = {}
with open(f"{out}/groc_items.csv", "w", newline="", encoding="utf-8") as f:
    w = csv.writer(f)
    w.writerow(["id", "title", "description", "category"])
    for line in open(f"{d}/Groceries.labels", encoding="utf-8"):
        p = line.rstrip("\r\n").split("\t")
        ids[p[1].strip()] = "G" + p[0]
        w.writerow(["G" + p[0], p[1].strip(), p[2].strip().lower(), cat1.get(p[0][0], "other")])
with open(f"{out}/groc_baskets.txt", "w", encoding="utf-8") as f:
    for line in open(f"{d}/groceries.csv", encoding="utf-8"):
        f.write(" ".join(ids[n.strip()] for n in line.rstrip("\n").split(",")) + "\n")
PY
    header "Groceries baskets (169 items, 9,835 baskets; no users or times: each basket's last item, in file order, is held out)"
    "$APP" --db "$tmp/groc.db" -c "load catalog $tmp/groc_items.csv" \
        -c "load sessions $tmp/groc_baskets.txt --format lines" -c 'train item2vec' \
        -c 'encode text' -c 'fuse text item2vec' >/dev/null || return 1
    evaluate "$tmp/groc.db"
}

case "$what" in
demo|ml|epub|groceries) "$what" ;;
all) demo; ml; epub; groceries ;;
*) echo "usage: $0 [demo|ml|epub|groceries|all]"; exit 2 ;;
esac
