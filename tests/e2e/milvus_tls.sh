#!/bin/bash
# milvus_tls.sh - a milvus index over https (the contract server with a
# self-signed certificate made here for 127.0.0.1):
#  - with ca_file= naming the certificate: build, search and index info work,
#    and the stored settings keep ca_file (never a token);
#  - without it the peer is not trusted (the system's CAs do not know it): a
#    clear certificate error, nothing built;
#  - http:// to the https port fails clearly, and so does a ca_file that is
#    not a certificate.
set -u
. "$(dirname "$0")/../milvus/lib.sh"
command -v openssl >/dev/null || { echo "openssl CLI missing (scripts/deps.sh test)"; exit 77; }
command -v curl >/dev/null || { echo "curl missing (scripts/deps.sh test)"; exit 77; }
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 \
    -addext subjectAltName=IP:127.0.0.1 -keyout "$tmp/key.pem" -out "$tmp/cert.pem" \
    >/dev/null 2>&1 || fail "openssl could not make a certificate"
mv_start --tls "$tmp/cert.pem" "$tmp/key.pem"
https=https://127.0.0.1:$port
# the server's own view, over https (lib.sh's ctl speaks plain http)
value() { curl -s --cacert "$tmp/cert.pem" "$https/contract/value/$1"; }
db=$tmp/db
. "$(dirname "$0")/../milvus/data.sh"
mv_data

out=$(run -c "index build text milvus uri=$https collection=tls" 2>&1) \
    && fail "built over https with an untrusted certificate: $out"
grep -q "describe collection tls: TLS with $https/v2/vectordb/collections/describe failed: .*certificate" \
    <<<"$out" || fail "untrusted certificate message: $out"
[ "$(value collections.tls)" = 0 ] || fail "something was created without trust"

out=$(run -c "index build text milvus uri=http://127.0.0.1:$port collection=tls" 2>&1) \
    && fail "plain http to the https port succeeded: $out"
grep -q "http://127.0.0.1:$port/v2/vectordb/collections/describe" <<<"$out" \
    || fail "http to https message: $out"

printf 'not a certificate\n' >"$tmp/bad.pem"
out=$(run -c "index build text milvus uri=$https collection=tls ca_file=$tmp/bad.pem" 2>&1) \
    && fail "built with a ca_file that is no certificate: $out"
grep -q "TLS with $https/.* failed: .*$tmp/bad.pem" <<<"$out" || fail "bad ca_file message: $out"

out=$(run -c "index build text milvus uri=$https collection=tls ca_file=$tmp/cert.pem" \
    -c 'similar I00010 k=5' -c 'index info' 2>&1) || fail "https build: $out"
grep -q "^index text: milvus IVF_FLAT .* in collection tls at $https: Milvus counts 177" <<<"$out" \
    || fail "https build message: $out"
grep -q '^1 ' <<<"$out" || fail "no search results over https: $out"
grep -q 'remote: LoadStateLoaded' <<<"$out" || fail "index info over https: $out"
[ "$(value collections.tls)" = 177 ] || fail "server count: $(value collections)"
params=$(sqlite3 "$db" "select params from indexes where model='text'" 2>/dev/null || true)
[ -z "$params" ] || grep -q "\"ca_file\":\"$tmp/cert.pem\"" <<<"$params" \
    || fail "ca_file not stored: $params"
# the next process searches over https with the stored ca_file
out=$(run -c 'similar I00011 k=3' 2>&1) || fail "second process: $out"
grep -q '^1 ' <<<"$out" || fail "second process, no results: $out"
[ "$(value violations)" = "[]" ] || fail "contract violations: $(value violations)"
echo ok
