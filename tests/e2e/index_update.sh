#!/bin/bash
# index_update.sh - a stored index follows its model's vectors, for flat, IVF
# and HNSW, across processes (each `run` is a new process that loads the
# index from the database):
#  - items loaded after the build and encoded with `encode text --new` are
#    inserted (index info: ready, not stale; the counts grow) and a query
#    finds a new item through the index;
#  - `delete item` tombstones: the item never comes back, index info counts it
#    and, past a fifth of the rows, suggests a rebuild;
#  - a failed command (an unknown id among the items to delete) changes nothing;
#  - `train item2vec --update` trains the sessions added since the model:
#    only their items' vectors change, the index inserts and replaces them
#    (no rebuild), and an update with nothing new changes nothing;
#  - a stale index (vectors saved behind its back) is reported, and the next
#    save rebuilds it.
set -u
app=${EMBEDLAB:?}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
run() { "$app" --db "$db" --no-timing "$@"; }

cp "$(dirname "$0")/../fixtures/new_items.csv" "$tmp/new.csv"   # NEW1..NEW3
# the query text is the item's own text (title. category. description): its
# vector is the item's vector, so the item must come first
q_new1='Glacier Trail Headlamp 1400 Lumens. headlamp. Rechargeable headlamp with red light mode, tilt and a strap for night hikes.'
q_new2='Basalt Ceramic Mug 500 ml. mug. Ceramic mug with a wide handle, dishwasher safe, in slate grey.'

for kind in flat ivf hnsw; do
    db=$tmp/$kind.db
    case $kind in
    ivf) opts='nlist=8 nprobe=8' ;;
    hnsw) opts='M=16 ef_construction=200 ef=200' ;;
    *) opts= ;;
    esac
    run -c 'gen demo --items 200 --sessions 800' -c 'encode text' \
        -c "index build text $kind $opts" >/dev/null || fail "$kind: set-up"
    out=$(run -c "load catalog $tmp/new.csv") || fail "$kind: load new items: $out"
    grep -q '^3 items have no text vector: `encode text --new`' <<<"$out" || fail "$kind: hint: $out"
    out=$(run -c 'index info') || fail "$kind: index info"
    grep -qE "^text +$kind .* 200 +0 .* ready" <<<"$out" || fail "$kind: before --new: $out"

    out=$(run -c 'encode text --new') || fail "$kind: encode --new: $out"
    grep -q '^text: 3 new items encoded' <<<"$out" || fail "$kind: --new message: $out"
    grep -q "^index text ($kind): 3 added, 0 updated, 0 removed; 203 live, 0 tombstones" \
        <<<"$out" || fail "$kind: insert report: $out"
    out=$(run -c 'index info') || fail "$kind: index info"
    grep -qE "^text +$kind .* 203 +0 .* ready" <<<"$out" || fail "$kind: after insert: $out"
    out=$(run -c 'encode text --new') || fail "$kind: second --new"
    grep -q 'all 203 items already have vectors' <<<"$out" || fail "$kind: nothing new: $out"

    # found through the index (LLM pane is the second table: rank 1 line)
    out=$(run -c "query \"$q_new1\" k=3") || fail "$kind: query"
    awk '/^LLM/ {p=1} p && /^1 / {print; exit}' <<<"$out" | grep -q NEW1 \
        || fail "$kind: NEW1 not first: $out"
    out=$(run -c 'similar NEW3 k=3') || fail "$kind: similar NEW3"
    grep -q 'no vector' <<<"$out" && fail "$kind: NEW3 has no vector: $out"

    # a failed delete (unknown id) changes nothing
    run -c 'delete item NEW2 NOPE' >/dev/null 2>&1 && fail "$kind: delete with an unknown id accepted"
    grep -qE "^text +$kind .* 203 +0 .* ready" <<<"$(run -c 'index info')" \
        || fail "$kind: failed delete changed the index"

    out=$(run -c 'delete item NEW2') || fail "$kind: delete: $out"
    grep -q "^index text ($kind): 0 added, 0 updated, 1 removed; 202 live, 1 tombstones" \
        <<<"$out" || fail "$kind: tombstone report: $out"
    out=$(run -c 'index info') || fail "$kind: index info"
    grep -qE "^text +$kind .* 202 +1 .* ready" <<<"$out" || fail "$kind: tombstone count: $out"
    out=$(run -c "query \"$q_new2\" k=50") || fail "$kind: query after delete"
    grep -q NEW2 <<<"$out" && fail "$kind: a deleted item came back: $out"
    run -c 'show NEW2' >/dev/null 2>&1 && fail "$kind: NEW2 still in the catalog"
done

# item2vec --update: trains only the sessions added since the model (new
# items NEW1, NEW3 and two old items a, b), so only those vectors change and the
# index takes them incrementally; a second --update finds nothing to do
db=$tmp/hnsw.db
run -c 'train item2vec dim=16 epochs=2 threads=1 seed=1' -c 'index build item2vec hnsw M=8' \
    >/dev/null || fail "i2v set-up"
run -c "export vectors item2vec $tmp/before.txt" >/dev/null || fail "export before"
# two old items that have vectors (some demo items are in no session)
read -r a b <<<"$(tail -n +2 "$tmp/before.txt" | cut -d' ' -f1 | sort | head -2 | tr '\n' ' ')"
printf 'session_id,item_id,timestamp,user_id\nZ1,NEW1,1,U9\nZ1,%s,2,U9\nZ2,NEW3,3,U9\nZ2,%s,4,U9\n' \
    "$a" "$b" >"$tmp/s.csv"
run -c "load sessions $tmp/s.csv" >/dev/null || fail "load sessions"
n0=$(run -c 'index info' | awk '$1 == "item2vec" {print $(NF-3)}')
# sample=0: subsampling would drop one of the two old (frequent) items at random
out=$(run -c 'train item2vec dim=16 epochs=1 threads=1 seed=1 sample=0 --update') || fail "update: $out"
grep -q '^item2vec: [0-9]* items x 16 dims from 2 new sessions (4 tokens), 1 epoch, updated$' \
    <<<"$out" || fail "update message: $out"
grep -q '^2 new items got vectors$' <<<"$out" || fail "new items: $out"
grep -q "^index item2vec (hnsw): 2 added, 2 updated, 0 removed; $((n0 + 2)) live, 2 tombstones$" \
    <<<"$out" || fail "incremental report: $out"
out=$(run -c 'index info') || fail "index info"
grep -qE "^item2vec +hnsw .* $((n0 + 2)) +2 .* ready$" <<<"$out" || fail "after --update: $out"
grep -q stale <<<"$out" && fail "stale after --update: $out"
# every vector but those of the four items is the old one, bit for bit
run -c "export vectors item2vec $tmp/after.txt" >/dev/null || fail "export after"
changed=$(diff <(tail -n +2 "$tmp/before.txt" | sort) <(tail -n +2 "$tmp/after.txt" | sort) \
    | sed -n 's/^> \([^ ]*\) .*/\1/p' | sort | tr '\n' ' ')
[ "$changed" = "$a $b NEW1 NEW3 " ] || fail "changed vectors ($a $b NEW1 NEW3 expected): $changed"
out=$(run -c 'similar NEW1 k=3') || fail "similar NEW1"
awk '/^Item2Vec/ {p=1} p && /^1 /' <<<"$out" | grep -q . || fail "NEW1 has no item2vec neighbours: $out"
models=$(run -c 'models'); info=$(run -c 'index info')
out=$(run -c 'train item2vec dim=16 epochs=1 threads=1 seed=1 sample=0 --update') || fail "no-op update: $out"
grep -q '^item2vec is up to date: no sessions were added since it was trained' <<<"$out" \
    || fail "nothing-new message: $out"
[ "$(run -c 'models')" = "$models" ] && [ "$(run -c 'index info')" = "$info" ] \
    || fail "an update with nothing new changed something"

# stale: vectors changed behind the index's back (another tool, an old
# version) are reported, and the next save rebuilds
command -v sqlite3 >/dev/null || { echo "sqlite3 CLI missing (scripts/deps.sh test)"; exit 77; }
sqlite3 "$db" "UPDATE indexes SET model_version = model_version - 1 WHERE model = 'text'"
run -c 'index info' | grep -qE '^text .*stale' || fail "stale index not reported"
run -c "export vectors text $tmp/t.txt" >/dev/null || fail "export"
out=$(run -c "import vectors $tmp/t.txt --name text") || fail "re-import: $out"
grep -q 'rebuilt over 202 vectors, because the stored index was stale' <<<"$out" \
    || fail "stale rebuild report: $out"
grep -qE '^text +hnsw .* 202 +0 .* ready' <<<"$(run -c 'index info')" || fail "not ready after rebuild"

# many tombstones: index info suggests a rebuild, which compacts
ids=$(seq -f 'I%05g' 1 45 | tr '\n' ' ')
out=$(run -c "delete item $ids") || fail "delete 45: $out"
grep -q '^index text (hnsw): 0 added, 0 updated, 45 removed; 157 live, 45 tombstones' <<<"$out" \
    || fail "45 tombstones: $out"
grep -qE '^text +hnsw .* 157 +45 .* many tombstones: `index build` again' <<<"$(run -c 'index info')" \
    || fail "no rebuild suggested: $(run -c 'index info')"
run -c 'index build text hnsw' >/dev/null || fail "compacting rebuild"
grep -qE '^text +hnsw .* 157 +0 .* ready$' <<<"$(run -c 'index info')" || fail "not compact after rebuild"
echo ok
