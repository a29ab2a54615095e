#!/bin/bash
# text_results.sh - the builtin text encoder's figures (bench/RESULTS-text.md),
# one command, printed as Markdown:
#
#   bash bench/text_results.sh            (after `make builtin-model` and `make bench`)
#
#   1. the words file: `make builtin-model` timed into a temporary folder, its
#      size, and whether it equals build/share/embedlab/models/words-en.ewv
#      byte for byte (the target is deterministic); SKIP_BUILD=1 skips the build;
#   2. sentence similarity (Spearman x 100) on the dev pairs
#      tests/fixtures/textsim/dev.tsv and sts_style.tsv: TF-IDF, the
#      catalog-only builtin encoder (words=none, what `encode text` did before)
#      and the pretrained one; 2b. the pretrained one's options (lex_weight,
#      sif_a, n_pc) on each set's odd pairs (to choose on) and even pairs (held out);
#   3. `query "noise cancelling headphones"` on the demo shop, both encoders;
#   4. `eval` on the demo shop and MovieLens ml-latest-small ($DATA): the text
#      (LLM) row's R@10 and R@50 with 95% intervals, both encoders;
#   5. encoding speed (textenc_encode alone, one thread, best of 5) on the
#      demo shop's and MovieLens's item texts.
#
# DATA defaults to /work/shared/data (read only; copies go to a temporary
# folder).  A dataset that is absent is skipped with a message.
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
APP=${EMBEDLAB:-$here/build/release/embedlab}
BENCH=${BENCH_TEXTSIM:-$here/build/release/bench/bench_textsim}
WORDS=${WORDS:-$here/build/share/embedlab/models/words-en.ewv}
DATA=${DATA:-/work/shared/data}
PY=/usr/bin/python3
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

[ -x "$APP" ] && [ -x "$BENCH" ] || { echo "build first: make && make -f mk/build.mk build/release/bench/bench_textsim"; exit 1; }
[ -f "$WORDS" ] || { echo "no $WORDS: make builtin-model"; exit 1; }
[ -x "$PY" ] || { echo "needs $PY (scripts/deps.sh bench)"; exit 1; }
cd "$here" || exit 1

echo "CPU: $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) cores; load before: $(cut -d' ' -f1-3 /proc/loadavg); $(date -u '+%Y-%m-%d %H:%M UTC'); $("$APP" -V)"
echo

echo "### 1. The words file"
echo
size=$(stat -c %s "$WORDS")
if [ "${SKIP_BUILD:-0}" = 1 ]; then
    echo "size $(awk -v s="$size" 'BEGIN { printf "%.1f MB", s / 1e6 }') ($WORDS); build not timed (SKIP_BUILD=1)"
else
    make -s -f mk/build.mk all >"$tmp/build.log" 2>&1 || { cat "$tmp/build.log"; exit 1; }
    TIMEFORMAT='%R %U %S'
    { time make -s -f mk/build.mk builtin-model WORDS_DIR="$tmp/models" >"$tmp/build.log" 2>&1 ||
        { cat "$tmp/build.log"; exit 1; }; } 2>"$tmp/time"
    read -r real user sys <"$tmp/time"
    # the same build must give the same file: compare with the one `make
    # builtin-model` made before (it differs when that one came from an older build)
    same=$(cmp -s "$tmp/models/words-en.ewv" "$WORDS" && echo "yes" ||
           echo "no ($(stat -c %y "$WORDS" | cut -c1-16))")
    echo "| what | value |"
    echo "| --- | ---: |"
    echo "| make builtin-model, wall clock | $real s |"
    awk -v u="$user" -v s="$sys" 'BEGIN { printf "| make builtin-model, CPU (user + sys) | %.1f s |\n", u + s }'
    echo "| load after the build | $(cut -d' ' -f1-3 /proc/loadavg) |"
    awk -v s="$(stat -c %s "$tmp/models/words-en.ewv")" 'BEGIN { printf "| size | %.1f MB |\n", s / 1e6 }'
    echo "| sha256 | $(sha256sum "$tmp/models/words-en.ewv" | cut -c1-16)... |"
    echo "| the same bytes as $WORDS | $same |"
    grep -E 'words|tokens|loss|seconds|subword' "$tmp/build.log" | sed 's/^/    /'
fi
echo

echo "### 2. Sentence similarity on the dev pairs"
echo
echo "No standard STS test split is available offline here.  Two sets of pairs"
echo "written for embedlab stand in: dev.tsv (hard for word overlap) and"
echo "sts_style.tsv (the STS Benchmark's genres, score spread and word overlap)."
for set in dev sts_style; do
    f=tests/fixtures/textsim/$set.tsv
    echo
    echo "$f ($(grep -vc '^#' "$f") pairs):"
    echo
    "$BENCH" "$f" words="$WORDS" | sed -n '/^|/p'
    "$BENCH" "$f" words="$WORDS" lex_weight=0 baselines=0 |
        sed -n 's/^| \(builtin: [^|]*\)|/| \1, meaning part only (lex_weight=0) |/p'
done
echo

# spearman FILE HALF OPTS...: the pretrained encoder's Spearman x 100
spearman() {
    local f=$1 h=$2
    shift 2
    "$BENCH" "tests/fixtures/textsim/$f.tsv" words="$WORDS" baselines=0 half="$h" "$@" |
        sed -n 's/^| builtin:[^|]*| \([-0-9.]*\) .*/\1/p'
}
echo "### 2b. The options against the two halves of the pairs"
echo
echo "Each set split into its odd pairs (half 1, to choose the options on) and"
echo "its even pairs (half 2, held out); Spearman x 100; mean = of the two sets."
echo "The defaults are marked *."
echo
echo "| lex_weight | sif_a | n_pc | dev h1 | sts h1 | mean h1 | dev h2 | sts h2 | mean h2 |"
echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
for lw in 0 0.2 0.3 0.4 0.5; do
    for a in 1e-4 3e-4 1e-3; do
        for pc in 1 2; do
            o="lex_weight=$lw sif_a=$a n_pc=$pc"
            # shellcheck disable=SC2086
            echo "$lw $a $pc $(spearman dev 1 $o) $(spearman sts_style 1 $o)" \
                 "$(spearman dev 2 $o) $(spearman sts_style 2 $o)"
        done
    done
done | awk '{ d = ($1 == 0.4 && $2 == "3e-4" && $3 == 1) ? "*" : "";
              printf "| %s%s | %s | %s | %s | %s | %.1f | %s | %s | %.1f |\n", $1, d, $2, $3,
                     $4, $5, ($4 + $5) / 2, $6, $7, ($6 + $7) / 2 }'
echo

echo "### 3. query \"noise cancelling headphones\" on the demo shop"
echo
"$APP" --db "$tmp/demo.db" -c 'gen demo' -c 'train item2vec' >/dev/null || exit 1
for w in none "$WORDS"; do
    "$APP" --db "$tmp/demo.db" -c "encode text words=$w" -c 'query "noise cancelling headphones" k=5' \
        >"$tmp/q.txt" || { cat "$tmp/q.txt"; exit 1; }
    echo "$(sed -n 's/^text: [0-9]* items x \([0-9]*\) dims with \(.*\) in .*/\2 (\1 dims)/p' "$tmp/q.txt"):"
    echo
    sed -n '/^LLM$/,/^latency/p' "$tmp/q.txt" | sed -n '2,7p' | sed 's/^/    /'
    echo
done

# eval_rows DB LABEL: the LLM and Hybrid rows of `eval`, as Markdown rows
eval_rows() {
    "$APP" --db "$1" --json -c 'eval threads=2' >"$tmp/ev.json" || { cat "$tmp/ev.json"; return 1; }
    "$PY" - "$2" "$tmp/ev.json" <<'PY'
import json, sys
label, path = sys.argv[1], sys.argv[2]
res = [json.loads(l) for l in open(path) if l.strip()]
t = [t for r in res for t in r["tables"] if t.get("kind") == "metrics"][0]
def cell(r, m):
    return "%.4f [%.4f, %.4f]" % (r[m], r[m + " lo"], r[m + " hi"])
for r in t["rows"]:
    if r["method"] == "LLM" or r["method"].startswith("Hybrid"):
        print("| %s | %s | %s | %s |" % (label, r["method"], cell(r, "R@10"), cell(r, "R@50")))
PY
}

echo "### 4. Recommendation quality of the text column (\`eval\`, 95% intervals over users)"
echo
echo "| dataset, encoder | method | R@10 | R@50 |"
echo "| --- | --- | ---: | ---: |"
for w in none "$WORDS"; do
    lab=$([ "$w" = none ] && echo "catalog only (words=none)" || echo "dictionary-pretrained")
    "$APP" --db "$tmp/demo.db" -c "encode text words=$w" >/dev/null || exit 1
    eval_rows "$tmp/demo.db" "demo shop, $lab" || exit 1
done
ml=$DATA/ml-latest-small
if [ -f "$ml/ratings.csv" ]; then
    "$APP" --db "$tmp/ml.db" -c "load movielens $ml" -c 'train item2vec' >/dev/null || exit 1
    for w in none "$WORDS"; do
        lab=$([ "$w" = none ] && echo "catalog only (words=none)" || echo "dictionary-pretrained")
        "$APP" --db "$tmp/ml.db" -c "encode text words=$w" >/dev/null || exit 1
        eval_rows "$tmp/ml.db" "MovieLens, $lab" || exit 1
    done
else
    echo "(MovieLens skipped: no $ml)"
fi
echo

echo "### 5. Encoding speed (textenc_encode alone, one thread, best of 5 passes)"
echo
texts() {   # the items' texts as `encode text` builds them, one per line
    "$PY" - "$1" >"$2" <<'PY'
import sqlite3, sys
for t, c, d in sqlite3.connect(sys.argv[1]).execute(
        "select title, category, description from items order by id"):
    print(" ".join(("%s. %s. %s" % (t, c, d)).split()))
PY
}
texts "$tmp/demo.db" "$tmp/demo.txt"
"$BENCH" tests/fixtures/textsim/dev.tsv words="$WORDS" speed="$tmp/demo.txt" |
    sed -n '/^encoding speed/,$p' | sed "s|$tmp/demo.txt|the demo shop's items|"
if [ -f "$tmp/ml.db" ]; then
    texts "$tmp/ml.db" "$tmp/ml.txt"
    echo
    "$BENCH" tests/fixtures/textsim/dev.tsv words="$WORDS" speed="$tmp/ml.txt" |
        sed -n '/^encoding speed/,$p' | sed "s|$tmp/ml.txt|MovieLens's items|"
fi
echo
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
