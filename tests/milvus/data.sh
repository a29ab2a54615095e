# data.sh - the data and queries the milvus e2e scripts share (sourced after
# $tmp, $db, run and fail are set): a demo shop, a text model made of
# Item2Vec's vectors (fast and deterministic), an item whose title and brand
# hold quotes, a backslash and LIKE's wildcards, and filtered queries.
#   mv_data          makes $db and $tmp/v.txt (the text vectors, word2vec text)
#   answers FILE     writes each query and the ids of its LLM pane to FILE
mv_data() {
    run -c 'gen demo --items 200 --sessions 800' -c 'train item2vec epochs=5 threads=1 seed=7' \
        -c "export vectors item2vec $tmp/v.txt --format word2vec" >/dev/null || fail "set-up"
    run -c "import vectors $tmp/v.txt --name text" >/dev/null || fail "import"
    cat >"$tmp/odd.csv" <<'CSV'
id,title,description,category,brand
ODD1,"Basalt ""Quoted"" Mug 50% off_sale \ back",Ceramic mug,mug,"Q""uote\d"
CSV
    run -c "load catalog $tmp/odd.csv" >/dev/null || fail "odd item"
}
queries=(
    'similar I00010 k=10'
    'similar I00010 k=10 category=mug'
    'similar I00050 k=8 brand=Morningside'
    'similar I00050 k=8 price=34.99'
    'similar I00003 k=6 title=Mug'
    'similar I00003 k=6 title="50%"'
    'similar I00003 k=6 title="\"Quoted\" Mug 50% off_sale \\ back"'
    'similar I00003 k=6 brand="Q\"uote\\d"'
    'similar +I00010 -I00020 k=5'
    'similar I00010 I00011 I00012 k=7'
)
llm_ids() { awk '/^LLM/ {p=1; next} /^Hybrid/ {p=0} p && /^[0-9]+ / {print $2}'; }
# (as a sorted set: the contract server scores in float64, our exact search in
# float32, so two near-equal neighbours may trade places)
answers() {
    : >"$1"
    for q in "${queries[@]}"; do
        out=$(run -c "$q") || fail "$q: $out"
        { echo "== $q"; llm_ids <<<"$out" | sort; } >>"$1"
    done
}
# recall_ok OUTPUT: the milvus row of `index eval` has recall >= 0.99
recall_ok() { awk '/^milvus / {r = $(NF-5)} END {exit !(r >= 0.99)}' <<<"$1"; }
