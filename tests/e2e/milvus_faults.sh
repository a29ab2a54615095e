#!/bin/bash
# milvus_faults.sh - the Milvus client under faults the contract server
# injects (tests/milvus/contract_server.py), with short timeouts and backoff:
#  - 5xx, a slow answer (timeout), a dropped connection: an idempotent call is
#    retried with backoff and succeeds; too many failures give a clear error
#    naming the attempts;
#  - an insert whose answer is lost (done, then the connection dropped) is
#    sent again as an upsert: no row stored twice;
#  - malformed JSON, well-formed JSON of the wrong types, control characters
#    in a message: clear errors, never a crash, nothing printed raw;
#  - Milvus error codes: collection missing (really dropped), wrong
#    dimension (a failed update keeps the model's vectors), not resumable
#    into a foreign collection;
#  - a bulk load stopped by an error says what the server holds, and
#    --resume sends only the rest;
#  - Ctrl-C during a slow request cancels the build promptly;
#  - the backoff between retries doubles.
set -u
. "$(dirname "$0")/../milvus/lib.sh"
mv_start
db=$tmp/db
. "$(dirname "$0")/../milvus/data.sh"
mv_data
fast="timeout_ms=400 connect_timeout_ms=400 retries=3 backoff_ms=10"

# a lost insert answer: the rows landed, the client cannot know; the upsert
# it sends instead replaces them (a second insert would store them twice)
ctl faults '[{"path": "entities/insert", "kind": "drop_after"}]'
out=$(run -c "index build text milvus uri=$uri collection=emb $fast") || fail "build: $out"
grep -q 'Milvus counts 177 (.* 1 retries)' <<<"$out" || fail "build message: $out"
[ "$(ctl get collections.emb)" = 177 ] || fail "rows stored twice: $(ctl get collections)"

search() { run -c 'similar I00010 k=5' 2>&1; }
# 5xx twice, then fine
ctl faults '[{"path": "entities/search", "kind": "status", "status": 503, "times": 2}]'
out=$(search) || fail "503 not retried: $out"
grep -q '^1 ' <<<"$out" || fail "no results after 503s: $out"
# a slow answer: the timeout fires, the retry succeeds
ctl faults '[{"path": "entities/search", "kind": "slow", "delay_ms": 1500}]'
t0=$(date +%s%N)
out=$(search) || fail "timeout not retried: $out"
t1=$(date +%s%N)
[ $(( (t1 - t0) / 1000000 )) -lt 1400 ] || fail "the 400 ms timeout did not fire"
# a dropped connection
ctl faults '[{"path": "entities/search", "kind": "drop"}]'
out=$(search) || fail "dropped connection not retried: $out"
# too many failures: a clear error, after 1 + 3 attempts
ctl faults '[{"path": "entities/search", "kind": "status", "status": 502, "times": 9}]'
out=$(search) && fail "search succeeded through 502s"
grep -q 'after 4 attempts: search collection emb: HTTP 502 from http://127.0.0.1:[0-9]*/v2/vectordb/entities/search' <<<"$out" || fail "502 message: $out"
ctl clear
# malformed and hostile answers are errors, never crashes, never retried
ctl faults '[{"path": "entities/search", "kind": "malformed"}]'
out=$(search); rc=$?
[ $rc = 1 ] || fail "malformed JSON: exit $rc: $out"
grep -q 'search collection emb: milvus answer: not JSON' <<<"$out" || fail "malformed: $out"
ctl faults '[{"path": "entities/search", "kind": "hostile"}]'
out=$(search); rc=$?
[ $rc = 1 ] || fail "hostile search answer: exit $rc: $out"
grep -q 'milvus answer: results: an entry without a valid integer id' <<<"$out" || fail "hostile: $out"
ctl faults '[{"path": "collections/describe", "kind": "hostile"}]'
out=$(run -c 'index info' 2>&1) || fail "index info fails outright: $out"
grep -q 'remote: unreachable: describe collection emb: milvus answer: describe: the vector dimension is not a valid count' <<<"$out" || fail "hostile describe: $out"
ctl faults '[{"path": "entities/search", "kind": "code", "code": 65535, "message": "\u001b[2J\u001b[31mred\u0007"}]'
out=$(search)
grep -q $'\x1b' <<<"$out" && fail "a server message reached the terminal raw"
grep -q 'Milvus entities/search: ?\[2J?\[31mred? (code 65535)' <<<"$out" || fail "code message: $out"
ctl faults '[{"path": "*", "kind": "hostile"}]'
out=$(search); rc=$?
[ $rc = 1 ] && grep -q 'no integer "code"' <<<"$out" || fail "hostile envelope: $out"
ctl clear

# wrong dimension, as Milvus reports it: the update fails, the model keeps its vectors
sed -n 2p "$tmp/v.txt" | cut -d' ' -f1 >"$tmp/first"
$py - "$tmp/v.txt" "$tmp/v2.txt" <<'PY'
import sys
l = open(sys.argv[1]).read().split("\n")
w = l[1].split()
l[1] = " ".join([w[0]] + ["%.6f" % (-float(x)) for x in w[1:]])
open(sys.argv[2], "w").write("\n".join(l))
PY
before=$(sqlite3 "$db" "select version from models where name='text'")
ctl faults '[{"path": "entities/upsert", "kind": "code", "code": 1804, "message": "fail to deal the insert data, error: the dim (64) of field data(vector) is not equal to schema dim (8)"}]'
out=$(run -c "import vectors $tmp/v2.txt --name text" 2>&1) && fail "update through a dimension error: $out"
grep -q 'upsert 1 entities into collection emb: Milvus entities/write: fail to deal the insert data, error: the dim (64) of field data(vector) is not equal to schema dim (8) (code 1804)' <<<"$out" || fail "dimension message: $out"
[ "$(sqlite3 "$db" "select version from models where name='text'")" = "$before" ] \
    || fail "the failed update changed the model"
ctl clear
out=$(run -c "import vectors $tmp/v2.txt --name text") || fail "update: $out"
grep -q '0 added, 1 updated, 0 removed; 177 live' <<<"$out" || fail "update report: $out"

# collection missing: dropped behind embedlab's back
ctl call collections/drop '{"collectionName": "emb"}' >/dev/null
out=$(search); rc=$?
[ $rc = 1 ] && grep -q 'search collection emb: Milvus entities/search: collection not found\[collection=emb\] (code 100)' <<<"$out" || fail "missing collection: $out"
out=$(run -c 'index info' 2>&1) || fail "info: $out"
grep -q 'remote: unreachable: milvus: collection emb is not there (dropped?)' <<<"$out" || fail "info, missing: $out"

# a foreign collection (other dimension) is not resumed into
ctl collection '{"name": "other", "fields": [{"name": "id", "type": "Int64", "primary": true, "params": {}}, {"name": "vector", "type": "FloatVector", "params": {"dim": "8"}}]}'
out=$(run -c "index build text milvus uri=$uri collection=other --resume" 2>&1) && fail "resumed into a foreign collection"
grep -q 'collection other (dim 8) is not an embedlab collection of dim 64: cannot resume into it' <<<"$out" || fail "foreign: $out"

# a bulk load stopped by an error (400: not retried) says what is there; --resume sends the rest
ctl faults '[{"path": "entities/insert", "kind": "status", "status": 400, "skip": 1}]'
out=$(run -c "index build text milvus uri=$uri collection=res $fast" 2>&1) && fail "build through a 400"
grep -q 'collection res holds 100 of the 177 vectors (the same `index build` with --resume sends the rest): insert 77 entities into collection res: HTTP 400' <<<"$out" || fail "stopped load: $out"
[ "$(ctl get collections.res)" = 100 ] || fail "server holds $(ctl get collections.res)"
up0=$(ctl get requests.entities/upsert)
out=$(run -c "index build text milvus uri=$uri collection=res $fast --resume") || fail "resume: $out"
grep -q 'Milvus counts 177' <<<"$out" || fail "resume message: $out"
[ "$(ctl get collections.res)" = 177 ] || fail "after resume: $(ctl get collections.res)"
[ $(( $(ctl get requests.entities/upsert) - up0 )) = 1 ] || fail "resume sent more than the missing batch"

# Ctrl-C during a slow insert: cancelled promptly, the previous index kept
ctl faults '[{"path": "entities/insert", "kind": "slow", "delay_ms": 5000}]'
t0=$(date +%s%N)
"$app" --db "$db" --no-timing -c "index build text milvus uri=$uri collection=cx timeout_ms=20000" \
    >"$tmp/cx.out" 2>&1 &
pid=$!
sleep 0.5
kill -INT $pid
wait $pid; rc=$?
t1=$(date +%s%N)
[ $rc != 0 ] || fail "a cancelled build succeeded"
[ $(( (t1 - t0) / 1000000 )) -lt 3000 ] || fail "the cancel took $(( (t1 - t0) / 1000000 )) ms"
grep -q 'index build cancelled: collection cx holds 0 of the 177 vectors (the same `index build` with --resume sends the rest)' "$tmp/cx.out" || fail "cancel message: $(cat "$tmp/cx.out")"
grep -q '"collection":"res"' <<<"$(sqlite3 "$db" "select params from indexes where model='text'")" \
    || fail "the previous index was not kept"
ctl clear

# the backoff doubles: 3 retries from 150 ms wait 150 + 300 + 600 ms (a
# constant backoff would wait 450)
out=$(run -c "index build text milvus uri=$uri collection=bk timeout_ms=400 retries=3 backoff_ms=150") \
    || fail "build bk: $out"
ctl faults '[{"path": "entities/search", "kind": "status", "status": 503, "times": 4}]'
t0=$(date +%s%N)
out=$(search) && fail "search succeeded through 503s"
t1=$(date +%s%N)
ms=$(( (t1 - t0) / 1000000 ))
grep -q 'after 4 attempts: search collection bk: HTTP 503' <<<"$out" || fail "503 message: $out"
[ $ms -ge 1050 ] && [ $ms -lt 5000 ] || fail "4 attempts took $ms ms, not 1050 ms of doubling backoff"
[ "$(ctl get faults_left)" = 0 ] || fail "not 4 attempts: $(ctl get faults_left) faults left"
ctl clear
ctl clean || fail "contract"
echo ok
