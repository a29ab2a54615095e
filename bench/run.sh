#!/bin/bash
# run.sh [--compare|--scale] BUILD_DIR - the benchmarks.
#   make bench          our own figures: Item2Vec training and --update, vector
#                       indexes (search, and build/save/load/remove/add of ids;
#                       HNSW beside hnswlib built with -O3 -march=native),
#                       WordPiece tokenizing, import speed, TUI `similar` latency,
#                       `embedlab serve` under wrk (Python's standard library only)
#   make bench-compare  side by side with the established tools in one run:
#                       gensim (Item2Vec), PyTorch (BERT encoder; the
#                       embed/encode/query commands whole process), FAISS and
#                       hnswlib (indexes), PyTorch behind FastAPI (the server);
#                       exits non-zero if one is missing
#   make bench-scale    the index at 1,000,000 x 384: flat (exact, batch), IVF
#                       nlist=4096 and HNSW M=32 ef_construction=200 built with
#                       2 threads; build time, index memory, peak RSS, recall@10
#                       and q/s per nprobe/ef, then a table (about an hour on 2
#                       cores: not in CI).  SCALE_ARGS adds bench_index options
#                       (e.g. SCALE_ARGS="--only hnsw"); the raw rows are kept
#                       in BUILD/bench-scale.tsv.
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
run() { echo "== $*"; "$@" || { echo "FAILED: $*"; status=1; }; }
# Every table says which machine and kernels it comes from (EMBEDLAB_ISA caps
# the kernels of the bench programs as it does embedlab's).
echo "# $(date -u '+%Y-%m-%d %H:%M UTC'); CPU: $(lscpu | sed -n 's/^Model name: *//p');" \
     "$("$BUILD/embedlab" -V 2>/dev/null)${EMBEDLAB_ISA:+ (EMBEDLAB_ISA=$EMBEDLAB_ISA)};" \
     "load average:$(uptime | sed 's/.*load average://')"
if [ "$compare" = scale ]; then
    # nlist 4096 = FAISS's 4*sqrt(n) rule at 1M (~244 vectors per list): the
    # coarse scan (4096 centroids) then costs about as much as the 16 lists
    # it picks; 1,000 single-query flat scans of 1.5 GB would take minutes
    # and add nothing over 200.
    raw=$BUILD/bench-scale.tsv
    echo "# $(date -u '+%Y-%m-%d %H:%M UTC')  load average:$(uptime | sed 's/.*load average://')"
    set -o pipefail
    run "$BUILD/bench/bench_index" --n 1000000 --nq 1000 --no-files --flat-nq 200 \
        --nlist 4096 --nprobe 8,16,32,64 --hnsw-m 32 --efc 200 --threads 2 \
        --ef 16,32,64,128,256 --only flat,ivf,hnsw ${SCALE_ARGS:-} | tee "$raw" || status=1
    echo "# $(date -u '+%Y-%m-%d %H:%M UTC')  load average:$(uptime | sed 's/.*load average://')"
    echo
    awk -F'\t' '
        /^# (n|nq|dim|blas_core|hnsw_build_threads|nlist|flat_single_nq|data_rss_mb|stream_read_gbs) / { printf "%s  ", substr($0, 3) }
        !/^#/ && NF >= 8 {
            if (!hdr++) printf "\n%-18s %9s %9s %10s %13s %9s %8s %9s %10s\n", "row", "build s",
                "build cpu", "index MiB", "peak RSS MiB", "q/s", "R@10", "p50 us", "p99 us"
            printf "%-18s %9.1f %9s %10.1f %13.0f %9.1f %8.4f %9.1f %10.1f\n", $1, $2,
                (NF >= 9 ? sprintf("%.1f", $9) : "-"), $3, $8, $4, $5, $6, $7
        }' "$raw"
    exit $status
fi

if [ $compare -eq 0 ]; then
    run "$BUILD/bench/bench_sgns"
    run "$BUILD/bench/bench_index"
    run "$BUILD/bench/bench_index_io"
    # HNSW beside hnswlib compiled for this CPU (-O3 -march=native), on the
    # harder 100k x 384 set (recall is not free there), one thread
    run $PY bench/compare_hnsw.py "$BUILD" --set hard
    run "$BUILD/bench/bench_wordpiece"
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
    # embedlab serve under wrk (loopback, 10 s per row): /v1/similar and
    # embeddings on the demo shop, then 1,000 hostile requests
    if command -v wrk >/dev/null; then run $PY bench/serve_compare.py "$BUILD" --no-peer
    else echo "(serve load test skipped: wrk is not installed; scripts/deps.sh bench)"; fi
    echo "(bench_bert needs a model written by PyTorch: see make bench-compare)"
    exit $status
fi
for m in gensim torch faiss hnswlib numpy fastapi uvicorn; do
    if ! $PY -c "import $m" 2>/dev/null; then
        echo "bench-compare: python3-$m is missing (scripts/deps.sh bench installs it)" >&2
        exit 1
    fi
done
run $PY bench/compare_gensim.py --bench "$BUILD/bench/bench_sgns" --corpus-file \
    $( [ -f ../shared/data/ml-latest-small/ratings.csv ] && echo --ratings ../shared/data/ml-latest-small/ratings.csv )
run $PY bench/compare_bert.py "$BUILD"
# the product's own commands (embed --jsonl, encode text, query), whole
# process, beside PyTorch in its best configuration on this machine
run $PY bench/compare_commands.py "$BUILD"
run $PY bench/compare_index.py --bench "$BUILD/bench/bench_index"
# embedlab serve beside the same MiniLM-shape model in PyTorch behind FastAPI
run $PY bench/serve_compare.py "$BUILD"
exit $status
