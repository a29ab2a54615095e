#!/bin/bash
# run.sh [--compare|--scale] BUILD_DIR - the benchmarks.
#   make bench          our own figures: Item2Vec training and --update, vector
#                       indexes, import speed, TUI `similar` latency (no Python needed)
#   make bench-compare  side by side with the established tools in one run:
#                       gensim (Item2Vec), PyTorch (BERT encoder), FAISS and
#                       hnswlib (indexes); exits non-zero if one is missing
#   make bench-scale    the index at 1,000,000 x 384 (build time, memory, recall;
#                       long: not in CI)
# Absolute timings are noisy on a shared machine: read the ratios.
set -u
compare=0
if [ "${1:-}" = "--compare" ]; then compare=1; shift; fi
if [ "${1:-}" = "--scale" ]; then compare=scale; shift; fi
BUILD=${1:-build/release}
PY=/usr/bin/python3
status=0
# OpenBLAS 0.3.21 falls back to generic kernels on recent Xeons; embedlab
# re-executes itself with the right core type, the bench programs get it here.
if [ -z "${OPENBLAS_CORETYPE:-}" ]; then
    if grep -qw avx512f /proc/cpuinfo; then export OPENBLAS_CORETYPE=SkylakeX
    elif grep -qw avx2 /proc/cpuinfo; then export OPENBLAS_CORETYPE=Haswell; fi
fi
if [ "$compare" = scale ]; then
    run "$BUILD/bench/bench_index" --n 1000000
    exit $status
fi
run() { echo "== $*"; "$@" || { echo "FAILED: $*"; status=1; }; }

if [ $compare -eq 0 ]; then
    run "$BUILD/bench/bench_sgns"
    run "$BUILD/bench/bench_index"
    run "$BUILD/bench/bench_import" 2000000
    # train item2vec --update against a full retraining, on the demo data
    demo_db=$(mktemp -u /tmp/embedlab-demo-XXXXXX.db)
    run "$BUILD/embedlab" --db "$demo_db" --no-timing -c 'load catalog data/demo/catalog.csv' \
        -c 'load sessions data/demo/sessions.csv'
    for share in 0.2 0.05 0.01; do
        run "$BUILD/bench/bench_i2v_update" "$demo_db" --seeds 5 --new $share
    done
    rm -f "$demo_db" "$demo_db-wal" "$demo_db-shm"
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
