#!/bin/bash
# fuzz_replay.sh - replays every committed fuzz input (tests/fuzz/corpus/<t>/)
# through the replay build of each harness (build/<cfg>/fuzz/replay_<t>, made by
# `make test`), so the sanitizers of the current build see past crashers and
# seeds.  Exit 0 when every target ran clean, 1 otherwise.
set -u
cd "$(dirname "$0")/../.."
BUILD=${EMBEDLAB_BUILD:-$PWD/build/release}
export OPENBLAS_NUM_THREADS=1
fail=0 n=0
for src in tests/fuzz/fuzz_*.c; do
    t=$(basename "$src" .c); t=${t#fuzz_}
    bin=$BUILD/fuzz/replay_$t
    if [ ! -x "$bin" ]; then
        echo "missing $bin (build it with make fuzz-replay)"; fail=1; continue
    fi
    if [ ! -d "tests/fuzz/corpus/$t" ]; then
        echo "missing tests/fuzz/corpus/$t"; fail=1; continue
    fi
    if out=$("$bin" "tests/fuzz/corpus/$t" 2>&1); then
        echo "$out" | tail -1
    else
        echo "replay_$t FAILED:"; echo "$out" | tail -40; fail=1
    fi
    n=$((n+1))
done
echo "$n fuzz targets replayed"
exit $fail
