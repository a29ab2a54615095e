# The four-product example of the classic Item2Vec-versus-LLM write-up, whole
# (data/examples/README.md).  From the repository's top folder:
#     build/release/embedlab --db :memory: demo/four-products.cmd
load catalog data/examples/catalog.csv
load sessions data/examples/sessions.csv
# Item2Vec from the three sessions.  Nine events are far too few to learn
# from (embedlab says so); sample=0 keeps them all and 200 passes let the
# vectors move at least.
train item2vec sample=0 epochs=200 threads=1 seed=1
# Text vectors: a BERT model folder when one is installed, else the builtin
# encoder trained on these four texts (it says how little that is).
encode text
# Item2Vec's top 3 for P100 (bought together) beside the LLM's (similar text)
similar P100 k=3
# The same search through a vector index
index build text flat
index build item2vec flat
similar P100 k=3
# The hybrid recommendation for the history [P203, P305, P100] (user U3's
# session) with P100, its last item, as the query; items already in the
# history are left out, so one candidate is left.
set hybrid rerank
recommend user U3 k=3
# Free text through the text encoder: "wireless noise-cancelling earbuds"
query "无线降噪耳机" k=3
