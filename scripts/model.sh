#!/bin/sh
# model.sh - `make model`: downloads sentence-transformers/all-MiniLM-L6-v2
# (a pinned revision) into data/models/all-MiniLM-L6-v2/, checking every file
# against its known sha256.  Files go to a temporary folder first and are
# moved into place only when all of them arrived intact, so an offline or
# failed run says so and changes nothing.
set -eu
REV=1110a243fdf4706b3f48f1d95db1a4f5529b4d41
BASE=https://huggingface.co/sentence-transformers/all-MiniLM-L6-v2/resolve/$REV
DEST=data/models/all-MiniLM-L6-v2
# file  sha256 (empty: no published hash we could confirm; checked as JSON)
FILES="config.json 953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41
model.safetensors 53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db
tokenizer.json be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037
vocab.txt 07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3
tokenizer_config.json acb92769e8195aabd29b7b2137a9e6d6e25c476a4f15aa4355c233426c61576b
special_tokens_map.json 303df45a03609e4ead04bc3dc1536d0ab19b5358db685b6f3da123d05ec200e3
sentence_bert_config.json fc1993fde0a95c24ec6c022539d41cf6e2f7c9721e5415d6fb6897472a9cd4b7
1_Pooling/config.json 4be450dde3b0273bb9787637cfbd28fe04a7ba6ab9d36ac48e92b11e350ffc23
modules.json -"

if [ -f "$DEST/model.safetensors" ] && [ -f "$DEST/config.json" ]; then
    echo "model: $DEST is already there"
    exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "$FILES" | while read -r f sum; do
    mkdir -p "$tmp/$(dirname "$f")"
    if ! curl -fsSL --connect-timeout 15 --retry 2 -o "$tmp/$f" "$BASE/$f"; then
        echo "model: cannot download $f (offline?); nothing was changed." >&2
        echo "model: without a model, 'encode text' uses the builtin encoder." >&2
        exit 1
    fi
    if [ "$sum" != "-" ]; then
        got=$(sha256sum "$tmp/$f" | cut -d' ' -f1)
        if [ "$got" != "$sum" ]; then
            echo "model: $f has sha256 $got, expected $sum; nothing was changed." >&2
            exit 1
        fi
    elif ! /usr/bin/python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$tmp/$f" 2>/dev/null; then
        echo "model: $f is not valid JSON; nothing was changed." >&2
        exit 1
    fi
    echo "model: $f ok"
done
mkdir -p "$(dirname "$DEST")"
rm -rf "$DEST.partial"
cp -R "$tmp" "$DEST.partial"
mv "$DEST.partial" "$DEST"
echo "model: installed $DEST (embedlab finds it automatically)"
