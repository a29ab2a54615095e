#!/bin/bash
# baselines.sh [BUILD_DIR] [--ref] - the reference baselines (item-kNN,
# transition, EASE) trained and evaluated on ml-latest-small, the demo shop,
# epub-wu and groceries, `eval`'s split (each user's or session's last event
# held out).  --ref also runs bench/baselines_ref.py, an independent numpy
# implementation, on the same databases (needs python3-numpy).
# Timings: wall and CPU seconds of training and of answering every case.
set -u
cd "$(dirname "$0")/.."
BUILD=${1:-build/release}
ref=0
[ "${2:-}" = "--ref" ] && ref=1
APP=$BUILD/embedlab
. bench/realdata.sh
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "# $(lscpu | sed -n 's/^Model name: *//p'); $(nproc) CPUs; load average:$(uptime | sed 's/.*load average://')"
for name in ml demo epub groceries; do
    realdata_db $name "$tmp/$name.db"
    rc=$?
    if [ $rc -eq 77 ]; then echo "## $name: dataset not found, skipped"; continue; fi
    [ $rc -eq 0 ] || { echo "## $name: could not build the database"; exit 1; }
    echo "## $name"
    "$BUILD/bench/bench_baselines" "$tmp/$name.db" || exit 1
    if [ $ref -eq 1 ]; then
        echo "## $name, numpy reference (bench/baselines_ref.py)"
        /usr/bin/python3 bench/baselines_ref.py "$tmp/$name.db" || exit 1
    fi
done
echo "# load average after:$(uptime | sed 's/.*load average://')"
