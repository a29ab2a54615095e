#!/bin/bash
# interrupt.sh - interrupted jobs lose nothing.
#  1. SIGINT during `train item2vec epochs=10000` (the maximum) in batch mode cancels the job
#     (message "training cancelled: the previous model is kept", the process
#     ends by itself, not by the signal) and the models/vectors are unchanged.
#  2. SIGINT during a big `load catalog` rolls the import back.
#  3. kill -9 during a big import and during training leaves a database that
#     opens, passes PRAGMA integrity_check and holds the old or the new state.
#  5. SIGINT during an HNSW build with threads=2 cancels it ("index build
#     cancelled: the previous index is kept") and the stored index is unchanged.
# A job is "running" once its worker thread exists (training) or the WAL file
# grows (import): the script polls for that with a timeout, never a fixed sleep.
set -u
cd "$(dirname "$0")/../.."
APP=${EMBEDLAB:-$PWD/build/release/embedlab}
command -v sqlite3 >/dev/null || { echo "sqlite3 CLI missing (scripts/deps.sh test)"; exit 77; }
export OPENBLAS_NUM_THREADS=1       # no BLAS threads: a second thread means training runs
T=${EMBEDLAB_TIMEOUT_MULT:-1}
tmp=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
fail=0
die() { echo "FAIL: $*"; fail=1; }

# poll CMD until true, at most $1 seconds (scaled by EMBEDLAB_TIMEOUT_MULT)
wait_for() {
    local limit=$(( $1 * T * 20 )) i=0; shift
    while ! "$@"; do
        i=$((i+1)); [ $i -ge $limit ] && return 1
        sleep 0.05
    done
}
n_threads() { ls "/proc/$pid/task" 2>/dev/null | wc -l; }
training() { [ "$(n_threads)" -ge 2 ]; }
gone() { ! kill -0 "$pid" 2>/dev/null; }
# the importer streams the CSV: 8 MB read of 29 MB means it is well inside the import
reading() { [ "$(awk '/^rchar/ {print $2}' "/proc/$pid/io" 2>/dev/null || echo 0)" -gt 8000000 ]; }
state() { sqlite3 "$1" "SELECT name, version, n_vectors FROM models ORDER BY name;
                         SELECT model, count(*), sum(length(vec)) FROM vectors GROUP BY model;
                         SELECT count(*) FROM items; SELECT count(*) FROM events;"; }
healthy() {   # DB: opens in embedlab and passes integrity_check
    [ "$(sqlite3 "$1" 'PRAGMA integrity_check')" = ok ] || { die "$1: integrity_check"; return 1; }
    "$APP" --db "$1" -c info >/dev/null 2>"$tmp/open.err" || { die "$1 does not open: $(cat "$tmp/open.err")"; return 1; }
}

# data: 300 items, 1000 sessions of 10 (10,000 tokens: 10,000 epochs take minutes)
db=$tmp/lab.db
awk 'BEGIN { print "id,title,description,category";
             for (i = 1; i <= 300; i++) printf "I%d,item %d,text %d,c%d\n", i, i, i, i % 7 }' > "$tmp/cat.csv"
awk 'BEGIN { srand(7); for (s = 0; s < 1000; s++) { l = ""
             for (j = 0; j < 10; j++) l = l " I" (1 + int(rand() * 300)); print substr(l, 2) } }' > "$tmp/sess.txt"
"$APP" --db "$db" --strict -c "load catalog $tmp/cat.csv" -c "load sessions $tmp/sess.txt" \
    -c "train item2vec dim=8 epochs=1 threads=1" >/dev/null 2>"$tmp/setup.err" ||
    { echo "setup failed: $(cat "$tmp/setup.err")"; exit 1; }
before=$(state "$db")

# interrupt_batch NAME DB READY: runs `embedlab --batch` on $tmp/NAME.cmd
# (output in $tmp/NAME.out/.err), sends SIGINT once READY holds, and waits for
# the process to end by itself; rc is its exit status.  Fails (after die) when
# the job never got ready, did not stop, or died from the signal.
interrupt_batch() {
    "$APP" --db "$2" --batch < "$tmp/$1.cmd" >"$tmp/$1.out" 2>"$tmp/$1.err" &
    pid=$!
    wait_for 30 "$3" || { die "$1 never started within 30 s: $(cat "$tmp/$1.err")"; return 1; }
    kill -INT "$pid"
    wait_for 60 gone || { die "embedlab did not stop within 60 s of SIGINT ($1)"; return 1; }
    wait "$pid"; rc=$?; pid=
    [ $rc -lt 128 ] || { die "embedlab died from a signal (exit $rc) during $1"; return 1; }
}

# ---- 1. SIGINT during training (batch) -------------------------------------
echo "train item2vec epochs=10000 threads=1" > "$tmp/train.cmd"
if interrupt_batch train "$db" training; then
    [ $rc -eq 0 ] && die "a cancelled job should make the batch exit non-zero"
    grep -q "error: training cancelled: the previous model is kept" "$tmp/train.err" ||
        die "no cancel message: $(cat "$tmp/train.err")"
    [ "$(state "$db")" = "$before" ] || die "models changed after a cancelled training"
    healthy "$db" && echo "ok   SIGINT during training: cancelled, exit $rc, model kept"
fi

# ---- 2. SIGINT during a big import -----------------------------------------
awk 'BEGIN { print "id,title,description,category";
             for (i = 1; i <= 400000; i++)
                 printf "B%d,big item %d,a longer description of item %d for bulk,c%d\n", i, i, i, i % 50 }' > "$tmp/big.csv"
echo "load catalog $tmp/big.csv" > "$tmp/load.cmd"
"$APP" --db "$db" --batch < "$tmp/load.cmd" >"$tmp/load.out" 2>"$tmp/load.err" &
pid=$!
if wait_for 60 reading && kill -INT "$pid" 2>/dev/null && wait_for 60 gone; then
    wait "$pid"; rc=$?; pid=
    if grep -q "imported" "$tmp/load.out"; then
        echo "note: the import finished before SIGINT arrived (exit $rc)"
    else
        grep -q "error: load cancelled: nothing was imported" "$tmp/load.err" ||
            die "no cancel message for the import: $(cat "$tmp/load.err") (exit $rc)"
        [ "$(state "$db")" = "$before" ] || die "a cancelled import changed the database"
        healthy "$db" && echo "ok   SIGINT during import: rolled back, exit $rc"
    fi
else
    die "import: never started or embedlab did not stop: $(cat "$tmp/load.err")"
fi
before=$(state "$db")

# ---- 3. kill -9 during a big import ----------------------------------------
"$APP" --db "$db" --batch < "$tmp/load.cmd" >/dev/null 2>&1 &
pid=$!
if wait_for 60 reading; then
    kill -9 "$pid"; wait "$pid" 2>/dev/null; pid=
    if healthy "$db"; then
        items=$(sqlite3 "$db" 'SELECT count(*) FROM items')
        case "$items" in
            300) echo "ok   kill -9 during import: old state (300 items)" ;;
            400300) echo "ok   kill -9 during import: new state (400300 items)" ;;
            *) die "kill -9 during import left $items items (want 300 or 400300)" ;;
        esac
    fi
else
    die "import never started reading"
fi

# ---- 4. kill -9 during training --------------------------------------------
db2=$tmp/lab2.db
"$APP" --db "$db2" --strict -c "load catalog $tmp/cat.csv" -c "load sessions $tmp/sess.txt" \
    -c "train item2vec dim=8 epochs=1 threads=1" >/dev/null 2>&1 || die "setup of lab2"
before2=$(state "$db2")
"$APP" --db "$db2" --batch < "$tmp/train.cmd" >/dev/null 2>&1 &
pid=$!
if wait_for 30 training; then
    kill -9 "$pid"; wait "$pid" 2>/dev/null; pid=
    healthy "$db2" && { [ "$(state "$db2")" = "$before2" ] || die "kill -9 during training changed the models"; } &&
        echo "ok   kill -9 during training: database intact, previous model kept"
else
    die "training (lab2) never started"
fi

# ---- 5. SIGINT during a two-thread HNSW build --------------------------------
# 60,000 items with 48-dim vectors; M=32 ef_construction=400 keeps the build
# running for several seconds.  Building = both insert threads exist (main +
# 2 workers; OpenBLAS has no threads here).
db3=$tmp/lab3.db
awk 'BEGIN { print "id,title,description,category";
             for (i = 1; i <= 60000; i++) printf "V%d,v %d,t %d,c%d\n", i, i, i, i % 5 }' > "$tmp/cat3.csv"
awk 'BEGIN { srand(11); print 60000, 48
             for (i = 1; i <= 60000; i++) { l = "V" i
                 for (j = 0; j < 48; j++) l = l " " (rand() - 0.5); print l } }' > "$tmp/vec3.txt"
"$APP" --db "$db3" --strict -c "load catalog $tmp/cat3.csv" -c "import vectors $tmp/vec3.txt --name big" \
    -c "index build big flat" >/dev/null 2>"$tmp/setup3.err" || die "setup of lab3: $(cat "$tmp/setup3.err")"
ix_state() { sqlite3 "$db3" "SELECT model, kind, params, length(data), created FROM indexes"; }
before3=$(ix_state)
echo "index build big hnsw M=32 ef_construction=400 threads=2" > "$tmp/hnsw.cmd"
building() { [ "$(n_threads)" -ge 3 ]; }
if interrupt_batch hnsw "$db3" building; then
    grep -q "error: index build cancelled: the previous index is kept" "$tmp/hnsw.err" ||
        die "no index cancel message: $(cat "$tmp/hnsw.err" "$tmp/hnsw.out")"
    [ "$(ix_state)" = "$before3" ] || die "stored index changed after a cancelled build"
    "$APP" --db "$db3" -c "index info" | grep -qE '^big +flat ' || die "previous flat index not loaded"
    healthy "$db3" && echo "ok   SIGINT during a threads=2 hnsw build: cancelled, exit $rc, index kept"
fi
exit $fail
