#!/bin/bash
# diskfull.sh - a write that runs out of disk is reported and rolled back.
# The database lives on a 1 MiB tmpfs (mount needs root; else a loop-mounted
# 1 MiB ext2 file; else skip with 77).  A small catalog fits; then a 3 MB
# catalog cannot: the import must fail with a clear I/O / disk-full message,
# and the database must still open, pass integrity_check and hold exactly the
# small catalog.  Finally a catalog that fits again imports fine.
set -u
cd "$(dirname "$0")/../.."
APP=${EMBEDLAB:-$PWD/build/release/embedlab}
command -v sqlite3 >/dev/null || { echo "sqlite3 CLI missing (scripts/deps.sh test)"; exit 77; }
tmp=$(mktemp -d)
mnt=$tmp/mnt
mounted=
cleanup() { [ -n "$mounted" ] && umount "$mnt" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
mkdir -p "$mnt"
if [ "$(id -u)" = 0 ] && mount -t tmpfs -o size=1m tmpfs "$mnt" 2>/dev/null; then
    mounted=tmpfs
elif [ "$(id -u)" = 0 ] && command -v mkfs.ext2 >/dev/null && truncate -s 1M "$tmp/disk.img" &&
     mkfs.ext2 -q -F "$tmp/disk.img" 2>/dev/null && mount -o loop "$tmp/disk.img" "$mnt" 2>/dev/null; then
    mounted=loop
else
    echo "cannot mount a small file system here (needs root): skipped"; exit 77
fi
fail=0
die() { echo "FAIL: $*"; fail=1; }
db=$mnt/lab.db
awk 'BEGIN { print "id,title"; for (i = 1; i <= 50; i++) printf "S%d,small %d\n", i, i }' > "$tmp/small.csv"
awk 'BEGIN { print "id,title,description";
             for (i = 1; i <= 30000; i++) printf "B%d,big item %d,padding padding padding %d\n", i, i, i }' > "$tmp/big.csv"
"$APP" --db "$db" -c "load catalog $tmp/small.csv" >/dev/null 2>"$tmp/small.err" ||
    { echo "the small catalog does not fit on the $mounted: $(cat "$tmp/small.err")"; exit 1; }
before=$(sqlite3 "$db" .dump)

"$APP" --db "$db" -c "load catalog $tmp/big.csv" >"$tmp/big.out" 2>"$tmp/big.err"; rc=$?
[ $rc -ne 0 ] || die "a 3 MB import succeeded on a 1 MiB $mounted"
grep -qiE "error: .*(full|disk|I/O)" "$tmp/big.err" || die "unclear message: $(cat "$tmp/big.err")"
[ "$(sqlite3 "$db" 'PRAGMA integrity_check')" = ok ] || die "integrity_check after disk full"
[ "$(sqlite3 "$db" .dump)" = "$before" ] || die "the failed import left rows behind"
"$APP" --db "$db" -c info >/dev/null 2>"$tmp/info.err" || die "does not open: $(cat "$tmp/info.err")"
printf 'id,title\nN1,new\n' > "$tmp/next.csv"
"$APP" --db "$db" -c "load catalog $tmp/next.csv" >/dev/null 2>"$tmp/next.err" ||
    die "a small import after the failure: $(cat "$tmp/next.err")"
[ "$(sqlite3 "$db" 'SELECT count(*) FROM items')" = 51 ] || die "want 51 items at the end"
[ $fail -eq 0 ] && echo "ok   disk full on a 1 MiB $mounted: $(head -c 200 "$tmp/big.err")"
exit $fail
