#!/bin/bash
# bench/index_update.sh [N] [NEW] [REPS] - what keeping an index up to date
# costs against rebuilding it.  N random vectors (dim 64, seed 1) of demo item
# ids; model `big` holds N-NEW of them with an HNSW index (M=16,
# ef_construction=200), then each rep on a fresh copy of the database times:
#   A  import vectors (all N) --name big     vectors saved + NEW inserted into the index
#   B  import vectors (all N) --name plain   the same save, no index
#   C  index build plain hnsw (same params)   the rebuild A avoids ("built in")
# A's own report times the index's part ("... in X s": compare old and new
# vectors, load the stored index, insert, serialise, save); C is the
# alternative.  A and B are wall times of whole processes (start-up, parsing
# and SQLite writes included), for scale.
# Needs /usr/bin/python3 with numpy, and EMBEDLAB or build/release/embedlab.
set -u
N=${1:-20000} NEW=${2:-200} REPS=${3:-3}
APP=${EMBEDLAB:-$PWD/build/release/embedlab}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
/usr/bin/python3 - "$tmp" "$N" "$NEW" <<'EOF' || exit 1
import sys, numpy as np
out, n, new = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
X = np.random.default_rng(1).standard_normal((n, 64)).astype(np.float32)
for name, m in (("all", n), ("base", n - new)):
    with open(f"{out}/{name}.txt", "w") as f:
        f.write(f"{m} 64\n")
        for i in range(m):
            f.write(f"I{i + 1:05d} " + " ".join(f"{v:.6g}" for v in X[i]) + "\n")
EOF
"$APP" --db "$tmp/db" --batch -c "gen demo --items $N --sessions 100" \
    -c "import vectors $tmp/base.txt --name big" -c "import vectors $tmp/all.txt --name plain" \
    -c 'index build big hnsw M=16 ef_construction=200' >/dev/null || exit 1
secs() { local t0 t1; t0=$(date +%s.%N); "$@" >"$tmp/out" || exit 1; t1=$(date +%s.%N)
         echo "$t1 - $t0" | bc; }
echo "N=$N dim=64 new=$NEW; $(uptime | sed 's/.*load/load/')"
for r in $(seq "$REPS"); do
    cp "$tmp/db" "$tmp/r.db"
    a=$(secs "$APP" --db "$tmp/r.db" --batch -c "import vectors $tmp/all.txt --name big")
    u=$(sed -nE "s/^index big \(hnsw\): $NEW added.* in ([0-9.]+) s$/\1/p" "$tmp/out")
    [ -n "$u" ] || { cat "$tmp/out"; exit 1; }
    b=$(secs "$APP" --db "$tmp/r.db" --batch -c "import vectors $tmp/all.txt --name plain")
    "$APP" --db "$tmp/r.db" --batch -c 'index build plain hnsw M=16 ef_construction=200' >"$tmp/out"
    c=$(sed -nE 's/.*built in ([0-9.]+) s/\1/p' "$tmp/out")
    printf 'rep %d: index update %.2f s  rebuild %.2f s  (%.0fx)   A import+insert %.2f s  B import only %.2f s\n' \
        "$r" "$u" "$c" "$(echo "$c / $u" | bc -l)" "$a" "$b"
done
echo "$(uptime | sed 's/.*load/load/')"
