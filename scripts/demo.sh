#!/bin/sh
# demo.sh APP - `make demo`: prepares build/demo.db from the bundled data/demo
# (import, train Item2Vec, encode text, build an HNSW index over the text
# vectors) once, then starts embedlab on it.  On a terminal that is the
# full-screen interface; without one (CI, a pipe) the scripted tour in
# demo/tour.cmd runs in batch mode instead.
set -eu
app=${1:-build/release/embedlab}
db=build/demo.db
words=build/share/embedlab/models/words-en.ewv
if [ ! -f "$db" ] || [ data/demo/catalog.csv -nt "$db" ] || [ data/demo/sessions.csv -nt "$db" ] ||
    { [ -f "$words" ] && [ "$words" -nt "$db" ]; }; then
    rm -f "$db" "$db-wal" "$db-shm"
    echo "preparing $db from data/demo (one time) ..."
    "$app" --db "$db" --strict \
        -c 'load catalog data/demo/catalog.csv' \
        -c 'load sessions data/demo/sessions.csv' \
        -c 'train item2vec' \
        -c 'encode text' \
        -c 'index build text hnsw'
fi
if [ -t 0 ] && [ -t 1 ]; then
    exec "$app" --db "$db"
fi
exec "$app" --db "$db" --batch < demo/tour.cmd
