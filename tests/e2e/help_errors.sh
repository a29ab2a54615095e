#!/bin/bash
# Help and the errors a newcomer meets: `help train` lists the train
# commands with what they do, `help quit` works, a first word alone prints
# its commands' usage, typos get "did you mean", an unknown key is an error
# naming the accepted parameters and the catalog's attributes (it no longer
# silently filters every list empty), and an attribute the catalog has is a
# filter.
set -u
app=${EMBEDLAB:?}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
run() { printf '%s\n' "$@" | "$app" --db "$tmp/db" --batch --no-timing 2>&1; }

"$app" --db "$tmp/db" -c 'gen demo --items 60 --sessions 50' >/dev/null || fail "gen demo"

out=$(run 'help train')
grep -A4 '^train item2vec \[dim=64\] ' <<<"$out" | grep -q '^    Train Item2Vec' ||
    fail "help train: no train item2vec usage with its description: $out"

out=$(run 'help quit')
grep -q '^usage: quit | exit$' <<<"$out" || fail "help quit: $out"
out=$(run 'help exit')
grep -q '^usage: quit | exit$' <<<"$out" || fail "help exit: $out"

out=$(run 'recommend U1')
grep -q '^error: usage: recommend user USER \[k=10\]' <<<"$out" || fail "recommend U1: $out"
grep -q "unknown command" <<<"$out" && fail "recommend U1 is called an unknown command"

out=$(run 'simlar I00010')
grep -q "^error: unknown command 'simlar' (did you mean similar?)$" <<<"$out" || fail "simlar: $out"
out=$(run 'help simlar')
grep -q "did you mean similar?" <<<"$out" || fail "help simlar: $out"

out=$(run 'similar I00010 kk=3')
grep -q "^error: similar: unknown parameter 'kk' (did you mean k=?); accepted: k= category= title=; the catalog's attributes: brand price$" <<<"$out" ||
    fail "similar kk=3: $out"
grep -q '^Item2Vec' <<<"$out" && fail "similar kk=3 still showed lists"

out=$(run 'query "x" n=5')
grep -q "^error: query: unknown parameter 'n'.*; accepted: k= category= title=" <<<"$out" ||
    fail "query n=5: $out"

out=$(run 'set alhpa 0.3')
grep -q "^error: set: unknown parameter 'alhpa' (did you mean alpha=?)" <<<"$out" || fail "set alhpa: $out"

out=$(run 'train item2vec epoch=2')
grep -q "^error: train item2vec: unknown parameter 'epoch' (did you mean epochs=?)" <<<"$out" ||
    fail "train epoch=2: $out"

out=$(run 'index build text hnsw efc=0')
grep -q "^error: index build: ef_construction=0 is out of range (1..1048576)$" <<<"$out" ||
    fail "index build efc=0: $out"

# an attribute of the catalog filters
brand=$("$app" --db "$tmp/db" --json -c 'show I00010' | /usr/bin/python3 -c '
import json, sys
t = json.load(sys.stdin)["tables"][0]
print([r["value"] for r in t["rows"] if r["field"] == "brand"][0])' 2>/dev/null) ||
    brand=$(run 'show I00010' | awk '$1 == "brand" { print $2 }')
[ -n "$brand" ] || fail "no brand for I00010"
out=$(run "items brand=$brand limit=100")
grep -q 'I00010' <<<"$out" || fail "items brand=$brand lacks I00010: $out"
grep -q 'matching items shown' <<<"$out" || fail "items brand=: $out"
# the command line: an option without its value is named as such
for opt in --db -c --max-frames; do
    "$app" $opt >/dev/null 2>"$tmp/err"; rc=$?
    [ $rc -eq 2 ] || fail "$opt without a value exited $rc"
    grep -q "^embedlab: option '$opt' requires an argument$" "$tmp/err" ||
        fail "$opt without a value: $(head -1 "$tmp/err")"
done
"$app" --bogus >/dev/null 2>"$tmp/err"; [ $? -eq 2 ] || fail "--bogus exit"
grep -q "^embedlab: unknown option '--bogus'$" "$tmp/err" || fail "--bogus: $(head -1 "$tmp/err")"
"$app" --max-frames 12x >/dev/null 2>"$tmp/err"; [ $? -eq 2 ] || fail "--max-frames 12x exit"
grep -q "is not a whole number" "$tmp/err" || fail "--max-frames 12x: $(cat "$tmp/err")"
# --db=FILE and -cCOMMAND forms still work
"$app" --db="$tmp/db" -cinfo | grep -q '^items  *60$' || fail "--db=FILE -cCOMMAND"
echo ok
