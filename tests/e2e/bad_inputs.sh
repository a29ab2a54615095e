#!/bin/bash
# bad_inputs.sh - the bad-input catalogue (tests/bad/, see its README.md) through
# the real binary.  A file database is preloaded with good data (catalog, sessions,
# an item2vec model); then each bad file is loaded in its own embedlab run and
#  - the run must fail, with an "error: " line starting with the message the
#    README gives for the file (which names the file and, for rows, the line);
#  - `sqlite3 DB .dump` must be byte-identical before and after.
# Model files (safetensors, config, vocab) are put into a copy of the tiny-bert
# fixture and go through `encode text model=DIR` (skipped, with a note, in a
# build without that command); tests/unit/test_badfiles.c checks them against
# the loaders as well.
set -u
cd "$(dirname "$0")/.."        # tests/: the README's paths are relative to it
APP=${EMBEDLAB:-$PWD/../build/release/embedlab}
command -v sqlite3 >/dev/null || { echo "sqlite3 CLI missing (scripts/deps.sh test)"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
db=$tmp/lab.db
fail=0 n=0

# good data: 4 items (catalog_ok.csv has P1..P3, plus P4), sessions, a model
cp bad/catalog_ok.csv "$tmp/good.csv" && echo 'P4,Cable,A cable,power' >> "$tmp/good.csv"
printf 'P1 P2 P3\nP2 P3 P4\nP4 P1\n' > "$tmp/good.txt"
if ! "$APP" --db "$db" --strict -c "load catalog $tmp/good.csv" -c "load sessions $tmp/good.txt" \
        -c "train item2vec dim=4 epochs=2 threads=1" >"$tmp/setup.log" 2>&1; then
    echo "setup failed:"; cat "$tmp/setup.log"; exit 1
fi
sqlite3 "$db" .dump > "$tmp/before.sql"
grep -q 'INSERT INTO items' "$tmp/before.sql" || { echo "no items in the preloaded db"; exit 1; }

# expected message per file: the README table's third column (up to "(...)")
expect() {
    grep -F "| \`$1\` |" bad/README.md | head -1 | awk -F'|' '{print $4}' |
        sed -e 's/^ *`//' -e 's/` *$//' -e 's/ *(\.\.\.).*$//' -e 's/ *(\.\.\.)`.*$//'
}

check() {   # check FILE COMMAND...
    local f=$1; shift
    local want bad=0; want=$(expect "$f")
    n=$((n+1))
    # the good catalog is part of the preloaded data, so loading it again
    # must be refused as a duplicate, leaving the database as it was
    [ "$f" = catalog_ok.csv ] && want="bad/$f:2: field 'id': item id 'P1' is already in the database"
    if [ -z "$want" ]; then
        echo "FAIL $f: not listed in tests/bad/README.md"; fail=1; return
    fi
    "$APP" --db "$db" -c "$*" >"$tmp/out" 2>"$tmp/err"
    local rc=$?
    if [ $rc -eq 0 ]; then
        echo "FAIL $f: '$*' succeeded"; cat "$tmp/out"; bad=1
    elif ! grep -qF -- "error: $want" "$tmp/err"; then
        echo "FAIL $f: message"; echo "  want: error: $want"; echo "  got:  $(cat "$tmp/err")"
        bad=1
    fi
    sqlite3 "$db" .dump > "$tmp/after.sql"
    if ! cmp -s "$tmp/before.sql" "$tmp/after.sql"; then
        echo "FAIL $f: the database changed"; diff "$tmp/before.sql" "$tmp/after.sql" | head -20
        bad=1
        cp "$tmp/after.sql" "$tmp/before.sql"
    fi
    if [ $bad -eq 0 ]; then echo "ok   $f: $(head -c 150 "$tmp/err")"; else fail=1; fi
}

for path in bad/*; do
    f=$(basename "$path")
    case "$f" in
        README.md) ;;
        catalog_*) check "$f" load catalog "bad/$f" ;;
        sessions_*) check "$f" load sessions "bad/$f" ;;
        ml_*) check "$f/" load movielens "bad/$f" ;;
        vectors_*) check "$f" import vectors "bad/$f" ;;
        model_*|vocab_*) ;;   # below
        *) echo "FAIL $f: no rule for this file in bad_inputs.sh"; fail=1 ;;
    esac
done

# model folders: only when this build can load one from a command
if "$APP" --db :memory: -c "help encode text" >/dev/null 2>&1; then
    fx=fixtures/tiny-bert
    mk_model() { mkdir -p "$1"; cp -r "$fx"/. "$1"/; }
    m=$tmp/m_hdr; mk_model "$m"; cp bad/model_header_2_63.safetensors "$m/model.safetensors"
    m=$tmp/m_off; mk_model "$m"; cp bad/model_offsets_past_end.safetensors "$m/model.safetensors"
    m=$tmp/m_shape; mk_model "$m"; cp bad/model_shape_mismatch/config.json "$m/config.json"
    m=$tmp/m_vocab; mk_model "$m"; cp bad/vocab_duplicate.txt "$m/vocab.txt"
    for m in m_hdr m_off m_shape m_vocab; do
        n=$((n+1))
        "$APP" --db "$db" -c "encode text model=$tmp/$m" >"$tmp/out" 2>"$tmp/err"
        if [ $? -eq 0 ] || ! grep -q "error: .*$tmp/$m/" "$tmp/err"; then
            echo "FAIL model $m: want an error naming the file in $tmp/$m"; cat "$tmp/err"; fail=1
        else
            echo "ok   model $m: $(head -c 150 "$tmp/err")"
        fi
        sqlite3 "$db" .dump > "$tmp/after.sql"
        cmp -s "$tmp/before.sql" "$tmp/after.sql" || { echo "FAIL model $m: db changed"; fail=1; }
    done
else
    echo "note: no 'encode text' command in this build; model files are checked by test_badfiles"
fi

sqlite3 "$db" 'PRAGMA integrity_check' | grep -qx ok || { echo "FAIL integrity_check"; fail=1; }
echo "$n bad inputs checked"
exit $fail
