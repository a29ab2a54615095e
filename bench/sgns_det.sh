#!/bin/bash
# sgns_det.sh [BUILD] - Item2Vec training: the deterministic rounds (the
# default) against Hogwild (hogwild=1), side by side in one run.
#
# bench_sgns trains on its synthetic corpus (20,000 items) and on
# ml-latest-small (EMBEDLAB_RATINGS, else /work/shared/data/... or the
# repository's neighbour ../shared/data; skipped when absent), dim 64, window
# 5, negative 5, 5 epochs, seed 1, and scores hit-rate@10 on each session's
# held-out last item.  Every configuration runs REPEATS times (default 3),
# interleaved so they all see the same load; the table shows the median
# tokens*epochs per wall second, the median process CPU seconds of training,
# the ratio of the medians to Hogwild with 2 threads, and the hit rate (the
# deterministic runs give one value; Hogwild's min..max over its repeats).
# Then the determinism check: the exported vectors of 1 and 2 threads
# (and 3), on the dispatched kernels and on EMBEDLAB_ISA=baseline, compared
# byte for byte.  EVAL=0 / DETERMINISM=0 leave those parts out.
set -u
BUILD=${1:-build/release}
R=${REPEATS:-3}
BENCH=$BUILD/bench/bench_sgns
export OPENBLAS_NUM_THREADS=1
if [ -z "${EMBEDLAB_RATINGS:-}" ]; then
    for f in /work/shared/data/ml-latest-small/ratings.csv \
             ../shared/data/ml-latest-small/ratings.csv \
             ../../shared/data/ml-latest-small/ratings.csv; do
        if [ -r "$f" ]; then export EMBEDLAB_RATINGS=$f; break; fi
    done
fi
[ -x "$BENCH" ] || make -f mk/build.mk "$BENCH" >/dev/null || exit 1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
load() { uptime | sed 's/.*load average: *//'; }
echo "# $(date -u '+%Y-%m-%d %H:%M UTC'); CPU: $(lscpu | sed -n 's/^Model name: *//p');" \
     "$("$BUILD/embedlab" -V 2>/dev/null | head -1)${EMBEDLAB_ISA:+ (EMBEDLAB_ISA=$EMBEDLAB_ISA)};" \
     "load average: $(load)"
# configuration: tag, threads, extra bench_sgns flags
CONFIGS=("hogwild-2 2 --hogwild" "rounds-2 2" "rounds-1 1")
for ((i = 1; i <= R; i++)); do
    for c in "${CONFIGS[@]}"; do
        set -- $c
        tag=$1 th=$2
        shift 2
        "$BENCH" --threads "$th" "$@" | awk -v tag="$tag" '/^result / { print tag, $0 }' \
            >> "$tmp/results" || echo "FAILED: $tag"
    done
done
echo "# load average after: $(load); $R repeats each"
echo
awk '
    function kv(s, k,   a) { split(s, a, "="); return a[2] }
    {
        tag = $1; ds = ""; for (i = 2; i <= NF; i++) {
            split($i, a, "=")
            if (a[1] == "dataset") ds = a[2]
            else if (a[1] == "tok_per_s") tps = a[2]
            else if (a[1] == "cpu_s") cpu = a[2]
            else if (a[1] == "hit10") hit = a[2]
        }
        k = ds SUBSEP tag
        n[k]++; T[k, n[k]] = tps; C[k, n[k]] = cpu
        if (!(k in lo) || hit < lo[k]) lo[k] = hit
        if (!(k in hi) || hit > hi[k]) hi[k] = hit
        if (!(ds in seen)) { seen[ds] = 1; dss[++nds] = ds }
        if (!(tag in tseen)) { tseen[tag] = 1; tags[++ntag] = tag }
    }
    function med(A, k, m,   i, j, t, v) {
        for (i = 1; i <= m; i++) v[i] = A[k, i] + 0
        for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
        return m % 2 ? v[(m + 1) / 2] : (v[m / 2] + v[m / 2 + 1]) / 2
    }
    END {
        for (d = 1; d <= nds; d++) {
            ds = dss[d]; ref = ds SUBSEP "hogwild-2"
            rt = med(T, ref, n[ref]); rc = med(C, ref, n[ref])
            printf "%s\n%-10s %14s %9s %13s %9s %17s\n", ds, "schedule", "tok*ep/s wall",
                   "x hog-2", "CPU s train", "x hog-2", "hit-rate@10"
            for (t = 1; t <= ntag; t++) {
                k = ds SUBSEP tags[t]
                if (!(k in n)) continue
                mt = med(T, k, n[k]); mc = med(C, k, n[k])
                h = lo[k] == hi[k] ? lo[k] : lo[k] ".." hi[k]
                printf "%-10s %14.0f %9.2f %13.2f %9.2f %17s\n", tags[t], mt, mt / rt, mc,
                       mc / rc, h
            }
            print ""
        }
    }' "$tmp/results"

# eval's Item2Vec row (20 epochs, the defaults) with each schedule: R@10 and
# R@50, the mean over users and REPEATS seeds with half its 95% interval.
APP=$BUILD/embedlab
[ "${EVAL:-1}" = 1 ] || R=0
ML_DIR=$(dirname "${EMBEDLAB_RATINGS:-/nonexistent/x}")
[ "$R" -gt 0 ] && echo "eval (Item2Vec row; threads=2, repeats=$R; mean ± half the 95% interval):" &&
    printf "  %-10s %-9s %-20s %-20s\n" dataset schedule "R@10" "R@50"
for ds in demo ml; do
    [ "$R" -gt 0 ] || break
    db=$tmp/$ds.db
    if [ $ds = demo ]; then
        "$APP" --db "$db" -c 'gen demo' >/dev/null || continue
    else
        [ -r "$ML_DIR/movies.csv" ] || { echo "  ml: $ML_DIR not found, skipped"; continue; }
        "$APP" --db "$db" -c "load movielens $ML_DIR" >/dev/null || continue
    fi
    for hw in 1 0; do
        # CSV: method, then each metric with its lo and hi; R@10 is field 5, R@50 field 14
        "$APP" --db "$db" --no-timing --csv -c "train item2vec threads=2 hogwild=$hw" \
            -c "eval threads=2 repeats=$R" | awk -F, -v ds=$ds -v s=$([ $hw = 1 ] && echo hogwild || echo rounds) '
            $1 == "Item2Vec" {
                printf "  %-10s %-9s %.4f ±%.4f       %.4f ±%.4f\n", ds, s, $5, ($7 - $6) / 2, $14, ($16 - $15) / 2
            }'
    done
done
echo

[ "${DETERMINISM:-1}" = 1 ] || exit 0
echo "determinism (exported word2vec binary files, sha256):"
status=0
for isa in "" baseline; do
    for th in 1 2 3; do
        mkdir -p "$tmp/v$isa$th"
        EMBEDLAB_ISA=${isa:-${EMBEDLAB_ISA:-}} "$BENCH" --threads $th --out "$tmp/v$isa$th" \
            > /dev/null || status=1
    done
    for f in "$tmp/v${isa}1"/*.ours.bin; do
        b=$(basename "$f")
        s1=$(sha256sum < "$f" | cut -c1-16)
        s2=$(sha256sum < "$tmp/v${isa}2/$b" | cut -c1-16)
        s3=$(sha256sum < "$tmp/v${isa}3/$b" | cut -c1-16)
        same=identical; [ "$s1" = "$s2" ] && [ "$s1" = "$s3" ] || { same=DIFFERENT; status=1; }
        printf "  %-9s %-20s threads=1 %s  threads=2 %s  threads=3 %s  %s\n" \
            "${isa:-dispatch}" "$b" "$s1" "$s2" "$s3" "$same"
    done
done
exit $status
