# reliability.cmd - a whole session on the demo data with hostile input mixed in:
# errors must not disturb the state (each is reported, the next command works).
# Also the script `make check-valgrind` runs under memcheck.
load catalog ../../data/demo/catalog.csv
load catalog ../bad/catalog_bad_utf8.csv
load sessions ../../data/demo/sessions.csv
load sessions ../bad/sessions_unknown_item.csv
sessions stats
train item2vec dim=8 epochs=2 threads=1 seed=7
train item2vec dim=8 epochs=0
similar "'); DROP TABLE items; --"
index build item2vec hnsw M=8 ef_construction=32 seed=1
index build item2vec nope
index info
import vectors ../bad/vectors_not_finite.txt
set k 3
set k 0
models
