#!/bin/bash
# milvus_update.sh - a milvus index follows its model's vectors through the
# commands that change them, as the local indexes do (index_update.sh), with
# the contract server (tests/milvus/contract_server.py) as Milvus:
#  - `encode text --new` upserts the new items' vectors ("3 added"), the
#    server holds them and a query finds a new item through Milvus;
#  - `train item2vec --update` upserts the vectors it changed (new items
#    added, old ones updated, nothing else sent) and the server's vectors are
#    the model's afterwards (recall 1 against exact search).
set -u
. "$(dirname "$0")/../milvus/lib.sh"
mv_start
db=$tmp/db
. "$(dirname "$0")/../milvus/data.sh"   # recall_ok

cp "$(dirname "$0")/../fixtures/new_items.csv" "$tmp/new.csv"   # NEW1..NEW3
q_new1='Glacier Trail Headlamp 1400 Lumens. headlamp. Rechargeable headlamp with red light mode, tilt and a strap for night hikes.'

run -c 'gen demo --items 200 --sessions 800' -c 'encode text' \
    -c "index build text milvus uri=$uri collection=txt" >/dev/null || fail "set-up"
[ "$(ctl get collections.txt)" = 200 ] || fail "server count: $(ctl get collections)"
run -c "load catalog $tmp/new.csv" >/dev/null || fail "load new items"
up0=$(ctl get requests.entities/upsert)
out=$(run -c 'encode text --new') || fail "encode --new: $out"
grep -q '^index text (milvus): 3 added, 0 updated, 0 removed; 203 live, 0 tombstones' <<<"$out" \
    || fail "--new report: $out"
[ "$(ctl get collections.txt)" = 203 ] || fail "server count after --new: $(ctl get collections)"
[ $(( $(ctl get requests.entities/upsert) - up0 )) = 1 ] || fail "3 rows, not one upsert"
out=$(run -c "query \"$q_new1\" k=3") || fail "query: $out"
awk '/^LLM/ {p=1} p && /^1 / {print; exit}' <<<"$out" | grep -q NEW1 \
    || fail "NEW1 not first through Milvus: $out"

run -c 'train item2vec dim=16 epochs=2 threads=1 seed=1' \
    -c "index build item2vec milvus uri=$uri collection=i2v" >/dev/null || fail "i2v set-up"
n0=$(ctl get collections.i2v)
run -c "export vectors item2vec $tmp/before.txt" >/dev/null || fail "export before"
read -r a b <<<"$(tail -n +2 "$tmp/before.txt" | cut -d' ' -f1 | sort | head -2 | tr '\n' ' ')"
printf 'session_id,item_id,timestamp,user_id\nZ1,NEW1,1,U9\nZ1,%s,2,U9\nZ2,NEW3,3,U9\nZ2,%s,4,U9\n' \
    "$a" "$b" >"$tmp/s.csv"
run -c "load sessions $tmp/s.csv" >/dev/null || fail "load sessions"
up0=$(ctl get requests.entities/upsert)
# sample=0: subsampling would drop one of the two old (frequent) items at random
out=$(run -c 'train item2vec dim=16 epochs=1 threads=1 seed=1 sample=0 --update') || fail "update: $out"
grep -q "^index item2vec (milvus): 2 added, 2 updated, 0 removed; $((n0 + 2)) live, 0 tombstones$" \
    <<<"$out" || fail "--update report: $out"
[ "$(ctl get collections.i2v)" = $((n0 + 2)) ] || fail "server count after --update"
[ $(( $(ctl get requests.entities/upsert) - up0 )) = 1 ] || fail "4 rows, not one upsert"
out=$(run -c 'index eval item2vec queries=60') || fail "eval: $out"
recall_ok "$out" || fail "the server's vectors are not the model's after --update: $out"
ctl clean || fail "contract"
echo ok
