#!/bin/bash
# check_isa.sh BUILD_DIR [OBJECT...] - proves that the objects of a default (baseline
# x86-64) build hold no instruction above x86-64 outside the dispatched
# kernels: every object under BUILD_DIR/src except the per-level kernel
# copies (*_kernels.<level>.o) is disassembled, and any VEX/EVEX-encoded
# (AVX, AVX2, AVX-512), AMX, opmask, BMI, SSE3..SSE4.2, POPCNT, LZCNT, MOVBE
# or XGETBV instruction is reported with its object and function, unless the
# function is listed below (code that runs only after a CPUID check; a
# compiler clone such as amx_gemm.constprop.0 counts as its function).
# Exits 1 on a finding.  `make check-isa`; `make test` runs it.
#
# check_isa.sh --qemu BUILD_DIR (`make check-isa-qemu`) runs the programs
# instead, on an emulated baseline x86-64 CPU (qemu-x86_64 -cpu qemu64: SSE2
# and SSE3, no AVX; an instruction above it is SIGILL): test_isa, `info`
# (which must report the baseline kernels), and the end-to-end command
# scripts tests/e2e/*.cmd against their expected output.
set -u
if [ "${1:-}" = --qemu ]; then
    BUILD=${2:-build/release}
    APP=$PWD/$BUILD/embedlab
    Q="qemu-x86_64 -cpu qemu64"
    command -v qemu-x86_64 >/dev/null || {
        echo "check-isa: qemu-x86_64 is missing (scripts/deps.sh isa installs qemu-user)" >&2; exit 2; }
    export LANG=C.UTF-8 LC_ALL=C.UTF-8 NO_COLOR= OPENBLAS_NUM_THREADS=1 CMOCKA_MESSAGE_OUTPUT=TAP
    # qemu64 calls itself an AMD CPU, so OpenBLAS's own run-time choice takes
    # its Opteron kernels, whose LAPACK paths (spotrf, used by EASE) start
    # with the 3DNow! instruction femms that qemu does not emulate: SIGILL in
    # the library, not in our code. Pin OpenBLAS to its plain SSE3 core; what
    # this check proves is that *our* code needs nothing above x86-64.
    export OPENBLAS_CORETYPE=Prescott
    unset EMBEDLAB_MODEL EMBEDLAB_ISA
    bad=0
    log=$(mktemp)
    trap 'rm -f "$log"' EXIT
    if (cd tests && $Q "../$BUILD/tests/test_isa") >"$log" 2>&1; then
        echo "check-isa qemu64: test_isa: $(grep -c '^ok ' "$log") ok, $(grep -c '# SKIP' "$log") skipped"
    else
        echo "check-isa qemu64: test_isa FAILED"; tail -20 "$log"; bad=1
    fi
    if $Q "$APP" --db :memory: -c info 2>&1 | grep -q '^kernels *baseline (best this CPU has: baseline)'; then
        echo "check-isa qemu64: info reports the baseline kernels"
    else
        echo "check-isa qemu64: info does not report the baseline kernels"; bad=1
    fi
    for c in tests/e2e/*.cmd; do
        (cd tests/e2e && $Q "$APP" --batch --db :memory: --no-timing < "$(basename "$c")") >"$log" 2>&1
        if diff -q "${c%.cmd}.out" "$log" >/dev/null; then
            echo "check-isa qemu64: $(basename "$c"): ok"
        else
            echo "check-isa qemu64: $(basename "$c"): FAILED"; diff "${c%.cmd}.out" "$log" | head -20; bad=1
        fi
    done
    exit $bad
fi
BUILD=${1:-build/release}
shift
# object:function pairs allowed to use instructions above the baseline
ALLOW='
src/base/cpu.o:xgetbv0
src/model/bert_amx.o:amx_convert
src/model/bert_amx.o:amx_gemm
src/model/bert_amx.o:bert_amx_linear
'
above='^(v[a-z0-9]+|k(and|andn|or|xor|xnor|not|mov|shiftl|shiftr|test|ortest|unpck|add)[bwdq]?|tile[a-z]*|tdp[a-z0-9]+|ldtilecfg|sttilecfg|andn|bextr|blsi|blsmsk|blsr|bzhi|mulx|pdep|pext|rorx|sarx|shlx|shrx|popcnt|lzcnt|tzcnt|movbe|crc32[bwlq]?|xgetbv|pshufb|palignr|pabs[bwd]|phadd[a-z]*|phsub[a-z]*|pmaddubsw|pmulhrsw|psign[bwd]|addsubp[sd]|haddp[sd]|hsubp[sd]|movddup|movs[hl]dup|lddqu|blendv?p[sd]|pblendvb|pblendw|dpp[sd]|extractps|insertps|mpsadbw|packusdw|pcmpeqq|pcmpgtq|pcmp[ei]str[im]|pextr[bdq]|pinsr[bdq]|pmax(sb|sd|ud|uw)|pmin(sb|sd|ud|uw)|pmov[sz]x[a-z]+|pmuldq|pmulld|ptest|round[ps][sd]|phminposuw|movntdqa)$'
# the objects to scan: as given (make passes those of the build, so a stale
# object left in BUILD_DIR is not mistaken for one), else every one under src
if [ $# -gt 0 ]; then
    objs=$(for o in "$@"; do echo "${o#"$BUILD"/}"; done | grep -v '_kernels\.[a-z0-9]*\.o$' | sort)
else
    objs=$(cd "$BUILD" && find src -name '*.o' ! -name '*_kernels.*.o' | sort)
fi
[ -n "$objs" ] || { echo "check-isa: no objects under $BUILD/src (build first)" >&2; exit 2; }
bad=0
n=0
for o in $objs; do
    n=$((n + 1))
    out=$(objdump -d --no-show-raw-insn "$BUILD/$o" | awk -v obj="$o" -v re="$above" -v allow="$ALLOW" '
        BEGIN { split(allow, a, "\n"); for (i in a) if (a[i] != "") ok[a[i]] = 1 }
        /^[0-9a-f]+ <.*>:$/ { fn = $2; gsub(/[<>:]/, "", fn); sub(/\..*/, "", fn); next }
        NF >= 2 && $1 ~ /:$/ {
            m = $2
            if (m ~ re && !((obj ":" fn) in ok) && !seen[fn ":" m]++)
                printf "%s: %s: %s\n", obj, fn, m
        }')
    if [ -n "$out" ]; then
        echo "$out"
        bad=1
    fi
done
if [ $bad -ne 0 ]; then
    echo "check-isa: instructions above x86-64 outside the dispatched kernels (see above)" >&2
    exit 1
fi
echo "check-isa: $n objects, no instruction above baseline x86-64 outside the kernels"
