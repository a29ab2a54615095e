# The data side of embedlab in batch mode: generate, inspect, errors.
help show
gen demo --items 100 --sessions 300 --seed 5
info
items category=stylus limit=3
show I00001
sessions limit=3
sessions stats
set alpha 0.3
set alpha 3
set hybrid magic
frobnicate
items --bogus
show NOPE
train item2vec dim=0
train item2vec window=-1
train item2vec negative=1000000
train item2vec colour=blue
# item filters inside the similar lists (an attribute and the category)
train item2vec dim=8 epochs=2 threads=1 seed=3
similar I00050 k=3 brand=Lumina
similar I00050 k=3 category="phone case"
# the recommendation settings validate their values; i2v dot scores by the
# raw output vectors (a dot product, not the cosine of inout)
set i2v inin
set i2v sideways
set i2v dot
similar I00050 k=3 brand=Lumina
set i2v inout
set history 1
set history 0
