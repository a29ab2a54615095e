#!/bin/bash
# concurrent.sh - two processes on one file database.
#  1. A writer holds the lock (sqlite3 CLI inside BEGIN IMMEDIATE): embedlab's
#     import waits its busy timeout (5 s), then fails with "database ... is busy"
#     and changes nothing; once the lock is gone the same import works.
#  2. Two embedlab imports at once: the second waits for the first or fails
#     saying the database is busy; both outcomes leave a consistent database
#     (integrity_check ok, item count = the imports that reported success).
#  3. A reader (`items`, `info`) works while an import is writing (WAL).
set -u
cd "$(dirname "$0")/../.."
APP=${EMBEDLAB:-$PWD/build/release/embedlab}
command -v sqlite3 >/dev/null || { echo "sqlite3 CLI missing (scripts/deps.sh test)"; exit 77; }
T=${EMBEDLAB_TIMEOUT_MULT:-1}
tmp=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done; exec 9>&- 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
fail=0
die() { echo "FAIL: $*"; fail=1; }
wait_for() {
    local limit=$(( $1 * T * 20 )) i=0; shift
    while ! "$@"; do i=$((i+1)); [ $i -ge $limit ] && return 1; sleep 0.05; done
}
count() { sqlite3 "$db" 'SELECT count(*) FROM items'; }

db=$tmp/lab.db
printf 'id,title\nA1,one\nA2,two\n' > "$tmp/a.csv"
printf 'id,title\nC1,one\nC2,two\nC3,three\n' > "$tmp/c.csv"
"$APP" --db "$db" --strict -c "load catalog $tmp/a.csv" >/dev/null || { echo "setup failed"; exit 1; }

# ---- 1. a foreign writer holds the lock -------------------------------------
mkfifo "$tmp/fifo"
sqlite3 "$db" < "$tmp/fifo" > "$tmp/holder.out" 2>&1 &
holder=$!; pids+=("$holder")
exec 9>"$tmp/fifo"
echo "BEGIN IMMEDIATE; INSERT INTO meta(key, value) VALUES('held', '1'); SELECT 'locked';" >&9
wait_for 10 grep -q locked "$tmp/holder.out" || die "sqlite3 did not take the lock"
start=$(date +%s)
"$APP" --db "$db" -c "load catalog $tmp/c.csv" >"$tmp/1.out" 2>"$tmp/1.err"; rc=$?
took=$(( $(date +%s) - start ))
[ $rc -ne 0 ] || die "import succeeded while another process held the write lock"
grep -q "error: .*database .*is busy" "$tmp/1.err" || die "no 'database is busy' message: $(cat "$tmp/1.err")"
[ $took -ge 4 ] || die "gave up after ${took}s: the busy timeout (5 s) was not used"
[ "$(count)" = 2 ] || die "items changed while locked"
echo "ROLLBACK;" >&9; exec 9>&-
wait "$holder"
"$APP" --db "$db" -c "load catalog $tmp/c.csv" >/dev/null 2>"$tmp/1b.err" ||
    die "import after the lock was released: $(cat "$tmp/1b.err")"
[ "$(count)" = 5 ] || die "want 5 items after the import, have $(count)"
[ $fail -eq 0 ] && echo "ok   locked: waited ${took}s, then: $(head -c 160 "$tmp/1.err")"

# ---- 2 + 3. two embedlab imports, and a reader, at once ---------------------
awk 'BEGIN { print "id,title,description,category";
             for (i = 1; i <= 300000; i++) printf "B%d,big item %d,description %d,c%d\n", i, i, i, i % 50 }' > "$tmp/big.csv"
awk 'BEGIN { print "id,title"; for (i = 1; i <= 1000; i++) printf "S%d,small %d\n", i, i }' > "$tmp/small.csv"
"$APP" --db "$db" -c "load catalog $tmp/big.csv" >"$tmp/big.out" 2>"$tmp/big.err" &
big=$!; pids+=("$big")
reading() { [ "$(awk '/^rchar/ {print $2}' "/proc/$big/io" 2>/dev/null || echo 0)" -gt 4000000 ]; }
wait_for 60 reading || echo "note: the big import finished before it was seen reading"
"$APP" --db "$db" -c "items limit=1" -c info >"$tmp/read.out" 2>"$tmp/read.err" ||
    die "a reader failed during an import: $(cat "$tmp/read.err")"
"$APP" --db "$db" -c "load catalog $tmp/small.csv" >"$tmp/small.out" 2>"$tmp/small.err"; small_rc=$?
wait "$big"; big_rc=$?
want=5
[ $big_rc -eq 0 ] && want=$((want + 300000))
[ $small_rc -eq 0 ] && want=$((want + 1000))
[ $big_rc -eq 0 ] || grep -q "is busy" "$tmp/big.err" || die "big import failed: $(cat "$tmp/big.err")"
[ $small_rc -eq 0 ] || grep -q "error: .*database .*is busy" "$tmp/small.err" ||
    die "second writer failed without saying the database is busy: $(cat "$tmp/small.err")"
[ "$(sqlite3 "$db" 'PRAGMA integrity_check')" = ok ] || die "integrity_check"
[ "$(count)" = "$want" ] || die "item count $(count), want $want (big rc $big_rc, small rc $small_rc)"
"$APP" --db "$db" -c info >/dev/null 2>&1 || die "database does not open"
[ $fail -eq 0 ] && echo "ok   two writers: big import exit $big_rc, second import exit $small_rc" \
    "($(head -c 120 "$tmp/small.err"; cat "$tmp/small.out" | head -c 80)); $(count) items"
exit $fail
