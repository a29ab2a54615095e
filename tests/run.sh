#!/bin/bash
# run.sh BUILD_DIR - runs every suite and ends with `N passed, N failed`.
#   unit:  build/<cfg>/tests/test_*      (cmocka, TAP output, one line per test)
#   e2e:   tests/e2e/*.cmd + .out         (batch REPL, output diffed)
#          tests/e2e/*.sh                 (scripts: exit 0 pass, 77 skip, else fail)
#   tui:   tests/tui/*.sh                 (tmux-driven; 77 = skip)
# TEST_FILTER=substring runs only the matching tests.
set -u
BUILD=${1:-build/release}
APP=$PWD/$BUILD/embedlab
export EMBEDLAB=$APP EMBEDLAB_BUILD=$PWD/$BUILD
export LANG=C.UTF-8 LC_ALL=C.UTF-8 NO_COLOR=
unset EMBEDLAB_MODEL
# the catalog-only builtin encoder unless a test names a words file: the
# expected outputs must not depend on `make builtin-model` having run
export EMBEDLAB_WORDS=none
export CMOCKA_MESSAGE_OUTPUT=TAP
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
# Our own threads call OpenBLAS; keep its pool small and deterministic.
export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1}
filter=${TEST_FILTER:-}
pass=0 fail=0 skip=0
# the kernels the tests run on (EMBEDLAB_ISA caps them, see include/cpu.h)
[ -x "$APP" ] && echo "# $("$APP" -V 2>&1 | head -1)${EMBEDLAB_ISA:+ (EMBEDLAB_ISA=$EMBEDLAB_ISA)}"
failed=()
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

note_fail() { fail=$((fail+1)); failed+=("$1"); }

for t in "$BUILD"/tests/test_*; do
    [ -x "$t" ] || continue
    name=$(basename "$t")
    [ -n "$filter" ] && [[ "$name" != *"$filter"* ]] && continue
    out="$tmp/$name.out"
    (cd tests && "../$t") >"$out" 2>&1
    rc=$?
    # cmocka's TAP marks a skipped test `not ok N # SKIP name` (some versions
    # `ok N # SKIP`): skipped either way, never passed or failed.  Its reason
    # is the `# skip: ...` line test_skip() prints just before.
    s=$(grep -cE '^(not )?ok [0-9]+ # SKIP' "$out")
    p=$(grep -E '^ok ' "$out" | grep -cvE '^ok [0-9]+ # SKIP')
    f=$(grep -E '^not ok ' "$out" | grep -cvE '^not ok [0-9]+ # SKIP')
    pass=$((pass + p)); skip=$((skip + s))
    if [ "$s" -gt 0 ]; then
        grep -E '^# skip: ' "$out" | sed "s/^# skip: /unit  $name: skipped: /"
    fi
    if [ "$f" -gt 0 ] || [ "$rc" -ne 0 ]; then
        [ "$f" -eq 0 ] && f=1
        for i in $(seq "$f"); do note_fail "$name"; done
        echo "--- $name (exit $rc)"; grep -vE '^ok |^(not )?ok [0-9]+ # SKIP|^# skip: ' "$out" | head -60
    fi
    echo "unit  $name: $p ok, $f failed, $s skipped"
done

for c in tests/e2e/*.cmd; do
    [ -f "$c" ] || continue
    name=$(basename "$c" .cmd)
    [ -n "$filter" ] && [[ "$name" != *"$filter"* ]] && continue
    exp="${c%.cmd}.out"
    (cd tests/e2e && "$APP" --batch --db :memory: --no-timing < "$(basename "$c")") >"$tmp/$name.got" 2>&1
    if diff -u "$exp" "$tmp/$name.got" >"$tmp/$name.diff"; then
        pass=$((pass+1)); echo "e2e   $name: ok"
    else
        note_fail "e2e/$name"; echo "e2e   $name: FAILED"; head -40 "$tmp/$name.diff"
    fi
done

for s in tests/e2e/*.sh tests/tui/*.sh; do
    [ -f "$s" ] || continue
    name=$(basename "$s" .sh)
    [ -n "$filter" ] && [[ "$name" != *"$filter"* ]] && continue
    bash "$s" >"$tmp/$name.log" 2>&1
    rc=$?
    suite=$(basename "$(dirname "$s")")
    if [ $rc -eq 0 ]; then pass=$((pass+1)); echo "$suite   $name: ok"
    elif [ $rc -eq 77 ]; then skip=$((skip+1)); echo "$suite   $name: skipped ($(tail -1 "$tmp/$name.log"))"
    else note_fail "$suite/$name"; echo "$suite   $name: FAILED (exit $rc)"; tail -30 "$tmp/$name.log"; fi
done

[ ${#failed[@]} -gt 0 ] && printf 'failed: %s\n' "$(printf '%s ' "${failed[@]}" | tr ' ' '\n' | sort -u | tr '\n' ' ')"
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
