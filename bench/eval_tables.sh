#!/bin/bash
# eval_tables.sh [demo|ml|epub|groceries|all] - the README's result tables,
# one command per dataset: load, train Item2Vec with its defaults, encode text
# (the builtin encoder with the words file of `make builtin-model`; WORDS=FILE
# names another, WORDS=none the catalog-only encoder), tune Item2Vec, the
# hybrid, the fused vectors and the baselines (item-kNN, transition, EASE) on
# the validation split, then `compare --tuned` on the test split with 95%
# intervals over users and Item2Vec seeds.  Prints each table as Markdown
# (value ± half the interval; bold = significantly best in that column) with
# the CPU and load it ran under.
#
#   demo       the synthetic shop (`gen demo`, 2,000 items)
#   ml         MovieLens ml-latest-small from $DATA/ml-latest-small
#   epub       ePub-WU document downloads ($DATA/epub-wu: ~900 docs, 15k sessions),
#              the small-catalog click dataset
#   groceries  arules Groceries baskets ($DATA/groceries: 169 items, 9,835 baskets)
#
# DATA defaults to /work/shared/data (read only: bench/realdata.sh converts
# into a temporary folder, never into the repository).  Budgets: TRIALS (20),
# TUNE_TIME seconds (300), REPEATS (3), THREADS (2).  A dataset that is absent
# is skipped with a message.
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
APP=${EMBEDLAB:-$here/build/release/embedlab}
DATA=${DATA:-/work/shared/data}
cd "$here" && . bench/realdata.sh
TRIALS=${TRIALS:-20}
TUNE_TIME=${TUNE_TIME:-300}
REPEATS=${REPEATS:-3}
THREADS=${THREADS:-2}
PY=/usr/bin/python3
WORDS=${WORDS:-$here/build/share/embedlab/models/words-en.ewv}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
what=${1:-all}

[ -x "$APP" ] || { echo "build embedlab first (make)"; exit 1; }
[ -x "$PY" ] || { echo "needs $PY (scripts/deps.sh bench)"; exit 1; }
[ "$WORDS" = none ] || [ -f "$WORDS" ] ||
    { echo "no words file $WORDS: make builtin-model (or WORDS=none)"; exit 1; }

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
    print("    " + n.replace(sys.argv[1], ""))
' "$tmp/"
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

sqlite_count() {
    "$PY" -c 'import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute("SELECT count(*) FROM " + sys.argv[2]).fetchone()[0])' "$1" "$2"
}

# The models of a loaded database: Item2Vec with its defaults, the builtin
# text encoder, the fused vectors.
prepare() {
    "$APP" --db "$1" -c 'train item2vec' -c "encode text words=$WORDS" -c 'fuse text item2vec' \
        >"$tmp/prep.txt" || { cat "$tmp/prep.txt"; return 1; }
    sed -n 's/^\(sample=auto .*\|subsampling .*\)/    train item2vec: \1/p' "$tmp/prep.txt"
}

# Tune on the validation split, then compare on the test split.
evaluate() {
    local db=$1 args=${2:-}
    "$APP" --db "$db" -c "tune item2vec trials=$TRIALS time=$TUNE_TIME threads=$THREADS $args" \
        -c "tune hybrid threads=$THREADS $args" -c "tune fused threads=$THREADS $args" \
        -c "tune baselines threads=$THREADS $args" >"$tmp/tune.txt" ||
        { cat "$tmp/tune.txt"; return 1; }
    "$APP" --db "$db" -c "tune show" | sed 's/^/    tuned /'
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
    "$APP" --db "$tmp/demo.db" -c 'gen demo' >/dev/null || return 1
    prepare "$tmp/demo.db" || return 1
    "$APP" --db "$tmp/demo.db" --json -c "eval threads=$THREADS" -c "eval --cold threads=$THREADS" \
        -c "eval --complements threads=$THREADS" -c "eval --substitutes threads=$THREADS" \
        >"$tmp/cases.json" || { cat "$tmp/cases.json"; return 1; }
    md_cases <"$tmp/cases.json" || return 1
    evaluate "$tmp/demo.db"
}

# load NAME DB: the dataset into DB (bench/realdata.sh); 77 when it is absent.
load() {
    realdata_db "$1" "$2"
    local rc=$?
    [ $rc -eq 77 ] && echo "(skipped: no $1 dataset under $DATA)"
    [ $rc -eq 0 ] || [ $rc -eq 77 ] || echo "loading $1 failed"
    return $rc
}

ml() {
    load ml "$tmp/ml.db" || return $(($? == 77 ? 0 : 1))
    header "MovieLens ml-latest-small (9,742 movies, 100,836 ratings, 610 users)"
    prepare "$tmp/ml.db" && evaluate "$tmp/ml.db"
}

epub() {
    load epub "$tmp/epub.db" || return $(($? == 77 ? 0 : 1))
    header "ePub-WU downloads (small-catalog click data: $(sqlite_count "$tmp/epub.db" items) documents, $(sqlite_count "$tmp/epub.db" "(SELECT DISTINCT session FROM events)") sessions)"
    prepare "$tmp/epub.db" && evaluate "$tmp/epub.db"
}

groceries() {
    load groceries "$tmp/groc.db" || return $(($? == 77 ? 0 : 1))
    header "Groceries baskets (169 items, 9,835 baskets; no users or times: each basket's last item, in file order, is held out)"
    prepare "$tmp/groc.db" && evaluate "$tmp/groc.db"
}

case "$what" in
demo|ml|epub|groceries) "$what" ;;
all) demo; ml; epub; groceries ;;
*) echo "usage: $0 [demo|ml|epub|groceries|all]"; exit 2 ;;
esac
