#!/bin/bash
# Models across processes: train, --update with new items, export/import in the
# word2vec formats and .fvecs, an index stored with the database and rebuilt
# when retraining changes the vectors.
set -u
app=${EMBEDLAB:?}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
db=$tmp/db
run() { "$app" --db "$db" --no-timing "$@"; }

run -c 'gen demo --items 200 --sessions 800' -c 'train item2vec dim=16 epochs=3 seed=4' >/dev/null || fail "train"
run -c models | grep -qE '^item2vec +sgns .* +16 +1 ' || fail "models row (dim 16, version 1)"

# a new item and sessions that use it: --update gives it a vector, keeps the rest
printf 'id,title,description,category\nNEW1,Brand new phone,a new phone,smartphone\n' >"$tmp/new.csv"
printf 'session_id,item_id,timestamp,user_id\nZ1,NEW1,1,U9\nZ1,I00010,2,U9\nZ2,I00010,3,U9\nZ2,NEW1,4,U9\n' >"$tmp/s.csv"
run -c "load catalog $tmp/new.csv" -c "load sessions $tmp/s.csv" >/dev/null || fail "load new"
out=$(run -c 'train item2vec dim=16 epochs=2 seed=4 --update') || fail "update: $out"
grep -q 'updated' <<<"$out" && grep -q '1 new items got vectors' <<<"$out" || fail "update message: $out"
run -c 'similar NEW1 k=3' | grep -q 'cold start' && fail "NEW1 has no vector after --update"
run -c 'train item2vec dim=32 --update' >/dev/null 2>"$tmp/e" && fail "dim change on --update accepted"
grep -q 'dim' "$tmp/e" || fail "unclear dim message: $(cat "$tmp/e")"

# export and import: word2vec text and binary, .fvecs
run -c "export vectors item2vec $tmp/v.txt" -c "export vectors item2vec $tmp/v.bin --format word2vec-bin" \
    -c "export vectors item2vec $tmp/v.fvecs" >/dev/null || fail "export"
head -1 "$tmp/v.txt" | grep -qE '^[0-9]+ 16$' || fail "word2vec header"
out=$(run -c "import vectors $tmp/v.bin --name copy --format word2vec-bin" -c 'models') || fail "import: $out"
grep -qE '^copy +imported ' <<<"$out" || fail "imported model missing: $out"
run -c "export vectors copy $tmp/c.txt" >/dev/null || fail "export copy"
cmp -s <(tail -n +2 "$tmp/v.txt" | sort) <(tail -n +2 "$tmp/c.txt" | sort) || fail "round trip changed vectors"
printf '3 2\nI00001 1 0\n' >"$tmp/bad.txt"
run -c "import vectors $tmp/bad.txt" >/dev/null 2>"$tmp/e" && fail "truncated file accepted"
grep -q "bad.txt" "$tmp/e" || fail "message does not name the file: $(cat "$tmp/e")"
# an export to a missing folder names the user's file (not a temporary one)
for f in v.txt v.csv; do
    run -c "export vectors item2vec $tmp/nodir/$f" >/dev/null 2>"$tmp/e" && fail "export to a missing folder"
    grep -q "$tmp/nodir/$f: cannot write: No such file or directory" "$tmp/e" ||
        fail "unclear export message: $(cat "$tmp/e")"
    grep -q '\.tmp' "$tmp/e" && fail "the message names a temporary file: $(cat "$tmp/e")"
done
# info counts the models `models` lists (item2vec's output vectors are not one)
n=$(run -c models | grep -cE '^(item2vec|copy) ')
run -c info | grep -qE "^models +$n\$" || fail "info's model count: $(run -c info | grep models)"

# an index is stored with the database, loaded by the next process, rebuilt by
# a retraining (which moves every vector; index_update.sh covers the rest)
run -c 'index build item2vec hnsw M=8' >/dev/null || fail "index build"
run -c 'index info' | grep -qE '^item2vec +hnsw .* ready' || fail "index not loaded in a new process"
out=$(run -c 'train item2vec dim=16 epochs=1 seed=5') || fail "retrain: $out"
grep -q '^index item2vec (hnsw): rebuilt' <<<"$out" || fail "retrain did not rebuild the index: $out"
run -c 'index info' | grep -qE '^item2vec +hnsw .* ready' || fail "index not ready after retraining"
run -c 'index build item2vec ivf nlist=8' -c 'index info' | grep -qE '^item2vec +ivf .* ready' || fail "rebuild"
run -c 'index build item2vec hnsw M=0' >/dev/null 2>&1 && fail "M=0 accepted"
echo ok
