#!/bin/bash
# isa_compare.sh BEFORE_BUILD AFTER_BUILD [ROUNDS] - the kernels of two
# builds side by side on this machine: the dispatched kernels against a
# -march=native build, or one kernel change against the code before it.
#
# BEFORE_BUILD is a build dir of the code before the change (e.g. before
# run-time dispatch, built with -march=native: `git archive c85114e | tar -x
# -C /tmp/before && make -C /tmp/before -f mk/build.mk all $(echo build/release/bench/bench_{index,bert_gemm,sgns,bert})`;
# a bench program it lacks, such as bench_bert_kern, can be copied into its
# bench/ first), AFTER_BUILD one of this tree.  Each
# benchmark runs ROUNDS (default 2) times alternating before/after, so both
# see the same load; the best of each is printed.  Rows: single-query q/s of
# flat, flat sq8, IVF and HNSW (ISA_CMP_N rows, default 100,000, x 384, 1,000
# queries, one thread),
# the packed small-T products of a MiniLM pass (microseconds, T = 1, 16, 64),
# the BERT elementwise kernels and attention over a batch of 32 sentences
# (bench_bert_kern, microseconds, when both builds have it), Item2Vec training on the synthetic corpus (tokens/s, 2 threads) and, when
# AFTER_BUILD/bench-minilm exists (bench/compare_bert.py writes it), BERT
# fp32 sentences/s (batch 32, 2 threads) and single-sentence p50 ms.
set -u
B=${1:?before build dir}; A=${2:?after build dir}; R=${3:-2}; N=${ISA_CMP_N:-100000}
export OPENBLAS_NUM_THREADS=1
if [ -z "${OPENBLAS_CORETYPE:-}" ]; then
    if grep -qw avx512f /proc/cpuinfo; then export OPENBLAS_CORETYPE=SkylakeX
    elif grep -qw avx2 /proc/cpuinfo; then export OPENBLAS_CORETYPE=Haswell; fi
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "# $(date -u '+%Y-%m-%d %H:%M UTC'); CPU: $(lscpu | sed -n 's/^Model name: *//p');" \
     "load average:$(uptime | sed 's/.*load average://')"
echo "# after: $("$A/embedlab" -V)"
best() {   # best FILE... : per key the max (or min for *_us/_ms keys) value
    awk '{ k = $1; v = $2 + 0; lower = (k ~ /(_us|_ms)$/)
           if (!(k in b) || (lower ? v < b[k] : v > b[k])) b[k] = v; o[k] = NR }
         END { for (k in b) printf "%s %s\n", k, b[k] }' "$@" | sort
}
run_one() {   # run_one BUILD TAG
    local d=$1 t=$2 m
    "$d/bench/bench_index" --n "$N" --nq 1000 --no-files --only flat,sq8,ivf,hnsw \
        --nprobe 16 --ef 64 2>/dev/null |
        awk -F'\t' '!/^#/ && NF >= 8 { gsub(/ /, "_", $1); print "index_" $1 "_qps", $4 }' >> "$tmp/$t"
    "$d/bench/bench_bert_gemm" threads=1 reps=15 T=1,16,64 2>/dev/null |
        awk '!/^#/ && $1 ~ /^[0-9]+$/ { print "gemm_T" $1 "_pk_us", $2 }' >> "$tmp/$t"
    # its columns are the levels up to the one in force (then a ratio): the
    # last level's
    [ -x "$d/bench/bench_bert_kern" ] && "$d/bench/bench_bert_kern" reps=30 2>/dev/null |
        awk '!/^#/ && $2 ~ /^[0-9.]+$/ { print "bertk_" $1 "_us", (NF > 2 ? $(NF - 1) : $2) }' \
        >> "$tmp/$t"
    "$d/bench/bench_sgns" --dataset synth 2>/dev/null |
        sed -n 's/^result .*impl=ours.* tok_per_s=\([0-9.]*\).*/sgns_synth_tok_per_s \1/p' >> "$tmp/$t"
    m=$A/bench-minilm
    if [ -f "$m/model.safetensors" ] && [ -f "$m/texts.txt" ]; then
        "$d/bench/bench_bert" "$m" "$m/texts.txt" threads=2 blas=1 batch=32 reps=1 \
            "single=$(head -c 200 "$m/texts.txt" | head -1 | cut -d' ' -f1-14)" precision=fp32 2>/dev/null |
            tail -1 | sed 's/[{}",]//g' |
            awk '{ for (i = 1; i < NF; i++) { if ($i == "sent_per_s:") print "bert_fp32_sent_per_s", $(i + 1)
                                               if ($i == "p50_single_ms:") print "bert_fp32_p50_ms", $(i + 1) } }' >> "$tmp/$t"
    fi
}
for r in $(seq "$R"); do
    run_one "$B" before
    run_one "$A" after
done
best "$tmp/before" > "$tmp/b"
best "$tmp/after" > "$tmp/a"
printf "%-34s %14s %14s %8s\n" measure before after after/before
join "$tmp/b" "$tmp/a" | awk '{ printf "%-34s %14.1f %14.1f %8.2f\n", $1, $2, $3, ($2 > 0 ? $3 / $2 : 0) }'
echo "# load average at the end:$(uptime | sed 's/.*load average://')"
