#!/bin/bash
# isa_levels.sh [BUILD_DIR] [ROUNDS] - the dispatched kernels of every ISA
# level this CPU runs, side by side in one build: EMBEDLAB_ISA caps the
# level (baseline, avx2, ...) and everything else stays the same, so a
# column is what that level's kernel copy earns.
#
# Rows: the BERT elementwise kernels and attention over a batch of 32
# sentences x 16 tokens (bench_bert_kern, microseconds, all levels in one
# process); flat sq8 single-query q/s without and with the exact re-rank
# (bench_index, ISA_LEVELS_N rows, default 100,000, x 384, 1,000 queries,
# one thread); and, when BUILD_DIR/bench-minilm exists (bench/compare_bert.py
# writes it), the whole BERT fp32 encoder: sentences/s over its first 400
# texts (batch 32, 2 threads; the big products run on OpenBLAS, which picks
# its own kernels whatever the level).  Each program runs ROUNDS (default 3)
# times, the levels alternating within a round so they see the same load;
# the best of each is printed, with the last level's ratio to baseline.
set -u
B=${1:-build/release}
R=${2:-3}
N=${ISA_LEVELS_N:-100000}
for p in embedlab bench/bench_bert_kern bench/bench_index bench/bench_bert; do
    [ -x "$B/$p" ] || { echo "isa_levels.sh: $B/$p missing (make -j2 all bench)" >&2; exit 1; }
done
if [ -z "${OPENBLAS_CORETYPE:-}" ]; then
    if grep -qw avx512f /proc/cpuinfo; then export OPENBLAS_CORETYPE=SkylakeX
    elif grep -qw avx2 /proc/cpuinfo; then export OPENBLAS_CORETYPE=Haswell; fi
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# the levels up to the best this CPU has (bench_bert_kern names it)
best=$(env -u EMBEDLAB_ISA "$B/bench/bench_bert_kern" reps=1 batch=1 len=1 |
       sed -n 's/^# cpu level in force: //p')
levels=""
for l in baseline avx2 avx512 avx512vnni avx512bf16 amx; do
    levels="$levels $l"
    [ "$l" = "$best" ] && break
done
echo "# $(date -u '+%Y-%m-%d %H:%M UTC'); CPU: $(lscpu | sed -n 's/^Model name: *//p');" \
     "load average:$(uptime | sed 's/.*load average://')"
echo "# $("$B/embedlab" -V); levels:$levels; $R rounds, best of each"
m=$B/bench-minilm
head -400 "$m/texts.txt" > "$tmp/texts" 2>/dev/null
for r in $(seq "$R"); do
    env -u EMBEDLAB_ISA "$B/bench/bench_bert_kern" reps=30 |
        awk -v L="$levels" 'BEGIN { nl = split(L, lv, " ") }
             !/^#/ { for (i = 2; i <= NF && i <= nl + 1; i++) print $1 "_us", lv[i - 1], $i }' \
        >> "$tmp/rows"
    for l in $levels; do
        EMBEDLAB_ISA=$l "$B/bench/bench_index" --n "$N" --nq 1000 --dim 384 --no-files \
            --only sq8 2>/dev/null |
            awk -F'\t' '!/^#/ && NF >= 8 { gsub(/ /, "_", $1); print $1 "_qps", L, $4 }' L="$l" \
            >> "$tmp/rows"
        if [ -f "$m/model.safetensors" ] && [ -s "$tmp/texts" ]; then
            EMBEDLAB_ISA=$l "$B/bench/bench_bert" "$m" "$tmp/texts" threads=2 blas=1 batch=32 \
                reps=1 precision=fp32 2>/dev/null |
                sed -n 's/.*"sent_per_s": \([0-9.]*\).*/bert_fp32_sent_per_s '"$l"' \1/p' >> "$tmp/rows"
        fi
    done
done
printf "%-28s" measure
for l in $levels; do printf " %12s" "$l"; done
printf " %10s\n" "last/base"
awk -v L="$levels" '
    { k = $1; lev = $2; v = $3 + 0; lower = (k ~ /_us$/)
      if (!((k, lev) in b) || (lower ? v < b[k, lev] : v > b[k, lev])) b[k, lev] = v
      if (!(k in seen)) { seen[k] = 1; order[++n] = k } }
    END { nl = split(L, lv, " ")
          for (i = 1; i <= n; i++) { k = order[i]; printf "%-28s", k
              for (j = 1; j <= nl; j++) printf " %12.1f", b[k, lv[j]]
              f = b[k, lv[1]]; t = b[k, lv[nl]]
              r = (k ~ /_us$/) ? (t > 0 ? f / t : 0) : (f > 0 ? t / f : 0)
              printf " %10.2f\n", r } }' "$tmp/rows"
echo "# last/base: how many times faster the last level is than baseline (time or rate)"
echo "# load average at the end:$(uptime | sed 's/.*load average://')"
