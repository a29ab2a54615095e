#!/bin/bash
# make check-layers: the tree passes, and a copy of it with a deliberate
# upward include (base -> app), a reach into another layer's internal header
# and sqlite3.h outside the store each fail with the file and line named.
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
check=$root/scripts/check_layers.sh

out=$("$check" "$root" 2>&1) || fail "the tree itself breaks the layer rule: $out"

mkdir -p "$tmp/t"
(cd "$root" && tar -cf - src include) | tar -xf - -C "$tmp/t"
"$check" "$tmp/t" >/dev/null || fail "a clean copy fails"

sed -i '1i #include "lab.h"' "$tmp/t/src/base/err.c"
out=$("$check" "$tmp/t" 2>&1); rc=$?
[ $rc -eq 1 ] || fail "an upward include passed (exit $rc): $out"
grep -q '^src/base/err.c:1: includes lab.h of layer app, above base$' <<<"$out" ||
    fail "no message naming the upward include: $out"

sed -i '1d' "$tmp/t/src/base/err.c"
sed -i '1i #include "../ui/tui_int.h"' "$tmp/t/src/app/lab.c"
out=$("$check" "$tmp/t" 2>&1) && fail "a reach into src/ui/'s internals passed"
grep -q 'src/app/lab.c:1: includes ../ui/tui_int.h, internal to src/ui/' <<<"$out" ||
    fail "no message naming the internal header: $out"

sed -i '1d' "$tmp/t/src/app/lab.c"
sed -i '1i #include <sqlite3.h>' "$tmp/t/src/index/index.c"
out=$("$check" "$tmp/t" 2>&1) && fail "sqlite3.h outside the store passed"
grep -q 'src/index/index.c: includes <sqlite3.h>' <<<"$out" || fail "no sqlite3.h message: $out"
echo ok
