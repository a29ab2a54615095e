#!/bin/bash
# data/examples holds the four-product example exactly (sessions
# [P100,P203,P501], [P501,P100,P305], [P203,P305,P100], a user each, the four
# texts), and demo/four-products.cmd runs the whole example without an error:
# Item2Vec and LLM top 3 for P100, the index search, the hybrid
# recommendation for U3's history [P203,P305,P100], query "无线降噪耳机".
set -u
app=${EMBEDLAB:?}
top=$(cd "$(dirname "$0")/../.." && pwd)
ex=$top/data/examples
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

got=$(awk -F, 'NR > 1 { s[$1] = s[$1] " " $2; u[$1] = $4 } END { for (k in s) print k, u[k] ":" s[k] }' \
      "$ex/sessions.csv" | sort)
want=$'S1 U1: P100 P203 P501\nS2 U2: P501 P100 P305\nS3 U3: P203 P305 P100'
[ "$got" = "$want" ] || fail "sessions.csv: $got"
[ "$(cat "$ex/sessions.txt")" = $'P100 P203 P501\nP501 P100 P305\nP203 P305 P100' ] ||
    fail "sessions.txt: $(cat "$ex/sessions.txt")"
[ "$(cut -d, -f1 "$ex/catalog.csv" | tr '\n' ' ')" = "id P100 P203 P501 P305 " ] ||
    fail "catalog ids: $(cut -d, -f1 "$ex/catalog.csv")"
grep -q '^P100,无线蓝牙耳机,无线蓝牙耳机 主动降噪 续航30小时,' "$ex/catalog.csv" || fail "P100's text"

cd "$top" || fail "cd $top"
"$app" --db :memory: --no-timing demo/four-products.cmd >"$tmp/o" 2>"$tmp/err" ||
    fail "the demo script failed: $(cat "$tmp/err")"
[ -s "$tmp/err" ] && fail "errors: $(cat "$tmp/err")"
o=$tmp/o
# similar P100 k=3, before and after the index: three rows in Item2Vec and LLM
[ "$(grep -A4 '^Item2Vec$' "$o" | grep -cE '^[123]  P(203|501|305) ')" -ge 6 ] ||
    fail "Item2Vec top 3 of P100: $(cat "$o")"
[ "$(grep -A4 '^LLM$' "$o" | grep -cE '^[123]  P(203|501|305) ')" -ge 6 ] ||
    fail "LLM top 3 of P100: $(cat "$o")"
grep -q '^index text: flat cosine over 4 vectors' "$o" || fail "index build: $(cat "$o")"
grep -A3 '^Hybrid (rerank' "$o" | grep -qE '^1  P501 .* both$' || fail "hybrid for U3: $(cat "$o")"
grep -q '^user U3: 3 events in history' "$o" || fail "U3's history"
grep -A2 '^LLM$' "$o" | tail -1 | grep -qE '^1  P100  无线蓝牙耳机' || fail "query: $(tail -20 "$o")"
grep -q 'query encoded by' "$o" || fail "query line"
echo ok
