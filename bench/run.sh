#!/bin/bash
# run.sh [--compare] BUILD_DIR - the benchmarks.
#   make bench          our own figures: Item2Vec training, vector indexes,
#                       import speed, TUI `similar` latency (no Python needed)
#   make bench-compare  side by side with the established tools in one run:
#                       gensim (Item2Vec), PyTorch (BERT encoder), FAISS and
#                       hnswlib (indexes); exits non-zero if one is missing
# Absolute timings are noisy on a shared machine: read the ratios.
set -u
compare=0
if [ "${1:-}" = "--compare" ]; then compare=1; shift; fi
BUILD=${1:-build/release}
PY=/usr/bin/python3
status=0
run() { echo "== $*"; "$@" || { echo "FAILED: $*"; status=1; }; }

if [ $compare -eq 0 ]; then
    run "$BUILD/bench/bench_sgns"
    run "$BUILD/bench/bench_index"
    run "$BUILD/bench/bench_import" 2000000
    command -v tmux >/dev/null && run env EMBEDLAB="$PWD/$BUILD/embedlab" bash bench/tui_similar.sh
    echo "(bench_bert needs a model written by PyTorch: see make bench-compare)"
    exit $status
fi
for m in gensim torch faiss hnswlib numpy; do
    if ! $PY -c "import $m" 2>/dev/null; then
        echo "bench-compare: python3-$m is missing (scripts/deps.sh bench installs it)" >&2
        exit 1
    fi
done
run $PY bench/compare_gensim.py --bench "$BUILD/bench/bench_sgns" --corpus-file \
    $( [ -f ../shared/data/ml-latest-small/ratings.csv ] && echo --ratings ../shared/data/ml-latest-small/ratings.csv )
run $PY bench/compare_bert.py "$BUILD"
run $PY bench/compare_index.py --bench "$BUILD/bench/bench_index"
exit $status
