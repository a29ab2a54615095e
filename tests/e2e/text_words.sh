#!/bin/bash
# The builtin encoder with pretrained English through the commands: `pretrain
# text` on the small fixture dictionary (WordNet and GCIDE formats), `encode
# text` finding the words file ($EMBEDLAB_WORDS, words=), its honest label in
# models/info, queries in a later process, words=none for the catalog-only
# encoder, and clear errors for a damaged words file.
set -u
app=${EMBEDLAB:?}
fx=$(cd "$(dirname "$0")/../fixtures" && pwd)
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
w="$tmp/words.ewv"

out=$("$app" --db :memory: --no-timing -c "pretrain text $w wordnet=$fx/textdict/wordnet \
    gcide=$fx/textdict/gcide.dict dim=16 epochs=50 min_count=1 buckets=500 sample=0") \
    || fail "pretrain: $out"
grep -qE "words x 16 dims from [0-9]+ definitions" <<<"$out" || fail "pretrain message: $out"
[ -s "$w" ] || fail "no words file"

"$app" --db "$tmp/db" -c 'gen demo --items 60 --sessions 50' >/dev/null || fail "gen demo"
out=$(EMBEDLAB_WORDS="$w" "$app" --db "$tmp/db" -c 'encode text model=builtin') || fail "encode: $out"
grep -q 'text: 60 items x 144 dims with builtin: dictionary-pretrained word vectors + SIF' <<<"$out" \
    || fail "label/dims: $out"
"$app" --db "$tmp/db" -c models | grep -q 'dictionary-pretrained' || fail "models row"
"$app" --db "$tmp/db" -c info | grep -q 'dictionary-pretrained' || fail "info row"

# a later process: the stored encoder finds the words file by its path
out=$("$app" --db "$tmp/db" -c 'query "headphones" k=3') || fail "query: $out"
grep -q 'query encoded by builtin: dictionary-pretrained' <<<"$out" || fail "query encoder: $out"

# words= names the file; words=none is the catalog-only encoder
out=$("$app" --db "$tmp/db" -c "encode text model=builtin words=$w") || fail "words=: $out"
grep -q 'dictionary-pretrained' <<<"$out" || fail "words= not used: $out"
out=$(EMBEDLAB_WORDS="$w" "$app" --db "$tmp/db" -c 'encode text model=builtin words=none') \
    || fail "words=none: $out"
grep -q 'with builtin (trained on this catalog)' <<<"$out" || fail "words=none: $out"

# a few texts: the catalog-only encoder warns that its vectors mean little,
# the pretrained one (general English from the words file) does not
"$app" --db "$tmp/few" -c 'gen demo --items 40 --sessions 5' >/dev/null || fail "gen few"
out=$("$app" --db "$tmp/few" -c "encode text words=none") || fail "few, none: $out"
grep -q 'learnt its words from 40 item texts' <<<"$out" || fail "no tiny-data note: $out"
out=$("$app" --db "$tmp/few" -c "encode text words=$w") || fail "few, words: $out"
grep -q 'learnt its words' <<<"$out" && fail "tiny-data note with a words file: $out"

# a damaged words file: a clear error naming it, the previous vectors kept
head -c 3000 "$w" > "$tmp/bad.ewv"
"$app" --db "$tmp/db" -c "encode text words=$tmp/bad.ewv" >"$tmp/o" 2>&1 && fail "bad file accepted"
grep -q "bad.ewv" "$tmp/o" || fail "error does not name the file: $(cat "$tmp/o")"
"$app" --db "$tmp/db" -c models | grep -q 'trained on this catalog' || fail "vectors lost"
"$app" --db "$tmp/db" -c "encode text words=$tmp/missing.ewv" >"$tmp/o" 2>&1 && fail "missing file accepted"
grep -q "missing.ewv" "$tmp/o" || fail "missing file not named: $(cat "$tmp/o")"
EMBEDLAB_WORDS="$tmp/gone.ewv" "$app" --db "$tmp/db" -c 'encode text' >"$tmp/o" 2>&1 \
    && fail "a missing \$EMBEDLAB_WORDS accepted"
grep -q 'EMBEDLAB_WORDS=.*gone.ewv' "$tmp/o" || fail "env error: $(cat "$tmp/o")"
echo "text_words: ok"
