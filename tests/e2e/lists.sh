#!/bin/bash
# The three lists say what they are and never mislead:
#  - CSV has a method column (Item2Vec | LLM | the hybrid mode), JSON the
#    fields method, hybrid, alpha and i2v (inin shows in the title too);
#  - every hybrid list's score decreases down the list, and a `from`
#    column says which model each row came from (fill mixes Item2Vec's
#    list with cold-start LLM matches: the score is the position);
#  - empty lists say why (+A -A, text with nothing the encoder reads), a
#    query of unknown words says so, a cold item is "this item";
#  - tiny data (the four-product example) gets notes instead of
#    meaningless figures; JSON's "command" is the line without its newline.
set -u
app=${EMBEDLAB:?}
fx=$(cd "$(dirname "$0")/../fixtures" && pwd)
ex=$(cd "$(dirname "$0")/../../data/examples" && pwd)
py=/usr/bin/python3
[ -x $py ] || { echo "python3 missing"; exit 77; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
db=$tmp/db
run() { "$app" --db "$db" --no-timing "$@"; }

run -c 'gen demo --items 200 --sessions 2000' -c 'train item2vec epochs=5 threads=1' \
    -c "encode text model=$fx/tiny-bert" >"$tmp/prep" || fail "prepare: $(cat "$tmp/prep")"
grep -q 'fewer than it can learn' "$tmp/prep" && fail "a tiny-data note on enough data"

# (2) CSV: every row names its list
run --csv -c 'similar I00010 k=3' >"$tmp/csv" || fail "similar --csv"
[ "$(grep -c '^method,#,id,title,score' "$tmp/csv")" = 3 ] || fail "headers: $(cat "$tmp/csv")"
grep -q '^method,#,id,title,score,from$' "$tmp/csv" || fail "hybrid header: $(cat "$tmp/csv")"
for m in 'Item2Vec' 'LLM' '"Hybrid \(fill, alpha 0\.20\)"'; do
    [ "$(grep -cE "^$m,[123]," "$tmp/csv")" = 3 ] || fail "rows of $m: $(cat "$tmp/csv")"
done
run --json -c 'similar I00010 k=3' -c 'set i2v inin' -c 'similar I00010 k=3' >"$tmp/j" || fail "json"
$py - "$tmp/j" <<'PY' || fail "JSON fields"
import json, sys
a, _, b = [json.loads(l) for l in open(sys.argv[1])]
f = [t["fields"] for t in a["tables"][:3]]
assert [x["method"] for x in f] == ["Item2Vec", "LLM", "Hybrid"], f
assert f[0]["i2v"] == "inout" and f[2]["hybrid"] == "fill" and f[2]["alpha"] == 0.2, f
t = b["tables"][0]
assert t["fields"]["i2v"] == "inin" and t["title"] == "Item2Vec (IN\u00b7IN, used alike)", t
PY

# (4) every hybrid mode: decreasing scores, a known source per row
for mode in fill rerank blend rrf; do
    printf '%s\n' "set hybrid $mode" 'similar I00010' 'similar I00050' 'similar I00150' \
        'recommend user U00007' 'query "phone case"' 'similar I00020 I00030' |
        "$app" --db "$db" --batch --no-timing --json >"$tmp/$mode.j" || fail "$mode lists"
done
$py - "$tmp" <<'PY' || fail "hybrid lists"
import json, sys
mixed = False
for mode in ("fill", "rerank", "blend", "rrf"):
    for line in open("%s/%s.j" % (sys.argv[1], mode)):
        for t in json.loads(line)["tables"]:
            if t.get("fields", {}).get("method") != "Hybrid":
                continue
            s = [r["score"] for r in t["rows"]]
            assert all(x >= y for x, y in zip(s, s[1:])), (mode, t["title"], s)
            src = {r["from"] for r in t["rows"]}
            assert src <= {"Item2Vec", "LLM", "both"}, (mode, src)
            mixed |= mode == "fill" and {"Item2Vec", "LLM"} <= src
assert mixed, "no fill list mixes Item2Vec rows with cold-start LLM rows"
PY

# (15) empty lists and odd queries say why
run -c 'similar +I00010 -I00010' >"$tmp/o" || fail "+A -A"
[ "$(grep -c 'terms cancel out' "$tmp/o")" = 3 ] || fail "+A -A: $(cat "$tmp/o")"
cold=$(run -c 'sessions stats' >/dev/null; for i in $(seq -w 1 200); do
    run -c "show I00$i" 2>/dev/null | grep -q 'cold start' && { echo "I00$i"; break; }; done)
[ -n "$cold" ] || fail "no cold item found"
run -c "similar $cold" | grep -q "cold start: no item2vec vector for this item" ||
    fail "cold item: $(run -c "similar $cold")"
db=$tmp/builtin
run -c "load catalog $ex/catalog.csv" -c "load sessions $ex/sessions.csv" -c 'encode text' \
    -c 'query "zzzqqq"' >"$tmp/o" || fail "builtin query: $(cat "$tmp/o")"
grep -q "no known words: the encoder (builtin" "$tmp/o" || fail "zzzqqq: $(cat "$tmp/o")"
run -c 'query "!!!"' >"$tmp/q" || fail 'query "!!!"'
grep -q 'the encoder found nothing it reads in the text' "$tmp/q" || fail "!!!: $(cat "$tmp/q")"
printf 'info\n' | run --batch --json | grep -q '^{"command":"info",' || fail "JSON command keeps the newline"

# (5) the four-product example: notes, not silent figures
grep -q 'the builtin encoder learnt its words from 4 item texts' "$tmp/o" ||
    fail "no note on the builtin encoder's 4 texts: $(cat "$tmp/o")"
run -c 'train item2vec epochs=1' -c 'eval' >"$tmp/o" || fail "tiny train/eval: $(cat "$tmp/o")"
grep -q '^item2vec: 4 items x 64 dims from 3 sessions (9 tokens), 1 epoch$' "$tmp/o" ||
    fail "train message: $(cat "$tmp/o")"
grep -q 'note: Item2Vec learnt from 9 events for 4 items (2.2 per item), fewer than it can learn' \
    "$tmp/o" || fail "no tiny-training note: $(cat "$tmp/o")"
grep -q 'note: k = 10 is not below the number of candidate items (at most 3' "$tmp/o" || fail "no k note: $(cat "$tmp/o")"
grep -q 'note: Item2Vec learnt from 6 events' "$tmp/o" || fail "no eval training note: $(cat "$tmp/o")"
# one epoch is "1 epoch" in the model's label too (info, models, the TUI's header)
run -c info | grep -qE '^item2vec +Item2Vec \(SGNS, dim 64, window 5, 1 epoch\),' ||
    fail "info: $(run -c info | grep '^item2vec')"
echo ok
